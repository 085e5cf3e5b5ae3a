// SPDX-License-Identifier: Apache-2.0
/*
 * sonde-agent: samples every CPU with eBPF, unwinds and names the stacks, and either writes the
 * profile when the run ends (one-shot) or ships an OTLP profile every interval (daemon).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "caps.h"
#include "exporter.h"
#include "k8s_client.h"
#include "labels.h"
#include "metrics.h"
#include "metrics_server.h"
#include "options.h"
#include "otlp.h"
#include "output.h"
#include "pipeline.h"
#include "proc.h"
#include "profile.h"
#include "sampler.h"
#include "unwind.h"
#include "../common/gzip.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../profile/folded.h"
#include "../profile/pprof.h"
#include "../symbolizer/kallsyms.h"
#include "../symbolizer/symbolizer.h"
#include <curl/curl.h>

#ifndef SONDE_VERSION
#define SONDE_VERSION "dev"
#endif

#define FLUSH_WAIT_MS 30000 /* at exit, how long to wait for unwind tables still being built */
#define STATS_EVERY_NS (1000 * 1000 * 1000ull) /* how often the metrics snapshot is refreshed */

struct agent {
	struct agent_opts opts;
	struct sampler *sampler;
	struct proc_table *procs;
	struct symbolizer *sym;
	struct unwind_cache *unwind;
	struct labeler *labeler;
	struct k8s_meta *k8s;
	struct profile *profile;
	struct pipeline *pipeline;
	struct exporter *exporter;
	struct metrics_server *metrics;
	char *endpoint;
	uint64_t start_mono_ns;
	uint64_t interval_start_mono_ns;
	struct metrics_snapshot s; /* live counters (main thread) */
	pthread_mutex_t snap_lock;
	struct metrics_snapshot snap; /* the last published copy */
	uint64_t last_snap_ns;
	/* daemon mode with --output: every interval recorded, in the profile model, times merged */
	struct svcdata *tee;
};

/*
 * Daemon mode: every interval recorded, to --output (folded or pprof), whether or not the
 * collector acknowledged it (the exporter counts what it dropped): what the agent took.
 */
static int write_tee(struct agent *a)
{
	struct svcdata *empty = a->tee ? NULL : svcdata__new("");
	const struct svcdata *sd = a->tee ? a->tee : empty;
	struct buf out = {0};
	int err = !sd				   ? -ENOMEM
		  : a->opts.format == OUTPUT_PPROF ? pprof_encode(sd, &out)
						   : folded_render(sd, &out);

	if (!err)
		err = write_file_atomic(a->opts.output, out.data, out.len);
	if (err)
		log_error("cannot write the profile", "path=\"%s\" err=\"%s\"", a->opts.output,
			  strerror(-err));
	else
		log_info("profile written (every sample recorded, delivered or not)",
			 "path=\"%s\" format=%s bytes=%zu", a->opts.output,
			 output_format_name(a->opts.format), out.len);
	svcdata__free(empty);
	buf_free(&out);
	return err;
}

/* Daemon mode: adds the interval to --output's model; rows of a series and stack merge. */
static int tee_add(struct agent *a, const struct frame_syms *fs, const struct otlp_meta *om)
{
	struct output_meta meta = {.start_unix_ns = om->start_unix_ns,
				   .period_ns = om->period_ns,
				   .mono_to_unix_ns = om->mono_to_unix_ns,
				   .kernel_build_id = om->kernel_build_id};
	int err;

	if (!a->tee && !(a->tee = svcdata__new("")))
		return -ENOMEM;
	err = output_model(a->profile, fs, a->procs, &meta, a->tee);
	/* one row per (series, stack): the file holds no times, memory follows stacks */
	svcdata__sort_rows(a->tee, 1ULL << 63); /* every time truncated to 0 */
	return err;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int check_environment(const struct agent_opts *o)
{
	struct caps c = {0};
	uint64_t caps = caps_read(&c) ? 0 : c.effective;
	bool bpf_ok = (caps & CAPS_BIT(CAPS_SYS_ADMIN)) ||
		      ((caps & CAPS_BIT(CAPS_BPF)) && (caps & CAPS_BIT(CAPS_PERFMON)));
	const char *sys_btf = "/sys/kernel/btf/vmlinux";

	if (!bpf_ok) {
		log_error("missing privileges: run sonde-agent as root, or with CAP_BPF, "
			  "CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_SYSLOG",
			  "cap_eff=%016llx", (unsigned long long)caps);
		return -EPERM;
	}
	if (o->btf_path) {
		if (access(o->btf_path, R_OK) < 0) {
			log_error("cannot read the BTF file given with --btf",
				  "path=\"%s\" err=\"%s\"", o->btf_path, strerror(errno));
			return -ENOENT;
		}
	} else if (access(sys_btf, R_OK) < 0) {
		log_error("this kernel has no BTF type information (CONFIG_DEBUG_INFO_BTF=y is "
			  "needed), or it is unreadable; pass --btf FILE with the kernel's BTF",
			  "path=%s err=\"%s\"", sys_btf, strerror(errno));
		return -ENOENT;
	}
	for (uint32_t i = 0; i < o->npids; i++) {
		if (kill((pid_t)o->pids[i], 0) < 0 && errno == ESRCH) {
			log_error("no such process", "pid=%u", o->pids[i]);
			return -ESRCH;
		}
	}
	return 0;
}

/*
 * The sampler's callback (the pipeline is created after the sampler, before records arrive).
 */
static int on_record(void *ctx, const void *data, size_t size)
{
	struct agent *a = ctx;

	return pipeline__handle_record(a->pipeline, data, size);
}

/* Copies the counters /metrics shows; cheap, but the BPF ones cost a syscall each. */
static void publish_snapshot(struct agent *a, bool force)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	if (!force && now - a->last_snap_ns < STATS_EVERY_NS)
		return;
	a->last_snap_ns = now;
	if (a->pipeline)
		pipeline__stats(a->pipeline, &a->s.pipeline);
	if (a->sampler)
		sampler__stats(a->sampler, a->s.bpf);
	proc_table__stats(a->procs, &a->s.procs);
	a->s.labels_dropped = labeler__labels_dropped(a->labeler);
	unwind_cache__stats(a->unwind, &a->s.unwind);
	symbolizer__stats(a->sym, &a->s.sym);
	pthread_mutex_lock(&a->snap_lock);
	a->snap = a->s;
	pthread_mutex_unlock(&a->snap_lock);
}

/* The /metrics page: the last published snapshot, with the other threads' counters now. */
static void render_metrics(void *ctx, struct buf *out)
{
	struct agent *a = ctx;
	struct metrics_snapshot s;
	uint64_t peak = 0;

	pthread_mutex_lock(&a->snap_lock);
	s = a->snap;
	pthread_mutex_unlock(&a->snap_lock);
	if (a->exporter)
		exporter__stats(a->exporter, &s.exporter);
	proc_self_rss(&s.rss_bytes, &peak);
	s.has_k8s = a->k8s != NULL;
	if (a->k8s)
		k8s_meta__stats(a->k8s, &s.k8s);
	metrics_render(&s, out);
}

static struct otlp_meta otlp_meta(struct agent *a, uint64_t start_mono, uint64_t end_mono)
{
	int64_t shift = (int64_t)clock_ns(CLOCK_REALTIME) - (int64_t)clock_ns(CLOCK_MONOTONIC);
	uint64_t first = profile__first_ns(a->profile);
	struct otlp_meta m = {
		.period_ns = NSEC_PER_SEC / a->opts.frequency,
		.mono_to_unix_ns = shift,
		.raw_user_frames = a->opts.symbolize_in_collector,
		.kernel_build_id = symbolizer__kernel_build_id(a->sym),
		.agent_version = SONDE_VERSION,
	};

	/* samples parked across the boundary may be older than the interval */
	if (first && first < start_mono)
		start_mono = first;
	m.start_unix_ns = (uint64_t)((int64_t)start_mono + shift);
	m.duration_ns = end_mono > start_mono ? end_mono - start_mono : 0;
	return m;
}

/* Daemon mode: the interval's profile to OTLP, queued for sending; a new interval begins. */
static void flush_interval(struct agent *a)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC), t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t1, t2;
	struct otlp_meta meta = otlp_meta(a, a->interval_start_mono_ns, now);
	struct frame_syms fs = {0};
	struct otlp_stats os = {0};
	struct buf raw = {0}, gz = {0};
	size_t len;
	int err;

	a->interval_start_mono_ns = now;
	if (profile__total(a->profile) == 0)
		goto reset; /* senders should not send empty envelopes */
	err = frame_syms__build(&fs, a->profile, a->procs, a->sym);
	t1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if (!err && a->opts.output)
		err = tee_add(a, &fs, &meta);
	if (!err)
		err = otlp_encode(a->profile, &fs, a->procs, &meta, &raw, &os);
	t2 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if (!err)
		err = gzip_append(raw.data, raw.len, &gz);
	a->s.name_cpu_ns += t1 - t0;
	a->s.encode_cpu_ns += t2 - t1;
	a->s.gzip_cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t2;
	if (err) {
		log_error("cannot encode the interval's profile; it is dropped",
			  "err=\"%s\" samples=%llu", strerror(-err),
			  (unsigned long long)profile__total(a->profile));
		a->s.encode_dropped_samples += profile__total(a->profile);
		goto reset;
	}
	a->s.otlp_bytes += raw.len;
	a->s.otlp_gzip_bytes += gz.len;
	log_debug("interval encoded",
		  "samples=%llu processes=%u stacks=%u locations=%u bytes=%zu gzip_bytes=%zu "
		  "name_cpu_us=%llu encode_cpu_us=%llu",
		  (unsigned long long)os.samples, os.resources, os.stacks, os.locations, raw.len,
		  gz.len, (unsigned long long)(t1 - t0) / 1000,
		  (unsigned long long)(t2 - t1) / 1000);
	len = gz.len;
	a->s.requests_queued++;
	exporter__enqueue(a->exporter, buf_steal(&gz, &len), len, os.resources, os.samples);
reset:
	a->s.intervals++;
	frame_syms__free(&fs);
	buf_free(&raw);
	buf_free(&gz);
	profile__reset(a->profile);
	proc_table__end_epoch(a->procs);
}

/* One-shot mode: the whole run to --output. */
static int write_output(struct agent *a)
{
	struct frame_syms fs = {0};
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	struct otlp_meta om = otlp_meta(a, a->start_mono_ns, now);
	struct output_meta meta = {.start_unix_ns = om.start_unix_ns,
				   .period_ns = om.period_ns,
				   .mono_to_unix_ns = om.mono_to_unix_ns,
				   .kernel_build_id = om.kernel_build_id};
	struct buf out = {0};
	int err;

	/* symbols load in the background: give the last of them a bounded wait */
	if (symbolizer__wait(a->sym, (int)(a->opts.symbolize_timeout_ns / 1000000)))
		log_warn("symbols still loading at the deadline: those frames keep [module+0xADDR]",
			 "timeout_ms=%llu",
			 (unsigned long long)(a->opts.symbolize_timeout_ns / 1000000));
	err = frame_syms__build(&fs, a->profile, a->procs, a->sym);
	if (err)
		goto out;
	if (a->opts.format == OUTPUT_PPROF)
		err = output_pprof(a->profile, &fs, a->procs, &meta, &out);
	else if (a->opts.format == OUTPUT_OTLP)
		err = otlp_encode(a->profile, &fs, a->procs, &om, &out, NULL);
	else
		err = output_folded(a->profile, &fs, a->procs, &meta, &out);
	if (err)
		goto out;
	err = write_file_atomic(a->opts.output, out.data, out.len);
	if (!err)
		log_info("profile written",
			 "path=\"%s\" format=%s samples=%llu stacks=%zu "
			 "frames_symbolized=%llu frames_unsymbolized=%llu frames_pending=%llu "
			 "bytes=%zu",
			 a->opts.output, output_format_name(a->opts.format),
			 (unsigned long long)profile__total(a->profile),
			 profile__nstacks(a->profile), (unsigned long long)fs.symbolized,
			 (unsigned long long)fs.unsymbolized, (unsigned long long)fs.pending,
			 out.len);
out:
	if (err)
		log_error("cannot write the profile", "path=\"%s\" err=\"%s\"", a->opts.output,
			  strerror(-err));
	frame_syms__free(&fs);
	buf_free(&out);
	return err;
}

/* The symbol counters, now (symbols may have loaded since the last snapshot). */
static void log_symbols(struct agent *a)
{
	symbolizer__stats(a->sym, &a->s.sym);
	metrics_log(&a->s, METRICS_LOG_SYMBOLS);
}

static int run(struct agent *a)
{
	uint64_t deadline = a->opts.duration_ns ? a->start_mono_ns + a->opts.duration_ns : 0;
	uint64_t next_flush = a->start_mono_ns + a->opts.upload_interval_ns;
	int drain_ms = (int)(a->opts.drain_interval_ns / 1000000);

	while (!stop_requested) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		int timeout = drain_ms, n;

		if (deadline) {
			if (now >= deadline)
				break;
			if ((deadline - now) / 1000000 < (uint64_t)timeout)
				timeout = (int)((deadline - now) / 1000000) + 1;
		}
		n = sampler__poll(a->sampler, timeout);
		if (n < 0 && n != -EINTR) {
			log_error("cannot read the ring buffer", "err=\"%s\"", strerror(-n));
			return n;
		}
		if (unwind_cache__collect(a->unwind) && pipeline__has_parked(a->pipeline))
			pipeline__retry_parked(a->pipeline, false);
		proc_table__relabel(a->procs); /* when pod metadata arrived or changed */
		if (a->exporter && clock_ns(CLOCK_MONOTONIC) >= next_flush) {
			flush_interval(a);
			next_flush += a->opts.upload_interval_ns;
			if (next_flush <
			    clock_ns(CLOCK_MONOTONIC)) /* a slow interval: skip ahead */
				next_flush = clock_ns(CLOCK_MONOTONIC) + a->opts.upload_interval_ns;
		}
		publish_snapshot(a, false);
	}
	sampler__drain(a->sampler);
	return 0;
}

/* Lets the agent hold a file descriptor per mapped file on a busy node. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Once the BPF programs are attached, keeps only the capabilities the agent uses while running
 * (caps.h). Runs while the main thread is the only one: capabilities are per thread, and the
 * threads started later inherit what is left.
 */
static int drop_privileges(struct agent *a)
{
	uint64_t keep = CAPS_BIT(CAPS_SYS_PTRACE) | CAPS_BIT(CAPS_DAC_READ_SEARCH);
	uint64_t stats[SONDE_STAT_NR];
	char kept[256], dropped[512];
	struct caps before, after;
	int err;

	err = caps_read(&before);
	if (err) {
		log_error("cannot read this process's capabilities", "err=\"%s\"", strerror(-err));
		return err;
	}
	/* root writing --output into a directory it does not own */
	if (a->opts.output)
		keep |= CAPS_BIT(CAPS_DAC_OVERRIDE);
	/*
	 * Reading the BPF maps through their descriptors needs no capability since Linux 6.5;
	 * before, with unprivileged BPF disabled, it needs CAP_BPF. Ask the kernel: try without it.
	 */
	err = caps_set_effective(before.effective & keep);
	if (!err && sampler__stats(a->sampler, stats) == -EPERM)
		keep |= (before.permitted & CAPS_BIT(CAPS_BPF))
				? CAPS_BIT(CAPS_BPF)
				: before.permitted & CAPS_BIT(CAPS_SYS_ADMIN);
	if (!err)
		err = caps_drop(keep);
	if (!err)
		err = caps_read(&after);
	if (err) {
		log_error("cannot drop capabilities after setting up BPF", "err=\"%s\"",
			  strerror(-err));
		return err;
	}
	log_info("capabilities dropped after BPF setup", "kept=%s dropped=%s bounding=%s",
		 caps_names(after.permitted, kept, sizeof(kept)),
		 caps_names(before.permitted & ~after.permitted, dropped, sizeof(dropped)),
		 (after.bounding & ~keep) ? "unchanged (no CAP_SETPCAP; no_new_privs set)"
					  : "reduced");
	return 0;
}

/*
 * Pod metadata from the API server, when on Kubernetes; waits a bounded time for the first list.
 * Without it (no node name, no client) the agent profiles on.
 */
static void start_k8s(struct agent *a)
{
	struct k8s_opts ko = {
		.api_url = a->opts.k8s_api,
		.node_name = a->opts.node_name,
		.token_file = a->opts.k8s_token_file,
		.ca_file = a->opts.k8s_ca_file,
		.user_agent = "sonde-agent/" SONDE_VERSION,
	};
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

	if (!a->opts.k8s_api)
		return;
	if (!a->opts.node_name) {
		log_warn("no pod metadata: this node's name is unknown (set NODE_NAME from the "
			 "downward "
			 "API, spec.nodeName, or pass --node-name)",
			 "api=\"%s\"", a->opts.k8s_api);
		return;
	}
	a->k8s = k8s_meta__new(&ko);
	if (!a->k8s) {
		log_warn("no pod metadata: its client cannot start; profiling goes on without it");
		return;
	}
	if (a->opts.k8s_wait_ns &&
	    k8s_meta__wait_synced(a->k8s, (int)(a->opts.k8s_wait_ns / 1000000)))
		log_warn("the node's pods are not listed yet; sampling starts, and processes are "
			 "labelled "
			 "again once they are",
			 "api=\"%s\" node=%s waited_ms=%llu", a->opts.k8s_api, a->opts.node_name,
			 (unsigned long long)((clock_ns(CLOCK_MONOTONIC) - t0) / 1000000));
}

/*
 * The privileged part, while this is the only thread: load and attach the programs (paused) and
 * read the kernel's symbols (*ret_kallsyms, NULL when unreadable), then drop what is no longer
 * needed. Returns 0, or -1 (logged).
 */
static int start_sampler(struct agent *a, const uint64_t *cgroup_ids,
			 struct kallsyms **ret_kallsyms)
{
	struct sampler_opts so = {.sz = sizeof(so)};

	so.frequency = a->opts.frequency;
	so.pids = a->opts.pids;
	so.npids = a->opts.npids;
	so.cgroup_ids = cgroup_ids;
	so.ncgroup_ids = a->opts.ncgroups;
	so.ring_bytes = a->opts.ring_bytes;
	so.stack_copy_bytes = a->opts.stack_copy_bytes;
	/* frame pointers only where asked, or where there is nothing else: no stack copy */
	so.fp_stack = a->opts.fp_stack == FP_STACK_ALWAYS ||
		      (a->opts.fp_stack == FP_STACK_AUTO && a->opts.stack_copy_bytes == 0);
	so.hardware_event = a->opts.hardware_event;
	so.btf_path = a->opts.btf_path;
	so.start_paused = true;
	a->sampler = sampler__new(&so, on_record, a);
	if (!a->sampler || sampler__attach(a->sampler))
		return -1;
	a->s.event_name = sampler__event_name(a->sampler);
	a->s.ncpus = sampler__ncpus(a->sampler);
	*ret_kallsyms = kallsyms__load("/proc/kallsyms"); /* NULL: tried again on first use */
	if (!*ret_kallsyms)
		log_warn("cannot read kernel symbols: kernel frames keep their addresses",
			 "path=/proc/kallsyms err=\"%s\"", strerror(errno));
	if (drop_privileges(a)) {
		kallsyms__free(*ret_kallsyms);
		*ret_kallsyms = NULL;
		return -1;
	}
	return 0;
}

/* Everything else, unprivileged: takes kallsyms. Returns 0, or -1 (logged). */
static int start_modules(struct agent *a, struct kallsyms *kallsyms)
{
	struct symbolizer_opts symo = {.sz = sizeof(symo), .kallsyms = kallsyms};
	struct labeler_opts lo = {0};
	struct profile_opts po = {0};

	symo.debug_dirs = a->opts.debug_dirs;
	symo.no_debuginfod = a->opts.no_debuginfod;
	symo.debuginfod_timeout_ms = a->opts.debuginfod_timeout_ms;
	symo.negative_ttl_s = a->opts.debuginfod_negative_ttl_s;
	po.keep_timestamps = a->opts.collector || a->opts.format == OUTPUT_OTLP;
	a->sym = symbolizer__new(&symo);
	a->unwind = unwind_cache__new(a->opts.unwind_cache_bytes);
	start_k8s(a);
	lo.host_name = a->opts.host_name;
	lo.node_name = a->opts.node_name;
	lo.relabel = a->opts.relabel;
	lo.nrelabel = a->opts.nrelabel;
	lo.k8s = a->k8s;
	a->labeler = labeler__new(&lo);
	a->procs = proc_table__new(a->sym, a->unwind, a->labeler);
	a->profile = profile__new(&po);
	if (a->procs && a->profile) {
		struct pipeline_opts plo = {
			.procs = a->procs,
			.unwind = a->unwind,
			.profile = a->profile,
			.max_parked_bytes = a->opts.max_parked_bytes,
		};

		a->pipeline = pipeline__new(&plo);
	}
	if (!a->sym || !a->unwind || !a->labeler || !a->procs || !a->profile || !a->pipeline) {
		log_error("out of memory");
		return -1;
	}
	if (a->opts.collector) {
		struct exporter_opts eo = {
			.tenant = a->opts.tenant,
			.ca_file = a->opts.ca_file,
			.max_queue_bytes = a->opts.queue_bytes,
			.max_backoff_ms = (uint32_t)(a->opts.max_backoff_ns / 1000000),
			.initial_backoff_ms = (uint32_t)MIN(1000, a->opts.max_backoff_ns / 1000000),
			.user_agent = "sonde-agent/" SONDE_VERSION,
		};

		a->endpoint = agent_opts__endpoint(&a->opts);
		eo.url = a->endpoint;
		for (uint32_t i = 0; i < a->opts.nheaders && i < EXPORTER_MAX_HEADERS; i++)
			eo.headers[eo.nheaders++] = a->opts.headers[i];
		a->exporter = a->endpoint ? exporter__new(&eo) : NULL;
		if (!a->exporter)
			return -1;
	}
	if (a->opts.metrics_addr) {
		a->metrics = metrics_server__new(a->opts.metrics_addr, render_metrics, a);
		if (!a->metrics)
			return -1;
	}
	return 0;
}

/*
 * Sampling stops: the last samples are added, the counters logged, and the profile written or
 * the last interval shipped. Returns 0, or -1 (logged).
 */
static int finish(struct agent *a)
{
	/* detach before the (possibly slow) flush and symbolization: sampling stops here */
	publish_snapshot(a, true);
	sampler__free(a->sampler);
	a->sampler = NULL;
	if (pipeline__has_parked(a->pipeline) && unwind_cache__wait(a->unwind, FLUSH_WAIT_MS))
		log_warn("unwind tables still building at exit: their samples keep partial stacks");
	pipeline__retry_parked(a->pipeline, true);
	publish_snapshot(a, true);
	metrics_log(&a->s, METRICS_LOG_STACKS);
	metrics_log(&a->s, METRICS_LOG_UNWIND_TABLES);
	metrics_log(&a->s, METRICS_LOG_SAMPLING);
	if (a->exporter) {
		uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + a->opts.shutdown_timeout_ns;

		/* the last, partial interval; symbols get what is left of the shutdown time */
		symbolizer__wait(a->sym, (int)(a->opts.shutdown_timeout_ns / 2000000));
		flush_interval(a);
		if (exporter__flush(a->exporter, deadline))
			log_warn("shutdown deadline reached with profiles still queued; they are "
				 "dropped",
				 "timeout_s=%.1f", (double)a->opts.shutdown_timeout_ns / 1e9);
		exporter__stop(a->exporter); /* what is still queued is dropped, and counted */
		exporter__stats(a->exporter, &a->s.exporter);
		metrics_log(&a->s, METRICS_LOG_EXPORTER);
		log_symbols(a);
		if (a->opts.output && write_tee(a))
			return -1;
		return 0;
	}
	if (write_output(a))
		return -1;
	log_symbols(a);
	return 0;
}

int main(int argc, char **argv)
{
	struct agent a = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t cgroup_ids[AGENT_MAX_CGROUPS];
	struct kallsyms *kallsyms = NULL;
	int err, ret = 1;

	pthread_mutex_init(&a.snap_lock, NULL);
	a.s.version = SONDE_VERSION;
	agent_opts__init(&a.opts);
	err = agent_opts__parse(&a.opts, argc, argv);
	if (err) {
		agent_opts__free(&a.opts);
		return err > 0 ? 0 : 2;
	}
	log_set_level(a.opts.log_level);
	if (!a.opts.output && !a.opts.collector) {
		log_error("nothing to do: give --output FILE, or --collector URL (see --help)");
		goto cleanup;
	}
	for (uint32_t i = 0; i < a.opts.ncgroups; i++) {
		err = cgroup_id_of(a.opts.cgroups[i], &cgroup_ids[i]);
		if (err) {
			log_error("not a cgroup v2 directory", "cgroup=\"%s\" err=\"%s\"",
				  a.opts.cgroups[i], strerror(-err));
			goto cleanup;
		}
	}
	if (check_environment(&a.opts))
		goto cleanup;
	raise_fd_limit();

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread */

	if (start_sampler(&a, cgroup_ids, &kallsyms) || start_modules(&a, kallsyms))
		goto cleanup;

	a.start_mono_ns = a.interval_start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	sampler__start(a.sampler);
	publish_snapshot(&a, true);
	if (a.exporter)
		log_info("sampling; shipping OTLP profiles",
			 "event=%s frequency=%u cpus=%u endpoint=\"%s\" interval_s=%.1f",
			 a.s.event_name, a.opts.frequency, (unsigned)a.s.ncpus, a.endpoint,
			 (double)a.opts.upload_interval_ns / 1e9);
	else
		log_info("sampling", "event=%s frequency=%u cpus=%u pids=%u cgroups=%u",
			 a.s.event_name, a.opts.frequency, (unsigned)a.s.ncpus, a.opts.npids,
			 a.opts.ncgroups);

	if (run(&a))
		goto cleanup;
	if (finish(&a) == 0)
		ret = 0;
cleanup:
	metrics_server__free(a.metrics);
	sampler__free(a.sampler);
	pipeline__free(a.pipeline);
	exporter__free(a.exporter);
	profile__free(a.profile);
	proc_table__free(a.procs);
	unwind_cache__free(a.unwind);
	symbolizer__free(a.sym);
	labeler__free(a.labeler);
	k8s_meta__free(a.k8s);
	free(a.endpoint);
	svcdata__free(a.tee);
	agent_opts__free(&a.opts);
	pthread_mutex_destroy(&a.snap_lock);
	return ret;
}
