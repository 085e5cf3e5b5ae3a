// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "../common/strtab.h"
#include "../common/util.h"

void folded_append_name(struct buf *b, const char *s)
{
	for (; *s; s++)
		buf_putc(b, *s == ';' || *s == '\n'    ? ':'
			    : *s == '\t' || *s == '\r' ? ' '
						       : (uint8_t)*s);
}

static bool is_kernel(const struct svcdata *sd, const struct sd_location *l)
{
	return l->frame_type && strcmp(strtab_get(&sd->strings, l->frame_type), "kernel") == 0;
}

void folded_location_frames(const struct svcdata *sd, uint32_t loc, struct buf *b)
{
	const struct sd_location *l = &sd->locations.v[loc];
	bool kernel = is_kernel(sd, l);

	if (!l->nlines) {
		const char *file = kernel ? "kernel" : "unknown";

		if (!kernel && l->mapping) {
			const char *f =
				strtab_get(&sd->strings, sd->mappings.v[l->mapping].filename);

			if (*f)
				file = path_basename(f);
		}
		buf_puts(b, ";[");
		/* the kernel's names of pseudo-files ("[anon]", "[vdso]") without their brackets */
		size_t n = strlen(file);
		char inner[256];

		if (n > 2 && n - 2 < sizeof(inner) && file[0] == '[' && file[n - 1] == ']') {
			memcpy(inner, file + 1, n - 2);
			inner[n - 2] = 0;
			file = inner;
		}
		folded_append_name(b, file);
		buf_printf(b, "+0x%llx]%s", (unsigned long long)l->address, kernel ? "_[k]" : "");
		return;
	}
	/* lines are inlined callee first: the caller comes first in a folded stack */
	for (uint32_t k = l->nlines; k-- > 0;) {
		const struct sd_line *ln = &sd->lines.v[l->first_line + k];
		const char *name = strtab_get(&sd->strings, sd->functions.v[ln->function].name);

		buf_putc(b, ';');
		folded_append_name(b, *name ? name : "[unknown]");
		if (kernel)
			buf_puts(b, "_[k]");
	}
}

/* qsort_r: renderings run on several threads at once */
static int line_cmp(const void *a, const void *b, void *ctx)
{
	const struct strtab *t = ctx;

	return strcmp(strtab_get(t, *(const uint32_t *)a), strtab_get(t, *(const uint32_t *)b));
}

/* Appends the sorted "LINE VALUE\n" of every line. 0 or -ENOMEM. */
static int write_sorted(const struct strtab *lines, const int64_t *values, struct buf *out)
{
	size_t n = strtab_count(lines);
	uint32_t *order = malloc((n ? n : 1) * sizeof(*order));

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, n, sizeof(*order), line_cmp, (void *)lines);
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s %lld\n", strtab_get(lines, order[i]),
			   (long long)values[order[i]]);
	free(order);
	return out->oom ? -ENOMEM : 0;
}

/* The sample type of the first type of the rows (types of other periods share it). */
static const struct sd_type *first_type(const struct svcdata *sd)
{
	uint32_t first = UINT32_MAX;

	for (size_t i = 0; i < sd->rows.len; i++)
		first = MIN(first, sd->series.v[sd->rows.v[i].series].type);
	return first == UINT32_MAX ? NULL : &sd->types.v[first];
}

int folded_render(const struct svcdata *sd, struct buf *out)
{
	const struct sd_type *type = first_type(sd);
	struct strtab lines = {0};
	VEC(int64_t) values = {0};
	VEC(uint32_t) path = {0};
	struct buf line = {0};
	int err = 0;

	for (size_t i = 0; i < sd->rows.len && !err; i++) {
		const struct sd_row *r = &sd->rows.v[i];
		const struct sd_type *t = &sd->types.v[sd->series.v[r->series].type];
		const char *proc = svcdata__label(sd, r->series, "process.executable.name");
		uint32_t id;

		if (t->sample_type != type->sample_type || t->sample_unit != type->sample_unit)
			continue;

		buf_reset(&line);
		folded_append_name(&line, proc && *proc ? proc : sd->name);
		path.len = 0;
		for (uint32_t n = r->stack; n && !err; n = sd->nodes.v[n].parent)
			if (VEC_PUSH(&path, sd->nodes.v[n].location))
				err = -ENOMEM;
		/* the tree's nodes go root to leaf; the path was collected leaf first */
		for (size_t k = path.len; k-- > 0;)
			folded_location_frames(sd, path.v[k], &line);
		id = strtab_intern(&lines, (const char *)line.data, line.len);
		if (err || line.oom || id == STRTAB_NONE) {
			err = -ENOMEM;
			break;
		}
		while (values.len <= id && !err)
			if (VEC_PUSH(&values, 0))
				err = -ENOMEM;
		if (!err)
			values.v[id] = value_add(values.v[id], r->value);
	}
	if (!err)
		err = write_sorted(&lines, values.v, out);
	strtab_free(&lines);
	VEC_FREE(&values);
	VEC_FREE(&path);
	buf_free(&line);
	return err;
}
