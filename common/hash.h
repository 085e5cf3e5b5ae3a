/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hash tables used across Sonde.
 *
 * struct itab is an intern table: it maps a key, which the caller stores in its own array, to
 * that key's index. Callers keep strings, frames or stacks in a vector, and itab finds an existing
 * entry by (hash, equality callback) so each distinct value is stored once.
 *
 * struct hmap maps a non-zero-hashed u64 key to a pointer, with deletion.
 */
#ifndef SONDE_HASH_H
#define SONDE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed);
static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

struct itab_slot {
	uint32_t hash;
	uint32_t idx1; /* entry index + 1; 0 = empty */
};

struct itab {
	struct itab_slot *slots;
	uint32_t cap; /* power of two */
	uint32_t len;
};

/* eq(ctx, idx, key) returns true when the caller's entry idx equals key. */
typedef bool (*itab_eq_fn)(const void *ctx, uint32_t idx, const void *key);

/* Returns the index of the entry equal to key, or -1. */
int64_t itab_find(const struct itab *t, uint64_t hash, itab_eq_fn eq, const void *ctx,
		  const void *key);
/* Records that entry idx has this hash. Returns 0 or -ENOMEM. Does not check for duplicates. */
int itab_add(struct itab *t, uint64_t hash, uint32_t idx);
void itab_clear(struct itab *t);
void itab_free(struct itab *t);

struct hmap_slot {
	uint64_t key;
	void *value; /* NULL = empty */
};

struct hmap {
	struct hmap_slot *slots;
	uint32_t cap;
	uint32_t len;
};

void *hmap_get(const struct hmap *m, uint64_t key);
/* Inserts or replaces; value must not be NULL. Returns 0 or -ENOMEM. */
int hmap_put(struct hmap *m, uint64_t key, void *value);
/* Removes key, returning its value or NULL. */
void *hmap_del(struct hmap *m, uint64_t key);
/* Iteration: for (size_t i = 0; hmap_next(m, &i, &k, &v);) */
bool hmap_next(const struct hmap *m, size_t *pos, uint64_t *ret_key, void **ret_value);
void hmap_free(struct hmap *m);

#endif
