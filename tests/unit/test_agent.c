// SPDX-License-Identifier: Apache-2.0
/* agent/: maps parsing, process table, profile aggregation, folded and pprof output. */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "../../agent/caps.h"
#include "../../common/gzip.h"
#include "../../agent/frames.h"
#include "../../agent/k8s.h"
#include "../../agent/labels.h"
#include "../../agent/relabel.h"
#include "../../agent/options.h"
#include "../../agent/output.h"
#include "../../agent/proc.h"
#include "../../agent/profile.h"
#include "../../agent/sampler.h"

__attribute__((noinline)) int agent_marker_function(int x)
{
	return x + 11;
}

static void test_maps_line(void)
{
	char l1[] = "7f1c2a400000-7f1c2a428000 r-xp 00028000 fe:01 1835042    "
		    "/usr/lib/x86_64-linux-gnu/libc.so.6";
	char l2[] =
		"7ffd5e3f1000-7ffd5e3f3000 r-xp 00000000 00:00 0                          [vdso]";
	char l3[] = "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0";
	char l4[] = "not a maps line";
	char l5[] = "2000-1000 r-xp 00000000 00:00 0";
	struct maps_line ml;

	CHECK(parse_maps_line(l1, &ml) == 0);
	CHECK_EQ_U64(ml.start, 0x7f1c2a400000);
	CHECK_EQ_U64(ml.end, 0x7f1c2a428000);
	CHECK_EQ_U64(ml.pgoff, 0x28000);
	CHECK_EQ_U64(ml.dev, (0xfeull << 20) | 1);
	CHECK_EQ_U64(ml.ino, 1835042);
	CHECK_STR(ml.perms, "r-xp");
	CHECK_STR(ml.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	CHECK(parse_maps_line(l2, &ml) == 0);
	CHECK_STR(ml.path, "[vdso]");
	CHECK(parse_maps_line(l3, &ml) == 0);
	CHECK_STR(ml.path, "");
	CHECK(parse_maps_line(l4, &ml) == -EINVAL);
	CHECK(parse_maps_line(l5, &ml) == -EINVAL);
}

static int bias_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name && info->dlpi_name[0])
		return 0;
	*(uint64_t *)data = info->dlpi_addr;
	return 1;
}

static void test_proc_table_self(void)
{
	struct symbolizer *sym = symbolizer__new(NULL);
	struct proc_table *t = proc_table__new(sym, NULL, NULL);
	struct sym_result *r = malloc(sizeof(*r));
	const struct mapping *m;
	struct proc_table_stats st;
	struct proc *p;
	uint64_t bias = 0, addr = (uint64_t)(uintptr_t)&agent_marker_function;
	uint32_t exe_id = UINT32_MAX;

	dl_iterate_phdr(bias_cb, &bias);
	p = proc_table__get(t, (uint32_t)getpid(), true);
	CHECK(p != NULL && p->maps_valid && p->maps->n >= 3);
	m = proc_table__resolve(t, p, addr, 0);
	CHECK(m != NULL);
	if (m) {
		CHECK(m->flags & MAPPING_BIAS_OK);
		CHECK_EQ_U64(addr - m->bias, addr - bias);
		CHECK(m->obj->kind == OBJECT_FILE);
		CHECK_STR(m->obj->name, "test_agent");
		CHECK(m->obj->build_id[0] != 0);
		CHECK(m->obj->module != NULL);
		symbolizer__prefetch(sym, m->obj->module);
		CHECK(symbolizer__wait(sym, 10000) == 0);
		CHECK(symbolizer__lookup(sym, m->obj->module, addr - m->bias, r) == 0);
		CHECK_STR(r->frames[0].name, "agent_marker_function");
		exe_id = m->obj->id;
	}
	/* a heap address is in no executable mapping */
	{
		void *heap = malloc(16);

		CHECK(proc_table__resolve(t, p, (uintptr_t)heap, 0) == NULL);
		free(heap);
	}
	/* exec drops the mappings; the next get reads them again */
	proc_table__exec(t, p->pid);
	CHECK(!p->maps_valid && p->maps->n == 0);
	CHECK(proc_table__get(t, p->pid, false) == p && p->maps_valid);
	proc_table__exit(t, p->pid);
	CHECK(proc_table__get(t, (uint32_t)getpid(), false) == NULL);
	/* objects no process maps any more are freed when an epoch ends */
	proc_table__stats(t, &st);
	CHECK(st.objects >= 2);
	proc_table__end_epoch(t);
	proc_table__end_epoch(t);
	proc_table__stats(t, &st);
	CHECK(proc_table__object(t, exe_id) == NULL);
	CHECK(st.objects <= 2); /* only the process-independent [vdso] and [anon] stay */
	CHECK_EQ_U64(st.procs, 0);
	/* a process that does not exist */
	p = proc_table__get(t, 0x3ffffff0, true);
	CHECK(p != NULL && p->gone && p->maps->n == 0);
	proc_table__free(t);
	symbolizer__free(sym);
	free(r);
	agent_marker_function(1);
}

static struct frame kf(uint64_t addr)
{
	struct frame f = {.addr = addr, .kind = FRAME_KERNEL};

	return f;
}

static void test_profile_aggregation(void)
{
	struct profile_opts o = {.keep_timestamps = true};
	struct profile *p = profile__new(&o);
	struct frame s1[3] = {kf(0x10), kf(0x20), kf(0x30)};
	struct frame s2[2] = {kf(0x20), kf(0x30)};
	const struct sample_agg *a;
	const uint32_t *ids;
	uint32_t n;

	CHECK(profile__add(p, 1, 1, "proc", "thr", 0, s1, 3, 100) == 0);
	CHECK(profile__add(p, 1, 1, "proc", "thr", 0, s1, 3, 200) == 0);
	CHECK(profile__add(p, 1, 2, "proc", "thr2", 0, s1, 3, 300) == 0);
	CHECK(profile__add(p, 2, 2, "other", "x", 0, s2, 2, 400) == 0);
	CHECK_EQ_U64(profile__total(p), 4);
	CHECK_EQ_U64(profile__nsamples(p), 3);
	CHECK_EQ_U64(profile__nstacks(p), 2);
	CHECK_EQ_U64(profile__nframes(p), 3); /* shared frames stored once */
	a = profile__sample(p, 0);
	CHECK_EQ_U64(a->count, 2);
	CHECK_EQ_U64(a->ts_count, 2);
	CHECK_STR(profile__str(p, a->proc_name), "proc");
	ids = profile__stack(p, a->stack, &n);
	CHECK_EQ_U64(n, 3);
	CHECK_EQ_U64(profile__frame(p, ids[0])->addr, 0x10);
	CHECK_EQ_U64(profile__string(p, "proc", 4), a->proc_name);
	CHECK_STR(profile__str(p, 0), "");
	profile__reset(p);
	CHECK_EQ_U64(profile__total(p), 0);
	CHECK_EQ_U64(profile__nsamples(p), 0);
	CHECK_EQ_U64(profile__nstrings(p), 1);
	profile__free(p);

	/* the memory bound drops and counts */
	o.max_samples_bytes = 1;
	p = profile__new(&o);
	CHECK(profile__add(p, 1, 1, "a", "b", 0, s1, 3, 1) == -E2BIG);
	CHECK_EQ_U64(profile__dropped(p), 1);
	profile__free(p);
}

static void test_folded_output(void)
{
	struct profile *p = profile__new(NULL);
	struct frame_syms fs = {0};
	struct buf out = {0};
	/* leaf first: kernel leaf, kernel caller, then an unmapped user frame, then a marker */
	struct frame st[4] = {kf(0x2),
			      kf(0x1),
			      {.addr = 0xdead, .kind = FRAME_UNMAPPED},
			      {.kind = FRAME_TRUNCATED}};
	struct frame_sym syms[4];
	struct frame_line lines[4];
	struct output_meta meta = {.start_unix_ns = 1, .period_ns = 10000000};

	profile__add(p, 10, 10, "my;proc", "t", 0, st, 4, 0);
	profile__add(p, 11, 11, "my;proc", "t", 0, st, 4, 0); /* another pid, same name: merged */
	profile__add(p, 12, 12, "zeta", "t", 0, st + 1, 3, 0);
	/* hand-made names, as frame_syms__build would make them */
	for (int i = 0; i < 4; i++) {
		const char *names[] = {"leaf_fn", "caller_fn", "[unknown+0xdead]", "[truncated]"};

		memset(&lines[i], 0, sizeof(lines[i]));
		lines[i].name = profile__string(p, names[i], strlen(names[i]));
		memset(&syms[i], 0, sizeof(syms[i]));
		syms[i].first_line = (uint32_t)i;
		syms[i].nlines = 1;
		syms[i].symbolized = i != 2; /* the placeholder is its mapping and address */
		syms[i].kind = profile__frame(p, (uint32_t)i)->kind;
	}
	fs.frames.v = syms;
	fs.frames.len = 4;
	fs.lines.v = lines;
	fs.lines.len = 4;
	CHECK(output_folded(p, &fs, NULL, &meta, &out) == 0);
	CHECK_STR(buf_cstr(&out),
		  "my:proc;[truncated];[unknown+0xdead];caller_fn_[k];leaf_fn_[k] 2\n"
		  "zeta;[truncated];[unknown+0xdead];caller_fn_[k] 1\n");
	buf_free(&out);
	profile__free(p);
}

static void test_gzip(void)
{
	struct buf out = {0};

	CHECK(gzip_append("hello hello hello hello", 23, &out) == 0);
	CHECK(out.len > 18 && out.data[0] == 0x1f && out.data[1] == 0x8b);
	buf_free(&out);
}

static void test_options(void)
{
	struct agent_opts o;
	char *ok[] = {
		"sonde-agent", "-F", "99",	 "--duration", "2.5s",	   "-p",    "1",
		"--pid",       "2",  "--output", "x.pb.gz",    "--format", "pprof", "--stack-bytes",
		"16K",	       NULL};
	char *bad1[] = {"sonde-agent", "--frequency", "0", NULL};
	char *bad2[] = {"sonde-agent", "--no-such-flag", NULL};
	char *bad3[] = {"sonde-agent", "--pid", NULL};
	char *bad4[] = {"sonde-agent", "--format", "json", NULL};
	char *bad5[] = {"sonde-agent", "stray", NULL};
	char *bad6[] = {"sonde-agent", "--stack-bytes", "1M", NULL};

	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 15, ok) == 0);
	CHECK_EQ_U64(o.frequency, 99);
	CHECK_EQ_U64(o.duration_ns, 2500000000ULL);
	CHECK_EQ_U64(o.npids, 2);
	CHECK_EQ_U64(o.pids[1], 2);
	CHECK_STR(o.output, "x.pb.gz");
	CHECK(o.format == OUTPUT_PPROF);
	CHECK_EQ_U64(o.stack_copy_bytes, 16384);
	agent_opts__free(&o);
	fprintf(stderr, "(the next error lines are expected)\n");
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 3, bad1) == -EINVAL);
	CHECK(agent_opts__parse(&o, 2, bad2) == -EINVAL);
	CHECK(agent_opts__parse(&o, 2, bad3) == -EINVAL);
	CHECK(agent_opts__parse(&o, 3, bad4) == -EINVAL);
	CHECK(agent_opts__parse(&o, 2, bad5) == -EINVAL);
	CHECK(agent_opts__parse(&o, 3, bad6) == -EINVAL);
	agent_opts__free(&o);
}

static void test_labels_and_labelsets(void)
{
	struct labeler_opts lo = {.host_name = "node-a", .node_name = "k8s-node-a"};
	struct labeler *lb = labeler__new(&lo);
	struct proc_labels *self, *again, *gone;
	struct profile *p = profile__new(NULL);
	const struct label_ids *pairs;
	char pid[16];
	uint32_t a, b, n;

	CHECK(lb != NULL);
	self = labeler__process(lb, (uint32_t)getpid(), "whatever");
	CHECK(self != NULL);
	snprintf(pid, sizeof(pid), "%d", getpid());
	CHECK_STR(proc_labels__value(self, "process.pid"), pid);
	CHECK_STR(proc_labels__value(self, "service.name"), "test_agent");
	CHECK_STR(proc_labels__value(self, "process.executable.name"), "test_agent");
	CHECK_STR(proc_labels__value(self, "host.name"), "node-a");
	CHECK_STR(proc_labels__value(self, "k8s.node.name"), "k8s-node-a");
	CHECK(proc_labels__value(self, "no.such.key") == NULL);
	/* a process that has gone still gets labels, named by its comm */
	gone = labeler__process(lb, 0x7ffffff0, "vanished");
	CHECK(gone != NULL);
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

static void test_relabel(void)
{
	static const char *const texts[] = {
		"drop k8s.namespace.name=~kube-.*",
		"replace service.name=~(.*)-v[0-9]+ => service.name=$1",
		"replace process.executable.name=~(.*) => app=exe:$1",
		"labeldrop process\\.executable\\.path",
		"keep service.name=~api|web",
	};
	struct relabel_rule rules[5], bad;
	struct label_set ls = {0};
	char err[256];

	for (int i = 0; i < 5; i++)
		CHECK(relabel_parse(texts[i], &rules[i], err, sizeof(err)) == 0);
	/* renamed, a label added from another, one dropped, kept */
	label_set_put(&ls, "service.name", "api-v2");
	label_set_put(&ls, "process.executable.name", "apisrv");
	label_set_put(&ls, "process.executable.path", "/usr/bin/apisrv");
	CHECK(relabel_apply(rules, 5, &ls));
	CHECK_STR(label_set_get(&ls, "service.name"), "api");
	CHECK_STR(label_set_get(&ls, "app"), "exe:apisrv");
	CHECK(label_set_get(&ls, "process.executable.path") == NULL);
	CHECK_EQ_U64(ls.n, 3);
	label_set_free(&ls);
	/* dropped by namespace; not kept for its service; a missing label is "" */
	label_set_put(&ls, "service.name", "api");
	label_set_put(&ls, "k8s.namespace.name", "kube-system");
	CHECK(!relabel_apply(rules, 5, &ls));
	label_set_free(&ls);
	label_set_put(&ls, "service.name", "batch");
	CHECK(!relabel_apply(rules, 5, &ls));
	label_set_free(&ls);
	CHECK(relabel_apply(rules, 4, &ls)); /* no labels at all: nothing matches drop */
	/* an empty value removes the target */
	CHECK(relabel_parse("replace service.name=~.* => service.name=", &bad, err, sizeof(err)) ==
	      0);
	label_set_put(&ls, "service.name", "x");
	CHECK(relabel_apply(&bad, 1, &ls));
	CHECK(label_set_get(&ls, "service.name") == NULL);
	relabel_free(&bad);
	label_set_free(&ls);
	/* errors name what is wrong */
	CHECK(relabel_parse("rename a=~b", &bad, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "not keep, drop") != NULL);
	CHECK(relabel_parse("drop service.name", &bad, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "LABEL=~REGEX") != NULL);
	CHECK(relabel_parse("drop service.name=~(", &bad, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "invalid regular expression") != NULL);
	CHECK(relabel_parse("replace a=~b", &bad, err, sizeof(err)) == -EINVAL);
	CHECK(relabel_parse("keep", &bad, err, sizeof(err)) == -EINVAL);
	for (int i = 0; i < 5; i++)
		relabel_free(&rules[i]);
}

static void test_daemon_options(void)
{
	struct agent_opts o;
	char path[] = "/tmp/sonde-test-config.XXXXXX";
	int fd = mkstemp(path);
	const char *yaml = "# a comment\n"
			   "collector: http://collector.example:4318/\n"
			   "upload-interval: 15s\n"
			   "tenant: team-a\n"
			   "header:\n  - 'Authorization: Bearer abc'\n  - 'X-Extra: 1'\n"
			   "frequency: 49\n"
			   "queue-size: 8M\n";
	char *argv1[] = {"sonde-agent", "--config", path, "--frequency", "97", NULL};
	char *bad1[] = {"sonde-agent", "--collector", "ftp://x", NULL};
	char *bad2[] = {"sonde-agent", "--header", "no-colon", NULL};
	char *bad3[] = {"sonde-agent", "--config", "/nonexistent/sonde.yaml", NULL};
	char *none[] = {"sonde-agent", NULL};
	char *ep;

	/* the defaults below are those outside a pod, even where the tests run in one */
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("NODE_NAME");
	CHECK(fd >= 0);
	CHECK(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
	close(fd);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 4 + 1, argv1) == 0);
	CHECK_STR(o.collector, "http://collector.example:4318/");
	CHECK_EQ_U64(o.upload_interval_ns, 15000000000ULL);
	CHECK_STR(o.tenant, "team-a");
	CHECK_EQ_U64(o.nheaders, 2);
	CHECK_STR(o.headers[0], "Authorization: Bearer abc");
	CHECK_EQ_U64(o.frequency, 97); /* the command line wins over the file */
	CHECK_EQ_U64(o.queue_bytes, 8u << 20);
	ep = agent_opts__endpoint(&o);
	CHECK_STR(ep, "http://collector.example:4318/v1development/profiles");
	free(ep);
	agent_opts__free(&o);

	/* the OpenTelemetry environment variable names the collector when no flag does */
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env.example:4318", 1);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 1, none) == 0);
	CHECK_STR(o.collector, "http://env.example:4318");
	CHECK(o.k8s_api == NULL); /* not in a pod */
	agent_opts__free(&o);
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");

	/* in a pod: the API server from the service's variables, the node from the downward API */
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	setenv("NODE_NAME", "node-7", 1);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 1, none) == 0);
	CHECK_STR(o.k8s_api, "https://[fd00::1]:6443");
	CHECK_STR(o.k8s_token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
	CHECK_STR(o.k8s_ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
	CHECK_STR(o.node_name, "node-7");
	agent_opts__free(&o);
	{
		char *off[] = {"sonde-agent", "--k8s-api", "none", "--node-name", "n2", NULL};

		agent_opts__init(&o);
		CHECK(agent_opts__parse(&o, 5, off) == 0);
		CHECK(o.k8s_api == NULL);
		CHECK_STR(o.node_name, "n2");
		agent_opts__free(&o);
	}
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("NODE_NAME");

	/* a key the agent does not know is an error naming it */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "frequncy: 10\n", 13) == 13);
	close(fd);
	fprintf(stderr, "(the next error lines are expected)\n");
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 3, argv1) == -EINVAL);
	agent_opts__free(&o);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 3, bad1) == -EINVAL);
	agent_opts__free(&o);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 3, bad2) == -EINVAL);
	agent_opts__free(&o);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 3, bad3) == -EINVAL);
	agent_opts__free(&o);
	unlink(path);
}

static void test_cpu_list(void)
{
	bool cpus[64];

	CHECK(parse_cpu_list("0-3,8,10-11\n", cpus, 64) == 7);
	CHECK(cpus[0] && cpus[3] && !cpus[4] && cpus[8] && cpus[11] && !cpus[12]);
	CHECK(parse_cpu_list("0", cpus, 64) == 1);
	CHECK(parse_cpu_list("3-1", cpus, 64) == -EINVAL);
	CHECK(parse_cpu_list("x", cpus, 64) == -EINVAL);
}

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

	/* bounds: pods cached, labels per pod */
	ps = pod_store__new("node-1", 2);
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

static void test_caps(void)
{
	struct caps c;
	char names[256];

	CHECK(caps_read(&c) == 0);
	CHECK((c.effective & ~c.permitted) == 0);
	CHECK_STR(caps_names(CAPS_BIT(CAPS_SYS_PTRACE) | CAPS_BIT(CAPS_DAC_READ_SEARCH), names,
			     sizeof(names)),
		  "dac_read_search,sys_ptrace");
	CHECK_STR(caps_names(0, names, sizeof(names)), "none");
	CHECK_STR(caps_names(CAPS_BIT(CAPS_BPF) | CAPS_BIT(63), names, sizeof(names)),
		  "bpf,cap_63");
}

int main(void)
{
	RUN(test_maps_line);
	RUN(test_proc_table_self);
	RUN(test_profile_aggregation);
	RUN(test_folded_output);
	RUN(test_gzip);
	RUN(test_options);
	RUN(test_cpu_list);
	RUN(test_labels_and_labelsets);
	RUN(test_daemon_options);
	RUN(test_cgroup_meta);
	RUN(test_relabel);
	RUN(test_pod_store);
	RUN(test_caps);
	return unit_done();
}
