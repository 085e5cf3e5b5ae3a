/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flame graphs of selected samples: a tree of (process, frames root to leaf) with self and total
 * per node on one or two sides (a diff), rendered as JSON or TSV with the smallest nodes folded,
 * and the top functions by self or total time (docs/query-api.md).
 */
#ifndef SONDE_FLAMEGRAPH_H
#define SONDE_FLAMEGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "../profile/svcdata.h"
#include "../common/buf.h"
#include "../common/hash.h"
#include "../common/strtab.h"

struct fg_node {
	uint32_t name; /* in fgraph.names */
	uint32_t parent;
	uint32_t first_child, next_sibling; /* 0: none (node 0 is the root, never a child) */
	int64_t self[2], total[2]; /* [0]: the selection (left of a diff), [1]: the right */
};

struct fgraph {
	struct strtab names; /* id 0: "" (the root) */
	VEC(struct fg_node) nodes;
	struct hmap children; /* (parent << 32 | name) -> node + 1 */
	bool totals_done;
	bool no_process; /* set before adding: frames start under the root, with no process level */
};

/*
 * Adds the samples of sd to side 0 or 1 of g. The first level under the root is the process
 * (process.executable.name, else the service), then the frames root to leaf, inlined
 * functions as frames of their own, named as in folded output. 0 or -ENOMEM.
 */
int fgraph_add(struct fgraph *g, const struct svcdata *sd, int side);
int fgraph_add_selection(struct fgraph *g, const struct selection *sel, int side);
void fgraph_free(struct fgraph *g);
/*
 * JSON of g (docs/query-api.md): at most max_nodes nodes; the smallest are folded into an
 * "other" node under their parent, and "folded_nodes" says how many. diff: both sides.
 */
int fgraph_json(struct fgraph *g, size_t max_nodes, bool diff, struct buf *out);
/* The same as tab-separated lines "depth name total self [total_right self_right]". */
int fgraph_tsv(struct fgraph *g, size_t max_nodes, bool diff, struct buf *out);

/*
 * The graph as Pyroscope's flame graph levels (docs/pyroscope.md): names[0] is "total" (the
 * root), every level a flat list of [x_delta, total, self] (and the same of the right side in a
 * diff) and the name's index, nodes in ascending x, a parent's self before its children (by
 * name), at most max_nodes nodes as fgraph_json folds them. The names point into g.
 * 0, -ENOMEM, or the query's stop (qctl.h).
 */
struct fg_level {
	VEC(int64_t) values;
	int64_t end[2]; /* where the last node of the level ends, per side */
};
struct fg_levels {
	VEC(const char *) names;
	VEC(struct fg_level) levels;
	int64_t total[2];
	int64_t max_self; /* over both sides, the root left out */
};
int fgraph_levels(struct fgraph *g, size_t max_nodes, bool diff, struct fg_levels *ret);
void fg_levels_free(struct fg_levels *l);

/* Top functions by self (or total) time, at most limit: JSON or TSV "name self total". */
int fgraph_top(struct fgraph *g, size_t limit, bool by_total, bool tsv, struct buf *out);

#endif
