/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User-space stack unwinding over the copy of the user stack a sample carries.
 *
 * Native code unwinds by its DWARF CFI (tables from unwind_table.h); Go code by the stack-pointer
 * deltas of its pc-line table, where frame pointers would lose the caller of a frameless leaf.
 * Signal frames restore registers from the ucontext the kernel pushed. Unwinding stops, and
 * says why, at the end of the stack, the end of the copy, the frame limit, or anything it cannot
 * follow (JIT code, a missing table): it never guesses.
 */
#ifndef SONDE_UNWIND_H
#define SONDE_UNWIND_H

#include <stdint.h>

#include "proc.h"
#include "profile.h"
#include "unwind_table.h"
#include "../bpf/sampler_shared.h"

enum unwind_status {
	UNWIND_COMPLETE = 0,	/* reached the outermost frame */
	UNWIND_TRUNCATED_COPY,	/* the stack copy ended first (a deeper stack than --stack-bytes) */
	UNWIND_TRUNCATED_DEPTH, /* more frames than the limit */
	UNWIND_PENDING,		/* a table is still being built: try the sample again later */
	UNWIND_ERR_UNMAPPED,	/* an address in no executable mapping */
	UNWIND_ERR_NO_CFI,	/* code without unwind information (JIT, anonymous memory) */
	UNWIND_ERR_RULE,	/* a CFI rule we do not evaluate */
	UNWIND_ERR_REGISTER,	/* a rule needs a register not known in this frame */
	UNWIND_ERR_LOOP,	/* the stack pointer did not move towards the stack's base */
	UNWIND_ERR_TABLE,	/* the unwind table could not be built */
	UNWIND_NO_USER,		/* a kernel thread, or no user registers */
	UNWIND_NSTATUS,
};

const char *unwind_status_name(enum unwind_status s);

#define UNWIND_MAX_FRAMES 1024

/*
 * Unwinds the user stack of sample s (its stack copy follows it), resolving each frame through
 * maps, appending at most max frames to out (leaf first) and, unless complete, one marker frame
 * (FRAME_TRUNCATED or FRAME_UNWIND_ERROR). Objects of emitted frames are marked used in procs.
 * Returns the status; *ret_n frames were written (also on PENDING, which the caller discards).
 */
enum unwind_status unwind_user(struct unwind_cache *cache, struct proc_table *procs,
			       const struct maps *maps, const struct sonde_sample *s,
			       struct frame *out, uint32_t max, uint32_t *ret_n);

#endif
