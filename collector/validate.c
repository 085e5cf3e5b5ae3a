// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "validate.h"
#include "../profile/svcdata.h"
#include "../common/util.h"

int validate_fail(char *msg, size_t size, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
	return err;
}

const char *dict_string(const Dictionary *d, int32_t idx)
{
	if (!d || idx <= 0 || (size_t)idx >= d->n_string_table || !d->string_table[idx])
		return "";
	return d->string_table[idx];
}

struct tables table_sizes(const Dictionary *d)
{
	struct tables t = {0};

	if (d) {
		t.strings = d->n_string_table;
		t.mappings = d->n_mapping_table;
		t.locations = d->n_location_table;
		t.functions = d->n_function_table;
		t.links = d->n_link_table;
		t.attributes = d->n_attribute_table;
		t.stacks = d->n_stack_table;
	}
	return t;
}

/* Index checks: 0 always means "none" and is fine on an empty table. */
#define BAD_INDEX(idx, n) ((idx) < 0 || ((idx) > 0 && (size_t)(idx) >= (n)))

bool has_string_form(const AnyValue *v)
{
	return v && (v->value_case == ANY_STRING || v->value_case == ANY_STRINDEX ||
		     v->value_case == ANY_INT || v->value_case == ANY_BOOL ||
		     v->value_case == ANY_DOUBLE);
}

static int check_any(const AnyValue *v, const struct tables *t, char *msg, size_t size,
		     const char *where)
{
	if (v && v->value_case == ANY_STRINDEX && BAD_INDEX(v->string_value_strindex, t->strings))
		return validate_fail(
			msg, size, -EBADMSG,
			"%s.value.string_value_strindex %d out of range (string_table has %zu "
			"entries)",
			where, v->string_value_strindex, t->strings);
	if (v && v->value_case == ANY_STRING && v->string_value &&
	    strlen(v->string_value) > (1u << 20))
		return validate_fail(msg, size, -EBADMSG, "%s.value: a string over 1 MiB", where);
	return 0;
}

int check_key_values(KeyValue **kv, size_t n, const struct tables *t, char *msg, size_t size,
		     const char *where)
{
	char w[256];

	for (size_t i = 0; i < n; i++) {
		if (!kv[i])
			continue;
		snprintf(w, sizeof(w), "%s.attributes[%zu]", where, i);
		if (BAD_INDEX(kv[i]->key_strindex, t->strings))
			return validate_fail(
				msg, size, -EBADMSG,
				"%s.key_strindex %d out of range (string_table has %zu entries)", w,
				kv[i]->key_strindex, t->strings);
		if (check_any(kv[i]->value, t, msg, size, w))
			return -EBADMSG;
	}
	return 0;
}

static int check_indices(const int32_t *v, size_t n, size_t limit, char *msg, size_t size,
			 const char *what, const char *table)
{
	for (size_t i = 0; i < n; i++)
		if (BAD_INDEX(v[i], limit))
			return validate_fail(msg, size, -EBADMSG,
					     "%s[%zu] = %d out of range (%s has %zu entries)", what,
					     i, v[i], table, limit);
	return 0;
}

#define STR(field, what, i)                                                                     \
	do {                                                                                    \
		if (BAD_INDEX(field, t.strings))                                                \
			return validate_fail(msg, size, -EBADMSG,                               \
					     "%s[%zu]." #field                                  \
					     " %d out of range (string_table has %zu entries)", \
					     what, (size_t)(i), (int)(field), t.strings);       \
	} while (0)

int validate_dictionary(const Dictionary *d, char *msg, size_t size)
{
	struct tables t = table_sizes(d);
	char what[96];

	if (!d)
		return 0;
	for (size_t i = 0; i < d->n_string_table; i++) {
		if (d->string_table[i] && strlen(d->string_table[i]) > (1u << 20))
			return validate_fail(msg, size, -EBADMSG, "string_table[%zu] is over 1 MiB",
					     i);
	}
	for (size_t i = 0; i < d->n_mapping_table; i++) {
		const Mapping *m = d->mapping_table[i];

		if (!m)
			continue;
		STR(m->filename_strindex, "mapping_table", i);
		snprintf(what, sizeof(what), "mapping_table[%zu].attribute_indices", i);
		if (check_indices(m->attribute_indices, m->n_attribute_indices, t.attributes, msg,
				  size, what, "attribute_table"))
			return -EBADMSG;
	}
	for (size_t i = 0; i < d->n_function_table; i++) {
		const Function *f = d->function_table[i];

		if (!f)
			continue;
		STR(f->name_strindex, "function_table", i);
		STR(f->system_name_strindex, "function_table", i);
		STR(f->filename_strindex, "function_table", i);
	}
	for (size_t i = 0; i < d->n_location_table; i++) {
		const Location *l = d->location_table[i];

		if (!l)
			continue;
		if (BAD_INDEX(l->mapping_index, t.mappings))
			return validate_fail(msg, size, -EBADMSG,
					     "location_table[%zu].mapping_index %d out of range "
					     "(mapping_table has %zu entries)",
					     i, l->mapping_index, t.mappings);
		if (l->n_lines > SVC_MAX_LINES)
			return validate_fail(msg, size, -EBADMSG,
					     "location_table[%zu] has %zu lines (at most %d)", i,
					     l->n_lines, SVC_MAX_LINES);
		for (size_t k = 0; k < l->n_lines; k++)
			if (l->lines[k] && BAD_INDEX(l->lines[k]->function_index, t.functions))
				return validate_fail(
					msg, size, -EBADMSG,
					"location_table[%zu].lines[%zu].function_index %d out "
					"of range (function_table has %zu entries)",
					i, k, l->lines[k]->function_index, t.functions);
		snprintf(what, sizeof(what), "location_table[%zu].attribute_indices", i);
		if (check_indices(l->attribute_indices, l->n_attribute_indices, t.attributes, msg,
				  size, what, "attribute_table"))
			return -EBADMSG;
	}
	for (size_t i = 0; i < d->n_stack_table; i++) {
		const Stack *s = d->stack_table[i];

		if (!s)
			continue;
		if (s->n_location_indices > SVC_MAX_STACK_DEPTH)
			return validate_fail(msg, size, -EBADMSG,
					     "stack_table[%zu] has %zu frames (at most %d)", i,
					     s->n_location_indices, SVC_MAX_STACK_DEPTH);
		snprintf(what, sizeof(what), "stack_table[%zu].location_indices", i);
		if (check_indices(s->location_indices, s->n_location_indices, t.locations, msg,
				  size, what, "location_table"))
			return -EBADMSG;
	}
	for (size_t i = 0; i < d->n_attribute_table; i++) {
		const KeyValueAndUnit *a = d->attribute_table[i];

		if (!a)
			continue;
		STR(a->key_strindex, "attribute_table", i);
		STR(a->unit_strindex, "attribute_table", i);
		snprintf(what, sizeof(what), "attribute_table[%zu]", i);
		if (check_any(a->value, &t, msg, size, what))
			return -EBADMSG;
	}
	return 0;
}

/* ---- times and values ------------------------------------------------------------------------ */

static int validate_time(const Profile *p, const char *where, uint64_t now_ns, char *msg,
			 size_t size)
{
	uint64_t lo = VALIDATE_MIN_TIME_NS, hi = now_ns + VALIDATE_MAX_AHEAD_NS;

	if (p->time_unix_nano && (p->time_unix_nano < lo || p->time_unix_nano > hi))
		return validate_fail(msg, size, -EBADMSG,
				     "%s.time_unix_nano %" PRIu64
				     " is not a time this collector stores (from 2000-01-01 to a "
				     "day past its clock)",
				     where, p->time_unix_nano);
	if (p->duration_nano > VALIDATE_MAX_DURATION_NS)
		return validate_fail(msg, size, -EBADMSG,
				     "%s.duration_nano %" PRIu64 " is over a day (%llu)", where,
				     p->duration_nano, VALIDATE_MAX_DURATION_NS);
	if (p->time_unix_nano) {
		lo = p->time_unix_nano - MIN(p->time_unix_nano, VALIDATE_SLACK_NS);
		hi = p->time_unix_nano + p->duration_nano + VALIDATE_SLACK_NS;
	}
	for (size_t i = 0; i < p->n_samples; i++) {
		const Sample *s = p->samples[i];

		for (size_t k = 0; s && k < s->n_timestamps_unix_nano; k++)
			if (s->timestamps_unix_nano[k] < lo || s->timestamps_unix_nano[k] > hi)
				return validate_fail(
					msg, size, -EBADMSG,
					"%s.samples[%zu].timestamps_unix_nano[%zu] = %" PRIu64
					" is outside the profile's time [%" PRIu64 ", %" PRIu64 "]",
					where, i, k, s->timestamps_unix_nano[k], lo, hi);
	}
	return 0;
}

static bool is_type(const Dictionary *d, const ValueType *vt, const char *type, const char *unit)
{
	return vt && strcmp(dict_string(d, vt->type_strindex), type) == 0 &&
	       strcmp(dict_string(d, vt->unit_strindex), unit) == 0;
}

/*
 * The most a profile's values may add up to (INT64_MAX: no bound but overflow), and what the
 * bound is, for the message.
 */
static int64_t value_bound(const Profile *p, const Dictionary *d, char *why, size_t why_size)
{
	uint64_t dur = p->duration_nano ? p->duration_nano : VALIDATE_MAX_DURATION_NS;
	bool cpu_period = is_type(d, p->period_type, "cpu", "nanoseconds") && p->period > 0;
	/* a period more: a profile shorter than its period may still hold a sample per CPU */
	uint64_t per = p->period > 0 ? MIN((uint64_t)p->period, VALIDATE_MAX_DURATION_NS) : 0;

	if (is_type(d, p->sample_type, "cpu", "nanoseconds")) {
		snprintf(why, why_size, "%" PRIu64 " ns of CPU time: %" PRIu64 " ns on %d CPUs",
			 (dur + per) * VALIDATE_MAX_CPUS, dur + per, VALIDATE_MAX_CPUS);
		return (int64_t)((dur + per) * VALIDATE_MAX_CPUS);
	}
	if (is_type(d, p->sample_type, "samples", "count") && cpu_period) {
		uint64_t n = (dur / (uint64_t)p->period + 1) * VALIDATE_MAX_CPUS;

		snprintf(why, why_size,
			 "%" PRIu64 " samples: %" PRIu64 " ns at a period of %" PRId64
			 " ns, and one more, on %d CPUs",
			 n, dur, p->period, VALIDATE_MAX_CPUS);
		return (int64_t)n;
	}
	snprintf(why, why_size, "what int64 holds");
	return INT64_MAX;
}

static int validate_values(const Profile *p, const Dictionary *d, const char *where, char *msg,
			   size_t size)
{
	int64_t period = p->period > 0 ? p->period : 1, bound, total = 0;
	char why[160];

	if (p->period < 0)
		return validate_fail(msg, size, -EBADMSG, "%s.period %" PRId64 " is negative",
				     where, p->period);
	bound = value_bound(p, d, why, sizeof(why));
	for (size_t i = 0; i < p->n_samples; i++) {
		const Sample *s = p->samples[i];

		for (size_t k = 0; s && k < s->n_values; k++) {
			int64_t v = s->values[k], x;

			if (v < 0)
				return validate_fail(msg, size, -EBADMSG,
						     "%s.samples[%zu].values[%zu] = %" PRId64
						     ": a sample value cannot be negative",
						     where, i, k, v);
			if (__builtin_add_overflow(total, v, &total) || total > bound ||
			    __builtin_mul_overflow(total, period, &x))
				return validate_fail(
					msg, size, -EBADMSG,
					"%s.samples[%zu].values[%zu] = %" PRId64
					": the profile's values add up to more than its duration "
					"allows (at most %s; and value x period %" PRId64
					" within int64)",
					where, i, k, v, why, period);
		}
	}
	return 0;
}

int validate_profile(const Profile *p, const Dictionary *d, const char *where, uint64_t now_ns,
		     uint64_t *rows, char *msg, size_t size)
{
	struct tables t = table_sizes(d);
	char what[256];
	int err;

	if (p->sample_type) {
		STR(p->sample_type->type_strindex, where, 0);
		STR(p->sample_type->unit_strindex, where, 0);
	}
	if (p->period_type) {
		STR(p->period_type->type_strindex, where, 0);
		STR(p->period_type->unit_strindex, where, 0);
	}
	snprintf(what, sizeof(what), "%s.attribute_indices", where);
	if (check_indices(p->attribute_indices, p->n_attribute_indices, t.attributes, msg, size,
			  what, "attribute_table"))
		return -EBADMSG;
	for (size_t i = 0; i < p->n_samples; i++) {
		const Sample *s = p->samples[i];

		if (!s)
			continue;
		if (BAD_INDEX(s->stack_index, t.stacks))
			return validate_fail(
				msg, size, -EBADMSG,
				"%s.samples[%zu].stack_index %d out of range (stack_table has "
				"%zu entries)",
				where, i, s->stack_index, t.stacks);
		if (BAD_INDEX(s->link_index, t.links))
			return validate_fail(
				msg, size, -EBADMSG,
				"%s.samples[%zu].link_index %d out of range (link_table has "
				"%zu entries)",
				where, i, s->link_index, t.links);
		snprintf(what, sizeof(what), "%s.samples[%zu].attribute_indices", where, i);
		if (check_indices(s->attribute_indices, s->n_attribute_indices, t.attributes, msg,
				  size, what, "attribute_table"))
			return -EBADMSG;
		if (s->n_values && s->n_timestamps_unix_nano &&
		    s->n_values != s->n_timestamps_unix_nano)
			return validate_fail(
				msg, size, -EBADMSG,
				"%s.samples[%zu]: %zu values but %zu timestamps (they must match)",
				where, i, s->n_values, s->n_timestamps_unix_nano);
		if (!s->n_values && !s->n_timestamps_unix_nano)
			return validate_fail(msg, size, -EBADMSG,
					     "%s.samples[%zu]: neither values nor timestamps",
					     where, i);
		*rows += MAX(s->n_values, s->n_timestamps_unix_nano);
	}
	err = validate_time(p, where, now_ns, msg, size);
	return err ? err : validate_values(p, d, where, msg, size);
}

#undef STR
