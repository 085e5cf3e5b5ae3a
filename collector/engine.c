// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fetch.h"
#include "query.h"
#include "reader.h"
#include "../common/util.h"

#define ATTEMPTS 3
#define MAX_MATCHERS 64
#define MAX_REGEX 1024 /* characters */

/* ---- selectors ------------------------------------------------------------------------------ */

static int sel_fail(char *err, size_t size, const char *text, const char *at, const char *why)
{
	snprintf(err, size, "invalid selector at position %d: %s", (int)(at - text) + 1, why);
	return -EINVAL;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* A double- or single-quoted string with \" \\ \n \t escapes into *ret (malloc'd). */
static const char *parse_quoted(const char *p, char **ret)
{
	char q = *p++;
	struct buf b = {0};

	for (; *p && *p != q; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			buf_putc(&b, *p == 'n' ? '\n' : *p == 't' ? '\t' : (uint8_t)*p);
		} else {
			buf_putc(&b, (uint8_t)*p);
		}
	}
	if (*p != q || b.oom) {
		buf_free(&b);
		return NULL;
	}
	*ret = strdup(buf_cstr(&b));
	buf_free(&b);
	return *ret ? p + 1 : NULL;
}

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/*
 * A selector is untrusted input, and some regular expressions make glibc's regcomp or regexec
 * take exponential memory or time: back-references, stacked repetition operators ("a++", which
 * RE2 and so Prometheus refuse too) and large or nested counted repetitions. Returns NULL when
 * re is none of those, else why.
 */
static const char *regex_hazard(const char *re)
{
	bool after_atom = false, after_rep = false;
	double product = 1;

	for (const char *p = re; *p; p++) {
		if (*p == '\\') {
			if (p[1] >= '1' && p[1] <= '9')
				return "has a back-reference";
			if (p[1])
				p++;
			after_atom = true, after_rep = false;
		} else if (*p == '[') {
			/* a bracket expression is one atom: ']' right after '[' or '[^' is literal
			 */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']')
				p++;
			if (!*p)
				return NULL; /* unterminated: regcomp says so */
			after_atom = true, after_rep = false;
		} else if (*p == '*' || *p == '+' || *p == '?' || *p == '{') {
			unsigned long lo = 1, hi = 1;
			char *end;

			if (after_rep)
				return "repeats a repetition (such as a++ or a*{2})";
			if (*p == '{') {
				lo = strtoul(p + 1, &end, 10);
				hi = *end == ',' ? (end[1] == '}' ? lo : strtoul(end + 1, &end, 10))
						 : lo;
				if (lo > 1000 || hi > 1000)
					return "counts a repetition over 1000";
				product *= (double)MAX(MAX(lo, hi), 1);
				if (product > 10000)
					return "nests counted repetitions over 10000 in all";
				p = strchr(p, '}') ? strchr(p, '}') : p;
			}
			after_rep = after_atom;
			after_atom = false;
		} else {
			after_atom = *p != '(' && *p != '|';
			after_rep = false;
		}
	}
	return NULL;
}

int selector_parse(const char *text, struct selector *ret, char *err, size_t err_size)
{
	const char *p = skip_ws(text);
	bool braces = *p == '{';

	memset(ret, 0, sizeof(*ret));
	if (braces)
		p = skip_ws(p + 1);
	while (*p && *p != '}') {
		struct matcher m = {0};
		const char *start = p;
		char rerr[128];
		int rc;

		if (ret->m.len >= MAX_MATCHERS) {
			selector_free(ret);
			return sel_fail(err, err_size, text, p, "too many matchers");
		}
		while (name_char(*p, p == start))
			p++;
		if (p == start) {
			selector_free(ret);
			return sel_fail(err, err_size, text, p, "expected a label name");
		}
		m.name = strndup(start, (size_t)(p - start));
		p = skip_ws(p);
		if (p[0] == '=' && p[1] == '~')
			m.op = MATCH_RE, p += 2;
		else if (p[0] == '!' && p[1] == '~')
			m.op = MATCH_NRE, p += 2;
		else if (p[0] == '!' && p[1] == '=')
			m.op = MATCH_NE, p += 2;
		else if (p[0] == '=')
			m.op = MATCH_EQ, p += 1;
		else {
			free(m.name);
			selector_free(ret);
			return sel_fail(err, err_size, text, p,
					"expected =, !=, =~ or !~ after the label name");
		}
		p = skip_ws(p);
		if ((*p != '"' && *p != '\'') || !(p = parse_quoted(p, &m.value))) {
			free(m.name);
			selector_free(ret);
			return sel_fail(err, err_size, text, p ? p : start,
					"expected a quoted value");
		}
		if ((m.op == MATCH_RE || m.op == MATCH_NRE) &&
		    (strlen(m.value) > MAX_REGEX || regex_hazard(m.value))) {
			snprintf(err, err_size, "invalid selector: the regular expression of %s %s",
				 m.name,
				 strlen(m.value) > MAX_REGEX ? "is too long (over 1024 characters)"
							     : regex_hazard(m.value));
			free(m.name);
			free(m.value);
			selector_free(ret);
			return -EINVAL;
		}
		if (m.op == MATCH_RE || m.op == MATCH_NRE) {
			size_t n = strlen(m.value) + 8;
			char *anchored = malloc(n);

			if (!anchored) {
				free(m.name);
				free(m.value);
				selector_free(ret);
				snprintf(err, err_size, "out of memory");
				return -ENOMEM;
			}
			snprintf(anchored, n, "^(%s)$", m.value);
			rc = regcomp(&m.re, anchored, REG_EXTENDED | REG_NOSUB);
			free(anchored);
			if (rc) {
				regerror(rc, &m.re, rerr, sizeof(rerr));
				snprintf(err, err_size,
					 "invalid selector: the regular expression of %s: %s",
					 m.name, rerr);
				free(m.name);
				free(m.value);
				selector_free(ret);
				return -EINVAL;
			}
		}
		if (!m.name || VEC_PUSH(&ret->m, m)) {
			if (m.op == MATCH_RE || m.op == MATCH_NRE)
				regfree(&m.re);
			free(m.name);
			free(m.value);
			selector_free(ret);
			snprintf(err, err_size, "out of memory");
			return -ENOMEM;
		}
		p = skip_ws(p);
		if (*p == ',')
			p = skip_ws(p + 1);
		else if (*p && *p != '}')
			return selector_free(ret),
			       sel_fail(err, err_size, text, p, "expected ',' or '}'");
	}
	if (braces != (*p == '}')) {
		selector_free(ret);
		return sel_fail(err, err_size, text, p, braces ? "missing '}'" : "unexpected '}'");
	}
	if (*p == '}')
		p = skip_ws(p + 1);
	if (*p) {
		selector_free(ret);
		return sel_fail(err, err_size, text, p, "unexpected text after the selector");
	}
	return 0;
}

void selector_free(struct selector *sel)
{
	for (size_t i = 0; i < sel->m.len; i++) {
		struct matcher *m = &sel->m.v[i];

		if (m->op == MATCH_RE || m->op == MATCH_NRE)
			regfree(&m->re);
		free(m->name);
		free(m->value);
	}
	VEC_FREE(&sel->m);
}

int selector_service(struct selector *ret, const char *service)
{
	struct matcher m = {
		.name = strdup("service_name"), .op = MATCH_EQ, .value = strdup(service)};

	memset(ret, 0, sizeof(*ret));
	if (!m.name || !m.value || VEC_PUSH(&ret->m, m)) {
		free(m.name);
		free(m.value);
		return -ENOMEM;
	}
	return 0;
}

bool selector_has(const struct selector *sel, const char *name)
{
	for (size_t i = 0; i < sel->m.len; i++)
		if (strcmp(sel->m.v[i].name, name) == 0)
			return true;
	return false;
}

/* A label value against a matcher; a missing label is the empty string, as in Prometheus. */
static bool match_one(const struct matcher *m, const char *v)
{
	if (!v)
		v = "";
	switch (m->op) {
	case MATCH_EQ:
		return strcmp(v, m->value) == 0;
	case MATCH_NE:
		return strcmp(v, m->value) != 0;
	case MATCH_RE:
		return regexec(&m->re, v, 0, NULL, 0) == 0;
	case MATCH_NRE:
		return regexec(&m->re, v, 0, NULL, 0) != 0;
	}
	return false;
}

/*
 * The selector name of a stored key's character: letters, digits and '_' stay, anything else
 * ('.', and the '/' and '-' of Kubernetes label keys) is '_', as Prometheus names allow.
 */
static char key_char(char c)
{
	return name_char(c, false) ? c : '_';
}

/* Whether a stored key ("process.executable.name") is a selector name ("process_executable_name").
 */
static bool key_is(const char *key, const char *name)
{
	for (; *key && *name; key++, name++)
		if (key_char(*key) != *name)
			return false;
	return !*key && !*name;
}

static const char *series_label(const struct svcdata *sd, uint32_t series, const char *name)
{
	const struct sd_series *s = &sd->series.v[series];

	if (strcmp(name, "service_name") == 0)
		return sd->name;
	for (uint32_t k = 0; k < s->nlabels; k++) {
		const struct sd_label *l = &sd->labels.v[s->first_label + k];

		if (key_is(strtab_get(&sd->strings, l->key), name))
			return strtab_get(&sd->strings, l->value);
	}
	return NULL;
}

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

static bool type_matches(const struct svcdata *sd, uint32_t type, const char *want)
{
	const struct sd_type *t = &sd->types.v[type];
	const char *st = strtab_get(&sd->strings, t->sample_type),
		   *su = strtab_get(&sd->strings, t->sample_unit);
	size_t n = strlen(st);

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
		bool ok = i > 0 && type_matches(src, src->series.v[i].type, q->type);

		seen[MAX_MATCHERS] |= ok; /* the last slot: the type was seen */

		for (size_t m = 0; ok && m < q->sel->m.len; m++) {
			const char *v = series_label(src, (uint32_t)i, q->sel->m.v[m].name);

			ok = match_one(&q->sel->m.v[m], v);
		}
		if (VEC_PUSH(&k->series_ok, ok))
			return -ENOMEM;
		*any |= ok;
		for (size_t m = 0; i > 0 && m < q->sel->m.len; m++)
			if (series_label(src, (uint32_t)i, q->sel->m.v[m].name))
				seen[m] = true;
	}
	return 0;
}

static bool service_may_match(const struct engine_query *q, const char *service)
{
	for (size_t m = 0; m < q->sel->m.len; m++)
		if (strcmp(q->sel->m.v[m].name, "service_name") == 0 &&
		    !match_one(&q->sel->m.v[m], service))
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
	int e;

	struct fetch_opts fo = {.store = s,
				.refs = &refs,
				.mask = mask,
				.want = want_service,
				.want_ctx = (void *)q};
	struct fetcher *f = NULL;
	struct fetch_block *fb;

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
			const struct block_service_info *si = &bi->services[j];
			struct svcdata *src = fb->svc[j], *dst;
			bool any;

			if (!src)
				continue; /* not wanted (want_service) */
			fb->svc[j] = NULL;
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

				e = svcdata__merge(dst, src, keep_row, &k);
				dst->profiles += si->profiles;
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
			svcdata__free(src);
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
	bool seen[MAX_MATCHERS + 1]; /* per matcher: its label exists; then: the type exists */
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
	if (ret->svc.len == 0 && q->type && !seen[MAX_MATCHERS]) {
		snprintf(err, err_size,
			 "unknown profile type '%s': none in the time range (see profile_types)",
			 q->type);
		return -EINVAL;
	}
	if (ret->svc.len == 0) {
		/* nothing matched: say why when a label or the type is unknown */
		for (size_t m = 0; m < q->sel->m.len; m++) {
			const struct matcher *mt = &q->sel->m.v[m];

			if (!seen[m] && strcmp(mt->name, "service_name") != 0 &&
			    !match_one(mt, NULL)) {
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
		sd->profiles += sel->svc.v[i]->profiles;
	}
	return sd;
}

/* ---- flame graphs --------------------------------------------------------------------------- */

static int64_t node_child(struct fgraph *g, uint32_t parent, const char *name, size_t len)
{
	uint32_t id = strtab_intern(&g->names, name, len);
	uint64_t key;
	void *v;
	struct fg_node n = {0};

	if (id == STRTAB_NONE)
		return -ENOMEM;
	key = (uint64_t)parent << 32 | id;
	v = hmap_get(&g->children, key);
	if (v)
		return (int64_t)(uintptr_t)v - 1;
	n.name = id;
	n.parent = parent;
	n.next_sibling = g->nodes.v[parent].first_child;
	if (VEC_PUSH(&g->nodes, n))
		return -ENOMEM;
	g->nodes.v[parent].first_child = (uint32_t)(g->nodes.len - 1);
	if (hmap_put(&g->children, key, (void *)(uintptr_t)g->nodes.len))
		return -ENOMEM;
	return (int64_t)g->nodes.len - 1;
}

static int fgraph_init(struct fgraph *g)
{
	struct fg_node root = {0};

	if (g->nodes.len)
		return 0;
	if (strtab_intern(&g->names, "", 0) == STRTAB_NONE || VEC_PUSH(&g->nodes, root))
		return -ENOMEM;
	return 0;
}

/* The graph node of (process node, stack node), memoized in memo (key stack + 1). */
static int64_t graph_node(struct fgraph *g, const struct svcdata *sd, uint32_t proc, uint32_t stack,
			  struct hmap *memo, struct buf *names)
{
	VEC(uint32_t) chain = {0};
	int64_t at = proc;
	void *v;

	/* up to the nearest node already placed */
	while (stack && !(v = hmap_get(memo, (uint64_t)stack + 1))) {
		if (VEC_PUSH(&chain, stack)) {
			VEC_FREE(&chain);
			return -ENOMEM;
		}
		stack = sd->nodes.v[stack].parent;
	}
	if (stack)
		at = (int64_t)(uintptr_t)v - 1;
	/* and down again, frame by frame */
	for (size_t i = chain.len; i-- > 0 && at >= 0;) {
		const char *p, *end;

		buf_reset(names);
		query_location_frames(sd, sd->nodes.v[chain.v[i]].location, names);
		p = (const char *)names->data;
		end = p + names->len;
		while (p && p < end && at >= 0) {
			const char *next;

			p++; /* the ';' before each name */
			next = memchr(p, ';', (size_t)(end - p));
			at = node_child(g, (uint32_t)at, p, (size_t)((next ? next : end) - p));
			p = next;
		}
		if (at >= 0 &&
		    hmap_put(memo, (uint64_t)chain.v[i] + 1, (void *)(uintptr_t)(at + 1)))
			at = -ENOMEM;
	}
	VEC_FREE(&chain);
	return names->oom ? -ENOMEM : at;
}

int fgraph_add(struct fgraph *g, const struct svcdata *sd, int side)
{
	struct hmap procs = {0}; /* process name id + 1 -> struct hmap * of its memo */
	struct buf names = {0};
	int err = fgraph_init(g);

	g->totals_done = false;
	uint32_t last_series = UINT32_MAX;
	struct hmap *memo = NULL;
	int64_t pn = 0;

	for (size_t i = 0; !err && i < sd->rows.len; i++) {
		const struct sd_row *r = &sd->rows.v[i];
		int64_t n;

		/* rows come sorted by series: the process node changes only with it */
		if (r->series != last_series) {
			const char *proc = svcdata__label(sd, r->series, "process.executable.name");
			struct buf pname = {0};

			for (const char *c = proc && *proc ? proc : sd->name; *c; c++)
				buf_putc(&pname, *c == ';' || *c == '\n'    ? ':'
						 : *c == '\t' || *c == '\r' ? ' '
									    : (uint8_t)*c);
			pn = node_child(g, 0, pname.data ? (const char *)pname.data : "",
					pname.len);
			buf_free(&pname);
			if (pn < 0) {
				err = (int)pn;
				break;
			}
			memo = hmap_get(&procs, (uint64_t)pn + 1);
			if (!memo) {
				memo = calloc(1, sizeof(*memo));
				if (!memo || hmap_put(&procs, (uint64_t)pn + 1, memo)) {
					free(memo);
					err = -ENOMEM;
					break;
				}
			}
			last_series = r->series;
		}
		n = graph_node(g, sd, (uint32_t)pn, r->stack, memo, &names);
		if (n < 0) {
			err = (int)n;
			break;
		}
		g->nodes.v[n].self[side] = value_add(g->nodes.v[n].self[side], r->value);
	}
	for (size_t pos = 0;;) {
		uint64_t key;
		void *memo;

		if (!hmap_next(&procs, &pos, &key, &memo))
			break;
		hmap_free(memo);
		free(memo);
	}
	hmap_free(&procs);
	buf_free(&names);
	return err;
}

int fgraph_add_selection(struct fgraph *g, const struct selection *sel, int side)
{
	int err = fgraph_init(g);

	for (size_t i = 0; !err && i < sel->svc.len; i++)
		err = fgraph_add(g, sel->svc.v[i], side);
	return err;
}

void fgraph_free(struct fgraph *g)
{
	strtab_free(&g->names);
	VEC_FREE(&g->nodes);
	hmap_free(&g->children);
}

/* Totals: children come after their parents, so one backward pass adds each into its parent. */
static void fgraph_totals(struct fgraph *g)
{
	if (g->totals_done)
		return;
	for (size_t i = 0; i < g->nodes.len; i++)
		for (int s = 0; s < 2; s++)
			g->nodes.v[i].total[s] = g->nodes.v[i].self[s];
	for (size_t i = g->nodes.len; i-- > 1;)
		for (int s = 0; s < 2; s++)
			g->nodes.v[g->nodes.v[i].parent].total[s] = value_add(
				g->nodes.v[g->nodes.v[i].parent].total[s], g->nodes.v[i].total[s]);
	g->totals_done = true;
}

static int64_t weight(const struct fg_node *n)
{
	return MAX(n->total[0], n->total[1]);
}

static int cmp_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The smallest weight a node may have to be kept among max_nodes. */
static int64_t keep_threshold(const struct fgraph *g, size_t max_nodes)
{
	int64_t *w, t;

	if (g->nodes.len <= max_nodes || max_nodes < 2)
		return max_nodes < 2 && g->nodes.len > max_nodes ? INT64_MAX : 0;
	w = malloc(g->nodes.len * sizeof(*w));
	if (!w)
		return INT64_MAX; /* out of memory: the root alone, folded, rather than everything
				   */
	for (size_t i = 0; i < g->nodes.len; i++)
		w[i] = weight(&g->nodes.v[i]);
	qsort(w, g->nodes.len, sizeof(*w), cmp_desc);
	/*
	 * Strictly above the first left out, so ties never exceed the limit; at most half the
	 * limit is kept, as each kept node may get one "other" child.
	 */
	t = w[max_nodes / 2] + 1;
	free(w);
	return t;
}

/* qsort_r comparators: queries run on several threads at once, so no globals */
static int child_cmp(const void *a, const void *b, void *ctx)
{
	const struct fgraph *g = ctx;
	const struct fg_node *x = &g->nodes.v[*(const uint32_t *)a];
	const struct fg_node *y = &g->nodes.v[*(const uint32_t *)b];

	return strcmp(strtab_get(&g->names, x->name), strtab_get(&g->names, y->name));
}

struct emit {
	struct buf *out;
	bool diff, tsv;
	size_t count;
	VEC(uint32_t) kids;
};

static void emit_node(struct emit *em, const struct fgraph *g, const char *name, uint32_t depth,
		      const int64_t total[2], const int64_t self[2])
{
	struct buf *o = em->out;

	if (em->tsv) {
		buf_printf(o, "%u\t%s\t%lld\t%lld", depth, name, (long long)total[0],
			   (long long)self[0]);
		if (em->diff)
			buf_printf(o, "\t%lld\t%lld", (long long)total[1], (long long)self[1]);
		buf_putc(o, '\n');
	} else {
		(void)g;
		buf_printf(o, "%s[%u,", em->count ? "," : "", depth);
		json_string(o, name);
		buf_printf(o, ",%lld,%lld", (long long)total[0], (long long)self[0]);
		if (em->diff)
			buf_printf(o, ",%lld,%lld", (long long)total[1], (long long)self[1]);
		buf_putc(o, ']');
	}
	em->count++;
}

/*
 * Pre-order, children by name; children under the threshold are summed into one "other" child,
 * appended to the graph for the walk (the caller trims them off after).
 */
static int emit_tree(struct fgraph *g, int64_t threshold, struct emit *em, uint64_t *folded)
{
	struct frame {
		uint32_t node, depth;
	};
	VEC(struct frame) stack = {0};
	int err = 0;

	if (VEC_PUSH(&stack, ((struct frame){0, 0})))
		return -ENOMEM;
	while (stack.len && !err) {
		struct frame f = stack.v[--stack.len];
		const struct fg_node *n = &g->nodes.v[f.node];
		struct fg_node other = {.name = UINT32_MAX, .parent = f.node};
		const char *name = f.node == 0		   ? "total"
				   : n->name == UINT32_MAX ? "other"
							   : strtab_get(&g->names, n->name);

		emit_node(em, g, name, f.depth, n->total, n->self);
		em->kids.len = 0;
		for (uint32_t c = n->first_child; c && !err; c = g->nodes.v[c].next_sibling) {
			const struct fg_node *k = &g->nodes.v[c];

			if (weight(k) >= threshold) {
				err = VEC_PUSH(&em->kids, c);
				continue;
			}
			for (int s = 0; s < 2; s++)
				other.self[s] = other.total[s] =
					value_add(other.total[s], k->total[s]);
		}
		if (em->kids.len > 1)
			qsort_r(em->kids.v, em->kids.len, sizeof(*em->kids.v), child_cmp, g);
		/* pushed first, so popped last: "other" ends its parent's children */
		if (!err && (other.total[0] || other.total[1])) {
			err = VEC_PUSH(&g->nodes, other);
			(*folded)++;
			if (!err)
				err = VEC_PUSH(&stack, ((struct frame){(uint32_t)(g->nodes.len - 1),
								       f.depth + 1}));
		}
		for (size_t k = em->kids.len; k-- > 0 && !err;)
			err = VEC_PUSH(&stack, ((struct frame){em->kids.v[k], f.depth + 1}));
	}
	VEC_FREE(&stack);
	return err;
}

/* The temporary "other" nodes are appended past the graph; they are removed after emitting. */
static int fgraph_emit(struct fgraph *g, size_t max_nodes, struct emit *em, uint64_t *folded)
{
	size_t real = g->nodes.len;
	uint64_t others = 0;
	int err;

	fgraph_totals(g);
	err = emit_tree(g, keep_threshold(g, max_nodes), em, &others);
	g->nodes.len = real;
	/* every node of the graph not emitted went into an "other" */
	*folded = real - (em->count - others);
	VEC_FREE(&em->kids);
	return err;
}

int fgraph_json(struct fgraph *g, size_t max_nodes, bool diff, struct buf *out)
{
	struct emit em = {out, diff, false, 0, {0}};
	uint64_t folded;
	int err;

	if (fgraph_init(g))
		return -ENOMEM;
	buf_puts(out, "{\"nodes\":[");
	err = fgraph_emit(g, max_nodes, &em, &folded);
	fgraph_totals(g);
	buf_printf(out, "],\"total\":%lld", (long long)g->nodes.v[0].total[0]);
	if (diff)
		buf_printf(out, ",\"total_right\":%lld", (long long)g->nodes.v[0].total[1]);
	buf_printf(out, ",\"nodes_in_graph\":%zu,\"folded_nodes\":%llu}", g->nodes.len,
		   (unsigned long long)folded);
	return err ? err : out->oom ? -ENOMEM : 0;
}

int fgraph_tsv(struct fgraph *g, size_t max_nodes, bool diff, struct buf *out)
{
	struct emit em = {out, diff, true, 0, {0}};
	uint64_t folded;
	int err;

	if (fgraph_init(g))
		return -ENOMEM;
	err = fgraph_emit(g, max_nodes, &em, &folded);
	if (folded)
		buf_printf(out, "# %llu nodes folded into \"other\"\n", (unsigned long long)folded);
	return err ? err : out->oom ? -ENOMEM : 0;
}

/* ---- top functions -------------------------------------------------------------------------- */

struct fn_total {
	uint32_t name;
	int64_t self, total;
};

static int fn_cmp(const void *a, const void *b, void *ctx)
{
	const struct fn_total *x = a, *y = b;
	bool by_total = *(const bool *)ctx;
	int64_t kx = by_total ? x->total : x->self, ky = by_total ? y->total : y->self;

	if (kx != ky)
		return kx < ky ? 1 : -1;
	return x->name < y->name ? -1 : x->name > y->name;
}

int fgraph_top(struct fgraph *g, size_t limit, bool by_total, bool tsv, struct buf *out)
{
	size_t nnames = strtab_count(&g->names);
	struct fn_total *fn = calloc(nnames ? nnames : 1, sizeof(*fn));
	uint32_t *on_path = calloc(nnames ? nnames : 1, sizeof(*on_path));
	VEC(uint32_t) stack = {0};
	int64_t all;
	size_t n = 0;
	int err = 0;

	if (!fn || !on_path || fgraph_init(g)) {
		err = -ENOMEM;
		goto out;
	}
	fgraph_totals(g);
	all = g->nodes.v[0].total[0];
	/*
	 * Depth first; a function's total counts a subtree once even when the function recurses
	 * (only where it is not on the path already). Processes (depth 1) are not functions.
	 * Entries: node, or node | 1 << 31 for "leaving node".
	 */
	for (uint32_t c = g->nodes.v[0].first_child; c && !err; c = g->nodes.v[c].next_sibling)
		for (uint32_t k = g->nodes.v[c].first_child; k && !err;
		     k = g->nodes.v[k].next_sibling)
			err = VEC_PUSH(&stack, k);
	while (stack.len && !err) {
		uint32_t e = stack.v[--stack.len], node = e & ~(1u << 31);
		const struct fg_node *nd = &g->nodes.v[node];

		if (e & (1u << 31)) {
			on_path[nd->name]--;
			continue;
		}
		fn[nd->name].name = nd->name;
		fn[nd->name].self = value_add(fn[nd->name].self, nd->self[0]);
		if (!on_path[nd->name]++)
			fn[nd->name].total = value_add(fn[nd->name].total, nd->total[0]);
		err = VEC_PUSH(&stack, node | (1u << 31));
		for (uint32_t k = nd->first_child; k && !err; k = g->nodes.v[k].next_sibling)
			err = VEC_PUSH(&stack, k);
	}
	for (size_t i = 1; i < nnames; i++)
		if (fn[i].total)
			fn[n++] = fn[i];
	qsort_r(fn, n, sizeof(*fn), fn_cmp, &by_total);
	if (n > limit)
		n = limit;
	if (!tsv)
		buf_printf(out, "{\"total\":%lld,\"functions\":[", (long long)all);
	for (size_t i = 0; i < n; i++) {
		const char *name = strtab_get(&g->names, fn[i].name);

		if (tsv) {
			buf_printf(out, "%s\t%lld\t%lld\n", name, (long long)fn[i].self,
				   (long long)fn[i].total);
			continue;
		}
		buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
		json_string(out, name);
		buf_printf(out, ",\"self\":%lld,\"total\":%lld}", (long long)fn[i].self,
			   (long long)fn[i].total);
	}
	if (!tsv)
		buf_puts(out, "]}");
	if (out->oom)
		err = -ENOMEM;
out:
	free(fn);
	free(on_path);
	VEC_FREE(&stack);
	return err;
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
		for (const char *c = strtab_get(&sd->strings, l->key); *c; c++)
			buf_putc(b, (uint8_t)key_char(*c));
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
					const char *v = series_label(sd, row->series, group_by);

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

/* The strings of t, sorted, as a JSON array or lines. */
static int emit_sorted(const struct strtab *t, bool tsv, struct buf *out)
{
	size_t n = strtab_count(t);
	uint32_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	size_t k = 0;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 1; i < n; i++) /* id 0 is "" */
		ids[k++] = (uint32_t)i;
	qsort_r(ids, k, sizeof(*ids), str_id_cmp, (void *)t);
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

int engine_label_names(const struct selection *sel, bool tsv, struct buf *out)
{
	struct strtab names = {0};
	struct buf key = {0};
	int err = 0;

	if (strtab_intern(&names, "", 0) == STRTAB_NONE ||
	    strtab_intern(&names, "service_name", 12) == STRTAB_NONE)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < sel->svc.len; i++) {
		const struct svcdata *sd = sel->svc.v[i];

		for (size_t l = 0; !err && l < sd->labels.len; l++) {
			buf_reset(&key);
			for (const char *c = strtab_get(&sd->strings, sd->labels.v[l].key); *c; c++)
				buf_putc(&key, (uint8_t)key_char(*c));
			if (strtab_intern(&names, key.data ? (const char *)key.data : "",
					  key.len) == STRTAB_NONE)
				err = -ENOMEM;
		}
	}
	if (!err)
		err = emit_sorted(&names, tsv, out);
	strtab_free(&names);
	buf_free(&key);
	return err;
}

int engine_label_values(const struct selection *sel, const char *name, bool tsv, struct buf *out)
{
	struct strtab values = {0};
	int err = strtab_intern(&values, "", 0) == STRTAB_NONE ? -ENOMEM : 0;

	for (size_t i = 0; !err && i < sel->svc.len; i++) {
		const struct svcdata *sd = sel->svc.v[i];

		for (uint32_t s = 1; !err && s < sd->series.len; s++) {
			const char *v = series_label(sd, s, name);

			if (v && strtab_intern(&values, v, strlen(v)) == STRTAB_NONE)
				err = -ENOMEM;
		}
	}
	if (!err)
		err = emit_sorted(&values, tsv, out);
	strtab_free(&values);
	return err;
}

int engine_types(const struct selection *sel, bool tsv, struct buf *out)
{
	struct strtab types = {0};
	struct buf t = {0};
	int err = strtab_intern(&types, "", 0) == STRTAB_NONE ? -ENOMEM : 0;

	for (size_t i = 0; !err && i < sel->svc.len; i++) {
		const struct svcdata *sd = sel->svc.v[i];

		for (size_t k = 1; !err && k < sd->types.len; k++) {
			const struct sd_type *ty = &sd->types.v[k];

			buf_reset(&t);
			buf_printf(&t, "%s:%s", strtab_get(&sd->strings, ty->sample_type),
				   strtab_get(&sd->strings, ty->sample_unit));
			if (t.oom ||
			    strtab_intern(&types, (const char *)t.data, t.len) == STRTAB_NONE)
				err = -ENOMEM;
		}
	}
	if (!err)
		err = emit_sorted(&types, tsv, out);
	strtab_free(&types);
	buf_free(&t);
	return err;
}

void json_string(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, c);
	}
	buf_putc(b, '"');
}
