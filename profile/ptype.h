/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Profile types as Grafana Pyroscope names them (docs/pyroscope.md): an ID
 * "name:sample_type:sample_unit:period_type:period_unit" per series, the name from the series'
 * __name__ label (set by Pyroscope ingest) or else derived from its sample type the way
 * Pyroscope does. Sonde's own CPU samples (samples/count every period of cpu/nanoseconds) are
 * process_cpu:cpu:nanoseconds:cpu:nanoseconds, their values counts x period.
 */
#ifndef SONDE_PROFILE_PTYPE_H
#define SONDE_PROFILE_PTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "svcdata.h"

#define PTYPE_MAX 640 /* an ID with its NUL */

/* The five fields of a profile type. */
struct ptype {
	const char *name, *sample_type, *sample_unit, *period_type, *period_unit;
	int64_t scale; /* values x scale are in sample_unit */
};

/* The type of series s of sd (its strings point into sd, or are static). */
void ptype_of(const struct svcdata *sd, uint32_t series, struct ptype *ret);
/* "name:st:su:pt:pu" into id (PTYPE_MAX bytes; longer IDs are cut). */
void ptype_id(const struct ptype *t, char *id, size_t size);
/* The __name__ Pyroscope gives a pprof sample type ("cpu" -> process_cpu, "alloc_space" -> memory).
 */
const char *ptype_name_of_sample_type(const char *sample_type);
/*
 * Whether text is a profile type ID (5 fields, an optional 6th ":delta" ignored), splitting a
 * copy into buf (size bytes) and ret. 0 or -EINVAL.
 */
int ptype_parse(const char *text, char *buf, size_t size, struct ptype *ret);

#endif
