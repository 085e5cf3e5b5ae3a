// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: bytes as a stored block (a corrupt or hostile object in the storage):
 * the footer and every service must be rejected cleanly or read within bounds.
 */
#include <stdint.h>

#include "../../collector/block.h"
#include "../../collector/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block_info bi = {0};
	size_t need = 0;
	char err[256];

	if (block_parse_footer(data, size, size, &bi, &need, err, sizeof(err)))
		return 0;
	for (uint32_t i = 0; i < bi.nservices; i++) {
		struct buf out = {0};
		int e;
		struct svcdata *sd =
			block_decode_service(&bi, i, SECS_ALL, data, 0, size, &e, err, sizeof(err));

		if (sd) {
			folded_render(sd, &out);
			svcdata__free(sd);
		}
		buf_free(&out);
	}
	block_info_free(&bi);
	return 0;
}
