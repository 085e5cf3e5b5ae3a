/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Folded stacks of a profile (the one renderer of the format for the agent, the collector and
 * the CLI): one line per distinct (process, stack), "PROCESS;root;...;leaf VALUE", sorted.
 *
 * Escaping (names come from the network and from processes): in every name, ';' and '\n'
 * become ':' and '\t' and '\r' become ' ', so a line always splits into frames at ';' and
 * into stack and value at its last ' ', and a tab-separated rendering stays one field.
 */
#ifndef SONDE_PROFILE_FOLDED_H
#define SONDE_PROFILE_FOLDED_H

#include <stdint.h>

#include "svcdata.h"
#include "../common/buf.h"

/* Appends s to b, escaped as above. */
void folded_append_name(struct buf *b, const char *s);

/*
 * Appends the frame names of a location, outermost first, each preceded by ';'. Kernel frames
 * end in "_[k]"; inlined functions are frames of their own; a location without lines is
 * "[FILE+0xADDR]" (FILE: the base name of its mapping's file, "kernel" for kernel frames,
 * "unknown" without a mapping); a line of a function without a name is "[unknown]".
 */
void folded_location_frames(const struct svcdata *sd, uint32_t loc, struct buf *b);

/*
 * The folded stacks of the rows of one sample type, values added per line: the sample type
 * (type/unit, whatever the period) of the lowest type id the rows use, which is the first
 * column of a decoded pprof profile, and the only type of a profile of one. PROCESS is the
 * series' process.executable.name label, else the profile's name. Appends to out. Returns 0 or
 * -ENOMEM.
 */
int folded_render(const struct svcdata *sd, struct buf *out);

#endif
