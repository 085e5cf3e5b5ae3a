/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Types shared between bpf/sampler.bpf.c and the agent (agent/sampler.c). Fixed-width types only:
 * this header is compiled both against vmlinux.h (BPF) and against the UAPI headers (user space).
 *
 * Every ring-buffer record starts with a struct sonde_rec_hdr whose type says what follows.
 */
#ifndef SONDE_BPF_SAMPLER_SHARED_H
#define SONDE_BPF_SAMPLER_SHARED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SONDE_COMM_LEN 16
#define SONDE_MAX_KSTACK 127u		 /* frames; the kernel's default perf_event_max_stack */
#define SONDE_MAX_USTACK 127u		 /* frames of the in-kernel frame-pointer walk */
#define SONDE_STACK_PAGE 4096		 /* bytes; the stack copy is read page by page */
#define SONDE_STACK_COPY_MAX (64 * 1024) /* bytes of user stack a sample can carry */
#define SONDE_MAX_CGROUP_FILTER_DEPTH 16 /* ancestor levels checked by the cgroup filter */

enum sonde_rec_type {
	SONDE_REC_SAMPLE = 1,
	SONDE_REC_NEWPROC = 2, /* first sample of a process the agent has not been told about */
	SONDE_REC_EXEC = 3,    /* a process replaced its image: mappings are stale */
	SONDE_REC_EXIT = 4,    /* the last thread of a process exited */
};

/* struct sonde_sample.flags */
enum sonde_sample_flags {
	SONDE_SAMPLE_KERNEL_MODE = 1u << 0, /* the CPU was in the kernel when sampled */
	SONDE_SAMPLE_USER_REGS = 1u << 1,   /* regs holds user-mode registers */
	SONDE_SAMPLE_KSTACK_ERR = 1u << 2,  /* bpf_get_stack() failed for the kernel stack */
	SONDE_SAMPLE_USTACK_ERR = 1u << 3,  /* bpf_get_stack() failed for the user stack */
	SONDE_SAMPLE_STACK_TRUNC = 1u << 4, /* the stack copy hit its size limit */
	SONDE_SAMPLE_KTHREAD = 1u << 5,	    /* a kernel thread: no user half */
	SONDE_SAMPLE_EXITING = 1u << 6,	    /* the thread is exiting: its process may be gone */
};

/* struct sonde_proc_cfg.flags, written by the agent per process */
enum sonde_proc_flags {
	SONDE_PROC_NO_STACK_COPY = 1u << 0, /* frame pointers are right here (Go): skip the copy */
	SONDE_PROC_NO_FP_STACK = 1u << 1,   /* no in-kernel frame-pointer walk for this process */
};

/* Counters in the per-CPU "stats" array, indexed by this enum. */
enum sonde_stat {
	SONDE_STAT_SAMPLES = 0,	   /* perf_event program runs */
	SONDE_STAT_FILTERED,	   /* samples rejected by --pid/--cgroup */
	SONDE_STAT_IDLE,	   /* samples of the idle task (pid 0), not recorded */
	SONDE_STAT_SENT,	   /* sample records written to the ring buffer */
	SONDE_STAT_DROP_RINGBUF,   /* sample lost: ring buffer full */
	SONDE_STAT_DROP_SCRATCH,   /* sample lost: no scratch buffer (cannot happen; counted anyway)
				    */
	SONDE_STAT_KSTACK_ERR,	   /* kernel stack unavailable (sample still sent) */
	SONDE_STAT_USTACK_ERR,	   /* user frame-pointer stack unavailable (sample still sent) */
	SONDE_STAT_STACK_COPY_ERR, /* first page of the user stack unreadable (sample still sent) */
	SONDE_STAT_STACK_TRUNC,	   /* stack copy cut at its size limit */
	SONDE_STAT_EVENT_DROP,	   /* process event lost: ring buffer full */
	SONDE_STAT_PROCMAP_FULL,   /* process table full: NEWPROC not recorded */
	SONDE_STAT_NR,
};

struct sonde_rec_hdr {
	__u32 type; /* enum sonde_rec_type */
	__u32 size; /* bytes of the whole record, header included */
};

/*
 * x86-64 user registers at the sampled instruction. All general-purpose registers are kept: a
 * CFA rule may name any of them (stack realignment, PLT stubs, hand-written assembly).
 */
struct sonde_regs {
	__u64 ip, sp, bp, bx, ax, cx, dx, si, di;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

/* A CPU sample, followed by stack_bytes bytes of user stack copied from regs.sp upwards. */
struct sonde_sample {
	struct sonde_rec_hdr hdr;
	__u32 pid; /* thread group id */
	__u32 tid;
	__u32 cpu;
	__u32 flags;			/* enum sonde_sample_flags */
	__u64 time_ns;			/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 cgroup_id;		/* cgroup v2 id (inode of the cgroup directory) */
	char comm[SONDE_COMM_LEN];	/* thread name */
	char pcomm[SONDE_COMM_LEN];	/* process name: the thread-group leader's comm */
	__u16 kstack_len;		/* frames in kstack */
	__u16 ustack_len;		/* frames in ustack (in-kernel frame-pointer walk) */
	__u32 stack_bytes;		/* bytes of stack copy after this struct */
	struct sonde_regs regs;		/* valid when SONDE_SAMPLE_USER_REGS */
	__u64 kstack[SONDE_MAX_KSTACK]; /* leaf first */
	__u64 ustack[SONDE_MAX_USTACK]; /* leaf first (ustack[0] = ip) */
	/* followed by stack_bytes bytes of user stack copy, starting at regs.sp */
};

_Static_assert(sizeof(struct sonde_regs) == 17 * 8, "sonde_regs layout");
_Static_assert(sizeof(struct sonde_sample) % 8 == 0, "sonde_sample must stay 8-byte aligned");

/*
 * Scratch space per CPU: one sample record with the largest stack copy, plus a page of slack
 * that is never sent (it lets the verifier prove the page-wise copy stays in bounds).
 */
struct sonde_sample_buf {
	struct sonde_sample s;
	__u8 stack[SONDE_STACK_COPY_MAX + SONDE_STACK_PAGE];
};

/* NEWPROC, EXEC and EXIT records. */
struct sonde_proc_event {
	struct sonde_rec_hdr hdr;
	__u32 pid;
	__u32 tid; /* the thread that exec'ed or exited last */
	__u64 time_ns;
	__u64 start_time_ns; /* task start time (boot-based), tells pid reuse apart */
	char comm[SONDE_COMM_LEN];
};

/* Value of the "procs" map: per-process state the kernel side keeps, keyed by pid. */
struct sonde_proc_cfg {
	__u32 flags;	      /* enum sonde_proc_flags */
	__u32 stack_copy_max; /* bytes, 0 = the global default */
};

#endif
