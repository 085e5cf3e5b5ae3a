/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The query engine: selects samples by Prometheus-style label matchers, a time range and a
 * profile type from the visible blocks (reading only the blocks whose time and service match,
 * and only the sections the operation needs), merges them by id, and computes flame graphs,
 * top functions, diffs, time series, heatmaps and label listings (docs/query-api.md).
 *
 * Labels in selectors are the stored attribute keys with '.' as '_' (process.executable.name
 * is process_executable_name); service_name is the service.
 */
#ifndef SONDE_ENGINE_H
#define SONDE_ENGINE_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "objstore.h"
#include "../profile/svcdata.h"
#include "../common/buf.h"
#include "../common/hash.h"
#include "../common/strtab.h"

enum match_op { MATCH_EQ, MATCH_NE, MATCH_RE, MATCH_NRE };

struct matcher {
	char *name;
	enum match_op op;
	char *value;
	regex_t re; /* MATCH_RE, MATCH_NRE: anchored at both ends */
};

struct selector {
	VEC(struct matcher) m;
};

/* Parses "{a="x", b!="y", c=~"re", d!~"re"}" (braces optional, "" or "{}" selects all). */
int selector_parse(const char *text, struct selector *ret, char *err, size_t err_size);
void selector_free(struct selector *sel);
/* A selector of one service: {service_name="name"}. 0 or -ENOMEM. */
int selector_service(struct selector *ret, const char *service);
/* Whether the selector names the label (as written in selectors). */
bool selector_has(const struct selector *sel, const char *name);

struct engine_query {
	const char *tenant;
	const struct selector *sel;
	uint64_t from_ns, to_ns; /* inclusive */
	const char *type;	 /* "samples:count" (sample type:unit), or NULL for any */
	/*
	 * Rows of a series and stack within one multiple of this many ns are summed as they are
	 * read (times truncated to it), which bounds memory by stacks rather than samples: a
	 * flame graph passes ENGINE_NO_TIME, a time series its step. 0 keeps every time.
	 */
	uint64_t collapse_ns;
};

#define ENGINE_NO_TIME (1ULL << 63)

struct engine_stats {
	uint64_t blocks;   /* read (footers) */
	uint64_t services; /* decoded */
	uint64_t rows;	   /* kept */
};

/* What an operation needs of the samples. */
enum engine_need {
	NEED_LABELS, /* strings and series: label listings */
	NEED_VALUES, /* and the sample columns without stacks: series, heatmaps */
	NEED_STACKS, /* everything: flame graphs, top, exports */
};

/* The selected samples: one svcdata per service, each merged over the blocks read. */
struct selection {
	VEC(struct svcdata *) svc;
	struct engine_stats stats;
};

/*
 * The samples q selects. Errors: -EINVAL (a reason in err: an unknown label or type when
 * nothing matched), -EBADMSG (a corrupt block), -E2BIG (over max_rows samples), -errno of the
 * storage.
 */
int engine_select(struct objstore *s, const struct engine_query *q, enum engine_need need,
		  uint64_t max_rows, struct selection *ret, char *err, size_t err_size);
void selection_free(struct selection *sel);
/* All services merged into one (for exports). NULL on ENOMEM. */
struct svcdata *selection_merge(const struct selection *sel);

/* ---- flame graphs --------------------------------------------------------------------------- */

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

/* Top functions by self (or total) time, at most limit: JSON or TSV "name self total". */
int fgraph_top(struct fgraph *g, size_t limit, bool by_total, bool tsv, struct buf *out);

/* ---- time ----------------------------------------------------------------------------------- */

/*
 * Totals per step, one series per value of group_by (NULL: one series), as JSON or TSV
 * "group time_ms value". Buckets start at from_ns. -E2BIG when groups x steps is over
 * max_values (the answer is dense).
 */
int engine_series(const struct selection *sel, const char *group_by, uint64_t from_ns,
		  uint64_t to_ns, uint64_t step_ns, uint64_t max_values, bool tsv, struct buf *out);
/* Per step, the distribution of per-profile (series and step) totals over nbuckets ranges. */
int engine_heatmap(const struct selection *sel, uint64_t from_ns, uint64_t to_ns, uint64_t step_ns,
		   unsigned int nbuckets, struct buf *out);
/* The profiles (series and step) with their totals and a selector for each, largest first. */
int engine_profiles(const struct selection *sel, uint64_t from_ns, uint64_t to_ns, uint64_t step_ns,
		    size_t limit, struct buf *out);

/* Label names, values of one label, profile types: a JSON array of strings (or lines). */
int engine_label_names(const struct selection *sel, bool tsv, struct buf *out);
int engine_label_values(const struct selection *sel, const char *name, bool tsv, struct buf *out);
int engine_types(const struct selection *sel, bool tsv, struct buf *out);

/* A JSON string literal. */
void json_string(struct buf *b, const char *s);

#endif
