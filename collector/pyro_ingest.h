/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Profiles in through the Grafana Pyroscope API (docs/pyroscope.md): POST /ingest (the SDKs:
 * pprof, raw or multipart, and folded lines) and push.v1.PusherService/Push (Grafana Alloy),
 * decoded into one svcdata per service, for the segment writer (segment.h) under the same
 * durability contract as OTLP.
 *
 * Errors come with a message for the client:
 *   -EBADMSG   a bad name, time, body or protobuf (HTTP 400)
 *   -EFBIG     over a size or memory limit (413)
 *   -ENOTSUP   a format Sonde does not take (422)
 *   -ENOMEM    out of memory (503)
 */
#ifndef SONDE_PYRO_INGEST_H
#define SONDE_PYRO_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"
#include "../profile/pprof.h"
#include "../profile/svcdata.h"
#include "../common/buf.h"

struct pyro_batch {
	VEC(struct svcdata *) svc;
	VEC(const char *) names; /* svc[i]->name */
	uint64_t samples, profiles;
};

void pyro_batch_free(struct pyro_batch *b);
/* The batch as the segment writer takes it (b must outlive the call). */
void pyro_batch_input(const struct pyro_batch *b, struct seg_input *ret);

/* The query parameters of POST /ingest, and the request's Content-Type (NULL when absent). */
struct pyro_ingest_params {
	const char *name, *from, *until, *sample_rate, *spy_name, *format, *content_type;
};

int pyro_ingest(const struct pyro_ingest_params *p, const uint8_t *body, size_t len,
		const struct pprof_limits *limits, uint64_t now_ns, struct pyro_batch *ret,
		char *msg, size_t size);
/*
 * A PushRequest, binary protobuf or JSON, of tenant. Series without __delta__="false" have their
 * cumulative types turned into deltas by delta (pyro_delta.h; NULL: stored as sent).
 */
struct pyro_delta;
int pyro_push(bool json, const uint8_t *body, size_t len, const struct pprof_limits *limits,
	      uint64_t now_ns, struct pyro_delta *delta, const char *tenant, struct pyro_batch *ret,
	      char *msg, size_t size);

/*
 * A time as the Pyroscope clients send it: Unix seconds, or ms/µs/ns by 13/16/19 digits, or
 * what parse_time_ns() takes ("now", "now-1h"). 0 or -EINVAL.
 */
int pyro_parse_time(const char *s, uint64_t now_ns, uint64_t *ret);

#endif
