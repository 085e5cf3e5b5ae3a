// SPDX-License-Identifier: Apache-2.0
/*
 * agent/otlp.c, round trip: what the agent encodes, the collector's ingest (collector/ingest.c,
 * an independent decoder) reads back as the same stacks with the same counts as the agent's own
 * folded output of the same profile, with each sample's timestamps kept.
 */
#include <errno.h>
#include <stdlib.h>

#include "unit.h"
#include "../../agent/frames.h"
#include "../../agent/otlp.h"
#include "../../agent/output.h"
#include "../../agent/proc.h"
#include "../../agent/profile.h"
#include "../../collector/ingest.h"
#include "../../collector/query.h"
#include "../../common/hash.h"
#include "../../common/strtab.h"

#define NFRAMES 6

static const char *const frame_names[NFRAMES] = {
	"leaf_fn", "caller_fn",	       "std::vector<int>::push_back(int const&)",
	"main",	   "[unknown+0xdead]", "[truncated]"};

static struct frame make_frame(int i)
{
	struct frame f = {.addr = 0x1000 + (uint64_t)i * 16, .kind = FRAME_KERNEL};

	if (i == 4)
		f.kind = FRAME_UNMAPPED, f.addr = 0xdead;
	if (i == 5)
		f = (struct frame){.kind = FRAME_TRUNCATED};
	return f;
}

/* The folded lines without their first field (the process name or the service). */
static void strip_prefixes(const char *in, struct buf *out)
{
	for (const char *l = in; *l;) {
		const char *nl = strchr(l, '\n'), *semi = strchr(l, ';');

		if (!nl)
			break;
		if (semi && semi < nl)
			buf_append(out, semi + 1, (size_t)(nl - semi));
		l = nl + 1;
	}
}

/* Sorted lines, so that the two orders (by count, by name) compare. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_lines(struct buf *b)
{
	char *lines[64], *s = (char *)buf_cstr(b), *save = NULL;
	size_t n = 0;
	struct buf out = {0};

	for (char *l = strtok_r(s, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(*lines), cmp_str);
	for (size_t i = 0; i < n; i++)
		buf_printf(&out, "%s\n", lines[i]);
	buf_free(b);
	*b = out;
}

static void test_roundtrip(void)
{
	struct profile_opts po = {.keep_timestamps = true};
	struct profile *p = profile__new(&po);
	struct proc_table *t = proc_table__new(NULL, NULL, NULL);
	struct frame st[NFRAMES];
	struct frame_sym syms[NFRAMES];
	struct frame_line lines[NFRAMES];
	struct frame_syms fs = {0};
	struct otlp_meta meta = {.start_unix_ns = 1700000000000000000ULL,
				 .duration_ns = 10000000000ULL,
				 .period_ns = 10000000,
				 .mono_to_unix_ns = 1000,
				 .kernel_build_id = "",
				 .agent_version = "test"};
	struct otlp_stats ost;
	struct ingest_request *r = NULL;
	struct ingest_counts ic;
	struct buf enc = {0}, agent = {0}, coll = {0}, a2 = {0}, c2 = {0};
	const char *const *names;
	char msg[INGEST_MSG_SIZE];
	uint64_t total = 0;
	size_t nsvc;

	REQUIRE(p && t);
	for (int i = 0; i < NFRAMES; i++)
		st[i] = make_frame(i);
	/* 4 stacks over 3 processes; 7 samples, each with its own time */
	profile__add(p, 10, 10, "app", "t", 0, st, NFRAMES, 100);
	profile__add(p, 10, 11, "app", "t2", 0, st, NFRAMES, 200);
	profile__add(p, 10, 10, "app", "t", 0, st + 1, 3, 300);
	profile__add(p, 20, 20, "other", "x", 0, st + 2, 2, 400);
	profile__add(p, 20, 20, "other", "x", 0, st + 2, 2, 500);
	profile__add(p, 20, 20, "other", "x", 0, st + 2, 2, 600);
	profile__add(p, 30, 30, "third", "y", 0, st, 4, 700);
	/* names as frame_syms__build makes them (it needs real objects; the names are what count)
	 */
	for (uint32_t i = 0; i < NFRAMES; i++) {
		const char *name = frame_names[i];

		memset(&lines[i], 0, sizeof(lines[i]));
		lines[i].name = profile__string(p, name, strlen(name));
		lines[i].system_name = lines[i].name;
		syms[i].first_line = i;
		syms[i].nlines = 1;
		syms[i].symbolized = i != 4; /* the unmapped frame is a placeholder */
		syms[i].kind = profile__frame(p, i)->kind;
	}
	fs.frames.v = syms;
	fs.frames.len = NFRAMES;
	fs.lines.v = lines;
	fs.lines.len = NFRAMES;

	REQUIRE(otlp_encode(p, &fs, t, &meta, &enc, &ost) == 0);
	CHECK_EQ_U64(ost.samples, profile__total(p));
	CHECK_EQ_U64(ost.stacks, 4);
	REQUIRE(ingest_decode(enc.data, enc.len, NULL, &r, msg, sizeof(msg)) == 0);
	ingest_request_counts(r, &ic);
	CHECK_EQ_U64(ic.samples, 7); /* one row per timestamp */
	nsvc = ingest_request_services(r, &names);
	CHECK(nsvc >= 1);
	for (size_t i = 0; i < nsvc; i++) {
		struct svcdata *sd = svcdata__new(names[i]);

		CHECK(svcdata__index(sd) == 0);
		CHECK(ingest_apply(r, &sd, 1) == 0 || nsvc > 1);
		for (size_t k = 0; k < sd->rows.len; k++) {
			total += (uint64_t)sd->rows.v[k].value;
			/* the sample's monotonic time, moved to the wall clock */
			CHECK(sd->rows.v[k].time_ns >= 100 + 1000 &&
			      sd->rows.v[k].time_ns <= 700 + 1000);
		}
		CHECK(render_folded(sd, &coll) == 0);
		svcdata__free(sd);
	}
	CHECK_EQ_U64(total, 7);
	CHECK(output_folded(p, &fs, &agent) == 0);
	strip_prefixes(buf_cstr(&agent), &a2);
	strip_prefixes(buf_cstr(&coll), &c2);
	sort_lines(&a2);
	sort_lines(&c2);
	CHECK(a2.len > 0);
	CHECK_STR(buf_cstr(&c2), buf_cstr(&a2));
	if (strcmp(buf_cstr(&c2), buf_cstr(&a2)) != 0)
		fprintf(stderr, "agent:\n%s\ncollector:\n%s\n", buf_cstr(&agent), buf_cstr(&coll));

	ingest_request_free(r);
	buf_free(&enc);
	buf_free(&agent);
	buf_free(&coll);
	buf_free(&a2);
	buf_free(&c2);
	proc_table__free(t);
	profile__free(p);
}

int main(void)
{
	RUN(test_roundtrip);
	return unit_done();
}
