// SPDX-License-Identifier: Apache-2.0
/* agent/labels.c: process labels, label sets and cgroup metadata. */
#include <unistd.h>

#include "unit.h"
#include "../../agent/frames.h"

static void test_labels_and_labelsets(void)
{
	struct labeler_opts lo = {.host_name = "node-a", .node_name = "k8s-node-a"};
	struct labeler *lb = labeler__new(&lo);
	struct proc_labels *self, *again, *gone;
	struct profile *p = profile__new(NULL);
	const struct label_ids *pairs;
	char pid[16];
	uint32_t a, b, n;

	REQUIRE(lb != NULL);
	self = labeler__process(lb, (uint32_t)getpid(), "whatever");
	REQUIRE(self != NULL);
	snprintf(pid, sizeof(pid), "%d", getpid());
	CHECK_STR(proc_labels__value(self, "process.pid"), pid);
	CHECK_STR(proc_labels__value(self, "service.name"), "test_labels");
	CHECK_STR(proc_labels__value(self, "process.executable.name"), "test_labels");
	CHECK_STR(proc_labels__value(self, "host.name"), "node-a");
	CHECK_STR(proc_labels__value(self, "k8s.node.name"), "k8s-node-a");
	CHECK(proc_labels__value(self, "no.such.key") == NULL);
	/* a process that has gone still gets labels, named by its comm */
	gone = labeler__process(lb, 0x7ffffff0, "vanished");
	REQUIRE(gone != NULL);
	CHECK_STR(proc_labels__value(gone, "service.name"), "vanished");

	again = labeler__process(lb, (uint32_t)getpid(), "whatever");
	a = profile__labelset(p, self);
	b = profile__labelset(p, again);
	CHECK(a != 0 && a != UINT32_MAX);
	CHECK_EQ_U64(a, b); /* equal sets are stored once */
	CHECK(profile__labelset(p, gone) != a);
	CHECK_EQ_U64(profile__labelset(p, NULL), 0);
	CHECK_EQ_U64(profile__nlabelsets(p), 3);
	pairs = profile__labelset_get(p, a, &n);
	CHECK_EQ_U64(n, self->n);
	CHECK_STR(profile__str(p, pairs[0].key), self->v[0].key);
	CHECK_STR(profile__str(p, pairs[0].value), self->v[0].value);
	/* reset invalidates ids; the generation tells cachers */
	uint64_t gen = profile__generation(p);
	profile__reset(p);
	CHECK(profile__generation(p) != gen);
	CHECK_EQ_U64(profile__nlabelsets(p), 1);
	proc_labels__put(again);
	proc_labels__put(gone);
	proc_labels__put(self);
	profile__free(p);
	labeler__free(lb);
}

static void test_cgroup_meta(void)
{
	static const char id[] = "3f6c1b2a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";
	char text[1024];
	struct cgroup_meta m;

	/* containerd under the systemd driver, cgroup v2 */
	snprintf(text, sizeof(text),
		 "0::/kubepods.slice/kubepods-burstable.slice/"
		 "kubepods-burstable-pod8d3e1c2a_5b4f_4e6d_9a7b_1c2d3e4f5a6b.slice/"
		 "cri-containerd-%s.scope\n",
		 id);
	cgroup_meta_parse(text, &m);
	CHECK_STR(m.container_id, id);
	CHECK_STR(m.pod_uid, "8d3e1c2a-5b4f-4e6d-9a7b-1c2d3e4f5a6b");
	CHECK_STR(m.unit, "");
	/* CRI-O, a guaranteed pod (no QoS slice) */
	snprintf(text, sizeof(text),
		 "0::/kubepods.slice/kubepods-pod11111111_2222_3333_4444_555555555555.slice/"
		 "crio-%s.scope\n",
		 id);
	cgroup_meta_parse(text, &m);
	CHECK_STR(m.container_id, id);
	CHECK_STR(m.pod_uid, "11111111-2222-3333-4444-555555555555");
	/* the cgroupfs driver, cgroup v1: any hierarchy's line will do */
	snprintf(text, sizeof(text),
		 "12:pids:/kubepods/besteffort/pod11111111-2222-3333-4444-555555555555/%s\n"
		 "1:name=systemd:/kubepods/besteffort/pod11111111-2222-3333-4444-555555555555/"
		 "%s\n0::/\n",
		 id, id);
	cgroup_meta_parse(text, &m);
	CHECK_STR(m.container_id, id);
	CHECK_STR(m.pod_uid, "11111111-2222-3333-4444-555555555555");
	/* Docker */
	snprintf(text, sizeof(text), "0::/system.slice/docker-%s.scope\n", id);
	cgroup_meta_parse(text, &m);
	CHECK_STR(m.container_id, id);
	CHECK_STR(m.pod_uid, "");
	snprintf(text, sizeof(text), "4:memory:/docker/%s\n", id);
	cgroup_meta_parse(text, &m);
	CHECK_STR(m.container_id, id);
	/* bare metal: the innermost service */
	cgroup_meta_parse("0::/system.slice/nginx.service\n", &m);
	CHECK_STR(m.unit, "nginx.service");
	CHECK_STR(m.container_id, "");
	cgroup_meta_parse(
		"0::/user.slice/user-1000.slice/user@1000.service/app.slice/web.service\n", &m);
	CHECK_STR(m.unit, "web.service");
	/* nothing, or not quite */
	cgroup_meta_parse("0::/\n", &m);
	CHECK(!m.container_id[0] && !m.pod_uid[0] && !m.unit[0]);
	cgroup_meta_parse("0::/system.slice/cri-containerd-xyz.scope\n4:memory:/process_api/"
			  "a3991ef951493ed90b81c59d0a0b39b8",
			  &m);
	CHECK(!m.container_id[0] && !m.pod_uid[0]);
	cgroup_meta_parse("garbage", &m);
	CHECK(!m.container_id[0]);
}

int main(void)
{
	RUN(test_labels_and_labelsets);
	RUN(test_cgroup_meta);
	return unit_done();
}
