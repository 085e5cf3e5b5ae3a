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
#include "k8s.h"
#include "labels.h"
#include "metrics.h"
#include "options.h"
#include "otlp.h"
#include "output.h"
#include "proc.h"
#include "profile.h"
#include "sampler.h"
#include "unwind.h"
#include "../common/gzip.h"
#include "../common/log.h"
#include "../common/strtab.h"
#include "../common/util.h"
#include "../profile/folded.h"
#include "../profile/pprof.h"
#include "../symbolizer/kallsyms.h"
#include "../symbolizer/symbolizer.h"
#include <curl/curl.h>

#ifndef SONDE_VERSION
#define SONDE_VERSION "dev"
#endif

#define MAPS_REFRESH_NS (50 * 1000 * 1000ull) /* re-read /proc/PID/maps at most this often */
#define MAX_USER_FRAMES 512		      /* user frames kept per stack (DWARF unwinding) */
#define MAX_FRAMES (SONDE_MAX_KSTACK + MAX_USER_FRAMES + 2)
#define FLUSH_WAIT_MS 30000 /* at exit, how long to wait for unwind tables still being built */
#define STATS_EVERY_NS (1000 * 1000 * 1000ull) /* how often the metrics snapshot is refreshed */

/* A sample waiting for an unwind table, with the mappings and labels it was taken under. */
struct parked {
	struct parked *next;
	struct maps *maps;
	struct proc_labels *labels;
	size_t size;
	uint8_t rec[];
};

/* Everything /metrics shows that the main thread owns, copied under snap_lock. */
struct snapshot {
	uint64_t bpf[SONDE_STAT_NR];
	uint64_t unwind_status[UNWIND_NSTATUS];
	uint64_t samples_kept;
	uint64_t samples_dropped;
	uint64_t parked_dropped;
	uint64_t relabel_dropped; /* samples of processes a relabel rule drops */
	uint64_t labels_dropped;  /* labels left out of a process's set (too many) */
	uint64_t bad_records;
	uint64_t user_frames;
	uint64_t unwind_calls;
	uint64_t unwind_ns;	   /* time spent in the unwinder */
	uint64_t stack_copy_bytes; /* user stack bytes the samples carried */
	uint64_t intervals;
	uint64_t requests_queued; /* non-empty intervals handed to the exporter */
	uint64_t otlp_bytes;	  /* uncompressed */
	uint64_t otlp_gzip_bytes;
	uint64_t name_cpu_ns; /* per step of flush_interval, CPU time of the main thread */
	uint64_t encode_cpu_ns;
	uint64_t gzip_cpu_ns;
	struct proc_table_stats procs;
	struct unwind_cache_stats unwind;
	struct symbolizer_stats sym;
};

struct agent {
	struct agent_opts opts;
	struct sampler *sampler;
	struct proc_table *procs;
	struct symbolizer *sym;
	struct unwind_cache *unwind;
	struct labeler *labeler;
	struct k8s_meta *k8s;
	struct profile *profile;
	struct exporter *exporter;
	struct metrics_server *metrics;
	char *endpoint;
	struct parked *parked_head, **parked_tail;
	uint64_t parked_bytes;
	uint64_t start_mono_ns;
	uint64_t interval_start_mono_ns;
	const char *event_name;
	uint32_t ncpus;
	struct snapshot s; /* live counters (main thread) */
	pthread_mutex_t snap_lock;
	struct snapshot snap; /* the last published copy */
	uint64_t last_snap_ns;
	/* daemon mode with --output: every interval shipped, in the profile model, times merged */
	struct svcdata *tee;
};

/* Daemon mode: everything shipped, to --output (folded or pprof). */
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
		log_info("profile written (a copy of what was shipped)",
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

/* Frame-pointer frames from the in-kernel walk (no stack copy). */
static uint32_t fp_frames(struct agent *a, const struct sonde_sample *s, struct proc *p,
			  struct frame *frames)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->ustack_len; i++) {
		uint64_t addr = s->ustack[i] - (i > 0);
		const struct mapping *m = proc_table__resolve(a->procs, p, addr, MAPS_REFRESH_NS);
		struct frame *f = &frames[n++];

		memset(f, 0, sizeof(*f));
		if (m) {
			f->kind = FRAME_USER;
			f->obj_id = m->obj->id;
			f->addr = mapping_addr(m, addr);
			proc_table__use_object(a->procs, m->obj);
		} else {
			f->kind = FRAME_UNMAPPED;
			f->addr = addr;
		}
	}
	if (s->ustack_len == SONDE_MAX_USTACK) {
		memset(&frames[n], 0, sizeof(frames[n]));
		frames[n++].kind = FRAME_TRUNCATED;
	}
	return n;
}

static void park(struct agent *a, const struct sonde_sample *s, size_t size, struct maps *maps,
		 struct proc_labels *labels)
{
	struct parked *pk = malloc(sizeof(*pk) + size);

	if (!pk) {
		a->s.parked_dropped++;
		return;
	}
	pk->next = NULL;
	pk->maps = maps__get(maps);
	pk->labels = proc_labels__get(labels);
	pk->size = size;
	memcpy(pk->rec, s, size);
	*a->parked_tail = pk;
	a->parked_tail = &pk->next;
	a->parked_bytes += size;
}

/* The label set id of a process's labels in the current profile, cached per process. */
static uint32_t labelset_of(struct agent *a, struct proc *p)
{
	uint64_t gen = profile__generation(a->profile);

	if (!p)
		return 0;
	if (p->labels_gen != gen) {
		p->labelset = profile__labelset(a->profile, p->labels);
		if (p->labelset == UINT32_MAX)
			p->labelset = 0;
		p->labels_gen = gen;
	}
	return p->labelset;
}

/*
 * Builds the sample's stack and adds it to the profile. With maps == NULL the process's current
 * mappings (and labels) are used; a sample whose unwind table is not built yet is parked (when
 * allowed) and UNWIND_PENDING returned.
 */
static enum unwind_status add_sample(struct agent *a, const struct sonde_sample *s, size_t size,
				     struct maps *maps, struct proc_labels *labels, bool may_park)
{
	struct frame frames[MAX_FRAMES + 1];
	enum unwind_status st = UNWIND_NO_USER;
	uint32_t n = 0, k = 0, labelset = 0;
	struct proc *p = NULL;

	for (uint32_t i = 0; i < s->kstack_len; i++) {
		struct frame *f = &frames[n++];

		memset(f, 0, sizeof(*f));
		f->kind = FRAME_KERNEL;
		/* return addresses point after the call: step back into it */
		f->addr = s->kstack[i] - (i > 0);
	}
	if (!(s->flags & SONDE_SAMPLE_KTHREAD) && (s->flags & SONDE_SAMPLE_USER_REGS)) {
		if (!maps) {
			p = proc_table__get(a->procs, s->pid, true);
			maps = p ? p->maps : NULL;
			labels = p ? p->labels : NULL;
			if (labels && labels->dropped) {
				/* a relabel rule drops this process: not even unwound */
				a->s.relabel_dropped++;
				return UNWIND_NO_USER;
			}
			labelset = labelset_of(a, p);
		} else {
			labelset = profile__labelset(a->profile, labels);
			if (labelset == UINT32_MAX)
				labelset = 0;
		}
		if (s->stack_bytes && maps) {
			uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

			st = unwind_user(a->unwind, a->procs, maps, s, frames + n, MAX_USER_FRAMES,
					 &k);
			if (st == UNWIND_ERR_UNMAPPED && p && k == 1 &&
			    proc_table__resolve(a->procs, p, s->regs.ip, MAPS_REFRESH_NS)) {
				/* the leaf is in a library mapped since we last read the maps */
				maps = p->maps;
				st = unwind_user(a->unwind, a->procs, maps, s, frames + n,
						 MAX_USER_FRAMES, &k);
			}
			a->s.unwind_ns += clock_ns(CLOCK_MONOTONIC) - t0;
			a->s.unwind_calls++;
			a->s.stack_copy_bytes += s->stack_bytes;
			if (st == UNWIND_PENDING && may_park) {
				if (a->parked_bytes + size <= a->opts.max_parked_bytes) {
					park(a, s, size, maps, labels);
					return st;
				}
				a->s.parked_dropped++;
			}
			if (st == UNWIND_PENDING) {
				/* no table in time: keep what we have, marked */
				memset(&frames[n + k], 0, sizeof(frames[0]));
				frames[n + k].kind = FRAME_UNWIND_ERROR;
				frames[n + k].addr = st;
				k++;
			}
			n += k;
		} else if (p) {
			n += fp_frames(a, s, p, frames + n);
			st = s->ustack_len ? UNWIND_COMPLETE : UNWIND_NO_USER;
		}
		a->s.user_frames += k;
	}
	a->s.unwind_status[st]++;
	if (profile__add(a->profile, s->pid, s->tid, s->pcomm, s->comm, labelset, frames, n,
			 s->time_ns))
		a->s.samples_dropped++;
	else
		a->s.samples_kept++;
	return st;
}

static void handle_sample(struct agent *a, const struct sonde_sample *s, size_t size)
{
	if (size < sizeof(*s) || s->kstack_len > SONDE_MAX_KSTACK ||
	    s->ustack_len > SONDE_MAX_USTACK || s->stack_bytes > size - sizeof(*s)) {
		a->s.bad_records++;
		return;
	}
	add_sample(a, s, size, NULL, NULL, true);
}

/* Retries parked samples once tables have been built; with final, nothing stays parked. */
static void retry_parked(struct agent *a, bool final)
{
	struct parked *list = a->parked_head, *pk, *next;

	a->parked_head = NULL;
	a->parked_tail = &a->parked_head;
	a->parked_bytes = 0;
	for (pk = list; pk; pk = next) {
		next = pk->next;
		/* a sample still pending is parked again, as a new copy */
		add_sample(a, (const struct sonde_sample *)pk->rec, pk->size, pk->maps, pk->labels,
			   !final);
		maps__put(pk->maps);
		proc_labels__put(pk->labels);
		free(pk);
	}
}

static int handle_record(void *ctx, const void *data, size_t size)
{
	struct agent *a = ctx;
	const struct sonde_rec_hdr *h = data;
	const struct sonde_proc_event *e = data;

	if (size < sizeof(*h)) {
		a->s.bad_records++;
		return 0;
	}
	switch (h->type) {
	case SONDE_REC_SAMPLE:
		handle_sample(a, data, size);
		break;
	case SONDE_REC_NEWPROC:
		/* read the mappings now, while a short-lived process is still alive */
		if (size >= sizeof(*e))
			proc_table__get(a->procs, e->pid, true);
		break;
	case SONDE_REC_EXEC:
		if (size >= sizeof(*e))
			proc_table__exec(a->procs, e->pid);
		break;
	case SONDE_REC_EXIT:
		if (size >= sizeof(*e))
			proc_table__exit(a->procs, e->pid);
		break;
	default:
		a->s.bad_records++;
	}
	return 0;
}

/* Copies the counters /metrics shows; cheap, but the BPF ones cost a syscall each. */
static void publish_snapshot(struct agent *a, bool force)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	if (!force && now - a->last_snap_ns < STATS_EVERY_NS)
		return;
	a->last_snap_ns = now;
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

static void render_metrics(void *ctx, struct buf *out)
{
	static const char *const bpf_names[SONDE_STAT_NR] = {
		[SONDE_STAT_SAMPLES] = "program_runs",
		[SONDE_STAT_FILTERED] = "filtered",
		[SONDE_STAT_IDLE] = "idle",
		[SONDE_STAT_SENT] = "sent",
		[SONDE_STAT_DROP_RINGBUF] = "ring_buffer_full",
		[SONDE_STAT_DROP_SCRATCH] = "no_scratch",
		[SONDE_STAT_KSTACK_ERR] = "kernel_stack_error",
		[SONDE_STAT_USTACK_ERR] = "user_stack_error",
		[SONDE_STAT_STACK_COPY_ERR] = "stack_copy_error",
		[SONDE_STAT_STACK_TRUNC] = "stack_copy_truncated",
		[SONDE_STAT_EVENT_DROP] = "process_event_lost",
		[SONDE_STAT_PROCMAP_FULL] = "process_table_full",
	};
	struct agent *a = ctx;
	struct snapshot s;
	struct exporter_stats es = {0};
	uint64_t rss = 0, peak = 0;
	char labels[128];

	pthread_mutex_lock(&a->snap_lock);
	s = a->snap;
	pthread_mutex_unlock(&a->snap_lock);
	if (a->exporter)
		exporter__stats(a->exporter, &es);
	proc_self_rss(&rss, &peak);

	metric_header(out, "sonde_agent_info", "gauge", "Build and sampling event of the agent.");
	snprintf(labels, sizeof(labels), "version=\"%s\",event=\"%s\"", SONDE_VERSION,
		 a->event_name ? a->event_name : "none");
	metric_value(out, "sonde_agent_info", labels, 1);
	metric_header(out, "sonde_agent_bpf_events_total", "counter",
		      "Sampling program runs and what became of them, counted in the kernel.");
	for (int i = 0; i < SONDE_STAT_NR; i++) {
		snprintf(labels, sizeof(labels), "event=\"%s\"", bpf_names[i]);
		metric_value(out, "sonde_agent_bpf_events_total", labels, (double)s.bpf[i]);
	}
	metric_single(out, "sonde_agent_samples_total", "counter",
		      "Samples the agent received from the kernel.",
		      (double)s.bpf[SONDE_STAT_SENT]);
	metric_single(out, "sonde_agent_samples_recorded_total", "counter",
		      "Samples added to a profile.", (double)s.samples_kept);
	metric_header(out, "sonde_agent_samples_dropped_total", "counter",
		      "Samples lost, by reason.");
	metric_value(out, "sonde_agent_samples_dropped_total", "reason=\"ring_buffer_full\"",
		     (double)s.bpf[SONDE_STAT_DROP_RINGBUF]);
	metric_value(out, "sonde_agent_samples_dropped_total", "reason=\"profile_memory\"",
		     (double)s.samples_dropped);
	metric_value(out, "sonde_agent_samples_dropped_total", "reason=\"malformed_record\"",
		     (double)s.bad_records);
	metric_value(out, "sonde_agent_samples_dropped_total", "reason=\"unwind_queue_full\"",
		     (double)s.parked_dropped);
	metric_value(out, "sonde_agent_samples_dropped_total", "reason=\"relabel\"",
		     (double)s.relabel_dropped);
	metric_header(out, "sonde_agent_stacks_total", "counter",
		      "Samples by how their user stack unwound: complete, truncated, or the reason "
		      "it stopped.");
	for (int i = 0; i < UNWIND_NSTATUS; i++) {
		snprintf(labels, sizeof(labels), "status=\"%s\"", unwind_status_name(i));
		metric_value(out, "sonde_agent_stacks_total", labels, (double)s.unwind_status[i]);
	}
	metric_single(out, "sonde_agent_unwind_seconds_total", "counter",
		      "Time spent unwinding user stacks.", (double)s.unwind_ns / 1e9);
	metric_single(out, "sonde_agent_profiles_sent_total", "counter",
		      "Profiles (one per process and interval) the collector accepted.",
		      (double)es.profiles_sent);
	metric_single(out, "sonde_agent_requests_sent_total", "counter",
		      "OTLP requests the collector accepted.", (double)es.requests_sent);
	metric_single(out, "sonde_agent_bytes_sent_total", "counter",
		      "Bytes of accepted requests, compressed.", (double)es.bytes_sent);
	metric_header(out, "sonde_agent_export_errors_total", "counter",
		      "Failed sends, by HTTP status or kind.");
	for (uint32_t i = 0; i < es.ncodes; i++) {
		snprintf(labels, sizeof(labels), "code=\"%s\"", es.errors[i].code);
		metric_value(out, "sonde_agent_export_errors_total", labels,
			     (double)es.errors[i].count);
	}
	metric_single(out, "sonde_agent_export_retries_total", "counter",
		      "Sends retried after a retryable failure.", (double)es.retries);
	metric_single(out, "sonde_agent_export_cpu_seconds_total", "counter",
		      "CPU time of the sending thread in requests (TLS, HTTP).",
		      (double)es.send_cpu_ns / 1e9);
	metric_single(out, "sonde_agent_profiles_rejected_total", "counter",
		      "Profiles a partial success rejected.", (double)es.profiles_rejected);
	metric_single(out, "sonde_agent_export_dropped_profiles_total", "counter",
		      "Profiles dropped without delivery: queue full, refused, or at shutdown.",
		      (double)es.dropped_profiles);
	metric_single(out, "sonde_agent_export_dropped_bytes_total", "counter",
		      "Bytes of dropped requests.", (double)es.dropped_bytes);
	metric_single(out, "sonde_agent_queue_requests", "gauge", "Requests waiting to be sent.",
		      (double)es.queue_requests);
	metric_single(out, "sonde_agent_queue_bytes", "gauge", "Bytes waiting to be sent.",
		      (double)es.queue_bytes);
	metric_single(out, "sonde_agent_processes_tracked", "gauge",
		      "Processes the agent keeps mappings of.", (double)s.procs.procs);
	metric_single(out, "sonde_agent_files_tracked", "gauge", "Mapped files the agent knows.",
		      (double)s.procs.objects);
	metric_single(out, "sonde_agent_unwind_table_bytes", "gauge", "Memory of unwind tables.",
		      (double)s.unwind.bytes);
	metric_single(out, "sonde_agent_symbol_bytes", "gauge", "Memory of loaded symbols.",
		      (double)s.sym.bytes);
	metric_header(out, "sonde_agent_debuginfod_requests_total", "counter",
		      "Fetches from debuginfod, by result.");
	metric_value(out, "sonde_agent_debuginfod_requests_total", "result=\"found\"",
		     (double)s.sym.debuginfod_found);
	metric_value(out, "sonde_agent_debuginfod_requests_total", "result=\"failed\"",
		     (double)s.sym.debuginfod_failed);
	metric_value(out, "sonde_agent_debuginfod_requests_total", "result=\"skipped\"",
		     (double)s.sym.debuginfod_skipped);
	metric_single(out, "sonde_agent_intervals_total", "counter",
		      "Profiling intervals completed.", (double)s.intervals);
	metric_header(out, "sonde_agent_encoded_bytes_total", "counter",
		      "OTLP bytes encoded, before and after gzip.");
	metric_value(out, "sonde_agent_encoded_bytes_total", "compression=\"none\"",
		     (double)s.otlp_bytes);
	metric_value(out, "sonde_agent_encoded_bytes_total", "compression=\"gzip\"",
		     (double)s.otlp_gzip_bytes);
	metric_header(out, "sonde_agent_encode_cpu_seconds_total", "counter",
		      "CPU time of turning each interval into a request, by step.");
	metric_value(out, "sonde_agent_encode_cpu_seconds_total", "step=\"name_frames\"",
		     (double)s.name_cpu_ns / 1e9);
	metric_value(out, "sonde_agent_encode_cpu_seconds_total", "step=\"encode\"",
		     (double)s.encode_cpu_ns / 1e9);
	metric_value(out, "sonde_agent_encode_cpu_seconds_total", "step=\"gzip\"",
		     (double)s.gzip_cpu_ns / 1e9);
	metric_single(out, "sonde_agent_resident_memory_bytes", "gauge",
		      "Resident memory of the agent.", (double)rss);
	metric_single(out, "sonde_agent_labels_dropped_total", "counter",
		      "Labels left out of a process's set: more than 64, or out of memory.",
		      (double)s.labels_dropped);
	metric_single(out, "sonde_agent_relabeled_processes_total", "counter",
		      "Processes labelled again after their pod's metadata arrived or changed.",
		      (double)s.procs.relabels);
	if (a->k8s) {
		struct k8s_stats ks;

		k8s_meta__stats(a->k8s, &ks);
		metric_single(out, "sonde_agent_k8s_synced", "gauge",
			      "Whether the node's pods have been listed from the API server.",
			      ks.synced);
		metric_single(out, "sonde_agent_k8s_pods", "gauge",
			      "Pods of this node whose metadata is cached.", (double)ks.store.pods);
		metric_header(out, "sonde_agent_k8s_requests_total", "counter",
			      "Requests to the API server, by kind.");
		metric_value(out, "sonde_agent_k8s_requests_total", "request=\"list\"",
			     (double)ks.list_requests);
		metric_value(out, "sonde_agent_k8s_requests_total", "request=\"watch\"",
			     (double)ks.watch_requests);
		metric_single(out, "sonde_agent_k8s_request_errors_total", "counter",
			      "Failed API server requests (connection, TLS, HTTP status, malformed "
			      "answer).",
			      (double)ks.request_errors);
		metric_single(out, "sonde_agent_k8s_watch_events_total", "counter",
			      "Pod watch events applied.", (double)ks.store.events);
		metric_single(out, "sonde_agent_k8s_relists_total", "counter",
			      "Watches that had to start again from a new list (410 Gone).",
			      (double)ks.relists);
		metric_header(out, "sonde_agent_k8s_ignored_total", "counter",
			      "Pod metadata not cached, by reason.");
		metric_value(out, "sonde_agent_k8s_ignored_total", "reason=\"malformed\"",
			     (double)ks.store.malformed);
		metric_value(out, "sonde_agent_k8s_ignored_total", "reason=\"pods_over_limit\"",
			     (double)ks.store.pods_over_limit);
		metric_value(out, "sonde_agent_k8s_ignored_total", "reason=\"labels_over_limit\"",
			     (double)ks.store.labels_over_limit);
	}
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
	exporter__enqueue(a->exporter, buf_steal(&gz, &len), len, os.resources);
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

static void log_stats(struct agent *a)
{
	const uint64_t *st = a->s.bpf;
	char line[1024];
	size_t len = 0;

	for (int i = 0; i < UNWIND_NSTATUS; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s=%llu", i ? " " : "",
					unwind_status_name(i),
					(unsigned long long)a->s.unwind_status[i]);
	log_info("stacks",
		 "%s user_frames=%llu parked_dropped=%llu relabel_dropped=%llu unwind_calls=%llu "
		 "unwind_ns=%llu "
		 "stack_copy_bytes=%llu",
		 line, (unsigned long long)a->s.user_frames,
		 (unsigned long long)a->s.parked_dropped, (unsigned long long)a->s.relabel_dropped,
		 (unsigned long long)a->s.unwind_calls, (unsigned long long)a->s.unwind_ns,
		 (unsigned long long)a->s.stack_copy_bytes);
	log_info("unwind tables",
		 "files=%llu ready=%llu bytes=%llu builds=%llu build_failures=%llu build_ms=%llu "
		 "evictions=%llu",
		 (unsigned long long)a->s.unwind.entries, (unsigned long long)a->s.unwind.ready,
		 (unsigned long long)a->s.unwind.bytes, (unsigned long long)a->s.unwind.builds,
		 (unsigned long long)a->s.unwind.build_failures,
		 (unsigned long long)(a->s.unwind.build_ns / 1000000),
		 (unsigned long long)a->s.unwind.evictions);
	log_info("sampling stopped",
		 "event=%s cpus=%u bpf_runs=%llu sent=%llu idle=%llu filtered=%llu "
		 "dropped_ringbuf=%llu dropped_events=%llu kstack_errors=%llu "
		 "ustack_errors=%llu stack_copy_errors=%llu kept=%llu dropped_memory=%llu "
		 "bad_records=%llu maps_reads=%llu",
		 a->event_name, a->ncpus, (unsigned long long)st[SONDE_STAT_SAMPLES],
		 (unsigned long long)st[SONDE_STAT_SENT], (unsigned long long)st[SONDE_STAT_IDLE],
		 (unsigned long long)st[SONDE_STAT_FILTERED],
		 (unsigned long long)st[SONDE_STAT_DROP_RINGBUF],
		 (unsigned long long)st[SONDE_STAT_EVENT_DROP],
		 (unsigned long long)st[SONDE_STAT_KSTACK_ERR],
		 (unsigned long long)st[SONDE_STAT_USTACK_ERR],
		 (unsigned long long)st[SONDE_STAT_STACK_COPY_ERR],
		 (unsigned long long)a->s.samples_kept, (unsigned long long)a->s.samples_dropped,
		 (unsigned long long)a->s.bad_records, (unsigned long long)a->s.procs.maps_reads);
}

static void log_symbols(struct agent *a)
{
	struct symbolizer_stats ss;

	symbolizer__stats(a->sym, &ss);
	log_info("symbols",
		 "modules=%llu loaded=%llu bytes=%llu lookups=%llu misses=%llu "
		 "load_ms=%llu debug_files=%llu debuginfod_requests=%llu debuginfod_found=%llu "
		 "debuginfod_failed=%llu debuginfod_skipped=%llu",
		 (unsigned long long)ss.modules, (unsigned long long)ss.modules_loaded,
		 (unsigned long long)ss.bytes, (unsigned long long)ss.lookups,
		 (unsigned long long)ss.misses, (unsigned long long)(ss.load_ns / 1000000),
		 (unsigned long long)ss.debug_files, (unsigned long long)ss.debuginfod_requests,
		 (unsigned long long)ss.debuginfod_found, (unsigned long long)ss.debuginfod_failed,
		 (unsigned long long)ss.debuginfod_skipped);
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
		if (unwind_cache__collect(a->unwind) && a->parked_head)
			retry_parked(a, false);
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

int main(int argc, char **argv)
{
	struct agent a = {0};
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t cgroup_ids[AGENT_MAX_CGROUPS];
	struct sampler_opts so = {.sz = sizeof(so)};
	struct symbolizer_opts symo = {.sz = sizeof(symo)};
	struct labeler_opts lo = {0};
	struct profile_opts po = {0};
	int err, ret = 1;

	pthread_mutex_init(&a.snap_lock, NULL);
	a.parked_tail = &a.parked_head;
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

	/*
	 * The privileged part first, while this is the only thread: load and attach the programs
	 * (paused) and read the kernel's symbols, then drop what is no longer needed.
	 */
	so.frequency = a.opts.frequency;
	so.pids = a.opts.pids;
	so.npids = a.opts.npids;
	so.cgroup_ids = cgroup_ids;
	so.ncgroup_ids = a.opts.ncgroups;
	so.ring_bytes = a.opts.ring_bytes;
	so.stack_copy_bytes = a.opts.stack_copy_bytes;
	/* frame pointers only where asked, or where there is nothing else: no stack copy */
	so.fp_stack = a.opts.fp_stack == FP_STACK_ALWAYS ||
		      (a.opts.fp_stack == FP_STACK_AUTO && a.opts.stack_copy_bytes == 0);
	so.hardware_event = a.opts.hardware_event;
	so.btf_path = a.opts.btf_path;
	so.start_paused = true;
	a.sampler = sampler__new(&so, handle_record, &a);
	if (!a.sampler)
		goto cleanup;
	if (sampler__attach(a.sampler))
		goto cleanup;
	a.event_name = sampler__event_name(a.sampler);
	a.ncpus = sampler__ncpus(a.sampler);
	symo.kallsyms = kallsyms__load("/proc/kallsyms"); /* NULL: tried again on first use */
	if (!symo.kallsyms)
		log_warn("cannot read kernel symbols: kernel frames keep their addresses",
			 "path=/proc/kallsyms err=\"%s\"", strerror(errno));
	if (drop_privileges(&a)) {
		kallsyms__free(symo.kallsyms);
		goto cleanup;
	}

	symo.debug_dirs = a.opts.debug_dirs;
	symo.no_debuginfod = a.opts.no_debuginfod;
	symo.debuginfod_timeout_ms = a.opts.debuginfod_timeout_ms;
	symo.negative_ttl_s = a.opts.debuginfod_negative_ttl_s;
	po.keep_timestamps = a.opts.collector || a.opts.format == OUTPUT_OTLP;
	a.sym = symbolizer__new(&symo);
	a.unwind = unwind_cache__new(a.opts.unwind_cache_bytes);
	start_k8s(&a);
	lo.host_name = a.opts.host_name;
	lo.node_name = a.opts.node_name;
	lo.relabel = a.opts.relabel;
	lo.nrelabel = a.opts.nrelabel;
	lo.k8s = a.k8s;
	a.labeler = labeler__new(&lo);
	a.procs = proc_table__new(a.sym, a.unwind, a.labeler);
	a.profile = profile__new(&po);
	if (!a.sym || !a.unwind || !a.labeler || !a.procs || !a.profile) {
		log_error("out of memory");
		goto cleanup;
	}
	if (a.opts.collector) {
		struct exporter_opts eo = {
			.tenant = a.opts.tenant,
			.ca_file = a.opts.ca_file,
			.max_queue_bytes = a.opts.queue_bytes,
			.max_backoff_ms = (uint32_t)(a.opts.max_backoff_ns / 1000000),
			.initial_backoff_ms = (uint32_t)MIN(1000, a.opts.max_backoff_ns / 1000000),
			.user_agent = "sonde-agent/" SONDE_VERSION,
		};

		a.endpoint = agent_opts__endpoint(&a.opts);
		eo.url = a.endpoint;
		for (uint32_t i = 0; i < a.opts.nheaders && i < EXPORTER_MAX_HEADERS; i++)
			eo.headers[eo.nheaders++] = a.opts.headers[i];
		a.exporter = a.endpoint ? exporter__new(&eo) : NULL;
		if (!a.exporter)
			goto cleanup;
	}
	if (a.opts.metrics_addr) {
		a.metrics = metrics_server__new(a.opts.metrics_addr, render_metrics, &a);
		if (!a.metrics)
			goto cleanup;
	}

	a.start_mono_ns = a.interval_start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	sampler__start(a.sampler);
	publish_snapshot(&a, true);
	if (a.exporter)
		log_info("sampling; shipping OTLP profiles",
			 "event=%s frequency=%u cpus=%u endpoint=\"%s\" interval_s=%.1f",
			 a.event_name, a.opts.frequency, a.ncpus, a.endpoint,
			 (double)a.opts.upload_interval_ns / 1e9);
	else
		log_info("sampling", "event=%s frequency=%u cpus=%u pids=%u cgroups=%u",
			 a.event_name, a.opts.frequency, a.ncpus, a.opts.npids, a.opts.ncgroups);

	if (run(&a))
		goto cleanup;
	/* detach before the (possibly slow) flush and symbolization: sampling stops here */
	publish_snapshot(&a, true);
	sampler__free(a.sampler);
	a.sampler = NULL;
	if (a.parked_head && unwind_cache__wait(a.unwind, FLUSH_WAIT_MS))
		log_warn("unwind tables still building at exit: their samples keep partial stacks");
	retry_parked(&a, true);
	publish_snapshot(&a, true);
	log_stats(&a);
	if (a.exporter) {
		uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + a.opts.shutdown_timeout_ns;
		struct exporter_stats es;

		/* the last, partial interval; symbols get what is left of the shutdown time */
		symbolizer__wait(a.sym, (int)(a.opts.shutdown_timeout_ns / 2000000));
		flush_interval(&a);
		if (exporter__flush(a.exporter, deadline))
			log_warn("shutdown deadline reached with profiles still queued; they are "
				 "dropped",
				 "timeout_s=%.1f", (double)a.opts.shutdown_timeout_ns / 1e9);
		exporter__stats(a.exporter, &es);
		log_info("exporter stopped",
			 "intervals=%llu requests_queued=%llu requests_sent=%llu "
			 "profiles_sent=%llu bytes_sent=%llu retries=%llu dropped_requests=%llu "
			 "dropped_profiles=%llu queued=%llu",
			 (unsigned long long)a.s.intervals, (unsigned long long)a.s.requests_queued,
			 (unsigned long long)es.requests_sent, (unsigned long long)es.profiles_sent,
			 (unsigned long long)es.bytes_sent, (unsigned long long)es.retries,
			 (unsigned long long)es.dropped_requests,
			 (unsigned long long)es.dropped_profiles,
			 (unsigned long long)es.queue_requests);
		log_symbols(&a);
		if (a.opts.output && write_tee(&a))
			goto cleanup;
		ret = 0;
		goto cleanup;
	}
	if (write_output(&a))
		goto cleanup;
	log_symbols(&a);
	ret = 0;
cleanup:
	metrics_server__free(a.metrics);
	sampler__free(a.sampler);
	retry_parked(&a, true);
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
