// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "qctl.h"
#include "../profile/folded.h"
#include "../common/json.h"
#include "../common/util.h"

static int64_t node_child(struct fgraph *g, uint32_t parent, const char *name, size_t len)
{
	uint32_t id = strtab_intern(&g->names, name, len);
	uint64_t key;
	void *v;
	struct fg_node n = {0};

	if (id == STRTAB_NONE)
		return -ENOMEM;
	key = (uint64_t)parent << 32 | id;
	v = hmap_get(&g->children, key);
	if (v)
		return (int64_t)(uintptr_t)v - 1;
	n.name = id;
	n.parent = parent;
	n.next_sibling = g->nodes.v[parent].first_child;
	if (VEC_PUSH(&g->nodes, n))
		return -ENOMEM;
	g->nodes.v[parent].first_child = (uint32_t)(g->nodes.len - 1);
	if (hmap_put(&g->children, key, (void *)(uintptr_t)g->nodes.len))
		return -ENOMEM;
	return (int64_t)g->nodes.len - 1;
}

static int fgraph_init(struct fgraph *g)
{
	struct fg_node root = {0};

	if (g->nodes.len)
		return 0;
	if (strtab_intern(&g->names, "", 0) == STRTAB_NONE || VEC_PUSH(&g->nodes, root))
		return -ENOMEM;
	return 0;
}

/* The graph node of (process node, stack node), memoized in memo (key stack + 1). */
static int64_t graph_node(struct fgraph *g, const struct svcdata *sd, uint32_t proc, uint32_t stack,
			  struct hmap *memo, struct buf *names)
{
	VEC(uint32_t) chain = {0};
	int64_t at = proc;
	void *v;

	/* up to the nearest node already placed */
	while (stack && !(v = hmap_get(memo, (uint64_t)stack + 1))) {
		if (VEC_PUSH(&chain, stack)) {
			VEC_FREE(&chain);
			return -ENOMEM;
		}
		stack = sd->nodes.v[stack].parent;
	}
	if (stack)
		at = (int64_t)(uintptr_t)v - 1;
	/* and down again, frame by frame */
	for (size_t i = chain.len; i-- > 0 && at >= 0;) {
		const char *p, *end;

		buf_reset(names);
		folded_location_frames(sd, sd->nodes.v[chain.v[i]].location, names);
		p = (const char *)names->data;
		end = p + names->len;
		while (p && p < end && at >= 0) {
			const char *next;

			p++; /* the ';' before each name */
			next = memchr(p, ';', (size_t)(end - p));
			at = node_child(g, (uint32_t)at, p, (size_t)((next ? next : end) - p));
			p = next;
		}
		if (at >= 0 &&
		    hmap_put(memo, (uint64_t)chain.v[i] + 1, (void *)(uintptr_t)(at + 1)))
			at = -ENOMEM;
	}
	VEC_FREE(&chain);
	return names->oom ? -ENOMEM : at;
}

/* The node of a series' process under the root (process.executable.name, else the service). */
static int64_t process_node(struct fgraph *g, const struct svcdata *sd, uint32_t series)
{
	const char *proc = svcdata__label(sd, series, "process.executable.name");
	struct buf pname = {0};
	int64_t pn;

	for (const char *c = proc && *proc ? proc : sd->name; *c; c++)
		buf_putc(&pname, *c == ';' || *c == '\n'    ? ':'
				 : *c == '\t' || *c == '\r' ? ' '
							    : (uint8_t)*c);
	pn = node_child(g, 0, pname.data ? (const char *)pname.data : "", pname.len);
	buf_free(&pname);
	return pn;
}

int fgraph_add(struct fgraph *g, const struct svcdata *sd, int side)
{
	struct hmap procs = {0}; /* process name id + 1 -> struct hmap * of its memo */
	struct buf names = {0};
	int err = fgraph_init(g);

	g->totals_done = false;
	uint32_t last_series = UINT32_MAX;
	struct hmap *memo = NULL;
	int64_t pn = 0;

	for (size_t i = 0; !err && i < sd->rows.len; i++) {
		const struct sd_row *r = &sd->rows.v[i];
		int64_t n;

		/* millions of rows take seconds: the query's deadline holds here too (qctl.h) */
		if (!(i & 4095) && (err = qctl_check(qctl_current())))
			break;

		/* rows come sorted by series: the process node changes only with it */
		if (r->series != last_series) {
			pn = g->no_process ? 0 : process_node(g, sd, r->series);
			if (pn < 0) {
				err = (int)pn;
				break;
			}
			memo = hmap_get(&procs, (uint64_t)pn + 1);
			if (!memo) {
				memo = calloc(1, sizeof(*memo));
				if (!memo || hmap_put(&procs, (uint64_t)pn + 1, memo)) {
					free(memo);
					err = -ENOMEM;
					break;
				}
			}
			last_series = r->series;
		}
		n = graph_node(g, sd, (uint32_t)pn, r->stack, memo, &names);
		if (n < 0) {
			err = (int)n;
			break;
		}
		g->nodes.v[n].self[side] = value_add(g->nodes.v[n].self[side], r->value);
	}
	for (size_t pos = 0;;) {
		uint64_t key;
		void *memo;

		if (!hmap_next(&procs, &pos, &key, &memo))
			break;
		hmap_free(memo);
		free(memo);
	}
	hmap_free(&procs);
	buf_free(&names);
	return err;
}

int fgraph_add_selection(struct fgraph *g, const struct selection *sel, int side)
{
	int err = fgraph_init(g);

	for (size_t i = 0; !err && i < sel->svc.len; i++)
		err = fgraph_add(g, sel->svc.v[i], side);
	return err;
}

void fgraph_free(struct fgraph *g)
{
	strtab_free(&g->names);
	VEC_FREE(&g->nodes);
	hmap_free(&g->children);
}

/* Totals: children come after their parents, so one backward pass adds each into its parent. */
static void fgraph_totals(struct fgraph *g)
{
	if (g->totals_done)
		return;
	for (size_t i = 0; i < g->nodes.len; i++)
		for (int s = 0; s < 2; s++)
			g->nodes.v[i].total[s] = g->nodes.v[i].self[s];
	for (size_t i = g->nodes.len; i-- > 1;)
		for (int s = 0; s < 2; s++)
			g->nodes.v[g->nodes.v[i].parent].total[s] = value_add(
				g->nodes.v[g->nodes.v[i].parent].total[s], g->nodes.v[i].total[s]);
	g->totals_done = true;
}

static int64_t weight(const struct fg_node *n)
{
	return MAX(n->total[0], n->total[1]);
}

static int cmp_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The smallest weight a node may have to be kept among max_nodes. */
static int64_t keep_threshold(const struct fgraph *g, size_t max_nodes)
{
	int64_t *w, t;

	if (g->nodes.len <= max_nodes || max_nodes < 2)
		return max_nodes < 2 && g->nodes.len > max_nodes ? INT64_MAX : 0;
	w = malloc(g->nodes.len * sizeof(*w));
	if (!w)
		return INT64_MAX; /* out of memory: the root alone, folded, rather than everything
				   */
	for (size_t i = 0; i < g->nodes.len; i++)
		w[i] = weight(&g->nodes.v[i]);
	qsort(w, g->nodes.len, sizeof(*w), cmp_desc);
	/*
	 * Strictly above the first left out, so ties never exceed the limit; at most half the
	 * limit is kept, as each kept node may get one "other" child.
	 */
	t = w[max_nodes / 2] + 1;
	free(w);
	return t;
}

/* qsort_r comparators: queries run on several threads at once, so no globals */
static int child_cmp(const void *a, const void *b, void *ctx)
{
	const struct fgraph *g = ctx;
	const struct fg_node *x = &g->nodes.v[*(const uint32_t *)a];
	const struct fg_node *y = &g->nodes.v[*(const uint32_t *)b];

	return strcmp(strtab_get(&g->names, x->name), strtab_get(&g->names, y->name));
}

struct emit {
	struct buf *out;
	bool diff, tsv;
	size_t count;
	VEC(uint32_t) kids;
	struct fg_levels *lv; /* levels instead of text */
	VEC(int64_t) next_x;  /* levels: per depth and side, where the next node starts */
	uint32_t *name_ix;    /* levels: graph name id -> index in lv->names + 1 */
	uint32_t other_ix;
	int err;
};

/* The index in lv->names of a node's name (graph name id, UINT32_MAX for "other"). */
static uint32_t level_name(struct emit *em, const char *name, uint32_t id)
{
	uint32_t *slot = id == UINT32_MAX ? &em->other_ix : &em->name_ix[id];

	if (!*slot) {
		if (VEC_PUSH(&em->lv->names, name)) {
			em->err = -ENOMEM;
			return 0;
		}
		*slot = (uint32_t)em->lv->names.len;
	}
	return *slot - 1;
}

/* A node in levels: [x_delta, total, self] per side, then the name (docs/pyroscope.md). */
static void emit_level(struct emit *em, const char *name, uint32_t id, uint32_t depth,
		       const int64_t total[2], const int64_t self[2])
{
	struct fg_levels *lv = em->lv;
	struct fg_level empty = {0};
	int sides = em->diff ? 2 : 1;
	uint32_t ix = level_name(em, name, id);

	while (!em->err && lv->levels.len <= depth)
		em->err = VEC_PUSH(&lv->levels, empty);
	while (!em->err && em->next_x.len < 2 * ((size_t)depth + 2))
		em->err = VEC_PUSH(&em->next_x, 0);
	if (em->err)
		return;
	for (int s = 0; s < sides && !em->err; s++) {
		struct fg_level *l = &lv->levels.v[depth];
		int64_t x = em->next_x.v[2 * depth + s];

		em->next_x.v[2 * depth + s] = value_add(x, total[s]);
		em->next_x.v[2 * (depth + 1) + s] = value_add(x, self[s]); /* self first */
		em->err = VEC_PUSH(&l->values, x - l->end[s]);
		if (!em->err)
			em->err = VEC_PUSH(&l->values, total[s]);
		if (!em->err)
			em->err = VEC_PUSH(&l->values, self[s]);
		l->end[s] = value_add(x, total[s]);
		if (depth && self[s] > lv->max_self)
			lv->max_self = self[s];
	}
	if (!em->err)
		em->err = VEC_PUSH(&lv->levels.v[depth].values, (int64_t)ix);
}

static void emit_node(struct emit *em, const struct fgraph *g, const char *name, uint32_t id,
		      uint32_t depth, const int64_t total[2], const int64_t self[2])
{
	struct buf *o = em->out;

	if (em->lv) {
		emit_level(em, name, id, depth, total, self);
		em->count++;
		return;
	}
	if (em->tsv) {
		buf_printf(o, "%u\t%s\t%lld\t%lld", depth, name, (long long)total[0],
			   (long long)self[0]);
		if (em->diff)
			buf_printf(o, "\t%lld\t%lld", (long long)total[1], (long long)self[1]);
		buf_putc(o, '\n');
	} else {
		(void)g;
		buf_printf(o, "%s[%u,", em->count ? "," : "", depth);
		json_string(o, name);
		buf_printf(o, ",%lld,%lld", (long long)total[0], (long long)self[0]);
		if (em->diff)
			buf_printf(o, ",%lld,%lld", (long long)total[1], (long long)self[1]);
		buf_putc(o, ']');
	}
	em->count++;
}

/*
 * Pre-order, children by name; children under the threshold are summed into one "other" child,
 * appended to the graph for the walk (the caller trims them off after).
 */
static int emit_tree(struct fgraph *g, int64_t threshold, struct emit *em, uint64_t *folded)
{
	struct frame {
		uint32_t node, depth;
	};
	VEC(struct frame) stack = {0};
	int err = 0;

	if (VEC_PUSH(&stack, ((struct frame){0, 0})))
		return -ENOMEM;
	while (stack.len && !err) {
		struct frame f = stack.v[--stack.len];
		const struct fg_node *n = &g->nodes.v[f.node];
		struct fg_node other = {.name = UINT32_MAX, .parent = f.node};
		const char *name = f.node == 0		   ? "total"
				   : n->name == UINT32_MAX ? "other"
							   : strtab_get(&g->names, n->name);

		emit_node(em, g, name, n->name, f.depth, n->total, n->self);
		if (em->err) {
			err = em->err;
			break;
		}
		em->kids.len = 0;
		for (uint32_t c = n->first_child; c && !err; c = g->nodes.v[c].next_sibling) {
			const struct fg_node *k = &g->nodes.v[c];

			if (weight(k) >= threshold) {
				err = VEC_PUSH(&em->kids, c);
				continue;
			}
			for (int s = 0; s < 2; s++)
				other.self[s] = other.total[s] =
					value_add(other.total[s], k->total[s]);
		}
		if (em->kids.len > 1)
			qsort_r(em->kids.v, em->kids.len, sizeof(*em->kids.v), child_cmp, g);
		/* pushed first, so popped last: "other" ends its parent's children */
		if (!err && (other.total[0] || other.total[1])) {
			err = VEC_PUSH(&g->nodes, other);
			(*folded)++;
			if (!err)
				err = VEC_PUSH(&stack, ((struct frame){(uint32_t)(g->nodes.len - 1),
								       f.depth + 1}));
		}
		for (size_t k = em->kids.len; k-- > 0 && !err;)
			err = VEC_PUSH(&stack, ((struct frame){em->kids.v[k], f.depth + 1}));
	}
	VEC_FREE(&stack);
	return err;
}

/* The temporary "other" nodes are appended past the graph; they are removed after emitting. */
static int fgraph_emit(struct fgraph *g, size_t max_nodes, struct emit *em, uint64_t *folded)
{
	size_t real = g->nodes.len;
	uint64_t others = 0;
	int err;

	*folded = 0;
	err = qctl_check(qctl_current());
	if (err)
		return err;
	fgraph_totals(g);
	err = emit_tree(g, keep_threshold(g, max_nodes), em, &others);
	g->nodes.len = real;
	/* every node of the graph not emitted went into an "other" */
	*folded = real - (em->count - others);
	VEC_FREE(&em->kids);
	return err;
}

int fgraph_levels(struct fgraph *g, size_t max_nodes, bool diff, struct fg_levels *ret)
{
	struct emit em = {.diff = diff, .lv = ret};
	uint64_t folded;
	int err;

	memset(ret, 0, sizeof(*ret));
	if (fgraph_init(g))
		return -ENOMEM;
	em.name_ix = calloc(strtab_count(&g->names) + 1, sizeof(*em.name_ix));
	if (!em.name_ix)
		return -ENOMEM;
	em.name_ix[0] = 1; /* the root is names[0], "total" */
	err = VEC_PUSH(&ret->names, "total");
	if (!err)
		err = fgraph_emit(g, max_nodes, &em, &folded);
	ret->total[0] = g->nodes.v[0].total[0];
	ret->total[1] = g->nodes.v[0].total[1];
	free(em.name_ix);
	VEC_FREE(&em.next_x);
	if (err)
		fg_levels_free(ret);
	return err;
}

void fg_levels_free(struct fg_levels *l)
{
	for (size_t i = 0; i < l->levels.len; i++)
		VEC_FREE(&l->levels.v[i].values);
	VEC_FREE(&l->levels);
	VEC_FREE(&l->names);
}

int fgraph_json(struct fgraph *g, size_t max_nodes, bool diff, struct buf *out)
{
	struct emit em = {.out = out, .diff = diff};
	uint64_t folded;
	int err;

	if (fgraph_init(g))
		return -ENOMEM;
	buf_puts(out, "{\"nodes\":[");
	err = fgraph_emit(g, max_nodes, &em, &folded);
	fgraph_totals(g);
	buf_printf(out, "],\"total\":%lld", (long long)g->nodes.v[0].total[0]);
	if (diff)
		buf_printf(out, ",\"total_right\":%lld", (long long)g->nodes.v[0].total[1]);
	buf_printf(out, ",\"nodes_in_graph\":%zu,\"folded_nodes\":%llu}", g->nodes.len,
		   (unsigned long long)folded);
	return err ? err : out->oom ? -ENOMEM : 0;
}

int fgraph_tsv(struct fgraph *g, size_t max_nodes, bool diff, struct buf *out)
{
	struct emit em = {.out = out, .diff = diff, .tsv = true};
	uint64_t folded;
	int err;

	if (fgraph_init(g))
		return -ENOMEM;
	err = fgraph_emit(g, max_nodes, &em, &folded);
	if (folded)
		buf_printf(out, "# %llu nodes folded into \"other\"\n", (unsigned long long)folded);
	return err ? err : out->oom ? -ENOMEM : 0;
}

/* ---- top functions -------------------------------------------------------------------------- */

struct fn_total {
	uint32_t name;
	int64_t self, total;
};

static int fn_cmp(const void *a, const void *b, void *ctx)
{
	const struct fn_total *x = a, *y = b;
	bool by_total = *(const bool *)ctx;
	int64_t kx = by_total ? x->total : x->self, ky = by_total ? y->total : y->self;

	if (kx != ky)
		return kx < ky ? 1 : -1;
	return x->name < y->name ? -1 : x->name > y->name;
}

int fgraph_top(struct fgraph *g, size_t limit, bool by_total, bool tsv, struct buf *out)
{
	size_t nnames = strtab_count(&g->names);
	struct fn_total *fn = calloc(nnames ? nnames : 1, sizeof(*fn));
	uint32_t *on_path = calloc(nnames ? nnames : 1, sizeof(*on_path));
	VEC(uint32_t) stack = {0};
	int64_t all;
	size_t n = 0;
	int err = 0;

	if (!fn || !on_path || fgraph_init(g)) {
		err = -ENOMEM;
		goto out;
	}
	err = qctl_check(qctl_current());
	if (err)
		goto out;
	fgraph_totals(g);
	all = g->nodes.v[0].total[0];
	/*
	 * Depth first; a function's total counts a subtree once even when the function recurses
	 * (only where it is not on the path already). Processes (depth 1) are not functions.
	 * Entries: node, or node | 1 << 31 for "leaving node".
	 */
	for (uint32_t c = g->nodes.v[0].first_child; c && !err; c = g->nodes.v[c].next_sibling)
		for (uint32_t k = g->nodes.v[c].first_child; k && !err;
		     k = g->nodes.v[k].next_sibling)
			err = VEC_PUSH(&stack, k);
	while (stack.len && !err) {
		uint32_t e = stack.v[--stack.len], node = e & ~(1u << 31);
		const struct fg_node *nd = &g->nodes.v[node];

		if (e & (1u << 31)) {
			on_path[nd->name]--;
			continue;
		}
		fn[nd->name].name = nd->name;
		fn[nd->name].self = value_add(fn[nd->name].self, nd->self[0]);
		if (!on_path[nd->name]++)
			fn[nd->name].total = value_add(fn[nd->name].total, nd->total[0]);
		err = VEC_PUSH(&stack, node | (1u << 31));
		for (uint32_t k = nd->first_child; k && !err; k = g->nodes.v[k].next_sibling)
			err = VEC_PUSH(&stack, k);
	}
	for (size_t i = 1; i < nnames; i++)
		if (fn[i].total)
			fn[n++] = fn[i];
	qsort_r(fn, n, sizeof(*fn), fn_cmp, &by_total);
	if (n > limit)
		n = limit;
	if (!tsv)
		buf_printf(out, "{\"total\":%lld,\"functions\":[", (long long)all);
	for (size_t i = 0; i < n; i++) {
		const char *name = strtab_get(&g->names, fn[i].name);

		if (tsv) {
			buf_printf(out, "%s\t%lld\t%lld\n", name, (long long)fn[i].self,
				   (long long)fn[i].total);
			continue;
		}
		buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
		json_string(out, name);
		buf_printf(out, ",\"self\":%lld,\"total\":%lld}", (long long)fn[i].self,
			   (long long)fn[i].total);
	}
	if (!tsv)
		buf_puts(out, "]}");
	if (out->oom)
		err = -ENOMEM;
out:
	free(fn);
	free(on_path);
	VEC_FREE(&stack);
	return err;
}
