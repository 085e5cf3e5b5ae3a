/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names for frames that reach the collector without one (docs/symbolization.md): a location
 * with a mapping whose build ID is known but no function (the agent with --symbolize
 * collector, the OpenTelemetry eBPF profiler's native frames, pprof with addresses only).
 *
 * At query time: the selection a query read is named in place before it is rendered, so a
 * frame gets its name as soon as a debug file for its build ID exists, and nothing stored is
 * ever rewritten. Debug files come from, in order: this collector's disk cache; the object store
 * (uploads, debugstore.h); debuginfod (DEBUGINFOD_URLS), whose answers are then stored in the
 * object store for every other collector. A build ID found nowhere is looked for again in the
 * store after refresh_ms and at debuginfod after negative_ttl_s.
 *
 * Fetching runs on a thread of its own; loading symbol data on the symbolizer's. A query waits
 * for both up to its own deadline and wait_ms; frames not ready by then keep their
 * [module+0xADDR] form (counted as pending) and are named by a later query. Memory is bounded by
 * memory_bytes of loaded symbol data, disk by cache_disk_bytes of cached files (least recently
 * used out first).
 *
 * Thread-safe: queries call namer__name from any thread (they take turns for the lookups).
 */
#ifndef SONDE_NAMER_H
#define SONDE_NAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objstore.h"
#include "../profile/svcdata.h"

struct namer_opts {
	struct objstore *store;		/* uploaded debug files; must outlive the namer */
	const char *cache_dir;		/* local copies; NULL = a private temporary directory */
	uint64_t cache_disk_bytes;	/* 0 = 8 GiB */
	uint64_t memory_bytes;		/* loaded symbol data; 0 = 256 MiB */
	uint64_t max_file_bytes;	/* the largest debug file taken; 0 = 512 MiB */
	bool debuginfod;		/* ask DEBUGINFOD_URLS for what the store lacks */
	uint32_t debuginfod_timeout_ms; /* per fetch; 0 = 30 s */
	uint32_t negative_ttl_s; /* a build ID debuginfod lacks is asked for again after; 0 = 600 */
	uint32_t refresh_ms;	 /* the store's list of build IDs is read again after; 0 = 10 s */
	uint32_t wait_ms;	 /* a query waits at most this for debug files; 0 = 10 s */
};

struct namer_stats {
	uint64_t frames_named;	 /* locations named by queries */
	uint64_t frames_pending; /* left unnamed: their debug file was still being fetched/loaded */
	uint64_t frames_no_debuginfo; /* left unnamed: no debug file anywhere for the build ID */
	uint64_t frames_no_symbol;    /* left unnamed: the debug file has no symbol there */
	uint64_t frames_failed;	      /* left unnamed: the debug file could not be read */
	uint64_t name_ns;	      /* time queries spent in namer__name, waits included */
	uint64_t build_ids;	      /* known to this collector */
	uint64_t from_store, from_debuginfod; /* debug files fetched */
	uint64_t fetch_errors;		      /* a store or disk failure, a refused file */
	uint64_t debuginfod_requests, debuginfod_found, debuginfod_ns;
	uint64_t store_lists;
	uint64_t disk_bytes; /* cached files */
	uint64_t memory_bytes;
	uint64_t evicted_files;
};

struct namer;

/* NULL with a message in err when the cache directory cannot be made. */
struct namer *namer__new(const struct namer_opts *opts, char *err, size_t err_size);
/* Stops the fetching thread; removes a private cache directory. NULL-safe. */
void namer__free(struct namer *n);
/*
 * Names, in place, the frames of sd (an indexed svcdata a query owns) that have a mapping with a
 * build ID but no lines, waiting for debug files until deadline_ns at most (CLOCK_MONOTONIC;
 * 0: wait_ms from now). Returns 0 or -ENOMEM (sd is then left as it was, or partly named).
 */
int namer__name(struct namer *n, struct svcdata *sd, uint64_t deadline_ns);
/* wait_ms from now: one deadline for the services of one query. */
uint64_t namer__deadline(const struct namer *n);
/* A debug file for hex was stored (or removed) through this collector: look again at once. */
void namer__changed(struct namer *n, const char *hex);
void namer__stats(struct namer *n, struct namer_stats *ret);
/* Appends the namer's Prometheus metrics (sonde_collector_symbolized_frames_total, ...). */
void namer_metrics(struct namer *n, struct buf *out);

#endif
