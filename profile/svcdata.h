/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The profiles of one service, the unit a block stores: everything symbolic (strings,
 * mappings, functions, locations) and every stack once, label sets (series) once, and samples
 * as rows of small integers (series, time, stack, value).
 *
 * Ingest builds one from OTLP, compaction and queries merge several into one; the same
 * interning serves all three. Id 0 of every table is its zero entry: the empty string, no
 * mapping, no function, no location, the empty stack (the root of the stack tree).
 *
 * Stacks are a tree: node = (parent node, location), root first; a stack is the node of its
 * leaf, so stacks sharing callers share nodes.
 */
#ifndef SONDE_SVCDATA_H
#define SONDE_SVCDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/hash.h"
#include "../common/strtab.h"

#define SVC_MAX_STACK_DEPTH 16384 /* frames (locations) in one stack */
#define SVC_MAX_LINES 256	  /* lines (inline frames) of one location */
#define SVC_MAX_LABELS 128	  /* labels of one series */

struct sd_mapping {
	uint64_t start;
	uint64_t limit;
	uint64_t offset;
	uint32_t filename; /* string ids */
	uint32_t build_id;
};

struct sd_function {
	uint32_t name;
	uint32_t system_name;
	uint32_t filename;
	int64_t start_line;
};

struct sd_line {
	uint32_t function;
	int64_t line;
	int64_t column;
};

struct sd_location {
	uint32_t mapping;
	uint32_t frame_type; /* string id ("native", "kernel", "go", ...; 0 = unknown) */
	uint64_t address;
	uint32_t first_line; /* into lines; inlined callee first, as in OTLP */
	uint32_t nlines;
};

struct sd_node {
	uint32_t parent; /* 0 = the root */
	uint32_t location;
};

/* What a series' values are: OTLP sample type, period type and period. */
struct sd_type {
	uint32_t sample_type; /* string ids */
	uint32_t sample_unit;
	uint32_t period_type;
	uint32_t period_unit;
	int64_t period;
};

struct sd_label {
	uint32_t key; /* string ids */
	uint32_t value;
};

struct sd_series {
	uint32_t type;
	uint32_t first_label; /* into labels, sorted by key */
	uint32_t nlabels;
};

struct sd_row {
	uint32_t series;
	uint32_t stack;	  /* node id */
	uint64_t time_ns; /* Unix time */
	int64_t value;
};

#define SD_TABLE(T)              \
	struct {                 \
		T *v;            \
		size_t len, cap; \
		struct itab idx; \
	}

struct svcdata {
	char *name; /* the service */
	struct strtab strings;
	SD_TABLE(struct sd_mapping) mappings;
	SD_TABLE(struct sd_function) functions;
	SD_TABLE(struct sd_location) locations;
	VEC(struct sd_line) lines;
	SD_TABLE(struct sd_node) nodes;
	SD_TABLE(struct sd_type) types;
	SD_TABLE(struct sd_series) series;
	VEC(struct sd_label) labels;
	VEC(struct sd_row) rows;
	uint64_t min_time_ns; /* of the rows; UINT64_MAX/0 when empty */
	uint64_t max_time_ns;
	uint64_t profiles;     /* OTLP profiles that went in */
	size_t collapsed_rows; /* rows after the last svcdata__sort_rows (the engine's bookkeeping)
				*/
	bool indexed; /* interning works (a builder); a decoded block is not until svcdata__index */
};

/* A new, empty service (name copied), its tables holding their zero entries. NULL on ENOMEM. */
struct svcdata *svcdata__new(const char *name);
void svcdata__free(struct svcdata *sd);
/* Memory held, roughly, in bytes. */
size_t svcdata__bytes(const struct svcdata *sd);
/* Builds the intern indexes of a decoded service so more can be added. 0 or -ENOMEM. */
int svcdata__index(struct svcdata *sd);

/* Interning: each returns the id of an equal entry, adding it when new; UINT32_MAX on ENOMEM. */
uint32_t svcdata__string(struct svcdata *sd, const char *s, size_t len);
uint32_t svcdata__mapping(struct svcdata *sd, const struct sd_mapping *m);
uint32_t svcdata__function(struct svcdata *sd, const struct sd_function *f);
/* lines[0..l->nlines) are copied; l->first_line is ignored. */
uint32_t svcdata__location(struct svcdata *sd, const struct sd_location *l,
			   const struct sd_line *lines);
/* The node of a stack given leaf first, as OTLP does (n may be 0: the root). */
uint32_t svcdata__stack(struct svcdata *sd, const uint32_t *locations, size_t n);
uint32_t svcdata__child(struct svcdata *sd, uint32_t parent, uint32_t location);
uint32_t svcdata__type(struct svcdata *sd, const struct sd_type *t);
/* labels[0..n) are sorted by key here (a copy); keys must be distinct. */
uint32_t svcdata__series(struct svcdata *sd, uint32_t type, const struct sd_label *labels,
			 size_t n);
/*
 * Gives location loc lines[0..n) (names found for it after it was stored: the collector's
 * symbolization). The locations' index is stale until svcdata__rehash_locations: name them all,
 * then rehash once. 0 or -ENOMEM.
 */
int svcdata__set_lines(struct svcdata *sd, uint32_t loc, const struct sd_line *lines, uint32_t n);
/* Rebuilds the locations' index of an indexed svcdata (no-op otherwise). 0 or -ENOMEM. */
int svcdata__rehash_locations(struct svcdata *sd);
/* Appends a sample row. 0 or -ENOMEM. */
int svcdata__row(struct svcdata *sd, uint32_t series, uint32_t stack, uint64_t time_ns,
		 int64_t value);

/*
 * Maps every id of src into dst (interning), for rows of src that keep(ctx, row) accepts (all
 * when keep is NULL), and appends those rows. dst must be indexed. Returns 0 or -ENOMEM.
 */
int svcdata__merge(struct svcdata *dst, const struct svcdata *src,
		   bool (*keep)(void *ctx, const struct svcdata *src, const struct sd_row *row),
		   void *ctx);

/*
 * Sorts rows by (series, time, stack) and merges rows equal in all three (values added), with
 * times first truncated to a multiple of unit_ns. Returns the number of rows left.
 */
size_t svcdata__sort_rows(struct svcdata *sd, uint64_t unit_ns);

/* a + b, saturating: sample values come from the network. */
int64_t value_add(int64_t a, int64_t b);
/* a × b, saturating (a value times its period). */
int64_t value_mul(int64_t a, int64_t b);

/* Label value of key in a series, or NULL. */
const char *svcdata__label(const struct svcdata *sd, uint32_t series, const char *key);

#endif
