// SPDX-License-Identifier: Apache-2.0
/* libFuzzer target: raw bytes as a Go pc-line table: parse, find functions, decode pc tables. */
#include <stdint.h>

#include "../../symbolizer/gopclntab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gopclntab *t;
	struct go_func fn;

	if (gopclntab__open_mem(data, size, &t))
		return 0;
	for (uint64_t i = 0; i < 256; i++) {
		uint64_t pc = i * 37;
		const char *file;
		int32_t v, line;

		if (gopclntab__find(t, pc, &fn) == 0) {
			gopclntab__pcvalue(t, fn.pcsp, fn.entry, pc, &v);
			gopclntab__file_line(t, &fn, pc, &file, &line);
		}
	}
	gopclntab__free(t);
	return 0;
}
