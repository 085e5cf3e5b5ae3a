/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Object storage behind one small interface: whole-object PUT (atomic: readers see the old
 * object, or none, or the whole new one), ranged GET, LIST by prefix, DELETE.
 *
 * Backends, chosen by URL:
 *   file:///path, or a bare path   a directory; PUT writes a temporary file, fsyncs it, renames
 *                                  it into place and fsyncs the directory
 *   s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=true
 *                                  S3 or an S3-compatible server, AWS Signature V4 with
 *                                  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
 *                                  AWS_SESSION_TOKEN); 5xx, 429 and timeouts are retried
 *
 * Keys are relative ("tenant/blocks/x.block"): letters, digits, '.', '_', '-' and '/', no empty,
 * "." or ".." component. Every call is thread-safe. Errors are negative errno values; the
 * message of the calling thread's last failure (an S3 error code, a path) is objstore_error().
 */
#ifndef SONDE_OBJSTORE_H
#define SONDE_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

#define OBJSTORE_MAX_KEY 512
#define OBJSTORE_MAX_OBJECT (4ULL << 30) /* bytes: the largest object read or written */

struct objstore;

struct objstore_stats {
	uint64_t puts, gets, lists, deletes;
	uint64_t bytes_put, bytes_got;
	uint64_t retries;
	uint64_t errors;
	uint64_t cache_hits, cache_misses; /* ranged reads answered from / not in the cache */
	uint64_t cache_bytes;		   /* held now */
};

/*
 * Opens the store a URL names. Returns NULL and writes a message a person can act on into err
 * when the URL is malformed or credentials are missing (nothing is contacted yet).
 */
struct objstore *objstore__open(const char *url, char *err, size_t err_size);
void objstore__free(struct objstore *s);
/* The URL as given, with any secrets left out: for logs. */
const char *objstore__url(const struct objstore *s);
bool objstore__is_s3(const struct objstore *s);

/* Stores data under key, replacing any object there. Returns 0 or -errno. */
int objstore__put(struct objstore *s, const char *key, const void *data, size_t len);
/*
 * Appends len bytes of key from offset off to out (len == UINT64_MAX: to the end). Returns 0,
 * -ENOENT when there is no such object, -ERANGE when the range is past its end, or -errno.
 */
int objstore__get(struct objstore *s, const char *key, uint64_t off, uint64_t len, struct buf *out);

typedef int (*objstore_list_fn)(void *ctx, const char *key, uint64_t size);
/*
 * Calls fn for every object whose key starts with prefix, in key order. A non-zero return from
 * fn stops the listing and is returned. Returns 0 or -errno.
 */
int objstore__list(struct objstore *s, const char *prefix, objstore_list_fn fn, void *ctx);
/*
 * Calls fn(ctx, name, 0) for each distinct first path component under prefix ("a/" under ""
 * for "a/x" and "a/y"), without the slash. Returns 0 or -errno.
 */
int objstore__list_dirs(struct objstore *s, const char *prefix, objstore_list_fn fn, void *ctx);
/* Removes key; a key that is not there is not an error. Returns 0 or -errno. */
int objstore__delete(struct objstore *s, const char *key);

/*
 * For a store one process writes (the collector): takes an exclusive lock on a file store
 * (another collector on the same directory is refused with -EBUSY) and removes temporary files
 * a crash left. A no-op for S3, where nothing is left half-written. Returns 0 or -errno.
 */
int objstore__claim(struct objstore *s);

void objstore__stats(struct objstore *s, struct objstore_stats *ret);

/*
 * Keeps up to max_bytes of ranged reads (a GET with a length) in memory, least recently used
 * out first: objects are immutable, so a read of the same range returns the same bytes.
 * Deleting a key drops what is cached of it. Call before sharing the store between threads.
 * Returns 0 or -ENOMEM.
 */
int objstore__set_cache(struct objstore *s, uint64_t max_bytes);

/* Whether key is well-formed (see above). */
bool objstore_key_valid(const char *key);
/* The calling thread's last failure, "" when none. */
const char *objstore_error(void);

#endif
