// SPDX-License-Identifier: Apache-2.0
#include <string.h>

#include "strtab.h"

struct str_key {
	const char *s;
	size_t len;
};

static bool str_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct strtab *t = ctx;
	const struct str_key *k = key;
	const char *s = strtab_get(t, idx);

	return strncmp(s, k->s, k->len) == 0 && s[k->len] == 0;
}

uint32_t strtab_find(const struct strtab *t, const char *s, size_t len)
{
	struct str_key k = {s, len};
	int64_t idx = itab_find(&t->idx, hash_bytes(s, len, 7), str_eq, t, &k);

	return idx < 0 ? STRTAB_NONE : (uint32_t)idx;
}

uint32_t strtab_intern(struct strtab *t, const char *s, size_t len)
{
	struct str_key k = {s, len};
	uint64_t h = hash_bytes(s, len, 7);
	int64_t idx = itab_find(&t->idx, h, str_eq, t, &k);
	uint32_t id;

	if (idx >= 0)
		return (uint32_t)idx;
	if (t->data.len + len + 1 > UINT32_MAX)
		return STRTAB_NONE;
	id = (uint32_t)t->offs.len;
	if (VEC_PUSH(&t->offs, (uint32_t)t->data.len))
		return STRTAB_NONE;
	buf_append(&t->data, s, len);
	buf_putc(&t->data, 0);
	if (t->data.oom || itab_add(&t->idx, h, id)) {
		t->offs.len--;
		return STRTAB_NONE;
	}
	return id;
}

size_t strtab_bytes(const struct strtab *t)
{
	return t->data.cap + t->offs.cap * sizeof(uint32_t) + t->idx.cap * sizeof(struct itab_slot);
}

void strtab_clear(struct strtab *t)
{
	buf_reset(&t->data);
	t->offs.len = 0;
	itab_clear(&t->idx);
}

void strtab_free(struct strtab *t)
{
	buf_free(&t->data);
	VEC_FREE(&t->offs);
	itab_free(&t->idx);
}
