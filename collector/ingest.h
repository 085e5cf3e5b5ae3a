/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OTLP profiles in: an ExportProfilesServiceRequest body (gzip or not) is decoded with a memory
 * bound, every index in it checked, and its profiles turned into rows of per-service svcdata.
 *
 * Errors come with a message for the client (the google.rpc.Status it gets back):
 *   -EBADMSG   malformed protobuf, an index out of range, ... (HTTP 400)
 *   -EFBIG     the body, inflated or decoded, is over a limit (HTTP 413)
 *   -ENOMEM    out of memory (HTTP 503: try again)
 */
#ifndef SONDE_INGEST_H
#define SONDE_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "../profile/svcdata.h"
#include "../common/buf.h"

#define INGEST_MSG_SIZE 512

struct ingest_limits {
	size_t max_body;    /* bytes after gzip inflation; 0 = 64 MiB */
	size_t max_decoded; /* bytes the decoded message may take in memory; 0 = 16 x body + 1 MiB
			     */
};

struct ingest_request;

/*
 * Decodes and validates body (protobuf, already inflated). Returns 0 and *ret, or an error
 * above with the reason in msg.
 */
int ingest_decode(const uint8_t *body, size_t len, const struct ingest_limits *limits,
		  struct ingest_request **ret, char *msg, size_t msg_size);
void ingest_request_free(struct ingest_request *r);

/* Totals of a decoded request. */
struct ingest_counts {
	uint64_t resources;
	uint64_t profiles;
	uint64_t samples;	     /* rows: one per value/timestamp */
	uint64_t dropped_attributes; /* values with no string form (arrays, maps, bytes) */
};
void ingest_request_counts(const struct ingest_request *r, struct ingest_counts *ret);

/* The service names a request has profiles for: n of them, in first-seen order. */
size_t ingest_request_services(const struct ingest_request *r, const char *const **ret_names);

/*
 * Adds the request's profiles of service names[i] to dst[i], for each of the n services
 * ingest_request_services() named (dst[i] must be indexed). now_ns stands in for a profile
 * without a time. Returns 0 or -ENOMEM (dst may then hold part of the request).
 */
int ingest_apply(const struct ingest_request *r, struct svcdata *const *dst, uint64_t now_ns);

#endif
