/* SPDX-License-Identifier: Apache-2.0 */
/* What objstore.c shares with its backends (objstore_dir.c, objstore_s3.c). */
#ifndef SONDE_OBJSTORE_IMPL_H
#define SONDE_OBJSTORE_IMPL_H

#include <pthread.h>

#include "objstore.h"

struct objstore_ops {
	int (*put)(struct objstore *s, const char *key, const void *data, size_t len);
	int (*get)(struct objstore *s, const char *key, uint64_t off, uint64_t len,
		   struct buf *out);
	int (*list)(struct objstore *s, const char *prefix, bool dirs, objstore_list_fn fn,
		    void *ctx);
	int (*del)(struct objstore *s, const char *key);
	int (*claim)(struct objstore *s);
	void (*free)(struct objstore *s);
};

struct objcache;

struct objstore {
	const struct objstore_ops *ops;
	char *url;
	pthread_mutex_t stats_lock;
	struct objstore_stats stats;
	struct objcache *cache; /* ranged reads kept in memory; NULL: none */
};

/* Records the calling thread's failure message; returns err. */
int objstore_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void objstore_count(struct objstore *s, uint64_t *counter, uint64_t n);

/*
 * The AWS Signature V4 (hex) of an S3 request signing host, x-amz-content-sha256 and
 * x-amz-date (and x-amz-security-token with a session token). The URI and query are
 * canonical already (encoded, parameters sorted).
 */
void s3_signature(const char *method, const char *canonical_uri, const char *canonical_query,
		  const char *host, const char *payload_hash, const char *amz_date,
		  const char *region, const char *secret_key, const char *session_token,
		  char out[65]);

struct objstore *objstore_dir_open(const char *path, char *err, size_t err_size);
struct objstore *objstore_s3_open(const char *url, char *err, size_t err_size);

#endif
