/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What ingest refuses (HTTP 400, with a message naming the field): indices out of range, tables
 * and stacks past their limits, and values no profiler can have measured. Limits
 * (docs/operations.md, "Values refused at ingest"):
 *
 *   a profile's time            0 (the collector's clock stands in) or within
 *                               [VALIDATE_MIN_TIME_NS, now + VALIDATE_MAX_AHEAD_NS]
 *   a profile's duration        at most VALIDATE_MAX_DURATION_NS
 *   a sample's timestamps       within the profile's [time, time + duration] give or take
 *                               VALIDATE_SLACK_NS (within the horizon above for a profile
 *                               without a time)
 *   a sample's values           non-negative; value x period within int64; and for CPU the
 *                               profile's total within what its duration allows on
 *                               VALIDATE_MAX_CPUS CPUs: nanoseconds <= duration x CPUs,
 *                               samples <= duration / period x CPUs (a profile without a
 *                               duration is taken to cover VALIDATE_MAX_DURATION_NS)
 *
 * Strings are not refused: a byte that is not valid UTF-8 becomes U+FFFD as it is stored
 * (ingest_apply), so what a query writes out is valid JSON.
 */
#ifndef SONDE_VALIDATE_H
#define SONDE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../proto/otlp_pb.h"

#define VALIDATE_MIN_TIME_NS 946684800000000000ULL	 /* 2000-01-01T00:00:00Z */
#define VALIDATE_MAX_AHEAD_NS (86400ULL * 1000000000)	 /* past the collector's clock: 1 day */
#define VALIDATE_MAX_DURATION_NS (86400ULL * 1000000000) /* one profile: 1 day */
#define VALIDATE_SLACK_NS (60ULL * 1000000000)		 /* clocks of agent and kernel: 1 min */
#define VALIDATE_MAX_CPUS 4096

/* Table sizes of a request's dictionary (all 0 without one). */
struct tables {
	size_t strings, mappings, locations, functions, links, attributes, stacks;
};
struct tables table_sizes(const Dictionary *d);

/* Writes the message into msg (size bytes) and returns err. */
int validate_fail(char *msg, size_t size, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* String idx of the dictionary, "" for 0 or out of range. */
const char *dict_string(const Dictionary *d, int32_t idx);

/* Whether an attribute value has a string form (a label can be made of it). */
bool has_string_form(const AnyValue *v);

/* 0 or -EBADMSG (reason in msg): attributes whose indices are out of range. */
int check_key_values(KeyValue **kv, size_t n, const struct tables *t, char *msg, size_t size,
		     const char *where);

/* 0 or -EBADMSG (reason in msg): the dictionary's indices and sizes. */
int validate_dictionary(const Dictionary *d, char *msg, size_t size);

/*
 * 0 or -EBADMSG (reason in msg): profile p of the request's dictionary d (where names it in
 * messages), its indices, time, duration and every sample's values and timestamps. now_ns is
 * the collector's clock. Adds the rows it holds to *rows.
 */
int validate_profile(const Profile *p, const Dictionary *d, const char *where, uint64_t now_ns,
		     uint64_t *rows, char *msg, size_t size);

#endif
