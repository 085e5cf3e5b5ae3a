// SPDX-License-Identifier: Apache-2.0
/*
 * sonde-agent: samples every CPU with eBPF, resolves stacks against process mappings, and
 * writes the profile when the run ends.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "output.h"
#include "proc.h"
#include "profile.h"
#include "sampler.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../symbolizer/symbolizer.h"

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39
#define MAPS_REFRESH_NS (50 * 1000 * 1000ull) /* re-read /proc/PID/maps at most this often */
#define MAX_FRAMES (SONDE_MAX_KSTACK + SONDE_MAX_USTACK + 2)

struct agent {
	struct agent_opts opts;
	struct sampler *sampler;
	struct proc_table *procs;
	struct symbolizer *sym;
	struct profile *profile;
	uint64_t start_mono_ns;
	uint64_t start_unix_ns;
	uint64_t records;
	uint64_t bad_records;
	uint64_t samples_kept;
	uint64_t samples_dropped;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Effective capabilities from /proc/self/status, as a bit mask. */
static uint64_t effective_caps(void)
{
	char *status = NULL, *p;
	uint64_t caps = 0;
	size_t len;

	if (read_file(-1, "/proc/self/status", 1 << 16, &status, &len))
		return 0;
	p = strstr(status, "CapEff:");
	if (p)
		caps = strtoull(p + 7, NULL, 16);
	free(status);
	return caps;
}

static int check_environment(const struct agent_opts *o)
{
	uint64_t caps = effective_caps();
	bool bpf_ok = (caps >> CAP_SYS_ADMIN_BIT & 1) ||
		      ((caps >> CAP_BPF_BIT & 1) && (caps >> CAP_PERFMON_BIT & 1));
	const char *sys_btf = "/sys/kernel/btf/vmlinux";

	if (!bpf_ok) {
		log_error("missing privileges: run sonde-agent as root, or with CAP_BPF, "
			  "CAP_PERFMON, CAP_SYS_PTRACE and CAP_SYS_RESOURCE",
			  "cap_eff=%016llx", (unsigned long long)caps);
		return -EPERM;
	}
	if (o->btf_path) {
		if (access(o->btf_path, R_OK) < 0) {
			log_error("cannot read the BTF file given with --btf", "path=\"%s\" err=\"%s\"",
				  o->btf_path, strerror(errno));
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

static void handle_sample(struct agent *a, const struct sonde_sample *s, size_t size)
{
	struct frame frames[MAX_FRAMES];
	uint32_t n = 0;
	struct proc *p = NULL;

	if (size < sizeof(*s) || s->kstack_len > SONDE_MAX_KSTACK ||
	    s->ustack_len > SONDE_MAX_USTACK) {
		a->bad_records++;
		return;
	}
	for (uint32_t i = 0; i < s->kstack_len; i++) {
		struct frame *f = &frames[n++];

		memset(f, 0, sizeof(*f));
		f->kind = FRAME_KERNEL;
		/* return addresses point after the call: step back into it */
		f->addr = s->kstack[i] - (i > 0);
	}
	if (!(s->flags & SONDE_SAMPLE_KTHREAD) && s->ustack_len)
		p = proc_table__get(a->procs, s->pid, true);
	for (uint32_t i = 0; p && i < s->ustack_len; i++) {
		uint64_t addr = s->ustack[i] - (i > 0);
		const struct mapping *m = proc_table__resolve(a->procs, p, addr, MAPS_REFRESH_NS);
		struct frame *f = &frames[n++];

		memset(f, 0, sizeof(*f));
		if (m && (m->flags & MAPPING_BIAS_OK)) {
			f->kind = FRAME_USER;
			f->obj_id = m->obj->id;
			f->addr = addr - m->bias;
			proc_table__use_object(a->procs, m->obj);
		} else if (m) {
			f->kind = FRAME_USER;
			f->obj_id = m->obj->id;
			f->addr = addr - m->start + m->pgoff;
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
	if (profile__add(a->profile, s->pid, s->tid, s->pcomm, s->comm, frames, n, s->time_ns))
		a->samples_dropped++;
	else
		a->samples_kept++;
}

static int handle_record(void *ctx, const void *data, size_t size)
{
	struct agent *a = ctx;
	const struct sonde_rec_hdr *h = data;
	const struct sonde_proc_event *e = data;

	a->records++;
	if (size < sizeof(*h)) {
		a->bad_records++;
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
		a->bad_records++;
	}
	return 0;
}

static int write_output(struct agent *a)
{
	struct frame_syms fs = { 0 };
	struct output_meta meta = {
		.start_unix_ns = a->start_unix_ns,
		.duration_ns = clock_ns(CLOCK_MONOTONIC) - a->start_mono_ns,
		.period_ns = NSEC_PER_SEC / a->opts.frequency,
	};
	struct buf out = { 0 };
	int err;

	err = frame_syms__build(&fs, a->profile, a->procs, a->sym);
	if (err)
		goto out;
	if (a->opts.format == OUTPUT_PPROF)
		err = output_pprof(a->profile, &fs, a->procs, &meta, &out);
	else
		err = output_folded(a->profile, &fs, &out);
	if (err)
		goto out;
	err = write_file_atomic(a->opts.output, out.data, out.len);
	if (!err)
		log_info("profile written", "path=\"%s\" format=%s samples=%llu stacks=%zu "
			 "frames_symbolized=%llu frames_unsymbolized=%llu bytes=%zu",
			 a->opts.output, output_format_name(a->opts.format),
			 (unsigned long long)profile__total(a->profile),
			 profile__nstacks(a->profile), (unsigned long long)fs.symbolized,
			 (unsigned long long)fs.unsymbolized, out.len);
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
	uint64_t st[SONDE_STAT_NR] = { 0 };
	struct proc_table_stats ps;

	sampler__stats(a->sampler, st);
	proc_table__stats(a->procs, &ps);
	log_info("sampling stopped",
		 "event=%s cpus=%u bpf_runs=%llu sent=%llu idle=%llu filtered=%llu "
		 "dropped_ringbuf=%llu dropped_events=%llu kstack_errors=%llu "
		 "ustack_errors=%llu stack_copy_errors=%llu kept=%llu dropped_memory=%llu "
		 "bad_records=%llu maps_reads=%llu",
		 sampler__event_name(a->sampler), sampler__ncpus(a->sampler),
		 (unsigned long long)st[SONDE_STAT_SAMPLES], (unsigned long long)st[SONDE_STAT_SENT],
		 (unsigned long long)st[SONDE_STAT_IDLE], (unsigned long long)st[SONDE_STAT_FILTERED],
		 (unsigned long long)st[SONDE_STAT_DROP_RINGBUF],
		 (unsigned long long)st[SONDE_STAT_EVENT_DROP],
		 (unsigned long long)st[SONDE_STAT_KSTACK_ERR],
		 (unsigned long long)st[SONDE_STAT_USTACK_ERR],
		 (unsigned long long)st[SONDE_STAT_STACK_COPY_ERR],
		 (unsigned long long)a->samples_kept, (unsigned long long)a->samples_dropped,
		 (unsigned long long)a->bad_records, (unsigned long long)ps.maps_reads);
	{
		uint64_t run_ns = 0, run_cnt = 0;

		/* only counted while sysctl kernel.bpf_stats_enabled=1 */
		if (sampler__prog_stats(a->sampler, &run_ns, &run_cnt) == 0 && run_cnt)
			log_info("bpf program cost", "runs=%llu run_ns=%llu ns_per_run=%llu",
				 (unsigned long long)run_cnt, (unsigned long long)run_ns,
				 (unsigned long long)(run_ns / run_cnt));
	}
}

static int run(struct agent *a)
{
	uint64_t deadline = a->opts.duration_ns ? a->start_mono_ns + a->opts.duration_ns : 0;
	int drain_ms = (int)(a->opts.drain_interval_ns / 1000000);

	while (!stop_requested) {
		int timeout = drain_ms, n;

		if (deadline) {
			uint64_t now = clock_ns(CLOCK_MONOTONIC);

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
	}
	sampler__drain(a->sampler);
	return 0;
}

int main(int argc, char **argv)
{
	struct agent a = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t cgroup_ids[AGENT_MAX_CGROUPS];
	struct sampler_opts so = { .sz = sizeof(so) };
	struct symbolizer_opts symo = { .sz = sizeof(symo) };
	struct profile_opts po = { 0 };
	int err, ret = 1;

	agent_opts__init(&a.opts);
	err = agent_opts__parse(&a.opts, argc, argv);
	if (err) {
		agent_opts__free(&a.opts);
		return err > 0 ? 0 : 2;
	}
	log_set_level(a.opts.log_level);
	if (!a.opts.output) {
		log_error("nothing to do: give --output FILE (see --help)");
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

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	a.sym = symbolizer__new(&symo);
	a.procs = proc_table__new(a.sym);
	a.profile = profile__new(&po);
	if (!a.sym || !a.procs || !a.profile) {
		log_error("out of memory");
		goto cleanup;
	}

	so.frequency = a.opts.frequency;
	so.pids = a.opts.pids;
	so.npids = a.opts.npids;
	so.cgroup_ids = cgroup_ids;
	so.ncgroup_ids = a.opts.ncgroups;
	so.ring_bytes = a.opts.ring_bytes;
	so.stack_copy_bytes = a.opts.stack_copy_bytes;
	so.fp_stack = true;
	so.hardware_event = a.opts.hardware_event;
	so.btf_path = a.opts.btf_path;
	a.sampler = sampler__new(&so, handle_record, &a);
	if (!a.sampler)
		goto cleanup;
	a.start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	a.start_unix_ns = clock_ns(CLOCK_REALTIME);
	if (sampler__attach(a.sampler))
		goto cleanup;
	log_info("sampling", "event=%s frequency=%u cpus=%u pids=%u cgroups=%u",
		 sampler__event_name(a.sampler), a.opts.frequency, sampler__ncpus(a.sampler),
		 a.opts.npids, a.opts.ncgroups);

	if (run(&a))
		goto cleanup;
	log_stats(&a);
	/* detach before the (possibly slow) symbolization: sampling stops here */
	sampler__free(a.sampler);
	a.sampler = NULL;
	if (write_output(&a))
		goto cleanup;
	ret = 0;
cleanup:
	sampler__free(a.sampler);
	profile__free(a.profile);
	proc_table__free(a.procs);
	symbolizer__free(a.sym);
	agent_opts__free(&a.opts);
	return ret;
}
