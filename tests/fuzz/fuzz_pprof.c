// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: bytes as a pprof profile (gzipped or not) from someone else's tool: the
 * decoder must refuse it cleanly or build a model within its limits, which the encoder and the
 * folded renderer then render.
 */
#include <stdint.h>

#include "../../profile/folded.h"
#include "../../profile/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pprof_limits limits = {.max_bytes = 4 << 20, .max_decoded = 64 << 20};
	struct svcdata *sd = svcdata__new("fuzz");
	struct buf out = {0};
	char err[256];

	if (sd && pprof_decode(data, size, &limits, sd, err, sizeof(err)) == 0) {
		folded_render(sd, &out);
		buf_reset(&out);
		pprof_encode(sd, &out);
	}
	buf_free(&out);
	svcdata__free(sd);
	return 0;
}
