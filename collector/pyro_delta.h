/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deltas of cumulative profiles, as Pyroscope computes them for pushers that do not: Go's
 * allocation (alloc_objects, alloc_space) and contention (contentions, delay) profiles count
 * from the start of the process, so a series pushed without __delta__="false" has the previous
 * profile of the same series subtracted, stack by stack; the first profile of a series only
 * sets the baseline (its rows are dropped), and a value lower than before (a restart) is taken
 * as it is. The previous profiles are held in memory, bounded: past the bound the least recently
 * used series are forgotten (their next profile is a baseline again). Deltas need consecutive
 * profiles of a series to reach the same collector (docs/pyroscope.md).
 */
#ifndef SONDE_PYRO_DELTA_H
#define SONDE_PYRO_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "../profile/svcdata.h"

struct pyro_delta;

/* max_entries: (series, stack) values remembered; 0 = 1,000,000. NULL on ENOMEM. */
struct pyro_delta *pyro_delta__new(size_t max_entries);
void pyro_delta__free(struct pyro_delta *d);
/*
 * Turns rows [first_row, end) of sd (one profile of tenant) of cumulative sample types into
 * deltas, dropping those with nothing to subtract from and those of no change. Returns the rows
 * dropped, or -ENOMEM (sd unchanged).
 */
long pyro_delta__apply(struct pyro_delta *d, const char *tenant, struct svcdata *sd,
		       size_t first_row);

#endif
