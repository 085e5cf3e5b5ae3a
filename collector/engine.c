// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "namer.h"
#include "qctl.h"
#include "fetch.h"
#include "reader.h"
#include "../common/json.h"
#include "../common/util.h"

#define ATTEMPTS 3

/* ---- selecting ------------------------------------------------------------------------------ */

struct keep_ctx {
	uint64_t from, to;
	VEC(uint8_t) series_ok; /* by series of the source */
};

static bool keep_row(void *ctx, const struct svcdata *src, const struct sd_row *row)
{
	const struct keep_ctx *k = ctx;

	(void)src;
	return row->time_ns >= k->from && row->time_ns <= k->to && k->series_ok.v[row->series];
}

static bool type_matches(const struct svcdata *sd, uint32_t series, const char *want)
{
	const struct sd_type *t = &sd->types.v[sd->series.v[series].type];
	const char *st = strtab_get(&sd->strings, t->sample_type),
		   *su = strtab_get(&sd->strings, t->sample_unit);
	size_t n = strlen(st);

	if (want && strchr(want, ':') != strrchr(want, ':')) {
		/* a Pyroscope profile type ID: name:type:unit:period_type:period_unit[:delta] */
		const char *id = selector_type_label(sd, series, "__profile_type__");
		size_t len = strlen(id);

		return strncmp(want, id, len) == 0 &&
		       (want[len] == 0 || strcmp(want + len, ":delta") == 0);
	}
	return !want ||
	       (strncmp(want, st, n) == 0 && want[n] == ':' && strcmp(want + n + 1, su) == 0);
}

/* Which series of src the selector and type keep; false when none. seen: names found. */
static int series_filter(const struct svcdata *src, const struct engine_query *q,
			 struct keep_ctx *k, bool *seen, bool *any)
{
	*any = false;
	k->series_ok.len = 0;
	for (size_t i = 0; i < src->series.len; i++) {
		bool ok = i > 0 && type_matches(src, (uint32_t)i, q->type);

		seen[SELECTOR_MAX_MATCHERS] |= ok; /* the last slot: the type was seen */

		for (size_t m = 0; ok && m < q->sel->m.len; m++) {
			const char *v = selector_label(src, (uint32_t)i, q->sel->m.v[m].name);

			ok = selector_match(&q->sel->m.v[m], v);
		}
		if (VEC_PUSH(&k->series_ok, ok))
			return -ENOMEM;
		*any |= ok;
		for (size_t m = 0; i > 0 && m < q->sel->m.len; m++)
			if (selector_label(src, (uint32_t)i, q->sel->m.v[m].name))
				seen[m] = true;
	}
	return 0;
}

static bool service_may_match(const struct engine_query *q, const char *service)
{
	for (size_t m = 0; m < q->sel->m.len; m++)
		if (strcmp(q->sel->m.v[m].name, "service_name") == 0 &&
		    !selector_match(&q->sel->m.v[m], service))
			return false;
	return true;
}

/* A fetch_want_fn: the services of a block the query q may select. */
static bool want_service(void *ctx, const struct block_service_info *si)
{
	const struct engine_query *q = ctx;

	return si->max_time_ns >= q->from_ns && si->min_time_ns <= q->to_ns &&
	       service_may_match(q, si->name);
}

/* The service of that name in sel, through an index of name hashes (tenants have many). */
static struct svcdata *find_service(struct selection *sel, struct hmap *idx, const char *name)
{
	void *v = hmap_get(idx, hash_bytes(name, strlen(name), 7) | 1);
	struct svcdata *sd = v ? sel->svc.v[(uintptr_t)v - 1] : NULL;

	if (sd && strcmp(sd->name, name) == 0)
		return sd;
	/* a hash collision: rare, so a scan is fine */
	for (size_t i = 0; v && i < sel->svc.len; i++)
		if (strcmp(sel->svc.v[i]->name, name) == 0)
			return sel->svc.v[i];
	return NULL;
}

static int select_once(struct objstore *s, const struct engine_query *q, uint32_t mask,
		       uint64_t max_rows, struct selection *ret, bool *seen, char *err,
		       size_t err_size)
{
	block_refs refs = {0};
	struct keep_ctx k = {q->from_ns, q->to_ns, {0}};
	struct hmap idx = {0}; /* service name hash -> index in ret->svc + 1 */
	uint64_t rows = 0;
	struct fetch_opts fo = {.store = s,
				.refs = &refs,
				.mask = mask,
				.want = want_service,
				.want_ctx = (void *)q};
	struct fetcher *f = NULL;
	struct fetch_block *fb;
	int e;

	e = reader_visible(s, q->tenant, q->from_ns / 1000000, (q->to_ns + 999999) / 1000000, &refs,
			   err, err_size);
	if (!e && !(f = fetcher__new(&fo))) {
		snprintf(err, err_size, "out of memory");
		e = -ENOMEM;
	}
	while (!e && (fb = fetcher__next(f, &e, err, err_size))) {
		const struct block_info *bi = &fb->bi;

		ret->stats.blocks++;
		for (uint32_t j = 0; !e && j < bi->nservices; j++) {
			const struct svcdata *src = fb->svc[j];
			struct svcdata *dst;
			bool any;

			if (!src)
				continue; /* not wanted (want_service) */
			/* read only: the fetcher's (and maybe the decoded cache's) */
			ret->stats.services++;
			e = series_filter(src, q, &k, seen, &any);
			dst = find_service(ret, &idx, src->name);
			if (!e && any && !dst) {
				uint64_t h = hash_bytes(src->name, strlen(src->name), 7) | 1;

				dst = svcdata__new(src->name);
				if (!dst || VEC_PUSH(&ret->svc, dst)) {
					svcdata__free(dst);
					e = -ENOMEM;
				} else if (!hmap_get(&idx, h) &&
					   hmap_put(&idx, h, (void *)(uintptr_t)ret->svc.len)) {
					e = -ENOMEM;
				}
			}
			if (!e && any) {
				size_t before = dst->rows.len;

				/* adds src's profiles (the block's count for the service) */
				e = svcdata__merge(dst, src, keep_row, &k);
				if (!e && q->collapse_ns &&
				    dst->rows.len > 2 * dst->collapsed_rows + 4096)
					dst->collapsed_rows =
						svcdata__sort_rows(dst, q->collapse_ns);
				rows = rows - before + dst->rows.len; /* over all services */
				if (!e && rows > max_rows && q->collapse_ns) {
					rows = 0;
					for (size_t x = 0; x < ret->svc.len; x++) {
						struct svcdata *o = ret->svc.v[x];

						o->collapsed_rows =
							svcdata__sort_rows(o, q->collapse_ns);
						rows += o->rows.len;
					}
				}
				if (!e && rows > max_rows) {
					snprintf(err, err_size,
						 "the query selects over %llu samples: narrow the "
						 "selector or the time range",
						 (unsigned long long)max_rows);
					e = -E2BIG;
				}
			}
			if (e == -ENOMEM)
				snprintf(err, err_size, "out of memory");
		}
	}
	fetcher__free(f);
	ret->stats.rows = rows;
	hmap_free(&idx);
	VEC_FREE(&k.series_ok);
	VEC_FREE(&refs);
	return e;
}

void selection_free(struct selection *sel)
{
	for (size_t i = 0; i < sel->svc.len; i++)
		svcdata__free(sel->svc.v[i]);
	VEC_FREE(&sel->svc);
	memset(&sel->stats, 0, sizeof(sel->stats));
}

static int svc_cmp(const void *a, const void *b)
{
	return strcmp((*(struct svcdata *const *)a)->name, (*(struct svcdata *const *)b)->name);
}

int engine_select(struct objstore *s, const struct engine_query *q, enum engine_need need,
		  uint64_t max_rows, struct selection *ret, char *err, size_t err_size)
{
	static const uint32_t masks[] = {
		/* the sample columns too: a series counts when it has samples in the range */
		[NEED_LABELS] = (1u << SEC_STRINGS) | (1u << SEC_SERIES) | (1u << SEC_COL_SERIES) |
				(1u << SEC_COL_TIME) | (1u << SEC_COL_VALUE),
		[NEED_VALUES] = (1u << SEC_STRINGS) | (1u << SEC_SERIES) | (1u << SEC_COL_SERIES) |
				(1u << SEC_COL_TIME) | (1u << SEC_COL_VALUE),
		[NEED_STACKS] = SECS_ALL,
	};
	/* per matcher: its label exists; then: the type exists */
	bool seen[SELECTOR_MAX_MATCHERS + 1];
	int e = -ENOENT;

	memset(ret, 0, sizeof(*ret));
	for (int attempt = 0; attempt < ATTEMPTS && e == -ENOENT; attempt++) {
		selection_free(ret);
		memset(seen, 0, sizeof(seen));
		e = select_once(s, q, masks[need], max_rows, ret, seen, err, err_size);
		/* -ENOENT: compaction replaced a block meanwhile; look again */
	}
	if (e) {
		selection_free(ret);
		return e;
	}
	if (ret->svc.len == 0 && q->type && !seen[SELECTOR_MAX_MATCHERS] && !q->unknown_is_empty) {
		snprintf(err, err_size,
			 "unknown profile type '%s': none in the time range (see profile_types)",
			 q->type);
		return -EINVAL;
	}
	if (ret->svc.len == 0 && !q->unknown_is_empty) {
		/* nothing matched: say why when a label or the type is unknown */
		for (size_t m = 0; m < q->sel->m.len; m++) {
			const struct matcher *mt = &q->sel->m.v[m];

			if (!seen[m] && strcmp(mt->name, "service_name") != 0 &&
			    !selector_match(mt, NULL)) {
				snprintf(err, err_size,
					 "unknown label '%s': no profile in the time range has it",
					 mt->name);
				return -EINVAL;
			}
		}
	}
	for (size_t i = 0; i < ret->svc.len; i++)
		if (q->collapse_ns)
			svcdata__sort_rows(ret->svc.v[i], q->collapse_ns);
	if (q->namer && need == NEED_STACKS) {
		/* one wait for the whole query, within its own deadline */
		uint64_t deadline = namer__deadline(q->namer);
		struct qctl *c = qctl_current();

		if (c && c->deadline_ns && c->deadline_ns < deadline)
			deadline = c->deadline_ns;
		for (size_t i = 0; i < ret->svc.len && !qctl_check(c); i++)
			if (namer__name(q->namer, ret->svc.v[i], deadline)) {
				selection_free(ret);
				snprintf(err, err_size, "out of memory naming frames");
				return -ENOMEM;
			}
	}
	if (ret->svc.len)
		qsort(ret->svc.v, ret->svc.len, sizeof(*ret->svc.v), svc_cmp);
	return 0;
}

struct svcdata *selection_merge(const struct selection *sel)
{
	struct svcdata *sd = svcdata__new(sel->svc.len == 1 ? sel->svc.v[0]->name : "*");

	for (size_t i = 0; sd && i < sel->svc.len; i++) {
		if (svcdata__merge(sd, sel->svc.v[i], NULL, NULL)) {
			svcdata__free(sd);
			return NULL;
		}
	}
	return sd;
}

/* ---- time series, heatmaps, profiles -------------------------------------------------------- */

/* (group or series, step) -> value, over the rows of every service */
struct cell {
	uint32_t group; /* in groups */
	uint32_t step;
	int64_t value;
};

struct cells {
	struct strtab groups;
	VEC(struct cell) v;
	struct hmap idx; /* (group << 32 | step) + 1 -> cell + 1 */
};

static int cells_add(struct cells *c, const char *group, uint32_t step, int64_t value)
{
	uint32_t g = strtab_intern(&c->groups, group, strlen(group));
	uint64_t key;
	void *v;

	if (g == STRTAB_NONE)
		return -ENOMEM;
	key = ((uint64_t)g << 32 | step) + 1;
	v = hmap_get(&c->idx, key);
	if (v) {
		struct cell *cl = &c->v.v[(uintptr_t)v - 1];

		cl->value = value_add(cl->value, value);
		return 0;
	}
	if (VEC_PUSH(&c->v, ((struct cell){g, step, value})))
		return -ENOMEM;
	return hmap_put(&c->idx, key, (void *)(uintptr_t)c->v.len);
}

static void cells_free(struct cells *c)
{
	strtab_free(&c->groups);
	VEC_FREE(&c->v);
	hmap_free(&c->idx);
}

/*
 * A series' identity as a selector: {service_name="...", key="value", ...} with keys as
 * selectors write them; used as the group of a profile.
 */
static void series_selector(const struct svcdata *sd, uint32_t series, struct buf *b)
{
	const struct sd_series *s = &sd->series.v[series];

	buf_puts(b, "{service_name=");
	json_string(b, sd->name);
	for (uint32_t k = 0; k < s->nlabels; k++) {
		const struct sd_label *l = &sd->labels.v[s->first_label + k];

		buf_putc(b, ',');
		selector_put_name(b, strtab_get(&sd->strings, l->key));
		buf_putc(b, '=');
		json_string(b, strtab_get(&sd->strings, l->value));
	}
	buf_putc(b, '}');
}

/* Fills cells: by the value of group_by, or by series (group_by NULL and by_series), or one. */
static int fill_cells(const struct selection *sel, const char *group_by, bool by_series,
		      uint64_t from_ns, uint64_t step_ns, struct cells *c)
{
	struct buf key = {0};
	int err = 0;

	for (size_t i = 0; !err && i < sel->svc.len; i++) {
		const struct svcdata *sd = sel->svc.v[i];
		uint32_t last_series = UINT32_MAX;

		for (size_t r = 0; !err && r < sd->rows.len; r++) {
			const struct sd_row *row = &sd->rows.v[r];

			if (row->series != last_series) {
				buf_reset(&key);
				if (by_series) {
					series_selector(sd, row->series, &key);
				} else if (group_by) {
					const char *v = selector_label(sd, row->series, group_by);

					buf_puts(&key, v ? v : "");
				}
				buf_cstr(&key);
				last_series = row->series;
			}
			err = cells_add(c, key.data ? (const char *)key.data : "",
					(uint32_t)((row->time_ns - from_ns) / step_ns), row->value);
		}
	}
	buf_free(&key);
	return err ? err : key.oom ? -ENOMEM : 0;
}

static int cell_cmp(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return x->step < y->step ? -1 : x->step > y->step;
}

int engine_series(const struct selection *sel, const char *group_by, uint64_t from_ns,
		  uint64_t to_ns, uint64_t step_ns, uint64_t max_values, bool tsv, struct buf *out)
{
	struct cells c = {0};
	uint32_t nsteps = (uint32_t)((to_ns - from_ns) / step_ns + 1);
	int err = fill_cells(sel, group_by, false, from_ns, step_ns, &c);

	if (!err &&
	    (strtab_count(&c.groups) ? strtab_count(&c.groups) : 1) * (uint64_t)nsteps > max_values)
		err = -E2BIG;
	if (err)
		goto out;
	if (c.v.len)
		qsort(c.v.v, c.v.len, sizeof(*c.v.v), cell_cmp);
	if (!tsv) {
		buf_printf(out, "{\"from_ms\":%llu,\"step_ms\":%llu,\"steps\":%u,\"series\":[",
			   (unsigned long long)(from_ns / 1000000),
			   (unsigned long long)(step_ns / 1000000), nsteps);
	}
	for (size_t i = 0; i < c.v.len;) {
		uint32_t g = c.v.v[i].group;
		const char *name = strtab_get(&c.groups, g);
		size_t j = i;

		if (!tsv) {
			buf_puts(out, i ? ",{\"group\":" : "{\"group\":");
			json_string(out, name);
			buf_puts(out, ",\"values\":[");
		}
		/* dense: a value for every step, 0 where nothing was sampled */
		for (uint32_t st = 0; st < nsteps; st++) {
			int64_t v = 0;

			if (j < c.v.len && c.v.v[j].group == g && c.v.v[j].step == st)
				v = c.v.v[j++].value;
			if (tsv) {
				/* a label value from the network: no tab or newline may shift the
				 * columns */
				for (const char *ch = *name ? name : "-"; *ch; ch++)
					buf_putc(out, *ch == '\t' || *ch == '\n' || *ch == '\r'
							      ? ' '
							      : (uint8_t)*ch);
				buf_printf(out, "\t%llu\t%lld\n",
					   (unsigned long long)((from_ns + st * step_ns) / 1000000),
					   (long long)v);
			} else {
				buf_printf(out, "%s%lld", st ? "," : "", (long long)v);
			}
		}
		while (j < c.v.len && c.v.v[j].group == g)
			j++;
		if (!tsv)
			buf_puts(out, "]}");
		i = j;
	}
	if (!tsv)
		buf_puts(out, "]}");
	err = out->oom ? -ENOMEM : 0;
out:
	cells_free(&c);
	return err;
}

int engine_heatmap(const struct selection *sel, uint64_t from_ns, uint64_t to_ns, uint64_t step_ns,
		   unsigned int nbuckets, struct buf *out)
{
	struct cells c = {0};
	uint32_t nsteps = (uint32_t)((to_ns - from_ns) / step_ns + 1);
	int64_t max = 0;
	uint64_t *counts = NULL;
	int err = fill_cells(sel, NULL, true, from_ns, step_ns, &c);

	if (err)
		goto out;
	for (size_t i = 0; i < c.v.len; i++)
		max = MAX(max, c.v.v[i].value);
	counts = calloc((size_t)nsteps * nbuckets, sizeof(*counts));
	if (!counts) {
		err = -ENOMEM;
		goto out;
	}
	/* bucket b holds values in (max * b / n, max * (b + 1) / n] */
	for (size_t i = 0; i < c.v.len; i++) {
		int64_t v = c.v.v[i].value;
		unsigned int b =
			v <= 0 || max == 0 ? 0 : (unsigned int)(((__int128)v * nbuckets - 1) / max);

		counts[(size_t)c.v.v[i].step * nbuckets + MIN(b, nbuckets - 1)]++;
	}
	buf_printf(out,
		   "{\"from_ms\":%llu,\"step_ms\":%llu,\"steps\":%u,\"buckets\":%u,\"max\":%lld,"
		   "\"counts\":[",
		   (unsigned long long)(from_ns / 1000000), (unsigned long long)(step_ns / 1000000),
		   nsteps, nbuckets, (long long)max);
	for (uint32_t st = 0; st < nsteps; st++) {
		buf_puts(out, st ? ",[" : "[");
		for (unsigned int b = 0; b < nbuckets; b++)
			buf_printf(out, "%s%llu", b ? "," : "",
				   (unsigned long long)counts[(size_t)st * nbuckets + b]);
		buf_putc(out, ']');
	}
	buf_puts(out, "]}");
	err = out->oom ? -ENOMEM : 0;
out:
	free(counts);
	cells_free(&c);
	return err;
}

static int cell_value_cmp(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return cell_cmp(a, b);
}

int engine_profiles(const struct selection *sel, uint64_t from_ns, uint64_t to_ns, uint64_t step_ns,
		    size_t limit, struct buf *out)
{
	struct cells c = {0};
	int err = fill_cells(sel, NULL, true, from_ns, step_ns, &c);

	(void)to_ns;
	if (err)
		goto out;
	if (c.v.len)
		qsort(c.v.v, c.v.len, sizeof(*c.v.v), cell_value_cmp);
	buf_printf(out, "{\"step_ms\":%llu,\"count\":%zu,\"profiles\":[",
		   (unsigned long long)(step_ns / 1000000), c.v.len);
	for (size_t i = 0; i < c.v.len && i < limit; i++) {
		uint64_t t = from_ns + c.v.v[i].step * step_ns;

		buf_puts(out, i ? ",{\"selector\":" : "{\"selector\":");
		json_string(out, strtab_get(&c.groups, c.v.v[i].group));
		buf_printf(out, ",\"from_ms\":%llu,\"to_ms\":%llu,\"value\":%lld}",
			   (unsigned long long)(t / 1000000),
			   (unsigned long long)((t + step_ns - 1) / 1000000),
			   (long long)c.v.v[i].value);
	}
	buf_puts(out, "]}");
	err = out->oom ? -ENOMEM : 0;
out:
	cells_free(&c);
	return err;
}

/* ---- labels ------------------------------------------------------------------------------------
 */

static int str_id_cmp(const void *a, const void *b, void *ctx)
{
	const struct strtab *t = ctx;

	return strcmp(strtab_get(t, *(const uint32_t *)a), strtab_get(t, *(const uint32_t *)b));
}

uint32_t *engine_sorted(const struct strtab *t, size_t *ret_n)
{
	size_t n = strtab_count(t);
	uint32_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	size_t k = 0;

	if (!ids)
		return NULL;
	for (size_t i = 1; i < n; i++) /* id 0 is "" */
		ids[k++] = (uint32_t)i;
	qsort_r(ids, k, sizeof(*ids), str_id_cmp, (void *)t);
	*ret_n = k;
	return ids;
}

/* The strings of t, sorted, as a JSON array or lines. */
static int emit_sorted(const struct strtab *t, bool tsv, struct buf *out)
{
	size_t k;
	uint32_t *ids = engine_sorted(t, &k);

	if (!ids)
		return -ENOMEM;
	if (!tsv)
		buf_putc(out, '[');
	for (size_t i = 0; i < k; i++) {
		if (tsv) {
			buf_printf(out, "%s\n", strtab_get(t, ids[i]));
			continue;
		}
		if (i)
			buf_putc(out, ',');
		json_string(out, strtab_get(t, ids[i]));
	}
	if (!tsv)
		buf_putc(out, ']');
	free(ids);
	return out->oom ? -ENOMEM : 0;
}

int engine_label_names_into(const struct selection *sel, struct strtab *names)
{
	struct buf key = {0};
	int err = 0;

	if ((!strtab_count(names) && strtab_intern(names, "", 0) == STRTAB_NONE) ||
	    strtab_intern(names, "service_name", 12) == STRTAB_NONE)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < sel->svc.len; i++) {
		const struct svcdata *sd = sel->svc.v[i];

		for (size_t l = 0; !err && l < sd->labels.len; l++) {
			buf_reset(&key);
			selector_put_name(&key, strtab_get(&sd->strings, sd->labels.v[l].key));
			if (strtab_intern(names, key.data ? (const char *)key.data : "", key.len) ==
			    STRTAB_NONE)
				err = -ENOMEM;
		}
	}
	buf_free(&key);
	return err;
}

int engine_label_names(const struct selection *sel, bool tsv, struct buf *out)
{
	struct strtab names = {0};
	int err = engine_label_names_into(sel, &names);

	if (!err)
		err = emit_sorted(&names, tsv, out);
	strtab_free(&names);
	return err;
}

int engine_label_values_into(const struct selection *sel, const char *name, struct strtab *values)
{
	int err =
		!strtab_count(values) && strtab_intern(values, "", 0) == STRTAB_NONE ? -ENOMEM : 0;

	for (size_t i = 0; !err && i < sel->svc.len; i++) {
		const struct svcdata *sd = sel->svc.v[i];

		for (uint32_t s = 1; !err && s < sd->series.len; s++) {
			const char *v = selector_label(sd, s, name);

			if (v && strtab_intern(values, v, strlen(v)) == STRTAB_NONE)
				err = -ENOMEM;
		}
	}
	return err;
}

int engine_label_values(const struct selection *sel, const char *name, bool tsv, struct buf *out)
{
	struct strtab values = {0};
	int err = engine_label_values_into(sel, name, &values);

	if (!err)
		err = emit_sorted(&values, tsv, out);
	strtab_free(&values);
	return err;
}

int selection_types(const struct selection *sel, struct strtab *t)
{
	int err = !strtab_count(t) && strtab_intern(t, "", 0) == STRTAB_NONE ? -ENOMEM : 0;

	for (size_t i = 0; !err && i < sel->svc.len; i++) {
		const struct svcdata *sd = sel->svc.v[i];

		for (uint32_t s = 1; !err && s < sd->series.len; s++) {
			const char *id = selector_type_label(sd, s, "__profile_type__");

			if (strtab_intern(t, id, strlen(id)) == STRTAB_NONE)
				err = -ENOMEM;
		}
	}
	return err;
}

int engine_types(const struct selection *sel, bool tsv, struct buf *out)
{
	struct strtab types = {0};
	int err = selection_types(sel, &types);

	if (!err)
		err = emit_sorted(&types, tsv, out);
	strtab_free(&types);
	return err;
}

void selection_keep_type(struct selection *sel, const char *id)
{
	VEC(uint8_t) ok = {0};

	for (size_t i = 0; i < sel->svc.len; i++) {
		struct svcdata *sd = sel->svc.v[i];
		size_t n = 0;

		ok.len = 0;
		for (uint32_t s = 0; s < sd->series.len; s++) {
			bool keep = s &&
				    strcmp(selector_type_label(sd, s, "__profile_type__"), id) == 0;

			if (VEC_PUSH(&ok, keep))
				break; /* out of memory: nothing dropped, rather than all */
		}
		for (size_t r = 0; ok.len == sd->series.len && r < sd->rows.len; r++)
			if (ok.v[sd->rows.v[r].series])
				sd->rows.v[n++] = sd->rows.v[r];
		if (ok.len == sd->series.len)
			sd->rows.len = n;
	}
	VEC_FREE(&ok);
}
