/* SPDX-License-Identifier: Apache-2.0 */
/* A bump allocator: many small zeroed allocations, freed all at once. */
#ifndef SONDE_ARENA_H
#define SONDE_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t bytes; /* allocated so far */
	size_t limit; /* 0 = none; past it, allocations fail */
};

/* Zeroed memory for n bytes (16-byte aligned), or NULL past the limit or out of memory. */
void *arena_alloc(struct arena *a, size_t n);
/* n elements of size bytes, zeroed; NULL on overflow. */
void *arena_calloc(struct arena *a, size_t n, size_t size);
char *arena_strdup(struct arena *a, const char *s);
void arena_free(struct arena *a);

/*
 * protobuf-c unpacking into a (bounded) arena: what it unpacks is freed with the arena, and over
 * says whether an allocation failed (the limit reached, or out of memory).
 */
struct arena_pb {
	struct arena arena;
	bool over;
};
ProtobufCAllocator arena_pb_allocator(struct arena_pb *a);

#endif
