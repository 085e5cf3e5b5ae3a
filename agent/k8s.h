/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod metadata for the processes of this node: name, namespace, labels, controlling workload and
 * container names of every pod the API server has scheduled here, so a process whose cgroup path
 * names a pod UID (labels.h) is labelled with them and with the service it belongs to.
 *
 * struct pod_store is the cache (no threads, no I/O): it applies a PodList and watch events in
 * the API server's JSON, keeps each pod's label-relevant facts in one allocation, and answers
 * lookups by pod UID. struct k8s_meta runs it against the API server: a thread lists the node's
 * pods (fieldSelector spec.nodeName), then watches them from the list's resourceVersion,
 * re-listing when the watch ends in 410 Gone, with backoff on errors.
 */
#ifndef SONDE_K8S_H
#define SONDE_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relabel.h"

#define POD_STORE_MAX_PODS 4096 /* default bound on pods cached (kubelet's max-pods is 110) */
#define POD_MAX_LABELS 48	/* pod labels kept per pod; the rest are counted */
#define POD_MAX_CONTAINERS 64	/* container statuses kept per pod */
#define POD_DELETED_TTL_NS (120ull * 1000000000ull) /* a deleted pod's metadata stays this long */

struct pod_store_stats {
	uint64_t pods;		    /* cached, including recently deleted */
	uint64_t events;	    /* watch events applied */
	uint64_t lists;		    /* lists applied */
	uint64_t malformed;	    /* objects or events refused as malformed */
	uint64_t pods_over_limit;   /* pods not cached: the store was full */
	uint64_t labels_over_limit; /* pod labels past POD_MAX_LABELS, or too long */
	uint64_t other_node;	    /* pods of another node (ignored) */
};

struct pod_store;

/* node_name: pods of other nodes are ignored (NULL: none are). max_pods 0 = the default. */
struct pod_store *pod_store__new(const char *node_name, uint32_t max_pods);
void pod_store__free(struct pod_store *s);

/*
 * A PodList (or PartialObjectMetadataList) replaces what is cached: pods it no longer has are
 * kept as deleted for POD_DELETED_TTL_NS. rv (rv_size bytes) receives the list's
 * resourceVersion. Returns 0, -EINVAL when malformed (nothing changes), or -ENOMEM.
 */
int pod_store__apply_list(struct pod_store *s, const char *json, size_t len, uint64_t now_ns,
			  char *rv, size_t rv_size);
/*
 * One watch event ({"type": ..., "object": ...}): ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.
 * rv receives the object's resourceVersion. Returns 0; -ESTALE for an ERROR with code 410
 * (the watch must start again from a new list); -EPROTO for another ERROR; -EINVAL when
 * malformed (the event is ignored and counted); -ENOMEM.
 */
int pod_store__apply_event(struct pod_store *s, const char *json, size_t len, uint64_t now_ns,
			   char *rv, size_t rv_size);
/* Forgets pods deleted more than POD_DELETED_TTL_NS before now. */
void pod_store__expire(struct pod_store *s, uint64_t now_ns);

/*
 * The labels of the process in pod uid (and container container_id, 64 hex, or "") into ls:
 * k8s.pod.name, k8s.namespace.name, k8s.container.name, k8s.deployment.name (or replicaset,
 * statefulset, daemonset, job, cronjob), k8s.pod.label.KEY; and the service name it belongs
 * to into service (service_size bytes). Returns the pod's version (> 0), or 0 when the pod is
 * unknown (nothing added). A label that does not fit in ls (or finds no memory) is added to
 * *ret_dropped (may be NULL).
 */
uint64_t pod_store__labels(const struct pod_store *s, const char *uid, const char *container_id,
			   struct label_set *ls, char *service, size_t service_size,
			   uint32_t *ret_dropped);
/* The version of pod uid's metadata (changes whenever a label it gives changes), 0 = unknown. */
uint64_t pod_store__version(const struct pod_store *s, const char *uid);
/* Changes whenever any pod's version does. */
uint64_t pod_store__generation(const struct pod_store *s);
void pod_store__stats(const struct pod_store *s, struct pod_store_stats *ret);

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
