// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: bytes as the API server's answers (a pod list, then each line as a watch
 * event), as the agent's pod-metadata client applies them: malformed input is refused or
 * ignored, never a crash, a leak or unbounded memory; and every pod cached answers a lookup.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/pod_store.h"

static const char *const uids[] = {
	"0a0a0a0a-0000-4000-8000-00000000000a",
	"0b0b0b0b-0000-4000-8000-00000000000b",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pod_store *ps = pod_store__new("node-1", 8);
	const char *text = (const char *)data, *end = text + size;
	struct label_set ls = {0};
	char rv[64] = "", svc[256];

	if (!ps)
		return 0;
	pod_store__apply_list(ps, text, size, 1, rv, sizeof(rv));
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);

		pod_store__apply_event(ps, line, n, 2, rv, sizeof(rv));
		line += n + 1;
	}
	for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++) {
		pod_store__labels(ps, uids[i], "", &ls, svc, sizeof(svc), NULL);
		label_set_free(&ls);
		memset(&ls, 0, sizeof(ls));
	}
	pod_store__expire(ps, UINT64_MAX);
	pod_store__free(ps);
	return 0;
}
