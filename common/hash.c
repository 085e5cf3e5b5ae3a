// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

static inline uint64_t read64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);

	while (len >= 8) {
		h = hash_u64(h ^ read64(p)) * 0x9e3779b97f4a7c15ULL;
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t tail = 0;

		memcpy(&tail, p, len);
		h = hash_u64(h ^ tail ^ ((uint64_t)len << 56));
	}
	return hash_u64(h);
}

static int itab_grow(struct itab *t)
{
	uint32_t ncap = t->cap ? t->cap * 2 : 64;
	struct itab_slot *ns;

	if (ncap < t->cap)
		return -ENOMEM;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->cap; i++) {
		struct itab_slot s = t->slots[i];
		uint32_t j;

		if (!s.idx1)
			continue;
		for (j = s.hash & (ncap - 1); ns[j].idx1; j = (j + 1) & (ncap - 1))
			;
		ns[j] = s;
	}
	free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return 0;
}

int64_t itab_find(const struct itab *t, uint64_t hash, itab_eq_fn eq, const void *ctx,
		  const void *key)
{
	uint32_t h = (uint32_t)hash, j;

	if (!t->cap)
		return -1;
	for (j = h & (t->cap - 1); t->slots[j].idx1; j = (j + 1) & (t->cap - 1)) {
		if (t->slots[j].hash == h && eq(ctx, t->slots[j].idx1 - 1, key))
			return t->slots[j].idx1 - 1;
	}
	return -1;
}

int itab_add(struct itab *t, uint64_t hash, uint32_t idx)
{
	uint32_t h = (uint32_t)hash, j;
	int err;

	if ((t->len + 1) * 4 >= t->cap * 3) {
		err = itab_grow(t);
		if (err)
			return err;
	}
	for (j = h & (t->cap - 1); t->slots[j].idx1; j = (j + 1) & (t->cap - 1))
		;
	t->slots[j].hash = h;
	t->slots[j].idx1 = idx + 1;
	t->len++;
	return 0;
}

void itab_clear(struct itab *t)
{
	if (t->slots)
		memset(t->slots, 0, t->cap * sizeof(*t->slots));
	t->len = 0;
}

void itab_free(struct itab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->len = 0;
}

static inline uint32_t hmap_home(const struct hmap *m, uint64_t key)
{
	return (uint32_t)hash_u64(key) & (m->cap - 1);
}

static int hmap_grow(struct hmap *m)
{
	uint32_t ncap = m->cap ? m->cap * 2 : 16;
	struct hmap old = *m;

	m->slots = calloc(ncap, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	m->cap = ncap;
	m->len = 0;
	for (uint32_t i = 0; i < old.cap; i++) {
		if (old.slots[i].value) {
			uint32_t j = hmap_home(m, old.slots[i].key);

			while (m->slots[j].value)
				j = (j + 1) & (m->cap - 1);
			m->slots[j] = old.slots[i];
			m->len++;
		}
	}
	free(old.slots);
	return 0;
}

void *hmap_get(const struct hmap *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (uint32_t j = hmap_home(m, key); m->slots[j].value; j = (j + 1) & (m->cap - 1)) {
		if (m->slots[j].key == key)
			return m->slots[j].value;
	}
	return NULL;
}

int hmap_put(struct hmap *m, uint64_t key, void *value)
{
	uint32_t j;
	int err;

	if (!value)
		return -EINVAL;
	if ((m->len + 1) * 4 >= m->cap * 3) {
		err = hmap_grow(m);
		if (err)
			return err;
	}
	for (j = hmap_home(m, key); m->slots[j].value; j = (j + 1) & (m->cap - 1)) {
		if (m->slots[j].key == key) {
			m->slots[j].value = value;
			return 0;
		}
	}
	m->slots[j].key = key;
	m->slots[j].value = value;
	m->len++;
	return 0;
}

void *hmap_del(struct hmap *m, uint64_t key)
{
	uint32_t j, k, mask;
	void *value;

	if (!m->cap)
		return NULL;
	mask = m->cap - 1;
	for (j = hmap_home(m, key); m->slots[j].value; j = (j + 1) & mask) {
		if (m->slots[j].key == key)
			break;
	}
	if (!m->slots[j].value)
		return NULL;
	value = m->slots[j].value;
	/* backward-shift deletion keeps probe chains intact without tombstones */
	for (k = (j + 1) & mask; m->slots[k].value; k = (k + 1) & mask) {
		uint32_t home = hmap_home(m, m->slots[k].key);

		if (((k - home) & mask) >= ((k - j) & mask)) {
			m->slots[j] = m->slots[k];
			j = k;
		}
	}
	m->slots[j].value = NULL;
	m->slots[j].key = 0;
	m->len--;
	return value;
}

bool hmap_next(const struct hmap *m, size_t *pos, uint64_t *ret_key, void **ret_value)
{
	for (; *pos < m->cap; (*pos)++) {
		if (m->slots[*pos].value) {
			if (ret_key)
				*ret_key = m->slots[*pos].key;
			if (ret_value)
				*ret_value = m->slots[*pos].value;
			(*pos)++;
			return true;
		}
	}
	return false;
}

void hmap_free(struct hmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}
