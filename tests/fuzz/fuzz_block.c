// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: bytes as a stored block (a corrupt or hostile object in the storage):
 * the footer and every service must be rejected cleanly or read within bounds.
 *
 * The checksums are made right here (the footer's in the trailer, each section's in the parsed
 * footer) so that mutations get past them to the decoders: a checksum only stops accidents, and
 * what a hostile writer can store must be safe to read too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../collector/block.h"
#include "../../collector/query.h"

/* Writes the footer's CRC-32 into the trailer of the copy, when the trailer is in place. */
static void fix_footer_crc(uint8_t *d, size_t size)
{
	uint8_t *t = d + size - BLOCK_TRAILER_SIZE;
	uint32_t flen, crc;

	if (size < BLOCK_HEADER_SIZE + BLOCK_TRAILER_SIZE)
		return;
	flen = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
	if ((uint64_t)flen + BLOCK_HEADER_SIZE + BLOCK_TRAILER_SIZE > size)
		return;
	crc = (uint32_t)crc32(0, t - flen, flen);
	for (int i = 0; i < 4; i++)
		t[4 + i] = (uint8_t)(crc >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct block_info bi = {0};
	size_t need = 0;
	uint8_t *d = malloc(size ? size : 1);
	char err[256];

	if (!d)
		return 0;
	memcpy(d, data, size);
	/* the first byte says whether checksums are made right: the check itself is fuzzed too */
	if (size && (d[0] & 1))
		fix_footer_crc(d, size);
	if (block_parse_footer(d, size, size, &bi, &need, err, sizeof(err))) {
		free(d);
		return 0;
	}
	for (uint32_t i = 0; i < bi.nservices; i++) {
		struct buf out = {0};
		int e;
		struct svcdata *sd;

		for (int k = 0; k < SEC_NR && (d[0] & 1); k++) {
			struct block_section_info *si = &bi.services[i].sections[k];

			si->crc = (uint32_t)crc32(0, d + si->offset, (uInt)si->clen);
		}
		sd = block_decode_service(&bi, i, SECS_ALL, d, 0, size, &e, err, sizeof(err));
		if (sd) {
			folded_render(sd, &out);
			svcdata__free(sd);
		}
		buf_free(&out);
	}
	block_info_free(&bi);
	free(d);
	return 0;
}
