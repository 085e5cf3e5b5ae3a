// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ingest.h"
#include "validate.h"
#include "../common/json.h"
#include "../common/util.h"
#include "../proto/otlp_pb.h"

#define DEFAULT_MAX_BODY (64u << 20)
#define NONE UINT32_MAX
#define UNKNOWN_SERVICE "unknown_service"
#define MAX_ROWS_PER_SAMPLE (1u << 24)

/* ---- decoding with a memory bound ---------------------------------------------------------- */

struct bounded {
	size_t used;
	size_t limit;
	bool over;
};

#define ALLOC_HDR 16

static void *bounded_alloc(void *ctx, size_t size)
{
	struct bounded *b = ctx;
	uint8_t *p;

	if (size > b->limit || b->used + size + ALLOC_HDR > b->limit) {
		b->over = true;
		return NULL;
	}
	p = malloc(size + ALLOC_HDR);
	if (!p)
		return NULL;
	memcpy(p, &size, sizeof(size));
	b->used += size + ALLOC_HDR;
	return p + ALLOC_HDR;
}

static void bounded_free(void *ctx, void *ptr)
{
	struct bounded *b = ctx;
	uint8_t *p = ptr;
	size_t size;

	if (!p)
		return;
	p -= ALLOC_HDR;
	memcpy(&size, p, sizeof(size));
	b->used -= size + ALLOC_HDR;
	free(p);
}

struct ingest_request {
	Request *msg;
	struct bounded bounded;
	ProtobufCAllocator alloc;
	VEC(char *) services;
	VEC(uint32_t) resource_service; /* by resource index */
	struct ingest_counts counts;
};

/* ---- names of things ----------------------------------------------------------------------- */

static const char *kv_key(const Dictionary *d, const KeyValue *kv)
{
	return kv->key && kv->key[0] ? kv->key : dict_string(d, kv->key_strindex);
}

/*
 * The string form of an attribute value into tmp (or a pointer into the message). NULL for
 * values with none (arrays, maps, bytes, unset).
 */
static const char *any_string(const Dictionary *d, const AnyValue *v, char *tmp, size_t tmp_size)
{
	if (!v)
		return NULL;
	switch (v->value_case) {
	case ANY_STRING:
		return v->string_value ? v->string_value : "";
	case ANY_STRINDEX:
		return dict_string(d, v->string_value_strindex);
	case ANY_INT:
		snprintf(tmp, tmp_size, "%" PRId64, v->int_value);
		return tmp;
	case ANY_BOOL:
		return v->bool_value ? "true" : "false";
	case ANY_DOUBLE:
		snprintf(tmp, tmp_size, "%.17g", v->double_value);
		return tmp;
	default:
		return NULL;
	}
}

/* OpenTelemetry's rule: service.name, else unknown_service:EXECUTABLE, else unknown_service. */
static char *service_name(const Dictionary *d, const Resource *res)
{
	const char *exe = NULL;
	char tmp[64];
	char *out, *fixed;

	for (size_t i = 0; res && i < res->n_attributes; i++) {
		const KeyValue *kv = res->attributes[i];
		const char *v;

		if (!kv)
			continue;
		v = any_string(d, kv->value, tmp, sizeof(tmp));
		if (!v || !*v)
			continue;
		if (strcmp(kv_key(d, kv), "service.name") == 0)
			return utf8_fix(v, strnlen(v, 1024));
		if (strcmp(kv_key(d, kv), "process.executable.name") == 0)
			exe = v;
	}
	if (exe && asprintf(&out, UNKNOWN_SERVICE ":%.1000s", exe) >= 0) {
		fixed = utf8_fix(out, strlen(out));
		free(out);
		return fixed;
	}
	return strdup(UNKNOWN_SERVICE);
}

int ingest_decode(const uint8_t *body, size_t len, const struct ingest_limits *limits,
		  struct ingest_request **ret, char *msg, size_t size)
{
	size_t max_body = limits && limits->max_body ? limits->max_body : DEFAULT_MAX_BODY;
	uint64_t now_ns = clock_ns(CLOCK_REALTIME);
	struct ingest_request *r;
	struct tables t;
	int err = 0;

	if (len > max_body)
		return validate_fail(msg, size, -EFBIG,
				     "the request is %zu bytes, over the limit of %zu", len,
				     max_body);
	r = calloc(1, sizeof(*r));
	if (!r)
		return validate_fail(msg, size, -ENOMEM, "out of memory");
	r->bounded.limit =
		limits && limits->max_decoded ? limits->max_decoded : 16 * len + (1u << 20);
	r->alloc = (ProtobufCAllocator){bounded_alloc, bounded_free, &r->bounded};
	r->msg = request_unpack(&r->alloc, len, body);
	if (!r->msg) {
		err = r->bounded.over
			      ? validate_fail(
					msg, size, -EFBIG,
					"the request takes over %zu bytes decoded (a limit against "
					"decompression bombs)",
					r->bounded.limit)
			      : validate_fail(
					msg, size, -EBADMSG,
					"not a valid ExportProfilesServiceRequest (protobuf) of "
					"opentelemetry.proto.collector.profiles.v1development");
		goto out;
	}
	t = table_sizes(r->msg->dictionary);
	err = validate_dictionary(r->msg->dictionary, msg, size);
	for (size_t i = 0; !err && i < t.attributes; i++)
		if (r->msg->dictionary->attribute_table[i] && i &&
		    !has_string_form(r->msg->dictionary->attribute_table[i]->value))
			r->counts.dropped_attributes++;
	for (size_t i = 0; !err && i < r->msg->n_resource_profiles; i++) {
		const ResourceProfiles *rp = r->msg->resource_profiles[i];
		char where[128], *svc;
		size_t s;

		if (VEC_PUSH(&r->resource_service, NONE)) {
			err = validate_fail(msg, size, -ENOMEM, "out of memory");
			break;
		}
		if (!rp)
			continue;
		snprintf(where, sizeof(where), "resource_profiles[%zu].resource", i);
		if (rp->resource &&
		    check_key_values(rp->resource->attributes, rp->resource->n_attributes, &t, msg,
				     size, where)) {
			err = -EBADMSG;
			break;
		}
		r->counts.resources++;
		for (size_t j = 0; !err && j < rp->n_scope_profiles; j++) {
			const ScopeProfiles *sp = rp->scope_profiles[j];

			for (size_t k = 0; sp && !err && k < sp->n_profiles; k++) {
				if (!sp->profiles[k])
					continue;
				snprintf(where, sizeof(where),
					 "resource_profiles[%zu].scope_profiles[%zu].profiles[%zu]",
					 i, j, k);
				err = validate_profile(sp->profiles[k], r->msg->dictionary, where,
						       now_ns, &r->counts.samples, msg, size);
				r->counts.profiles++;
			}
		}
		if (err)
			break;
		svc = service_name(r->msg->dictionary, rp->resource);
		if (!svc) {
			err = validate_fail(msg, size, -ENOMEM, "out of memory");
			break;
		}
		for (s = 0; s < r->services.len && strcmp(r->services.v[s], svc) != 0; s++)
			;
		if (s == r->services.len) {
			if (VEC_PUSH(&r->services, svc)) {
				free(svc);
				err = validate_fail(msg, size, -ENOMEM, "out of memory");
				break;
			}
		} else {
			free(svc);
		}
		r->resource_service.v[i] = (uint32_t)s;
	}
out:
	if (err) {
		ingest_request_free(r);
		return err;
	}
	*ret = r;
	return 0;
}

void ingest_request_free(struct ingest_request *r)
{
	if (!r)
		return;
	if (r->msg)
		request_free_unpacked(r->msg, &r->alloc);
	for (size_t i = 0; i < r->services.len; i++)
		free(r->services.v[i]);
	VEC_FREE(&r->services);
	VEC_FREE(&r->resource_service);
	free(r);
}

void ingest_request_counts(const struct ingest_request *r, struct ingest_counts *ret)
{
	*ret = r->counts;
}

size_t ingest_request_services(const struct ingest_request *r, const char *const **ret_names)
{
	*ret_names = (const char *const *)r->services.v;
	return r->services.len;
}

/* ---- into svcdata ------------------------------------------------------------------------------
 */

struct apply {
	const Dictionary *d;
	struct svcdata *sd;
	struct tables t;
	uint32_t *strings, *mappings, *functions, *locations, *stacks;
	struct sd_label *attrs; /* attribute index -> (key, value) in sd; key NONE = not yet */
	VEC(uint32_t) locs;
	VEC(struct sd_line) lines;
};

static uint32_t *memo(size_t n)
{
	uint32_t *v = malloc((n ? n : 1) * sizeof(*v));

	if (v) {
		memset(v, 0xff, (n ? n : 1) * sizeof(*v));
		v[0] = 0; /* index 0 is "none" everywhere */
	}
	return v;
}

/* Interns s, with any byte that is not valid UTF-8 stored as U+FFFD (docs/operations.md). */
static uint32_t a_cstring(struct apply *a, const char *s)
{
	size_t n = strlen(s);
	char *fixed;
	uint32_t id;

	if (utf8_invalid_at(s, n) == n)
		return svcdata__string(a->sd, s, n);
	fixed = utf8_fix(s, n);
	if (!fixed)
		return NONE;
	id = svcdata__string(a->sd, fixed, strlen(fixed));
	free(fixed);
	return id;
}

static uint32_t a_string(struct apply *a, int32_t idx)
{
	if (idx <= 0 || (size_t)idx >= a->t.strings)
		return 0;
	if (a->strings[idx] == NONE)
		a->strings[idx] = a_cstring(a, dict_string(a->d, idx));
	return a->strings[idx];
}

/* The string value of attribute idx for key, or NULL. */
static const char *attr_value(struct apply *a, int32_t idx, const char *key, char *tmp,
			      size_t tmp_size)
{
	const KeyValueAndUnit *kv;

	if (idx <= 0 || (size_t)idx >= a->t.attributes || !(kv = a->d->attribute_table[idx]))
		return NULL;
	if (strcmp(dict_string(a->d, kv->key_strindex), key) != 0)
		return NULL;
	return any_string(a->d, kv->value, tmp, tmp_size);
}

static uint32_t a_mapping(struct apply *a, int32_t idx)
{
	static const char *const build_id_keys[] = {"process.executable.build_id.gnu",
						    "process.executable.build_id.go",
						    "process.executable.build_id.htlhash"};
	const Mapping *m;
	struct sd_mapping x = {0};
	char tmp[64];

	if (idx <= 0 || (size_t)idx >= a->t.mappings)
		return 0;
	if (a->mappings[idx] != NONE)
		return a->mappings[idx];
	m = a->d->mapping_table[idx];
	if (m) {
		x.start = m->memory_start;
		x.limit = MAX(m->memory_limit, m->memory_start);
		x.offset = m->file_offset;
		x.filename = a_string(a, m->filename_strindex);
		/* the first build ID there is, by preference */
		for (size_t k = 0; k < ARRAY_SIZE(build_id_keys) && !x.build_id; k++)
			for (size_t i = 0; i < m->n_attribute_indices && !x.build_id; i++) {
				const char *v = attr_value(a, m->attribute_indices[i],
							   build_id_keys[k], tmp, sizeof(tmp));

				if (v && *v)
					x.build_id = a_cstring(a, v);
			}
		if (x.filename == NONE || x.build_id == NONE)
			return NONE;
	}
	return a->mappings[idx] = svcdata__mapping(a->sd, &x);
}

static uint32_t a_function(struct apply *a, int32_t idx)
{
	const Function *f;
	struct sd_function x = {0};

	if (idx <= 0 || (size_t)idx >= a->t.functions)
		return 0;
	if (a->functions[idx] != NONE)
		return a->functions[idx];
	f = a->d->function_table[idx];
	if (f) {
		x.name = a_string(a, f->name_strindex);
		x.system_name = a_string(a, f->system_name_strindex);
		x.filename = a_string(a, f->filename_strindex);
		x.start_line = f->start_line;
		if (x.name == NONE || x.system_name == NONE || x.filename == NONE)
			return NONE;
	}
	return a->functions[idx] = svcdata__function(a->sd, &x);
}

static uint32_t a_location(struct apply *a, int32_t idx)
{
	const Location *l;
	struct sd_location x = {0};
	char tmp[64];

	if (idx <= 0 || (size_t)idx >= a->t.locations)
		return 0;
	if (a->locations[idx] != NONE)
		return a->locations[idx];
	l = a->d->location_table[idx];
	a->lines.len = 0;
	if (l) {
		x.mapping = a_mapping(a, l->mapping_index);
		x.address = l->address;
		for (size_t i = 0; i < l->n_attribute_indices; i++) {
			const char *v = attr_value(a, l->attribute_indices[i], "profile.frame.type",
						   tmp, sizeof(tmp));

			if (v) {
				x.frame_type = a_cstring(a, v);
				break;
			}
		}
		for (size_t i = 0; i < l->n_lines; i++) {
			struct sd_line ln = {0};

			if (l->lines[i]) {
				ln.function = a_function(a, l->lines[i]->function_index);
				ln.line = l->lines[i]->line;
				ln.column = l->lines[i]->column;
			}
			if (ln.function == NONE || VEC_PUSH(&a->lines, ln))
				return NONE;
		}
		x.nlines = (uint32_t)a->lines.len;
		if (x.mapping == NONE || x.frame_type == NONE)
			return NONE;
	}
	return a->locations[idx] = svcdata__location(a->sd, &x, a->lines.v);
}

static uint32_t a_stack(struct apply *a, int32_t idx)
{
	const Stack *s;

	if (idx <= 0 || (size_t)idx >= a->t.stacks)
		return 0;
	if (a->stacks[idx] != NONE)
		return a->stacks[idx];
	s = a->d->stack_table[idx];
	a->locs.len = 0;
	for (size_t i = 0; s && i < s->n_location_indices; i++) {
		uint32_t loc = a_location(a, s->location_indices[i]);

		if (loc == NONE || VEC_PUSH(&a->locs, loc))
			return NONE;
	}
	return a->stacks[idx] = svcdata__stack(a->sd, a->locs.v, a->locs.len);
}

/* Adds attribute idx as a label (replacing one of the same key). Returns false on ENOMEM. */
static bool a_attr(struct apply *a, int32_t idx, struct sd_label *labels, size_t *n)
{
	struct sd_label *l;

	if (idx <= 0 || (size_t)idx >= a->t.attributes)
		return true;
	l = &a->attrs[idx];
	if (l->key == NONE) {
		const KeyValueAndUnit *kv = a->d->attribute_table[idx];
		char tmp[64];
		const char *v = kv ? any_string(a->d, kv->value, tmp, sizeof(tmp)) : NULL;

		if (!v) {
			l->key = 0; /* a label of no string form: left out */
			return true;
		}
		l->key = a_string(a, kv->key_strindex);
		l->value = a_cstring(a, v);
		if (l->key == NONE || l->value == NONE) {
			l->key = NONE;
			return false;
		}
	}
	if (l->key == 0)
		return true;
	for (size_t i = 0; i < *n; i++) {
		if (labels[i].key == l->key) {
			labels[i] = *l;
			return true;
		}
	}
	if (*n < SVC_MAX_LABELS)
		labels[(*n)++] = *l;
	return true;
}

static int apply_profile(struct apply *a, const Profile *p, const struct sd_label *res_labels,
			 size_t nres, uint64_t now_ns)
{
	struct sd_label labels[SVC_MAX_LABELS];
	struct sd_type type = {0};
	uint64_t t0 = p->time_unix_nano ? p->time_unix_nano : now_ns;
	uint32_t type_id;
	size_t nbase;

	if (p->sample_type) {
		type.sample_type = a_string(a, p->sample_type->type_strindex);
		type.sample_unit = a_string(a, p->sample_type->unit_strindex);
	}
	if (p->period_type) {
		type.period_type = a_string(a, p->period_type->type_strindex);
		type.period_unit = a_string(a, p->period_type->unit_strindex);
	}
	type.period = p->period;
	if (type.sample_type == NONE || type.sample_unit == NONE || type.period_type == NONE ||
	    type.period_unit == NONE)
		return -ENOMEM;
	type_id = svcdata__type(a->sd, &type);
	if (type_id == NONE)
		return -ENOMEM;
	memcpy(labels, res_labels, nres * sizeof(*labels));
	nbase = nres;
	for (size_t i = 0; i < p->n_attribute_indices; i++)
		if (!a_attr(a, p->attribute_indices[i], labels, &nbase))
			return -ENOMEM;
	for (size_t i = 0; i < p->n_samples; i++) {
		const Sample *s = p->samples[i];
		size_t n = nbase, rows;
		uint32_t series, stack;

		if (!s)
			continue;
		for (size_t k = 0; k < s->n_attribute_indices; k++)
			if (!a_attr(a, s->attribute_indices[k], labels, &n))
				return -ENOMEM;
		series = svcdata__series(a->sd, type_id, labels, n);
		stack = a_stack(a, s->stack_index);
		if (series == NONE || stack == NONE)
			return -ENOMEM;
		rows = MAX(s->n_values, s->n_timestamps_unix_nano);
		for (size_t k = 0; k < rows; k++) {
			uint64_t ts = s->n_timestamps_unix_nano ? s->timestamps_unix_nano[k] : t0;
			int64_t v = s->n_values ? s->values[k] : 1;

			if (svcdata__row(a->sd, series, stack, ts, v))
				return -ENOMEM;
		}
	}
	a->sd->profiles++;
	return 0;
}

static int apply_resource(struct apply *a, const ResourceProfiles *rp, uint64_t now_ns)
{
	struct sd_label labels[SVC_MAX_LABELS];
	size_t n = 0;
	int err = 0;

	for (size_t i = 0; rp->resource && i < rp->resource->n_attributes; i++) {
		const KeyValue *kv = rp->resource->attributes[i];
		const char *key, *v;
		char tmp[64];
		uint32_t k, val;
		size_t j;

		if (!kv)
			continue;
		key = kv_key(a->d, kv);
		/* the service is the block's own: not a label of every series */
		if (strcmp(key, "service.name") == 0 || !*key)
			continue;
		v = any_string(a->d, kv->value, tmp, sizeof(tmp));
		if (!v)
			continue;
		k = a_cstring(a, key);
		val = a_cstring(a, v);
		if (k == NONE || val == NONE)
			return -ENOMEM;
		for (j = 0; j < n && labels[j].key != k; j++)
			;
		if (j == n && n == SVC_MAX_LABELS)
			continue;
		labels[j] = (struct sd_label){k, val};
		n += j == n;
	}
	for (size_t j = 0; !err && j < rp->n_scope_profiles; j++) {
		const ScopeProfiles *sp = rp->scope_profiles[j];

		for (size_t k = 0; sp && !err && k < sp->n_profiles; k++)
			if (sp->profiles[k])
				err = apply_profile(a, sp->profiles[k], labels, n, now_ns);
	}
	return err;
}

int ingest_apply(const struct ingest_request *r, struct svcdata *const *dst, uint64_t now_ns)
{
	const Dictionary *d = r->msg->dictionary;
	int err = 0;

	for (size_t s = 0; !err && s < r->services.len; s++) {
		struct apply a = {.d = d, .sd = dst[s], .t = table_sizes(d)};

		a.strings = memo(a.t.strings);
		a.mappings = memo(a.t.mappings);
		a.functions = memo(a.t.functions);
		a.locations = memo(a.t.locations);
		a.stacks = memo(a.t.stacks);
		a.attrs = malloc((a.t.attributes ? a.t.attributes : 1) * sizeof(*a.attrs));
		if (a.attrs)
			for (size_t i = 0; i < a.t.attributes; i++)
				a.attrs[i].key = NONE;
		if (!a.strings || !a.mappings || !a.functions || !a.locations || !a.stacks ||
		    !a.attrs)
			err = -ENOMEM;
		for (size_t i = 0; !err && i < r->msg->n_resource_profiles; i++)
			if (r->resource_service.v[i] == s && r->msg->resource_profiles[i])
				err = apply_resource(&a, r->msg->resource_profiles[i], now_ns);
		free(a.strings);
		free(a.mappings);
		free(a.functions);
		free(a.locations);
		free(a.stacks);
		free(a.attrs);
		VEC_FREE(&a.locs);
		VEC_FREE(&a.lines);
	}
	return err;
}
