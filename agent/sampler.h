/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The BPF side of the agent: loads bpf/sampler.bpf.c, attaches a sampling perf event to every
 * online CPU and the exec/exit tracepoints, and drains the ring buffer.
 */
#ifndef SONDE_SAMPLER_H
#define SONDE_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/sampler_shared.h"

struct sampler;

struct sampler_opts {
	size_t sz;
	uint32_t frequency;   /* Hz per CPU */
	const uint32_t *pids; /* in-kernel filter; none = every process */
	size_t npids;
	const uint64_t *cgroup_ids; /* cgroup v2 ids; descendants match */
	size_t ncgroup_ids;
	uint64_t ring_bytes; /* 0 = 512 KiB per CPU, clamped to 4..256 MiB */
	uint32_t stack_copy_bytes;
	bool fp_stack;	      /* in-kernel frame-pointer walk of the user stack */
	bool hardware_event;  /* try cycles first */
	const char *btf_path; /* custom kernel BTF, or NULL */
	bool start_paused;    /* attach without sampling until sampler__start() */
};

/*
 * Called for every record, in ring-buffer order. data points to a struct sonde_rec_hdr-prefixed
 * record of size bytes, valid only during the call. A non-zero return stops the drain.
 */
typedef int (*sampler_record_fn)(void *ctx, const void *data, size_t size);

/*
 * Opens and loads the programs (no attachment yet). Returns NULL with errno set; the reason was
 * logged once with context.
 */
struct sampler *sampler__new(const struct sampler_opts *opts, sampler_record_fn fn, void *ctx);
/* Attaches to every online CPU and the tracepoints. Returns 0 or -errno (logged). */
int sampler__attach(struct sampler *s);
/* Starts sampling after attaching with start_paused (no system call: works unprivileged). */
void sampler__start(struct sampler *s);
/*
 * Waits up to timeout_ms for a wakeup (a new process, or a buffer past its watermark), then
 * drains everything. Returns the records handled or -errno (-EINTR on a signal).
 */
int sampler__poll(struct sampler *s, int timeout_ms);
/* Drains what is in the buffer without waiting. */
int sampler__drain(struct sampler *s);
/* Sums the per-CPU counters (enum sonde_stat). */
int sampler__stats(struct sampler *s, uint64_t ret_stats[SONDE_STAT_NR]);
/* Writes the per-process settings the kernel side applies to pid. */
int sampler__set_proc_cfg(struct sampler *s, uint32_t pid, const struct sonde_proc_cfg *cfg);
/* "cpu-clock" or "cycles": the event actually used. */
const char *sampler__event_name(const struct sampler *s);
/* Number of CPUs attached. */
uint32_t sampler__ncpus(const struct sampler *s);
/* Total run time and count of the perf_event program (needs kernel.bpf_stats_enabled). */
int sampler__prog_stats(const struct sampler *s, uint64_t *ret_run_ns, uint64_t *ret_run_cnt);
/* Detaches and frees. NULL-safe. */
void sampler__free(struct sampler *s);

/* The cgroup v2 id of a cgroup directory (its inode number). Returns 0 or -errno. */
int cgroup_id_of(const char *path, uint64_t *ret_id);
/* Parses /sys/devices/system/cpu/online-style lists. Returns the count or -errno. */
int parse_cpu_list(const char *s, bool *ret_cpus, int max);

#endif
