/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pprof (profile.proto) in and out of the profile model: the one encoder the agent's output,
 * the collector's API and `sonde export` use, and its decoder.
 *
 * Sample types: every sample type of the rows (type/unit) is a column of its own; a type
 * counted in events of a period ("samples"/"count" every period of "cpu"/"nanoseconds") also
 * gets the column of its period type, value x period, unless a type of the profile has that
 * column itself (which is what decoding such a profile gives: so pprof -> model -> pprof keeps
 * every column). One pprof sample per (label set, stack), holding the values of every type.
 *
 * Kernel frames: pprof has no frame types, so their functions carry "_[k]" (as perf writes
 * them); the decoder gives a location whose every function ends so the frame type "kernel"
 * back, without the suffix.
 */
#ifndef SONDE_PROFILE_PPROF_H
#define SONDE_PROFILE_PPROF_H

#include <stddef.h>
#include <stdint.h>

#include "svcdata.h"
#include "../common/buf.h"

/* A gzipped profile.proto of every row of sd. Appends to out. Returns 0 or -ENOMEM. */
int pprof_encode(const struct svcdata *sd, struct buf *out);
/* The same, not gzipped (the wire form of a Profile message, as the Pyroscope API answers it). */
int pprof_encode_raw(const struct svcdata *sd, struct buf *out);

struct pprof_limits {
	size_t max_bytes;   /* of the profile after gzip inflation; 0 = 64 MiB */
	size_t max_decoded; /* memory the decoded message may take; 0 = 16 x bytes + 1 MiB */
	/* Pyroscope ingest (docs/pyroscope.md); all may be left 0: */
	const struct sd_label *labels; /* n_labels labels (sd's string ids) every series gets, */
	size_t n_labels;	       /* over the sample's own of the same key */
	uint64_t default_time_ns;      /* the time of a profile without one */
	bool name_label; /* gives series the label __name__ Pyroscope would, unless in labels */
};

/*
 * Decodes a pprof profile (gzipped or not) into sd (indexed: a new one, or one to add to).
 * Every sample becomes one row per non-zero value (one row of the first type when all are
 * zero), at the profile's time, in the series of its labels (numeric labels as decimal
 * strings) and that column's type. Errors: -EBADMSG (not pprof, or inconsistent: a message
 * in err), -EFBIG (over a limit), -ENOMEM. On error sd may hold part of the profile.
 */
int pprof_decode(const uint8_t *data, size_t len, const struct pprof_limits *limits,
		 struct svcdata *sd, char *err, size_t err_size);

#endif
