// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"
#include "pprof/profile.pb-c.h"
#include "../common/arena.h"
#include "../common/gzip.h"
#include "../common/strtab.h"

typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;

#define NO_COLUMN (-1)

typedef VEC(uint64_t) id_vec;

struct enc {
	const struct svcdata *sd;
	Perftools__Profiles__Profile prof;
	struct arena arena;
	struct strtab strings; /* the profile's string table */
	VEC(ValueType *) columns;
	int32_t *own;	  /* by type id: the column of its values, or NO_COLUMN (unused type) */
	int32_t *derived; /* by type id: the column of value x period, or NO_COLUMN */
	uint64_t *kfun;	  /* by function id: the pprof id of its "_[k]" twin, 0 = none yet */
	bool oom;
};

static int64_t pstr(struct enc *e, const char *s)
{
	uint32_t id = strtab_intern(&e->strings, s, strlen(s));

	if (id == STRTAB_NONE)
		e->oom = true;
	return id == STRTAB_NONE ? 0 : (int64_t)id;
}

static const char *sstr(const struct enc *e, uint32_t id)
{
	return strtab_get(&e->sd->strings, id);
}

static void *palloc(struct enc *e, size_t n, size_t size)
{
	void *v = arena_calloc(&e->arena, n ? n : 1, size);

	if (!v)
		e->oom = true;
	return v;
}

static bool is_kernel(const struct svcdata *sd, const struct sd_location *l)
{
	return l->frame_type && strcmp(strtab_get(&sd->strings, l->frame_type), "kernel") == 0;
}

/* The column of (type, unit), added when new. */
static int32_t column(struct enc *e, const char *type, const char *unit)
{
	int64_t t = pstr(e, type), u = pstr(e, unit);
	ValueType *c;

	for (size_t i = 0; i < e->columns.len; i++)
		if (e->columns.v[i]->type == t && e->columns.v[i]->unit == u)
			return (int32_t)i;
	c = palloc(e, 1, sizeof(*c));
	if (!c || VEC_PUSH(&e->columns, c)) {
		e->oom = true;
		return NO_COLUMN;
	}
	perftools__profiles__value_type__init(c);
	c->type = t;
	c->unit = u;
	return (int32_t)(e->columns.len - 1);
}

/* Whether a type counts events of a period of time: its period column is value x period. */
static bool counts_time(const struct enc *e, const struct sd_type *t)
{
	return t->period > 0 && t->period_type && strcmp(sstr(e, t->sample_unit), "count") == 0 &&
	       strcmp(sstr(e, t->period_unit), "nanoseconds") == 0;
}

static bool has_column(struct enc *e, uint32_t type, uint32_t unit)
{
	int64_t t = pstr(e, sstr(e, type)), u = pstr(e, sstr(e, unit));

	for (size_t i = 0; i < e->columns.len; i++)
		if (e->columns.v[i]->type == t && e->columns.v[i]->unit == u)
			return true;
	return false;
}

/* The sample types (columns) and the period of the profile, from the types its rows use. */
static void columns(struct enc *e)
{
	const struct svcdata *sd = e->sd;
	const struct sd_type *period = NULL;
	ValueType *pt = palloc(e, 1, sizeof(*pt));

	e->own = palloc(e, sd->types.len, sizeof(*e->own));
	e->derived = palloc(e, sd->types.len, sizeof(*e->derived));
	if (!pt || !e->own || !e->derived)
		return;
	for (size_t i = 0; i < sd->types.len; i++)
		e->own[i] = e->derived[i] = NO_COLUMN;
	for (size_t i = 0; i < sd->rows.len; i++)
		e->own[sd->series.v[sd->rows.v[i].series].type] = 0; /* used: numbered below */
	for (size_t i = 0; i < sd->types.len; i++) {
		const struct sd_type *t = &sd->types.v[i];

		if (e->own[i] == NO_COLUMN)
			continue;
		e->own[i] = column(e, sstr(e, t->sample_type), sstr(e, t->sample_unit));
		if (!period && t->period_type)
			period = t;
	}
	for (size_t i = 0; i < sd->types.len; i++) {
		const struct sd_type *t = &sd->types.v[i];

		if (e->own[i] != NO_COLUMN && counts_time(e, t) &&
		    !has_column(e, t->period_type, t->period_unit))
			e->derived[i] = column(e, sstr(e, t->period_type), sstr(e, t->period_unit));
	}
	perftools__profiles__value_type__init(pt);
	if (!e->columns.len) {
		/* no samples: the columns of a CPU profile, as profiles were before types */
		column(e, "samples", "count");
		column(e, "cpu", "nanoseconds");
	}
	pt->type = pstr(e, period ? sstr(e, period->period_type) : "cpu");
	pt->unit = pstr(e, period ? sstr(e, period->period_unit) : "nanoseconds");
	for (size_t i = 1; i < sd->types.len && !period; i++)
		if (sd->types.v[i].period)
			period = &sd->types.v[i];
	e->prof.period_type = pt;
	e->prof.period = period ? period->period : 0;
	e->prof.sample_type = e->columns.v;
	e->prof.n_sample_type = e->columns.len;
}

static void mappings(struct enc *e)
{
	const struct svcdata *sd = e->sd;
	bool *unnamed = palloc(e, sd->mappings.len, sizeof(*unnamed));

	/* a mapping whose every location has names needs no symbolizing by pprof */
	for (size_t i = 1; unnamed && i < sd->locations.len; i++)
		if (!sd->locations.v[i].nlines)
			unnamed[sd->locations.v[i].mapping] = true;
	e->prof.mapping = palloc(e, sd->mappings.len, sizeof(*e->prof.mapping));
	for (size_t i = 1; i < sd->mappings.len && !e->oom; i++) {
		const struct sd_mapping *m = &sd->mappings.v[i];
		Perftools__Profiles__Mapping *x = palloc(e, 1, sizeof(*x));

		if (!x)
			break;
		perftools__profiles__mapping__init(x);
		x->id = i;
		x->memory_start = m->start;
		x->memory_limit = m->limit;
		x->file_offset = m->offset;
		x->filename = pstr(e, sstr(e, m->filename));
		x->build_id = pstr(e, sstr(e, m->build_id));
		x->has_functions = x->has_filenames = x->has_line_numbers = x->has_inline_frames =
			unnamed && !unnamed[i];
		e->prof.mapping[e->prof.n_mapping++] = x;
	}
}

static Perftools__Profiles__Function *new_function(struct enc *e, const struct sd_function *f,
						   const char *suffix)
{
	Perftools__Profiles__Function *x = palloc(e, 1, sizeof(*x));
	char name[1024];

	if (!x)
		return NULL;
	perftools__profiles__function__init(x);
	x->id = e->prof.n_function + 1;
	snprintf(name, sizeof(name), "%s%s", sstr(e, f->name), suffix);
	x->name = pstr(e, name);
	snprintf(name, sizeof(name), "%s%s", sstr(e, f->system_name ? f->system_name : f->name),
		 suffix);
	x->system_name = pstr(e, name);
	x->filename = pstr(e, sstr(e, f->filename));
	x->start_line = f->start_line;
	e->prof.function[e->prof.n_function++] = x;
	return x;
}

/* Functions, ids as the model's; kernel lines get "_[k]" twins (made once each). */
static void functions(struct enc *e)
{
	const struct svcdata *sd = e->sd;
	size_t nkernel = 0;

	for (size_t i = 1; i < sd->locations.len; i++)
		if (is_kernel(sd, &sd->locations.v[i]))
			nkernel += sd->locations.v[i].nlines;
	e->prof.function = palloc(e, sd->functions.len + nkernel, sizeof(*e->prof.function));
	e->kfun = palloc(e, sd->functions.len, sizeof(*e->kfun));
	for (size_t i = 1; i < sd->functions.len && !e->oom; i++)
		new_function(e, &sd->functions.v[i], "");
}

static void locations(struct enc *e)
{
	const struct svcdata *sd = e->sd;

	e->prof.location = palloc(e, sd->locations.len, sizeof(*e->prof.location));
	for (size_t i = 1; i < sd->locations.len && !e->oom; i++) {
		const struct sd_location *l = &sd->locations.v[i];
		Perftools__Profiles__Location *x = palloc(e, 1, sizeof(*x));
		bool kernel = is_kernel(sd, l);

		if (!x)
			break;
		perftools__profiles__location__init(x);
		x->id = i;
		x->mapping_id = l->mapping;
		x->address = l->address;
		x->line = palloc(e, l->nlines, sizeof(*x->line));
		for (uint32_t k = 0; k < l->nlines && x->line; k++) {
			const struct sd_line *ln = &sd->lines.v[l->first_line + k];
			Perftools__Profiles__Line *y = palloc(e, 1, sizeof(*y));

			if (!y)
				break;
			perftools__profiles__line__init(y);
			y->function_id = ln->function;
			y->line = ln->line;
			if (kernel && ln->function) {
				if (!e->kfun[ln->function]) {
					Perftools__Profiles__Function *f = new_function(
						e, &sd->functions.v[ln->function], "_[k]");

					e->kfun[ln->function] = f ? f->id : 0;
				}
				y->function_id = e->kfun[ln->function];
			}
			x->line[x->n_line++] = y;
		}
		e->prof.location[e->prof.n_location++] = x;
	}
}

static bool labels_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct svcdata *sd = ctx;
	const struct sd_series *a = &sd->series.v[idx], *b = key;

	/* no labels, no array: nothing to compare (memcmp of NULL is undefined even for 0) */
	return a->nlabels == b->nlabels &&
	       (!a->nlabels || memcmp(sd->labels.v + a->first_label, sd->labels.v + b->first_label,
				      a->nlabels * sizeof(struct sd_label)) == 0);
}

static Sample *new_sample(struct enc *e, const struct sd_row *r, id_vec *ids)
{
	const struct svcdata *sd = e->sd;
	const struct sd_series *se = &sd->series.v[r->series];
	Sample *x = palloc(e, 1, sizeof(*x));

	if (!x)
		return NULL;
	perftools__profiles__sample__init(x);
	x->value = palloc(e, e->columns.len, sizeof(int64_t));
	x->n_value = e->columns.len;
	ids->len = 0;
	for (uint32_t n = r->stack; n; n = sd->nodes.v[n].parent)
		if (VEC_PUSH(ids, sd->nodes.v[n].location))
			e->oom = true;
	x->location_id = palloc(e, ids->len, sizeof(uint64_t));
	if (!x->value || !x->location_id || e->oom)
		return NULL;
	if (ids->len) /* ids->v is NULL when no stack was ever collected */
		memcpy(x->location_id, ids->v, ids->len * sizeof(uint64_t));
	x->n_location_id = ids->len;
	x->label = palloc(e, se->nlabels, sizeof(*x->label));
	for (uint32_t k = 0; k < se->nlabels && x->label; k++) {
		const struct sd_label *l = &sd->labels.v[se->first_label + k];
		Perftools__Profiles__Label *lb = palloc(e, 1, sizeof(*lb));

		if (!lb)
			return NULL;
		perftools__profiles__label__init(lb);
		lb->key = pstr(e, sstr(e, l->key));
		lb->str = pstr(e, sstr(e, l->value));
		x->label[x->n_label++] = lb;
	}
	return x;
}

/* One sample per (label set, stack): the rows of every type with those labels add into it. */
static void samples(struct enc *e)
{
	const struct svcdata *sd = e->sd;
	uint32_t *group = palloc(e, sd->series.len, sizeof(*group)); /* series -> first alike */
	struct itab label_sets = {0};
	struct hmap at = {0}; /* (group, stack) + 1 -> sample index + 1 */
	id_vec ids = {0};

	e->prof.sample = palloc(e, sd->rows.len, sizeof(*e->prof.sample));
	for (uint32_t i = 0; group && i < sd->series.len && !e->oom; i++) {
		const struct sd_series *se = &sd->series.v[i];
		/* labels.v is NULL while no series has labels: no pointer arithmetic on it then */
		uint64_t h = se->nlabels ? hash_bytes(sd->labels.v + se->first_label,
						      se->nlabels * sizeof(struct sd_label), 7)
					 : 0;
		int64_t same = itab_find(&label_sets, h, labels_eq, sd, se);

		group[i] = same >= 0 ? (uint32_t)same : i;
		if (same < 0 && itab_add(&label_sets, h, i))
			e->oom = true;
	}
	for (size_t i = 0; i < sd->rows.len && !e->oom; i++) {
		const struct sd_row *r = &sd->rows.v[i];
		const struct sd_type *t = &sd->types.v[sd->series.v[r->series].type];
		uint32_t type = sd->series.v[r->series].type;
		uint64_t key = ((uint64_t)group[r->series] << 32 | r->stack) + 1;
		uintptr_t n = (uintptr_t)hmap_get(&at, key);
		Sample *x;

		if (!n) {
			x = new_sample(e, r, &ids);
			if (!x)
				break;
			e->prof.sample[e->prof.n_sample++] = x;
			n = e->prof.n_sample;
			if (hmap_put(&at, key, (void *)n))
				e->oom = true;
		}
		x = e->prof.sample[n - 1];
		x->value[e->own[type]] = value_add(x->value[e->own[type]], r->value);
		if (e->derived[type] != NO_COLUMN)
			x->value[e->derived[type]] = value_add(x->value[e->derived[type]],
							       value_mul(r->value, t->period));
	}
	itab_free(&label_sets);
	hmap_free(&at);
	VEC_FREE(&ids);
}

/* The profile.proto of sd appended to out, gzipped or not. */
static int encode(const struct svcdata *sd, bool gzip, struct buf *out)
{
	struct enc e = {.sd = sd, .prof = PERFTOOLS__PROFILES__PROFILE__INIT};
	uint8_t *packed = NULL;
	size_t packed_len;
	int err;

	pstr(&e, "");
	columns(&e);
	mappings(&e);
	functions(&e);
	locations(&e);
	samples(&e);
	if (sd->rows.len) {
		e.prof.time_nanos = (int64_t)sd->min_time_ns;
		e.prof.duration_nanos = (int64_t)(sd->max_time_ns - sd->min_time_ns);
	}
	e.prof.string_table = palloc(&e, strtab_count(&e.strings), sizeof(char *));
	if (e.oom) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < strtab_count(&e.strings); i++)
		e.prof.string_table[i] = (char *)strtab_get(&e.strings, (uint32_t)i);
	e.prof.n_string_table = strtab_count(&e.strings);
	packed_len = perftools__profiles__profile__get_packed_size(&e.prof);
	packed = malloc(packed_len ? packed_len : 1);
	if (!packed) {
		err = -ENOMEM;
		goto out;
	}
	perftools__profiles__profile__pack(&e.prof, packed);
	if (gzip) {
		err = gzip_append(packed, packed_len, out);
	} else {
		buf_append(out, packed, packed_len);
		err = out->oom ? -ENOMEM : 0;
	}
out:
	free(packed);
	VEC_FREE(&e.columns);
	strtab_free(&e.strings);
	arena_free(&e.arena);
	return err;
}

int pprof_encode(const struct svcdata *sd, struct buf *out)
{
	return encode(sd, true, out);
}

int pprof_encode_raw(const struct svcdata *sd, struct buf *out)
{
	return encode(sd, false, out);
}
