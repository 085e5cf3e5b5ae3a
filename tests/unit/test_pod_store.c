// SPDX-License-Identifier: Apache-2.0
/*
 * agent/pod_store.c: the pod-metadata cache applies PodLists and watch events in the API
 * server's JSON, answers lookups by pod UID, forgets deleted pods after their TTL and stays
 * within its bounds.
 */
#include <errno.h>
#include <stdlib.h>

#include "unit.h"
#include "../../agent/pod_store.h"
#include "../../common/buf.h"

/* One pod in the API server's JSON (with the noise real pods have: managedFields, spec, status). */
static void pod_json(struct buf *b, const char *uid, const char *name, const char *node,
		     const char *owner_kind, const char *owner_name, const char *labels,
		     const char *annotations, const char *containers)
{
	buf_printf(b,
		   "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
		   "\"namespace\":\"shop\","
		   "\"uid\":\"%s\",\"resourceVersion\":\"42\",\"labels\":{%s},\"annotations\":{%s},"
		   "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Other\",\"name\":\"not-"
		   "this\"},"
		   "{\"apiVersion\":\"apps/"
		   "v1\",\"kind\":\"%s\",\"name\":\"%s\",\"uid\":\"x\",\"controller\":true,"
		   "\"blockOwnerDeletion\":true}],"
		   "\"managedFields\":[{\"manager\":\"kubelet\",\"fieldsV1\":{\"f:status\":{\"f:"
		   "conditions\":{"
		   "\"k:{\\\"type\\\":\\\"Ready\\\"}\":{\".\":{},\"f:status\":{}}}}}}]},"
		   "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"ports\":[{"
		   "\"containerPort\":80}]}],"
		   "\"nodeName\":\"%s\",\"tolerations\":[]},"
		   "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\",\"containerStatuses\":"
		   "[%s]}}",
		   name, uid, labels, annotations, owner_kind, owner_name, node, containers);
}

/* A watch event of type TYPE for a pod of node-1 (into b, emptied first). */
static void pod_event(struct buf *b, const char *type, const char *uid, const char *name,
		      const char *owner_kind, const char *owner_name, const char *labels)
{
	buf_reset(b);
	buf_printf(b, "{\"type\":\"%s\",\"object\":", type);
	pod_json(b, uid, name, "node-1", owner_kind, owner_name, labels, "", "");
	buf_puts(b, "}");
}

#define UID_A "0a0a0a0a-0000-4000-8000-00000000000a"
#define UID_B "0b0b0b0b-0000-4000-8000-00000000000b"
#define UID_C "0c0c0c0c-0000-4000-8000-00000000000c"
#define UID_D "0d0d0d0d-0000-4000-8000-00000000000d"
#define UID_E "0e0e0e0e-0000-4000-8000-00000000000e"
#define UID_F "0f0f0f0f-0000-4000-8000-00000000000f"
#define CID_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define CID_2 "2222222222222222222222222222222222222222222222222222222222222222"

static void pod_list(struct buf *b, const char *rv, bool with_b)
{
	buf_printf(b,
		   "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":"
		   "\"%s\"},\"items\":[",
		   rv);
	pod_json(b, UID_A, "checkout-7d9f8b6c5d-x2x9q", "node-1", "ReplicaSet",
		 "checkout-7d9f8b6c5d", "\"app\":\"checkout\",\"pod-template-hash\":\"7d9f8b6c5d\"",
		 "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"",
		 "{\"name\":\"server\",\"containerID\":\"containerd://" CID_1 "\",\"ready\":true},"
		 "{\"name\":\"istio-proxy\",\"containerID\":\"containerd://" CID_2
		 "\"},{\"name\":\"waiting\"}");
	if (with_b) {
		buf_puts(b, ",");
		pod_json(b, UID_B, "db-0", "node-1", "StatefulSet", "db",
			 "\"app.kubernetes.io/name\":\"postgres\"", "", "");
	}
	buf_puts(b, ",");
	pod_json(b, UID_C, "elsewhere", "node-2", "DaemonSet", "ds", "", "", "");
	buf_puts(b, ",");
	pod_json(b, UID_D, "backup-28923840-abcde", "node-1", "Job", "backup-28923840", "", "", "");
	buf_puts(b, ",");
	pod_json(b, UID_E, "kube-apiserver-node-1", "node-1", "Node", "node-1", "", "", "");
	buf_puts(b, ",");
	pod_json(b, UID_F, "web-1", "node-1", "DaemonSet", "web",
		 "\"app.kubernetes.io/name\":\"ignored\"",
		 "\"resource.opentelemetry.io/service.name\":\"storefront\"", "");
	buf_puts(b, "]}");
}

/* The service and one label of a pod, looked up as the labeler does. */
static uint64_t pod_labels(struct pod_store *ps, const char *uid, const char *cid,
			   struct label_set *ls, char *svc)
{
	label_set_free(ls);
	memset(ls, 0, sizeof(*ls));
	svc[0] = 0;
	return pod_store__labels(ps, uid, cid, ls, svc, 64, NULL);
}

static void test_pod_store(void)
{
	struct pod_store *ps = pod_store__new("node-1", 0);
	struct pod_store_stats st;
	struct label_set ls = {0};
	struct buf b = {0};
	char rv[64] = "", svc[64];
	uint64_t va, vb, gen, now = 1000;

	CHECK(ps != NULL);
	pod_list(&b, "100", true);
	CHECK(pod_store__apply_list(ps, (const char *)b.data, b.len, now, rv, sizeof(rv)) == 0);
	CHECK_STR(rv, "100");
	pod_store__stats(ps, &st);
	CHECK_EQ_U64(st.pods, 5);
	CHECK_EQ_U64(st.other_node, 1);

	/* a Deployment's pod: the workload from the ReplicaSet less its pod-template-hash */
	va = pod_labels(ps, UID_A, CID_2, &ls, svc);
	CHECK(va > 0);
	CHECK_STR(svc, "checkout");
	CHECK_STR(label_set_get(&ls, "k8s.pod.name"), "checkout-7d9f8b6c5d-x2x9q");
	CHECK_STR(label_set_get(&ls, "k8s.namespace.name"), "shop");
	CHECK_STR(label_set_get(&ls, "k8s.deployment.name"), "checkout");
	CHECK_STR(label_set_get(&ls, "k8s.replicaset.name"), "checkout-7d9f8b6c5d");
	CHECK_STR(label_set_get(&ls, "k8s.container.name"), "istio-proxy");
	CHECK_STR(label_set_get(&ls, "k8s.pod.label.app"), "checkout");
	CHECK(label_set_get(&ls,
			    "k8s.pod.label.kubectl.kubernetes.io/last-applied-configuration") ==
	      NULL);
	pod_labels(ps, UID_A, "", &ls, svc);
	CHECK(label_set_get(&ls, "k8s.container.name") == NULL);
	/* app.kubernetes.io/name names the service before the workload */
	vb = pod_labels(ps, UID_B, "", &ls, svc);
	CHECK(vb > 0 && vb != va);
	CHECK_STR(svc, "postgres");
	CHECK_STR(label_set_get(&ls, "k8s.statefulset.name"), "db");
	CHECK_STR(label_set_get(&ls, "k8s.pod.label.app.kubernetes.io/name"), "postgres");
	/* another node's pod is not kept */
	CHECK(pod_labels(ps, UID_C, "", &ls, svc) == 0 && ls.n == 0);
	/* a CronJob's Job */
	CHECK(pod_labels(ps, UID_D, "", &ls, svc) > 0);
	CHECK_STR(svc, "backup");
	CHECK_STR(label_set_get(&ls, "k8s.cronjob.name"), "backup");
	CHECK_STR(label_set_get(&ls, "k8s.job.name"), "backup-28923840");
	/* a static pod: its name less the node's */
	CHECK(pod_labels(ps, UID_E, "", &ls, svc) > 0);
	CHECK_STR(svc, "kube-apiserver");
	/* the OpenTelemetry annotation wins */
	CHECK(pod_labels(ps, UID_F, "", &ls, svc) > 0);
	CHECK_STR(svc, "storefront");
	CHECK_STR(label_set_get(&ls, "k8s.daemonset.name"), "web");

	/* a status-only change keeps the version; a label change bumps it */
	gen = pod_store__generation(ps);
	pod_event(&b, "MODIFIED", UID_B, "db-0", "StatefulSet", "db",
		  "\"app.kubernetes.io/name\":\"postgres\"");
	CHECK(pod_store__apply_event(ps, (const char *)b.data, b.len, now, rv, sizeof(rv)) == 0);
	CHECK_STR(rv, "42");
	CHECK_EQ_U64(pod_store__version(ps, UID_B), vb);
	CHECK_EQ_U64(pod_store__generation(ps), gen);
	buf_reset(&b);
	buf_puts(&b, "{\"object\":");
	pod_json(&b, UID_B, "db-0", "node-1", "StatefulSet", "db",
		 "\"app.kubernetes.io/name\":\"pg\"", "", "");
	buf_puts(&b, ",\"type\":\"MODIFIED\"}"); /* members in any order */
	CHECK(pod_store__apply_event(ps, (const char *)b.data, b.len, now, rv, sizeof(rv)) == 0);
	CHECK(pod_store__version(ps, UID_B) > vb);
	CHECK(pod_store__generation(ps) > gen);
	pod_labels(ps, UID_B, "", &ls, svc);
	CHECK_STR(svc, "pg");

	/* a new pod arrives by watch */
	pod_event(&b, "ADDED", UID_C, "moved", "DaemonSet", "ds", "");
	CHECK(pod_store__apply_event(ps, (const char *)b.data, b.len, now, rv, sizeof(rv)) == 0);
	CHECK(pod_labels(ps, UID_C, "", &ls, svc) > 0);
	CHECK_STR(svc, "ds");

	/* deleted: kept a while for processes still running, then forgotten */
	pod_event(&b, "DELETED", UID_A, "checkout-7d9f8b6c5d-x2x9q", "ReplicaSet",
		  "checkout-7d9f8b6c5d", "");
	CHECK(pod_store__apply_event(ps, (const char *)b.data, b.len, now, rv, sizeof(rv)) == 0);
	CHECK_EQ_U64(pod_store__version(ps, UID_A), va);
	pod_store__expire(ps, now + POD_DELETED_TTL_NS - 1);
	CHECK_EQ_U64(pod_store__version(ps, UID_A), va);
	pod_store__expire(ps, now + POD_DELETED_TTL_NS);
	CHECK_EQ_U64(pod_store__version(ps, UID_A), 0);

	/* bookmarks move the resourceVersion; errors end the watch */
	{
		static const char bm[] = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\","
					 "\"metadata\":{\"resourceVersion\":\"777\"}}}";
		static const char gone[] = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
					   "\"status\":\"Failure\","
					   "\"message\":\"too old resource "
					   "version\",\"reason\":\"Expired\",\"code\":410}}";
		static const char e500[] =
			"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500}}";
		static const char odd[] = "{\"type\":\"RENAMED\",\"object\":{}}";
		static const char broken[] =
			"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"uid\":";

		CHECK(pod_store__apply_event(ps, bm, strlen(bm), now, rv, sizeof(rv)) == 0);
		CHECK_STR(rv, "777");
		CHECK(pod_store__apply_event(ps, gone, strlen(gone), now, rv, sizeof(rv)) ==
		      -ESTALE);
		CHECK(pod_store__apply_event(ps, e500, strlen(e500), now, rv, sizeof(rv)) ==
		      -EPROTO);
		CHECK(pod_store__apply_event(ps, odd, strlen(odd), now, rv, sizeof(rv)) == -EINVAL);
		CHECK(pod_store__apply_event(ps, broken, strlen(broken), now, rv, sizeof(rv)) ==
		      -EINVAL);
		CHECK_STR(rv, "777");
	}

	/* a malformed list changes nothing; a list without a pod marks it deleted */
	buf_reset(&b);
	pod_list(&b, "200", false);
	CHECK(pod_store__apply_list(ps, (const char *)b.data, b.len - 1, now, rv, sizeof(rv)) ==
	      -EINVAL);
	CHECK_STR(rv, "777");
	CHECK(pod_store__version(ps, UID_B) > 0);
	CHECK(pod_store__apply_list(ps, (const char *)b.data, b.len, now, rv, sizeof(rv)) == 0);
	CHECK_STR(rv, "200");
	CHECK(pod_store__version(ps, UID_A) > 0); /* back in the list */
	CHECK(pod_store__version(ps, UID_B) > 0); /* deleted, still kept */
	pod_store__expire(ps, now + POD_DELETED_TTL_NS);
	CHECK_EQ_U64(pod_store__version(ps, UID_B), 0);
	CHECK(pod_store__version(ps, UID_C) == 0); /* the list says it is on node-2 again */
	{
		static const char status[] = "{\"kind\":\"Status\",\"metadata\":{"
					     "\"resourceVersion\":\"1\"},\"code\":403}";

		CHECK(pod_store__apply_list(ps, status, strlen(status), now, rv, sizeof(rv)) ==
		      -EINVAL);
	}
	pod_store__stats(ps, &st);
	CHECK(st.malformed >= 4);
	pod_store__free(ps);
	label_set_free(&ls);
	buf_free(&b);
}

/* Bounded: pods cached, labels per pod; a malformed UID is refused. */
static void test_pod_store_bounds(void)
{
	struct pod_store *ps = pod_store__new("node-1", 2);
	struct pod_store_stats st;
	struct label_set ls = {0};
	struct buf b = {0};
	char rv[64] = "", svc[64];
	uint64_t now = 1000;

	buf_reset(&b);
	pod_list(&b, "1", true);
	CHECK(pod_store__apply_list(ps, (const char *)b.data, b.len, now, rv, sizeof(rv)) == 0);
	pod_store__stats(ps, &st);
	CHECK_EQ_U64(st.pods, 2);
	CHECK_EQ_U64(st.pods_over_limit, 3);
	pod_store__free(ps);
	ps = pod_store__new("node-1", 0);
	{
		struct buf labels = {0};

		for (int i = 0; i < POD_MAX_LABELS + 12; i++)
			buf_printf(&labels, "%s\"l%02d\":\"v\"", i ? "," : "", i);
		pod_event(&b, "ADDED", UID_A, "many", "StatefulSet", "many", buf_cstr(&labels));
		buf_free(&labels);
	}
	CHECK(pod_store__apply_event(ps, (const char *)b.data, b.len, now, rv, sizeof(rv)) == 0);
	pod_store__stats(ps, &st);
	CHECK_EQ_U64(st.labels_over_limit, 12);
	/* a UID not as the API server writes them is refused */
	pod_event(&b, "ADDED", "0A0A0A0A-0000-4000-8000-00000000000A", "upper", "StatefulSet", "x",
		  "");
	CHECK(pod_store__apply_event(ps, (const char *)b.data, b.len, now, rv, sizeof(rv)) == 0);
	pod_store__stats(ps, &st);
	CHECK_EQ_U64(st.pods, 1);
	CHECK_EQ_U64(st.malformed, 1);
	pod_labels(ps, UID_A, "", &ls, svc);
	CHECK_STR(label_set_get(&ls, "k8s.pod.label.l00"), "v");
	CHECK(label_set_get(&ls, "k8s.pod.label.l50") == NULL);
	pod_store__free(ps);
	label_set_free(&ls);
	buf_free(&b);
}

/*
 * The two halves the API-server client uses: a parse leaves the cache as it was (lookups go on
 * meanwhile); the commit applies it, counts what the parse refused, and says what the answer was.
 */
static void test_pod_store_parse_then_commit(void)
{
	static const char gone[] = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
				   "\"code\":410,\"metadata\":{}}}";
	struct pod_store *ps = pod_store__new("node-1", 0);
	struct pod_store_stats st;
	struct pod_batch batch;
	struct buf b = {0};
	char rv[64] = "";

	pod_list(&b, "200", true);
	pod_store__parse_list(ps, (const char *)b.data, b.len, &batch);
	CHECK_EQ_U64(batch.result, 0);
	CHECK_EQ_U64(pod_store__version(ps, UID_A), 0); /* not yet */
	pod_store__stats(ps, &st);
	CHECK_EQ_U64(st.pods, 0);
	CHECK_EQ_U64(st.lists, 0);
	CHECK(pod_store__commit(ps, &batch, 1000, rv, sizeof(rv)) == 0);
	CHECK_STR(rv, "200");
	CHECK(pod_store__version(ps, UID_A) > 0);
	CHECK(batch.pods.len == 0 && batch.pods.v == NULL); /* taken */
	pod_store__stats(ps, &st);
	CHECK_EQ_U64(st.lists, 1);

	pod_store__parse_event(ps, "{\"type\":", 9, &batch);
	CHECK(pod_store__commit(ps, &batch, 1000, rv, sizeof(rv)) == -EINVAL);
	pod_store__stats(ps, &st);
	CHECK_EQ_U64(st.malformed, 1);
	pod_store__parse_event(ps, gone, strlen(gone), &batch);
	CHECK(pod_store__commit(ps, &batch, 1000, rv, sizeof(rv)) == -ESTALE);
	CHECK_STR(rv, "200");
	CHECK(pod_store__version(ps, UID_A) > 0); /* a 410 changes nothing cached */
	pod_store__free(ps);
	buf_free(&b);
}

int main(void)
{
	RUN(test_pod_store);
	RUN(test_pod_store_bounds);
	RUN(test_pod_store_parse_then_commit);
	return unit_done();
}
