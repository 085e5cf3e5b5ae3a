/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parallel block reads for queries: the footers and wanted services of a list of blocks are read
 * by a few threads at once (over S3 each read is a round trip; one after another a query spends
 * its time waiting), and handed to the caller in list order. At most 2 x parallel blocks are
 * read ahead of the caller, which bounds the memory. The readers run under the caller's query
 * control (qctl.h): past its deadline, or once its client hung up, they stop reading.
 */
#ifndef SONDE_FETCH_H
#define SONDE_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "reader.h"
#include "../profile/svcdata.h"

/* Whether the service si of a block is wanted (then read and decoded). */
typedef bool (*fetch_want_fn)(void *ctx, const struct block_service_info *si);

struct fetch_opts {
	struct objstore *store;
	const block_refs *refs; /* must outlive the fetcher */
	uint32_t mask;		/* the sections to decode (reader_service) */
	fetch_want_fn want;
	void *want_ctx;
	unsigned int parallel; /* reads in flight; 0 = 4 */
	bool skip_missing;     /* a block deleted since it was listed comes empty, not as -ENOENT */
};

struct dentry;

struct fetch_block {
	struct block_info bi;
	/*
	 * By service of bi: decoded, or NULL when not wanted. Read-only, and the fetcher's: it
	 * may be shared with other queries through the decoded cache, and is released with the
	 * block (the next fetcher__next or fetcher__free).
	 */
	struct svcdata **svc;
	struct dentry **held; /* the cache entries behind svc, when cached */
};

struct fetcher;

/* Starts reading. NULL on ENOMEM (or no thread could start). */
struct fetcher *fetcher__new(const struct fetch_opts *o);
/*
 * The next block in list order, once read, or NULL: at the end (*ret_err 0) or on a failure
 * (*ret_err: -errno as reader_footer and reader_service return it, or the query control's
 * -ETIMEDOUT or -ECANCELED; a reason in err). The block is f's: the caller may take services
 * out of svc (setting them NULL); the rest is freed by the next call or fetcher__free.
 */
struct fetch_block *fetcher__next(struct fetcher *f, int *ret_err, char *err, size_t err_size);
/* The decoded services kept for later queries, at most max_bytes (0: none). */
void fetcher_set_decoded_cache(uint64_t max_bytes);
void fetcher_decoded_cache_stats(uint64_t *hits, uint64_t *misses, uint64_t *bytes);
/* The reads (and decodings) in flight of a fetcher whose opts say 0; 0 = 4. */
void fetcher_set_parallel(unsigned int n);
/* Stops the reads (waiting for those in flight) and frees f. NULL-safe. */
void fetcher__free(struct fetcher *f);

#endif
