// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "../profile/ptype.h"
#include "../common/util.h"

#define MAX_REGEX 1024 /* characters */

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

		if (ret->m.len >= SELECTOR_MAX_MATCHERS) {
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
bool selector_match(const struct matcher *m, const char *v)
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

const char *selector_type_label(const struct svcdata *sd, uint32_t series, const char *name)
{
	static __thread char id[PTYPE_MAX];
	struct ptype t;

	ptype_of(sd, series, &t);
	if (strcmp(name, "__profile_type__") == 0) {
		ptype_id(&t, id, sizeof(id));
		return id;
	}
	if (strcmp(name, "__name__") == 0)
		return t.name;
	if (strcmp(name, "__type__") == 0)
		return t.sample_type;
	if (strcmp(name, "__unit__") == 0)
		return t.sample_unit;
	if (strcmp(name, "__period_type__") == 0)
		return t.period_type;
	if (strcmp(name, "__period_unit__") == 0)
		return t.period_unit;
	return NULL;
}

const char *selector_label(const struct svcdata *sd, uint32_t series, const char *name)
{
	const struct sd_series *s = &sd->series.v[series];

	if (strcmp(name, "service_name") == 0)
		return sd->name;
	if (name[0] == '_' && name[1] == '_') {
		const char *v = selector_type_label(sd, series, name);

		if (v)
			return v;
	}
	for (uint32_t k = 0; k < s->nlabels; k++) {
		const struct sd_label *l = &sd->labels.v[s->first_label + k];

		if (key_is(strtab_get(&sd->strings, l->key), name))
			return strtab_get(&sd->strings, l->value);
	}
	return NULL;
}
void selector_put_name(struct buf *b, const char *key)
{
	for (; *key; key++)
		buf_putc(b, (uint8_t)key_char(*key));
}
