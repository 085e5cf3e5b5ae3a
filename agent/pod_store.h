/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cache of pod metadata for the processes of this node: name, namespace, labels,
 * controlling workload and container names of every pod the API server has scheduled here, so a
 * process whose cgroup path names a pod UID (labels.h) is labelled with them and with the
 * service it belongs to.
 *
 * No threads, no I/O: it applies a PodList and watch events in the API server's JSON, keeps each
 * pod's label-relevant facts in one allocation, and answers lookups by pod UID. Bounded: at most
 * max_pods pods (more are counted, not cached), POD_MAX_LABELS labels and POD_MAX_CONTAINERS
 * containers each. k8s_client.h runs it against the API server.
 */
#ifndef SONDE_POD_STORE_H
#define SONDE_POD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relabel.h"
#include "../common/buf.h"

#define POD_STORE_MAX_PODS 4096 /* default bound on pods cached (kubelet's max-pods is 110) */
#define POD_MAX_LABELS 48	/* pod labels kept per pod; the rest are counted */
#define POD_MAX_CONTAINERS 64	/* container statuses kept per pod */
#define POD_DELETED_TTL_NS (120ull * 1000000000ull) /* a deleted pod's metadata stays this long */
#define POD_STORE_RV_MAX 64 /* bytes of a resourceVersion kept (with its NUL) */

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

/*
 * The two halves of pod_store__apply_list/event, for a store shared between threads: parsing an
 * answer of the API server does not touch the cache (only the store's scratch space, so one
 * thread parses at a time) and can run outside the lock that guards lookups; committing applies
 * it at once. The fields of struct pod_batch are the store's own.
 */
enum pod_batch_kind { POD_BATCH_NONE, POD_BATCH_LIST, POD_BATCH_UPSERT, POD_BATCH_DELETE };

struct pod;
struct pod_batch {
	enum pod_batch_kind kind;
	int result; /* of the parse: 0, -EINVAL, -ESTALE, -EPROTO, -ENOMEM */
	VEC(struct pod *) pods;
	char uid[37];		      /* POD_BATCH_DELETE */
	char rv[POD_STORE_RV_MAX];    /* "" when the answer has none */
	struct pod_store_stats delta; /* counts to add to the store's */
};

/* Parses a PodList (or one watch event) into ret; ret->result says whether it is usable. */
void pod_store__parse_list(struct pod_store *s, const char *json, size_t len,
			   struct pod_batch *ret);
void pod_store__parse_event(struct pod_store *s, const char *json, size_t len,
			    struct pod_batch *ret);
/*
 * Applies a parsed answer, taking its pods (b is empty afterwards, whatever the result), as
 * pod_store__apply_list/event do. Returns b->result, or -ENOMEM.
 */
int pod_store__commit(struct pod_store *s, struct pod_batch *b, uint64_t now_ns, char *rv,
		      size_t rv_size);

#endif
