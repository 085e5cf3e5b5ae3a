// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: bytes as an OTLP request body, through everything the collector does
 * with one: inflate (when gzip), decode and validate, turn into service data, encode as a
 * block, read the block back, merge it, render it as folded stacks and pprof.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../collector/block.h"
#include "../../collector/ingest.h"
#include "../../collector/query.h"
#include "../../common/gzip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ingest_limits lim = {.max_body = 4u << 20, .max_decoded = 64u << 20};
	struct ingest_request *r = NULL;
	struct buf inflated = {0}, blk = {0}, out = {0};
	const char *const *names;
	struct svcdata **svcs = NULL;
	char msg[INGEST_MSG_SIZE];
	size_t n;

	if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		if (gunzip_bounded(data, size, lim.max_body, &inflated))
			goto out;
		data = inflated.data;
		size = inflated.len;
	}
	if (ingest_decode(data, size, &lim, &r, msg, sizeof(msg)))
		goto out;
	n = ingest_request_services(r, &names);
	svcs = calloc(n ? n : 1, sizeof(*svcs));
	for (size_t i = 0; svcs && i < n; i++)
		svcs[i] = svcdata__new(names[i]);
	if (svcs && ingest_apply(r, svcs, 1) == 0) {
		struct block_write_opts bo = {.tenant = "fuzz"};

		if (block_encode(svcs, n, &bo, &blk) == 0) {
			struct block_info bi = {0};
			size_t need;
			char err[256];

			if (block_parse_footer(blk.data, blk.len, blk.len, &bi, &need, err,
					       sizeof(err)) == 0) {
				struct svcdata *all = svcdata__new("all");

				for (uint32_t i = 0; i < bi.nservices; i++) {
					int e;
					struct svcdata *sd =
						block_decode_service(&bi, i, SECS_ALL, blk.data, 0,
								     blk.len, &e, err, sizeof(err));

					if (!sd)
						abort(); /* what we wrote must read back */
					if (all)
						svcdata__merge(all, sd, NULL, NULL);
					svcdata__free(sd);
				}
				if (all) {
					folded_render(all, &out);
					buf_reset(&out);
					pprof_encode(all, &out);
				}
				svcdata__free(all);
				block_info_free(&bi);
			} else {
				abort();
			}
		}
	}
out:
	for (size_t i = 0; svcs && i < n; i++)
		svcdata__free(svcs[i]);
	free(svcs);
	ingest_request_free(r);
	buf_free(&inflated);
	buf_free(&blk);
	buf_free(&out);
	return 0;
}
