// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "svcdata.h"
#include "../common/util.h"

#define NONE UINT32_MAX

static uint64_t mix(uint64_t h, uint64_t v)
{
	return hash_u64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

/* Pushes x onto a table, returning its id or NONE; the caller adds the index entry. */
#define TABLE_PUSH(tab, x) (VEC_PUSH(tab, x) ? NONE : (uint32_t)((tab)->len - 1))

/* Adds entry id (just pushed) to the table's index, or pops it. Returns id or NONE. */
#define TABLE_INDEX(sd, tab, h, id)                                         \
	((id) == NONE						     ? NONE \
	 : (!(sd)->indexed || itab_add(&(tab)->idx, (h), (id)) == 0) ? (id) \
								     : ((tab)->len--, NONE))

struct svcdata *svcdata__new(const char *name)
{
	struct svcdata *sd = calloc(1, sizeof(*sd));
	struct sd_mapping m0 = {0};
	struct sd_function f0 = {0};
	struct sd_location l0 = {0};
	struct sd_node n0 = {0};
	struct sd_type t0 = {0};
	struct sd_series s0 = {0};

	if (!sd)
		return NULL;
	sd->name = strdup(name);
	sd->indexed = true;
	sd->min_time_ns = UINT64_MAX;
	/* the zero entries: never looked up, so not in the indexes */
	if (!sd->name || strtab_intern(&sd->strings, "", 0) != 0 || VEC_PUSH(&sd->mappings, m0) ||
	    VEC_PUSH(&sd->functions, f0) || VEC_PUSH(&sd->locations, l0) ||
	    VEC_PUSH(&sd->nodes, n0) || VEC_PUSH(&sd->types, t0) || VEC_PUSH(&sd->series, s0)) {
		svcdata__free(sd);
		return NULL;
	}
	return sd;
}

void svcdata__free(struct svcdata *sd)
{
	if (!sd)
		return;
	free(sd->name);
	strtab_free(&sd->strings);
	VEC_FREE(&sd->mappings);
	itab_free(&sd->mappings.idx);
	VEC_FREE(&sd->functions);
	itab_free(&sd->functions.idx);
	VEC_FREE(&sd->locations);
	itab_free(&sd->locations.idx);
	VEC_FREE(&sd->lines);
	VEC_FREE(&sd->nodes);
	itab_free(&sd->nodes.idx);
	VEC_FREE(&sd->types);
	itab_free(&sd->types.idx);
	VEC_FREE(&sd->series);
	itab_free(&sd->series.idx);
	VEC_FREE(&sd->labels);
	VEC_FREE(&sd->rows);
	free(sd);
}

size_t svcdata__bytes(const struct svcdata *sd)
{
	return strtab_bytes(&sd->strings) + sd->mappings.cap * sizeof(struct sd_mapping) +
	       sd->functions.cap * sizeof(struct sd_function) +
	       sd->locations.cap * sizeof(struct sd_location) +
	       sd->lines.cap * sizeof(struct sd_line) + sd->nodes.cap * sizeof(struct sd_node) +
	       sd->types.cap * sizeof(struct sd_type) + sd->series.cap * sizeof(struct sd_series) +
	       sd->labels.cap * sizeof(struct sd_label) + sd->rows.cap * sizeof(struct sd_row) +
	       (sd->mappings.idx.cap + sd->functions.idx.cap + sd->locations.idx.cap +
		sd->nodes.idx.cap + sd->types.idx.cap + sd->series.idx.cap) *
		       sizeof(struct itab_slot);
}

/* ---- hashing and equality per table ------------------------------------------------------- */

static uint64_t mapping_hash(const struct sd_mapping *m)
{
	return mix(mix(mix(mix(mix(1, m->start), m->limit), m->offset), m->filename), m->build_id);
}

static bool mapping_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct sd_mapping *a = &((const struct svcdata *)ctx)->mappings.v[idx], *b = key;

	return a->start == b->start && a->limit == b->limit && a->offset == b->offset &&
	       a->filename == b->filename && a->build_id == b->build_id;
}

static uint64_t function_hash(const struct sd_function *f)
{
	return mix(mix(mix(mix(2, f->name), f->system_name), f->filename), (uint64_t)f->start_line);
}

static bool function_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct sd_function *a = &((const struct svcdata *)ctx)->functions.v[idx], *b = key;

	return a->name == b->name && a->system_name == b->system_name &&
	       a->filename == b->filename && a->start_line == b->start_line;
}

struct location_key {
	const struct sd_location *l;
	const struct sd_line *lines;
};

static uint64_t location_hash(const struct sd_location *l, const struct sd_line *lines)
{
	uint64_t h = mix(mix(mix(mix(3, l->mapping), l->frame_type), l->address), l->nlines);

	for (uint32_t i = 0; i < l->nlines; i++)
		h = mix(mix(mix(h, lines[i].function), (uint64_t)lines[i].line),
			(uint64_t)lines[i].column);
	return h;
}

static bool location_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct svcdata *sd = ctx;
	const struct sd_location *a = &sd->locations.v[idx];
	const struct location_key *k = key;
	const struct sd_location *b = k->l;

	if (a->mapping != b->mapping || a->frame_type != b->frame_type ||
	    a->address != b->address || a->nlines != b->nlines)
		return false;
	for (uint32_t i = 0; i < a->nlines; i++) {
		const struct sd_line *x = &sd->lines.v[a->first_line + i], *y = &k->lines[i];

		if (x->function != y->function || x->line != y->line || x->column != y->column)
			return false;
	}
	return true;
}

static uint64_t node_hash(uint32_t parent, uint32_t location)
{
	return mix(mix(4, parent), location);
}

static bool node_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct sd_node *a = &((const struct svcdata *)ctx)->nodes.v[idx], *b = key;

	return a->parent == b->parent && a->location == b->location;
}

static uint64_t type_hash(const struct sd_type *t)
{
	return mix(mix(mix(mix(mix(5, t->sample_type), t->sample_unit), t->period_type),
		       t->period_unit),
		   (uint64_t)t->period);
}

static bool type_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct sd_type *a = &((const struct svcdata *)ctx)->types.v[idx], *b = key;

	return a->sample_type == b->sample_type && a->sample_unit == b->sample_unit &&
	       a->period_type == b->period_type && a->period_unit == b->period_unit &&
	       a->period == b->period;
}

struct series_key {
	uint32_t type;
	const struct sd_label *labels;
	size_t n;
};

static uint64_t series_hash(uint32_t type, const struct sd_label *labels, size_t n)
{
	uint64_t h = mix(mix(6, type), n);

	for (size_t i = 0; i < n; i++)
		h = mix(mix(h, labels[i].key), labels[i].value);
	return h;
}

static bool series_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct svcdata *sd = ctx;
	const struct sd_series *a = &sd->series.v[idx];
	const struct series_key *k = key;

	return a->type == k->type && a->nlabels == k->n &&
	       (k->n == 0 ||
		memcmp(&sd->labels.v[a->first_label], k->labels, k->n * sizeof(*k->labels)) == 0);
}

/* ---- interning ------------------------------------------------------------------------------ */

uint32_t svcdata__string(struct svcdata *sd, const char *s, size_t len)
{
	uint32_t id = strtab_intern(&sd->strings, s, len);

	return id == STRTAB_NONE ? NONE : id;
}

uint32_t svcdata__mapping(struct svcdata *sd, const struct sd_mapping *m)
{
	uint64_t h = mapping_hash(m);
	int64_t idx = itab_find(&sd->mappings.idx, h, mapping_eq, sd, m);
	uint32_t id;

	if (idx >= 0)
		return (uint32_t)idx;
	id = TABLE_PUSH(&sd->mappings, *m);
	return TABLE_INDEX(sd, &sd->mappings, h, id);
}

uint32_t svcdata__function(struct svcdata *sd, const struct sd_function *f)
{
	uint64_t h = function_hash(f);
	int64_t idx = itab_find(&sd->functions.idx, h, function_eq, sd, f);
	uint32_t id;

	if (idx >= 0)
		return (uint32_t)idx;
	id = TABLE_PUSH(&sd->functions, *f);
	return TABLE_INDEX(sd, &sd->functions, h, id);
}

uint32_t svcdata__location(struct svcdata *sd, const struct sd_location *l,
			   const struct sd_line *lines)
{
	struct location_key k = {l, lines};
	uint64_t h = location_hash(l, lines);
	int64_t idx = itab_find(&sd->locations.idx, h, location_eq, sd, &k);
	struct sd_location copy = *l;
	uint32_t id;

	if (idx >= 0)
		return (uint32_t)idx;
	if (VEC_RESERVE(&sd->lines, l->nlines))
		return NONE;
	copy.first_line = (uint32_t)sd->lines.len;
	id = TABLE_PUSH(&sd->locations, copy);
	id = TABLE_INDEX(sd, &sd->locations, h, id);
	if (id != NONE && l->nlines) {
		memcpy(sd->lines.v + sd->lines.len, lines, l->nlines * sizeof(*lines));
		sd->lines.len += l->nlines;
	}
	return id;
}

int svcdata__set_lines(struct svcdata *sd, uint32_t loc, const struct sd_line *lines, uint32_t n)
{
	struct sd_location *l = &sd->locations.v[loc];

	if (VEC_RESERVE(&sd->lines, n))
		return -ENOMEM;
	l->first_line = (uint32_t)sd->lines.len;
	l->nlines = n;
	memcpy(sd->lines.v + sd->lines.len, lines, n * sizeof(*lines));
	sd->lines.len += n;
	return 0;
}

int svcdata__rehash_locations(struct svcdata *sd)
{
	if (!sd->indexed)
		return 0;
	itab_clear(&sd->locations.idx);
	for (size_t i = 1; i < sd->locations.len; i++) {
		const struct sd_location *l = &sd->locations.v[i];

		if (itab_add(&sd->locations.idx, location_hash(l, sd->lines.v + l->first_line),
			     (uint32_t)i))
			return -ENOMEM;
	}
	return 0;
}

uint32_t svcdata__child(struct svcdata *sd, uint32_t parent, uint32_t location)
{
	struct sd_node n = {parent, location};
	uint64_t h = node_hash(parent, location);
	int64_t idx = itab_find(&sd->nodes.idx, h, node_eq, sd, &n);
	uint32_t id;

	if (idx >= 0)
		return (uint32_t)idx;
	id = TABLE_PUSH(&sd->nodes, n);
	return TABLE_INDEX(sd, &sd->nodes, h, id);
}

uint32_t svcdata__stack(struct svcdata *sd, const uint32_t *locations, size_t n)
{
	uint32_t node = 0;

	for (size_t i = n; i-- > 0;) {
		node = svcdata__child(sd, node, locations[i]);
		if (node == NONE)
			return NONE;
	}
	return node;
}

uint32_t svcdata__type(struct svcdata *sd, const struct sd_type *t)
{
	uint64_t h = type_hash(t);
	int64_t idx = itab_find(&sd->types.idx, h, type_eq, sd, t);
	uint32_t id;

	if (idx >= 0)
		return (uint32_t)idx;
	id = TABLE_PUSH(&sd->types, *t);
	return TABLE_INDEX(sd, &sd->types, h, id);
}

static int label_cmp(const void *a, const void *b)
{
	const struct sd_label *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key ? 1 : 0;
}

uint32_t svcdata__series(struct svcdata *sd, uint32_t type, const struct sd_label *labels, size_t n)
{
	struct sd_label sorted[SVC_MAX_LABELS];
	struct series_key k = {type, sorted, n};
	struct sd_series s;
	uint64_t h;
	int64_t idx;
	uint32_t id;

	if (n > SVC_MAX_LABELS)
		return NONE;
	if (n)
		memcpy(sorted, labels, n * sizeof(*labels));
	qsort(sorted, n, sizeof(*sorted), label_cmp);
	h = series_hash(type, sorted, n);
	idx = itab_find(&sd->series.idx, h, series_eq, sd, &k);
	if (idx >= 0)
		return (uint32_t)idx;
	if (VEC_RESERVE(&sd->labels, n))
		return NONE;
	s.type = type;
	s.first_label = (uint32_t)sd->labels.len;
	s.nlabels = (uint32_t)n;
	id = TABLE_PUSH(&sd->series, s);
	id = TABLE_INDEX(sd, &sd->series, h, id);
	if (id != NONE && n) {
		memcpy(sd->labels.v + sd->labels.len, sorted, n * sizeof(*sorted));
		sd->labels.len += n;
	}
	return id;
}

int svcdata__row(struct svcdata *sd, uint32_t series, uint32_t stack, uint64_t time_ns,
		 int64_t value)
{
	struct sd_row r = {series, stack, time_ns, value};

	if (VEC_PUSH(&sd->rows, r))
		return -ENOMEM;
	sd->min_time_ns = MIN(sd->min_time_ns, time_ns);
	sd->max_time_ns = MAX(sd->max_time_ns, time_ns);
	return 0;
}

int svcdata__index(struct svcdata *sd)
{
	if (sd->indexed)
		return 0;
	for (size_t i = 1; i < sd->mappings.len; i++)
		if (itab_add(&sd->mappings.idx, mapping_hash(&sd->mappings.v[i]), (uint32_t)i))
			return -ENOMEM;
	for (size_t i = 1; i < sd->functions.len; i++)
		if (itab_add(&sd->functions.idx, function_hash(&sd->functions.v[i]), (uint32_t)i))
			return -ENOMEM;
	for (size_t i = 1; i < sd->locations.len; i++) {
		const struct sd_location *l = &sd->locations.v[i];

		if (itab_add(&sd->locations.idx, location_hash(l, sd->lines.v + l->first_line),
			     (uint32_t)i))
			return -ENOMEM;
	}
	for (size_t i = 1; i < sd->nodes.len; i++)
		if (itab_add(&sd->nodes.idx,
			     node_hash(sd->nodes.v[i].parent, sd->nodes.v[i].location),
			     (uint32_t)i))
			return -ENOMEM;
	for (size_t i = 1; i < sd->types.len; i++)
		if (itab_add(&sd->types.idx, type_hash(&sd->types.v[i]), (uint32_t)i))
			return -ENOMEM;
	for (size_t i = 1; i < sd->series.len; i++) {
		const struct sd_series *s = &sd->series.v[i];

		if (itab_add(&sd->series.idx,
			     series_hash(s->type, sd->labels.v + s->first_label, s->nlabels),
			     (uint32_t)i))
			return -ENOMEM;
	}
	sd->indexed = true;
	return 0;
}

/* ---- merging -------------------------------------------------------------------------------- */

struct remap {
	uint32_t *strings, *mappings, *functions, *locations, *nodes, *types, *series;
	VEC(uint32_t) path; /* scratch: a node's unmapped ancestors */
	VEC(struct sd_line) lines;
};

static uint32_t *remap_array(size_t n)
{
	uint32_t *v = malloc((n ? n : 1) * sizeof(*v));

	if (v) {
		memset(v, 0xff, n * sizeof(*v));
		if (n)
			v[0] = 0; /* zero entries map to zero entries */
	}
	return v;
}

static uint32_t map_string(struct svcdata *dst, const struct svcdata *src, struct remap *m,
			   uint32_t id)
{
	if (m->strings[id] == NONE) {
		const char *s = strtab_get(&src->strings, id);

		m->strings[id] = svcdata__string(dst, s, strlen(s));
	}
	return m->strings[id];
}

static uint32_t map_mapping(struct svcdata *dst, const struct svcdata *src, struct remap *m,
			    uint32_t id)
{
	if (m->mappings[id] == NONE) {
		struct sd_mapping x = src->mappings.v[id];

		x.filename = map_string(dst, src, m, x.filename);
		x.build_id = map_string(dst, src, m, x.build_id);
		if (x.filename == NONE || x.build_id == NONE)
			return NONE;
		m->mappings[id] = svcdata__mapping(dst, &x);
	}
	return m->mappings[id];
}

static uint32_t map_function(struct svcdata *dst, const struct svcdata *src, struct remap *m,
			     uint32_t id)
{
	if (m->functions[id] == NONE) {
		struct sd_function x = src->functions.v[id];

		x.name = map_string(dst, src, m, x.name);
		x.system_name = map_string(dst, src, m, x.system_name);
		x.filename = map_string(dst, src, m, x.filename);
		if (x.name == NONE || x.system_name == NONE || x.filename == NONE)
			return NONE;
		m->functions[id] = svcdata__function(dst, &x);
	}
	return m->functions[id];
}

static uint32_t map_location(struct svcdata *dst, const struct svcdata *src, struct remap *m,
			     uint32_t id)
{
	if (m->locations[id] == NONE) {
		struct sd_location x = src->locations.v[id];

		x.mapping = map_mapping(dst, src, m, x.mapping);
		x.frame_type = map_string(dst, src, m, x.frame_type);
		if (x.mapping == NONE || x.frame_type == NONE)
			return NONE;
		m->lines.len = 0;
		for (uint32_t i = 0; i < x.nlines; i++) {
			struct sd_line l = src->lines.v[x.first_line + i];

			l.function = map_function(dst, src, m, l.function);
			if (l.function == NONE || VEC_PUSH(&m->lines, l))
				return NONE;
		}
		m->locations[id] = svcdata__location(dst, &x, m->lines.v);
	}
	return m->locations[id];
}

static uint32_t map_node(struct svcdata *dst, const struct svcdata *src, struct remap *m,
			 uint32_t id)
{
	uint32_t n = id, parent;

	/* climb to the nearest mapped ancestor, then map back down */
	m->path.len = 0;
	while (m->nodes[n] == NONE) {
		if (VEC_PUSH(&m->path, n))
			return NONE;
		n = src->nodes.v[n].parent;
	}
	parent = m->nodes[n];
	while (m->path.len) {
		uint32_t x = m->path.v[--m->path.len];
		uint32_t loc = map_location(dst, src, m, src->nodes.v[x].location);

		if (loc == NONE)
			return NONE;
		parent = svcdata__child(dst, parent, loc);
		if (parent == NONE)
			return NONE;
		m->nodes[x] = parent;
	}
	return m->nodes[id];
}

static uint32_t map_series(struct svcdata *dst, const struct svcdata *src, struct remap *m,
			   uint32_t id)
{
	if (m->series[id] == NONE) {
		const struct sd_series *s = &src->series.v[id];
		struct sd_label labels[SVC_MAX_LABELS];
		uint32_t type = m->types[s->type];

		if (type == NONE) {
			struct sd_type t = src->types.v[s->type];

			t.sample_type = map_string(dst, src, m, t.sample_type);
			t.sample_unit = map_string(dst, src, m, t.sample_unit);
			t.period_type = map_string(dst, src, m, t.period_type);
			t.period_unit = map_string(dst, src, m, t.period_unit);
			if (t.sample_type == NONE || t.sample_unit == NONE ||
			    t.period_type == NONE || t.period_unit == NONE)
				return NONE;
			type = m->types[s->type] = svcdata__type(dst, &t);
			if (type == NONE)
				return NONE;
		}
		for (uint32_t i = 0; i < s->nlabels && i < SVC_MAX_LABELS; i++) {
			labels[i].key =
				map_string(dst, src, m, src->labels.v[s->first_label + i].key);
			labels[i].value =
				map_string(dst, src, m, src->labels.v[s->first_label + i].value);
			if (labels[i].key == NONE || labels[i].value == NONE)
				return NONE;
		}
		m->series[id] = svcdata__series(dst, type, labels, MIN(s->nlabels, SVC_MAX_LABELS));
	}
	return m->series[id];
}

int svcdata__merge(struct svcdata *dst, const struct svcdata *src,
		   bool (*keep)(void *ctx, const struct svcdata *src, const struct sd_row *row),
		   void *ctx)
{
	struct remap m = {0};
	int err = -ENOMEM;

	if (!dst->indexed)
		return -EINVAL;
	m.strings = remap_array(strtab_count(&src->strings));
	m.mappings = remap_array(src->mappings.len);
	m.functions = remap_array(src->functions.len);
	m.locations = remap_array(src->locations.len);
	m.nodes = remap_array(src->nodes.len);
	m.types = remap_array(src->types.len);
	m.series = remap_array(src->series.len);
	if (!m.strings || !m.mappings || !m.functions || !m.locations || !m.nodes || !m.types ||
	    !m.series || VEC_RESERVE(&dst->rows, src->rows.len))
		goto out;
	for (size_t i = 0; i < src->rows.len; i++) {
		const struct sd_row *r = &src->rows.v[i];
		uint32_t series, stack;

		if (keep && !keep(ctx, src, r))
			continue;
		series = map_series(dst, src, &m, r->series);
		stack = map_node(dst, src, &m, r->stack);
		if (series == NONE || stack == NONE ||
		    svcdata__row(dst, series, stack, r->time_ns, r->value))
			goto out;
	}
	dst->profiles += src->profiles;
	err = 0;
out:
	free(m.strings);
	free(m.mappings);
	free(m.functions);
	free(m.locations);
	free(m.nodes);
	free(m.types);
	free(m.series);
	VEC_FREE(&m.path);
	VEC_FREE(&m.lines);
	return err;
}

int64_t value_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

int64_t value_mul(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_mul_overflow(a, b, &r))
		return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
	return r;
}

static int row_cmp(const void *a, const void *b)
{
	const struct sd_row *x = a, *y = b;

	if (x->series != y->series)
		return x->series < y->series ? -1 : 1;
	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	return 0;
}

size_t svcdata__sort_rows(struct svcdata *sd, uint64_t unit_ns)
{
	size_t out = 0;

	if (unit_ns > 1)
		for (size_t i = 0; i < sd->rows.len; i++)
			sd->rows.v[i].time_ns -= sd->rows.v[i].time_ns % unit_ns;
	if (sd->rows.len)
		qsort(sd->rows.v, sd->rows.len, sizeof(*sd->rows.v), row_cmp);
	for (size_t i = 0; i < sd->rows.len; i++) {
		if (out && row_cmp(&sd->rows.v[out - 1], &sd->rows.v[i]) == 0)
			sd->rows.v[out - 1].value =
				value_add(sd->rows.v[out - 1].value, sd->rows.v[i].value);
		else
			sd->rows.v[out++] = sd->rows.v[i];
	}
	sd->rows.len = out;
	if (out) {
		sd->min_time_ns = UINT64_MAX;
		sd->max_time_ns = 0;
		for (size_t i = 0; i < out; i++) {
			sd->min_time_ns = MIN(sd->min_time_ns, sd->rows.v[i].time_ns);
			sd->max_time_ns = MAX(sd->max_time_ns, sd->rows.v[i].time_ns);
		}
	}
	return out;
}

const char *svcdata__label(const struct svcdata *sd, uint32_t series, const char *key)
{
	const struct sd_series *s = &sd->series.v[series];

	for (uint32_t i = 0; i < s->nlabels; i++) {
		const struct sd_label *l = &sd->labels.v[s->first_label + i];

		if (strcmp(strtab_get(&sd->strings, l->key), key) == 0)
			return strtab_get(&sd->strings, l->value);
	}
	return NULL;
}
