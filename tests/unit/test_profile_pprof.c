// SPDX-License-Identifier: Apache-2.0
/*
 * profile/pprof.c and pprof_decode.c: the encoder's columns (several sample types), and the
 * round trips pprof -> model -> pprof (every sample, value and name kept).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "pprof/profile.pb-c.h"
#include "../../common/gzip.h"
#include "../../common/strtab.h"
#include "../../profile/pprof.h"

typedef Perftools__Profiles__Profile Profile;

static uint32_t s(struct svcdata *sd, const char *str)
{
	return svcdata__string(sd, str, strlen(str));
}

static Profile *unpack(const struct buf *gz)
{
	struct buf raw = {0};
	Profile *p = NULL;

	if (gunzip_bounded(gz->data, gz->len, 64 << 20, &raw) == 0)
		p = perftools__profiles__profile__unpack(NULL, raw.len, raw.data);
	buf_free(&raw);
	return p;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A pprof profile as text that ignores ids and order: its columns and period, then one line
 * per sample (sorted): the stack (function names, root first), the labels (sorted), the values.
 */
static char *canon(const Profile *p)
{
	struct buf out = {0}, line = {0};
	char **lines = calloc(p->n_sample + 1, sizeof(*lines));
#define STR(i) p->string_table[i]

	for (size_t k = 0; k < p->n_sample_type; k++)
		buf_printf(&out, "%s/%s ", STR(p->sample_type[k]->type),
			   STR(p->sample_type[k]->unit));
	if (p->period_type)
		buf_printf(&out, "every %lld %s/%s\n", (long long)p->period,
			   STR(p->period_type->type), STR(p->period_type->unit));
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *x = p->sample[i];
		char *labels[16];
		size_t nl = 0;

		buf_reset(&line);
		for (size_t k = x->n_location_id; k-- > 0;) {
			const Perftools__Profiles__Location *l = NULL;

			for (size_t j = 0; j < p->n_location; j++)
				if (p->location[j]->id == x->location_id[k])
					l = p->location[j];
			if (!l->n_line)
				buf_printf(&line, "0x%llx;", (unsigned long long)l->address);
			for (size_t n = l->n_line; n-- > 0;)
				for (size_t j = 0; j < p->n_function; j++)
					if (p->function[j]->id == l->line[n]->function_id)
						buf_printf(&line, "%s:%lld;",
							   STR(p->function[j]->name),
							   (long long)l->line[n]->line);
		}
		for (size_t k = 0; k < x->n_label && nl < 16; k++) {
			char num[24];

			snprintf(num, sizeof(num), "%lld", (long long)x->label[k]->num);
			if (asprintf(&labels[nl++], "%s=%s", STR(x->label[k]->key),
				     x->label[k]->str ? STR(x->label[k]->str) : num) < 0)
				abort();
		}
		qsort(labels, nl, sizeof(*labels), line_cmp);
		for (size_t k = 0; k < nl; k++) {
			buf_printf(&line, " %s", labels[k]);
			free(labels[k]);
		}
		for (size_t k = 0; k < x->n_value; k++)
			buf_printf(&line, " %lld", (long long)x->value[k]);
		lines[i] = strdup(buf_cstr(&line));
	}
	qsort(lines, p->n_sample, sizeof(*lines), line_cmp);
	for (size_t i = 0; i < p->n_sample; i++) {
		buf_printf(&out, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	buf_free(&line);
	size_t len;

	buf_cstr(&out);
	return (char *)buf_steal(&out, &len);
#undef STR
}

/* pprof (gzipped) -> model -> pprof: the text of both. */
static void round_trip(const struct buf *gz, char **ret_before, char **ret_after)
{
	struct svcdata *sd = svcdata__new("decoded");
	struct buf again = {0};
	Profile *p = unpack(gz), *q;
	char err[256];

	CHECK(p != NULL);
	CHECK(pprof_decode(gz->data, gz->len, NULL, sd, err, sizeof(err)) == 0);
	CHECK(pprof_encode(sd, &again) == 0);
	q = unpack(&again);
	CHECK(q != NULL);
	*ret_before = p ? canon(p) : strdup("");
	*ret_after = q ? canon(q) : strdup("");
	perftools__profiles__profile__free_unpacked(p, NULL);
	perftools__profiles__profile__free_unpacked(q, NULL);
	buf_free(&again);
	svcdata__free(sd);
}

static uint32_t type(struct svcdata *sd, const char *t, const char *u, const char *pt,
		     const char *pu, int64_t period)
{
	struct sd_type x = {s(sd, t), s(sd, u), s(sd, pt), s(sd, pu), period};

	return svcdata__type(sd, &x);
}

static uint32_t loc(struct svcdata *sd, const char *name, int64_t line, const char *frame_type)
{
	struct sd_function f = {.name = s(sd, name), .filename = s(sd, "x.c")};
	struct sd_line ln = {.function = svcdata__function(sd, &f), .line = line};
	struct sd_location l = {.address = 0x40 + (uint64_t)line, .nlines = 1};

	l.frame_type = frame_type ? s(sd, frame_type) : 0;
	return svcdata__location(sd, &l, &ln);
}

/* One process, two threads, a kernel frame, an unnamed frame and an inlined one. */
static struct svcdata *cpu_model(void)
{
	struct svcdata *sd = svcdata__new("svc");
	uint32_t cpu = type(sd, "samples", "count", "cpu", "nanoseconds", 10000000);
	struct sd_label l1[2] = {{s(sd, "process.executable.name"), s(sd, "app")},
				 {s(sd, "thread.id"), s(sd, "1")}};
	struct sd_label l2[2] = {{s(sd, "process.executable.name"), s(sd, "app")},
				 {s(sd, "thread.id"), s(sd, "2")}};
	uint32_t a = svcdata__series(sd, cpu, l1, 2), b = svcdata__series(sd, cpu, l2, 2);
	struct sd_mapping m = {.start = 0x1000, .limit = 0x2000, .filename = s(sd, "/bin/app")};
	struct sd_location raw = {.address = 0x1234, .mapping = svcdata__mapping(sd, &m)};
	struct sd_function fs[2] = {{.name = s(sd, "inl")}, {.name = s(sd, "outer")}};
	struct sd_line lines[2] = {{.function = svcdata__function(sd, &fs[0]), .line = 3},
				   {.function = svcdata__function(sd, &fs[1]), .line = 9}};
	struct sd_location both = {.address = 0x77, .nlines = 2};
	uint32_t st1[] = {loc(sd, "sys_read", 1, "kernel"), loc(sd, "main", 2, "native")};
	uint32_t st2[] = {svcdata__location(sd, &raw, NULL), svcdata__location(sd, &both, lines),
			  loc(sd, "main", 2, "native")};

	CHECK(svcdata__row(sd, a, svcdata__stack(sd, st1, 2), 1000, 3) == 0);
	CHECK(svcdata__row(sd, a, svcdata__stack(sd, st1, 2), 2000, 4) == 0);
	CHECK(svcdata__row(sd, b, svcdata__stack(sd, st1, 2), 1000, 1) == 0);
	CHECK(svcdata__row(sd, b, svcdata__stack(sd, st2, 3), 1000, 2) == 0);
	return sd;
}

static void test_cpu_columns_and_round_trip(void)
{
	struct svcdata *sd = cpu_model();
	struct buf gz = {0};
	char *before, *after, *text;
	Profile *p;

	CHECK(pprof_encode(sd, &gz) == 0);
	p = unpack(&gz);
	CHECK(p != NULL);
	if (!p)
		return;
	text = canon(p);
	/* the columns CPU profiles always had; a sample per (labels, stack), times merged */
	CHECK_STR(text,
		  "samples/count cpu/nanoseconds every 10000000 cpu/nanoseconds\n"
		  "main:2;outer:9;inl:3;0x1234; process.executable.name=app thread.id=2 2 "
		  "20000000\n"
		  "main:2;sys_read_[k]:1; process.executable.name=app thread.id=1 7 70000000\n"
		  "main:2;sys_read_[k]:1; process.executable.name=app thread.id=2 1 10000000\n");
	CHECK_EQ_U64(p->time_nanos, 1000);
	CHECK_EQ_U64(p->duration_nanos, 1000);
	free(text);
	perftools__profiles__profile__free_unpacked(p, NULL);
	round_trip(&gz, &before, &after);
	CHECK_STR(after, before);
	free(before);
	free(after);
	buf_free(&gz);
	svcdata__free(sd);
}

/* The decoder gives the kernel frames back, named as they were. */
static void test_kernel_frames_decoded(void)
{
	struct svcdata *sd = cpu_model(), *back = svcdata__new("back");
	struct buf gz = {0};
	char err[128];
	bool kernel_sys_read = false;

	CHECK(pprof_encode(sd, &gz) == 0);
	CHECK(pprof_decode(gz.data, gz.len, NULL, back, err, sizeof(err)) == 0);
	for (size_t i = 1; i < back->locations.len; i++) {
		const struct sd_location *l = &back->locations.v[i];
		const char *name =
			l->nlines ? strtab_get(
					    &back->strings,
					    back->functions.v[back->lines.v[l->first_line].function]
						    .name)
				  : "";

		if (strcmp(name, "sys_read") == 0)
			kernel_sys_read =
				l->frame_type &&
				strcmp(strtab_get(&back->strings, l->frame_type), "kernel") == 0;
	}
	CHECK(kernel_sys_read);
	buf_free(&gz);
	svcdata__free(sd);
	svcdata__free(back);
}

/* Several sample types: a column each; rows of one label set and stack share a sample. */
static void test_several_types(void)
{
	struct svcdata *sd = svcdata__new("svc");
	uint32_t cpu = type(sd, "samples", "count", "cpu", "nanoseconds", 10000000);
	uint32_t alloc = type(sd, "alloc_space", "bytes", "space", "bytes", 524288);
	uint32_t lock = type(sd, "contentions", "count", "contentions", "count", 1);
	struct sd_label l = {s(sd, "process.executable.name"), s(sd, "app")};
	uint32_t st[] = {loc(sd, "f", 1, NULL), loc(sd, "main", 2, NULL)}, stack;
	struct buf gz = {0};
	char *before, *after, *text;
	Profile *p;

	stack = svcdata__stack(sd, st, 2);
	CHECK(svcdata__row(sd, svcdata__series(sd, cpu, &l, 1), stack, 5, 2) == 0);
	CHECK(svcdata__row(sd, svcdata__series(sd, alloc, &l, 1), stack, 5, 4096) == 0);
	CHECK(svcdata__row(sd, svcdata__series(sd, lock, &l, 1), stack, 5, 3) == 0);
	CHECK(svcdata__row(sd, svcdata__series(sd, lock, &l, 1), svcdata__stack(sd, st + 1, 1), 5,
			   1) == 0);
	CHECK(pprof_encode(sd, &gz) == 0);
	p = unpack(&gz);
	CHECK(p != NULL);
	if (!p)
		return;
	text = canon(p);
	CHECK_STR(text, "samples/count alloc_space/bytes contentions/count cpu/nanoseconds every "
			"10000000 cpu/nanoseconds\n"
			"main:2; process.executable.name=app 0 0 1 0\n"
			"main:2;f:1; process.executable.name=app 2 4096 3 20000000\n");
	free(text);
	perftools__profiles__profile__free_unpacked(p, NULL);
	round_trip(&gz, &before, &after);
	CHECK_STR(after, before);
	free(before);
	free(after);
	buf_free(&gz);
	svcdata__free(sd);
}

/* A profile another tool wrote (Go's heap profile shape, numeric labels, not gzipped). */
static void test_foreign_profile(void)
{
	char *strings[] = {"",	    "alloc_objects", "count",	    "alloc_space", "bytes",
			   "space", "main",	     "bytes_label", "malloc",	   "pid"};
	Perftools__Profiles__ValueType vt[3], *vtp[2] = {&vt[0], &vt[1]};
	Perftools__Profiles__Function fn[2], *fnp[2] = {&fn[0], &fn[1]};
	Perftools__Profiles__Line ln[2], *lnp[2][1] = {{&ln[0]}, {&ln[1]}};
	Perftools__Profiles__Location lo[2], *lop[2] = {&lo[0], &lo[1]};
	Perftools__Profiles__Label lb, *lbp[1] = {&lb};
	Perftools__Profiles__Sample sa[2], *sap[2] = {&sa[0], &sa[1]};
	uint64_t ids0[2] = {20, 10}, ids1[1] = {10};
	int64_t v0[2] = {3, 3000}, v1[2] = {0, 0};
	Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	struct svcdata *sd = svcdata__new("x");
	struct buf raw = {0}, gz = {0};
	char err[128], *before, *after;
	Profile *q;

	for (int i = 0; i < 3; i++)
		perftools__profiles__value_type__init(&vt[i]);
	vt[0].type = 1, vt[0].unit = 2, vt[1].type = 3, vt[1].unit = 4, vt[2].type = 5,
	vt[2].unit = 4;
	for (int i = 0; i < 2; i++) {
		perftools__profiles__function__init(&fn[i]);
		perftools__profiles__line__init(&ln[i]);
		perftools__profiles__location__init(&lo[i]);
		perftools__profiles__sample__init(&sa[i]);
		fn[i].id = 100 + (uint64_t)i;
		fn[i].name = fn[i].system_name = i ? 8 : 6;
		ln[i].function_id = fn[i].id;
		ln[i].line = 7 + i;
		lo[i].id = 10 * (uint64_t)(i + 1);
		lo[i].line = lnp[i];
		lo[i].n_line = 1;
		sa[i].n_value = 2;
	}
	perftools__profiles__label__init(&lb);
	lb.key = 9;
	lb.num = 4242;
	sa[0].location_id = ids0, sa[0].n_location_id = 2, sa[0].value = v0;
	sa[0].label = lbp, sa[0].n_label = 1;
	sa[1].location_id = ids1, sa[1].n_location_id = 1, sa[1].value = v1;
	p.sample_type = vtp, p.n_sample_type = 2, p.period_type = &vt[2], p.period = 524288;
	p.function = fnp, p.n_function = 2, p.location = lop, p.n_location = 2;
	p.sample = sap, p.n_sample = 2, p.string_table = strings, p.n_string_table = 10;
	p.time_nanos = 77;
	CHECK(buf_reserve(&raw, perftools__profiles__profile__get_packed_size(&p)) == 0);
	raw.len = perftools__profiles__profile__pack(&p, raw.data);
	CHECK(pprof_decode(raw.data, raw.len, NULL, sd, err, sizeof(err)) == 0);
	CHECK_EQ_U64(sd->rows.len, 3); /* two values, and one row for the all-zero sample */
	CHECK_STR(svcdata__label(sd, sd->rows.v[0].series, "pid"), "4242");
	CHECK_EQ_U64(sd->rows.v[0].time_ns, 77);
	CHECK(pprof_encode(sd, &gz) == 0);
	q = unpack(&gz);
	CHECK(q != NULL);
	before = canon(&p);
	after = q ? canon(q) : strdup("");
	CHECK_STR(after, before);
	free(before);
	free(after);
	perftools__profiles__profile__free_unpacked(q, NULL);
	buf_free(&raw);
	buf_free(&gz);
	svcdata__free(sd);
}

static void test_bad_input(void)
{
	struct svcdata *sd = svcdata__new("x");
	struct svcdata *cpu = cpu_model();
	struct pprof_limits small = {.max_bytes = 64};
	struct buf gz = {0}, raw = {0};
	char err[128];
	Profile *p;

	CHECK(pprof_decode((const uint8_t *)"\xff\xff\xff", 3, NULL, sd, err, sizeof(err)) ==
	      -EBADMSG);
	CHECK(strstr(err, "not a pprof") != NULL);
	CHECK(pprof_decode((const uint8_t *)"\x1f\x8b\x08", 3, NULL, sd, err, sizeof(err)) ==
	      -EBADMSG);
	CHECK(pprof_encode(cpu, &gz) == 0);
	CHECK(pprof_decode(gz.data, gz.len, &small, sd, err, sizeof(err)) == -EFBIG);
	/* a sample with a value missing, a location that is not there */
	p = unpack(&gz);
	CHECK(p != NULL);
	if (p) {
		p->sample[0]->n_value = 1;
		CHECK(buf_reserve(&raw, perftools__profiles__profile__get_packed_size(p)) == 0);
		raw.len = perftools__profiles__profile__pack(p, raw.data);
		CHECK(pprof_decode(raw.data, raw.len, NULL, sd, err, sizeof(err)) == -EBADMSG);
		CHECK_STR(err, "a sample has 1 values for 2 sample types");
		p->sample[0]->n_value = 2;
		p->sample[0]->location_id[0] = 999;
		raw.len = perftools__profiles__profile__pack(p, raw.data);
		CHECK(pprof_decode(raw.data, raw.len, NULL, sd, err, sizeof(err)) == -EBADMSG);
		CHECK_STR(err, "location id 999 is not in the profile");
		perftools__profiles__profile__free_unpacked(p, NULL);
	}
	buf_free(&gz);
	buf_free(&raw);
	svcdata__free(sd);
	svcdata__free(cpu);
}

int main(void)
{
	RUN(test_cpu_columns_and_round_trip);
	RUN(test_kernel_frames_decoded);
	RUN(test_several_types);
	RUN(test_foreign_profile);
	RUN(test_bad_input);
	return unit_done();
}
