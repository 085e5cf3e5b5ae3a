// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "k8s_client.h"
#include "labels.h"
#include "relabel.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"

#define LABELS_MAX_BYTES 16384 /* of keys and values per process */

struct labeler {
	char host_name[256];
	char *node_name;
	struct k8s_meta *k8s;
	struct relabel_rule *rules;
	size_t nrules;
	uint64_t labels_dropped;
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
	if (opts)
		lb->k8s = opts->k8s;
	if (opts && opts->nrelabel) {
		lb->rules = calloc(opts->nrelabel, sizeof(*lb->rules));
		if (!lb->rules) {
			labeler__free(lb);
			return NULL;
		}
		for (size_t i = 0; i < opts->nrelabel; i++, lb->nrules++) {
			char err[256];

			if (relabel_parse(opts->relabel[i], &lb->rules[i], err, sizeof(err))) {
				log_error("invalid relabel rule", "rule=\"%s\" err=\"%s\"",
					  opts->relabel[i], err);
				labeler__free(lb);
				return NULL;
			}
		}
	}
	return lb;
}

void labeler__free(struct labeler *lb)
{
	if (!lb)
		return;
	for (size_t i = 0; i < lb->nrules; i++)
		relabel_free(&lb->rules[i]);
	free(lb->rules);
	free(lb->node_name);
	free(lb);
}

const char *labeler__host_name(const struct labeler *lb)
{
	return lb->host_name;
}

bool labeler__stale(struct labeler *lb, const struct proc_labels *l)
{
	uint64_t v;

	if (!lb->k8s || !l || !l->pod_uid[0])
		return false;
	/* a pod that has gone keeps the labels it gave (its processes may outlive it briefly) */
	v = k8s_meta__version(lb->k8s, l->pod_uid);
	return v && v != l->pod_version;
}

uint64_t labeler__generation(struct labeler *lb)
{
	return lb->k8s ? k8s_meta__generation(lb->k8s) : 0;
}

uint64_t labeler__labels_dropped(const struct labeler *lb)
{
	return lb->labels_dropped;
}

/* Collects pairs into a buffer first, then lays them out in one allocation. */
struct builder {
	struct buf strings;
	uint32_t n;
	size_t offs[LABELS_MAX][2];
};

static void add(struct labeler *lb, struct label_set *ls, const char *key, const char *value)
{
	if (value && *value && label_set_put(ls, key, value))
		lb->labels_dropped++;
}

static void build_add(struct labeler *lb, struct builder *b, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	if (b->n >= LABELS_MAX ||
	    b->strings.len + strlen(key) + strlen(value) + 2 > LABELS_MAX_BYTES) {
		lb->labels_dropped++;
		return;
	}
	b->offs[b->n][0] = b->strings.len;
	buf_append(&b->strings, key, strlen(key) + 1);
	b->offs[b->n][1] = b->strings.len;
	buf_append(&b->strings, value, strlen(value) + 1);
	b->n++;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* One path component: a container id, a pod UID or a unit, into ret. */
static void cgroup_component(const char *c, size_t n, struct cgroup_meta *ret)
{
	static const char *const prefixes[] = {"cri-containerd-", "crio-", "docker-", "libpod-"};
	const char *pod;

	/* <prefix><64 hex>.scope, or a bare <64 hex> (cgroupfs driver, /docker/<id>) */
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		size_t pl = strlen(prefixes[i]);

		if (n == pl + 64 + 6 && strncmp(c, prefixes[i], pl) == 0 &&
		    strncmp(c + pl + 64, ".scope", 6) == 0 && all_hex(c + pl, 64)) {
			memcpy(ret->container_id, c + pl, 64);
			ret->container_id[64] = 0;
			return;
		}
	}
	if (n == 64 && all_hex(c, 64)) {
		memcpy(ret->container_id, c, 64);
		ret->container_id[64] = 0;
		return;
	}
	/* pod<UID> (cgroupfs) or kubepods[-qos]-pod<UID with _>.slice (systemd) */
	pod = NULL;
	if (n == 3 + 36 && strncmp(c, "pod", 3) == 0)
		pod = c + 3;
	else if (n > 36 + 9 && strncmp(c, "kubepods", 8) == 0 &&
		 strncmp(c + n - 6, ".slice", 6) == 0 && strncmp(c + n - 6 - 36 - 3, "pod", 3) == 0)
		pod = c + n - 6 - 36;
	if (pod) {
		for (int i = 0; i < 36; i++)
			ret->pod_uid[i] = pod[i] == '_' ? '-' : pod[i];
		ret->pod_uid[36] = 0;
		return;
	}
	if (n > 8 && n < sizeof(ret->unit) && strncmp(c + n - 8, ".service", 8) == 0) {
		memcpy(ret->unit, c, n);
		ret->unit[n] = 0;
	}
}

void cgroup_meta_parse(const char *text, struct cgroup_meta *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line);
		const char *path = memchr(line, ':', (size_t)(end - line));

		/* "hierarchy:controllers:path": the path is after the second ':' */
		path = path ? memchr(path + 1, ':', (size_t)(end - path - 1)) : NULL;
		if (path) {
			struct cgroup_meta m;

			memset(&m, 0, sizeof(m));
			for (const char *c = path + 1; c < end;) {
				const char *slash = memchr(c, '/', (size_t)(end - c)),
					   *ce = slash ? slash : end;

				if (ce > c)
					cgroup_component(c, (size_t)(ce - c), &m);
				c = ce + 1;
			}
			/* v1 has a line per hierarchy: take what any of them says */
			if (m.container_id[0] && !ret->container_id[0])
				memcpy(ret->container_id, m.container_id, sizeof(m.container_id));
			if (m.pod_uid[0] && !ret->pod_uid[0])
				memcpy(ret->pod_uid, m.pod_uid, sizeof(m.pod_uid));
			if (m.unit[0] && !ret->unit[0])
				memcpy(ret->unit, m.unit, sizeof(m.unit));
		}
		line = nl ? nl + 1 : NULL;
	}
}

struct proc_labels *labeler__process(struct labeler *lb, uint32_t pid, const char *comm)
{
	struct cgroup_meta cg;
	struct label_set ls = {0};
	bool is_dropped;
	char *cgtext = NULL;
	size_t cglen;
	struct builder b = {0};
	struct proc_labels *l = NULL;
	char path[64], exe[PATH_MAX], num[16], service[256] = "";
	const char *exe_name = comm;
	uint64_t pod_version = 0;
	uint32_t dropped = 0;
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
	memset(&cg, 0, sizeof(cg));
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	if (read_file(-1, path, 64 << 10, &cgtext, &cglen) == 0)
		cgroup_meta_parse(cgtext, &cg);
	free(cgtext);
	/* service.name: the Kubernetes workload (k8s_client.c), the systemd unit, the executable */
	add(lb, &ls, "service.name", cg.unit[0] && !cg.container_id[0] ? cg.unit : exe_name);
	add(lb, &ls, "process.pid", num);
	add(lb, &ls, "process.executable.name", exe_name);
	add(lb, &ls, "process.executable.path", exe);
	add(lb, &ls, "host.name", lb->host_name);
	add(lb, &ls, "container.id", cg.container_id);
	add(lb, &ls, "k8s.pod.uid", cg.pod_uid);
	add(lb, &ls, "k8s.node.name", lb->node_name);
	if (cg.pod_uid[0] && lb->k8s) {
		pod_version = k8s_meta__labels(lb->k8s, cg.pod_uid, cg.container_id, &ls, service,
					       sizeof(service), &dropped);
		lb->labels_dropped += dropped;
		add(lb, &ls, "service.name", service);
	}
	is_dropped = !relabel_apply(lb->rules, lb->nrules, &ls);
	for (uint32_t i = 0; i < ls.n; i++)
		build_add(lb, &b, ls.key[i], ls.value[i]);
	if (b.strings.oom)
		goto out;
	l = malloc(sizeof(*l) + b.strings.len + 1);
	if (!l)
		goto out;
	l->refs = 1;
	l->dropped = is_dropped;
	memcpy(l->pod_uid, cg.pod_uid, sizeof(l->pod_uid));
	l->pod_version = pod_version;
	l->n = b.n;
	l->strings_len = b.strings.len;
	memcpy(l->strings, b.strings.data, b.strings.len);
	for (uint32_t i = 0; i < b.n; i++) {
		l->v[i].key = l->strings + b.offs[i][0];
		l->v[i].value = l->strings + b.offs[i][1];
	}
out:
	label_set_free(&ls);
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
