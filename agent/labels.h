/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Labels of a process: the OpenTelemetry resource attributes a profile of it carries
 * (service.name, process.*, host.name, and, where known, container.id and k8s.*). Computed once
 * per process (and again after exec), reference-counted so a sample waiting for an unwind table
 * keeps the labels of a process that has since exited.
 */
#ifndef SONDE_LABELS_H
#define SONDE_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LABELS_MAX 64 /* labels per process */

struct label {
	const char *key;
	const char *value;
};

struct proc_labels {
	uint32_t refs;
	bool dropped;	      /* a relabel rule says: do not profile this process */
	char pod_uid[37];     /* the pod it runs in (from its cgroup), or "" */
	uint64_t pod_version; /* of the pod metadata these labels were made with; 0 = none */
	uint32_t n;
	struct label v[LABELS_MAX];
	size_t strings_len;
	char strings[]; /* the keys' and values' bytes */
};

/* What a process's cgroup path says about where it runs. Empty strings when unknown. */
struct cgroup_meta {
	char container_id[65]; /* containerd, CRI-O, Docker: 64 hex digits */
	char pod_uid[37];      /* Kubernetes, with dashes */
	char unit[256];	       /* the innermost systemd *.service unit (bare metal) */
};

/*
 * Parses the text of /proc/PID/cgroup (cgroup v2 "0::/path" or v1 "N:controllers:/path" lines)
 * for the container id, the pod UID and the systemd unit: as containerd and CRI-O name cgroups
 * under the systemd driver (kubepods-besteffort-pod<UID>.slice/cri-containerd-<ID>.scope,
 * crio-<ID>.scope), the cgroupfs driver (kubepods/burstable/pod<UID>/<ID>) and Docker
 * (docker-<ID>.scope, /docker/<ID>).
 */
void cgroup_meta_parse(const char *text, struct cgroup_meta *ret);

struct k8s_meta;

struct labeler_opts {
	const char *host_name; /* NULL = gethostname() */
	const char *node_name; /* k8s.node.name, or NULL */
	struct k8s_meta *k8s;  /* pod metadata (k8s_client.h), or NULL; not owned */
	char *const *relabel;  /* relabel rules (relabel.h), applied in order */
	size_t nrelabel;
};

struct labeler;

/* NULL when out of memory or a relabel rule is invalid (logged). */
struct labeler *labeler__new(const struct labeler_opts *opts);
void labeler__free(struct labeler *lb);
/*
 * The labels of process pid (comm is its name from the kernel, used when /proc has gone).
 * Returns a new reference, or NULL when out of memory.
 */
struct proc_labels *labeler__process(struct labeler *lb, uint32_t pid, const char *comm);
const char *labeler__host_name(const struct labeler *lb);
/*
 * Whether the pod metadata l was made with has changed since (the pod was listed or edited):
 * then labeler__process gives newer labels.
 */
bool labeler__stale(struct labeler *lb, const struct proc_labels *l);
/* Changes whenever some pod's metadata does (0 without pod metadata). */
uint64_t labeler__generation(struct labeler *lb);
/* Labels left out since the start: more than LABELS_MAX, or out of memory. */
uint64_t labeler__labels_dropped(const struct labeler *lb);

struct proc_labels *proc_labels__get(struct proc_labels *l);
void proc_labels__put(struct proc_labels *l);
/* The value of key, or NULL. */
const char *proc_labels__value(const struct proc_labels *l, const char *key);

#endif
