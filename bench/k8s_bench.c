// SPDX-License-Identifier: Apache-2.0
/*
 * The cost of pod metadata: applying a node's PodList (as the API server serializes pods, with
 * managedFields, spec and status), applying watch events, looking a process's pod up, and the
 * memory the cache keeps per pod. Writes the list it used to OUT (for a reference parser).
 * usage: k8s_bench PODS [OUT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../agent/pod_store.h"
#include "../common/buf.h"
#include "../common/util.h"

static void pod(struct buf *b, int i, int labels_gen)
{
	buf_printf(
		b,
		"{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"api-7d9f8b6c5d-%"
		"05d\","
		"\"generateName\":\"api-7d9f8b6c5d-\",\"namespace\":\"prod-%d\",\"uid\":\"%08x-"
		"0000-4000-8000-%012x\","
		"\"resourceVersion\":\"%d\",\"creationTimestamp\":\"2026-12-01T10:00:00Z\","
		"\"labels\":{\"app\":\"api\",\"app.kubernetes.io/"
		"name\":\"api\",\"app.kubernetes.io/part-of\":\"shop\","
		"\"pod-template-hash\":\"7d9f8b6c5d\",\"version\":\"v%d\",\"team\":\"payments\"},"
		"\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":\"2026-12-01T09:59:00Z\","
		"\"prometheus.io/scrape\":\"true\",\"prometheus.io/port\":\"9090\"},"
		"\"ownerReferences\":[{\"apiVersion\":\"apps/"
		"v1\",\"kind\":\"ReplicaSet\",\"name\":\"api-7d9f8b6c5d\","
		"\"uid\":\"5b1c2d3e-0000-4000-8000-000000000001\",\"controller\":true,"
		"\"blockOwnerDeletion\":true}],"
		"\"managedFields\":[",
		i, i % 7, i, i, 1000 + i, labels_gen);
	for (int m = 0; m < 3; m++)
		buf_printf(b,
			   "%s{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\","
			   "\"apiVersion\":\"v1\","
			   "\"time\":\"2026-12-01T10:00:00Z\",\"fieldsType\":\"FieldsV1\","
			   "\"fieldsV1\":{\"f:metadata\":{"
			   "\"f:generateName\":{},\"f:labels\":{\".\":{},\"f:app\":{},\"f:pod-"
			   "template-hash\":{}},"
			   "\"f:ownerReferences\":{\".\":{},\"k:{\\\"uid\\\":\\\"5b1c2d3e\\\"}\":{}"
			   "}},\"f:spec\":{"
			   "\"f:containers\":{\"k:{\\\"name\\\":\\\"api\\\"}\":{\".\":{},\"f:env\":"
			   "{\".\":{},"
			   "\"k:{\\\"name\\\":\\\"GOMAXPROCS\\\"}\":{\".\":{},\"f:name\":{},\"f:"
			   "valueFrom\":{}}},"
			   "\"f:image\":{},\"f:imagePullPolicy\":{},\"f:name\":{},\"f:ports\":{},"
			   "\"f:resources\":{}}}}}}",
			   m ? "," : "");
	buf_printf(b,
		   "]},\"spec\":{\"volumes\":[{\"name\":\"kube-api-access\",\"projected\":{"
		   "\"sources\":[{\"serviceAccountToken\":"
		   "{\"expirationSeconds\":3607,\"path\":\"token\"}},{\"configMap\":{\"name\":"
		   "\"kube-root-ca.crt\","
		   "\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}}],\"defaultMode\":420}}],"
		   "\"containers\":[{\"name\":\"api\",\"image\":\"registry.example/"
		   "api:1.%d\",\"ports\":[{\"containerPort\":8080,"
		   "\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"GOMAXPROCS\",\"valueFrom\":{"
		   "\"resourceFieldRef\":{\"resource\":"
		   "\"limits.cpu\",\"divisor\":\"0\"}}}],\"resources\":{\"limits\":{\"cpu\":\"2\","
		   "\"memory\":\"1Gi\"},"
		   "\"requests\":{\"cpu\":\"500m\",\"memory\":\"512Mi\"}}},{\"name\":\"istio-"
		   "proxy\",\"image\":\"istio/proxyv2\"}],"
		   "\"restartPolicy\":\"Always\",\"nodeName\":\"node-1\",\"serviceAccountName\":"
		   "\"api\",\"tolerations\":["
		   "{\"key\":\"node.kubernetes.io/"
		   "not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\","
		   "\"tolerationSeconds\":300}]},\"status\":{\"phase\":\"Running\",\"conditions\":["
		   "{\"type\":\"Ready\","
		   "\"status\":\"True\",\"lastTransitionTime\":\"2026-12-01T10:00:09Z\"}],"
		   "\"hostIP\":\"10.0.0.5\","
		   "\"podIP\":\"10.1.%d.%d\",\"startTime\":\"2026-12-01T10:00:00Z\","
		   "\"containerStatuses\":["
		   "{\"name\":\"api\",\"state\":{\"running\":{\"startedAt\":\"2026-12-01T10:00:"
		   "05Z\"}},\"ready\":true,"
		   "\"restartCount\":0,\"image\":\"registry.example/"
		   "api:1\",\"imageID\":\"registry.example/api@sha256:ab\","
		   "\"containerID\":\"containerd://"
		   "%064x\",\"started\":true},{\"name\":\"istio-proxy\",\"ready\":true,"
		   "\"containerID\":\"containerd://%063xf\"}],\"qosClass\":\"Burstable\"}}",
		   i, i / 250, i % 250, i, i);
}

static double now_s(void)
{
	return (double)clock_ns(CLOCK_MONOTONIC) / 1e9;
}

int main(int argc, char **argv)
{
	int npods = argc > 1 ? atoi(argv[1]) : 110, rounds;
	struct buf list = {0}, ev = {0};
	struct label_set ls = {0};
	struct pod_store *ps;
	char rv[64], svc[256], uid[40];
	uint64_t rss0, rss1, peak;
	double t0, t_first = 0, t_list, t_event, t_lookup;
	uint32_t nlabels;
	FILE *f;

	if (npods < 1 || npods > 100000) {
		fprintf(stderr, "usage: k8s_bench PODS [OUT]\n");
		return 2;
	}
	buf_puts(&list, "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
			"\"resourceVersion\":\"5000\"},\"items\":[");
	for (int i = 0; i < npods; i++) {
		if (i)
			buf_putc(&list, ',');
		pod(&list, i, 1);
	}
	buf_puts(&list, "]}");
	if (argc > 2 && (f = fopen(argv[2], "w"))) {
		fwrite(list.data, 1, list.len, f);
		fclose(f);
	}
	proc_self_rss(&rss0, &peak);
	ps = pod_store__new("node-1", 0);
	rounds = MAX(1, 200000 / npods);
	/* the first list builds every pod; later ones (a re-list, pods unchanged) only parse */
	t0 = now_s();
	for (int r = 0; r <= rounds; r++) {
		if (pod_store__apply_list(ps, (const char *)list.data, list.len, 1, rv,
					  sizeof(rv))) {
			fprintf(stderr, "the list was refused\n");
			return 1;
		}
		if (r == 0) {
			t_first = now_s() - t0;
			t0 = now_s();
		}
	}
	t_list = (now_s() - t0) / rounds;
	proc_self_rss(&rss1, &peak);

	/* watch events: each a pod whose labels changed (the costly kind: a new version) */
	t0 = now_s();
	for (int i = 0; i < 20000; i++) {
		buf_reset(&ev);
		buf_puts(&ev, "{\"type\":\"MODIFIED\",\"object\":");
		pod(&ev, i % npods, i);
		buf_puts(&ev, "}");
		pod_store__apply_event(ps, (const char *)ev.data, ev.len, 2, rv, sizeof(rv));
	}
	t_event = (now_s() - t0) / 20000;

	pod_store__labels(ps, "00000000-0000-4000-8000-000000000000", "", &ls, svc, sizeof(svc),
			  NULL);
	nlabels = ls.n;
	label_set_free(&ls);
	memset(&ls, 0, sizeof(ls));
	t0 = now_s();
	for (int i = 0; i < 200000; i++) {
		snprintf(uid, sizeof(uid), "%08x-0000-4000-8000-%012x", i % npods, i % npods);
		pod_store__labels(ps, uid, "", &ls, svc, sizeof(svc), NULL);
		label_set_free(&ls);
		memset(&ls, 0, sizeof(ls));
	}
	t_lookup = (now_s() - t0) / 200000;

	printf("pods=%d list_bytes=%zu bytes_per_pod=%zu\n", npods, list.len,
	       list.len / (size_t)npods);
	printf("first_list_ms=%.3f (builds every pod)\n", t_first * 1e3);
	printf("list_apply_ms=%.3f list_MBps=%.0f us_per_pod=%.2f (a re-list, pods unchanged)\n",
	       t_list * 1e3, list.len / t_list / 1e6, t_list * 1e6 / npods);
	printf("watch_event_us=%.2f lookup_us=%.3f (a process's labels, %u of them)\n",
	       t_event * 1e6, t_lookup * 1e6, nlabels);
	printf("cache_rss_kib=%llu (%.0f bytes per pod)\n",
	       (unsigned long long)(rss1 > rss0 ? rss1 - rss0 : 0) / 1024,
	       (double)(rss1 > rss0 ? rss1 - rss0 : 0) / npods);
	pod_store__free(ps);
	buf_free(&list);
	buf_free(&ev);
	return 0;
}
