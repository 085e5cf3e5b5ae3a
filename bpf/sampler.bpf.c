// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Sonde's sampler: a perf_event program run by a cpu-clock (or cycles) event on every CPU, and
 * two BTF tracepoints that tell the agent when a process execs or exits.
 *
 * Records go to one ring buffer so the agent sees them in the order they happened: a sample is
 * always resolved against the mappings that were live when it was taken. Samples never wake the
 * consumer (in a VM, a wakeup per record suppresses cpu-clock sampling); the agent drains on a
 * timer, and a sample wakes it only once the buffer is past a fill watermark. NEWPROC records do
 * wake it, so a short-lived process has its mappings read while it is still alive.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sampler_shared.h"

#define PF_EXITING 0x00000004
#define PF_KTHREAD 0x00200000

/* Set by the agent between open and load. */
const volatile bool filter_pids = false;
const volatile bool filter_cgroups = false;
const volatile bool collect_fp_stack = true;
const volatile __u32 stack_copy_max = 32 * 1024; /* bytes, <= SONDE_STACK_COPY_MAX */
const volatile __u64 wakeup_bytes = 1 << 20;	 /* wake the agent past this much unread data */
/*
 * While set, the sampling program does nothing: the agent attaches first, drops privileges and
 * gets ready, then clears it (a write to mapped memory, no privilege needed).
 */
volatile bool sampling_paused = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by the agent */
} events SEC(".maps");

/* One sample record per CPU; a plain array because per-CPU values are limited to 32 KB. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of possible CPUs by the agent */
	__type(key, __u32);
	__type(value, struct sonde_sample_buf);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SONDE_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* pid */
	__type(value, __u8);
} pid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64); /* cgroup v2 id; descendants match too */
	__type(value, __u8);
} cgroup_filter SEC(".maps");

/*
 * Processes the agent has been told about (a NEWPROC was sent), with per-process settings the
 * agent writes back. LRU: if a node runs more processes than this, the least recently sampled
 * are forgotten and simply announced again.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct sonde_proc_cfg);
} procs SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

#define COPY_REGS()            \
	do {                   \
		COPY_REG(ip);  \
		COPY_REG(sp);  \
		COPY_REG(bp);  \
		COPY_REG(bx);  \
		COPY_REG(ax);  \
		COPY_REG(cx);  \
		COPY_REG(dx);  \
		COPY_REG(si);  \
		COPY_REG(di);  \
		COPY_REG(r8);  \
		COPY_REG(r9);  \
		COPY_REG(r10); \
		COPY_REG(r11); \
		COPY_REG(r12); \
		COPY_REG(r13); \
		COPY_REG(r14); \
		COPY_REG(r15); \
	} while (0)

static __always_inline bool cgroup_allowed(void)
{
	for (int level = 0; level < SONDE_MAX_CGROUP_FILTER_DEPTH; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);

		if (!id)
			break;
		if (bpf_map_lookup_elem(&cgroup_filter, &id))
			return true;
	}
	return false;
}

static __always_inline void proc_event(__u32 type, __u32 pid, __u32 tid, struct task_struct *task,
				       __u64 flags)
{
	struct sonde_proc_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_inc(SONDE_STAT_EVENT_DROP);
		return;
	}
	e->hdr.type = type;
	e->hdr.size = sizeof(*e);
	e->pid = pid;
	e->tid = tid;
	e->time_ns = bpf_ktime_get_ns();
	e->start_time_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	BPF_CORE_READ_STR_INTO(&e->comm, task, group_leader, comm);
	bpf_ringbuf_submit(e, flags);
}

/*
 * Copy the user stack upwards from sp, a page at a time so that a read stops at the end of the
 * mapping instead of failing as a whole. Returns the bytes copied.
 */
static __always_inline __u32 copy_user_stack(__u8 *dst, __u64 sp, __u64 limit, __u32 *flags)
{
	/* 64-bit on purpose: a zero-extended 32-bit copy loses the bounds the verifier tracks */
	__u64 off = 0, n;

	if (limit > SONDE_STACK_COPY_MAX)
		limit = SONDE_STACK_COPY_MAX;
	for (int i = 0; i < SONDE_STACK_COPY_MAX / SONDE_STACK_PAGE + 1; i++) {
		if (off >= limit)
			break;
		n = SONDE_STACK_PAGE - ((sp + off) & (SONDE_STACK_PAGE - 1));
		if (n > limit - off)
			n = limit - off;
		/*
		 * Bounds the verifier can follow (it does not relate off and n): off < MAX and
		 * n <= PAGE, and the buffer has a page of slack past MAX. Both are no-ops here.
		 */
		off &= SONDE_STACK_COPY_MAX - 1;
		barrier_var(n);
		if (n > SONDE_STACK_PAGE)
			break;
		if (bpf_probe_read_user(dst + off, n, (void *)(sp + off)))
			break;
		off += n;
	}
	if (off >= limit && limit)
		*flags |= SONDE_SAMPLE_STACK_TRUNC;
	return (__u32)off;
}

SEC("perf_event")
int sonde_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	struct sonde_sample_buf *buf;
	struct sonde_sample *s;
	struct task_struct *task;
	struct sonde_proc_cfg *cfg = NULL;
	__u32 cpu, size, limit, flags = 0;
	__u64 rbflags;
	long n;

	if (sampling_paused)
		return 0;
	stat_inc(SONDE_STAT_SAMPLES);
	if (tid == 0) {
		stat_inc(SONDE_STAT_IDLE);
		return 0;
	}
	if ((filter_pids && !bpf_map_lookup_elem(&pid_filter, &pid)) ||
	    (filter_cgroups && !cgroup_allowed())) {
		stat_inc(SONDE_STAT_FILTERED);
		return 0;
	}
	cpu = bpf_get_smp_processor_id();
	buf = bpf_map_lookup_elem(&scratch, &cpu);
	if (!buf) {
		stat_inc(SONDE_STAT_DROP_SCRATCH);
		return 0;
	}
	s = &buf->s;
	task = (struct task_struct *)bpf_get_current_task();

	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		flags |= SONDE_SAMPLE_KTHREAD;
	/* an 8-byte context load: the verifier only allows whole-register reads */
	if ((ctx->regs.csx & 3) == 0)
		flags |= SONDE_SAMPLE_KERNEL_MODE;

	/*
	 * A thread past the exit tracepoint (still in do_exit) is not announced: the process may
	 * already have been reported gone, and nothing would report it gone again.
	 */
	if (BPF_CORE_READ(task, flags) & PF_EXITING)
		flags |= SONDE_SAMPLE_EXITING;
	if (!(flags & SONDE_SAMPLE_KTHREAD)) {
		cfg = bpf_map_lookup_elem(&procs, &pid);
		if (!cfg && !(flags & SONDE_SAMPLE_EXITING)) {
			struct sonde_proc_cfg init = {};

			if (bpf_map_update_elem(&procs, &pid, &init, BPF_NOEXIST) == 0)
				proc_event(SONDE_REC_NEWPROC, pid, tid, task, BPF_RB_FORCE_WAKEUP);
			else
				stat_inc(SONDE_STAT_PROCMAP_FULL);
			cfg = bpf_map_lookup_elem(&procs, &pid);
		}
	}

	s->hdr.type = SONDE_REC_SAMPLE;
	s->pid = pid;
	s->tid = tid;
	s->cpu = cpu;
	s->time_ns = bpf_ktime_get_ns();
	s->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(&s->comm, sizeof(s->comm));
	BPF_CORE_READ_STR_INTO(&s->pcomm, task, group_leader, comm);
	s->kstack_len = 0;
	s->ustack_len = 0;
	s->stack_bytes = 0;

	if (flags & SONDE_SAMPLE_KERNEL_MODE) {
		n = bpf_get_stack(ctx, s->kstack, sizeof(s->kstack), 0);
		if (n > 0)
			s->kstack_len = n / sizeof(__u64);
		else {
			flags |= SONDE_SAMPLE_KSTACK_ERR;
			stat_inc(SONDE_STAT_KSTACK_ERR);
		}
	}

	if (!(flags & SONDE_SAMPLE_KTHREAD)) {
		__u32 pflags = cfg ? cfg->flags : 0;

		if (flags & SONDE_SAMPLE_KERNEL_MODE) {
			/* in a system call: the user registers saved at kernel entry */
			struct pt_regs *regs =
				(struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

#define COPY_REG(r) s->regs.r = BPF_CORE_READ(regs, r)
			COPY_REGS();
#undef COPY_REG
		} else {
			/* ctx is rewritten by the verifier: read it with direct loads only */
#define COPY_REG(r) s->regs.r = ctx->regs.r
			COPY_REGS();
#undef COPY_REG
		}
		flags |= SONDE_SAMPLE_USER_REGS;

		if (collect_fp_stack && !(pflags & SONDE_PROC_NO_FP_STACK)) {
			n = bpf_get_stack(ctx, s->ustack, sizeof(s->ustack), BPF_F_USER_STACK);
			if (n > 0)
				s->ustack_len = n / sizeof(__u64);
			else {
				flags |= SONDE_SAMPLE_USTACK_ERR;
				stat_inc(SONDE_STAT_USTACK_ERR);
			}
		}

		limit = stack_copy_max;
		if (cfg && cfg->stack_copy_max)
			limit = cfg->stack_copy_max;
		if (pflags & SONDE_PROC_NO_STACK_COPY)
			limit = 0;
		if (limit && pid == tid) {
			/* the main thread's stack ends at the initial stack pointer (argc) */
			__u64 start = BPF_CORE_READ(task, mm, start_stack);

			if (start > s->regs.sp && start - s->regs.sp + 64 < limit)
				limit = start - s->regs.sp + 64;
		}
		if (limit) {
			s->stack_bytes = copy_user_stack(buf->stack, s->regs.sp, limit, &flags);
			if (!s->stack_bytes)
				stat_inc(SONDE_STAT_STACK_COPY_ERR);
			if (flags & SONDE_SAMPLE_STACK_TRUNC)
				stat_inc(SONDE_STAT_STACK_TRUNC);
		}
	}
	s->flags = flags;

	size = s->stack_bytes;
	if (size > SONDE_STACK_COPY_MAX)
		size = SONDE_STACK_COPY_MAX;
	size += sizeof(struct sonde_sample);
	s->hdr.size = size;

	rbflags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes)
		rbflags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, buf, size, rbflags)) {
		stat_inc(SONDE_STAT_DROP_RINGBUF);
		return 0;
	}
	stat_inc(SONDE_STAT_SENT);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sonde_exec, struct task_struct *p)
{
	struct sonde_proc_cfg init = {};
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;

	/*
	 * Only processes the agent knows about. Their entry stays (reset: the settings were for
	 * the old image) so that their exit is still reported; the agent reads the new image's
	 * mappings on this record, so it wakes the agent while the process is likely alive.
	 */
	if (bpf_map_update_elem(&procs, &pid, &init, BPF_EXIST) == 0)
		proc_event(SONDE_REC_EXEC, pid, (__u32)id, p, BPF_RB_FORCE_WAKEUP);
	return 0;
}

static __always_inline void group_exited(struct task_struct *p)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;

	if (bpf_map_delete_elem(&procs, &pid) == 0)
		proc_event(SONDE_REC_EXIT, pid, (__u32)id, p, BPF_RB_NO_WAKEUP);
}

/*
 * Two variants; the agent loads the one the kernel's BTF matches. Before 6.16 the tracepoint
 * runs after the exiting thread decremented signal->live: 0 there means the group is dead.
 * Since 6.16 it runs before that decrement and says so itself in group_dead.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sonde_exit, struct task_struct *p)
{
	if (BPF_CORE_READ(p, signal, live.counter) == 0)
		group_exited(p);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sonde_exit_group_dead, struct task_struct *p, bool group_dead)
{
	if (group_dead)
		group_exited(p);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
