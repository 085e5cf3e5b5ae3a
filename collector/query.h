/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Renderings of selected samples (engine.h selects them): folded stacks, pprof; and times
 * as people write them.
 */
#ifndef SONDE_QUERY_H
#define SONDE_QUERY_H

#include <stdint.h>

#include "svcdata.h"
#include "../common/buf.h"

/*
 * Folded stacks, one line per distinct (process, stack): "PROCESS;root;...;leaf VALUE", sorted.
 * PROCESS is the series' process.executable.name (else the service). Kernel frames end in
 * "_[k]"; a frame without a name is "[FILE+0xADDR]" (FILE: the mapping's base name, "kernel"
 * for kernel frames, "unknown" without a mapping); ';' and newlines in names become ':'.
 */
int render_folded(const struct svcdata *sd, struct buf *out);

/* Appends the frame names of a location, outermost first, each preceded by ';' (as folded). */
void query_location_frames(const struct svcdata *sd, uint32_t loc, struct buf *b);

/* A gzipped pprof profile.proto: sample types samples/count and cpu/nanoseconds. */
int render_pprof(const struct svcdata *sd, struct buf *out);

/*
 * "2026-11-21T10:00:00Z", "1700000000" (seconds), "1700000000123ms", "now", "now-1h", "-30m".
 * 0 or -EINVAL.
 */
int parse_time_ns(const char *s, uint64_t now_ns, uint64_t *ret);

#endif
