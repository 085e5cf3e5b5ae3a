/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collector's memory bound for ingest (--max-memory): request bodies being received, and
 * each request from its decoding until it is stored, reserve their estimated cost here first;
 * what does not fit now is refused with 503 and Retry-After, what could never fit with 413.
 * A request's cost is estimated before it is decoded: its inflated size times
 * MEMBUDGET_FACTOR, the peak measured per byte of OTLP for requests of many distinct stacks
 * (the worst case known; docs/operations.md). Memory is handed back to the system once ingest
 * is idle (malloc_trim), and large buffers are mmapped so they go back when freed.
 */
#ifndef SONDE_MEMBUDGET_H
#define SONDE_MEMBUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"

/* Bytes of memory one byte of (inflated) OTLP takes, at its peak, until it is stored. */
#define MEMBUDGET_FACTOR 14

struct membudget;

/* A budget of max_bytes (0: unbounded, counted only). NULL on failure (errno). */
struct membudget *membudget__new(uint64_t max_bytes);
/* The estimated cost of a request of this many bytes, inflated. */
uint64_t membudget_cost(uint64_t inflated_bytes);
/* Whether n bytes could ever be reserved (with nothing else held). */
bool membudget__fits(const struct membudget *m, uint64_t n);
/* Reserves n bytes: 0, or -EAGAIN when they do not fit now. */
int membudget__reserve(struct membudget *m, uint64_t n);
/*
 * Raises a request's reservation (*reserved, 0 at first) to the cost of inflated bytes. 0,
 * -EFBIG when that could never fit (the request must be refused for good), or -EAGAIN when it
 * does not fit now (retry later); msg says which, for the client.
 */
int membudget__admit(struct membudget *m, uint64_t inflated, uint64_t *reserved, char *msg,
		     size_t msg_size);
/* Gives back n bytes reserved. Once nothing is reserved, memory is trimmed soon after. */
void membudget__release(struct membudget *m, uint64_t n);
/* Bytes reserved now. */
uint64_t membudget__used(const struct membudget *m);
uint64_t membudget__max(const struct membudget *m);
/* Times memory was handed back to the system. */
uint64_t membudget__trims(const struct membudget *m);
/* The budget's gauges and counter, in Prometheus text. */
void membudget__metrics(const struct membudget *m, struct buf *out);
/* NULL-safe. */
void membudget__free(struct membudget *m);

#endif
