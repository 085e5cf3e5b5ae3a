// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pprof/profile.pb-c.h"
#include "query.h"
#include "reader.h"
#include "../common/gzip.h"
#include "../common/arena.h"
#include "../common/strtab.h"
#include "../common/util.h"

/* ---- names of frames --------------------------------------------------------------------------
 */

/* Names come from the network: the separators of folded and TSV lines become ':' or ' '. */
static void append_name(struct buf *b, const char *s)
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

void query_location_frames(const struct svcdata *sd, uint32_t loc, struct buf *b)
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
		append_name(b, file);
		buf_printf(b, "+0x%llx]%s", (unsigned long long)l->address, kernel ? "_[k]" : "");
		return;
	}
	/* lines are inlined callee first: the caller comes first in a folded stack */
	for (uint32_t k = l->nlines; k-- > 0;) {
		const struct sd_line *ln = &sd->lines.v[l->first_line + k];
		const char *name = strtab_get(&sd->strings, sd->functions.v[ln->function].name);

		buf_putc(b, ';');
		append_name(b, *name ? name : "[unknown]");
		if (kernel)
			buf_puts(b, "_[k]");
	}
}

struct folded_ctx {
	const struct svcdata *sd;
	struct strtab lines;
	VEC(int64_t) values;
};

/* qsort_r: renderings run on several threads at once */
static int line_cmp(const void *a, const void *b, void *ctx)
{
	const struct strtab *t = ctx;

	return strcmp(strtab_get(t, *(const uint32_t *)a), strtab_get(t, *(const uint32_t *)b));
}

int render_folded(const struct svcdata *sd, struct buf *out)
{
	struct strtab lines = {0};
	VEC(int64_t) values = {0};
	VEC(uint32_t) path = {0};
	struct buf line = {0};
	uint32_t *order = NULL;
	int err = 0;

	for (size_t i = 0; i < sd->rows.len && !err; i++) {
		const struct sd_row *r = &sd->rows.v[i];
		const char *proc = svcdata__label(sd, r->series, "process.executable.name");
		uint32_t id;

		buf_reset(&line);
		append_name(&line, proc && *proc ? proc : sd->name);
		path.len = 0;
		for (uint32_t n = r->stack; n; n = sd->nodes.v[n].parent)
			if (VEC_PUSH(&path, sd->nodes.v[n].location))
				err = -ENOMEM;
		/* the tree's nodes go root to leaf; the path was collected leaf first */
		for (size_t k = path.len; k-- > 0;)
			query_location_frames(sd, path.v[k], &line);
		id = strtab_intern(&lines, (const char *)line.data, line.len);
		if (line.oom || id == STRTAB_NONE) {
			err = -ENOMEM;
			break;
		}
		while (values.len <= id)
			if (VEC_PUSH(&values, 0)) {
				err = -ENOMEM;
				break;
			}
		if (!err)
			values.v[id] = value_add(values.v[id], r->value);
	}
	if (!err) {
		size_t n = strtab_count(&lines);

		order = malloc((n ? n : 1) * sizeof(*order));
		if (!order) {
			err = -ENOMEM;
		} else {
			for (size_t i = 0; i < n; i++)
				order[i] = (uint32_t)i;
			qsort_r(order, n, sizeof(*order), line_cmp, &lines);
			for (size_t i = 0; i < n; i++)
				buf_printf(out, "%s %lld\n", strtab_get(&lines, order[i]),
					   (long long)values.v[order[i]]);
			if (out->oom)
				err = -ENOMEM;
		}
	}
	free(order);
	strtab_free(&lines);
	VEC_FREE(&values);
	VEC_FREE(&path);
	buf_free(&line);
	return err;
}

/* ---- pprof ----------------------------------------------------------------------------------- */

struct pp {
	struct arena arena;
	struct strtab strings; /* the profile's string table */
	bool oom;
};

static int64_t pstr(struct pp *p, const char *s)
{
	uint32_t id = strtab_intern(&p->strings, s, strlen(s));

	if (id == STRTAB_NONE)
		p->oom = true;
	return id == STRTAB_NONE ? 0 : (int64_t)id;
}

static void *palloc(struct pp *p, size_t n, size_t size)
{
	void *v = arena_calloc(&p->arena, n ? n : 1, size);

	if (!v)
		p->oom = true;
	return v;
}

int render_pprof(const struct svcdata *sd, struct buf *out)
{
	Perftools__Profiles__Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType st[2], pt, *stp[2] = {&st[0], &st[1]};
	struct pp p = {0};
	VEC(uint64_t) ids = {0};
	size_t nmap = sd->mappings.len - 1, nfun = sd->functions.len - 1,
	       nloc = sd->locations.len - 1;
	int64_t period = 0;
	uint8_t *packed = NULL;
	size_t packed_len;
	struct hmap samples = {0}; /* (series, stack) -> sample index + 1 */
	Perftools__Profiles__Sample **sv = NULL;
	size_t ns = 0, nkernel = 0;
	bool *unnamed;
	int err = 0;

	pstr(&p, "");
	perftools__profiles__value_type__init(&st[0]);
	perftools__profiles__value_type__init(&st[1]);
	perftools__profiles__value_type__init(&pt);
	st[0].type = pstr(&p, "samples");
	st[0].unit = pstr(&p, "count");
	st[1].type = pt.type = pstr(&p, "cpu");
	st[1].unit = pt.unit = pstr(&p, "nanoseconds");
	for (size_t i = 1; i < sd->types.len && !period; i++)
		period = sd->types.v[i].period;
	prof.sample_type = stp;
	prof.n_sample_type = 2;
	prof.period_type = &pt;
	prof.period = period;
	if (sd->rows.len) {
		prof.time_nanos = (int64_t)sd->min_time_ns;
		prof.duration_nanos = (int64_t)(sd->max_time_ns - sd->min_time_ns);
	}

	/* a mapping whose every location has names needs no symbolizing by pprof */
	unnamed = palloc(&p, sd->mappings.len, sizeof(*unnamed));
	for (size_t i = 1; unnamed && i < sd->locations.len; i++)
		if (!sd->locations.v[i].nlines)
			unnamed[sd->locations.v[i].mapping] = true;
	prof.mapping = palloc(&p, nmap, sizeof(*prof.mapping));
	for (size_t i = 0; i < nmap && !p.oom; i++) {
		const struct sd_mapping *m = &sd->mappings.v[i + 1];
		Perftools__Profiles__Mapping *x = palloc(&p, 1, sizeof(*x));

		if (!x)
			break;
		perftools__profiles__mapping__init(x);
		x->id = i + 1;
		x->memory_start = m->start;
		x->memory_limit = m->limit;
		x->file_offset = m->offset;
		x->filename = pstr(&p, strtab_get(&sd->strings, m->filename));
		x->build_id = pstr(&p, strtab_get(&sd->strings, m->build_id));
		x->has_functions = x->has_filenames = x->has_line_numbers = x->has_inline_frames =
			unnamed && !unnamed[i + 1];
		prof.mapping[prof.n_mapping++] = x;
	}
	/* a function's name gets "_[k]" where a kernel location uses it, as the agent writes them
	 */
	for (size_t i = 1; i < sd->locations.len; i++)
		if (is_kernel(sd, &sd->locations.v[i]))
			nkernel += sd->locations.v[i].nlines;
	prof.function = palloc(&p, nfun + nkernel, sizeof(*prof.function));
	for (size_t i = 0; i < nfun && !p.oom; i++) {
		const struct sd_function *f = &sd->functions.v[i + 1];
		Perftools__Profiles__Function *x = palloc(&p, 1, sizeof(*x));

		if (!x)
			break;
		perftools__profiles__function__init(x);
		x->id = i + 1;
		x->name = pstr(&p, strtab_get(&sd->strings, f->name));
		x->system_name = pstr(
			&p, strtab_get(&sd->strings, f->system_name ? f->system_name : f->name));
		x->filename = pstr(&p, strtab_get(&sd->strings, f->filename));
		x->start_line = f->start_line;
		prof.function[prof.n_function++] = x;
	}
	prof.location = palloc(&p, nloc, sizeof(*prof.location));
	for (size_t i = 0; i < nloc && !p.oom; i++) {
		const struct sd_location *l = &sd->locations.v[i + 1];
		Perftools__Profiles__Location *x = palloc(&p, 1, sizeof(*x));

		if (!x)
			break;
		perftools__profiles__location__init(x);
		x->id = i + 1;
		x->mapping_id = l->mapping;
		x->address = l->address;
		x->line = palloc(&p, l->nlines, sizeof(*x->line));
		for (uint32_t k = 0; k < l->nlines && x->line; k++) {
			const struct sd_line *ln = &sd->lines.v[l->first_line + k];
			Perftools__Profiles__Line *y = palloc(&p, 1, sizeof(*y));

			if (!y)
				break;
			perftools__profiles__line__init(y);
			y->function_id = ln->function;
			y->line = ln->line;
			x->line[x->n_line++] = y;
		}
		if (is_kernel(sd, l) && l->nlines) {
			/* kernel names carry "_[k]": give these lines functions of their own */
			for (size_t k = 0; k < x->n_line; k++) {
				const struct sd_function *f =
					&sd->functions.v[x->line[k]->function_id];
				Perftools__Profiles__Function *fn = palloc(&p, 1, sizeof(*fn));
				char name[512];

				if (!fn || !prof.function)
					break;
				perftools__profiles__function__init(fn);
				snprintf(name, sizeof(name), "%s_[k]",
					 strtab_get(&sd->strings, f->name));
				fn->id = prof.n_function + 1;
				fn->name = fn->system_name = pstr(&p, name);
				prof.function[prof.n_function++] = fn;
				x->line[k]->function_id = fn->id;
			}
		}
		prof.location[prof.n_location++] = x;
	}
	/* one sample per (series, stack), with the series' labels */
	sv = calloc(sd->rows.len ? sd->rows.len : 1, sizeof(*sv));
	if (!sv)
		p.oom = true;
	for (size_t i = 0; i < sd->rows.len && !p.oom; i++) {
		const struct sd_row *r = &sd->rows.v[i];
		uint64_t key = hash_u64(((uint64_t)r->series << 32 | r->stack) + 1) | 1;
		uintptr_t at = (uintptr_t)hmap_get(&samples, key);
		Perftools__Profiles__Sample *x;

		if (at) {
			x = sv[at - 1];
			x->value[0] = value_add(x->value[0], r->value);
			x->value[1] = value_add(x->value[1],
						value_mul(r->value, period > 0 ? period : 1));
			continue;
		}
		x = palloc(&p, 1, sizeof(*x));
		if (!x)
			break;
		perftools__profiles__sample__init(x);
		x->value = palloc(&p, 2, sizeof(int64_t));
		if (!x->value)
			break;
		x->n_value = 2;
		x->value[0] = r->value;
		x->value[1] = value_mul(r->value, period > 0 ? period : 1);
		ids.len = 0;
		for (uint32_t n = r->stack; n; n = sd->nodes.v[n].parent)
			if (VEC_PUSH(&ids, sd->nodes.v[n].location))
				p.oom = true;
		x->location_id = palloc(&p, ids.len, sizeof(uint64_t));
		if (!x->location_id)
			break;
		if (ids.len)
			memcpy(x->location_id, ids.v, ids.len * sizeof(uint64_t));
		x->n_location_id = ids.len;
		{
			const struct sd_series *se = &sd->series.v[r->series];

			x->label = palloc(&p, se->nlabels, sizeof(*x->label));
			for (uint32_t k = 0; k < se->nlabels && x->label; k++) {
				Perftools__Profiles__Label *lb = palloc(&p, 1, sizeof(*lb));

				if (!lb)
					break;
				perftools__profiles__label__init(lb);
				lb->key =
					pstr(&p, strtab_get(&sd->strings,
							    sd->labels.v[se->first_label + k].key));
				lb->str = pstr(&p,
					       strtab_get(&sd->strings,
							  sd->labels.v[se->first_label + k].value));
				x->label[x->n_label++] = lb;
			}
		}
		sv[ns++] = x;
		if (hmap_put(&samples, key, (void *)(uintptr_t)ns))
			p.oom = true;
	}
	prof.sample = sv;
	prof.n_sample = ns;
	if (p.oom) {
		err = -ENOMEM;
		goto out;
	}
	prof.string_table = palloc(&p, strtab_count(&p.strings), sizeof(char *));
	if (!prof.string_table) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < strtab_count(&p.strings); i++)
		prof.string_table[i] = (char *)strtab_get(&p.strings, (uint32_t)i);
	prof.n_string_table = strtab_count(&p.strings);
	packed_len = perftools__profiles__profile__get_packed_size(&prof);
	packed = malloc(packed_len ? packed_len : 1);
	if (!packed) {
		err = -ENOMEM;
		goto out;
	}
	perftools__profiles__profile__pack(&prof, packed);
	err = gzip_append(packed, packed_len, out);
out:
	free(packed);
	free(sv);
	hmap_free(&samples);
	VEC_FREE(&ids);
	strtab_free(&p.strings);
	arena_free(&p.arena);
	return err;
}

/* ---- times ------------------------------------------------------------------------------------
 */

int parse_time_ns(const char *s, uint64_t now_ns, uint64_t *ret)
{
	struct tm tm = {0};
	uint64_t d;
	const char *end;

	if (strcmp(s, "now") == 0) {
		*ret = now_ns;
		return 0;
	}
	if (strncmp(s, "now-", 4) == 0 || s[0] == '-') {
		if (parse_duration_ns(s + (s[0] == '-' ? 1 : 4), &d) || d > now_ns)
			return -EINVAL;
		*ret = now_ns - d;
		return 0;
	}
	if (parse_u64(s, &d) == 0) {
		if (d > UINT64_MAX / NSEC_PER_SEC)
			return -EINVAL;
		*ret = d * NSEC_PER_SEC;
		return 0;
	}
	if (str_ends_with(s, "ms") && strlen(s) < 24) {
		/* Unix milliseconds, as the API's answers give times: "1700000000123ms" */
		char digits[24];

		snprintf(digits, sizeof(digits), "%.*s", (int)strlen(s) - 2, s);
		if (parse_u64(digits, &d) || d > UINT64_MAX / 1000000)
			return -EINVAL;
		*ret = d * 1000000;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || (strcmp(end, "Z") != 0 && *end))
		return -EINVAL;
	*ret = (uint64_t)timegm(&tm) * NSEC_PER_SEC;
	return 0;
}
