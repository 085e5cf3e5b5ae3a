// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine.h"
#include "flamegraph.h"
#include "pyro_ingest.h"
#include "pyro_query.h"
#include "qctl.h"
#include "query.h"
#include "reader.h"
#include "retention.h"
#include "querier/v1/querier.pb-c.h"
#include "settings/v1/setting.pb-c.h"
#include "../profile/ptype.h"
#include "../common/arena.h"
#include "../common/gzip.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../common/pbjson.h"
#include "../common/util.h"

#define LABELS_RANGE (24ULL * 3600 * NSEC_PER_SEC) /* start/end 0 in a listing */
#define SELECT_RANGE (3600ULL * NSEC_PER_SEC)	   /* start/end 0 in a select */
#define DEFAULT_NODES 8192			   /* Pyroscope's default */
#define MAX_SERIES_VALUES 2000000		   /* series x steps in one answer */
#define MAX_BODY (4u << 20)			   /* a query's body, inflated */
#define MS 1000000ULL

typedef Querier__V1__FlameGraph FlameGraph;
typedef Querier__V1__Level Level;

/* One query being answered: its reply, and an arena for the answer's messages. */
struct pq {
	const struct api_opts *o;
	const char *tenant;
	struct api_reply *r;
	bool json;
	bool raw;    /* selections keep stored values (a pprof carries its types itself) */
	bool legacy; /* errors as {"error": ...} (/pyroscope/...), not Connect's */
	struct arena a;
	char err[600];
};

const char *pyro_connect_code(unsigned int status)
{
	switch (status) {
	case 400:
	case 415:
		return "invalid_argument";
	case 401:
		return "unauthenticated";
	case 403:
		return "permission_denied";
	case 404:
		return "not_found";
	case 413:
	case 429:
		return "resource_exhausted";
	case 501:
		return "unimplemented";
	case 503:
		return "unavailable";
	default:
		return "internal";
	}
}

void pyro_connect_error(struct api_reply *r, unsigned int status, const char *msg)
{
	buf_reset(&r->body);
	buf_puts(&r->body, "{\"code\":");
	json_string(&r->body, pyro_connect_code(status));
	buf_puts(&r->body, ",\"message\":");
	json_string(&r->body, msg);
	buf_puts(&r->body, "}");
	/* Connect's statuses: resource_exhausted is 429, whatever made it */
	r->status = status == 413 ? 429 : status;
	r->type = "application/json";
}

static void fail(struct pq *x, unsigned int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct pq *x, unsigned int status, const char *fmt, ...)
{
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->legacy) {
		buf_reset(&x->r->body);
		buf_puts(&x->r->body, "{\"error\":");
		json_string(&x->r->body, msg);
		buf_puts(&x->r->body, "}\n");
		x->r->status = status;
		x->r->type = "application/json";
		return;
	}
	pyro_connect_error(x->r, status, msg);
}

static void *zalloc(struct pq *x, size_t n)
{
	return arena_alloc(&x->a, n);
}

/* ---- time ranges and selections ---------------------------------------------------------------
 */

/* [start, end] in ms (0: the default range back from now) into ns; false after an error. */
static bool range_ms(struct pq *x, int64_t start, int64_t end, uint64_t dflt, uint64_t *from,
		     uint64_t *to)
{
	uint64_t now = clock_ns(CLOCK_REALTIME);
	uint64_t max_range = api_max_range(x->o);

	if (start < 0 || end < 0) {
		fail(x, 400, "start and end are milliseconds since the epoch, not negative");
		return false;
	}
	*to = end ? (uint64_t)end * MS + (MS - 1) : now;
	*from = start ? (uint64_t)start * MS : *to > dflt ? *to - dflt : 0;
	if (*from > *to) {
		fail(x, 400, "the time range is inverted: start is after end");
		return false;
	}
	if (*to - *from > max_range) {
		fail(x, 400,
		     "the time range is %.1f days, over the limit of %.1f days (--query-max-range)",
		     (double)(*to - *from) / 86400e9, (double)max_range / 86400e9);
		return false;
	}
	return true;
}

static void select_error(struct pq *x, int e)
{
	char msg[700];
	unsigned int status = api_select_error(e, x->err, msg, sizeof(msg));

	fail(x, status, "%s", msg);
}

/*
 * The samples of a selector and profile type ID (either may be NULL or ""), values in the
 * type's unit. Nothing matching (an unknown type or label included) is an empty selection.
 * false after an error reply.
 */
static bool select_samples(struct pq *x, const char *selector, const char *type, uint64_t from,
			   uint64_t to, enum engine_need need, uint64_t collapse,
			   struct selection *ret)
{
	struct selector sel = {0};
	struct engine_query q = {.tenant = x->tenant, .from_ns = from, .to_ns = to};
	char tbuf[PTYPE_MAX];
	struct ptype t;
	int e;

	memset(ret, 0, sizeof(*ret));
	if (type && *type && ptype_parse(type, tbuf, sizeof(tbuf), &t)) {
		fail(x, 400,
		     "profile_typeID: '%.200s' is not a profile type "
		     "(name:sample_type:sample_unit:period_type:period_unit)",
		     type);
		return false;
	}
	e = selector_parse(selector && *selector ? selector : "{}", &sel, x->err, sizeof(x->err));
	if (e) {
		if (e == -ENOMEM)
			fail(x, 503, "out of memory");
		else
			fail(x, 400, "label_selector: %s", x->err);
		return false;
	}
	q.sel = &sel;
	q.type = type && *type ? type : NULL;
	q.collapse_ns = collapse;
	q.unknown_is_empty = true; /* no data, as Pyroscope answers */
	q.namer = x->o->namer;
	e = engine_select(x->o->store, &q, need, api_max_rows(x->o), ret, x->err, sizeof(x->err));
	selector_free(&sel);
	if (e) {
		select_error(x, e);
		return false;
	}
	/* values in the type's unit: Sonde's CPU samples are counts of a period */
	for (size_t i = 0; !x->raw && i < ret->svc.len; i++) {
		struct svcdata *sd = ret->svc.v[i];
		uint32_t last = UINT32_MAX;
		int64_t scale = 1;

		for (size_t k = 0; k < sd->rows.len; k++) {
			struct sd_row *row = &sd->rows.v[k];

			if (row->series != last) {
				struct ptype pt;

				ptype_of(sd, row->series, &pt);
				scale = pt.scale;
				last = row->series;
			}
			if (scale != 1)
				row->value = value_mul(row->value, scale);
		}
	}
	return true;
}

/* ---- answers ----------------------------------------------------------------------------------
 */

static void reply_msg(struct pq *x, const ProtobufCMessage *m)
{
	struct api_reply *r = x->r;

	buf_reset(&r->body);
	r->status = 200;
	if (x->json) {
		r->type = "application/json";
		pbjson_encode(m, &r->body);
	} else {
		size_t n = protobuf_c_message_get_packed_size(m);

		r->type = "application/proto";
		if (!buf_reserve(&r->body, n)) {
			protobuf_c_message_pack(m, r->body.data);
			r->body.len = n;
		}
	}
	if (r->body.oom)
		fail(x, 503, "out of memory");
}

/* The sorted strings of t as a newly allocated array (in the arena); NULL on ENOMEM. */
static char **sorted_strings(struct pq *x, const struct strtab *t, size_t *ret_n)
{
	uint32_t *ids = engine_sorted(t, ret_n);
	char **v = ids ? zalloc(x, (*ret_n + 1) * sizeof(*v)) : NULL;

	for (size_t i = 0; v && i < *ret_n; i++)
		v[i] = (char *)strtab_get(t, ids[i]);
	free(ids);
	return v;
}

/* ---- methods ------------------------------------------------------------------------------------
 */

static void profile_types(struct pq *x, const ProtobufCMessage *m)
{
	const Querier__V1__ProfileTypesRequest *req = (const void *)m;
	Querier__V1__ProfileTypesResponse resp;
	struct selection sel = {0};
	struct strtab ids = {0};
	uint64_t from, to;
	char **sorted = NULL;
	size_t n = 0;

	querier__v1__profile_types_response__init(&resp);
	if (!range_ms(x, req->start, req->end, LABELS_RANGE, &from, &to) ||
	    !select_samples(x, NULL, NULL, from, to, NEED_LABELS, ENGINE_NO_TIME, &sel))
		goto out;
	if (!selection_types(&sel, &ids))
		sorted = sorted_strings(x, &ids, &n);
	resp.profile_types = sorted ? zalloc(x, (n + 1) * sizeof(*resp.profile_types)) : NULL;
	if (!resp.profile_types) {
		fail(x, 503, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		Types__V1__ProfileType *pt = zalloc(x, sizeof(*pt));
		char *copy = zalloc(x, PTYPE_MAX);
		struct ptype t;

		if (!pt || !copy || ptype_parse(sorted[i], copy, PTYPE_MAX, &t))
			continue;
		types__v1__profile_type__init(pt);
		pt->id = sorted[i];
		pt->name = (char *)t.name;
		pt->sample_type = (char *)t.sample_type;
		pt->sample_unit = (char *)t.sample_unit;
		pt->period_type = (char *)t.period_type;
		pt->period_unit = (char *)t.period_unit;
		resp.profile_types[resp.n_profile_types++] = pt;
	}
	reply_msg(x, &resp.base);
out:
	strtab_free(&ids);
	selection_free(&sel);
}

/* Label names or values (name) over the union of matchers (none: all). */
static void labels(struct pq *x, const char *name, char **matchers, size_t nm, int64_t start,
		   int64_t end)
{
	Types__V1__LabelNamesResponse resp; /* the same message as LabelValuesResponse */
	struct strtab t = {0};
	uint64_t from, to;
	bool any = false;
	int e = strtab_intern(&t, "", 0) == STRTAB_NONE ? -ENOMEM : 0;

	types__v1__label_names_response__init(&resp);
	if (!range_ms(x, start, end, LABELS_RANGE, &from, &to))
		goto out;
	for (size_t i = 0; !e && i < (nm ? nm : 1); i++) {
		struct selection sel;

		if (!select_samples(x, nm ? matchers[i] : NULL, NULL, from, to, NEED_LABELS,
				    ENGINE_NO_TIME, &sel))
			goto out;
		any |= sel.svc.len > 0;
		e = name ? engine_label_values_into(&sel, name, &t)
			 : engine_label_names_into(&sel, &t);
		selection_free(&sel);
	}
	if (!e && !name && any) {
		static const char *const typed[] = {SELECTOR_TYPE_LABELS};

		for (size_t i = 0; !e && i < ARRAY_SIZE(typed); i++)
			if (strtab_intern(&t, typed[i], strlen(typed[i])) == STRTAB_NONE)
				e = -ENOMEM;
	}
	if (!e && !(resp.names = sorted_strings(x, &t, &resp.n_names)))
		e = -ENOMEM;
	if (e)
		fail(x, 503, "out of memory");
	else
		reply_msg(x, &resp.base);
out:
	strtab_free(&t);
}

static void label_names(struct pq *x, const ProtobufCMessage *m)
{
	const Types__V1__LabelNamesRequest *req = (const void *)m;

	labels(x, NULL, req->matchers, req->n_matchers, req->start, req->end);
}

static void label_values(struct pq *x, const ProtobufCMessage *m)
{
	const Types__V1__LabelValuesRequest *req = (const void *)m;

	if (!*req->name) {
		fail(x, 400, "name: the label whose values to list is required");
		return;
	}
	labels(x, req->name, req->matchers, req->n_matchers, req->start, req->end);
}

/* Appends the name and value of one label of a series to a set's key: "name\x1fvalue\x1e". */
static void put_pair(struct buf *key, const char *name, const char *v)
{
	buf_puts(key, name);
	buf_putc(key, 0x1f);
	buf_puts(key, v);
	buf_putc(key, 0x1e);
}

/* The labels of series s: service_name, the type's, the stored ones; only names when given. */
static void series_key(const struct svcdata *sd, uint32_t s, char **names, size_t nn,
		       struct buf *key, struct strtab *scratch)
{
	static const char *const typed[] = {SELECTOR_TYPE_LABELS};
	struct buf name = {0};

	bool oom;

	buf_reset(key);
	/* every name of the series, sorted: collected in scratch first */
	strtab_clear(scratch);
	oom = strtab_intern(scratch, "", 0) == STRTAB_NONE ||
	      strtab_intern(scratch, "service_name", 12) == STRTAB_NONE;
	for (size_t i = 0; i < ARRAY_SIZE(typed); i++)
		oom |= strtab_intern(scratch, typed[i], strlen(typed[i])) == STRTAB_NONE;
	for (uint32_t k = 0; k < sd->series.v[s].nlabels; k++) {
		const struct sd_label *l = &sd->labels.v[sd->series.v[s].first_label + k];

		buf_reset(&name);
		selector_put_name(&name, strtab_get(&sd->strings, l->key));
		oom |= name.oom || strtab_intern(scratch, name.data ? (const char *)name.data : "",
						 name.len) == STRTAB_NONE;
	}
	buf_free(&name);
	if (oom) {
		key->oom = true;
		return;
	}
	{
		size_t n;
		uint32_t *ids = engine_sorted(scratch, &n);

		for (size_t i = 0; ids && i < n; i++) {
			const char *nm = strtab_get(scratch, ids[i]);
			const char *v;
			bool wanted = !nn;

			for (size_t j = 0; j < nn && !wanted; j++)
				wanted = strcmp(names[j], nm) == 0;
			v = wanted ? selector_label(sd, s, nm) : NULL;
			if (v)
				put_pair(key, nm, v);
		}
		if (!ids)
			key->oom = true;
		free(ids);
	}
}

static void series(struct pq *x, const ProtobufCMessage *m)
{
	const Querier__V1__SeriesRequest *req = (const void *)m;
	Querier__V1__SeriesResponse resp;
	struct strtab sets = {0}, scratch = {0};
	struct buf key = {0};
	uint64_t from, to;
	size_t n = 0;
	int e = strtab_intern(&sets, "", 0) == STRTAB_NONE ? -ENOMEM : 0;
	char **sorted;

	querier__v1__series_response__init(&resp);
	if (!range_ms(x, req->start, req->end, LABELS_RANGE, &from, &to))
		goto out;
	for (size_t i = 0; !e && i < (req->n_matchers ? req->n_matchers : 1); i++) {
		struct selection sel;

		if (!select_samples(x, req->n_matchers ? req->matchers[i] : NULL, NULL, from, to,
				    NEED_LABELS, ENGINE_NO_TIME, &sel))
			goto out;
		for (size_t k = 0; !e && k < sel.svc.len; k++) {
			const struct svcdata *sd = sel.svc.v[k];

			for (uint32_t s = 1; !e && s < sd->series.len; s++) {
				series_key(sd, s, req->label_names, req->n_label_names, &key,
					   &scratch);
				if (key.oom ||
				    strtab_intern(&sets, key.data ? (char *)key.data : "",
						  key.len) == STRTAB_NONE)
					e = -ENOMEM;
			}
		}
		selection_free(&sel);
	}
	sorted = e ? NULL : sorted_strings(x, &sets, &n);
	resp.labels_set = sorted ? zalloc(x, (n + 1) * sizeof(*resp.labels_set)) : NULL;
	for (size_t i = 0; resp.labels_set && i < n; i++) {
		size_t len = strlen(sorted[i]), pairs = 0;
		char *p = zalloc(x, len + 1);
		Types__V1__Labels *ls = zalloc(x, sizeof(*ls));

		if (!p || !ls) {
			e = -ENOMEM;
			break;
		}
		for (size_t k = 0; k < len; k++) {
			p[k] = sorted[i][k] == 0x1f || sorted[i][k] == 0x1e ? 0 : sorted[i][k];
			pairs += sorted[i][k] == 0x1e;
		}
		types__v1__labels__init(ls);
		ls->labels = zalloc(x, (pairs + 1) * sizeof(*ls->labels));
		for (size_t k = 0; ls->labels && k < pairs; k++) {
			Types__V1__LabelPair *lp = zalloc(x, sizeof(*lp));

			if (!lp) {
				e = -ENOMEM;
				break;
			}
			types__v1__label_pair__init(lp);
			lp->name = (char *)p;
			p += strlen(p) + 1;
			lp->value = (char *)p;
			p += strlen(p) + 1;
			ls->labels[ls->n_labels++] = lp;
		}
		if (!ls->labels)
			e = -ENOMEM;
		resp.labels_set[resp.n_labels_set++] = ls;
	}
	if (e || !resp.labels_set)
		fail(x, 503, "out of memory");
	else
		reply_msg(x, &resp.base);
out:
	buf_free(&key);
	strtab_free(&scratch);
	strtab_free(&sets);
}

/* The flame graph of a selection (two for a diff) in levels; false after an error reply. */
static bool levels_of(struct pq *x, struct selection *left, struct selection *right,
		      int64_t max_nodes, struct fgraph *g, struct fg_levels *lv)
{
	size_t nodes = max_nodes <= 0		   ? DEFAULT_NODES
		       : max_nodes > API_MAX_NODES ? API_MAX_NODES
						   : (size_t)max_nodes;
	int e;

	g->no_process = true; /* Pyroscope's trees start at the outermost frame */
	e = fgraph_add_selection(g, left, 0);
	if (!e && right)
		e = fgraph_add_selection(g, right, 1);
	if (!e)
		e = fgraph_levels(g, nodes, right != NULL, lv);
	if (e == -ETIMEDOUT || e == -ECANCELED) {
		str_copy(x->err, qctl_reason(e), sizeof(x->err));
		select_error(x, e);
	} else if (e) {
		fail(x, 503, "out of memory; narrow the query");
	}
	return !e;
}

/* The levels as messages (pointing into lv). NULL on ENOMEM. */
static Level **level_msgs(struct pq *x, const struct fg_levels *lv)
{
	Level **v = zalloc(x, (lv->levels.len + 1) * sizeof(*v));

	for (size_t i = 0; v && i < lv->levels.len; i++) {
		v[i] = zalloc(x, sizeof(**v));
		if (!v[i])
			return NULL;
		querier__v1__level__init(v[i]);
		v[i]->n_values = lv->levels.v[i].values.len;
		v[i]->values = lv->levels.v[i].values.v;
	}
	return v;
}

static void merge_stacktraces(struct pq *x, const ProtobufCMessage *m)
{
	const Querier__V1__SelectMergeStacktracesRequest *req = (const void *)m;
	Querier__V1__SelectMergeStacktracesResponse resp;
	FlameGraph fg;
	struct selection sel = {0};
	struct fgraph g = {0};
	struct fg_levels lv = {0};
	uint64_t from, to;

	querier__v1__select_merge_stacktraces_response__init(&resp);
	querier__v1__flame_graph__init(&fg);
	if (req->format == QUERIER__V1__PROFILE_FORMAT__PROFILE_FORMAT_TREE) {
		fail(x, 501, "format: the tree format is not served; ask for the flame graph");
		return;
	}
	if (!range_ms(x, req->start, req->end, SELECT_RANGE, &from, &to) ||
	    !select_samples(x, req->label_selector, req->profile_typeid, from, to, NEED_STACKS,
			    ENGINE_NO_TIME, &sel))
		goto out;
	if (sel.svc.len) {
		if (!levels_of(x, &sel, NULL, req->max_nodes, &g, &lv))
			goto out;
		fg.n_names = lv.names.len;
		fg.names = (char **)lv.names.v;
		fg.levels = level_msgs(x, &lv);
		fg.n_levels = lv.levels.len;
		fg.total = lv.total[0];
		fg.max_self = lv.max_self;
		if (!fg.levels) {
			fail(x, 503, "out of memory");
			goto out;
		}
		if (fg.total) /* no samples: no flame graph, as Pyroscope answers */
			resp.flamegraph = &fg;
	}
	reply_msg(x, &resp.base);
out:
	fg_levels_free(&lv);
	fgraph_free(&g);
	selection_free(&sel);
}

static void diff(struct pq *x, const ProtobufCMessage *m)
{
	const Querier__V1__DiffRequest *req = (const void *)m;
	const Querier__V1__SelectMergeStacktracesRequest *side[2] = {req->left, req->right};
	Querier__V1__DiffResponse resp;
	Querier__V1__FlameGraphDiff fg;
	struct selection sel[2];
	struct fgraph g = {0};
	struct fg_levels lv = {0};
	uint64_t from, to;

	memset(sel, 0, sizeof(sel));
	querier__v1__diff_response__init(&resp);
	querier__v1__flame_graph_diff__init(&fg);
	if (!side[0] || !side[1]) {
		fail(x, 400, "left and right: both sides are required");
		return;
	}
	for (int s = 0; s < 2; s++)
		if (!range_ms(x, side[s]->start, side[s]->end, SELECT_RANGE, &from, &to) ||
		    !select_samples(x, side[s]->label_selector, side[s]->profile_typeid, from, to,
				    NEED_STACKS, ENGINE_NO_TIME, &sel[s]))
			goto out;
	if (!levels_of(x, &sel[0], &sel[1], side[0]->max_nodes, &g, &lv))
		goto out;
	fg.n_names = lv.names.len;
	fg.names = (char **)lv.names.v;
	fg.levels = level_msgs(x, &lv);
	fg.n_levels = lv.levels.len;
	fg.leftticks = lv.total[0];
	fg.rightticks = lv.total[1];
	fg.total = value_add(lv.total[0], lv.total[1]);
	fg.max_self = lv.max_self;
	if (!fg.levels) {
		fail(x, 503, "out of memory");
		goto out;
	}
	resp.flamegraph = &fg;
	reply_msg(x, &resp.base);
out:
	fg_levels_free(&lv);
	fgraph_free(&g);
	selection_free(&sel[0]);
	selection_free(&sel[1]);
}

/* ---- time series ------------------------------------------------------------------------------
 */

struct tseries {
	uint32_t key; /* in keys: the group's label values */
	double total;
	double *sum; /* per step */
	uint32_t *profiles;
};

struct tseries_set {
	struct strtab keys; /* id 0: "" */
	VEC(struct tseries) v;
	size_t steps;
	uint64_t from, step;
	/* when set: called with every profile's total (group: index in v) */
	int (*on_profile)(void *ctx, size_t group, size_t step, double value);
	void *ctx;
};

static void tseries_free(struct tseries_set *t)
{
	for (size_t i = 0; i < t->v.len; i++) {
		free(t->v.v[i].sum);
		free(t->v.v[i].profiles);
	}
	VEC_FREE(&t->v);
	strtab_free(&t->keys);
}

/*
 * Sums per group of label values and step. A profile (for avg) is a series' samples within
 * one step. 0, -ENOMEM, or -E2BIG past MAX_SERIES_VALUES.
 */
static int tseries_build(const struct selection *sel, char **group_by, size_t ng,
			 struct tseries_set *t)
{
	struct buf key = {0};
	int e = strtab_intern(&t->keys, "", 0) == STRTAB_NONE ? -ENOMEM : 0;
	VEC(uint32_t) at = {0}; /* key id -> index in t->v + 1 */

	for (size_t i = 0; !e && i < sel->svc.len; i++) {
		const struct svcdata *sd = sel->svc.v[i];
		uint32_t last = UINT32_MAX, last_bucket = UINT32_MAX;
		struct tseries *ts = NULL;
		double cur = 0; /* the profile (series, step) being summed */

		for (size_t k = 0; !e && k <= sd->rows.len; k++) {
			const struct sd_row *row = k < sd->rows.len ? &sd->rows.v[k] : NULL;
			size_t b = row ? (size_t)((row->time_ns - t->from) / t->step) : 0;

			if (row && (row->time_ns < t->from || b >= t->steps))
				continue;
			if (!row || row->series != last || b != last_bucket) {
				/* the profile (a series in a step) summed so far ends */
				if (t->on_profile && ts && last_bucket != UINT32_MAX)
					e = t->on_profile(t->ctx, (size_t)(ts - t->v.v),
							  last_bucket, cur);
				cur = 0;
				if (!row || e)
					break;
			}
			if (row->series != last) {
				uint32_t id;

				buf_reset(&key);
				for (size_t g = 0; g < ng; g++) {
					const char *v =
						selector_label(sd, row->series, group_by[g]);

					buf_puts(&key, v ? v : "");
					buf_putc(&key, 0);
				}
				id = key.oom ? STRTAB_NONE
					     : strtab_intern(&t->keys,
							     key.data ? (char *)key.data : "",
							     key.len);
				while (id != STRTAB_NONE && !e && at.len <= id)
					e = VEC_PUSH(&at, 0);
				if (id == STRTAB_NONE || e) {
					e = -ENOMEM;
					break;
				}
				if (!at.v[id]) {
					struct tseries n = {.key = id};

					if ((t->v.len + 1) * t->steps > MAX_SERIES_VALUES) {
						e = -E2BIG;
						break;
					}
					n.sum = calloc(t->steps, sizeof(*n.sum));
					n.profiles = calloc(t->steps, sizeof(*n.profiles));
					if (!n.sum || !n.profiles || VEC_PUSH(&t->v, n)) {
						free(n.sum);
						free(n.profiles);
						e = -ENOMEM;
						break;
					}
					at.v[id] = (uint32_t)t->v.len;
				}
				ts = &t->v.v[at.v[id] - 1];
				last = row->series;
				last_bucket = UINT32_MAX;
			}
			if (b != last_bucket) {
				ts->profiles[b]++;
				last_bucket = (uint32_t)b;
			}
			cur += (double)row->value;
			ts->sum[b] += (double)row->value;
			ts->total += (double)row->value;
		}
	}
	VEC_FREE(&at);
	buf_free(&key);
	return e;
}

static int tseries_cmp(const void *a, const void *b)
{
	const struct tseries *x = a, *y = b;

	return x->total < y->total   ? 1
	       : x->total > y->total ? -1
				     : (x->key > y->key) - (x->key < y->key);
}

/* The step (s) as Pyroscope clients give it, aligned: false after an error reply. */
static bool parse_step(struct pq *x, double step_s, uint64_t *from, uint64_t to, uint64_t *ret)
{
	uint64_t step;

	if (!(step_s >= 0) || step_s > 86400.0 * 366) {
		fail(x, 400, "step: %g is not a number of seconds", step_s);
		return false;
	}
	step = step_s > 0 ? (uint64_t)(step_s * 1e9) : MAX((to - *from) / 1500, 15 * NSEC_PER_SEC);
	if (step < MS)
		step = MS;
	*from -= *from % step;
	if ((to - *from) / step + 1 > MAX_SERIES_VALUES) {
		fail(x, 400, "step: %g s makes over %d points; use a longer step", step_s,
		     MAX_SERIES_VALUES);
		return false;
	}
	*ret = step;
	return true;
}

static void select_series(struct pq *x, const ProtobufCMessage *m)
{
	const Querier__V1__SelectSeriesRequest *req = (const void *)m;
	Querier__V1__SelectSeriesResponse resp;
	struct tseries_set t = {0};
	struct selection sel = {0};
	uint64_t from, to;
	size_t n;
	int e;

	querier__v1__select_series_response__init(&resp);
	if (!range_ms(x, req->start, req->end, SELECT_RANGE, &from, &to) ||
	    !parse_step(x, req->step, &from, to, &t.step))
		goto out;
	t.from = from;
	t.steps = (size_t)((to - from) / t.step + 1);
	if (!select_samples(x, req->label_selector, req->profile_typeid, from, to, NEED_VALUES,
			    t.step, &sel))
		goto out;
	e = tseries_build(&sel, req->group_by, req->n_group_by, &t);
	if (e == -E2BIG) {
		fail(x, 400,
		     "the answer would hold over %d points (series x steps): use a longer step or "
		     "group by a label with fewer values",
		     MAX_SERIES_VALUES);
		goto out;
	}
	if (e) {
		fail(x, 503, "out of memory; narrow the query");
		goto out;
	}
	qsort(t.v.v, t.v.len, sizeof(*t.v.v), tseries_cmp);
	n = req->limit > 0 && (uint64_t)req->limit < t.v.len ? (size_t)req->limit : t.v.len;
	resp.series = zalloc(x, (n + 1) * sizeof(*resp.series));
	for (size_t i = 0; resp.series && i < n; i++) {
		const struct tseries *ts = &t.v.v[i];
		Types__V1__Series *s = zalloc(x, sizeof(*s));
		const char *v = strtab_get(&t.keys, ts->key);
		size_t pts = 0;

		if (!s)
			break;
		types__v1__series__init(s);
		s->labels = zalloc(x, (req->n_group_by + 1) * sizeof(*s->labels));
		for (size_t g = 0; s->labels && g < req->n_group_by; g++, v += strlen(v) + 1) {
			Types__V1__LabelPair *lp;

			if (!*v || !(lp = zalloc(x, sizeof(*lp))))
				continue; /* a group without the label has no pair for it */
			types__v1__label_pair__init(lp);
			lp->name = req->group_by[g];
			lp->value = (char *)v;
			s->labels[s->n_labels++] = lp;
		}
		for (size_t b = 0; b < t.steps; b++)
			pts += ts->profiles[b] > 0;
		s->points = zalloc(x, (pts + 1) * sizeof(*s->points));
		for (size_t b = 0; s->points && b < t.steps; b++) {
			Types__V1__Point *p;

			if (!ts->profiles[b] || !(p = zalloc(x, sizeof(*p))))
				continue; /* empty steps are left out */
			types__v1__point__init(p);
			p->value =
				req->aggregation ==
						TYPES__V1__TIME_SERIES_AGGREGATION_TYPE__TIME_SERIES_AGGREGATION_TYPE_AVERAGE
					? ts->sum[b] / ts->profiles[b]
					: ts->sum[b];
			p->timestamp = (int64_t)((from + (b + 1) * t.step) / MS);
			s->points[s->n_points++] = p;
		}
		resp.series[resp.n_series++] = s;
	}
	if (!resp.series)
		fail(x, 503, "out of memory");
	else
		reply_msg(x, &resp.base);
out:
	tseries_free(&t);
	selection_free(&sel);
}

/* ---- heatmaps ----------------------------------------------------------------------------------
 */

#define HEATMAP_BUCKETS 20

struct hm_cell {
	uint32_t group, step;
	double value;
};

struct hm_cells {
	VEC(struct hm_cell) v;
	double max;
};

static int hm_add(void *ctx, size_t group, size_t step, double value)
{
	struct hm_cells *c = ctx;
	struct hm_cell cell = {(uint32_t)group, (uint32_t)step, value};

	if (value > c->max)
		c->max = value;
	if (c->v.len >= MAX_SERIES_VALUES)
		return -E2BIG;
	return VEC_PUSH(&c->v, cell) ? -ENOMEM : 0;
}

/* The value range (max·b/n, max·(b+1)/n] a profile's total falls in. */
static uint32_t hm_bucket(double v, double max)
{
	double b = max > 0 ? v * HEATMAP_BUCKETS / max : 0;
	uint32_t i = b > 0 ? (uint32_t)(b - 1e-9) : 0;

	return i < HEATMAP_BUCKETS ? i : HEATMAP_BUCKETS - 1;
}

static int hm_cmp(const void *a, const void *b)
{
	const struct hm_cell *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return x->step < y->step ? -1 : x->step > y->step;
}

/* Group indices by total, largest first. */
static int rank_cmp(const void *a, const void *b, void *ctx)
{
	const struct tseries_set *t = ctx;

	return tseries_cmp(&t->v.v[*(const uint32_t *)a], &t->v.v[*(const uint32_t *)b]);
}

static void select_heatmap(struct pq *x, const ProtobufCMessage *m)
{
	const Querier__V1__SelectHeatmapRequest *req = (const void *)m;
	Querier__V1__SelectHeatmapResponse resp;
	struct tseries_set t = {0};
	struct hm_cells cells = {0};
	struct selection sel = {0};
	uint32_t *order = NULL, *rank = NULL;
	uint64_t from, to;
	size_t n;
	int e;

	querier__v1__select_heatmap_response__init(&resp);
	if (req->query_type == QUERIER__V1__HEATMAP_QUERY_TYPE__HEATMAP_QUERY_TYPE_SPAN) {
		fail(x, 501, "query_type: span heatmaps are not served (Sonde keeps no span ids)");
		return;
	}
	if (!range_ms(x, req->start, req->end, SELECT_RANGE, &from, &to) ||
	    !parse_step(x, req->step, &from, to, &t.step))
		goto out;
	t.from = from;
	t.steps = (size_t)((to - from) / t.step + 1);
	t.on_profile = hm_add;
	t.ctx = &cells;
	if (!select_samples(x, req->label_selector, req->profile_typeid, from, to, NEED_VALUES,
			    t.step, &sel))
		goto out;
	e = tseries_build(&sel, req->group_by, req->n_group_by, &t);
	if (e == -E2BIG) {
		fail(x, 400, "the heatmap would hold over %d profiles: use a longer step",
		     MAX_SERIES_VALUES);
		goto out;
	}
	order = malloc((t.v.len + 1) * sizeof(*order));
	rank = malloc((t.v.len + 1) * sizeof(*rank));
	if (e || !order || !rank) {
		fail(x, 503, "out of memory; narrow the query");
		goto out;
	}
	/* the series by total, the top limit kept; cells by series rank, then step */
	for (uint32_t i = 0; i < t.v.len; i++)
		order[i] = i;
	qsort_r(order, t.v.len, sizeof(*order), rank_cmp, &t);
	n = req->limit > 0 && (uint64_t)req->limit < t.v.len ? (size_t)req->limit : t.v.len;
	for (uint32_t i = 0; i < t.v.len; i++)
		rank[order[i]] = i < n ? i : UINT32_MAX;
	for (size_t i = 0; i < cells.v.len; i++)
		cells.v.v[i].group = rank[cells.v.v[i].group];
	qsort(cells.v.v, cells.v.len, sizeof(*cells.v.v), hm_cmp);
	resp.series = zalloc(x, (n + 1) * sizeof(*resp.series));
	for (size_t c = 0; resp.series && c < cells.v.len && cells.v.v[c].group < n;) {
		uint32_t g = cells.v.v[c].group;
		Types__V1__HeatmapSeries *hs = zalloc(x, sizeof(*hs));
		const char *v = strtab_get(&t.keys, t.v.v[order[g]].key);
		size_t end = c, nslots = 0;

		while (end < cells.v.len && cells.v.v[end].group == g)
			end++;
		for (size_t k = c; k < end; k++)
			nslots += k == c || cells.v.v[k].step != cells.v.v[k - 1].step;
		if (!hs) {
			resp.series = NULL;
			break;
		}
		types__v1__heatmap_series__init(hs);
		hs->labels = zalloc(x, (req->n_group_by + 1) * sizeof(*hs->labels));
		hs->slots = zalloc(x, (nslots + 1) * sizeof(*hs->slots));
		if (!hs->labels || !hs->slots) {
			resp.series = NULL;
			break;
		}
		for (size_t k = 0; hs->labels && k < req->n_group_by; k++, v += strlen(v) + 1) {
			Types__V1__LabelPair *lp;

			if (!*v || !(lp = zalloc(x, sizeof(*lp))))
				continue;
			types__v1__label_pair__init(lp);
			lp->name = req->group_by[k];
			lp->value = (char *)v;
			hs->labels[hs->n_labels++] = lp;
		}
		/* one slot per step with profiles: the value ranges that have any, and how many */
		while (hs->slots && c < end) {
			uint32_t step = cells.v.v[c].step, counts[HEATMAP_BUCKETS] = {0};
			Types__V1__HeatmapSlot *sl = zalloc(x, sizeof(*sl));
			size_t nb = 0;

			for (; c < end && cells.v.v[c].step == step; c++)
				counts[hm_bucket(cells.v.v[c].value, cells.max)]++;
			if (!sl) {
				resp.series = NULL;
				break;
			}
			types__v1__heatmap_slot__init(sl);
			sl->timestamp = (int64_t)((from + ((uint64_t)step + 1) * t.step) / MS);
			sl->y_min = zalloc(x, HEATMAP_BUCKETS * sizeof(*sl->y_min));
			sl->counts = zalloc(x, HEATMAP_BUCKETS * sizeof(*sl->counts));
			for (uint32_t b = 0; sl->y_min && sl->counts && b < HEATMAP_BUCKETS; b++) {
				if (!counts[b])
					continue;
				sl->y_min[nb] = cells.max * b / HEATMAP_BUCKETS;
				sl->counts[nb++] = (int32_t)counts[b];
			}
			sl->n_y_min = sl->n_counts = nb;
			hs->slots[hs->n_slots++] = sl;
		}
		if (!resp.series)
			break;
		c = end;
		resp.series[resp.n_series++] = hs;
	}
	if (!resp.series)
		fail(x, 503, "out of memory");
	else
		reply_msg(x, &resp.base);
out:
	free(order);
	free(rank);
	VEC_FREE(&cells.v);
	tseries_free(&t);
	selection_free(&sel);
}

static void merge_profile(struct pq *x, const ProtobufCMessage *m)
{
	const Querier__V1__SelectMergeProfileRequest *req = (const void *)m;
	struct selection sel = {0};
	struct svcdata *merged = NULL;
	struct buf raw = {0};
	uint64_t from, to;

	x->raw = true;
	if (!range_ms(x, req->start, req->end, SELECT_RANGE, &from, &to) ||
	    !select_samples(x, req->label_selector, req->profile_typeid, from, to, NEED_STACKS,
			    ENGINE_NO_TIME, &sel))
		goto out;
	merged = selection_merge(&sel);
	if (!merged || pprof_encode_raw(merged, &raw)) {
		fail(x, 503, "out of memory; narrow the query");
		goto out;
	}
	if (x->json) {
		ProtobufCMessage *p = protobuf_c_message_unpack(
			&perftools__profiles__profile__descriptor, NULL, raw.len, raw.data);

		if (!p) {
			fail(x, 500, "the profile could not be converted to JSON");
			goto out;
		}
		reply_msg(x, p);
		protobuf_c_message_free_unpacked(p, NULL);
	} else {
		buf_free(&x->r->body);
		x->r->body = raw;
		memset(&raw, 0, sizeof(raw));
		x->r->status = 200;
		x->r->type = "application/proto";
	}
out:
	buf_free(&raw);
	svcdata__free(merged);
	selection_free(&sel);
}

static void profile_stats(struct pq *x, const ProtobufCMessage *m)
{
	Types__V1__GetProfileStatsResponse resp;
	block_refs refs = {0};
	int e;

	(void)m;
	types__v1__get_profile_stats_response__init(&resp);
	e = reader_list(x->o->store, x->tenant, &refs);
	if (e) {
		fail(x, 503, "the storage failed: %s", strerror(-e));
		VEC_FREE(&refs);
		return;
	}
	for (size_t i = 0; i < refs.len; i++) {
		/* past retention: hidden from queries, so not the oldest data either */
		if (refs.v[i].max_ms <
		    retention_floor_ms(x->tenant, clock_ns(CLOCK_REALTIME) / 1000000))
			continue;
		if (!resp.data_ingested || (int64_t)refs.v[i].min_ms < resp.oldest_profile_time)
			resp.oldest_profile_time = (int64_t)refs.v[i].min_ms;
		if ((int64_t)refs.v[i].max_ms > resp.newest_profile_time)
			resp.newest_profile_time = (int64_t)refs.v[i].max_ms;
		resp.data_ingested = true;
	}
	VEC_FREE(&refs);
	reply_msg(x, &resp.base);
}

static void settings_get(struct pq *x, const ProtobufCMessage *m)
{
	Settings__V1__GetSettingsResponse resp;

	(void)m;
	settings__v1__get_settings_response__init(&resp);
	reply_msg(x, &resp.base);
}

/* ---- Connect ----------------------------------------------------------------------------------
 */

static const struct method {
	const char *path;
	const ProtobufCMessageDescriptor *req;
	void (*fn)(struct pq *x, const ProtobufCMessage *m);
} methods[] = {
	{"/querier.v1.QuerierService/ProfileTypes", &querier__v1__profile_types_request__descriptor,
	 profile_types},
	{"/querier.v1.QuerierService/LabelNames", &types__v1__label_names_request__descriptor,
	 label_names},
	{"/querier.v1.QuerierService/LabelValues", &types__v1__label_values_request__descriptor,
	 label_values},
	{"/querier.v1.QuerierService/Series", &querier__v1__series_request__descriptor, series},
	{"/querier.v1.QuerierService/SelectMergeStacktraces",
	 &querier__v1__select_merge_stacktraces_request__descriptor, merge_stacktraces},
	{"/querier.v1.QuerierService/SelectSeries", &querier__v1__select_series_request__descriptor,
	 select_series},
	{"/querier.v1.QuerierService/SelectHeatmap",
	 &querier__v1__select_heatmap_request__descriptor, select_heatmap},
	{"/querier.v1.QuerierService/SelectMergeProfile",
	 &querier__v1__select_merge_profile_request__descriptor, merge_profile},
	{"/querier.v1.QuerierService/Diff", &querier__v1__diff_request__descriptor, diff},
	{"/querier.v1.QuerierService/GetProfileStats",
	 &types__v1__get_profile_stats_request__descriptor, profile_stats},
	{"/settings.v1.SettingsService/Get", &settings__v1__get_settings_request__descriptor,
	 settings_get},
};

/* A successful answer of over 1 KiB gzipped when the client accepts it (Grafana's does). */
static void compress_answer(struct MHD_Connection *conn, struct api_reply *r)
{
	const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
	struct buf gz = {0};

	if (r->status != 200 || r->body.len < 1024 || !ae || !strcasestr(ae, "gzip"))
		return;
	if (gzip_append(r->body.data, r->body.len, &gz) || gz.len >= r->body.len) {
		buf_free(&gz);
		return; /* out of memory, or no smaller: sent as it is */
	}
	buf_free(&r->body);
	r->body = gz;
	r->header = "Content-Encoding";
	r->header_value = "gzip";
}

bool pyro_connect_path(const char *path)
{
	/* "/pkg.v1.Service/Method": a dotted service name, then one segment */
	const char *slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
	const char *dot = path[0] == '/' ? strchr(path + 1, '.') : NULL;

	return slash && dot && dot < slash && slash[1] && !strchr(slash + 1, '/');
}

bool pyro_http_path(const char *path)
{
	return strcmp(path, "/pyroscope/render") == 0 ||
	       strcmp(path, "/pyroscope/render-diff") == 0 ||
	       strcmp(path, "/pyroscope/label-values") == 0;
}

void pyro_connect(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
		  const char *path, const struct buf *body, struct api_reply *r)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	const char *ce = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Encoding");
	struct pq x = {.o = o, .tenant = tenant, .r = r};
	const struct method *m = NULL;
	ProtobufCMessage *req = NULL;
	struct buf inflated = {0};
	const uint8_t *data = body && body->len ? body->data : (const uint8_t *)"";
	size_t len = body ? body->len : 0;

	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (strcmp(methods[i].path, path) == 0)
			m = &methods[i];
	if (!m) {
		fail(&x, 501, "%s is not served by Sonde (see docs/pyroscope.md)", path);
		return;
	}
	if (ct && (strncasecmp(ct, "application/json", 16) == 0 && (!ct[16] || ct[16] == ';')))
		x.json = true;
	else if (!ct || strncasecmp(ct, "application/proto", 17) != 0 ||
		 (ct[17] && ct[17] != ';')) {
		fail(&x, 415,
		     "Content-Type must be application/proto or application/json, not '%.64s'",
		     ct ? ct : "");
		r->status = 415;
		return;
	}
	if (ce && *ce && strcasecmp(ce, "gzip") == 0) {
		int e = gunzip_bounded(data, len, MAX_BODY, &inflated);

		if (e) {
			fail(&x, e == -EFBIG ? 413 : 400, "%s",
			     e == -EFBIG
				     ? "the request inflates to over 4 MiB"
				     : "Content-Encoding is gzip but the body is not valid gzip");
			buf_free(&inflated);
			return;
		}
		data = inflated.data ? inflated.data : (const uint8_t *)"";
		len = inflated.len;
	} else if (ce && *ce && strcasecmp(ce, "identity") != 0) {
		fail(&x, 415, "Content-Encoding '%.32s' is not supported: send gzip or none", ce);
		r->status = 415;
		return;
	}
	if (x.json) {
		int e = pbjson_decode(m->req, data, len, &req, x.err, sizeof(x.err));

		if (e == -ENOMEM)
			fail(&x, 503, "out of memory");
		else if (e)
			fail(&x, 400, "the request is not a %s in JSON: %s", m->req->name, x.err);
	} else {
		req = protobuf_c_message_unpack(m->req, NULL, len, data);
		if (!req)
			fail(&x, 400, "the request is not a %s (protobuf)", m->req->name);
	}
	buf_free(&inflated);
	if (!req)
		return;
	m->fn(&x, req);
	protobuf_c_message_free_unpacked(req, NULL);
	arena_free(&x.a);
	compress_answer(conn, r);
}

/* ---- legacy HTTP ------------------------------------------------------------------------------
 */

static const char *arg(struct MHD_Connection *conn, const char *name)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);

	return v && *v ? v : NULL;
}

/* "TYPE{matchers}" into its type and selector (in buf). false after an error reply. */
static bool split_query(struct pq *x, const char *name, const char *q, char *buf, size_t size,
			const char **type, const char **selector)
{
	char *brace;

	if (!q) {
		fail(x, 400, "%s: required (PROFILE_TYPE{label=\"value\"})", name);
		return false;
	}
	if (str_copy(buf, q, size) >= size) {
		fail(x, 400, "%s: too long", name);
		return false;
	}
	brace = strchr(buf, '{');
	*selector = "{}";
	if (brace) {
		memmove(brace + 1, brace, strlen(brace) + 1);
		*brace = 0;
		*selector = brace + 1;
	}
	*type = buf;
	return true;
}

static bool legacy_range(struct pq *x, const char *f, const char *u, uint64_t *from, uint64_t *to)
{
	uint64_t now = clock_ns(CLOCK_REALTIME);
	uint64_t max_range = api_max_range(x->o);

	if (pyro_parse_time(f ? f : "now-1h", now, from) ||
	    pyro_parse_time(u ? u : "now", now, to)) {
		fail(x, 400, "from/until: not a time (Unix seconds, ms, now, now-1h)");
		return false;
	}
	if (*from > *to || *to - *from > max_range) {
		fail(x, 400, "from/until: an inverted range, or longer than %.1f days",
		     (double)max_range / 86400e9);
		return false;
	}
	return true;
}

static void put_levels(struct buf *b, const struct fg_levels *lv)
{
	buf_puts(b, "\"names\":[");
	for (size_t i = 0; i < lv->names.len; i++) {
		if (i)
			buf_putc(b, ',');
		json_string(b, lv->names.v[i]);
	}
	buf_puts(b, "],\"levels\":[");
	for (size_t i = 0; i < lv->levels.len; i++) {
		buf_puts(b, i ? ",[" : "[");
		for (size_t k = 0; k < lv->levels.v[i].values.len; k++)
			buf_printf(b, "%s%lld", k ? "," : "",
				   (long long)lv->levels.v[i].values.v[k]);
		buf_putc(b, ']');
	}
	buf_putc(b, ']');
}

/* The flamebearer metadata of a type: units and sample rate as Pyroscope's UI wants them. */
static void put_metadata(struct buf *b, const char *type, bool diff)
{
	char tbuf[PTYPE_MAX];
	struct ptype t = {0};
	const char *units = "", *st = "";
	bool ns;

	if (!ptype_parse(type, tbuf, sizeof(tbuf), &t)) {
		st = t.sample_type;
		ns = strcmp(t.sample_unit, "nanoseconds") == 0;
		units = ns ? "samples" : strcmp(t.sample_unit, "bytes") == 0 ? "bytes" : "objects";
	}
	buf_printf(b, "\"metadata\":{\"format\":\"%s\",\"spyName\":\"\",\"sampleRate\":%d,",
		   diff ? "double" : "single",
		   *units && strcmp(units, "samples") == 0 ? 1000000000 : 100);
	buf_puts(b, "\"units\":");
	json_string(b, units);
	buf_puts(b, ",\"name\":");
	json_string(b, st);
	buf_putc(b, '}');
}

/* The total per step over the range, for the timeline. */
static int put_timeline(struct buf *b, const struct selection *sel, uint64_t from, uint64_t to)
{
	struct tseries_set t = {0};
	int e;

	t.step = MAX((to - from) / 1500, 15 * NSEC_PER_SEC);
	t.step = (t.step + NSEC_PER_SEC - 1) / NSEC_PER_SEC * NSEC_PER_SEC;
	t.from = from - from % t.step;
	t.steps = (size_t)((to - t.from) / t.step + 1);
	e = tseries_build(sel, NULL, 0, &t);
	buf_printf(b, "\"timeline\":{\"startTime\":%llu,\"samples\":[",
		   (unsigned long long)(t.from / NSEC_PER_SEC));
	for (size_t i = 0; !e && i < t.steps; i++)
		buf_printf(b, "%s%.0f", i ? "," : "", t.v.len ? t.v.v[0].sum[i] : 0.0);
	buf_printf(b, "],\"durationDelta\":%llu}", (unsigned long long)(t.step / NSEC_PER_SEC));
	tseries_free(&t);
	return e;
}

static void render(struct pq *x, struct MHD_Connection *conn, bool is_diff)
{
	static const char *const names[2][3] = {{"query", "from", "until"},
						{"rightQuery", "rightFrom", "rightUntil"}};
	static const char *const left[3] = {"leftQuery", "leftFrom", "leftUntil"};
	char qbuf[2][4096];
	const char *type[2] = {NULL, NULL}, *selector[2];
	uint64_t from[2], to[2];
	struct selection sel[2];
	struct fgraph g = {0};
	struct fg_levels lv = {0};
	const char *mn = arg(conn, "max-nodes") ? arg(conn, "max-nodes") : arg(conn, "maxNodes");
	int64_t max_nodes = 0;
	struct buf *b = &x->r->body;

	memset(sel, 0, sizeof(sel));
	if (mn && (parse_i64(mn, &max_nodes) || max_nodes < 0)) {
		fail(x, 400, "max-nodes: '%.32s' is not a number", mn);
		return;
	}
	for (int s = 0; s < (is_diff ? 2 : 1); s++) {
		const char *const *n = is_diff && s == 0 ? left : names[s];

		if (!split_query(x, n[0], arg(conn, n[0]), qbuf[s], sizeof(qbuf[s]), &type[s],
				 &selector[s]) ||
		    !legacy_range(x, arg(conn, n[1]), arg(conn, n[2]), &from[s], &to[s]) ||
		    !select_samples(x, selector[s], type[s], from[s], to[s], NEED_STACKS,
				    ENGINE_NO_TIME, &sel[s]))
			goto out;
	}
	if (!levels_of(x, &sel[0], is_diff ? &sel[1] : NULL, max_nodes, &g, &lv))
		goto out;
	buf_reset(b);
	buf_puts(b, "{\"version\":1,\"flamebearer\":{");
	put_levels(b, &lv);
	buf_printf(b, ",\"numTicks\":%lld,\"maxSelf\":%lld},",
		   (long long)value_add(lv.total[0], lv.total[1]), (long long)lv.max_self);
	if (is_diff)
		buf_printf(b, "\"leftTicks\":%lld,\"rightTicks\":%lld,", (long long)lv.total[0],
			   (long long)lv.total[1]);
	put_metadata(b, type[0], is_diff);
	buf_putc(b, ',');
	if (put_timeline(b, &sel[0], from[0], to[0])) {
		fail(x, 503, "out of memory; narrow the query");
		goto out;
	}
	buf_puts(b, ",\"groups\":null}\n");
	x->r->status = 200;
	x->r->type = "application/json";
out:
	fg_levels_free(&lv);
	fgraph_free(&g);
	selection_free(&sel[0]);
	selection_free(&sel[1]);
}

void pyro_http(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
	       const char *path, struct api_reply *r)
{
	struct pq x = {.o = o, .tenant = tenant, .r = r, .legacy = true};

	if (strcmp(path, "/pyroscope/label-values") == 0) {
		const char *label = arg(conn, "label");
		struct selection sel = {0};
		struct strtab t = {0};
		uint64_t from, to;
		size_t n;
		char **v;

		if (!label) {
			fail(&x, 400, "label: required");
		} else if (legacy_range(&x, arg(conn, "from"), arg(conn, "until"), &from, &to) &&
			   select_samples(&x, arg(conn, "query"), NULL, from, to, NEED_LABELS,
					  ENGINE_NO_TIME, &sel)) {
			if (engine_label_values_into(&sel, label, &t) ||
			    !(v = sorted_strings(&x, &t, &n))) {
				fail(&x, 503, "out of memory");
			} else {
				buf_putc(&r->body, '[');
				for (size_t i = 0; i < n; i++) {
					if (i)
						buf_putc(&r->body, ',');
					json_string(&r->body, v[i]);
				}
				buf_puts(&r->body, "]\n");
				r->status = 200;
				r->type = "application/json";
			}
		}
		strtab_free(&t);
		selection_free(&sel);
	} else {
		render(&x, conn, strcmp(path, "/pyroscope/render-diff") == 0);
	}
	arena_free(&x.a);
	if (r->body.oom || !r->status) {
		fail(&x, r->body.oom ? 503 : 500, "%s",
		     r->body.oom ? "out of memory" : "the query gave no answer");
	}
}
