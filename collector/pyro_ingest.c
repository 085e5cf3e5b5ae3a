// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pyro_delta.h"
#include "pyro_ingest.h"
#include "query.h"
#include "push/v1/push.pb-c.h"
#include "../common/arena.h"
#include "../common/pbjson.h"
#include "../common/util.h"

#define MAX_NAME 4096 /* the name parameter */

void pyro_batch_free(struct pyro_batch *b)
{
	for (size_t i = 0; i < b->svc.len; i++)
		svcdata__free(b->svc.v[i]);
	VEC_FREE(&b->svc);
	VEC_FREE(&b->names);
	b->samples = b->profiles = 0;
}

static int apply_batch(const void *src, struct svcdata *const *dst, uint64_t now_ns)
{
	const struct pyro_batch *b = src;
	int e = 0;

	(void)now_ns;
	for (size_t i = 0; i < b->svc.len && !e; i++)
		e = svcdata__merge(dst[i], b->svc.v[i], NULL, NULL);
	return e;
}

void pyro_batch_input(const struct pyro_batch *b, struct seg_input *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->nsvc = b->svc.len;
	ret->names = b->names.v;
	ret->samples = b->samples;
	ret->profiles = b->profiles;
	ret->apply = apply_batch;
	ret->src = b;
}

/* The batch's svcdata of a service, added when new. NULL on ENOMEM. */
static struct svcdata *batch_service(struct pyro_batch *b, const char *name)
{
	struct svcdata *sd;

	for (size_t i = 0; i < b->svc.len; i++)
		if (strcmp(b->svc.v[i]->name, name) == 0)
			return b->svc.v[i];
	sd = svcdata__new(name);
	if (!sd || VEC_PUSH(&b->svc, sd)) {
		svcdata__free(sd);
		return NULL;
	}
	if (VEC_PUSH(&b->names, sd->name)) {
		b->svc.len--;
		svcdata__free(sd);
		return NULL;
	}
	return sd;
}

int pyro_parse_time(const char *s, uint64_t now_ns, uint64_t *ret)
{
	size_t digits = strspn(s, "0123456789");
	uint64_t v;

	if (digits && !s[digits]) {
		if (parse_u64(s, &v))
			return -EINVAL;
		*ret = digits >= 19   ? v
		       : digits >= 16 ? v * 1000
		       : digits >= 13 ? v * 1000000
				      : v * NSEC_PER_SEC;
		return 0;
	}
	return parse_time_ns(s, now_ns, ret);
}

/* ---- labels --------------------------------------------------------------------------------- */

struct labels {
	struct sd_label v[SVC_MAX_LABELS];
	size_t n;
	const char *service;
};

static bool label_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* Adds key=value (a later one replaces); private keys (__*) are dropped unless keep_name. */
static int put_label(struct svcdata *sd, struct labels *ls, const char *key, const char *value,
		     bool keep_name)
{
	struct sd_label l;
	size_t j;

	if (key[0] == '_' && key[1] == '_' && !(keep_name && strcmp(key, "__name__") == 0))
		return 0;
	l.key = svcdata__string(sd, key, strlen(key));
	l.value = svcdata__string(sd, value, strlen(value));
	if (l.key == UINT32_MAX || l.value == UINT32_MAX)
		return -ENOMEM;
	for (j = 0; j < ls->n && ls->v[j].key != l.key; j++)
		;
	if (j == ls->n && ls->n == SVC_MAX_LABELS)
		return -EBADMSG;
	ls->v[j] = l;
	ls->n += j == ls->n;
	return 0;
}

/* ---- /ingest -------------------------------------------------------------------------------- */

/* What a folded upload's name suffix says of its values (docs/pyroscope.md). */
struct suffix_type {
	const char *suffix, *name, *type, *unit, *period_type, *period_unit;
	bool per_sample; /* values are samples at sampleRate: x 1e9/rate ns */
};

static const struct suffix_type suffixes[] = {
	{"cpu", "process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds", true},
	{"itimer", "process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds", true},
	{"wall", "wall", "wall", "nanoseconds", "cpu", "nanoseconds", true},
	{"alloc_objects", "memory", "alloc_objects", "count", "", "", false},
	{"inuse_objects", "memory", "inuse_objects", "count", "", "", false},
	{"alloc_space", "memory", "alloc_space", "bytes", "", "", false},
	{"inuse_space", "memory", "inuse_space", "bytes", "", "", false},
	{"goroutines", "goroutines", "goroutines", "count", "", "", false},
	{"mutex_count", "mutex", "contentions", "count", "", "", false},
	{"mutex_duration", "mutex", "delay", "nanoseconds", "", "", false},
	{"block_count", "block", "contentions", "count", "", "", false},
	{"block_duration", "block", "delay", "nanoseconds", "", "", false},
};

/* A parsed name=app[.suffix]{k=v,...}: the app and suffix cut in place in buf. */
struct app_name {
	char buf[MAX_NAME];
	const char *app;
	const struct suffix_type *type; /* NULL: no known suffix (cpu for folded data) */
	const char *suffix;		/* an unknown suffix, or NULL */
	char *labels;			/* "k=v,k2=v2" or NULL */
};

static int parse_name(const char *name, struct app_name *ret, char *msg, size_t size)
{
	char *brace, *dot;

	memset(ret, 0, sizeof(*ret));
	if (!name || !*name) {
		snprintf(msg, size, "name: required (name=APP{label=value,...})");
		return -EBADMSG;
	}
	if (str_copy(ret->buf, name, sizeof(ret->buf)) >= sizeof(ret->buf)) {
		snprintf(msg, size, "name: over %d bytes", MAX_NAME - 1);
		return -EBADMSG;
	}
	brace = strchr(ret->buf, '{');
	if (brace) {
		size_t n = strlen(brace);

		if (brace[n - 1] != '}') {
			snprintf(msg, size, "name: the labels are not closed with '}'");
			return -EBADMSG;
		}
		brace[n - 1] = 0;
		*brace = 0;
		ret->labels = brace + 1;
	}
	ret->app = ret->buf;
	dot = strrchr(ret->buf, '.');
	if (dot) {
		for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
			if (strcmp(dot + 1, suffixes[i].suffix) == 0)
				ret->type = &suffixes[i];
		if (ret->type)
			*dot = 0;
		else
			ret->suffix = dot + 1;
	}
	if (!*ret->app) {
		snprintf(msg, size, "name: the application name is empty");
		return -EBADMSG;
	}
	for (const char *c = ret->app; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			snprintf(msg, size, "name: the application name has a control character");
			return -EBADMSG;
		}
	}
	return 0;
}

/* The labels of the name and spyName; the service is the app unless service_name is given. */
static int name_labels(struct svcdata *sd, struct app_name *an, const char *spy, struct labels *ls,
		       char *msg, size_t size)
{
	char *save = NULL;
	int e = 0;

	ls->n = 0;
	ls->service = an->app;
	if (spy && *spy)
		e = put_label(sd, ls, "pyroscope_spy", spy, false);
	/* split in place: the values stay in an's buffer (service_name's among them) */
	for (char *kv = an->labels ? strtok_r(an->labels, ",", &save) : NULL; kv && !e;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq) {
			snprintf(msg, size, "name: label '%.64s' has no '=value'", kv);
			e = -EBADMSG;
			break;
		}
		*eq = 0;
		if (!label_name_ok(kv)) {
			snprintf(msg, size,
				 "name: label name '%.64s' is not letters, digits, '_' and '.'",
				 kv);
			e = -EBADMSG;
			break;
		}
		if (strcmp(kv, "service_name") == 0) {
			e = put_label(sd, ls, "app_name", an->app, false);
			ls->service = eq + 1;
			continue;
		}
		e = put_label(sd, ls, kv, eq + 1, false);
	}
	if (e == -EBADMSG && !*msg)
		snprintf(msg, size, "name: over %d labels", SVC_MAX_LABELS);
	return e;
}

/* Folded lines "a;b;c 12" into sd under the labels and type t (values x scale). */
static int folded(struct svcdata *sd, const uint8_t *body, size_t len, const struct labels *ls,
		  const struct suffix_type *t, int64_t scale, uint64_t time_ns, uint64_t *samples,
		  char *msg, size_t size)
{
	struct sd_type ty = {0};
	uint32_t type, series;
	VEC(uint32_t) locs = {0};
	const char *p = (const char *)body, *end = p + len;
	size_t lineno = 0;
	int e = 0;

	ty.sample_type = svcdata__string(sd, t->type, strlen(t->type));
	ty.sample_unit = svcdata__string(sd, t->unit, strlen(t->unit));
	ty.period_type = svcdata__string(sd, t->period_type, strlen(t->period_type));
	ty.period_unit = svcdata__string(sd, t->period_unit, strlen(t->period_unit));
	ty.period = scale;
	type = svcdata__type(sd, &ty);
	series = type == UINT32_MAX ? UINT32_MAX : svcdata__series(sd, type, ls->v, ls->n);
	if (series == UINT32_MAX)
		return -ENOMEM;
	while (p < end && !e) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *line = p, *sp;
		const char *lend = nl ? nl : end;
		int64_t value;
		char num[24];

		p = nl ? nl + 1 : end;
		lineno++;
		if (lend > line && lend[-1] == '\r')
			lend--;
		if (lend == line)
			continue;
		for (sp = lend; sp > line && sp[-1] != ' '; sp--)
			;
		if (sp == line || (size_t)(lend - sp) >= sizeof(num)) {
			snprintf(msg, size, "line %zu: not 'frame;frame;... VALUE'", lineno);
			e = -EBADMSG;
			break;
		}
		memcpy(num, sp, (size_t)(lend - sp));
		num[lend - sp] = 0;
		if (parse_i64(num, &value) || value < 0) {
			snprintf(msg, size, "line %zu: '%s' is not a count", lineno, num);
			e = -EBADMSG;
			break;
		}
		lend = sp - 1;
		locs.len = 0;
		/* frames root first; the model wants the leaf first */
		for (const char *f = line; f < lend && !e;) {
			const char *semi = memchr(f, ';', (size_t)(lend - f));
			const char *fend = semi ? semi : lend;
			struct sd_function fn = {0};
			struct sd_location loc = {0};
			struct sd_line ln = {0};

			fn.name = svcdata__string(sd, f, (size_t)(fend - f));
			ln.function =
				fn.name == UINT32_MAX ? UINT32_MAX : svcdata__function(sd, &fn);
			loc.nlines = 1;
			if (ln.function == UINT32_MAX)
				e = -ENOMEM;
			else {
				uint32_t id = svcdata__location(sd, &loc, &ln);

				e = id == UINT32_MAX ? -ENOMEM : VEC_PUSH(&locs, id);
			}
			f = fend + 1;
		}
		if (e)
			break;
		if (locs.len > SVC_MAX_STACK_DEPTH) {
			snprintf(msg, size, "line %zu: over %d frames", lineno,
				 SVC_MAX_STACK_DEPTH);
			e = -EBADMSG;
			break;
		}
		for (size_t i = 0; i < locs.len / 2; i++) {
			uint32_t x = locs.v[i];

			locs.v[i] = locs.v[locs.len - 1 - i];
			locs.v[locs.len - 1 - i] = x;
		}
		if (value) {
			uint32_t stack = svcdata__stack(sd, locs.v, locs.len);

			e = stack == UINT32_MAX ? -ENOMEM
						: svcdata__row(sd, series, stack, time_ns,
							       value_mul(value, scale));
			(*samples)++;
		}
	}
	VEC_FREE(&locs);
	if (e == -ENOMEM)
		snprintf(msg, size, "out of memory");
	return e;
}

/* The parts of a multipart/form-data body by name: data and length, or NULL. */
struct part {
	const char *name;
	const uint8_t *data;
	size_t len;
};

static const uint8_t *find_bytes(const uint8_t *p, const uint8_t *end, const char *s, size_t n)
{
	return end - p >= (ptrdiff_t)n ? memmem(p, (size_t)(end - p), s, n) : NULL;
}

static int multipart(const char *ctype, const uint8_t *body, size_t len, struct part *parts,
		     size_t nparts, char *msg, size_t size)
{
	const char *b = strcasestr(ctype, "boundary=");
	char delim[200];
	size_t dn, bl;
	const uint8_t *p, *end = body + len;

	if (!b) {
		snprintf(msg, size, "multipart/form-data without a boundary");
		return -EBADMSG;
	}
	b += 9;
	bl = strcspn(b, ";");
	if (*b == '"') {
		b++;
		bl = strcspn(b, "\"");
	}
	if (!bl || bl > 150) {
		snprintf(msg, size, "multipart/form-data: a bad boundary");
		return -EBADMSG;
	}
	dn = (size_t)snprintf(delim, sizeof(delim), "--%.*s", (int)bl, b);
	p = find_bytes(body, end, delim, dn);
	while (p) {
		const uint8_t *head = p + dn, *hend, *next;
		const char *name;
		char hdr[1024];
		size_t hl;

		if (end - head >= 2 && head[0] == '-' && head[1] == '-')
			return 0; /* the closing delimiter */
		hend = find_bytes(head, end, "\r\n\r\n", 4);
		if (!hend || (size_t)(hend - head) >= sizeof(hdr)) {
			snprintf(msg, size, "multipart/form-data: a part without headers");
			return -EBADMSG;
		}
		hl = (size_t)(hend - head);
		memcpy(hdr, head, hl);
		hdr[hl] = 0;
		next = find_bytes(hend + 4, end, delim, dn);
		if (!next) {
			snprintf(msg, size, "multipart/form-data: a part is not closed");
			return -EBADMSG;
		}
		name = strcasestr(hdr, "name=\"");
		for (size_t i = 0; name && i < nparts; i++) {
			size_t n = strlen(parts[i].name);

			if (strncmp(name + 6, parts[i].name, n) == 0 && name[6 + n] == '"') {
				parts[i].data = hend + 4;
				/* the part ends before the CRLF of the next delimiter */
				parts[i].len = (size_t)(next - (hend + 4));
				if (parts[i].len >= 2 && next[-2] == '\r' && next[-1] == '\n')
					parts[i].len -= 2;
			}
		}
		p = next;
	}
	snprintf(msg, size, "multipart/form-data: no closing boundary");
	return -EBADMSG;
}

/*
 * A pprof profile into the batch: the service's series get the labels of names (strings of
 * label_src). ret_sd, ret_first_row (may be NULL): where its rows went.
 */
static int ingest_pprof(struct pyro_batch *b, const char *service, const struct labels *names,
			struct svcdata *label_src, const uint8_t *data, size_t len,
			const struct pprof_limits *limits, uint64_t time_ns, char *msg, size_t size,
			struct svcdata **ret_sd, size_t *ret_first_row)
{
	struct svcdata *sd = batch_service(b, service);
	struct pprof_limits lim = *limits;
	struct sd_label ls[SVC_MAX_LABELS];
	size_t rows;
	char err[300];
	int e;

	if (!sd)
		return -ENOMEM;
	if (svcdata__index(sd))
		return -ENOMEM;
	/* the labels' strings, from where they were made into this service's table */
	for (size_t i = 0; i < names->n; i++) {
		const char *k = strtab_get(&label_src->strings, names->v[i].key);
		const char *v = strtab_get(&label_src->strings, names->v[i].value);

		ls[i].key = svcdata__string(sd, k, strlen(k));
		ls[i].value = svcdata__string(sd, v, strlen(v));
		if (ls[i].key == UINT32_MAX || ls[i].value == UINT32_MAX)
			return -ENOMEM;
	}
	lim.labels = ls;
	lim.n_labels = names->n;
	lim.default_time_ns = time_ns;
	lim.name_label = true;
	rows = sd->rows.len;
	if (ret_sd) {
		*ret_sd = sd;
		*ret_first_row = rows;
	}
	e = pprof_decode(data, len, &lim, sd, err, sizeof(err));
	if (e) {
		snprintf(msg, size, "%s%s", e == -ENOMEM ? "" : "the pprof profile: ", err);
		return e;
	}
	b->samples += sd->rows.len - rows;
	b->profiles++;
	return 0;
}

int pyro_ingest(const struct pyro_ingest_params *p, const uint8_t *body, size_t len,
		const struct pprof_limits *limits, uint64_t now_ns, struct pyro_batch *ret,
		char *msg, size_t size)
{
	struct app_name *an = malloc(sizeof(*an));
	struct svcdata *tmp = NULL;
	struct labels ls;
	const char *fmt = p->format ? p->format : "";
	const char *ct = p->content_type ? p->content_type : "";
	bool is_multipart = strncasecmp(ct, "multipart/form-data", 19) == 0;
	uint64_t from = now_ns, until = now_ns;
	int e;

	memset(ret, 0, sizeof(*ret));
	*msg = 0;
	if (!an)
		return -ENOMEM;
	e = parse_name(p->name, an, msg, size);
	if (!e && p->from && pyro_parse_time(p->from, now_ns, &from)) {
		snprintf(msg, size, "from: '%.64s' is not a time (Unix seconds, ms, µs or ns)",
			 p->from);
		e = -EBADMSG;
	}
	if (!e && p->until && pyro_parse_time(p->until, now_ns, &until)) {
		snprintf(msg, size, "until: '%.64s' is not a time (Unix seconds, ms, µs or ns)",
			 p->until);
		e = -EBADMSG;
	}
	if (e)
		goto out;
	if (strcmp(fmt, "trie") == 0 || strcmp(fmt, "tree") == 0 || strcmp(fmt, "jfr") == 0 ||
	    strcmp(fmt, "speedscope") == 0 || strcmp(fmt, "lines") == 0 ||
	    strncasecmp(ct, "binary/octet-stream+", 20) == 0) {
		snprintf(msg, size,
			 "format '%s' is not taken by this collector: send pprof "
			 "(format=pprof) or folded lines",
			 *fmt ? fmt : ct);
		e = -ENOTSUP;
		goto out;
	}
	tmp = svcdata__new("labels");
	if (!tmp) {
		e = -ENOMEM;
		goto out;
	}
	e = name_labels(tmp, an, p->spy_name, &ls, msg, size);
	if (e)
		goto out;
	if (strcmp(fmt, "pprof") == 0 || is_multipart) {
		struct part parts[] = {{"profile", NULL, 0},
				       {"prev_profile", NULL, 0},
				       {"sample_type_config", NULL, 0}};
		const uint8_t *data = body;
		size_t n = len;

		if (is_multipart) {
			e = multipart(ct, body, len, parts, ARRAY_SIZE(parts), msg, size);
			if (e)
				goto out;
			if (parts[1].data && parts[1].len) {
				snprintf(msg, size,
					 "prev_profile (cumulative profiles of old clients) is not "
					 "taken: send deltas");
				e = -ENOTSUP;
				goto out;
			}
			if (!parts[0].data) {
				snprintf(msg, size, "multipart/form-data without a 'profile' part");
				e = -EBADMSG;
				goto out;
			}
			data = parts[0].data;
			n = parts[0].len;
		}
		e = ingest_pprof(ret, ls.service, &ls, tmp, data, n, limits, from, msg, size, NULL,
				 NULL);
	} else {
		const struct suffix_type *t = an->type ? an->type : &suffixes[0];
		uint64_t rate = 100;
		struct svcdata *sd;
		struct labels own = {.n = 0};

		if (an->suffix) {
			snprintf(msg, size,
				 "name: '.%.32s' is not a profile type (cpu, wall, alloc_objects, "
				 "inuse_space, goroutines, mutex_count, block_duration, ...)",
				 an->suffix);
			e = -ENOTSUP;
			goto out;
		}
		if (p->sample_rate && (parse_u64(p->sample_rate, &rate) || !rate)) {
			snprintf(msg, size, "sampleRate: '%.32s' is not a rate in Hz",
				 p->sample_rate);
			e = -EBADMSG;
			goto out;
		}
		sd = batch_service(ret, ls.service);
		if (!sd || svcdata__index(sd)) {
			e = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < ls.n && !e; i++)
			e = put_label(sd, &own, strtab_get(&tmp->strings, ls.v[i].key),
				      strtab_get(&tmp->strings, ls.v[i].value), false);
		if (!e)
			e = put_label(sd, &own, "__name__", t->name, true);
		if (!e)
			e = folded(sd, body, len, &own, t,
				   t->per_sample ? (int64_t)(NSEC_PER_SEC / rate) : 1, from,
				   &ret->samples, msg, size);
		if (!e)
			ret->profiles++;
	}
out:
	if (e == -ENOMEM)
		snprintf(msg, size, "out of memory; retry later");
	if (e)
		pyro_batch_free(ret);
	svcdata__free(tmp);
	free(an);
	return e;
}

/* ---- Push ----------------------------------------------------------------------------------- */

int pyro_push(bool json, const uint8_t *body, size_t len, const struct pprof_limits *limits,
	      uint64_t now_ns, struct pyro_delta *delta, const char *tenant, struct pyro_batch *ret,
	      char *msg, size_t size)
{
	struct arena_pb bounded = {.arena.limit = 16 * len + (1 << 20)};
	ProtobufCAllocator alloc = arena_pb_allocator(&bounded);
	Push__V1__PushRequest *req = NULL;
	ProtobufCMessage *jmsg = NULL;
	struct svcdata *tmp = svcdata__new("labels");
	int e = 0;

	memset(ret, 0, sizeof(*ret));
	*msg = 0;
	if (!tmp)
		return -ENOMEM;
	if (json) {
		e = pbjson_decode(&push__v1__push_request__descriptor, body, len, &jmsg, msg, size);
		if (e == -EINVAL)
			e = -EBADMSG;
		req = (Push__V1__PushRequest *)jmsg;
	} else {
		req = push__v1__push_request__unpack(&alloc, len, body);
		if (!req) {
			snprintf(msg, size, "%s",
				 bounded.over ? "the request is over the memory limit once decoded"
					      : "not a PushRequest (protobuf)");
			e = bounded.over ? -EFBIG : -EBADMSG;
		}
	}
	for (size_t i = 0; !e && i < req->n_series; i++) {
		const Push__V1__RawProfileSeries *s = req->series[i];
		struct labels ls = {.service = "unknown_service"};
		bool is_delta = false; /* __delta__="false": the pusher sends deltas itself */

		for (size_t k = 0; !e && k < s->n_labels; k++) {
			const char *key = s->labels[k]->name, *v = s->labels[k]->value;

			if (strcmp(key, "__delta__") == 0)
				is_delta = strcmp(v, "false") == 0;
			if (strcmp(key, "service_name") == 0) {
				if (*v)
					ls.service = v;
				continue;
			}
			if (!label_name_ok(key) && !(key[0] == '_' && key[1] == '_')) {
				snprintf(msg, size,
					 "label name '%.64s' is not letters, digits, '_' and '.'",
					 key);
				e = -EBADMSG;
				break;
			}
			e = put_label(tmp, &ls, key, v, true);
			if (e == -EBADMSG)
				snprintf(msg, size, "a series has over %d labels", SVC_MAX_LABELS);
		}
		for (size_t k = 0; !e && k < s->n_samples; k++) {
			struct svcdata *sd = NULL;
			size_t first = 0;
			long dropped;

			e = ingest_pprof(ret, ls.service, &ls, tmp, s->samples[k]->raw_profile.data,
					 s->samples[k]->raw_profile.len, limits, now_ns, msg, size,
					 &sd, &first);
			if (e || is_delta || !delta)
				continue;
			/* cumulative profiles (Go's allocations, contentions) as deltas */
			dropped = pyro_delta__apply(delta, tenant ? tenant : "", sd, first);
			if (dropped < 0)
				e = (int)dropped;
			else
				ret->samples -= (uint64_t)dropped;
		}
	}
	if (e == -ENOMEM)
		snprintf(msg, size, "out of memory; retry later");
	if (e)
		pyro_batch_free(ret);
	if (jmsg)
		protobuf_c_message_free_unpacked(jmsg, NULL);
	arena_free(&bounded.arena);
	svcdata__free(tmp);
	return e;
}
