// SPDX-License-Identifier: Apache-2.0
/* pprof into the profile model (pprof.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"
#include "ptype.h"
#include "pprof/profile.pb-c.h"
#include "../common/arena.h"
#include "../common/gzip.h"
#include "../common/hash.h"
#include "../common/util.h"

#define NONE UINT32_MAX
#define KERNEL_SUFFIX "_[k]"

typedef Perftools__Profiles__Profile Profile;

struct dec {
	const Profile *p;
	struct svcdata *sd;
	uint32_t *strings;	 /* by string index: id in sd, NONE = not yet */
	struct hmap mapping_at;	 /* pprof id -> index + 1 */
	struct hmap function_at; /* pprof id -> index + 1 */
	struct hmap location_at; /* pprof id -> index + 1 */
	uint32_t *functions;	 /* by index: id in sd, NONE = not yet */
	uint32_t *kernel_funcs;	 /* by index: the function without "_[k]", NONE = not yet */
	uint32_t *locations;	 /* by index */
	uint32_t *types;	 /* by column */
	VEC(struct sd_line) lines;
	VEC(uint32_t) stack;
	const struct pprof_limits *o;
	struct sd_label name; /* __name__ when o->name_label, else key 0 */
	char *err;
	size_t err_size;
	int error; /* the first */
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static uint32_t
fail(struct dec *d, int err, const char *fmt, ...)
{
	va_list ap;

	if (!d->error) {
		d->error = err;
		va_start(ap, fmt);
		vsnprintf(d->err, d->err_size, fmt, ap);
		va_end(ap);
	}
	return NONE;
}

static const char *pstr(struct dec *d, int64_t i)
{
	if (i == 0 && d->p->n_string_table == 0)
		return "";
	if (i < 0 || (uint64_t)i >= d->p->n_string_table) {
		fail(d, -EBADMSG, "string index %lld out of the string table (%zu)", (long long)i,
		     d->p->n_string_table);
		return "";
	}
	return d->p->string_table[i];
}

static uint32_t sd_cstring(struct dec *d, const char *s, size_t len)
{
	uint32_t id = svcdata__string(d->sd, s, len);

	return id == NONE ? fail(d, -ENOMEM, "out of memory") : id;
}

static uint32_t sd_string(struct dec *d, int64_t i)
{
	const char *s = pstr(d, i);

	if (d->error)
		return NONE;
	if (i >= (int64_t)d->p->n_string_table) /* the "" of an empty table */
		return 0;
	if (d->strings[i] == NONE)
		d->strings[i] = sd_cstring(d, s, strlen(s));
	return d->strings[i];
}

/* Index of a message by its id, through an id -> index + 1 map; 0 = none (id 0). */
static int64_t lookup(struct dec *d, const struct hmap *at, uint64_t id, const char *what)
{
	uintptr_t v;

	if (!id)
		return -1;
	v = (uintptr_t)hmap_get(at, id);
	if (!v)
		fail(d, -EBADMSG, "%s id %llu is not in the profile", what, (unsigned long long)id);
	return v ? (int64_t)v - 1 : -2;
}

static void index_ids(struct dec *d, struct hmap *at, void *const *msgs, size_t n, size_t id_offset,
		      const char *what)
{
	for (size_t i = 0; i < n && !d->error; i++) {
		uint64_t id;

		memcpy(&id, (const char *)msgs[i] + id_offset, sizeof(id));
		if (!id || hmap_get(at, id))
			fail(d, -EBADMSG, "%s id %llu is %s", what, (unsigned long long)id,
			     id ? "not unique" : "zero");
		else if (hmap_put(at, id, (void *)(uintptr_t)(i + 1)))
			fail(d, -ENOMEM, "out of memory");
	}
}

static uint32_t mapping(struct dec *d, uint64_t id)
{
	int64_t i = lookup(d, &d->mapping_at, id, "mapping");
	const Perftools__Profiles__Mapping *m;
	struct sd_mapping x = {0};
	uint32_t r;

	if (i < 0)
		return i == -1 ? 0 : NONE;
	m = d->p->mapping[i];
	x.start = m->memory_start;
	x.limit = MAX(m->memory_limit, m->memory_start);
	x.offset = m->file_offset;
	x.filename = sd_string(d, m->filename);
	x.build_id = sd_string(d, m->build_id);
	if (d->error)
		return NONE;
	r = svcdata__mapping(d->sd, &x);
	return r == NONE ? fail(d, -ENOMEM, "out of memory") : r;
}

/* The model's function of pprof function id; with strip, its name without "_[k]". */
static uint32_t function(struct dec *d, uint64_t id, bool strip)
{
	int64_t i = lookup(d, &d->function_at, id, "function");
	const Perftools__Profiles__Function *f;
	uint32_t *memo;
	struct sd_function x = {0};

	if (i < 0)
		return i == -1 ? 0 : NONE;
	memo = strip ? &d->kernel_funcs[i] : &d->functions[i];
	if (*memo != NONE)
		return *memo;
	f = d->p->function[i];
	x.name = sd_string(d, f->name);
	x.system_name = sd_string(d, f->system_name);
	x.filename = sd_string(d, f->filename);
	x.start_line = f->start_line;
	if (strip && !d->error) {
		const char *n = pstr(d, f->name), *s = pstr(d, f->system_name);

		x.name = sd_cstring(d, n, strlen(n) - strlen(KERNEL_SUFFIX));
		if (str_ends_with(s, KERNEL_SUFFIX))
			x.system_name = sd_cstring(d, s, strlen(s) - strlen(KERNEL_SUFFIX));
	}
	if (d->error)
		return NONE;
	*memo = svcdata__function(d->sd, &x);
	return *memo == NONE ? fail(d, -ENOMEM, "out of memory") : *memo;
}

/* A location whose every line's function ends in "_[k]" is a kernel frame (pprof.h). */
static bool kernel_location(struct dec *d, const Perftools__Profiles__Location *l)
{
	for (size_t k = 0; k < l->n_line; k++) {
		int64_t i = lookup(d, &d->function_at, l->line[k]->function_id, "function");

		if (i < 0 || !str_ends_with(pstr(d, d->p->function[i]->name), KERNEL_SUFFIX))
			return false;
	}
	return l->n_line > 0;
}

static uint32_t location(struct dec *d, uint64_t id)
{
	int64_t i = lookup(d, &d->location_at, id, "location");
	const Perftools__Profiles__Location *l;
	struct sd_location x = {0};
	bool kernel;

	if (i < 0)
		return i == -1 ? fail(d, -EBADMSG, "a sample has location id 0") : NONE;
	if (d->locations[i] != NONE)
		return d->locations[i];
	l = d->p->location[i];
	if (l->n_line > SVC_MAX_LINES)
		return fail(d, -EBADMSG, "location %llu has %zu lines (at most %d)",
			    (unsigned long long)id, l->n_line, SVC_MAX_LINES);
	kernel = kernel_location(d, l);
	x.mapping = mapping(d, l->mapping_id);
	x.address = l->address;
	x.frame_type = kernel ? sd_cstring(d, "kernel", 6) : 0;
	d->lines.len = 0;
	for (size_t k = 0; k < l->n_line && !d->error; k++) {
		struct sd_line ln = {.function = function(d, l->line[k]->function_id, kernel),
				     .line = l->line[k]->line};

		if (VEC_PUSH(&d->lines, ln))
			fail(d, -ENOMEM, "out of memory");
	}
	if (d->error)
		return NONE;
	x.nlines = (uint32_t)d->lines.len;
	d->locations[i] = svcdata__location(d->sd, &x, d->lines.v);
	return d->locations[i] == NONE ? fail(d, -ENOMEM, "out of memory") : d->locations[i];
}

/* The model's type of every column. */
static void types(struct dec *d)
{
	const Profile *p = d->p;
	struct sd_type t = {.period = p->period};

	if (p->period_type) {
		t.period_type = sd_string(d, p->period_type->type);
		t.period_unit = sd_string(d, p->period_type->unit);
	}
	for (size_t k = 0; k < p->n_sample_type && !d->error; k++) {
		t.sample_type = sd_string(d, p->sample_type[k]->type);
		t.sample_unit = sd_string(d, p->sample_type[k]->unit);
		if (d->error)
			return;
		d->types[k] = svcdata__type(d->sd, &t);
		if (d->types[k] == NONE)
			fail(d, -ENOMEM, "out of memory");
	}
}

/* Puts l into out[0..n) (replacing one of its key; at most SVC_MAX_LABELS); the new n. */
static size_t put_label(struct sd_label *out, size_t n, struct sd_label l)
{
	size_t j;

	for (j = 0; j < n && out[j].key != l.key; j++)
		;
	if (j == n && n == SVC_MAX_LABELS)
		return n;
	out[j] = l;
	return n + (j == n);
}

/* Adds the labels every sample gets (pprof_limits), over those of the same key. */
static size_t add_labels(struct dec *d, struct sd_label *out, size_t n)
{
	for (size_t k = 0; d->o && k <= d->o->n_labels; k++) {
		struct sd_label l = k < d->o->n_labels ? d->o->labels[k] : d->name;

		if (l.key)
			n = put_label(out, n, l);
	}
	return n;
}

/* The __name__ Pyroscope gives a profile: wall when a sample type is, else by its types. */
static void name_label(struct dec *d)
{
	const Profile *p = d->p;
	const char *name = NULL;

	for (size_t k = 0; k < d->o->n_labels; k++)
		if (strcmp(strtab_get(&d->sd->strings, d->o->labels[k].key), "__name__") == 0)
			return;
	for (size_t k = 0; k < p->n_sample_type && !name; k++)
		if (strcmp(pstr(d, p->sample_type[k]->type), "wall") == 0)
			name = "wall";
	/* the first type with a known name ("samples" alone says nothing), else the first */
	for (size_t k = 0; k < p->n_sample_type && !name; k++) {
		const char *st = pstr(d, p->sample_type[k]->type);

		if (strcmp(ptype_name_of_sample_type(st), st) != 0)
			name = ptype_name_of_sample_type(st);
	}
	if (!name && p->n_sample_type)
		name = pstr(d, p->sample_type[0]->type);
	if (!name || d->error)
		return;
	d->name.key = sd_cstring(d, "__name__", 8);
	d->name.value = sd_cstring(d, name, strlen(name));
}

/* The labels of a sample, keys distinct (a later one replaces), at most SVC_MAX_LABELS. */
static size_t labels(struct dec *d, const Perftools__Profiles__Sample *s, struct sd_label *out)
{
	size_t n = 0;

	for (size_t k = 0; k < s->n_label && !d->error; k++) {
		const Perftools__Profiles__Label *lb = s->label[k];
		struct sd_label l = {.key = sd_string(d, lb->key)};

		if (lb->str || !lb->num) {
			l.value = sd_string(d, lb->str);
		} else {
			char num[24];

			snprintf(num, sizeof(num), "%lld", (long long)lb->num);
			l.value = sd_cstring(d, num, strlen(num));
		}
		if (!d->error && l.key)
			n = put_label(out, n, l);
	}
	return add_labels(d, out, n);
}

static void sample(struct dec *d, const Perftools__Profiles__Sample *s, uint64_t time_ns)
{
	struct sd_label ls[SVC_MAX_LABELS];
	size_t nl;
	uint32_t stack;
	bool all_zero = true;

	if (s->n_value != d->p->n_sample_type) {
		fail(d, -EBADMSG, "a sample has %zu values for %zu sample types", s->n_value,
		     d->p->n_sample_type);
		return;
	}
	if (s->n_location_id > SVC_MAX_STACK_DEPTH) {
		fail(d, -EBADMSG, "a sample has %zu locations (at most %d)", s->n_location_id,
		     SVC_MAX_STACK_DEPTH);
		return;
	}
	d->stack.len = 0;
	for (size_t k = 0; k < s->n_location_id && !d->error; k++)
		if (VEC_PUSH(&d->stack, location(d, s->location_id[k])))
			fail(d, -ENOMEM, "out of memory");
	nl = labels(d, s, ls);
	if (d->error)
		return;
	stack = svcdata__stack(d->sd, d->stack.v, d->stack.len);
	for (size_t k = 0; k < s->n_value; k++)
		all_zero &= !s->value[k];
	for (size_t k = 0; k < s->n_value && !d->error; k++) {
		uint32_t series;

		if (!s->value[k] && !(all_zero && k == 0))
			continue; /* zeros make no rows; a sample of only zeros makes one */
		series = svcdata__series(d->sd, d->types[k], ls, nl);
		if (stack == NONE || series == NONE ||
		    svcdata__row(d->sd, series, stack, time_ns, s->value[k]))
			fail(d, -ENOMEM, "out of memory");
	}
}

/* Allocates the memo arrays, every entry NONE. */
static uint32_t *memo(struct dec *d, size_t n)
{
	uint32_t *v = malloc((n ? n : 1) * sizeof(*v));

	if (!v)
		fail(d, -ENOMEM, "out of memory");
	else
		memset(v, 0xff, (n ? n : 1) * sizeof(*v));
	return v;
}

static void decode(struct dec *d)
{
	const Profile *p = d->p;
	uint64_t t = p->time_nanos > 0 ? (uint64_t)p->time_nanos : d->o ? d->o->default_time_ns : 0;

	if (p->n_string_table && p->string_table[0][0])
		fail(d, -EBADMSG, "the string table does not begin with \"\"");
	d->strings = memo(d, p->n_string_table);
	d->functions = memo(d, p->n_function);
	d->kernel_funcs = memo(d, p->n_function);
	d->locations = memo(d, p->n_location);
	d->types = memo(d, p->n_sample_type);
	index_ids(d, &d->mapping_at, (void *const *)p->mapping, p->n_mapping,
		  offsetof(Perftools__Profiles__Mapping, id), "mapping");
	index_ids(d, &d->function_at, (void *const *)p->function, p->n_function,
		  offsetof(Perftools__Profiles__Function, id), "function");
	index_ids(d, &d->location_at, (void *const *)p->location, p->n_location,
		  offsetof(Perftools__Profiles__Location, id), "location");
	if (!d->error)
		types(d);
	if (!d->error && d->o && d->o->name_label)
		name_label(d);
	if (p->n_sample && !p->n_sample_type)
		fail(d, -EBADMSG, "samples without sample types");
	for (size_t i = 0; i < p->n_sample && !d->error; i++)
		sample(d, p->sample[i], t);
	if (!d->error)
		d->sd->profiles++;
}

int pprof_decode(const uint8_t *data, size_t len, const struct pprof_limits *limits,
		 struct svcdata *sd, char *err, size_t err_size)
{
	size_t max_bytes = limits && limits->max_bytes ? limits->max_bytes : 64 << 20;
	struct arena_pb bounded = {0};
	ProtobufCAllocator alloc = arena_pb_allocator(&bounded);
	struct dec d = {.sd = sd, .o = limits, .err = err, .err_size = err_size};
	struct buf raw = {0};
	int e;

	if (err_size)
		err[0] = 0;
	if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		e = gunzip_bounded(data, len, max_bytes, &raw);
		if (e) {
			snprintf(err, err_size, "%s",
				 e == -EFBIG ? "over the size limit once inflated"
					     : "bad gzip data");
			buf_free(&raw);
			return e;
		}
		data = raw.data;
		len = raw.len;
	} else if (len > max_bytes) {
		snprintf(err, err_size, "over the size limit");
		return -EFBIG;
	}
	bounded.arena.limit =
		limits && limits->max_decoded ? limits->max_decoded : 16 * len + (1 << 20);
	d.p = perftools__profiles__profile__unpack(&alloc, len, data ? data : (const uint8_t *)"");
	if (!d.p)
		fail(&d, bounded.over ? -EFBIG : -EBADMSG, "%s",
		     bounded.over ? "over the memory limit once decoded (or out of memory)"
				  : "not a pprof profile (protobuf)");
	else
		decode(&d);
	free(d.strings);
	free(d.functions);
	free(d.kernel_funcs);
	free(d.locations);
	free(d.types);
	hmap_free(&d.mapping_at);
	hmap_free(&d.function_at);
	hmap_free(&d.location_at);
	VEC_FREE(&d.lines);
	VEC_FREE(&d.stack);
	arena_free(&bounded.arena);
	buf_free(&raw);
	return d.error;
}
