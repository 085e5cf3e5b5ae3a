// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "folded_sum.h"
#include "../common/log.h"
#include "../common/util.h"

int folded_sum__add(struct folded_sum *fs, const struct buf *folded)
{
	const char *p = (const char *)folded->data, *end = p + folded->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
		uint64_t count;
		uint32_t id;

		if (!nl)
			break;
		sp = nl;
		while (sp > p && sp[-1] != ' ')
			sp--;
		if (sp == p)
			return -EINVAL;
		count = strtoull(sp, NULL, 10);
		id = strtab_intern(&fs->lines, p, (size_t)(sp - 1 - p));
		if (id == STRTAB_NONE)
			return -ENOMEM;
		while (fs->counts.len <= id)
			if (VEC_PUSH(&fs->counts, 0))
				return -ENOMEM;
		fs->counts.v[id] += count;
		p = nl + 1;
	}
	return 0;
}

/* qsort_r: stack ids by their text */
static int cmp_lines(const void *x, const void *y, void *ctx)
{
	const struct strtab *lines = ctx;

	return strcmp(strtab_get(lines, *(const uint32_t *)x),
		      strtab_get(lines, *(const uint32_t *)y));
}

int folded_sum__render(const struct folded_sum *fs, struct buf *out)
{
	size_t n = strtab_count(&fs->lines);
	uint32_t *order = malloc((n ? n : 1) * sizeof(*order));

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, n, sizeof(*order), cmp_lines, (void *)&fs->lines);
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s %llu\n", strtab_get(&fs->lines, order[i]),
			   (unsigned long long)fs->counts.v[order[i]]);
	free(order);
	return out->oom ? -ENOMEM : 0;
}

int folded_sum__write(const struct folded_sum *fs, const char *path)
{
	struct buf out = {0};
	int err;

	err = folded_sum__render(fs, &out);
	if (!err)
		err = write_file_atomic(path, out.data, out.len);
	if (err)
		log_error("cannot write the profile", "path=\"%s\" err=\"%s\"", path,
			  strerror(-err));
	else
		log_info("profile written (a copy of what was shipped)", "path=\"%s\" stacks=%zu",
			 path, strtab_count(&fs->lines));
	buf_free(&out);
	return err;
}

void folded_sum__free(struct folded_sum *fs)
{
	strtab_free(&fs->lines);
	VEC_FREE(&fs->counts);
}
