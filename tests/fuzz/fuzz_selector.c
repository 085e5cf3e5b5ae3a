// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: bytes as a query selector (the query parameter of every API call): parsed
 * or refused with a message, and every matcher of a parsed one matches values (its own, a
 * missing label, the input itself) without crashing.
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
		for (size_t i = 0; i < sel.m.len; i++) {
			(void)selector_match(&sel.m.v[i], sel.m.v[i].value);
			(void)selector_match(&sel.m.v[i], NULL);
			(void)selector_match(&sel.m.v[i], text);
		}
		selector_free(&sel);
	}
	free(text);
	return 0;
}
