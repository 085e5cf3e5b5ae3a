// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "tenant.h"
#include "../common/util.h"

#define MIN_TOKEN 16
#define MAX_TOKEN 512

struct auth_entry {
	char *token;
	size_t len;
	char *tenant;
};

struct auth {
	struct auth_entry *v;
	size_t n;
};

void auth__free(struct auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		explicit_bzero(a->v[i].token, a->v[i].len);
		free(a->v[i].token);
		free(a->v[i].tenant);
	}
	free(a->v);
	free(a);
}

struct auth *auth__load(const char *path, char *err, size_t err_size)
{
	struct auth *a = calloc(1, sizeof(*a));
	char *data = NULL, *line, *save = NULL;
	size_t len, lineno = 0, cap = 0;
	int e;

	if (!a) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	e = read_file(-1, path, AUTH_MAX_FILE, &data, &len);
	if (e) {
		snprintf(err, err_size, "cannot read the token file %s: %s", path,
			 e == -EFBIG ? "over 16 MiB" : strerror(-e));
		goto fail;
	}
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char token[MAX_TOKEN + 1], tenant[80], extra[2];
		int n;

		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#' || *line == '\r')
			continue;
		n = sscanf(line, "%512s %79s %1s", token, tenant, extra);
		if (n != 2 || !tenant_valid(tenant) || strlen(token) < MIN_TOKEN) {
			snprintf(err, err_size,
				 "%s:%zu: expected 'TOKEN TENANT' (a token of %d to %d characters, "
				 "a tenant of "
				 "letters, digits, '.', '_', '-')",
				 path, lineno, MIN_TOKEN, MAX_TOKEN);
			goto fail;
		}
		for (size_t i = 0; i < a->n; i++) {
			if (strcmp(a->v[i].token, token) == 0) {
				snprintf(err, err_size, "%s:%zu: this token is given twice", path,
					 lineno);
				goto fail;
			}
		}
		if (a->n == AUTH_MAX_TOKENS) {
			snprintf(err, err_size, "%s: more than %d tokens", path, AUTH_MAX_TOKENS);
			goto fail;
		}
		if (a->n == cap) {
			struct auth_entry *v;

			cap = cap ? cap * 2 : 16;
			v = realloc(a->v, cap * sizeof(*v));
			if (!v) {
				snprintf(err, err_size, "out of memory");
				goto fail;
			}
			a->v = v;
		}
		a->v[a->n].token = strdup(token);
		a->v[a->n].len = strlen(token);
		a->v[a->n].tenant = strdup(tenant);
		explicit_bzero(token, sizeof(token));
		if (!a->v[a->n].token || !a->v[a->n].tenant) {
			free(a->v[a->n].token);
			free(a->v[a->n].tenant);
			snprintf(err, err_size, "out of memory");
			goto fail;
		}
		a->n++;
	}
	if (!a->n) {
		snprintf(err, err_size, "the token file %s has no tokens", path);
		goto fail;
	}
	explicit_bzero(data, len);
	free(data);
	return a;
fail:
	if (data)
		explicit_bzero(data, len);
	free(data);
	auth__free(a);
	return NULL;
}

/* Equality in time that depends on the lengths only. */
static bool same(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char diff = alen != blen;

	for (size_t i = 0; i < alen && i < blen; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

const char *auth__tenant(const struct auth *a, const char *authorization)
{
	const char *token, *found = NULL;
	size_t len;

	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	token = authorization + 7;
	while (*token == ' ')
		token++;
	len = strlen(token);
	while (len && (token[len - 1] == ' ' || token[len - 1] == '\r'))
		len--;
	/* every token is compared: how long it takes says nothing of which one matched */
	for (size_t i = 0; i < a->n; i++)
		if (same(a->v[i].token, a->v[i].len, token, len))
			found = a->v[i].tenant;
	return found;
}

size_t auth__count(const struct auth *a)
{
	return a->n;
}
