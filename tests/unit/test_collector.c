// SPDX-License-Identifier: Apache-2.0
/* collector/: S3 signing, svcdata interning and merging, blocks, OTLP ingest. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "unit.h"
#include "../../common/gzip.h"
#include "../../collector/block.h"
#include "../../collector/ingest.h"
#include "../../collector/objstore_impl.h"
#include "../../profile/svcdata.h"
#include "../../common/util.h"
#include "otlp_fixture.h"
#include "../../proto/otlp.h"

/* AWS's own example of a signed S3 request ("GET Bucket (List Objects)", SigV4 documentation). */
static void test_sigv4(void)
{
	char sig[65];

	s3_signature("GET", "/", "max-keys=2&prefix=J", "examplebucket.s3.amazonaws.com",
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		     "20130524T000000Z", "us-east-1", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		     NULL, sig);
	CHECK_STR(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

/* A small service: two stacks sharing a caller, two series, rows in two times. */
static struct svcdata *sample_service(const char *name, int64_t scale)
{
	struct svcdata *sd = svcdata__new(name);
	struct sd_mapping m = {.start = 0x1000, .limit = 0x9000, .offset = 0};
	struct sd_function f = {0};
	struct sd_line ln = {0};
	struct sd_location l = {0};
	struct sd_type t = {0};
	struct sd_label labels[2];
	uint32_t locs[3], st1, st2, s1, s2;

	m.filename = svcdata__string(sd, "app", 3);
	m.build_id = svcdata__string(sd, "abcd", 4);
	l.mapping = svcdata__mapping(sd, &m);
	l.frame_type = svcdata__string(sd, "native", 6);
	for (int i = 0; i < 3; i++) {
		char fn[8];

		snprintf(fn, sizeof(fn), "fn%d", i);
		f.name = svcdata__string(sd, fn, strlen(fn));
		ln.function = svcdata__function(sd, &f);
		ln.line = 10 + i;
		l.address = 0x1000 + (uint64_t)i * 16;
		l.nlines = 1;
		locs[i] = svcdata__location(sd, &l, &ln);
	}
	st1 = svcdata__stack(sd, locs, 3);     /* fn0 <- fn1 <- fn2 (root) */
	st2 = svcdata__stack(sd, locs + 1, 2); /* fn1 <- fn2: a prefix of st1, shares nodes */
	t.sample_type = svcdata__string(sd, "samples", 7);
	t.sample_unit = svcdata__string(sd, "count", 5);
	t.period = 10000000;
	labels[0] = (struct sd_label){svcdata__string(sd, "thread.name", 11),
				      svcdata__string(sd, "main", 4)};
	labels[1] = (struct sd_label){svcdata__string(sd, "process.pid", 11),
				      svcdata__string(sd, "42", 2)};
	s1 = svcdata__series(sd, svcdata__type(sd, &t), labels, 2);
	labels[0].value = svcdata__string(sd, "worker", 6);
	s2 = svcdata__series(sd, svcdata__type(sd, &t), labels, 2);
	svcdata__row(sd, s1, st1, 1700000000000000000ULL, 1 * scale);
	svcdata__row(sd, s1, st1, 1700000000000400000ULL, 2 * scale); /* same ms as the first */
	svcdata__row(sd, s2, st2, 1700000001000000000ULL, 5 * scale);
	svcdata__row(sd, s1, st2, 1700000002000000000ULL, 7 * scale);
	sd->profiles = 2;
	return sd;
}

static void test_svcdata(void)
{
	struct svcdata *a = sample_service("svc", 1), *b = sample_service("svc", 10), *m;

	CHECK_EQ_U64(a->nodes.len,
		     4); /* root + 3: the shorter stack shares the longer one's nodes */
	CHECK_EQ_U64(a->locations.len, 4);
	CHECK_EQ_U64(a->series.len, 3);
	CHECK_STR(svcdata__label(a, 1, "thread.name"), "main");
	CHECK(svcdata__label(a, 1, "nope") == NULL);
	/* merging interns: equal entries stay one */
	m = svcdata__new("svc");
	CHECK(svcdata__merge(m, a, NULL, NULL) == 0);
	CHECK(svcdata__merge(m, b, NULL, NULL) == 0);
	CHECK_EQ_U64(m->nodes.len, 4);
	CHECK_EQ_U64(m->locations.len, 4);
	CHECK_EQ_U64(m->series.len, 3);
	CHECK_EQ_U64(m->rows.len, 8);
	CHECK_EQ_U64(m->profiles, 4);
	/* rows in the same ms, series and stack add up */
	CHECK_EQ_U64(svcdata__sort_rows(m, 1000000), 3 * 2 - 3);
	{
		int64_t total = 0;

		for (size_t i = 0; i < m->rows.len; i++)
			total += m->rows.v[i].value;
		CHECK_EQ_U64(total, 15 + 150);
	}
	CHECK_EQ_U64(value_add(INT64_MAX, 5), INT64_MAX);
	/* value x period saturates too (a sum of requests each within bounds can pass int64) */
	CHECK_EQ_U64(value_mul(INT64_MAX / 2, 3), INT64_MAX);
	CHECK(value_mul(-(INT64_MAX / 2), 3) == INT64_MIN);
	CHECK_EQ_U64(value_mul(7, 10000000), 70000000);
	svcdata__free(a);
	svcdata__free(b);
	svcdata__free(m);
}

static struct svcdata *decode_all(const struct buf *blk, struct block_info *bi, const char *service)
{
	char err[256];
	size_t need = 0;
	int svc, e = 0;

	struct svcdata *sd;

	if (block_parse_footer(blk->data, blk->len, blk->len, bi, &need, err, sizeof(err)) != 0) {
		if (getenv("DEBUG"))
			fprintf(stderr, "footer: %s\n", err);
		return NULL;
	}
	svc = block_find_service(bi, service);
	if (svc < 0)
		return NULL;
	sd = block_decode_service(bi, (size_t)svc, SECS_ALL, blk->data, 0, blk->len, &e, err,
				  sizeof(err));
	if (!sd && getenv("DEBUG"))
		fprintf(stderr, "decode: %s\n", err);
	return sd;
}

static void test_block_roundtrip(void)
{
	struct svcdata *svcs[3] = {sample_service("zeta", 1), sample_service("alpha", 3),
				   svcdata__new("empty")};
	const char *sources[] = {"0000000000001-0000000000002-L0-0123456789abcdef"};
	struct block_write_opts o = {
		.tenant = "team-a", .level = 1, .sources = sources, .nsources = 1};
	struct block_info bi = {0};
	struct buf blk = {0};
	struct svcdata *d;
	char err[256], key[256], tenant[80], id[BLOCK_ID_MAX];
	size_t need = 0;
	uint64_t lo, hi;
	uint32_t level;
	int e;

	CHECK(block_encode(svcs, 3, &o, &blk) == 0);
	d = decode_all(&blk, &bi, "alpha");
	CHECK(d != NULL);
	CHECK_EQ_U64(bi.nservices, 2); /* the empty one is left out */
	CHECK_STR(bi.services[0].name, "alpha");
	CHECK_STR(bi.tenant, "team-a");
	CHECK_EQ_U64(bi.level, 1);
	CHECK_EQ_U64(bi.nsources, 1);
	CHECK_STR(bi.sources[0], sources[0]);
	CHECK_EQ_U64(bi.services[0].rows, 3);
	CHECK_EQ_U64(bi.services[0].total, 3 * 15);
	if (d) {
		/* the same tables and rows as encoded (rows sorted and merged there) */
		CHECK_EQ_U64(d->rows.len, svcs[1]->rows.len);
		for (size_t i = 0; i < d->rows.len && i < svcs[1]->rows.len; i++) {
			CHECK_EQ_U64(d->rows.v[i].time_ns, svcs[1]->rows.v[i].time_ns);
			CHECK_EQ_U64(d->rows.v[i].stack, svcs[1]->rows.v[i].stack);
			CHECK_EQ_U64(d->rows.v[i].value, svcs[1]->rows.v[i].value);
			CHECK_EQ_U64(d->rows.v[i].series, svcs[1]->rows.v[i].series);
		}
		CHECK_EQ_U64(d->nodes.len, svcs[1]->nodes.len);
		CHECK(memcmp(d->nodes.v, svcs[1]->nodes.v, d->nodes.len * sizeof(*d->nodes.v)) ==
		      0);
		CHECK_EQ_U64(d->locations.v[2].address, svcs[1]->locations.v[2].address);
		CHECK_STR(
			strtab_get(&d->strings,
				   d->functions.v[d->lines.v[d->locations.v[3].first_line].function]
					   .name),
			"fn2");
		CHECK_STR(svcdata__label(d, 2, "thread.name"), "worker");
		/* decoded data can be merged into more */
		CHECK(svcdata__index(d) == 0);
		CHECK(svcdata__merge(d, svcs[0], NULL, NULL) == 0);
		CHECK_EQ_U64(d->nodes.len, 4);
	}
	svcdata__free(d);
	block_info_free(&bi);

	/* a reader asking for the series and columns only */
	CHECK(block_parse_footer(blk.data + blk.len - 200, 200, blk.len, &bi, &need, err,
				 sizeof(err)) == 0 ||
	      need > 0);
	block_info_free(&bi);

	/* corruption anywhere is found, never trusted */
	for (size_t off = 0; off < blk.len; off += 7) {
		struct buf bad = {0};

		buf_append(&bad, blk.data, blk.len);
		bad.data[off] ^= 0x40;
		d = decode_all(&bad, &bi, "alpha");
		if (d) {
			/* only a flip in the header or in another service's sections goes unseen
			 * here */
			CHECK(off < BLOCK_HEADER_SIZE ||
			      off >= bi.services[0].sections[SEC_NR - 1].offset +
					      bi.services[0].sections[SEC_NR - 1].clen);
			svcdata__free(d);
		}
		block_info_free(&bi);
		buf_free(&bad);
	}
	/* a block of a later format version is refused by name, even with a good checksum */
	{
		struct buf v2 = {0};
		uint8_t *tr;
		uint32_t flen, crc;

		buf_append(&v2, blk.data, blk.len);
		tr = v2.data + v2.len - BLOCK_TRAILER_SIZE;
		flen = (uint32_t)tr[0] | (uint32_t)tr[1] << 8 | (uint32_t)tr[2] << 16 |
		       (uint32_t)tr[3] << 24;
		CHECK_EQ_U64(tr[-(int)flen], BLOCK_VERSION); /* the footer's first field */
		tr[-(int)flen] = BLOCK_VERSION + 1;
		crc = (uint32_t)crc32(0, tr - flen, flen);
		for (int k = 0; k < 4; k++)
			tr[4 + k] = (uint8_t)(crc >> (8 * k));
		CHECK(block_parse_footer(v2.data, v2.len, v2.len, &bi, &need, err, sizeof(err)) ==
		      -EBADMSG);
		CHECK(strstr(err, "version 2") != NULL);
		buf_free(&v2);
	}
	/* truncation */
	CHECK(block_parse_footer(blk.data, blk.len - 1, blk.len - 1, &bi, &need, err,
				 sizeof(err)) == -EBADMSG);
	blk.data[blk.len - 30] ^= 1;
	CHECK(block_parse_footer(blk.data, blk.len, blk.len, &bi, &need, err, sizeof(err)) ==
	      -EBADMSG);
	CHECK(strstr(err, "checksum") != NULL);
	e = 0;
	(void)e;

	/* keys */
	CHECK(block_key("team-a", 1700000000123456789ULL, 1700000001000000001ULL, 2, key,
			sizeof(key)) == 0);
	CHECK(block_key_parse(key, tenant, sizeof(tenant), &lo, &hi, &level, id));
	CHECK_STR(tenant, "team-a");
	CHECK_EQ_U64(lo, 1700000000123ULL);
	CHECK_EQ_U64(hi, 1700000001001ULL);
	CHECK_EQ_U64(level, 2);
	CHECK(!block_key_parse("team-a/blocks/x.block", tenant, sizeof(tenant), &lo, &hi, &level,
			       id));
	CHECK(!block_key_parse("../blocks/0000000000001-0000000000002-L0-0123456789abcdef.block",
			       tenant, sizeof(tenant), &lo, &hi, &level, id));
	CHECK(tenant_valid("anonymous") && !tenant_valid("..") && !tenant_valid("a/b") &&
	      !tenant_valid(""));
	/* a name starting with '.' would hide in the storage */
	CHECK(!tenant_valid(".hidden") && !tenant_valid(".") && tenant_valid("a.b"));
	buf_free(&blk);
	for (int i = 0; i < 3; i++)
		svcdata__free(svcs[i]);
}

static int decode(struct buf *body, char *msg, size_t size, struct ingest_request **ret)
{
	return ingest_decode(body->data, body->len, NULL, ret, msg, size);
}

static void test_ingest(void)
{
	struct otlp_builder b;
	struct ingest_request *r = NULL;
	struct ingest_counts c;
	struct buf body = {0}, gz = {0}, out = {0};
	const char *const *names;
	struct svcdata *sd;
	char msg[INGEST_MSG_SIZE];

	build_request(&b, "checkout");
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == 0);
	if (!r)
		return;
	ingest_request_counts(r, &c);
	CHECK_EQ_U64(c.resources, 1);
	CHECK_EQ_U64(c.profiles, 1);
	CHECK_EQ_U64(c.samples, 3);
	CHECK_EQ_U64(ingest_request_services(r, &names), 1);
	CHECK_STR(names[0], "checkout");
	sd = svcdata__new(names[0]);
	CHECK(ingest_apply(r, &sd, 1) == 0);
	CHECK_EQ_U64(sd->rows.len, 3);
	CHECK_EQ_U64(sd->profiles, 1);
	CHECK_EQ_U64(sd->rows.v[2].time_ns, 1700000000000000000ULL); /* the profile's time */
	CHECK_EQ_U64(sd->rows.v[2].value, 5);
	/* the leaf of the first stack is "work", called by "main" */
	{
		const struct sd_node *leaf = &sd->nodes.v[sd->rows.v[0].stack];
		const struct sd_location *l = &sd->locations.v[leaf->location];
		const struct sd_function *f = &sd->functions.v[sd->lines.v[l->first_line].function];

		CHECK_STR(strtab_get(&sd->strings, f->name), "work");
		CHECK_STR(strtab_get(&sd->strings, l->frame_type), "native");
		CHECK_EQ_U64(sd->nodes.v[leaf->parent].parent, 0);
		CHECK_EQ_U64(sd->mappings.v[l->mapping].start, 0x1000);
	}
	/* the unsymbolized frame keeps its mapping and address */
	{
		const struct sd_location *l =
			&sd->locations.v[sd->nodes.v[sd->rows.v[2].stack].location];

		CHECK_EQ_U64(l->address, 0x1300);
		CHECK_EQ_U64(l->nlines, 0);
		CHECK_STR(strtab_get(&sd->strings, sd->mappings.v[l->mapping].filename),
			  "/usr/bin/app");
	}
	CHECK_STR(svcdata__label(sd, sd->rows.v[0].series, "thread.name"), "main-thread");
	CHECK_STR(svcdata__label(sd, sd->rows.v[0].series, "process.pid"), "4242");
	CHECK(svcdata__label(sd, sd->rows.v[0].series, "service.name") == NULL);
	svcdata__free(sd);
	ingest_request_free(r);

	/* gzip in; a bomb is stopped at the limit */
	CHECK(gzip_append(body.data, body.len, &gz) == 0);
	CHECK(gunzip_bounded(gz.data, gz.len, 1 << 20, &out) == 0);
	CHECK(out.len == body.len && memcmp(out.data, body.data, body.len) == 0);
	buf_reset(&out);
	CHECK(gunzip_bounded(gz.data, gz.len, body.len - 1, &out) == -EFBIG);
	buf_reset(&out);
	CHECK(gunzip_bounded(gz.data, gz.len / 2, 1 << 20, &out) == -EBADMSG);
	buf_reset(&out);
	CHECK(gunzip_bounded((const uint8_t *)"not gzip", 8, 1 << 20, &out) == -EBADMSG);

	/* no service.name: OpenTelemetry's unknown_service */
	build_request(&b, NULL);
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == 0);
	if (r) {
		ingest_request_services(r, &names);
		CHECK_STR(names[0], "unknown_service");
		ingest_request_free(r);
	}

	/* bad input: clear messages */
	r = NULL;
	CHECK(ingest_decode((const uint8_t *)"\xff\xff\xff", 3, NULL, &r, msg, sizeof(msg)) ==
	      -EBADMSG);
	CHECK(strstr(msg, "not a valid ExportProfilesServiceRequest") != NULL);
	build_request(&b, "x");
	b.stack1_locs[0] = 9;
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == -EBADMSG);
	CHECK_STR(msg, "stack_table[1].location_indices[0] = 9 out of range (location_table has 4 "
		       "entries)");
	build_request(&b, "x");
	b.sample1.stack_index = 3;
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == -EBADMSG);
	CHECK(strstr(msg, "resource_profiles[0].scope_profiles[0].profiles[0].samples[1].stack_"
			  "index 3 out of range") != NULL);
	build_request(&b, "x");
	b.sample0.n_timestamps_unix_nano = 1;
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == -EBADMSG);
	CHECK(strstr(msg, "2 values but 1 timestamps") != NULL);
	build_request(&b, "x");
	b.attr1.key_strindex = 100;
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == -EBADMSG);
	CHECK(strstr(msg, "attribute_table[1].a->key_strindex") != NULL ||
	      strstr(msg, "key_strindex") != NULL);
	build_request(&b, "x");
	b.lines[0].function_index = -1;
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == -EBADMSG);
	CHECK(strstr(msg, "function_index -1 out of range") != NULL);
	/* too big, as given and as decoded */
	build_request(&b, "x");
	pack(&b, &body);
	{
		struct ingest_limits lim = {.max_body = 10};

		CHECK(ingest_decode(body.data, body.len, &lim, &r, msg, sizeof(msg)) == -EFBIG);
		lim.max_body = 0;
		lim.max_decoded = 64;
		CHECK(ingest_decode(body.data, body.len, &lim, &r, msg, sizeof(msg)) == -EFBIG);
		CHECK(strstr(msg, "decoded") != NULL);
	}
	buf_free(&body);
	buf_free(&gz);
	buf_free(&out);
}

int main(void)
{
	RUN(test_sigv4);
	RUN(test_svcdata);
	RUN(test_block_roundtrip);
	RUN(test_ingest);
	return unit_done();
}
