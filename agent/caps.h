/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Capabilities of the agent's process. Loading and attaching the BPF programs needs CAP_BPF and
 * CAP_PERFMON (or CAP_SYS_ADMIN), reading kernel addresses CAP_SYSLOG; once that is done the
 * agent keeps only what it uses while running (reading other processes' mappings and files:
 * CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH) and drops the rest for good. Capabilities belong to a
 * thread: caps_drop() must run while the process has only one.
 */
#ifndef SONDE_CAPS_H
#define SONDE_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAPS_BIT(n) (1ull << (n))
#define CAPS_DAC_OVERRIDE 1
#define CAPS_DAC_READ_SEARCH 2
#define CAPS_SETPCAP 8
#define CAPS_SYS_PTRACE 19
#define CAPS_SYS_ADMIN 21
#define CAPS_SYSLOG 34
#define CAPS_PERFMON 38
#define CAPS_BPF 39

struct caps {
	uint64_t effective, permitted, inheritable, bounding;
};

/* The calling thread's sets, from /proc/thread-self/status. 0 or -errno. */
int caps_read(struct caps *ret);
/* Sets the effective set (a subset of the permitted one). 0 or -errno. */
int caps_set_effective(uint64_t effective);
/*
 * Keeps only keep & permitted in the effective, permitted and inheritable sets, clears the
 * ambient set, removes the rest from the bounding set when CAP_SETPCAP allows it, and sets
 * no_new_privs so no exec can gain anything back. 0 or -errno.
 */
int caps_drop(uint64_t keep);
/* "sys_ptrace,dac_read_search" (or "none") into out. */
const char *caps_names(uint64_t set, char *out, size_t size);

#endif
