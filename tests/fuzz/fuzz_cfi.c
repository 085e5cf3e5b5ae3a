// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: raw bytes as an .eh_frame or .debug_frame section for the CFI parser. */
#include <stdint.h>

#include "../../agent/cfi.h"

static int row(void *ctx, uint64_t start, uint64_t end, const struct cfi_rule *rule)
{
	(void)start;
	(void)end;
	(void)rule;
	return ++*(uint64_t *)ctx > 100000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfi_section sec = {.data = data + (size ? 1 : 0),
				  .size = size ? size - 1 : 0,
				  .addr = 0x400000,
				  .text_addr = 0x401000,
				  .data_addr = 0x600000};
	uint64_t rows = 0;

	/* the first byte picks the layout */
	sec.is_eh_frame = size && (data[0] & 1);
	cfi_parse(&sec, row, &rows, NULL);
	return 0;
}
