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
#include "unwind.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../symbolizer/symbolizer.h"

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39
#define MAPS_REFRESH_NS (50 * 1000 * 1000ull) /* re-read /proc/PID/maps at most this often */
#define MAX_USER_FRAMES 512 /* user frames kept per stack (DWARF unwinding) */
#define MAX_FRAMES (SONDE_MAX_KSTACK + MAX_USER_FRAMES + 2)
#define FLUSH_WAIT_MS 30000 /* at exit, how long to wait for unwind tables still being built */

/* A sample waiting for an unwind table, with the mappings it was taken under. */
struct parked {
	struct parked *next;
	struct maps *maps;
	size_t size;
	uint8_t rec[];
};

struct agent {
	struct agent_opts opts;
	struct sampler *sampler;
	struct proc_table *procs;
	struct symbolizer *sym;
	struct unwind_cache *unwind;
	struct profile *profile;
	struct parked *parked_head, **parked_tail;
	uint64_t parked_bytes;
	uint64_t parked_count;
	uint64_t parked_dropped; /* over the bound: unwound as far as possible instead */
	uint64_t unwind_status[UNWIND_NSTATUS];
	uint64_t user_frames;
	uint64_t unwind_ns; /* time spent in the unwinder */
	uint64_t stack_copy_bytes; /* user stack bytes the samples carried */
	uint64_t unwind_calls;
	uint64_t start_mono_ns;
	uint64_t start_unix_ns;
	uint64_t records;
	uint64_t bad_records;
	uint64_t samples_kept;
	uint64_t samples_dropped;
	const char *event_name;
	uint32_t ncpus;
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

static void park(struct agent *a, const struct sonde_sample *s, size_t size, struct maps *maps)
{
	struct parked *pk = malloc(sizeof(*pk) + size);

	if (!pk)
		return;
	pk->next = NULL;
	pk->maps = maps__get(maps);
	pk->size = size;
	memcpy(pk->rec, s, size);
	*a->parked_tail = pk;
	a->parked_tail = &pk->next;
	a->parked_bytes += size;
	a->parked_count++;
}

/*
 * Builds the sample's stack and adds it to the profile. With maps == NULL the process's current
 * mappings are used; a sample whose unwind table is not built yet is parked (when allowed) and
 * UNWIND_PENDING returned.
 */
static enum unwind_status add_sample(struct agent *a, const struct sonde_sample *s, size_t size,
				     struct maps *maps, bool may_park)
{
	struct frame frames[MAX_FRAMES + 1];
	enum unwind_status st = UNWIND_NO_USER;
	uint32_t n = 0, k = 0;
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
		}
		if (s->stack_bytes && maps) {
			uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

			st = unwind_user(a->unwind, a->procs, maps, s, frames + n, MAX_USER_FRAMES,
					 &k);
			a->unwind_ns += clock_ns(CLOCK_MONOTONIC) - t0;
			a->unwind_calls++;
			a->stack_copy_bytes += s->stack_bytes;
			if (st == UNWIND_ERR_UNMAPPED && p && k == 1 &&
			    proc_table__resolve(a->procs, p, s->regs.ip, MAPS_REFRESH_NS)) {
				/* the leaf is in a library mapped since we last read the maps */
				maps = p->maps;
				st = unwind_user(a->unwind, a->procs, maps, s, frames + n,
						 MAX_USER_FRAMES, &k);
			}
			if (st == UNWIND_PENDING && may_park) {
				if (a->parked_bytes + size <= a->opts.max_parked_bytes) {
					park(a, s, size, maps);
					return st;
				}
				a->parked_dropped++;
			}
			if (st == UNWIND_PENDING) {
				/* no table in time: keep what we have, marked */
				frames[n + k].kind = FRAME_UNWIND_ERROR;
				frames[n + k].addr = st;
				frames[n + k].obj_id = 0;
				k++;
			}
			n += k;
		} else if (p) {
			n += fp_frames(a, s, p, frames + n);
			st = s->ustack_len ? UNWIND_COMPLETE : UNWIND_NO_USER;
		}
		a->user_frames += k;
	}
	a->unwind_status[st]++;
	if (profile__add(a->profile, s->pid, s->tid, s->pcomm, s->comm, frames, n, s->time_ns))
		a->samples_dropped++;
	else
		a->samples_kept++;
	return st;
}

static void handle_sample(struct agent *a, const struct sonde_sample *s, size_t size)
{
	if (size < sizeof(*s) || s->kstack_len > SONDE_MAX_KSTACK ||
	    s->ustack_len > SONDE_MAX_USTACK || s->stack_bytes > size - sizeof(*s)) {
		a->bad_records++;
		return;
	}
	add_sample(a, s, size, NULL, true);
}

/* Retries parked samples once tables have been built; with final, nothing stays parked. */
static void retry_parked(struct agent *a, bool final)
{
	struct parked *list = a->parked_head, *pk, *next;

	a->parked_head = NULL;
	a->parked_tail = &a->parked_head;
	a->parked_bytes = 0;
	a->parked_count = 0;
	for (pk = list; pk; pk = next) {
		next = pk->next;
		/* a sample still pending is parked again, as a new copy */
		add_sample(a, (const struct sonde_sample *)pk->rec, pk->size, pk->maps, !final);
		maps__put(pk->maps);
		free(pk);
	}
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
	else
		err = output_folded(a->profile, &fs, &out);
	if (err)
		goto out;
	err = write_file_atomic(a->opts.output, out.data, out.len);
	if (!err)
		log_info("profile written", "path=\"%s\" format=%s samples=%llu stacks=%zu "
			 "frames_symbolized=%llu frames_unsymbolized=%llu frames_pending=%llu bytes=%zu",
			 a->opts.output, output_format_name(a->opts.format),
			 (unsigned long long)profile__total(a->profile),
			 profile__nstacks(a->profile), (unsigned long long)fs.symbolized,
			 (unsigned long long)fs.unsymbolized, (unsigned long long)fs.pending, out.len);
out:
	if (err)
		log_error("cannot write the profile", "path=\"%s\" err=\"%s\"", a->opts.output,
			  strerror(-err));
	frame_syms__free(&fs);
	buf_free(&out);
	return err;
}

static uint64_t final_bpf_stats[SONDE_STAT_NR];
static uint64_t final_bpf_run_ns, final_bpf_run_cnt;

/* Reads the kernel-side counters while the programs are still loaded. */
static void log_stats_sampler(struct agent *a)
{
	sampler__stats(a->sampler, final_bpf_stats);
	sampler__prog_stats(a->sampler, &final_bpf_run_ns, &final_bpf_run_cnt);
}

static void log_stats(struct agent *a)
{
	uint64_t *st = final_bpf_stats;
	struct proc_table_stats ps;

	proc_table__stats(a->procs, &ps);
	{
		char line[1024];
		size_t len = 0;

		for (int i = 0; i < UNWIND_NSTATUS; i++)
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s=%llu",
						i ? " " : "", unwind_status_name(i),
						(unsigned long long)a->unwind_status[i]);
		log_info("stacks",
			 "%s user_frames=%llu parked_dropped=%llu unwind_calls=%llu unwind_ns=%llu "
			 "stack_copy_bytes=%llu",
			 line, (unsigned long long)a->user_frames, (unsigned long long)a->parked_dropped,
			 (unsigned long long)a->unwind_calls, (unsigned long long)a->unwind_ns,
			 (unsigned long long)a->stack_copy_bytes);
	}
	{
		struct unwind_cache_stats us;

		unwind_cache__stats(a->unwind, &us);
		log_info("unwind tables",
			 "files=%llu ready=%llu bytes=%llu builds=%llu build_failures=%llu "
			 "build_ms=%llu evictions=%llu",
			 (unsigned long long)us.entries, (unsigned long long)us.ready,
			 (unsigned long long)us.bytes, (unsigned long long)us.builds,
			 (unsigned long long)us.build_failures,
			 (unsigned long long)(us.build_ns / 1000000),
			 (unsigned long long)us.evictions);
	}
	log_info("sampling stopped",
		 "event=%s cpus=%u bpf_runs=%llu sent=%llu idle=%llu filtered=%llu "
		 "dropped_ringbuf=%llu dropped_events=%llu kstack_errors=%llu "
		 "ustack_errors=%llu stack_copy_errors=%llu kept=%llu dropped_memory=%llu "
		 "bad_records=%llu maps_reads=%llu",
		 a->event_name, a->ncpus,
		 (unsigned long long)st[SONDE_STAT_SAMPLES], (unsigned long long)st[SONDE_STAT_SENT],
		 (unsigned long long)st[SONDE_STAT_IDLE], (unsigned long long)st[SONDE_STAT_FILTERED],
		 (unsigned long long)st[SONDE_STAT_DROP_RINGBUF],
		 (unsigned long long)st[SONDE_STAT_EVENT_DROP],
		 (unsigned long long)st[SONDE_STAT_KSTACK_ERR],
		 (unsigned long long)st[SONDE_STAT_USTACK_ERR],
		 (unsigned long long)st[SONDE_STAT_STACK_COPY_ERR],
		 (unsigned long long)a->samples_kept, (unsigned long long)a->samples_dropped,
		 (unsigned long long)a->bad_records, (unsigned long long)ps.maps_reads);
	/* only counted while sysctl kernel.bpf_stats_enabled=1 */
	if (final_bpf_run_cnt)
		log_info("bpf program cost", "runs=%llu run_ns=%llu ns_per_run=%llu",
			 (unsigned long long)final_bpf_run_cnt, (unsigned long long)final_bpf_run_ns,
			 (unsigned long long)(final_bpf_run_ns / final_bpf_run_cnt));
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
		if (unwind_cache__collect(a->unwind) && a->parked_head)
			retry_parked(a, false);
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
	struct symbolizer_stats ss;
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

	a.parked_tail = &a.parked_head;
	symo.debug_dirs = a.opts.debug_dirs;
	symo.no_debuginfod = a.opts.no_debuginfod;
	symo.debuginfod_timeout_ms = a.opts.debuginfod_timeout_ms;
	a.sym = symbolizer__new(&symo);
	a.unwind = unwind_cache__new(a.opts.unwind_cache_bytes);
	a.procs = proc_table__new(a.sym, a.unwind);
	a.profile = profile__new(&po);
	if (!a.sym || !a.unwind || !a.procs || !a.profile) {
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
	/* frame pointers only where asked, or where there is nothing else: no stack copy */
	so.fp_stack = a.opts.fp_stack == FP_STACK_ALWAYS ||
		      (a.opts.fp_stack == FP_STACK_AUTO && a.opts.stack_copy_bytes == 0);
	so.hardware_event = a.opts.hardware_event;
	so.btf_path = a.opts.btf_path;
	a.sampler = sampler__new(&so, handle_record, &a);
	if (!a.sampler)
		goto cleanup;
	a.start_mono_ns = clock_ns(CLOCK_MONOTONIC);
	a.start_unix_ns = clock_ns(CLOCK_REALTIME);
	if (sampler__attach(a.sampler))
		goto cleanup;
	a.event_name = sampler__event_name(a.sampler);
	a.ncpus = sampler__ncpus(a.sampler);
	log_info("sampling", "event=%s frequency=%u cpus=%u pids=%u cgroups=%u",
		 sampler__event_name(a.sampler), a.opts.frequency, sampler__ncpus(a.sampler),
		 a.opts.npids, a.opts.ncgroups);

	if (run(&a))
		goto cleanup;
	/* detach before the (possibly slow) flush and symbolization: sampling stops here */
	log_stats_sampler(&a);
	sampler__free(a.sampler);
	a.sampler = NULL;
	if (a.parked_head && unwind_cache__wait(a.unwind, FLUSH_WAIT_MS))
		log_warn("unwind tables still building at exit: their samples keep partial stacks");
	retry_parked(&a, true);
	log_stats(&a);
	if (write_output(&a))
		goto cleanup;
	symbolizer__stats(a.sym, &ss);
	log_info("symbols", "modules=%llu loaded=%llu bytes=%llu lookups=%llu misses=%llu "
		 "load_ms=%llu debug_files=%llu debuginfod_requests=%llu debuginfod_found=%llu "
		 "debuginfod_failed=%llu debuginfod_skipped=%llu",
		 (unsigned long long)ss.modules, (unsigned long long)ss.modules_loaded,
		 (unsigned long long)ss.bytes, (unsigned long long)ss.lookups,
		 (unsigned long long)ss.misses, (unsigned long long)(ss.load_ns / 1000000),
		 (unsigned long long)ss.debug_files, (unsigned long long)ss.debuginfod_requests,
		 (unsigned long long)ss.debuginfod_found, (unsigned long long)ss.debuginfod_failed,
		 (unsigned long long)ss.debuginfod_skipped);
	ret = 0;
cleanup:
	sampler__free(a.sampler);
	retry_parked(&a, true);
	profile__free(a.profile);
	proc_table__free(a.procs);
	unwind_cache__free(a.unwind);
	symbolizer__free(a.sym);
	agent_opts__free(&a.opts);
	return ret;
}
