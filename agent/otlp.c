// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "otlp.h"
#include "../proto/otlp_pb.h"
#include "../common/arena.h"
#include "../common/hash.h"
#include "../common/strtab.h"
#include "../common/util.h"

/* An attribute_table entry: a key and an int or string value, deduplicated. */
struct attr {
	uint32_t key; /* OTLP string id */
	uint32_t is_int;
	int64_t ival;
	uint32_t sval; /* OTLP string id */
	uint32_t pad;
};

struct func_key {
	uint32_t name, system_name, file;
};

struct enc {
	struct arena arena;
	struct profile *p;
	const struct frame_syms *fs;
	struct proc_table *t;
	const struct otlp_meta *meta;
	struct strtab strings;
	uint32_t *pstr; /* profile string id -> OTLP string id, UINT32_MAX unset */
	size_t npstr;
	VEC(struct attr) attrs;
	struct itab attr_idx;
	VEC(struct func_key) funcs;
	struct itab func_idx;
	uint32_t *map_of_obj; /* object id -> mapping index (0: none yet) */
	size_t nobj;
	VEC(Mapping *) mappings;
	int32_t kernel_mapping;
	bool oom;
};

static uint32_t str(struct enc *e, const char *s)
{
	uint32_t id = strtab_intern(&e->strings, s, strlen(s));

	if (id == STRTAB_NONE)
		e->oom = true;
	return id == STRTAB_NONE ? 0 : id;
}

/* An OTLP string id for a profile string id: only referenced strings enter the table. */
static uint32_t pstr(struct enc *e, uint32_t id)
{
	if (id >= e->npstr)
		return 0;
	if (e->pstr[id] == UINT32_MAX)
		e->pstr[id] = str(e, profile__str(e->p, id));
	return e->pstr[id];
}

static bool attr_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct enc *e = ctx;

	return memcmp(&e->attrs.v[idx], key, sizeof(struct attr)) == 0;
}

static int32_t attr(struct enc *e, uint32_t key, bool is_int, int64_t ival, uint32_t sval)
{
	struct attr a = {key, is_int, is_int ? ival : 0, is_int ? 0 : sval, 0};
	uint64_t h = hash_bytes(&a, sizeof(a), 41);
	int64_t idx = itab_find(&e->attr_idx, h, attr_eq, e, &a);

	if (idx >= 0)
		return (int32_t)idx;
	idx = (int64_t)e->attrs.len;
	if (VEC_PUSH(&e->attrs, a) || itab_add(&e->attr_idx, h, (uint32_t)idx)) {
		e->oom = true;
		return 0;
	}
	return (int32_t)idx;
}

static bool func_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct enc *e = ctx;

	return memcmp(&e->funcs.v[idx], key, sizeof(struct func_key)) == 0;
}

static int32_t function(struct enc *e, const struct frame_line *l)
{
	struct func_key k = {pstr(e, l->name), pstr(e, l->system_name), pstr(e, l->file)};
	uint64_t h = hash_bytes(&k, sizeof(k), 43);
	int64_t idx = itab_find(&e->func_idx, h, func_eq, e, &k);

	if (idx >= 0)
		return (int32_t)idx;
	idx = (int64_t)e->funcs.len;
	if (VEC_PUSH(&e->funcs, k) || itab_add(&e->func_idx, h, (uint32_t)idx)) {
		e->oom = true;
		return 0;
	}
	return (int32_t)idx;
}

static int32_t *indices(struct enc *e, size_t n)
{
	int32_t *v = arena_calloc(&e->arena, n, sizeof(int32_t));

	if (!v)
		e->oom = true;
	return v;
}

static void *alloc(struct enc *e, size_t size)
{
	void *v = arena_alloc(&e->arena, size);

	if (!v)
		e->oom = true;
	return v;
}

/* The mapping of an object (in its ELF address space, with its build ID), made once. */
static int32_t mapping_for(struct enc *e, uint32_t obj_id)
{
	struct object *o = proc_table__object(e->t, obj_id);
	Mapping *m;

	if (obj_id < e->nobj && e->map_of_obj[obj_id])
		return (int32_t)e->map_of_obj[obj_id];
	m = alloc(e, sizeof(*m));
	if (!m)
		return 0;
	INIT(Mapping, m);
	if (o) {
		m->filename_strindex = (int32_t)str(e, o->name);
		if (!o->elf_err)
			elf_info__range(&o->elf, &m->memory_start, &m->memory_limit,
					&m->file_offset);
		if (o->build_id[0]) {
			m->attribute_indices = indices(e, 1);
			if (m->attribute_indices) {
				m->attribute_indices[0] =
					attr(e, str(e, "process.executable.build_id.gnu"), false, 0,
					     str(e, o->build_id));
				m->n_attribute_indices = 1;
			}
		}
	}
	if (VEC_PUSH(&e->mappings, m)) {
		e->oom = true;
		return 0;
	}
	if (obj_id < e->nobj)
		e->map_of_obj[obj_id] = (uint32_t)(e->mappings.len - 1);
	return (int32_t)(e->mappings.len - 1);
}

static int32_t kernel_mapping(struct enc *e)
{
	Mapping *m;

	if (e->kernel_mapping)
		return e->kernel_mapping;
	m = alloc(e, sizeof(*m));
	if (!m)
		return 0;
	INIT(Mapping, m);
	m->filename_strindex = (int32_t)str(e, "vmlinux");
	if (e->meta->kernel_build_id && *e->meta->kernel_build_id) {
		m->attribute_indices = indices(e, 1);
		if (m->attribute_indices) {
			m->attribute_indices[0] = attr(e, str(e, "process.executable.build_id.gnu"),
						       false, 0, str(e, e->meta->kernel_build_id));
			m->n_attribute_indices = 1;
		}
	}
	if (VEC_PUSH(&e->mappings, m)) {
		e->oom = true;
		return 0;
	}
	e->kernel_mapping = (int32_t)(e->mappings.len - 1);
	return e->kernel_mapping;
}

static const char *frame_type(struct enc *e, const struct frame *f)
{
	struct object *o;

	switch (f->kind) {
	case FRAME_KERNEL:
		return "kernel";
	case FRAME_USER:
		o = proc_table__object(e->t, f->obj_id);
		return o && o->is_go ? "go" : "native";
	case FRAME_UNMAPPED:
		return "native";
	default:
		return "abort-marker";
	}
}

/* One location per profile frame: location index = frame id + 1. */
static Location **locations(struct enc *e, size_t nframes)
{
	Location **v = arena_calloc(&e->arena, nframes + 1, sizeof(*v));

	if (!v) {
		e->oom = true;
		return NULL;
	}
	v[0] = alloc(e, sizeof(Location));
	if (v[0])
		INIT(Location, v[0]);
	for (size_t i = 0; i < nframes && !e->oom; i++) {
		const struct frame *f = profile__frame(e->p, (uint32_t)i);
		const struct frame_sym *sym = &e->fs->frames.v[i];
		Location *l = alloc(e, sizeof(*l));
		bool with_lines;

		if (!l)
			break;
		INIT(Location, l);
		l->address = f->addr;
		if (f->kind == FRAME_USER)
			l->mapping_index = mapping_for(e, f->obj_id);
		else if (f->kind == FRAME_KERNEL)
			l->mapping_index = kernel_mapping(e);
		l->attribute_indices = indices(e, 1);
		if (l->attribute_indices) {
			l->attribute_indices[0] = attr(e, str(e, "profile.frame.type"), false, 0,
						       str(e, frame_type(e, f)));
			l->n_attribute_indices = 1;
		}
		/*
		 * Lines for what we named; an unnamed native frame is its mapping and address,
		 * for a backend to symbolize (always so with --symbolize=collector).
		 */
		with_lines = sym->symbolized;
		if (f->kind == FRAME_USER && e->meta->raw_user_frames) {
			struct object *o = proc_table__object(e->t, f->obj_id);

			with_lines = o && o->is_go;
		}
		if (with_lines && sym->nlines) {
			l->lines = arena_calloc(&e->arena, sym->nlines, sizeof(*l->lines));
			if (!l->lines) {
				e->oom = true;
				break;
			}
			for (uint32_t k = 0; k < sym->nlines; k++) {
				const struct frame_line *fl = &e->fs->lines.v[sym->first_line + k];
				Line *ln = alloc(e, sizeof(*ln));

				if (!ln)
					break;
				INIT(Line, ln);
				ln->function_index = function(e, fl);
				ln->line = fl->line;
				l->lines[k] = ln;
			}
			l->n_lines = sym->nlines;
		}
		v[i + 1] = l;
	}
	return v;
}

static Stack **stacks(struct enc *e, size_t nstacks)
{
	Stack **v = arena_calloc(&e->arena, nstacks + 1, sizeof(*v));

	if (!v) {
		e->oom = true;
		return NULL;
	}
	for (size_t i = 0; i <= nstacks && !e->oom; i++) {
		Stack *s = alloc(e, sizeof(*s));

		if (!s)
			break;
		INIT(Stack, s);
		if (i) {
			uint32_t n;
			const uint32_t *ids = profile__stack(e->p, (uint32_t)(i - 1), &n);

			s->location_indices = indices(e, n);
			if (!s->location_indices)
				break;
			for (uint32_t k = 0; k < n; k++)
				s->location_indices[k] = (int32_t)ids[k] + 1;
			s->n_location_indices = n;
		}
		v[i] = s;
	}
	return v;
}

struct ts_ctx {
	uint64_t *v;
	size_t n;
	int64_t shift;
};

static void collect_ts(void *ctx, uint64_t ts)
{
	struct ts_ctx *c = ctx;

	c->v[c->n++] = (uint64_t)((int64_t)ts + c->shift);
}

static Sample *sample(struct enc *e, const struct sample_agg *a)
{
	Sample *s = alloc(e, sizeof(*s));
	struct ts_ctx tc;

	if (!s)
		return NULL;
	INIT(Sample, s);
	s->stack_index = (int32_t)a->stack + 1;
	s->attribute_indices = indices(e, 2);
	if (!s->attribute_indices)
		return NULL;
	s->attribute_indices[0] = attr(e, str(e, "thread.name"), false, 0, pstr(e, a->thread_name));
	s->attribute_indices[1] = attr(e, str(e, "thread.id"), true, a->tid, 0);
	s->n_attribute_indices = 2;
	if (a->ts_count == a->count) {
		/* one timestamp per sample, each worth 1 */
		tc.v = arena_calloc(&e->arena, a->ts_count, sizeof(uint64_t));
		s->values = arena_calloc(&e->arena, a->ts_count, sizeof(int64_t));
		if (!tc.v || !s->values) {
			e->oom = true;
			return NULL;
		}
		tc.n = 0;
		tc.shift = e->meta->mono_to_unix_ns;
		profile__timestamps(e->p, a, collect_ts, &tc);
		for (size_t k = 0; k < tc.n; k++)
			s->values[k] = 1;
		s->timestamps_unix_nano = tc.v;
		s->n_timestamps_unix_nano = tc.n;
		s->n_values = tc.n;
	} else {
		s->values = arena_calloc(&e->arena, 1, sizeof(int64_t));
		if (!s->values) {
			e->oom = true;
			return NULL;
		}
		s->values[0] = (int64_t)a->count;
		s->n_values = 1;
	}
	return s;
}

static ValueType *value_type(struct enc *e, const char *type, const char *unit)
{
	ValueType *v = alloc(e, sizeof(*v));

	if (v) {
		INIT(ValueType, v);
		v->type_strindex = (int32_t)str(e, type);
		v->unit_strindex = (int32_t)str(e, unit);
	}
	return v;
}

static KeyValue *key_value(struct enc *e, const char *key, const char *value)
{
	KeyValue *kv = alloc(e, sizeof(*kv));
	AnyValue *v = alloc(e, sizeof(*v));

	if (!kv || !v)
		return NULL;
	INIT(KeyValue, kv);
	INIT(AnyValue, v);
	kv->key = arena_strdup(&e->arena, key);
	kv->value = v;
	/* process.pid is an int by the semantic conventions; the rest are strings */
	if (strcmp(key, "process.pid") == 0) {
		v->value_case = ANY_INT;
		v->int_value = strtoll(value, NULL, 10);
	} else {
		v->value_case = ANY_STRING;
		v->string_value = arena_strdup(&e->arena, value);
		if (!v->string_value)
			e->oom = true;
	}
	if (!kv->key)
		e->oom = true;
	return kv;
}

/* One ResourceProfiles per label set (a process): its samples form one Profile. */
static ResourceProfiles *resource(struct enc *e, uint32_t labelset, Sample **samples, size_t n)
{
	ResourceProfiles *rp = alloc(e, sizeof(*rp));
	ScopeProfiles *sp = alloc(e, sizeof(*sp));
	Profile *pr = alloc(e, sizeof(*pr));
	Resource *res = alloc(e, sizeof(*res));
	Scope *scope = alloc(e, sizeof(*scope));
	const struct label_ids *pairs;
	uint32_t npairs;

	if (!rp || !sp || !pr || !res || !scope)
		return NULL;
	INIT(ResourceProfiles, rp);
	INIT(ScopeProfiles, sp);
	INIT(Profile, pr);
	INIT(Resource, res);
	INIT(Scope, scope);
	pairs = profile__labelset_get(e->p, labelset, &npairs);
	res->attributes = arena_calloc(&e->arena, npairs + 1, sizeof(KeyValue *));
	if (!res->attributes) {
		e->oom = true;
		return NULL;
	}
	for (uint32_t i = 0; i < npairs; i++)
		res->attributes[res->n_attributes++] = key_value(
			e, profile__str(e->p, pairs[i].key), profile__str(e->p, pairs[i].value));
	if (npairs == 0) /* kernel threads: no process of their own */
		res->attributes[res->n_attributes++] = key_value(e, "service.name", "kernel");
	scope->name = arena_strdup(&e->arena, "sonde-agent");
	scope->version =
		arena_strdup(&e->arena, e->meta->agent_version ? e->meta->agent_version : "");
	pr->sample_type = value_type(e, "samples", "count");
	pr->period_type = value_type(e, "cpu", "nanoseconds");
	pr->period = (int64_t)e->meta->period_ns;
	pr->time_unix_nano = e->meta->start_unix_ns;
	pr->duration_nano = e->meta->duration_ns;
	pr->samples = samples;
	pr->n_samples = n;
	sp->scope = scope;
	sp->profiles = alloc(e, sizeof(Profile *));
	if (!sp->profiles)
		return NULL;
	sp->profiles[0] = pr;
	sp->n_profiles = 1;
	rp->resource = res;
	rp->scope_profiles = alloc(e, sizeof(ScopeProfiles *));
	if (!rp->scope_profiles)
		return NULL;
	rp->scope_profiles[0] = sp;
	rp->n_scope_profiles = 1;
	return rp;
}

static int labelset_cmp_ctx(const void *a, const void *b, void *ctx)
{
	const struct profile *p = ctx;
	const struct sample_agg *x = profile__sample(p, *(const uint32_t *)a);
	const struct sample_agg *y = profile__sample(p, *(const uint32_t *)b);

	return x->labels < y->labels ? -1 : x->labels > y->labels;
}

/* the dictionary's function, attribute, string and link tables, from what encoding collected */
static int dictionary_tables(struct enc *e, Dictionary *dict)
{
	dict->function_table = arena_calloc(&e->arena, e->funcs.len, sizeof(Function *));
	dict->attribute_table = arena_calloc(&e->arena, e->attrs.len, sizeof(KeyValueAndUnit *));
	dict->string_table = arena_calloc(&e->arena, strtab_count(&e->strings), sizeof(char *));
	dict->link_table = arena_calloc(&e->arena, 1, sizeof(Link *));
	if (!dict->function_table || !dict->attribute_table || !dict->string_table ||
	    !dict->link_table)
		return -ENOMEM;
	for (size_t i = 0; i < e->funcs.len && !e->oom; i++) {
		Function *f = alloc(e, sizeof(*f));

		if (!f)
			break;
		INIT(Function, f);
		f->name_strindex = (int32_t)e->funcs.v[i].name;
		f->system_name_strindex = (int32_t)e->funcs.v[i].system_name;
		f->filename_strindex = (int32_t)e->funcs.v[i].file;
		dict->function_table[i] = f;
	}
	dict->n_function_table = e->funcs.len;
	for (size_t i = 0; i < e->attrs.len && !e->oom; i++) {
		KeyValueAndUnit *kv = alloc(e, sizeof(*kv));
		AnyValue *v = i ? alloc(e, sizeof(*v)) : NULL;

		if (!kv)
			break;
		INIT(KeyValueAndUnit, kv);
		if (v) {
			INIT(AnyValue, v);
			kv->key_strindex = (int32_t)e->attrs.v[i].key;
			if (e->attrs.v[i].is_int) {
				v->value_case = ANY_INT;
				v->int_value = e->attrs.v[i].ival;
			} else {
				v->value_case = ANY_STRING;
				v->string_value =
					(char *)strtab_get(&e->strings, e->attrs.v[i].sval);
			}
			kv->value = v;
		}
		dict->attribute_table[i] = kv;
	}
	dict->n_attribute_table = e->attrs.len;
	for (size_t i = 0; i < strtab_count(&e->strings); i++)
		dict->string_table[i] = (char *)strtab_get(&e->strings, (uint32_t)i);
	dict->n_string_table = strtab_count(&e->strings);
	{
		/* link 0: all-zero trace and span IDs, as the spec asks */
		static uint8_t zeros[16];
		Link *l = alloc(e, sizeof(*l));

		if (l) {
			INIT(Link, l);
			l->trace_id.data = zeros;
			l->trace_id.len = 16;
			l->span_id.data = zeros;
			l->span_id.len = 8;
			dict->link_table[0] = l;
			dict->n_link_table = 1;
		}
	}
	return e->oom ? -ENOMEM : 0;
}

int otlp_encode(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		const struct otlp_meta *meta, struct buf *out, struct otlp_stats *ret_stats)
{
	struct enc e = {.p = p, .fs = fs, .t = t, .meta = meta};
	Request req;
	Dictionary dict;
	size_t nsamples = profile__nsamples(p), nframes = profile__nframes(p), nres = 0;
	uint32_t *order = NULL;
	ResourceProfiles **rps = NULL;
	Sample **samples = NULL;
	Location **locs;
	Stack **stks;
	size_t packed;
	int err = 0;

	INIT(Request, &req);
	INIT(Dictionary, &dict);
	e.npstr = profile__nstrings(p);
	e.pstr = malloc((e.npstr + 1) * sizeof(uint32_t));
	e.nobj = 0;
	for (size_t i = 0; i < nframes; i++) {
		const struct frame *f = profile__frame(p, (uint32_t)i);

		if (f->kind == FRAME_USER && f->obj_id + 1 > e.nobj)
			e.nobj = f->obj_id + 1;
	}
	e.map_of_obj = calloc(e.nobj + 1, sizeof(uint32_t));
	order = malloc((nsamples + 1) * sizeof(*order));
	if (!e.pstr || !e.map_of_obj || !order) {
		err = -ENOMEM;
		goto out;
	}
	memset(e.pstr, 0xff, (e.npstr + 1) * sizeof(uint32_t));
	/* index 0 of every table is its zero value */
	str(&e, "");
	attr(&e, 0, false, 0, 0);
	{
		struct func_key zero = {0};

		if (VEC_PUSH(&e.funcs, zero) ||
		    itab_add(&e.func_idx, hash_bytes(&zero, sizeof(zero), 43), 0))
			e.oom = true;
	}
	{
		Mapping *m0 = alloc(&e, sizeof(*m0));

		if (m0) {
			INIT(Mapping, m0);
			if (VEC_PUSH(&e.mappings, m0))
				e.oom = true;
		}
	}
	locs = locations(&e, nframes);
	stks = stacks(&e, profile__nstacks(p));

	/* samples grouped by process */
	for (size_t i = 0; i < nsamples; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, nsamples, sizeof(*order), labelset_cmp_ctx, p);
	samples = arena_calloc(&e.arena, nsamples + 1, sizeof(*samples));
	rps = arena_calloc(&e.arena, nsamples + 1, sizeof(*rps));
	if (!samples || !rps)
		e.oom = true;
	for (size_t i = 0; i < nsamples && !e.oom;) {
		uint32_t ls = profile__sample(p, order[i])->labels;
		size_t j = i;

		for (; j < nsamples && profile__sample(p, order[j])->labels == ls; j++)
			samples[j] = sample(&e, profile__sample(p, order[j]));
		rps[nres++] = resource(&e, ls, samples + i, j - i);
		if (!rps[nres - 1])
			e.oom = true;
		i = j;
	}
	if (e.oom) {
		err = -ENOMEM;
		goto out;
	}

	/* the dictionary */
	dict.location_table = locs;
	dict.n_location_table = nframes + 1;
	dict.stack_table = stks;
	dict.n_stack_table = profile__nstacks(p) + 1;
	dict.mapping_table = e.mappings.v;
	dict.n_mapping_table = e.mappings.len;
	if (dictionary_tables(&e, &dict)) {
		err = -ENOMEM;
		goto out;
	}
	if (e.oom) {
		err = -ENOMEM;
		goto out;
	}
	req.dictionary = &dict;
	req.resource_profiles = rps;
	req.n_resource_profiles = nres;
	packed = request_get_packed_size(&req);
	if (buf_reserve(out, packed)) {
		err = -ENOMEM;
		goto out;
	}
	request_pack(&req, out->data + out->len);
	out->len += packed;
	if (ret_stats) {
		ret_stats->resources = (uint32_t)nres;
		ret_stats->samples = profile__total(p);
		ret_stats->locations = (uint32_t)nframes;
		ret_stats->functions = (uint32_t)e.funcs.len;
		ret_stats->strings = (uint32_t)strtab_count(&e.strings);
		ret_stats->stacks = (uint32_t)profile__nstacks(p);
	}
out:
	free(order);
	free(e.pstr);
	free(e.map_of_obj);
	strtab_free(&e.strings);
	VEC_FREE(&e.attrs);
	itab_free(&e.attr_idx);
	VEC_FREE(&e.funcs);
	itab_free(&e.func_idx);
	VEC_FREE(&e.mappings);
	arena_free(&e.arena);
	return err;
}
