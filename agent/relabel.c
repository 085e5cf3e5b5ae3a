// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relabel.h"
#include "../common/buf.h"

static int compile(regex_t *re, const char *src, char *err, size_t err_size)
{
	size_t n = strlen(src) + 8;
	char *anchored = malloc(n), msg[128];
	int rc;

	if (!anchored)
		return -ENOMEM;
	snprintf(anchored, n, "^(%s)$", src);
	rc = regcomp(re, anchored, REG_EXTENDED);
	free(anchored);
	if (rc) {
		regerror(rc, re, msg, sizeof(msg));
		snprintf(err, err_size, "invalid regular expression '%s': %s", src, msg);
		return -EINVAL;
	}
	return 0;
}

static bool label_name_ok(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-' ||
		      s[i] == '/'))
			return false;
	return true;
}

int relabel_parse(const char *text, struct relabel_rule *ret, char *err, size_t err_size)
{
	const char *sp = strchr(text, ' '), *rest, *op, *arrow = NULL, *eq;
	size_t alen = sp ? (size_t)(sp - text) : strlen(text);
	int e;

	memset(ret, 0, sizeof(*ret));
	if (alen == 4 && strncmp(text, "keep", 4) == 0)
		ret->action = RELABEL_KEEP;
	else if (alen == 4 && strncmp(text, "drop", 4) == 0)
		ret->action = RELABEL_DROP;
	else if (alen == 7 && strncmp(text, "replace", 7) == 0)
		ret->action = RELABEL_REPLACE;
	else if (alen == 9 && strncmp(text, "labeldrop", 9) == 0)
		ret->action = RELABEL_LABELDROP;
	else {
		snprintf(err, err_size, "'%.*s' is not keep, drop, replace or labeldrop", (int)alen,
			 text);
		return -EINVAL;
	}
	if (!sp || !sp[1]) {
		snprintf(err, err_size, "'%s' needs its arguments (see --help)", text);
		return -EINVAL;
	}
	rest = sp + 1;
	if (ret->action == RELABEL_LABELDROP)
		return compile(&ret->re, rest, err, err_size);
	op = strstr(rest, "=~");
	if (!op || !label_name_ok(rest, (size_t)(op - rest))) {
		snprintf(err, err_size, "expected LABEL=~REGEX after '%.*s', got '%s'", (int)alen,
			 text, rest);
		return -EINVAL;
	}
	if (ret->action == RELABEL_REPLACE) {
		arrow = strstr(op + 2, " => ");
		eq = arrow ? strchr(arrow + 4, '=') : NULL;
		if (!arrow || !eq || !label_name_ok(arrow + 4, (size_t)(eq - arrow - 4))) {
			snprintf(err, err_size,
				 "expected 'replace LABEL=~REGEX => TARGET=VALUE', got '%s'", text);
			return -EINVAL;
		}
		ret->target = strndup(arrow + 4, (size_t)(eq - arrow - 4));
		ret->replacement = strdup(eq + 1);
	}
	ret->source = strndup(rest, (size_t)(op - rest));
	{
		char *re = arrow ? strndup(op + 2, (size_t)(arrow - op - 2)) : strdup(op + 2);

		e = re ? compile(&ret->re, re, err, err_size) : -ENOMEM;
		free(re);
	}
	if (!e && (!ret->source ||
		   (ret->action == RELABEL_REPLACE && (!ret->target || !ret->replacement))))
		e = -ENOMEM;
	if (e) {
		free(ret->source);
		free(ret->target);
		free(ret->replacement);
		memset(ret, 0, sizeof(*ret));
	}
	return e;
}

void relabel_free(struct relabel_rule *r)
{
	regfree(&r->re);
	free(r->source);
	free(r->target);
	free(r->replacement);
	memset(r, 0, sizeof(*r));
}

int label_set_put(struct label_set *ls, const char *key, const char *value)
{
	char *v = strdup(value), *k;

	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < ls->n; i++) {
		if (strcmp(ls->key[i], key) == 0) {
			free(ls->value[i]);
			ls->value[i] = v;
			return 0;
		}
	}
	if (ls->n >= RELABEL_MAX_LABELS) {
		free(v);
		return -E2BIG;
	}
	k = strdup(key);
	if (!k) {
		free(v);
		return -ENOMEM;
	}
	ls->key[ls->n] = k;
	ls->value[ls->n++] = v;
	return 0;
}

const char *label_set_get(const struct label_set *ls, const char *key)
{
	for (uint32_t i = 0; i < ls->n; i++)
		if (strcmp(ls->key[i], key) == 0)
			return ls->value[i];
	return NULL;
}

static void label_set_del(struct label_set *ls, uint32_t i)
{
	free(ls->key[i]);
	free(ls->value[i]);
	ls->n--;
	/* keep the order: it is the order labels are exported in */
	memmove(&ls->key[i], &ls->key[i + 1], (ls->n - i) * sizeof(ls->key[0]));
	memmove(&ls->value[i], &ls->value[i + 1], (ls->n - i) * sizeof(ls->value[0]));
}

void label_set_free(struct label_set *ls)
{
	while (ls->n)
		label_set_del(ls, ls->n - 1);
}

/* VALUE with $1..$9 replaced by the groups of the match in src. */
static void expand(const char *tmpl, const char *src, const regmatch_t *m, struct buf *out)
{
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
			const regmatch_t *g = &m[p[1] - '0'];

			if (g->rm_so >= 0)
				buf_append(out, src + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
			p++;
		} else {
			buf_putc(out, (uint8_t)*p);
		}
	}
}

bool relabel_apply(const struct relabel_rule *rules, size_t n, struct label_set *ls)
{
	for (size_t r = 0; r < n; r++) {
		const struct relabel_rule *rule = &rules[r];
		const char *v = rule->source ? label_set_get(ls, rule->source) : NULL;
		regmatch_t m[11]; /* the anchoring group, then $1..$9 */
		bool hit;

		if (rule->action == RELABEL_LABELDROP) {
			for (uint32_t i = ls->n; i-- > 0;)
				if (regexec(&rule->re, ls->key[i], 0, NULL, 0) == 0)
					label_set_del(ls, i);
			continue;
		}
		if (!v)
			v = "";
		hit = regexec(&rule->re, v, 11, m, 0) == 0;
		if ((rule->action == RELABEL_KEEP && !hit) || (rule->action == RELABEL_DROP && hit))
			return false;
		if (rule->action == RELABEL_REPLACE && hit) {
			struct buf out = {0};

			/* group 1 is the whole match (the anchoring parentheses): $1 is the user's
			 * first */
			expand(rule->replacement, v, m + 1, &out);
			if (out.len && !out.oom) {
				label_set_put(ls, rule->target, buf_cstr(&out));
			} else if (!out.len) {
				for (uint32_t i = 0; i < ls->n; i++)
					if (strcmp(ls->key[i], rule->target) == 0)
						label_set_del(ls, i);
			}
			buf_free(&out);
		}
	}
	return true;
}
