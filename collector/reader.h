/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading blocks back: listing a tenant's blocks (time range and level from their keys),
 * fetching a footer, decoding a service, and the visible set: a block some other block names
 * as a source (compaction merged it) is hidden, so no sample is counted twice while the merged
 * inputs wait to be deleted.
 */
#ifndef SONDE_READER_H
#define SONDE_READER_H

#include <stdint.h>

#include "block.h"
#include "objstore.h"

struct block_ref {
	char key[OBJSTORE_MAX_KEY];
	char id[BLOCK_ID_MAX];
	uint64_t size;
	uint64_t min_ms;
	uint64_t max_ms; /* inclusive, rounded up */
	uint32_t level;
};

typedef VEC(struct block_ref) block_refs;

/* Every block of tenant, in key order. Returns 0 or -errno (objstore_error() says why). */
int reader_list(struct objstore *s, const char *tenant, block_refs *out);
/* Every tenant with blocks. Calls fn(ctx, tenant, 0). */
int reader_tenants(struct objstore *s, objstore_list_fn fn, void *ctx);

/* Names collected from a listing: name_list_add is an objstore_list_fn (ctx: the list). */
struct name_list {
	VEC(char *) v;
};
int name_list_add(void *ctx, const char *name, uint64_t size);
void name_list_free(struct name_list *l);

/* Reads the footer of a block. Returns 0, -EBADMSG (reason in err) or -errno. */
int reader_footer(struct objstore *s, const struct block_ref *ref, struct block_info *ret,
		  char *err, size_t err_size);

/*
 * Reads and decodes the sections in mask of service svc of a block whose footer is bi. NULL on
 * failure, with -errno in *ret_err and a reason in err.
 */
struct svcdata *reader_service(struct objstore *s, const struct block_ref *ref,
			       const struct block_info *bi, size_t svc, uint32_t mask, int *ret_err,
			       char *err, size_t err_size);

/*
 * The blocks of tenant a query over [from_ms, to_ms] must read: overlapping the range and not
 * replaced by another block. Footers of compacted blocks are read to learn what they replace
 * (those overlapping the range; a compaction never spans windows). Returns 0 or -errno.
 */
int reader_visible(struct objstore *s, const char *tenant, uint64_t from_ms, uint64_t to_ms,
		   block_refs *out, char *err, size_t err_size);

#endif
