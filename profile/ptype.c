// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ptype.h"
#include "../common/util.h"

const char *ptype_name_of_sample_type(const char *st)
{
	if (strstr(st, "cpu"))
		return "process_cpu";
	if (strstr(st, "wall"))
		return "wall";
	if (strncmp(st, "alloc_", 6) == 0 || strncmp(st, "inuse_", 6) == 0 || strstr(st, "space") ||
	    strstr(st, "objects"))
		return "memory";
	if (strncmp(st, "mutex_", 6) == 0)
		return "mutex";
	if (strncmp(st, "block_", 6) == 0)
		return "block";
	if (strstr(st, "goroutine"))
		return "goroutines";
	return st;
}

void ptype_of(const struct svcdata *sd, uint32_t series, struct ptype *ret)
{
	const struct sd_type *t = &sd->types.v[sd->series.v[series].type];
	const char *named = NULL;
	const struct sd_series *s = &sd->series.v[series];

	for (uint32_t k = 0; k < s->nlabels; k++) {
		const struct sd_label *l = &sd->labels.v[s->first_label + k];

		if (strcmp(strtab_get(&sd->strings, l->key), "__name__") == 0)
			named = strtab_get(&sd->strings, l->value);
	}
	ret->sample_type = strtab_get(&sd->strings, t->sample_type);
	ret->sample_unit = strtab_get(&sd->strings, t->sample_unit);
	ret->period_type = strtab_get(&sd->strings, t->period_type);
	ret->period_unit = strtab_get(&sd->strings, t->period_unit);
	ret->scale = 1;
	if (!named && strcmp(ret->sample_type, "samples") == 0 &&
	    strcmp(ret->sample_unit, "count") == 0 && strcmp(ret->period_type, "cpu") == 0 &&
	    strcmp(ret->period_unit, "nanoseconds") == 0 && t->period > 0) {
		/* Sonde's CPU samples: what Pyroscope's OTLP conversion makes of them */
		ret->name = "process_cpu";
		ret->sample_type = "cpu";
		ret->sample_unit = "nanoseconds";
		ret->scale = t->period;
		return;
	}
	ret->name = named && *named ? named : ptype_name_of_sample_type(ret->sample_type);
}

void ptype_id(const struct ptype *t, char *id, size_t size)
{
	snprintf(id, size, "%s:%s:%s:%s:%s", t->name, t->sample_type, t->sample_unit,
		 t->period_type, t->period_unit);
}

int ptype_parse(const char *text, char *buf, size_t size, struct ptype *ret)
{
	const char **f[] = {&ret->name, &ret->sample_type, &ret->sample_unit, &ret->period_type,
			    &ret->period_unit};
	char *p = buf;
	size_t n = 0;

	if (str_copy(buf, text, size) >= size)
		return -EINVAL;
	ret->scale = 1;
	for (;;) {
		char *colon = strchr(p, ':');

		if (n == ARRAY_SIZE(f)) {
			/* a 6th field may only be "delta" */
			return strcmp(p, "delta") == 0 && !colon ? 0 : -EINVAL;
		}
		*f[n++] = p;
		if (!colon)
			break;
		*colon = 0;
		p = colon + 1;
	}
	return n == ARRAY_SIZE(f) && *ret->name ? 0 : -EINVAL;
}
