/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The segment writer: validated requests are added, per tenant, to an open "head" (one
 * svcdata per service); a head is written as one block (level 0) when it reaches a size or an
 * age, and only then are the requests in it acknowledged. A failed write fails every request
 * of that head (the clients retry); nothing is acknowledged that is not in the store.
 *
 * Memory is bounded: past max_pending_bytes (heads open or being written) new requests are
 * refused with -EBUSY so the client backs off.
 */
#ifndef SONDE_SEGMENT_H
#define SONDE_SEGMENT_H

#include <stdint.h>

#include "ingest.h"
#include "objstore.h"

struct segwriter_opts {
	struct objstore *store;
	uint64_t max_bytes; /* a head this big is written at once; 0 = 8 MiB */
	/*
	 * A tenant's data is written at most once per max_age_ns, and as soon as it arrives after
	 * a quiet max_age_ns; 0 = 500 ms.
	 */
	uint64_t max_age_ns;
	uint64_t max_pending_bytes; /* 0 = 256 MiB */
	uint64_t time_unit_ns;	    /* block time resolution; 0 = 1 ms */
	int zstd_level;		    /* 0 = 3 */
	unsigned int threads;	    /* writers; 0 = 2 */
};

struct segwriter_stats {
	uint64_t requests; /* added */
	uint64_t acked;	   /* acknowledged (durable) */
	uint64_t failed;   /* failed by a write error or out of memory */
	uint64_t refused;  /* -EBUSY */
	uint64_t samples;
	uint64_t profiles;
	uint64_t blocks; /* written */
	uint64_t block_bytes;
	uint64_t write_errors;
	uint64_t write_ns;	/* encoding + storing, summed */
	uint64_t ack_ns;	/* from add to acknowledgement, summed over acked requests */
	uint64_t pending_bytes; /* now */
	uint64_t open_heads;	/* now */
};

/* err is 0 once the request is durable, else a negative errno (the request is not stored). */
typedef void (*segwriter_done_fn)(void *ctx, int err);

struct segwriter;

/* Starts the writer threads. NULL on failure (logged). */
struct segwriter *segwriter__new(const struct segwriter_opts *opts);
/*
 * Adds request r of tenant (validated, see tenant_valid()). On 0, done(ctx, err) is called
 * exactly once, later, from a writer thread. Returns -EBUSY when over the memory bound or
 * shutting down, -ENOMEM; done is then never called.
 */
int segwriter__add(struct segwriter *w, const char *tenant, const struct ingest_request *r,
		   segwriter_done_fn done, void *ctx);
/*
 * The same for data of another form (Pyroscope ingest): nsvc services by name, and how to add
 * them to the head's svcdata of each (dst[i] for names[i]; 0 or -ENOMEM).
 */
struct seg_input {
	size_t nsvc;
	const char *const *names;
	uint64_t samples, profiles;
	int (*apply)(const void *src, struct svcdata *const *dst, uint64_t now_ns);
	const void *src;
};
int segwriter__add_input(struct segwriter *w, const char *tenant, const struct seg_input *in,
			 segwriter_done_fn done, void *ctx);
/* The input of an OTLP request (r must outlive its use). */
void seg_input_otlp(const struct ingest_request *r, struct seg_input *ret);
/*
 * Writes every open head now and waits until they are written or deadline_ns
 * (CLOCK_MONOTONIC) passes; new requests are refused from then on. Returns 0 or -ETIMEDOUT.
 */
int segwriter__drain(struct segwriter *w, uint64_t deadline_ns);
void segwriter__stats(struct segwriter *w, struct segwriter_stats *ret);
/* Writes what is still open (as drain does, without a deadline), then stops the threads. */
void segwriter__free(struct segwriter *w);

#endif
