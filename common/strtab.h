/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An interned string table: each distinct string stored once, with dense ids from 0.
 * Strings may contain any byte but NUL.
 */
#ifndef SONDE_STRTAB_H
#define SONDE_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hash.h"

struct strtab {
	struct buf data;    /* NUL-separated */
	VEC(uint32_t) offs; /* by id */
	struct itab idx;
};

#define STRTAB_NONE UINT32_MAX

/* The id of s[0..len), adding it when new. Returns STRTAB_NONE when out of memory. */
uint32_t strtab_intern(struct strtab *t, const char *s, size_t len);
/* The id of s if present, else STRTAB_NONE. */
uint32_t strtab_find(const struct strtab *t, const char *s, size_t len);
static inline const char *strtab_get(const struct strtab *t, uint32_t id)
{
	return (const char *)t->data.data + t->offs.v[id];
}
static inline size_t strtab_count(const struct strtab *t)
{
	return t->offs.len;
}
size_t strtab_bytes(const struct strtab *t);
void strtab_clear(struct strtab *t);
void strtab_free(struct strtab *t);

#endif
