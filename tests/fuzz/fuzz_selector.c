// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: bytes as a query selector (the query parameter of every API call): parsed
 * or refused with a message, and a parsed one matches labels without crashing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../collector/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[300];
	struct selector sel;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (selector_parse(text, &sel, err, sizeof(err)) == 0) {
		(void)selector_has(&sel, "service_name");
		selector_free(&sel);
	}
	free(text);
	return 0;
}
