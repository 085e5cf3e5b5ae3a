/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer tokens and the tenants they stand for (--auth-token-file): one "TOKEN TENANT" per line;
 * blank lines and lines starting with '#' are skipped.
 */
#ifndef SONDE_AUTH_H
#define SONDE_AUTH_H

#include <stddef.h>

#define AUTH_MAX_TOKENS 100000
#define AUTH_MAX_FILE (16u << 20)

struct auth;

/*
 * Reads a token file. Returns NULL with a message naming the file and line in err when it
 * cannot be read or a line is malformed (a bad tenant name, a token under 16 characters, a
 * token twice).
 */
struct auth *auth__load(const char *path, char *err, size_t err_size);
void auth__free(struct auth *a);
/*
 * The tenant of an "Authorization" header value ("Bearer TOKEN"), or NULL when the header is
 * missing, malformed or names no known token. Compares in time independent of the token.
 */
const char *auth__tenant(const struct auth *a, const char *authorization);
size_t auth__count(const struct auth *a);

#endif
