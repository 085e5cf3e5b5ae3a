// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "debuginfo_api.h"
#include "engine.h"
#include "flamegraph.h"
#include "pyro_query.h"
#include "qctl.h"
#include "query.h"
#include "ui_assets.h"
#include "../profile/ptype.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../common/util.h"

#define API "/api/v1/"
#define DEFAULT_MAX_ROWS 20000000ULL
#define DEFAULT_MAX_RANGE (31ULL * 86400 * NSEC_PER_SEC)
#define MAX_STEPS 11000
#define MAX_SERIES_VALUES 2000000 /* groups x steps in one series answer */
#define DEFAULT_NODES 2048

bool api_path(const char *path)
{
	return strncmp(path, API, strlen(API)) == 0 || strcmp(path, "/") == 0 ||
	       strncmp(path, "/ui/", 4) == 0 || pyro_http_path(path);
}

void api_error(struct api_reply *r, unsigned int status, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_reset(&r->body);
	buf_puts(&r->body, "{\"error\":");
	json_string(&r->body, msg);
	buf_puts(&r->body, "}\n");
	r->status = status;
	r->type = "application/json";
}

static const char *arg(struct MHD_Connection *conn, const char *name)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);

	return v && *v ? v : NULL;
}

/* The parameters every query takes. */
struct params {
	struct selector sel;
	struct engine_query q;
	bool tsv;
	char type[PTYPE_MAX]; /* the profile type the answer is of, when one was chosen */
};

/* Parses query/from/to/type (with a prefix for a diff's right side); false after an error reply. */
static bool parse_params(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
			 const char *prefix, const struct params *dflt, struct params *p,
			 struct api_reply *r)
{
	char name[32], err[300] = "";
	const char *sel, *from, *to;
	int e;
	uint64_t now = clock_ns(CLOCK_REALTIME);
	uint64_t max_range = api_max_range(o);

	memset(p, 0, sizeof(*p));
	snprintf(name, sizeof(name), "%squery", prefix);
	sel = arg(conn, name);
	if (!sel && dflt)
		sel = arg(conn,
			  "query"); /* the right side of a diff: the left's selector by default */
	e = selector_parse(sel ? sel : "{}", &p->sel, err, sizeof(err));
	if (e) {
		if (e == -ENOMEM)
			api_error(r, 503, "out of memory");
		else
			api_error(r, 400, "%s: %s", name, err);
		return false;
	}
	p->q.tenant = tenant;
	p->q.sel = &p->sel;
	p->q.namer = o->namer;
	p->q.type = arg(conn, "type");
	snprintf(name, sizeof(name), "%sfrom", prefix);
	from = arg(conn, name);
	if (!from && dflt)
		p->q.from_ns = dflt->q.from_ns;
	else if (parse_time_ns(from ? from : "now-1h", now, &p->q.from_ns)) {
		api_error(r, 400,
			  "%s: '%s' is not a time (RFC 3339, Unix seconds, now, now-1h, -30m)",
			  name, from);
		goto bad;
	}
	snprintf(name, sizeof(name), "%sto", prefix);
	to = arg(conn, name);
	if (!to && dflt)
		p->q.to_ns = dflt->q.to_ns;
	else if (parse_time_ns(to ? to : "now", now, &p->q.to_ns)) {
		api_error(r, 400,
			  "%s: '%s' is not a time (RFC 3339, Unix seconds, now, now-1h, -30m)",
			  name, to);
		goto bad;
	}
	if (p->q.from_ns > p->q.to_ns) {
		api_error(r, 400, "the time range is inverted: %sfrom is after %sto", prefix,
			  prefix);
		goto bad;
	}
	if (p->q.to_ns - p->q.from_ns > max_range) {
		api_error(r, 400,
			  "the time range is %.1f days, over the limit of %.1f days "
			  "(--query-max-range)",
			  (double)(p->q.to_ns - p->q.from_ns) / 86400e9,
			  (double)max_range / 86400e9);
		goto bad;
	}
	p->tsv = arg(conn, "format") && strcmp(arg(conn, "format"), "tsv") == 0;
	return true;
bad:
	selector_free(&p->sel);
	return false;
}

uint64_t api_max_rows(const struct api_opts *o)
{
	return o->max_rows ? o->max_rows : DEFAULT_MAX_ROWS;
}

uint64_t api_max_range(const struct api_opts *o)
{
	return o->max_range_ns ? o->max_range_ns : DEFAULT_MAX_RANGE;
}

unsigned int api_select_error(int e, const char *err, char *msg, size_t size)
{
	unsigned int status = 503;

	if (qctl_stopped(qctl_current()) == -ETIMEDOUT) {
		snprintf(msg, size, "%s: narrow the selector or the time range", err);
	} else if (qctl_stopped(qctl_current())) {
		snprintf(msg, size, "%s", err);
	} else if (e == -EINVAL || e == -E2BIG) {
		snprintf(msg, size, "%s", err);
		status = 400;
	} else if (e == -EBADMSG) {
		snprintf(msg, size, "a stored block is corrupt: %s", err);
		status = 500;
	} else if (e == -ENOMEM) {
		snprintf(msg, size, "out of memory; narrow the query");
	} else {
		snprintf(msg, size, "the storage failed: %s", err);
	}
	log_warn("query failed", "err=\"%s\"", err);
	return status;
}

/* The error reply of a failed selection (engine_select's error e, its reason err). */
static void reply_select_error(struct api_reply *r, int e, const char *err)
{
	char msg[700];
	unsigned int status = api_select_error(e, err, msg, sizeof(msg));

	api_error(r, status, "%s", msg);
}

/*
 * Values of different profile types do not add up: without a type, a selection holding several
 * keeps one, Sonde's CPU type when it is there, else the first by name (p->type says which).
 */
static int pick_type(struct params *p, struct selection *sel)
{
	static const char cpu[] = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
	struct strtab t = {0};
	size_t n = 0;
	uint32_t *ids;
	int e = selection_types(sel, &t);

	ids = e ? NULL : engine_sorted(&t, &n);
	if (ids && n)
		str_copy(p->type,
			 strtab_find(&t, cpu, strlen(cpu)) != STRTAB_NONE ? cpu
									  : strtab_get(&t, ids[0]),
			 sizeof(p->type));
	if (ids && n > 1)
		selection_keep_type(sel, p->type);
	free(ids);
	strtab_free(&t);
	return e || !ids ? -ENOMEM : 0;
}

/* Runs a selection; false after an error reply. */
static bool run(const struct api_opts *o, struct params *p, enum engine_need need,
		struct selection *sel, struct api_reply *r)
{
	char err[600];
	int e = engine_select(o->store, &p->q, need, api_max_rows(o), sel, err, sizeof(err));

	if (e)
		reply_select_error(r, e, err);
	else if (need != NEED_LABELS && !p->q.type && pick_type(p, sel)) {
		api_error(r, 503, "out of memory; narrow the query");
		return false;
	}
	return !e;
}

static bool parse_step(const struct api_opts *o, struct MHD_Connection *conn, struct params *p,
		       uint64_t *ret, struct api_reply *r)
{
	uint64_t max_range = api_max_range(o);
	const char *s = arg(conn, "step");
	uint64_t range = p->q.to_ns - p->q.from_ns, step;

	if (s) {
		if (parse_duration_ns(s, &step) || step < 1000000) {
			api_error(r, 400, "step: '%s' is not a duration of 1ms or more (10s, 1m)",
				  s);
			return false;
		}
	} else {
		step = MAX(range / 120, NSEC_PER_SEC);
		step = (step + NSEC_PER_SEC - 1) / NSEC_PER_SEC * NSEC_PER_SEC;
	}
	if (step > max_range) {
		api_error(r, 400, "step: '%s' is longer than the longest range (--query-max-range)",
			  s);
		return false;
	}
	/* steps are aligned to multiples of step, so rows can be summed per step as they are read
	 */
	p->q.from_ns -= p->q.from_ns % step;
	range = p->q.to_ns - p->q.from_ns;
	if (range / step + 1 > MAX_STEPS) {
		api_error(
			r, 400,
			"step: %llu steps over the range, over the limit of %d; use a longer step",
			(unsigned long long)(range / step + 1), MAX_STEPS);
		return false;
	}
	p->q.collapse_ns = step;
	*ret = step;
	return true;
}

static bool parse_count(struct MHD_Connection *conn, const char *name, uint64_t dflt, uint64_t max,
			uint64_t *ret, struct api_reply *r)
{
	const char *s = arg(conn, name);

	*ret = dflt;
	if (s && (parse_u64(s, ret) || *ret == 0 || *ret > max)) {
		api_error(r, 400, "%s: '%s' is not a number from 1 to %llu", name, s,
			  (unsigned long long)max);
		return false;
	}
	return true;
}

/* The type of the values, for the UI's units: that of the first row's series. */
static void type_json(const struct selection *sel, struct buf *b)
{
	for (size_t i = 0; i < sel->svc.len; i++) {
		const struct svcdata *sd = sel->svc.v[i];

		if (sd->rows.len) {
			uint32_t series = sd->rows.v[0].series;
			const struct sd_type *t = &sd->types.v[sd->series.v[series].type];

			buf_puts(b, "\"profile_type\":");
			json_string(b, selector_type_label(sd, series, "__profile_type__"));
			buf_putc(b, ',');
			buf_puts(b, "\"sample_type\":");
			json_string(b, strtab_get(&sd->strings, t->sample_type));
			buf_puts(b, ",\"sample_unit\":");
			json_string(b, strtab_get(&sd->strings, t->sample_unit));
			buf_puts(b, ",\"period_type\":");
			json_string(b, strtab_get(&sd->strings, t->period_type));
			buf_puts(b, ",\"period_unit\":");
			json_string(b, strtab_get(&sd->strings, t->period_unit));
			buf_printf(b, ",\"period\":%lld,", (long long)t->period);
			return;
		}
	}
}

static void stats_json(const struct selection *sel, struct buf *b)
{
	buf_printf(b, ",\"stats\":{\"blocks\":%llu,\"services\":%llu,\"rows\":%llu}",
		   (unsigned long long)sel->stats.blocks, (unsigned long long)sel->stats.services,
		   (unsigned long long)sel->stats.rows);
}

static void op_flamegraph(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
			  bool diff, bool top, struct api_reply *r)
{
	struct params left, right;
	struct selection a = {0}, b = {0};
	struct fgraph g = {0};
	uint64_t nodes = 0, limit = 0;
	int e = 0;

	if (!parse_params(o, conn, tenant, "", NULL, &left, r))
		return;
	left.q.collapse_ns = ENGINE_NO_TIME;
	if (diff && !parse_params(o, conn, tenant, "right_", &left, &right, r)) {
		selector_free(&left.sel);
		return;
	}
	if (diff)
		right.q.collapse_ns = ENGINE_NO_TIME;
	if ((top ? parse_count(conn, "limit", 100, 100000, &limit, r)
		 : parse_count(conn, "max_nodes", DEFAULT_NODES, API_MAX_NODES, &nodes, r)) &&
	    run(o, &left, NEED_STACKS, &a, r) && (!diff || run(o, &right, NEED_STACKS, &b, r))) {
		e = fgraph_add_selection(&g, &a, 0);
		if (!e && diff)
			e = fgraph_add_selection(&g, &b, 1);
		r->status = 200;
		r->type =
			left.tsv ? "text/tab-separated-values; charset=utf-8" : "application/json";
		if (!e && top) {
			bool by_total =
				arg(conn, "sort") && strcmp(arg(conn, "sort"), "total") == 0;

			e = fgraph_top(&g, (size_t)limit, by_total, left.tsv, &r->body);
		} else if (!e && left.tsv) {
			e = fgraph_tsv(&g, (size_t)nodes, diff, &r->body);
		} else if (!e) {
			buf_putc(&r->body, '{');
			type_json(diff && !a.svc.len ? &b : &a, &r->body);
			buf_puts(&r->body, "\"flamegraph\":");
			e = fgraph_json(&g, (size_t)nodes, diff, &r->body);
			stats_json(&a, &r->body);
			buf_puts(&r->body, "}\n");
		}
		if (e == -ETIMEDOUT || e == -ECANCELED)
			reply_select_error(r, e, qctl_reason(e));
		else if (e)
			api_error(r, 503, "out of memory; narrow the query");
	}
	fgraph_free(&g);
	selection_free(&a);
	selection_free(&b);
	selector_free(&left.sel);
	if (diff)
		selector_free(&right.sel);
}

static void op_time(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
		    const char *op, struct api_reply *r)
{
	struct params p;
	struct selection sel = {0};
	uint64_t step, n = 0;
	const char *group = arg(conn, "group_by");
	int e = 0;

	if (!parse_params(o, conn, tenant, "", NULL, &p, r))
		return;
	if (parse_step(o, conn, &p, &step, r) &&
	    (strcmp(op, "heatmap") != 0 || parse_count(conn, "buckets", 20, 200, &n, r)) &&
	    (strcmp(op, "profiles") != 0 || parse_count(conn, "limit", 1000, 100000, &n, r)) &&
	    run(o, &p, NEED_VALUES, &sel, r)) {
		r->status = 200;
		r->type = p.tsv && strcmp(op, "series") == 0
				  ? "text/tab-separated-values; charset=utf-8"
				  : "application/json";
		if (strcmp(op, "series") == 0)
			e = engine_series(&sel, group, p.q.from_ns, p.q.to_ns, step,
					  MAX_SERIES_VALUES, p.tsv, &r->body);
		else if (strcmp(op, "heatmap") == 0)
			e = engine_heatmap(&sel, p.q.from_ns, p.q.to_ns, step, (unsigned int)n,
					   &r->body);
		else
			e = engine_profiles(&sel, p.q.from_ns, p.q.to_ns, step, (size_t)n,
					    &r->body);
		if (e == -E2BIG)
			api_error(r, 400,
				  "the answer would hold over %d values (groups x steps): use a "
				  "longer step, "
				  "or group by a label with fewer values",
				  MAX_SERIES_VALUES);
		else if (e)
			api_error(r, 503, "out of memory; narrow the query");
	}
	selection_free(&sel);
	selector_free(&p.sel);
}

static void op_labels(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
		      const char *op, struct api_reply *r)
{
	struct params p;
	struct selection sel = {0};
	const char *name = arg(conn, "name");
	int e = 0;

	if (strcmp(op, "label_values") == 0 && !name) {
		api_error(r, 400,
			  "name: the label whose values to list is required "
			  "(label_values?name=service_name)");
		return;
	}
	if (!parse_params(o, conn, tenant, "", NULL, &p, r))
		return;
	p.q.collapse_ns = ENGINE_NO_TIME; /* one row per series is enough to list labels */
	if (run(o, &p, NEED_LABELS, &sel, r)) {
		r->status = 200;
		r->type = p.tsv ? "text/plain; charset=utf-8" : "application/json";
		if (strcmp(op, "labels") == 0)
			e = engine_label_names(&sel, p.tsv, &r->body);
		else if (strcmp(op, "label_values") == 0)
			e = engine_label_values(&sel, name, p.tsv, &r->body);
		else
			e = engine_types(&sel, p.tsv, &r->body);
		if (e)
			api_error(r, 503, "out of memory; narrow the query");
	}
	selection_free(&sel);
	selector_free(&p.sel);
}

static void op_export(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
		      struct api_reply *r)
{
	struct params p;
	const char *fmt = arg(conn, "format") ? arg(conn, "format") : "pprof";
	enum export_format format;
	char err[600];
	int e;

	if (export_format_parse(fmt, &format)) {
		api_error(r, 400, "format: '%s' is not pprof or folded", fmt);
		return;
	}
	if (!parse_params(o, conn, tenant, "", NULL, &p, r))
		return;
	e = query_export(o->store, &p.q, format, api_max_rows(o), &r->body, NULL, err, sizeof(err));
	if (e)
		reply_select_error(r, e, err);
	else if (format == EXPORT_PPROF) {
		r->status = 200;
		r->type = "application/octet-stream";
		r->header = "Content-Disposition";
		r->header_value = "attachment; filename=\"profile.pb.gz\"";
	} else {
		r->status = 200;
		r->type = "text/plain; charset=utf-8";
	}
	selector_free(&p.sel);
}

static void ui_file(const char *path, struct api_reply *r)
{
	const char *name = strcmp(path, "/") == 0 ? "index.html" : path + 4;

	for (size_t i = 0; i < ui_asset_count; i++) {
		if (strcmp(ui_assets[i].name, name) == 0) {
			buf_append(&r->body, ui_assets[i].data, ui_assets[i].len);
			r->status = 200;
			r->type = ui_assets[i].type;
			r->header = "Cache-Control";
			r->header_value = "no-cache";
			return;
		}
	}
	api_error(r, 404, "no such file: %s", path);
}

void api_handle(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
		const char *method, const char *path, const struct buf *body, struct api_reply *r)
{
	const char *op = path + strlen(API);

	memset(r, 0, sizeof(*r));
	if (debuginfo_api_path(path)) {
		debuginfo_api(o, conn, method, path, body, r);
		if (r->body.oom)
			api_error(r, 503, "out of memory");
		return;
	}
	if (body) {
		pyro_connect(o, conn, tenant, path, body, r);
		if (r->body.oom)
			pyro_connect_error(r, 503, "out of memory");
		return;
	}
	if (pyro_http_path(path)) {
		pyro_http(o, conn, tenant, path, r);
		return;
	}
	if (strncmp(path, API, strlen(API)) != 0)
		return ui_file(path, r);
	if (strcmp(op, "flamegraph") == 0)
		op_flamegraph(o, conn, tenant, false, false, r);
	else if (strcmp(op, "diff") == 0)
		op_flamegraph(o, conn, tenant, true, false, r);
	else if (strcmp(op, "top") == 0)
		op_flamegraph(o, conn, tenant, false, true, r);
	else if (strcmp(op, "series") == 0 || strcmp(op, "heatmap") == 0 ||
		 strcmp(op, "profiles") == 0)
		op_time(o, conn, tenant, op, r);
	else if (strcmp(op, "labels") == 0 || strcmp(op, "label_values") == 0 ||
		 strcmp(op, "profile_types") == 0)
		op_labels(o, conn, tenant, op, r);
	else if (strcmp(op, "export") == 0)
		op_export(o, conn, tenant, r);
	else
		api_error(r, 404,
			  "no such endpoint: %s (flamegraph, diff, top, series, heatmap, "
			  "profiles, labels, "
			  "label_values, profile_types, export)",
			  path);
	if (r->body.oom)
		api_error(r, 503, "out of memory");
}
