// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pyro_delta.h"
#include "../common/hash.h"
#include "../common/util.h"

#define DEFAULT_MAX_ENTRIES 1000000

struct entry {
	uint64_t stack; /* the hash of the stack's frames */
	int64_t value;
};

/* A row of the profile being applied. */
struct cur_row {
	uint64_t stack;
	size_t row;
};

/* The previous profile of one series: its values by stack, sorted by stack hash. */
struct prev {
	struct entry *v;
	size_t n;
	uint64_t used;
};

struct pyro_delta {
	pthread_mutex_t lock;
	struct hmap series; /* series key -> struct prev * */
	size_t entries, max_entries;
	uint64_t clock;
};

struct pyro_delta *pyro_delta__new(size_t max_entries)
{
	struct pyro_delta *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->max_entries = max_entries ? max_entries : DEFAULT_MAX_ENTRIES;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

void pyro_delta__free(struct pyro_delta *d)
{
	uint64_t k;
	void *v;

	if (!d)
		return;
	for (size_t pos = 0; hmap_next(&d->series, &pos, &k, &v);) {
		free(((struct prev *)v)->v);
		free(v);
	}
	hmap_free(&d->series);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static bool cumulative(const char *sample_type)
{
	return strcmp(sample_type, "alloc_objects") == 0 ||
	       strcmp(sample_type, "alloc_space") == 0 || strcmp(sample_type, "contentions") == 0 ||
	       strcmp(sample_type, "delay") == 0;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	return hash_bytes(s, strlen(s) + 1, h);
}

/* A series' identity across requests: tenant, service, labels and type, by their strings. */
static uint64_t series_key(const char *tenant, const struct svcdata *sd, uint32_t series)
{
	const struct sd_series *s = &sd->series.v[series];
	const struct sd_type *t = &sd->types.v[s->type];
	uint64_t h = hash_str(hash_str(0x5e1e5, tenant), sd->name);

	for (uint32_t k = 0; k < s->nlabels; k++) {
		const struct sd_label *l = &sd->labels.v[s->first_label + k];

		h = hash_str(hash_str(h, strtab_get(&sd->strings, l->key)),
			     strtab_get(&sd->strings, l->value));
	}
	h = hash_str(h, strtab_get(&sd->strings, t->sample_type));
	h = hash_str(h, strtab_get(&sd->strings, t->sample_unit));
	h = hash_str(h, strtab_get(&sd->strings, t->period_type));
	return (hash_str(h, strtab_get(&sd->strings, t->period_unit)) | 1);
}

struct chain {
	uint32_t *v;
	size_t len, cap;
};

/* The hash of one frame (location) on top of its caller's h. */
static uint64_t frame_hash(const struct svcdata *sd, uint32_t location, uint64_t h)
{
	const struct sd_location *l = &sd->locations.v[location];

	h = hash_bytes(&l->address, sizeof(l->address), h);
	for (uint32_t i = 0; i < l->nlines; i++) {
		const struct sd_line *ln = &sd->lines.v[l->first_line + i];
		const struct sd_function *f = &sd->functions.v[ln->function];

		h = hash_str(hash_str(h, strtab_get(&sd->strings, f->name)),
			     strtab_get(&sd->strings, f->filename));
		h = hash_bytes(&ln->line, sizeof(ln->line), h);
	}
	return h | 1;
}

/*
 * A stack's identity across requests: its frames' names, files and addresses, root first.
 * memo[node] caches it; chain is scratch for the walk up to a cached node. 0 on ENOMEM.
 */
static uint64_t stack_hash(const struct svcdata *sd, uint32_t node, uint64_t *memo,
			   struct chain *chain)
{
	uint64_t h;

	chain->len = 0;
	while (node && !memo[node]) {
		if (VEC_PUSH(chain, node))
			return 0;
		node = sd->nodes.v[node].parent;
	}
	h = node ? memo[node] : 0x57ac;
	for (size_t i = chain->len; i-- > 0;)
		h = memo[chain->v[i]] = frame_hash(sd, sd->nodes.v[chain->v[i]].location, h);
	return h;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int cur_cmp(const void *a, const void *b)
{
	const struct cur_row *x = a, *y = b;

	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* Forgets the least recently used series until n more entries fit. Called with the lock. */
static void make_room(struct pyro_delta *d, size_t n)
{
	while (d->entries + n > d->max_entries && d->series.len) {
		uint64_t k, oldest_key = 0, oldest = UINT64_MAX;
		void *v;

		for (size_t pos = 0; hmap_next(&d->series, &pos, &k, &v);) {
			if (((struct prev *)v)->used < oldest) {
				oldest = ((struct prev *)v)->used;
				oldest_key = k;
			}
		}
		v = hmap_del(&d->series, oldest_key);
		d->entries -= ((struct prev *)v)->n;
		free(((struct prev *)v)->v);
		free(v);
	}
}

long pyro_delta__apply(struct pyro_delta *d, const char *tenant, struct svcdata *sd,
		       size_t first_row)
{
	uint64_t *memo = calloc(sd->nodes.len + 1, sizeof(*memo));
	uint8_t *is_cum = calloc(sd->series.len + 1, 1);
	size_t n = sd->rows.len > first_row ? sd->rows.len - first_row : 0;
	struct cur_row *cur = malloc((n ? n : 1) * sizeof(*cur));
	struct chain chain = {0};
	long dropped = 0;
	size_t kept = first_row;

	if (!memo || !is_cum || !cur) {
		free(memo), free(is_cum), free(cur);
		return -ENOMEM;
	}
	for (uint32_t s = 1; s < sd->series.len; s++)
		is_cum[s] = cumulative(
			strtab_get(&sd->strings, sd->types.v[sd->series.v[s].type].sample_type));
	pthread_mutex_lock(&d->lock);
	/* one series at a time: its rows' values by stack, then against the previous profile */
	for (uint32_t s = 1; s < sd->series.len; s++) {
		uint64_t key;
		struct prev *p, *fresh;
		size_t m = 0;

		if (!is_cum[s])
			continue;
		for (size_t r = first_row; r < sd->rows.len; r++) {
			if (sd->rows.v[r].series != s)
				continue;
			cur[m].stack = stack_hash(sd, sd->rows.v[r].stack, memo, &chain);
			cur[m].row = r;
			m++;
		}
		if (!m)
			continue;
		/* rows of one stack summed into its first, the others emptied (dropped below) */
		qsort(cur, m, sizeof(*cur), cur_cmp);
		for (size_t i = 1; i < m; i++) {
			if (cur[i].stack != cur[i - 1].stack)
				continue;
			sd->rows.v[cur[i - 1].row].value = value_add(
				sd->rows.v[cur[i - 1].row].value, sd->rows.v[cur[i].row].value);
			sd->rows.v[cur[i].row].value = 0;
			cur[i].row = cur[i - 1].row;
		}
		key = series_key(tenant, sd, s);
		p = hmap_get(&d->series, key);
		/* the new baseline: this profile's values by stack */
		fresh = calloc(1, sizeof(*fresh));
		if (!fresh || !(fresh->v = malloc(m * sizeof(*fresh->v)))) {
			free(fresh);
			continue; /* out of memory: this series is stored as sent */
		}
		for (size_t i = 0; i < m; i++) {
			struct sd_row *row = &sd->rows.v[cur[i].row];
			struct entry e = {cur[i].stack, row->value};
			const struct entry *was;

			if (i && cur[i].stack == cur[i - 1].stack)
				continue;
			fresh->v[fresh->n++] = e;
			was = p ? bsearch(&e, p->v, p->n, sizeof(*p->v), entry_cmp) : NULL;
			if (!p)
				row->value = 0; /* a baseline only */
			else if (was && was->value <= row->value)
				row->value -= was->value;
			/* else: new, or lower than before (a restart): as it is */
		}
		if (p) {
			d->entries -= p->n;
			free(p->v);
			free(p);
			hmap_del(&d->series, key);
		}
		make_room(d, fresh->n);
		fresh->used = ++d->clock;
		if (hmap_put(&d->series, key, fresh)) {
			free(fresh->v);
			free(fresh);
		} else {
			d->entries += fresh->n;
		}
	}
	pthread_mutex_unlock(&d->lock);
	for (size_t r = first_row; r < sd->rows.len; r++) {
		if (is_cum[sd->rows.v[r].series] && sd->rows.v[r].value == 0) {
			dropped++;
			continue;
		}
		sd->rows.v[kept++] = sd->rows.v[r];
	}
	sd->rows.len = kept;
	free(memo);
	free(is_cum);
	free(cur);
	VEC_FREE(&chain);
	return dropped;
}
