/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The profile being built: every distinct frame and stack stored once, samples aggregated by
 * (process, thread, stack). The hot path interns a stack in O(frames) with no I/O.
 */
#ifndef SONDE_PROFILE_H
#define SONDE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/hash.h"

enum frame_kind {
	FRAME_KERNEL = 1,   /* addr: kernel address */
	FRAME_USER,	    /* addr: ELF address in object obj_id */
	FRAME_UNMAPPED,	    /* addr: process address in no known mapping */
	FRAME_TRUNCATED,    /* marker: the stack was deeper than we could follow */
	FRAME_UNWIND_ERROR, /* marker: unwinding stopped at an error before the entry point */
};

#define PROFILE_MAX_FRAMES 2048 /* frames kept per stack; longer ones are cut and marked */

struct frame {
	uint64_t addr;
	uint32_t obj_id;
	uint8_t kind; /* enum frame_kind */
	uint8_t pad[3];
};

struct stack_ref {
	uint32_t off; /* into frame ids */
	uint32_t len;
};

struct sample_agg {
	uint32_t pid;
	uint32_t tid;
	uint32_t stack;	      /* stack id */
	uint32_t proc_name;   /* string id */
	uint32_t thread_name; /* string id */
	uint32_t labels;      /* label set id (the process's resource attributes) */
	uint32_t ts_count;    /* timestamps kept for this entry */
	uint64_t count;
	uint32_t ts_head; /* index+1 into the timestamp pool of the newest, 0 = none */
	uint32_t pad;
};

struct profile_opts {
	bool keep_timestamps;	    /* one timestamp per sample (OTLP) */
	uint64_t max_samples_bytes; /* bound on aggregate + timestamp memory; 0 = 1 GiB */
};

struct profile;

struct profile *profile__new(const struct profile_opts *opts);
void profile__free(struct profile *p);
/* Forgets everything (after output), keeping allocations. */
void profile__reset(struct profile *p);

/* Interns a string. Returns its id, or UINT32_MAX when out of memory. */
uint32_t profile__string(struct profile *p, const char *s, size_t len);
/* A key/value pair of string ids. */
struct label_ids {
	uint32_t key;
	uint32_t value;
};

/*
 * Interns a set of labels (copied as string ids); equal sets get the same id. Label set 0 is
 * the empty set. Returns the id, or UINT32_MAX when out of memory.
 */
struct proc_labels;
uint32_t profile__labelset(struct profile *p, const struct proc_labels *labels);
/* The pairs of a label set. */
const struct label_ids *profile__labelset_get(const struct profile *p, uint32_t id,
					      uint32_t *ret_n);
size_t profile__nlabelsets(const struct profile *p);
/* Changes whenever ids go stale (reset): callers caching ids compare it. */
uint64_t profile__generation(const struct profile *p);

/*
 * Adds one sample of frames[0..n) (leaf first). Returns 0, or -ENOMEM/-E2BIG when the bound is
 * reached (the sample is counted as dropped).
 */
int profile__add(struct profile *p, uint32_t pid, uint32_t tid, const char *proc_name,
		 const char *thread_name, uint32_t labelset, const struct frame *frames, uint32_t n,
		 uint64_t time_ns);

size_t profile__nsamples(const struct profile *p);
const struct sample_agg *profile__sample(const struct profile *p, size_t i);
/* The frame ids of a stack, leaf first. */
const uint32_t *profile__stack(const struct profile *p, uint32_t stack, uint32_t *ret_len);
size_t profile__nframes(const struct profile *p);
const struct frame *profile__frame(const struct profile *p, uint32_t frame);
size_t profile__nstacks(const struct profile *p);
const char *profile__str(const struct profile *p, uint32_t id);
/* Strings have dense ids 0..nstrings-1; id 0 is "". */
size_t profile__nstrings(const struct profile *p);
/* Calls fn for each timestamp of a sample entry, newest first. */
void profile__timestamps(const struct profile *p, const struct sample_agg *s,
			 void (*fn)(void *ctx, uint64_t ts), void *ctx);
uint64_t profile__total(const struct profile *p);
/* The oldest and newest sample timestamps (0 when empty). */
uint64_t profile__first_ns(const struct profile *p);
uint64_t profile__last_ns(const struct profile *p);
uint64_t profile__dropped(const struct profile *p);
size_t profile__bytes(const struct profile *p);

#endif
