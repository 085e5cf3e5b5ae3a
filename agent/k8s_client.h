/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API-server client that keeps a pod_store (pod_store.h) of this node's pods current: a
 * thread lists the node's pods (fieldSelector spec.nodeName), then watches them from the list's
 * resourceVersion, re-listing when the watch ends in 410 Gone, with backoff on errors. Lookups
 * from other threads go through k8s_meta__labels/version/generation, under its lock.
 */
#ifndef SONDE_K8S_CLIENT_H
#define SONDE_K8S_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pod_store.h"
#include "relabel.h"

struct k8s_opts {
	const char *api_url;	/* "https://host:port" */
	const char *node_name;	/* required */
	const char *token_file; /* bearer token, read again for every request (it rotates); NULL */
	const char *ca_file;	/* NULL: the system store */
	uint32_t max_pods;	/* 0 = POD_STORE_MAX_PODS */
	uint32_t watch_timeout_s; /* 0 = 300: the server ends a watch after this; it is renewed */
	const char *user_agent;
};

struct k8s_stats {
	struct pod_store_stats store;
	uint64_t list_requests;
	uint64_t watch_requests;
	uint64_t request_errors; /* connection, TLS, HTTP status or malformed answer */
	uint64_t relists;	 /* watches ended by 410 Gone */
	bool synced;		 /* a list has been applied */
};

struct k8s_meta;

/* Starts the thread. NULL (logged) when out of memory or the options are unusable. */
struct k8s_meta *k8s_meta__new(const struct k8s_opts *opts);
/* Stops the thread, aborting a request in flight. NULL-safe. */
void k8s_meta__free(struct k8s_meta *m);
/* Waits until the first list is applied. 0, or -ETIMEDOUT. */
int k8s_meta__wait_synced(struct k8s_meta *m, int timeout_ms);
/* pod_store__labels, version and generation, under the lock. */
uint64_t k8s_meta__labels(struct k8s_meta *m, const char *uid, const char *container_id,
			  struct label_set *ls, char *service, size_t service_size,
			  uint32_t *ret_dropped);
uint64_t k8s_meta__version(struct k8s_meta *m, const char *uid);
uint64_t k8s_meta__generation(struct k8s_meta *m);
void k8s_meta__stats(struct k8s_meta *m, struct k8s_stats *ret);

#endif
