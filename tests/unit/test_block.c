// SPDX-License-Identifier: Apache-2.0
/* collector/block.c: blocks round-trip, and refuse what is corrupt. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "unit.h"
#include "svcdata_fixture.h"
#include "../../common/gzip.h"
#include "../../collector/block.h"
#include "../../collector/ingest.h"
#include "../../collector/objstore_impl.h"
#include "../../profile/svcdata.h"
#include "../../common/util.h"
#include "otlp_fixture.h"
#include "../../proto/otlp_pb.h"

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

int main(void)
{
	RUN(test_block_roundtrip);
	return unit_done();
}
