/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The query engine: selects samples by a selector (selector.h), a time range and a profile type
 * from the visible blocks (reading only the blocks whose time and service match, and only the
 * sections the operation needs), merges them by id, and computes time series, heatmaps and label
 * listings of the selection (docs/query-api.md). Flame graphs, top functions and diffs of a
 * selection are flamegraph.h's.
 */
#ifndef SONDE_ENGINE_H
#define SONDE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "objstore.h"
#include "selector.h"
#include "../profile/svcdata.h"
#include "../common/buf.h"
#include "../common/hash.h"
#include "../common/strtab.h"

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
	/*
	 * Nothing selected because a label or the type is unknown: an empty selection, not the
	 * -EINVAL that says which (the Pyroscope API answers no data there).
	 */
	bool unknown_is_empty;
	/* Names the frames that came without one (NEED_STACKS, namer.h); NULL: as stored. */
	struct namer *namer;
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

/*
 * Label names, values of one label, profile types (profile/ptype.h IDs): a JSON array of
 * strings (or lines).
 */
int engine_label_names(const struct selection *sel, bool tsv, struct buf *out);
int engine_label_values(const struct selection *sel, const char *name, bool tsv, struct buf *out);
int engine_types(const struct selection *sel, bool tsv, struct buf *out);
/*
 * The same label names and values added to a table (id 0 is made "" when t is empty), to be
 * listed in order with engine_sorted: ids 1.. of t sorted by string (n of them; free them).
 * 0 or -ENOMEM; engine_sorted NULL on ENOMEM.
 */
int engine_label_names_into(const struct selection *sel, struct strtab *t);
int engine_label_values_into(const struct selection *sel, const char *name, struct strtab *t);
uint32_t *engine_sorted(const struct strtab *t, size_t *ret_n);
/* The profile type IDs of the selection's series, added to t as above. 0 or -ENOMEM. */
int selection_types(const struct selection *sel, struct strtab *t);
/* Drops the rows of every series whose profile type ID is not id. */
void selection_keep_type(struct selection *sel, const char *id);

#endif
