// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labels.h"
#include "../common/buf.h"
#include "../common/util.h"

#define LABELS_MAX_BYTES 8192 /* of keys and values per process */

struct labeler {
	char host_name[256];
	char *node_name;
};

struct labeler *labeler__new(const struct labeler_opts *opts)
{
	struct labeler *lb = calloc(1, sizeof(*lb));

	if (!lb)
		return NULL;
	if (opts && opts->host_name)
		str_copy(lb->host_name, opts->host_name, sizeof(lb->host_name));
	else if (gethostname(lb->host_name, sizeof(lb->host_name) - 1) < 0)
		str_copy(lb->host_name, "unknown", sizeof(lb->host_name));
	if (opts && opts->node_name)
		lb->node_name = strdup(opts->node_name);
	return lb;
}

void labeler__free(struct labeler *lb)
{
	if (!lb)
		return;
	free(lb->node_name);
	free(lb);
}

const char *labeler__host_name(const struct labeler *lb)
{
	return lb->host_name;
}

/* Collects pairs into a buffer first, then lays them out in one allocation. */
struct builder {
	struct buf strings;
	uint32_t n;
	size_t offs[LABELS_MAX][2];
};

static void add(struct builder *b, const char *key, const char *value)
{
	if (!value || !*value || b->n >= LABELS_MAX ||
	    b->strings.len + strlen(key) + strlen(value) + 2 > LABELS_MAX_BYTES)
		return;
	b->offs[b->n][0] = b->strings.len;
	buf_append(&b->strings, key, strlen(key) + 1);
	b->offs[b->n][1] = b->strings.len;
	buf_append(&b->strings, value, strlen(value) + 1);
	b->n++;
}

struct proc_labels *labeler__process(struct labeler *lb, uint32_t pid, const char *comm)
{
	struct builder b = { 0 };
	struct proc_labels *l = NULL;
	char path[64], exe[PATH_MAX], num[16];
	const char *exe_name = comm;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		/* a deleted binary still tells its name */
		if (str_ends_with(exe, " (deleted)"))
			exe[strlen(exe) - 10] = 0;
		exe_name = path_basename(exe);
	} else {
		exe[0] = 0;
	}
	snprintf(num, sizeof(num), "%u", pid);
	/* service.name: the Kubernetes workload and the systemd unit come first (issue 8) */
	add(&b, "service.name", exe_name);
	add(&b, "process.pid", num);
	add(&b, "process.executable.name", exe_name);
	add(&b, "process.executable.path", exe);
	add(&b, "host.name", lb->host_name);
	add(&b, "k8s.node.name", lb->node_name);
	if (b.strings.oom)
		goto out;
	l = malloc(sizeof(*l) + b.strings.len + 1);
	if (!l)
		goto out;
	l->refs = 1;
	l->n = b.n;
	l->strings_len = b.strings.len;
	memcpy(l->strings, b.strings.data, b.strings.len);
	for (uint32_t i = 0; i < b.n; i++) {
		l->v[i].key = l->strings + b.offs[i][0];
		l->v[i].value = l->strings + b.offs[i][1];
	}
out:
	buf_free(&b.strings);
	return l;
}

struct proc_labels *proc_labels__get(struct proc_labels *l)
{
	if (l)
		l->refs++;
	return l;
}

void proc_labels__put(struct proc_labels *l)
{
	if (l && --l->refs == 0)
		free(l);
}

const char *proc_labels__value(const struct proc_labels *l, const char *key)
{
	for (uint32_t i = 0; l && i < l->n; i++) {
		if (strcmp(l->v[i].key, key) == 0)
			return l->v[i].value;
	}
	return NULL;
}
