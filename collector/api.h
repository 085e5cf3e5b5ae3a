/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The query API (GET /api/v1/..., docs/query-api.md) and the web UI's files (GET /, /ui/...).
 * Answers are JSON (or tab-separated text with format=tsv, pprof, folded); errors are JSON
 * {"error": "..."} with a 4xx or 5xx status.
 */
#ifndef SONDE_API_H
#define SONDE_API_H

#include <microhttpd.h>
#include <stdint.h>

#include "objstore.h"
#include "../common/buf.h"

struct api_opts {
	struct objstore *store;
	uint64_t max_rows;     /* samples one query may hold (after merging by time); 0 = 20M */
	uint64_t max_range_ns; /* the longest time range; 0 = 31 days */
	struct namer *namer;   /* names frames stored without (namer.h); NULL: none */
	uint64_t debuginfo_max_bytes; /* the largest debug file taken (debugstore.h) */
};

struct api_reply {
	unsigned int status;
	const char *type; /* Content-Type */
	struct buf body;
	const char *header, *header_value; /* one extra header, or NULL */
};

#define API_MAX_NODES 100000 /* nodes one flame graph answer may hold */

/* o's limits, the defaults applied: samples held by one query, the longest range (ns). */
uint64_t api_max_rows(const struct api_opts *o);
uint64_t api_max_range(const struct api_opts *o);
/*
 * The HTTP status and message (into msg) of a failed selection: engine_select's error e and
 * reason err, and the query's stop (qctl.h). The failure is logged.
 */
unsigned int api_select_error(int e, const char *err, char *msg, size_t size);

/* Whether path is the API's or the UI's (GET), the Pyroscope legacy endpoints included. */
bool api_path(const char *path);

/*
 * Answers method (GET, or DELETE of a debug file) path for tenant (already authorized), or
 * with a body (not NULL) what was POSTed to path: a Connect call (pyro_query.h), a debug file
 * (debuginfo_api.h).
 */
void api_handle(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
		const char *method, const char *path, const struct buf *body, struct api_reply *r);
/* r answered status with {"error": message}. */
void api_error(struct api_reply *r, unsigned int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
