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

#define LABELS_MAX 32 /* labels per process */

struct label {
	const char *key;
	const char *value;
};

struct proc_labels {
	uint32_t refs;
	uint32_t n;
	struct label v[LABELS_MAX];
	size_t strings_len;
	char strings[]; /* the keys' and values' bytes */
};

struct labeler_opts {
	const char *host_name; /* NULL = gethostname() */
	const char *node_name; /* k8s.node.name, or NULL */
};

struct labeler;

struct labeler *labeler__new(const struct labeler_opts *opts);
void labeler__free(struct labeler *lb);
/*
 * The labels of process pid (comm is its name from the kernel, used when /proc has gone).
 * Returns a new reference, or NULL when out of memory.
 */
struct proc_labels *labeler__process(struct labeler *lb, uint32_t pid, const char *comm);
const char *labeler__host_name(const struct labeler *lb);

struct proc_labels *proc_labels__get(struct proc_labels *l);
void proc_labels__put(struct proc_labels *l);
/* The value of key, or NULL. */
const char *proc_labels__value(const struct proc_labels *l, const char *key);

#endif
