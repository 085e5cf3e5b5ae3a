// SPDX-License-Identifier: Apache-2.0
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s.h"
#include "../common/buf.h"
#include "../common/hash.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../common/util.h"

/* Sizes of the fields read from a pod (Kubernetes' own limits, rounded up) */
#define NAME_MAX_LEN 256    /* DNS subdomain names: 253 */
#define LABEL_KEY_MAX 320   /* prefix (253) '/' name (63) */
#define LABEL_VALUE_MAX 256 /* label values: 63; the service annotation may be longer */
#define RV_MAX 64
#define SERVICE_ANNOTATION "resource.opentelemetry.io/service.name"
#define LIST_MAX_BYTES (64u << 20) /* a node's PodList: about 10 KiB a pod */
#define EVENT_MAX_BYTES (4u << 20) /* one watch event: a pod of the largest size etcd takes */
#define ERROR_BODY_MAX 2048
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define EXPIRE_EVERY_NS (10 * NSEC_PER_SEC) /* deleted pods are looked for at most this often */

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

/*
 * What one answer of the API server says, parsed without touching the cache (so it can be done
 * outside the lock), then applied to it at once.
 */
enum batch_kind { BATCH_NONE, BATCH_LIST, BATCH_UPSERT, BATCH_DELETE };

struct pod_batch {
	enum batch_kind kind;
	int result; /* of the parse: 0, -EINVAL, -ESTALE, -EPROTO, -ENOMEM */
	VEC(struct pod *) pods;
	char uid[37];		      /* BATCH_DELETE */
	char rv[RV_MAX];	      /* "" when the answer has none */
	struct pod_store_stats delta; /* counts to add to the store's */
};

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

/* Parses a PodList into b (b->result says whether it is usable). Uses the store's draft only. */
static void parse_list(struct pod_store *s, const char *json, size_t len, struct pod_batch *b)
{
	struct json_reader r;
	char key[32], kind[64] = "";

	memset(b, 0, sizeof(*b));
	b->kind = BATCH_LIST;
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

/* Parses one watch event into b. */
static void parse_event(struct pod_store *s, const char *json, size_t len, struct pod_batch *b)
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
			b->kind = BATCH_DELETE;
			str_copy(b->uid, d->uid, sizeof(b->uid));
		}
		return;
	} else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
		str_copy(b->rv, d->rv, sizeof(b->rv));
		b->delta.events++;
		b->kind = BATCH_UPSERT;
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

/* Applies a parsed answer (taking its pods). Returns b->result, or -ENOMEM. */
static int commit(struct pod_store *s, struct pod_batch *b, uint64_t now_ns, char *rv,
		  size_t rv_size)
{
	size_t pos = 0, i = 0;
	int err = b->result;
	void *v;

	add_stats(&s->stats, &b->delta);
	if (err)
		goto out;
	if (b->kind == BATCH_LIST) {
		/* room first: pods deleted long enough ago go before new ones are refused */
		pod_store__expire(s, now_ns);
		s->list_seq++;
	}
	for (; i < b->pods.len && !err; i++)
		err = store_pod(s, b->pods.v[i]);
	if (err)
		goto out;
	if (b->kind == BATCH_DELETE) {
		struct pod *p = find(s, b->uid);

		/* kept a while: processes of a terminating pod may still be running */
		if (p && !p->deleted_ns)
			p->deleted_ns = now_ns ? now_ns : 1;
	}
	if (b->kind == BATCH_LIST) {
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

	parse_list(s, json, len, &b);
	return commit(s, &b, now_ns, rv, rv_size);
}

int pod_store__apply_event(struct pod_store *s, const char *json, size_t len, uint64_t now_ns,
			   char *rv, size_t rv_size)
{
	struct pod_batch b;

	parse_event(s, json, len, &b);
	return commit(s, &b, now_ns, rv, rv_size);
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

/* ---- the API server client ------------------------------------------------------------- */

struct k8s_meta {
	uint32_t watch_timeout_s;
	char *api_url, *node_name, *token_file, *ca_file, *user_agent;
	struct pod_store *store;
	CURL *curl;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* guards the store, stats and stop */
	pthread_cond_t cond;
	bool stop;
	struct k8s_stats stats;
	char rv[RV_MAX];	/* thread only (written under the lock) */
	uint64_t expired_ns;	/* when deleted pods were last expired */
	char logged_error[160]; /* the last error logged, so it is logged once */
};

static bool stopping(struct k8s_meta *m)
{
	bool stop;

	pthread_mutex_lock(&m->lock);
	stop = m->stop;
	pthread_mutex_unlock(&m->lock);
	return stop;
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return stopping(ctx); /* non-zero aborts the request at shutdown */
}

/* Records (and logs once while it persists) why a request failed. */
static void request_failed(struct k8s_meta *m, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void request_failed(struct k8s_meta *m, const char *what, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&m->lock);
	m->stats.request_errors++;
	pthread_mutex_unlock(&m->lock);
	if (strcmp(why, m->logged_error) != 0) {
		str_copy(m->logged_error, why, sizeof(m->logged_error));
		log_warn("pod metadata: request to the API server failed; retrying with backoff "
			 "(logged once until it changes)",
			 "request=%s url=\"%s\" node=%s err=\"%s\"", what, m->api_url, m->node_name,
			 why);
	}
}

/* A request went through: says so once after failures. */
static void request_ok(struct k8s_meta *m)
{
	if (m->logged_error[0]) {
		m->logged_error[0] = 0;
		log_info("pod metadata: the API server answers again", "url=\"%s\"", m->api_url);
	}
}

/* The request's headers: Accept, and the bearer token read now (it is rotated on disk). */
static struct curl_slist *request_headers(struct k8s_meta *m, int *ret_err)
{
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json"), *more;
	char *token = NULL, *line = NULL;
	size_t len;
	int err;

	*ret_err = -ENOMEM;
	if (!h || !m->token_file)
		goto out;
	err = read_file(-1, m->token_file, 64 << 10, &token, &len);
	if (err) {
		*ret_err = err;
		goto fail;
	}
	while (len && (token[len - 1] == '\n' || token[len - 1] == '\r' || token[len - 1] == ' '))
		token[--len] = 0;
	if (asprintf(&line, "Authorization: Bearer %s", token) < 0)
		line = NULL;
	explicit_bzero(token, len);
	free(token);
	more = line ? curl_slist_append(h, line) : NULL;
	if (line) {
		explicit_bzero(line, strlen(line));
		free(line);
	}
	if (!more)
		goto fail;
	h = more;
out:
	if (h)
		*ret_err = 0;
	return h;
fail:
	curl_slist_free_all(h);
	return NULL;
}

struct transfer {
	struct k8s_meta *m;
	struct buf body; /* the list, or the watch's current line */
	size_t max;
	bool too_big;
	bool status_checked, status_ok;
	int event_err;	/* the watch: -ESTALE (410) or -EPROTO ends it */
	size_t scanned; /* bytes of body already searched for a newline */
};

static size_t on_list_body(char *ptr, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;

	if (t->body.len + size * n > t->max) {
		t->too_big = true;
		return 0;
	}
	buf_append(&t->body, ptr, size * n);
	return t->body.oom ? 0 : size * n;
}

/* Forgets the pods deleted long enough ago. Under the lock. */
static void expire_locked(struct k8s_meta *m, uint64_t now)
{
	pod_store__expire(m->store, now);
	m->expired_ns = now;
}

/* One watch event: parsed outside the lock (lookups go on meanwhile), applied under it. */
static int apply_event(struct k8s_meta *m, const char *json, size_t len)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	struct pod_batch b;
	int err;

	parse_event(m->store, json, len, &b);
	pthread_mutex_lock(&m->lock);
	err = commit(m->store, &b, now, m->rv, sizeof(m->rv));
	if (now - m->expired_ns >= EXPIRE_EVERY_NS)
		expire_locked(m, now);
	pthread_mutex_unlock(&m->lock);
	return err;
}

/*
 * Applies the complete lines (events) in the buffer, keeping a partial last line; with final,
 * that too (the stream ended without a newline).
 */
static int apply_lines(struct transfer *t, bool final)
{
	size_t start = 0;
	int err = 0;

	while (t->scanned < t->body.len) {
		const uint8_t *nl =
			memchr(t->body.data + t->scanned, '\n', t->body.len - t->scanned);
		size_t end;

		if (!nl) {
			t->scanned = t->body.len;
			break;
		}
		end = (size_t)(nl - t->body.data);
		if (end > start)
			err = apply_event(t->m, (const char *)t->body.data + start, end - start);
		start = t->scanned = end + 1;
		if (err == -ESTALE || err == -EPROTO || err == -ENOMEM)
			goto out;
		err = 0;
	}
	if (final && t->body.len > start) {
		err = apply_event(t->m, (const char *)t->body.data + start, t->body.len - start);
		start = t->body.len;
		if (err != -ESTALE && err != -EPROTO && err != -ENOMEM)
			err = 0;
	}
out:
	if (err)
		t->event_err = err;
	if (start) {
		memmove(t->body.data, t->body.data + start, t->body.len - start);
		t->body.len -= start;
		t->scanned = t->scanned > start ? t->scanned - start : 0;
	}
	return err;
}

static size_t on_watch_body(char *ptr, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;

	if (!t->status_checked) {
		long status = 0;

		curl_easy_getinfo(t->m->curl, CURLINFO_RESPONSE_CODE, &status);
		t->status_checked = true;
		t->status_ok = status == 200;
	}
	if (!t->status_ok) {
		/* an error answer: keep its start for the log */
		if (t->body.len < ERROR_BODY_MAX)
			buf_append(&t->body, ptr, MIN(size * n, ERROR_BODY_MAX - t->body.len));
		return size * n;
	}
	buf_append(&t->body, ptr, size * n);
	if (t->body.oom)
		return 0;
	if (apply_lines(t, false))
		return 0;
	if (t->body.len > t->max) {
		t->too_big = true;
		return 0;
	}
	return size * n;
}

/* Builds the pods URL for the node, with extra query parameters. */
static char *pods_url(struct k8s_meta *m, const char *extra)
{
	char *node = curl_easy_escape(m->curl, m->node_name, 0), *url = NULL;

	if (!node)
		return NULL;
	/* spec.nodeName=NODE, itself escaped as the value of fieldSelector */
	if (asprintf(&url, "%s/api/v1/pods?fieldSelector=spec.nodeName%%3D%s%s", m->api_url, node,
		     extra) < 0)
		url = NULL;
	curl_free(node);
	return url;
}

/* One GET. Returns 0 with the HTTP status in *ret_status, or a negative errno (logged). */
static int get(struct k8s_meta *m, const char *what, const char *url, struct transfer *t,
	       curl_write_callback on_body, long timeout_s, long *ret_status)
{
	struct curl_slist *headers;
	CURLcode cc;
	int err;

	headers = request_headers(m, &err);
	if (!headers) {
		if (err == -ENOMEM)
			request_failed(m, what, "out of memory");
		else
			request_failed(m, what, "cannot read the token file %s: %s", m->token_file,
				       strerror(-err));
		return err;
	}
	curl_easy_reset(m->curl);
	curl_easy_setopt(m->curl, CURLOPT_URL, url);
	curl_easy_setopt(m->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(m->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(m->curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(m->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(m->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(m->curl, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(m->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(m->curl, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(m->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(m->curl, CURLOPT_XFERINFODATA, m);
	curl_easy_setopt(m->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(m->curl, CURLOPT_USERAGENT, m->user_agent);
	curl_easy_setopt(m->curl, CURLOPT_PROTOCOLS_STR, "https,http");
	if (m->ca_file)
		curl_easy_setopt(m->curl, CURLOPT_CAINFO, m->ca_file);
	cc = curl_easy_perform(m->curl);
	curl_slist_free_all(headers);
	*ret_status = 0;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, ret_status);
		return 0;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return -ECANCELED;
	if (cc == CURLE_WRITE_ERROR && (t->event_err || t->too_big || t->body.oom)) {
		if (t->too_big)
			request_failed(m, what, "the answer is larger than %zu bytes", t->max);
		else if (t->body.oom || t->event_err == -ENOMEM)
			request_failed(m, what, "out of memory");
		return t->event_err ? t->event_err : t->body.oom ? -ENOMEM : -EFBIG;
	}
	request_failed(m, what, "%s", curl_easy_strerror(cc));
	return -EIO;
}

/* The reason an HTTP error status gives, for the log. */
static void status_failed(struct k8s_meta *m, const char *what, long status, const struct buf *body)
{
	char excerpt[200];

	str_printable(excerpt, sizeof(excerpt), body->data, body->len);
	if (status == 401)
		request_failed(m, what,
			       "401 Unauthorized: the service account token was refused (%s)",
			       excerpt);
	else if (status == 403)
		request_failed(m, what,
			       "403 Forbidden: the service account may not list and watch pods "
			       "(see deploy/kubernetes/agent-rbac.yaml): %s",
			       excerpt);
	else
		request_failed(m, what, "HTTP %ld: %s", status, excerpt);
}

/*
 * Lists the node's pods into the store: from the API server's cache (resourceVersion=0, cheap),
 * or, after a watch found that version too old, a consistent read.
 */
static int list_pods(struct k8s_meta *m, bool consistent)
{
	struct transfer t = {.m = m, .max = LIST_MAX_BYTES};
	char *url = pods_url(m, consistent ? "" : "&resourceVersion=0");
	struct pod_batch b;
	long status;
	int err;

	if (!url)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	m->stats.list_requests++;
	pthread_mutex_unlock(&m->lock);
	err = get(m, "list", url, &t, on_list_body, 60, &status);
	free(url);
	if (!err && status != 200) {
		status_failed(m, "list", status, &t.body);
		err = -EIO;
	}
	if (!err) {
		uint64_t now;

		parse_list(m->store, (const char *)t.body.data, t.body.len, &b);
		pthread_mutex_lock(&m->lock);
		now = clock_ns(CLOCK_MONOTONIC);
		err = commit(m->store, &b, now, m->rv, sizeof(m->rv)); /* a list expires too */
		m->expired_ns = now;
		if (!err && !m->stats.synced) {
			m->stats.synced = true;
			pthread_cond_broadcast(&m->cond);
			log_info("pod metadata: the node's pods are listed; watching for changes",
				 "node=%s pods=%llu bytes=%zu", m->node_name,
				 (unsigned long long)m->store->pods.len, t.body.len);
		}
		pthread_mutex_unlock(&m->lock);
		if (err)
			request_failed(m, "list", "the pod list is malformed (%s)", strerror(-err));
		else
			request_ok(m);
	}
	buf_free(&t.body);
	return err;
}

/*
 * Watches from m->rv until the server ends the watch (0), the resourceVersion is too old
 * (-ESTALE), or an error.
 */
static int watch_pods(struct k8s_meta *m)
{
	struct transfer t = {.m = m, .max = EVENT_MAX_BYTES};
	char extra[3 * RV_MAX + 128], *rv = curl_easy_escape(m->curl, m->rv, 0), *url;
	long status;
	int err;

	if (!rv)
		return -ENOMEM;
	snprintf(extra, sizeof(extra),
		 "&watch=true&allowWatchBookmarks=true&timeoutSeconds=%u&resourceVersion=%s",
		 m->watch_timeout_s, rv);
	curl_free(rv);
	url = pods_url(m, extra);
	if (!url)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	m->stats.watch_requests++;
	pthread_mutex_unlock(&m->lock);
	err = get(m, "watch", url, &t, on_watch_body, (long)m->watch_timeout_s + 30, &status);
	free(url);
	if (!err && status == 410)
		err = -ESTALE;
	else if (!err && status != 200) {
		status_failed(m, "watch", status, &t.body);
		err = -EIO;
	} else if (!err && t.body.len) {
		err = apply_lines(&t, true); /* a last event without its newline */
	}
	if (err == -EPROTO)
		request_failed(m, "watch", "the watch ended with an error event");
	buf_free(&t.body);
	if (!err)
		request_ok(m);
	return err;
}

/* Sleeps ms unless stopped; returns whether to stop. */
static bool sleep_ms(struct k8s_meta *m, uint64_t ms)
{
	uint64_t deadline = clock_ns(CLOCK_REALTIME) + ms * 1000000;
	struct timespec ts = {(time_t)(deadline / NSEC_PER_SEC), (long)(deadline % NSEC_PER_SEC)};
	bool stop;

	pthread_mutex_lock(&m->lock);
	while (!m->stop && clock_ns(CLOCK_REALTIME) < deadline)
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	stop = m->stop;
	pthread_mutex_unlock(&m->lock);
	return stop;
}

static void *meta_main(void *arg)
{
	struct k8s_meta *m = arg;
	uint64_t backoff = BACKOFF_MIN_MS;
	unsigned int seed = (unsigned int)clock_ns(CLOCK_MONOTONIC);
	uint32_t stale = 0; /* watches in a row that ended in 410 Gone */

	while (!stopping(m)) {
		int err = list_pods(m, stale > 0);

		while (!err && !stopping(m)) {
			uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

			err = watch_pods(m);
			pthread_mutex_lock(&m->lock);
			expire_locked(m, clock_ns(CLOCK_MONOTONIC));
			if (err == -ESTALE)
				m->stats.relists++;
			pthread_mutex_unlock(&m->lock);
			if (err)
				break;
			stale = 0;
			/* the server ended the watch: renew it, but not in a busy loop */
			if (clock_ns(CLOCK_MONOTONIC) - t0 < NSEC_PER_SEC) {
				if (sleep_ms(m, backoff))
					break;
				backoff = MIN(backoff * 2, BACKOFF_MAX_MS);
			} else {
				backoff = BACKOFF_MIN_MS;
			}
		}
		if (err == -ECANCELED || stopping(m))
			break;
		/* too old to resume: list again (consistently) at once, the first time in a row */
		if (err == -ESTALE && stale++ == 0)
			continue;
		/* with jitter, so a fleet of agents does not come back at once */
		if (sleep_ms(m, backoff / 2 + (uint64_t)rand_r(&seed) % (backoff / 2 + 1)))
			break;
		backoff = MIN(backoff * 2, BACKOFF_MAX_MS);
	}
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct k8s_meta *k8s_meta__new(const struct k8s_opts *opts)
{
	struct k8s_meta *m = calloc(1, sizeof(*m));
	size_t n;

	if (!m)
		return NULL;
	m->watch_timeout_s = opts->watch_timeout_s ? opts->watch_timeout_s : 300;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->api_url = dup_or_null(opts->api_url);
	m->node_name = dup_or_null(opts->node_name);
	m->token_file = dup_or_null(opts->token_file);
	m->ca_file = dup_or_null(opts->ca_file);
	m->user_agent = strdup(opts->user_agent ? opts->user_agent : "sonde-agent");
	if (!m->api_url || !m->node_name || !m->user_agent ||
	    (opts->token_file && !m->token_file) || (opts->ca_file && !m->ca_file))
		goto fail;
	n = strlen(m->api_url);
	while (n && m->api_url[n - 1] == '/')
		m->api_url[--n] = 0;
	m->store = pod_store__new(m->node_name, opts->max_pods);
	m->curl = curl_easy_init();
	if (!m->store || !m->curl)
		goto fail;
	if (pthread_create(&m->thread, NULL, meta_main, m))
		goto fail;
	m->started = true;
	pthread_setname_np(m->thread, "sonde-k8s");
	return m;
fail:
	log_error("cannot start the pod metadata client", "url=\"%s\"",
		  opts->api_url ? opts->api_url : "");
	k8s_meta__free(m);
	return NULL;
}

void k8s_meta__free(struct k8s_meta *m)
{
	if (!m)
		return;
	if (m->started) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
	}
	if (m->curl)
		curl_easy_cleanup(m->curl);
	pod_store__free(m->store);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m->api_url);
	free(m->node_name);
	free(m->token_file);
	free(m->ca_file);
	free(m->user_agent);
	free(m);
}

int k8s_meta__wait_synced(struct k8s_meta *m, int timeout_ms)
{
	uint64_t deadline = clock_ns(CLOCK_REALTIME) + (uint64_t)timeout_ms * 1000000;
	struct timespec ts = {(time_t)(deadline / NSEC_PER_SEC), (long)(deadline % NSEC_PER_SEC)};
	bool synced;

	pthread_mutex_lock(&m->lock);
	while (!m->stats.synced && !m->stop && clock_ns(CLOCK_REALTIME) < deadline)
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	synced = m->stats.synced;
	pthread_mutex_unlock(&m->lock);
	return synced ? 0 : -ETIMEDOUT;
}

uint64_t k8s_meta__labels(struct k8s_meta *m, const char *uid, const char *container_id,
			  struct label_set *ls, char *service, size_t service_size,
			  uint32_t *ret_dropped)
{
	uint64_t v;

	pthread_mutex_lock(&m->lock);
	v = pod_store__labels(m->store, uid, container_id, ls, service, service_size, ret_dropped);
	pthread_mutex_unlock(&m->lock);
	return v;
}

uint64_t k8s_meta__version(struct k8s_meta *m, const char *uid)
{
	uint64_t v;

	pthread_mutex_lock(&m->lock);
	v = pod_store__version(m->store, uid);
	pthread_mutex_unlock(&m->lock);
	return v;
}

uint64_t k8s_meta__generation(struct k8s_meta *m)
{
	uint64_t g;

	pthread_mutex_lock(&m->lock);
	g = pod_store__generation(m->store);
	pthread_mutex_unlock(&m->lock);
	return g;
}

void k8s_meta__stats(struct k8s_meta *m, struct k8s_stats *ret)
{
	pthread_mutex_lock(&m->lock);
	*ret = m->stats;
	pod_store__stats(m->store, &ret->store);
	pthread_mutex_unlock(&m->lock);
}
