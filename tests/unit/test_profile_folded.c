// SPDX-License-Identifier: Apache-2.0
/* profile/folded.c: the one folded renderer, its escaping and its frame names. */
#include <string.h>

#include "unit.h"
#include "../../profile/folded.h"

static uint32_t s(struct svcdata *sd, const char *str)
{
	return svcdata__string(sd, str, strlen(str));
}

static uint32_t fn_loc(struct svcdata *sd, const char *name, const char *type)
{
	struct sd_function f = {.name = s(sd, name)};
	struct sd_line ln = {.function = svcdata__function(sd, &f)};
	struct sd_location l = {.address = 0x10, .nlines = 1, .frame_type = type ? s(sd, type) : 0};

	return svcdata__location(sd, &l, &ln);
}

static uint32_t series(struct svcdata *sd, const char *proc)
{
	struct sd_type t = {s(sd, "samples"), s(sd, "count"), s(sd, "cpu"), s(sd, "nanoseconds"),
			    10};
	struct sd_label l = {s(sd, "process.executable.name"), s(sd, proc ? proc : "")};

	return svcdata__series(sd, svcdata__type(sd, &t), &l, proc ? 1 : 0);
}

static void test_escaping(void)
{
	struct buf b = {0};

	/* every separator a name could break: ';' and '\n' become ':', '\t' and '\r' ' ' */
	folded_append_name(&b, "a;b\nc\td\re f");
	CHECK_STR(buf_cstr(&b), "a:b:c d e f");
	buf_free(&b);
}

static void test_render(void)
{
	struct svcdata *sd = svcdata__new("svc");
	struct sd_mapping m = {.filename = s(sd, "/usr/lib/libx.so")};
	struct sd_location raw = {.address = 0xab, .mapping = svcdata__mapping(sd, &m)};
	struct sd_location kraw = {.address = 0xcd, .frame_type = s(sd, "kernel")};
	struct sd_location none = {.address = 0xef};
	struct sd_function inl[2] = {{.name = s(sd, "inlined")}, {.name = s(sd, "outer")}};
	struct sd_line lines[2] = {{.function = svcdata__function(sd, &inl[0])},
				   {.function = svcdata__function(sd, &inl[1])}};
	struct sd_location both = {.address = 0x99, .nlines = 2};
	uint32_t l_main = fn_loc(sd, "main", NULL), l_bad = fn_loc(sd, "we;ird\tname\r\n", NULL);
	uint32_t l_sys = fn_loc(sd, "do_syscall", "kernel"),
		 l_raw = svcdata__location(sd, &raw, NULL);
	uint32_t l_kraw = svcdata__location(sd, &kraw, NULL),
		 l_none = svcdata__location(sd, &none, NULL);
	uint32_t l_inl = svcdata__location(sd, &both, lines);
	uint32_t a = series(sd, "my;app"), b = series(sd, NULL);
	uint32_t st1[] = {l_sys, l_kraw, l_bad, l_main}; /* leaf first */
	uint32_t st2[] = {l_raw, l_none, l_inl, l_main};
	struct buf out = {0};

	CHECK(svcdata__row(sd, a, svcdata__stack(sd, st1, 4), 1, 5) == 0);
	CHECK(svcdata__row(sd, a, svcdata__stack(sd, st1, 4), 2, 7) == 0); /* added */
	CHECK(svcdata__row(sd, a, svcdata__stack(sd, st2, 4), 1, 1) == 0);
	CHECK(svcdata__row(sd, b, svcdata__stack(sd, st2 + 2, 2), 1, 3) == 0);
	CHECK(svcdata__row(sd, b, 0, 1, 4) == 0); /* the empty stack: the process alone */
	CHECK(folded_render(sd, &out) == 0);
	CHECK_STR(buf_cstr(&out), "my:app;main;outer;inlined;[unknown+0xef];[libx.so+0xab] 1\n"
				  "my:app;main;we:ird name :;[kernel+0xcd]_[k];do_syscall_[k] 12\n"
				  "svc 4\n"
				  "svc;main;outer;inlined 3\n");
	buf_free(&out);
	svcdata__free(sd);
}

/* Values of one sample type: a decoded pprof's samples/count, not its cpu/nanoseconds too. */
static void test_one_type(void)
{
	struct svcdata *sd = svcdata__new("svc");
	struct sd_type cpu_ns = {s(sd, "cpu"), s(sd, "nanoseconds"), s(sd, "cpu"),
				 s(sd, "nanoseconds"), 10};
	struct sd_type cpu_5 = {s(sd, "samples"), s(sd, "count"), s(sd, "cpu"),
				s(sd, "nanoseconds"), 5};
	struct sd_label l = {s(sd, "process.executable.name"), s(sd, "app")};
	uint32_t a = series(sd, "app"); /* samples/count every 10: the first type */
	uint32_t b = svcdata__series(sd, svcdata__type(sd, &cpu_ns), &l, 1);
	uint32_t c = svcdata__series(sd, svcdata__type(sd, &cpu_5), &l, 1);
	uint32_t st = fn_loc(sd, "main", NULL);
	struct buf out = {0};

	CHECK(svcdata__row(sd, b, svcdata__stack(sd, &st, 1), 1, 1000) == 0);
	CHECK(svcdata__row(sd, a, svcdata__stack(sd, &st, 1), 1, 2) == 0);
	CHECK(svcdata__row(sd, c, svcdata__stack(sd, &st, 1), 1, 3) == 0); /* another period */
	CHECK(folded_render(sd, &out) == 0);
	CHECK_STR(buf_cstr(&out), "app;main 5\n");
	buf_free(&out);
	svcdata__free(sd);
}

/* Unnamed frames in the kernel's pseudo-files: [anon+0x...], not [[anon]+0x...] */
static void test_pseudo_files(void)
{
	struct svcdata *sd = svcdata__new("svc");
	struct sd_mapping anon = {.filename = s(sd, "[anon]")}, odd = {.filename = s(sd, "[a;b]")};
	struct sd_location la = {.address = 0x7f00, .mapping = svcdata__mapping(sd, &anon)};
	struct sd_location lo = {.address = 0x10, .mapping = svcdata__mapping(sd, &odd)};
	uint32_t st[2];
	struct buf out = {0};

	REQUIRE(sd != NULL);
	st[0] = svcdata__location(sd, &lo, NULL);
	st[1] = svcdata__location(sd, &la, NULL);
	CHECK(svcdata__row(sd, series(sd, "jit"), svcdata__stack(sd, st, 2), 1, 3) == 0);
	CHECK(folded_render(sd, &out) == 0);
	CHECK_STR(buf_cstr(&out), "jit;[anon+0x7f00];[a:b+0x10] 3\n");
	buf_free(&out);
	svcdata__free(sd);
}

int main(void)
{
	RUN(test_escaping);
	RUN(test_render);
	RUN(test_one_type);
	RUN(test_pseudo_files);
	return unit_done();
}
