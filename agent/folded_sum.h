/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Daemon mode with --output: the folded stacks of every interval shipped, summed over the run,
 * so the file holds a copy of everything sent. Lines are "STACK COUNT"; equal stacks add up.
 */
#ifndef SONDE_FOLDED_SUM_H
#define SONDE_FOLDED_SUM_H

#include <stdint.h>

#include "../common/buf.h"
#include "../common/strtab.h"

struct folded_sum {
	struct strtab lines;  /* the distinct stacks */
	VEC(uint64_t) counts; /* by the stack's id in lines */
};

/* Adds one interval's folded lines ("STACK COUNT\n"...). 0, -EINVAL (a line without a count), or
 * -ENOMEM. */
int folded_sum__add(struct folded_sum *fs, const struct buf *folded);
/* Renders the sum, stacks in byte order, into out. 0 or -ENOMEM. */
int folded_sum__render(const struct folded_sum *fs, struct buf *out);
/* Writes the sum to path (atomically) and logs the outcome. 0 or a negative errno. */
int folded_sum__write(const struct folded_sum *fs, const char *path);
void folded_sum__free(struct folded_sum *fs);

#endif
