// SPDX-License-Identifier: Apache-2.0
/*
 * agent/otlp.c, round trip: what the agent encodes, the collector's ingest (collector/ingest.c,
 * an independent decoder) reads back as the same stacks with the same counts as the agent's own
 * folded output of the same profile, with each sample's timestamps kept.
 */

#include "unit.h"
#include "agent_profile_fixture.h"
#include "../../agent/output.h"
#include "../../collector/ingest.h"
#include "../../profile/folded.h"

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
	struct agent_fixture fx;
	struct otlp_stats ost;
	struct ingest_request *r = NULL;
	struct ingest_counts ic;
	struct buf enc = {0}, agent = {0}, coll = {0}, a2 = {0}, c2 = {0};
	const char *const *names;
	char msg[INGEST_MSG_SIZE];
	uint64_t total = 0, t0 = 1700000000000000000ULL;
	size_t nsvc;

	REQUIRE(agent_fixture__init(&fx) == 0);
	REQUIRE(otlp_encode(fx.p, &fx.fs, fx.t, &fx.meta, &enc, &ost) == 0);
	CHECK_EQ_U64(ost.samples, profile__total(fx.p));
	CHECK_EQ_U64(ost.stacks, 4);
	CHECK_EQ_U64(ost.resources, 1); /* one per label set: these processes have none */
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
			CHECK(sd->rows.v[k].time_ns >= t0 + 100 &&
			      sd->rows.v[k].time_ns <= t0 + 700);
		}
		CHECK(folded_render(sd, &coll) == 0);
		svcdata__free(sd);
	}
	CHECK_EQ_U64(total, 7);
	{
		struct output_meta om = {.start_unix_ns = fx.meta.start_unix_ns,
					 .period_ns = fx.meta.period_ns,
					 .mono_to_unix_ns = fx.meta.mono_to_unix_ns,
					 .kernel_build_id = ""};

		CHECK(output_folded(fx.p, &fx.fs, fx.t, &om, &agent) == 0);
	}
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
	agent_fixture__free(&fx);
}

int main(void)
{
	RUN(test_roundtrip);
	return unit_done();
}
