// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pod_store.h"
#include "../common/buf.h"
#include "../common/hash.h"
#include "../common/json.h"
#include "../common/util.h"

/* Sizes of the fields read from a pod (Kubernetes' own limits, rounded up) */
#define NAME_MAX_LEN 256    /* DNS subdomain names: 253 */
#define LABEL_KEY_MAX 320   /* prefix (253) '/' name (63) */
#define LABEL_VALUE_MAX 256 /* label values: 63; the service annotation may be longer */
#define RV_MAX POD_STORE_RV_MAX
#define SERVICE_ANNOTATION "resource.opentelemetry.io/service.name"

struct kv {
	uint32_t key, value; /* offsets into strings */
};

/* A pod as cached: one allocation, strings at the end. */
struct pod {
	char uid[37];
	uint64_t version; /* the store's generation when its labels last changed */
	uint64_t content_hash;
	uint64_t deleted_ns; /* 0 while the API server has it */
	uint64_t list_seq;   /* the last list it was in */
	uint32_t service;    /* offset of the service name */
	uint32_t nkv, ncontainers;
	struct kv *kv;	       /* labels the pod gives every process in it, in order */
	struct kv *containers; /* container id -> name */
	char strings[];
};

/* A pod being parsed. */
struct draft {
	char uid[40], name[NAME_MAX_LEN], ns[NAME_MAX_LEN], node[NAME_MAX_LEN], rv[RV_MAX];
	char owner_kind[64], owner_name[NAME_MAX_LEN], annotation[LABEL_VALUE_MAX];
	int64_t code; /* of a Status object */
	uint32_t nlabels, ncontainers, labels_over;
	char label_key[POD_MAX_LABELS][LABEL_KEY_MAX];
	char label_value[POD_MAX_LABELS][LABEL_VALUE_MAX];
	char container_id[POD_MAX_CONTAINERS][72];
	char container_name[POD_MAX_CONTAINERS][NAME_MAX_LEN];
};

struct pod_store {
	char *node_name;
	uint32_t max_pods;
	struct hmap pods; /* hash of uid -> struct pod */
	uint64_t generation;
	uint64_t list_seq;
	struct draft *draft;
	struct pod_store_stats stats;
};

static uint64_t uid_key(const char *uid)
{
	uint64_t h = hash_bytes(uid, strlen(uid), 0x6b38);

	return h ? h : 1;
}

struct pod_store *pod_store__new(const char *node_name, uint32_t max_pods)
{
	struct pod_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max_pods = max_pods ? max_pods : POD_STORE_MAX_PODS;
	s->draft = malloc(sizeof(*s->draft));
	s->node_name = node_name ? strdup(node_name) : NULL;
	if (!s->draft || (node_name && !s->node_name)) {
		pod_store__free(s);
		return NULL;
	}
	return s;
}

void pod_store__free(struct pod_store *s)
{
	size_t pos = 0;
	void *v;

	if (!s)
		return;
	while (hmap_next(&s->pods, &pos, NULL, &v))
		free(v);
	hmap_free(&s->pods);
	free(s->draft);
	free(s->node_name);
	free(s);
}

/* ---- parsing ---------------------------------------------------------------------------- */

/* A string member into a fixed field; one that does not fit reads as "". */
static void read_str(struct json_reader *r, char *out, size_t size)
{
	json_read_string(r, out, size, NULL);
}

static void parse_labels(struct json_reader *r, struct draft *d)
{
	char key[LABEL_KEY_MAX];

	if (!json_object_try(r))
		return;
	while (json_object_next(r, key, sizeof(key))) {
		uint32_t i = d->nlabels;

		if (!key[0] || i >= POD_MAX_LABELS) {
			d->labels_over++;
			json_skip(r);
			continue;
		}
		if (json_read_string(r, d->label_value[i], LABEL_VALUE_MAX, NULL)) {
			d->labels_over++;
			continue;
		}
		memcpy(d->label_key[i], key, sizeof(key));
		d->nlabels++;
	}
}

static void parse_annotations(struct json_reader *r, struct draft *d)
{
	char key[64];

	if (!json_object_try(r))
		return;
	while (json_object_next(r, key, sizeof(key))) {
		if (strcmp(key, SERVICE_ANNOTATION) == 0)
			read_str(r, d->annotation, sizeof(d->annotation));
		else
			json_skip(r);
	}
}

static void parse_owners(struct json_reader *r, struct draft *d)
{
	char key[32], kind[64], name[NAME_MAX_LEN];

	if (!json_array_try(r))
		return;
	while (json_array_next(r)) {
		bool controller = false;

		kind[0] = name[0] = 0;
		if (!json_object_try(r))
			continue;
		while (json_object_next(r, key, sizeof(key))) {
			if (strcmp(key, "kind") == 0)
				read_str(r, kind, sizeof(kind));
			else if (strcmp(key, "name") == 0)
				read_str(r, name, sizeof(name));
			else if (strcmp(key, "controller") == 0)
				json_read_bool(r, &controller);
			else
				json_skip(r);
		}
		/* the managing controller; without one marked, the first owner */
		if (kind[0] && name[0] && (controller || !d->owner_kind[0])) {
			str_copy(d->owner_kind, kind, sizeof(d->owner_kind));
			str_copy(d->owner_name, name, sizeof(d->owner_name));
		}
	}
}

static void parse_metadata(struct json_reader *r, struct draft *d)
{
	char key[32];

	if (!json_object_try(r))
		return;
	while (json_object_next(r, key, sizeof(key))) {
		if (strcmp(key, "name") == 0)
			read_str(r, d->name, sizeof(d->name));
		else if (strcmp(key, "namespace") == 0)
			read_str(r, d->ns, sizeof(d->ns));
		else if (strcmp(key, "uid") == 0)
			read_str(r, d->uid, sizeof(d->uid));
		else if (strcmp(key, "resourceVersion") == 0)
			read_str(r, d->rv, sizeof(d->rv));
		else if (strcmp(key, "labels") == 0)
			parse_labels(r, d);
		else if (strcmp(key, "annotations") == 0)
			parse_annotations(r, d);
		else if (strcmp(key, "ownerReferences") == 0)
			parse_owners(r, d);
		else
			json_skip(r);
	}
}

static void parse_container_statuses(struct json_reader *r, struct draft *d)
{
	char key[32], name[NAME_MAX_LEN], id[128];

	if (!json_array_try(r))
		return;
	while (json_array_next(r)) {
		const char *sep;

		name[0] = id[0] = 0;
		if (!json_object_try(r))
			continue;
		while (json_object_next(r, key, sizeof(key))) {
			if (strcmp(key, "name") == 0)
				read_str(r, name, sizeof(name));
			else if (strcmp(key, "containerID") == 0)
				read_str(r, id, sizeof(id));
			else
				json_skip(r);
		}
		/* "containerd://<id>", "cri-o://<id>", "docker://<id>" */
		sep = strstr(id, "://");
		if (!name[0] || !sep || !sep[3] || d->ncontainers >= POD_MAX_CONTAINERS)
			continue;
		str_copy(d->container_id[d->ncontainers], sep + 3, sizeof(d->container_id[0]));
		str_copy(d->container_name[d->ncontainers], name, sizeof(d->container_name[0]));
		d->ncontainers++;
	}
}

static void parse_spec(struct json_reader *r, struct draft *d)
{
	char key[32];

	if (!json_object_try(r))
		return;
	while (json_object_next(r, key, sizeof(key))) {
		if (strcmp(key, "nodeName") == 0)
			read_str(r, d->node, sizeof(d->node));
		else
			json_skip(r);
	}
}

static void parse_status(struct json_reader *r, struct draft *d)
{
	char key[40];

	if (!json_object_try(r))
		return;
	while (json_object_next(r, key, sizeof(key))) {
		if (strcmp(key, "containerStatuses") == 0 ||
		    strcmp(key, "initContainerStatuses") == 0 ||
		    strcmp(key, "ephemeralContainerStatuses") == 0)
			parse_container_statuses(r, d);
		else
			json_skip(r);
	}
}

/* A Pod (or a Status, or a BOOKMARK's object) into d. */
static void parse_object(struct json_reader *r, struct draft *d)
{
	char key[32];

	memset(d, 0, offsetof(struct draft, label_key));
	if (!json_object_try(r))
		return;
	while (json_object_next(r, key, sizeof(key))) {
		if (strcmp(key, "metadata") == 0)
			parse_metadata(r, d);
		else if (strcmp(key, "spec") == 0)
			parse_spec(r, d);
		else if (strcmp(key, "status") == 0)
			parse_status(r, d);
		else if (strcmp(key, "code") == 0)
			json_read_i64(r, &d->code);
		else
			json_skip(r);
	}
}

/* ---- building a cached pod ------------------------------------------------------------- */

static const char *draft_label(const struct draft *d, const char *key)
{
	for (uint32_t i = 0; i < d->nlabels; i++)
		if (strcmp(d->label_key[i], key) == 0)
			return d->label_value[i];
	return NULL;
}

/* Whether name is prefix "-" suffix; the prefix's length, or 0. */
static size_t strip_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (k && n > k + 1 && name[n - k - 1] == '-' && strcmp(name + n - k, suffix) == 0)
		return n - k - 1;
	return 0;
}

/* A Job a CronJob made is named <cronjob>-<scheduled time in minutes>: the prefix's length. */
static size_t cronjob_prefix(const char *job)
{
	size_t n = strlen(job), i = n;

	while (i > 0 && job[i - 1] >= '0' && job[i - 1] <= '9')
		i--;
	return (n - i >= 8 && i > 1 && job[i - 1] == '-') ? i - 1 : 0;
}

struct pod_builder {
	struct buf strings;
	VEC(struct kv) kv;
	VEC(struct kv) containers;
	uint32_t service;
};

static uint32_t add_string(struct pod_builder *b, const char *s, size_t n)
{
	uint32_t off = (uint32_t)b->strings.len;

	buf_append(&b->strings, s, n);
	buf_putc(&b->strings, 0);
	return off;
}

static void add_kv(struct pod_builder *b, const char *key, const char *value, size_t value_len)
{
	struct kv kv;

	if (!value_len)
		return;
	kv.key = add_string(b, key, strlen(key));
	kv.value = add_string(b, value, value_len);
	if (VEC_PUSH(&b->kv, kv))
		b->strings.oom = true;
}

/* The labels and service a pod gives its processes (see pod_store__labels). */
static void build(struct pod_builder *b, const struct draft *d, const char *node_name)
{
	const char *hash = draft_label(d, "pod-template-hash"), *app;
	const char *wl = NULL; /* the workload's name */
	size_t wl_len = 0, n;
	char key[LABEL_KEY_MAX + 16];

	buf_putc(&b->strings, 0); /* offset 0 is "" */
	add_kv(b, "k8s.pod.name", d->name, strlen(d->name));
	add_kv(b, "k8s.namespace.name", d->ns, strlen(d->ns));
	if (strcmp(d->owner_kind, "ReplicaSet") == 0) {
		n = hash ? strip_suffix(d->owner_name, hash) : 0;
		if (n) {
			add_kv(b, "k8s.deployment.name", d->owner_name, n);
			wl = d->owner_name;
			wl_len = n;
		}
		add_kv(b, "k8s.replicaset.name", d->owner_name, strlen(d->owner_name));
	} else if (strcmp(d->owner_kind, "StatefulSet") == 0) {
		add_kv(b, "k8s.statefulset.name", d->owner_name, strlen(d->owner_name));
	} else if (strcmp(d->owner_kind, "DaemonSet") == 0) {
		add_kv(b, "k8s.daemonset.name", d->owner_name, strlen(d->owner_name));
	} else if (strcmp(d->owner_kind, "Job") == 0) {
		n = cronjob_prefix(d->owner_name);
		if (n) {
			add_kv(b, "k8s.cronjob.name", d->owner_name, n);
			wl = d->owner_name;
			wl_len = n;
		}
		add_kv(b, "k8s.job.name", d->owner_name, strlen(d->owner_name));
	} else if (strcmp(d->owner_kind, "Node") == 0) {
		/* a static pod is named <name>-<node> */
		n = strip_suffix(d->name, node_name && *node_name ? node_name : d->node);
		wl = d->name;
		wl_len = n ? n : strlen(d->name);
	}
	if (!wl && d->owner_name[0]) {
		wl = d->owner_name;
		wl_len = strlen(wl);
	}
	for (uint32_t i = 0; i < d->nlabels; i++) {
		snprintf(key, sizeof(key), "k8s.pod.label.%s", d->label_key[i]);
		add_kv(b, key, d->label_value[i], strlen(d->label_value[i]));
	}
	/* service.name: as OpenTelemetry's semantic conventions choose it for Kubernetes */
	app = draft_label(d, "app.kubernetes.io/name");
	if (d->annotation[0])
		b->service = add_string(b, d->annotation, strlen(d->annotation));
	else if (app && *app)
		b->service = add_string(b, app, strlen(app));
	else if (wl && wl_len)
		b->service = add_string(b, wl, wl_len);
	else
		b->service = add_string(b, d->name, strlen(d->name));
	for (uint32_t i = 0; i < d->ncontainers; i++) {
		struct kv c = {
			.key = add_string(b, d->container_id[i], strlen(d->container_id[i])),
			.value = add_string(b, d->container_name[i], strlen(d->container_name[i])),
		};

		if (VEC_PUSH(&b->containers, c))
			b->strings.oom = true;
	}
}

static struct pod *pod_from_draft(const struct draft *d, const char *node_name)
{
	struct pod_builder b = {0};
	struct pod *p = NULL;
	size_t kv_bytes, c_bytes;
	uint64_t h;

	build(&b, d, node_name);
	if (b.strings.oom || b.strings.len > UINT32_MAX / 2)
		goto out;
	kv_bytes = b.kv.len * sizeof(struct kv);
	c_bytes = b.containers.len * sizeof(struct kv);
	p = calloc(1, sizeof(*p) + b.strings.len + kv_bytes + c_bytes + 8);
	if (!p)
		goto out;
	str_copy(p->uid, d->uid, sizeof(p->uid));
	memcpy(p->strings, b.strings.data, b.strings.len);
	/* the arrays after the strings, aligned */
	p->kv = (struct kv *)(void *)(p->strings + ((b.strings.len + 7) & ~(size_t)7));
	p->containers = p->kv + b.kv.len;
	if (kv_bytes)
		memcpy(p->kv, b.kv.v, kv_bytes);
	if (c_bytes)
		memcpy(p->containers, b.containers.v, c_bytes);
	p->nkv = (uint32_t)b.kv.len;
	p->ncontainers = (uint32_t)b.containers.len;
	p->service = b.service;
	h = hash_bytes(b.strings.data, b.strings.len, 1);
	h = hash_bytes(b.kv.v, kv_bytes, h);
	p->content_hash = hash_bytes(b.containers.v, c_bytes, h) ^ b.service;
out:
	buf_free(&b.strings);
	VEC_FREE(&b.kv);
	VEC_FREE(&b.containers);
	return p;
}

/* ---- the store ------------------------------------------------------------------------- */

static struct pod *find(const struct pod_store *s, const char *uid)
{
	struct pod *p = hmap_get(&s->pods, uid_key(uid));

	return p && strcmp(p->uid, uid) == 0 ? p : NULL;
}

void pod_store__expire(struct pod_store *s, uint64_t now_ns)
{
	VEC(uint64_t) gone = {0};
	size_t pos = 0;
	uint64_t key;
	void *v;

	while (hmap_next(&s->pods, &pos, &key, &v)) {
		struct pod *p = v;

		if (p->deleted_ns && now_ns - p->deleted_ns >= POD_DELETED_TTL_NS &&
		    VEC_PUSH(&gone, key))
			break; /* out of memory: the rest go next time */
	}
	/* deleting moves entries: not while iterating */
	for (size_t i = 0; i < gone.len; i++)
		free(hmap_del(&s->pods, gone.v[i]));
	VEC_FREE(&gone);
}

/* A UID as the API server writes them: 8-4-4-4-12 lowercase hex digits. */
static bool uid_ok(const char *uid)
{
	for (int i = 0; i < 36; i++) {
		char c = uid[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return uid[36] == 0;
}

/* Whether the draft is a pod of this node with a UID. */
static bool draft_usable(const struct pod_store *s, const struct draft *d, struct pod_batch *b)
{
	if (!uid_ok(d->uid)) {
		b->delta.malformed++;
		return false;
	}
	if (s->node_name && d->node[0] && strcmp(d->node, s->node_name) != 0) {
		b->delta.other_node++;
		return false;
	}
	return true;
}

/* The draft's pod, added to the batch (when it is one of this node's). 0 or -ENOMEM. */
static int batch_add(const struct pod_store *s, const struct draft *d, struct pod_batch *b)
{
	struct pod *p;

	b->delta.labels_over_limit += d->labels_over;
	if (!draft_usable(s, d, b))
		return 0;
	if (b->pods.len >= s->max_pods) {
		b->delta.pods_over_limit++; /* not even built: a huge list costs parsing only */
		return 0;
	}
	p = pod_from_draft(d, s->node_name);
	if (!p || VEC_PUSH(&b->pods, p)) {
		free(p);
		return -ENOMEM;
	}
	return 0;
}

void pod_store__parse_list(struct pod_store *s, const char *json, size_t len, struct pod_batch *b)
{
	struct json_reader r;
	char key[32], kind[64] = "";

	memset(b, 0, sizeof(*b));
	b->kind = POD_BATCH_LIST;
	json_reader_init(&r, json, len);
	if (json_object_begin(&r)) {
		while (!b->result && json_object_next(&r, key, sizeof(key))) {
			if (strcmp(key, "kind") == 0) {
				read_str(&r, kind, sizeof(kind));
			} else if (strcmp(key, "metadata") == 0 && json_peek(&r) == JSON_OBJECT) {
				json_object_begin(&r);
				while (json_object_next(&r, key, sizeof(key))) {
					if (strcmp(key, "resourceVersion") == 0)
						read_str(&r, b->rv, sizeof(b->rv));
					else
						json_skip(&r);
				}
			} else if (strcmp(key, "items") == 0 && json_peek(&r) == JSON_ARRAY) {
				json_array_begin(&r);
				while (!b->result && json_array_next(&r)) {
					parse_object(&r, s->draft);
					if (r.err)
						break;
					b->result = batch_add(s, s->draft, b);
				}
			} else {
				json_skip(&r);
			}
		}
	}
	if (!b->result && (json_reader_finish(&r) || strcmp(kind, "Status") == 0 || !b->rv[0]))
		b->result = -EINVAL;
	if (b->result == -EINVAL)
		b->delta.malformed++;
}

void pod_store__parse_event(struct pod_store *s, const char *json, size_t len, struct pod_batch *b)
{
	struct json_reader r;
	char key[16], type[16] = "";
	bool have_object = false;
	struct draft *d = s->draft;

	memset(b, 0, sizeof(*b));
	json_reader_init(&r, json, len);
	if (json_object_begin(&r)) {
		while (json_object_next(&r, key, sizeof(key))) {
			if (strcmp(key, "type") == 0) {
				read_str(&r, type, sizeof(type));
			} else if (strcmp(key, "object") == 0) {
				parse_object(&r, d);
				have_object = true;
			} else {
				json_skip(&r);
			}
		}
	}
	if (json_reader_finish(&r) || !have_object) {
		b->result = -EINVAL;
	} else if (strcmp(type, "ERROR") == 0) {
		b->result = d->code == 410 ? -ESTALE : -EPROTO;
		return;
	} else if (strcmp(type, "BOOKMARK") == 0) {
		str_copy(b->rv, d->rv, sizeof(b->rv));
		return;
	} else if (strcmp(type, "DELETED") == 0) {
		str_copy(b->rv, d->rv, sizeof(b->rv));
		b->delta.events++;
		if (draft_usable(s, d, b)) {
			b->kind = POD_BATCH_DELETE;
			str_copy(b->uid, d->uid, sizeof(b->uid));
		}
		return;
	} else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
		str_copy(b->rv, d->rv, sizeof(b->rv));
		b->delta.events++;
		b->kind = POD_BATCH_UPSERT;
		b->result = batch_add(s, d, b);
		return;
	} else {
		b->result = -EINVAL;
	}
	b->delta.malformed++;
}

/* Caches p (taking it): a new pod, or a new state of a cached one. */
static int store_pod(struct pod_store *s, struct pod *p)
{
	struct pod *old = hmap_get(&s->pods, uid_key(p->uid));

	if (old && strcmp(old->uid, p->uid) != 0) {
		/* another UID with the same key: a hostile server; never overwrite a pod */
		s->stats.malformed++;
		free(p);
		return 0;
	}
	if (!old && s->pods.len >= s->max_pods) {
		s->stats.pods_over_limit++;
		free(p);
		return 0;
	}
	p->list_seq = s->list_seq;
	if (old && old->content_hash == p->content_hash) {
		/* nothing a label shows changed (a status update): keep the version */
		old->deleted_ns = 0;
		old->list_seq = s->list_seq;
		free(p);
		return 0;
	}
	p->version = ++s->generation;
	if (hmap_put(&s->pods, uid_key(p->uid), p)) {
		free(p);
		return -ENOMEM;
	}
	free(old);
	return 0;
}

static void add_stats(struct pod_store_stats *to, const struct pod_store_stats *d)
{
	to->events += d->events;
	to->malformed += d->malformed;
	to->pods_over_limit += d->pods_over_limit;
	to->labels_over_limit += d->labels_over_limit;
	to->other_node += d->other_node;
}

int pod_store__commit(struct pod_store *s, struct pod_batch *b, uint64_t now_ns, char *rv,
		      size_t rv_size)
{
	size_t pos = 0, i = 0;
	int err = b->result;
	void *v;

	add_stats(&s->stats, &b->delta);
	if (err)
		goto out;
	if (b->kind == POD_BATCH_LIST) {
		/* room first: pods deleted long enough ago go before new ones are refused */
		pod_store__expire(s, now_ns);
		s->list_seq++;
	}
	for (; i < b->pods.len && !err; i++)
		err = store_pod(s, b->pods.v[i]);
	if (err)
		goto out;
	if (b->kind == POD_BATCH_DELETE) {
		struct pod *p = find(s, b->uid);

		/* kept a while: processes of a terminating pod may still be running */
		if (p && !p->deleted_ns)
			p->deleted_ns = now_ns ? now_ns : 1;
	}
	if (b->kind == POD_BATCH_LIST) {
		/* pods the list no longer has were deleted while we were not watching */
		while (hmap_next(&s->pods, &pos, NULL, &v)) {
			struct pod *p = v;

			if (p->list_seq != s->list_seq && !p->deleted_ns)
				p->deleted_ns = now_ns ? now_ns : 1;
		}
		s->stats.lists++;
	}
	if (b->rv[0])
		str_copy(rv, b->rv, rv_size);
out:
	for (; i < b->pods.len; i++)
		free(b->pods.v[i]);
	VEC_FREE(&b->pods);
	return err;
}

int pod_store__apply_list(struct pod_store *s, const char *json, size_t len, uint64_t now_ns,
			  char *rv, size_t rv_size)
{
	struct pod_batch b;

	pod_store__parse_list(s, json, len, &b);
	return pod_store__commit(s, &b, now_ns, rv, rv_size);
}

int pod_store__apply_event(struct pod_store *s, const char *json, size_t len, uint64_t now_ns,
			   char *rv, size_t rv_size)
{
	struct pod_batch b;

	pod_store__parse_event(s, json, len, &b);
	return pod_store__commit(s, &b, now_ns, rv, rv_size);
}

uint64_t pod_store__labels(const struct pod_store *s, const char *uid, const char *container_id,
			   struct label_set *ls, char *service, size_t service_size,
			   uint32_t *ret_dropped)
{
	const struct pod *p = find(s, uid);
	uint32_t dropped = 0;

	if (!p)
		return 0;
	for (uint32_t i = 0; i < p->nkv; i++)
		if (label_set_put(ls, p->strings + p->kv[i].key, p->strings + p->kv[i].value))
			dropped++;
	for (uint32_t i = 0; container_id && *container_id && i < p->ncontainers; i++) {
		if (strcmp(p->strings + p->containers[i].key, container_id) == 0) {
			if (label_set_put(ls, "k8s.container.name",
					  p->strings + p->containers[i].value))
				dropped++;
			break;
		}
	}
	str_copy(service, p->strings + p->service, service_size);
	if (ret_dropped)
		*ret_dropped += dropped;
	return p->version;
}

uint64_t pod_store__version(const struct pod_store *s, const char *uid)
{
	const struct pod *p = find(s, uid);

	return p ? p->version : 0;
}

uint64_t pod_store__generation(const struct pod_store *s)
{
	return s->generation;
}

void pod_store__stats(const struct pod_store *s, struct pod_store_stats *ret)
{
	*ret = s->stats;
	ret->pods = s->pods.len;
}
