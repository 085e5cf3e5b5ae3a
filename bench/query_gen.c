// SPDX-License-Identifier: Apache-2.0
/*
 * query_gen: fills a storage with DAYS of profiles for benchmarks, made from one captured
 * request (sonde-agent --format otlp): the request's samples are repeated every INTERVAL
 * (10 s), shifted in time, and stored as compacted blocks of BLOCK (10 min) each, as the
 * collector's compaction leaves them. The newest block ends now.
 *
 * usage: query_gen STORAGE DAYS REQUEST [INTERVAL [BLOCK]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector/block.h"
#include "../collector/ingest.h"
#include "../collector/objstore.h"
#include "../common/gzip.h"
#include "../common/util.h"

int main(int argc, char **argv)
{
	uint64_t interval = 10 * NSEC_PER_SEC, block = 600 * NSEC_PER_SEC, days,
		 base_min = UINT64_MAX;
	uint64_t now = clock_ns(CLOCK_REALTIME), start, end, bytes = 0, rows = 0, nblocks = 0;
	struct ingest_limits lim = {.max_body = 1u << 30};
	struct ingest_request *r = NULL;
	struct buf raw = {0}, body = {0};
	struct svcdata **base, **out;
	const char *const *names;
	char msg[INGEST_MSG_SIZE], err[256];
	struct objstore *s;
	char *data;
	size_t len, n;

	if (argc < 4 || parse_u64(argv[2], &days) || days == 0 ||
	    (argc > 4 && parse_duration_ns(argv[4], &interval)) ||
	    (argc > 5 && parse_duration_ns(argv[5], &block)) || interval == 0 || block < interval) {
		fprintf(stderr, "usage: query_gen STORAGE DAYS REQUEST [INTERVAL [BLOCK]]\n");
		return 2;
	}
	s = objstore__open(argv[1], err, sizeof(err));
	if (!s || read_file(-1, argv[3], 1u << 30, &data, &len)) {
		fprintf(stderr, "query_gen: %s\n", s ? "cannot read the request" : err);
		return 1;
	}
	buf_append(&raw, data, len);
	free(data);
	if (len > 2 && raw.data[0] == 0x1f && raw.data[1] == 0x8b) {
		if (gunzip_bounded(raw.data, raw.len, 1u << 30, &body))
			return 1;
	} else {
		body = raw;
	}
	if (ingest_decode(body.data, body.len, &lim, &r, msg, sizeof(msg))) {
		fprintf(stderr, "query_gen: %s\n", msg);
		return 1;
	}
	n = ingest_request_services(r, &names);
	base = calloc(n, sizeof(*base));
	out = calloc(n, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		base[i] = svcdata__new(names[i]);
	if (ingest_apply(r, base, now))
		return 1;
	for (size_t i = 0; i < n; i++)
		if (base[i]->rows.len)
			base_min = MIN(base_min, base[i]->min_time_ns);
	end = now - now % block;
	start = end - days * 86400 * NSEC_PER_SEC;
	for (uint64_t w = start; w < end; w += block) {
		struct block_write_opts bo = {.tenant = "anonymous", .level = 1, .zstd_level = 9};
		struct buf blk = {0};
		char key[OBJSTORE_MAX_KEY];
		uint64_t lo = UINT64_MAX, hi = 0;

		for (size_t i = 0; i < n; i++) {
			out[i] = svcdata__new(names[i]);
			for (uint64_t t = w; t < w + block; t += interval) {
				size_t before = out[i]->rows.len;

				if (svcdata__merge(out[i], base[i], NULL, NULL))
					return 1;
				out[i]->profiles++;
				for (size_t k = before; k < out[i]->rows.len; k++)
					out[i]->rows.v[k].time_ns =
						out[i]->rows.v[k].time_ns - base_min + t;
			}
			for (size_t k = 0; k < out[i]->rows.len; k++) {
				lo = MIN(lo, out[i]->rows.v[k].time_ns);
				hi = MAX(hi, out[i]->rows.v[k].time_ns);
			}
			out[i]->min_time_ns = lo;
			out[i]->max_time_ns = hi;
			rows += out[i]->rows.len;
		}
		if (block_encode(out, n, &bo, &blk) ||
		    block_key("anonymous", lo, hi, 1, key, sizeof(key)) ||
		    objstore__put(s, key, blk.data, blk.len)) {
			fprintf(stderr, "query_gen: cannot store a block: %s\n", objstore_error());
			return 1;
		}
		bytes += blk.len;
		nblocks++;
		buf_free(&blk);
		for (size_t i = 0; i < n; i++)
			svcdata__free(out[i]);
	}
	printf("%llu blocks, %.1f MB, %llu samples of %zu services over %llu days (a profile every "
	       "%.0f s)\n",
	       (unsigned long long)nblocks, (double)bytes / 1e6, (unsigned long long)rows, n,
	       (unsigned long long)days, (double)interval / 1e9);
	for (size_t i = 0; i < n; i++)
		svcdata__free(base[i]);
	free(base);
	free(out);
	ingest_request_free(r);
	buf_free(&raw);
	objstore__free(s);
	return 0;
}
