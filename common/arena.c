// SPDX-License-Identifier: Apache-2.0
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define CHUNK_MIN (64u << 10)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t size;
	_Alignas(16) unsigned char data[];
};

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n < 16)
		n = 16;
	if (a->limit && a->bytes + n > a->limit)
		return NULL;
	if (!c || c->size - c->used < n) {
		size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->size = size;
		a->head = c;
	}
	p = c->data + c->used;
	c->used += n;
	a->bytes += n;
	memset(p, 0, n);
	return p;
}

void *arena_calloc(struct arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return arena_alloc(a, n * size != 0 ? n * size : 1);
}

char *arena_strdup(struct arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = arena_alloc(a, n);

	if (p)
		memcpy(p, s, n);
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->bytes = 0;
}

static void *arena_pb_alloc(void *ctx, size_t size)
{
	struct arena_pb *b = ctx;
	void *v = arena_alloc(&b->arena, size);

	b->over |= !v;
	return v;
}

static void arena_pb_free(void *ctx, void *ptr)
{
	(void)ctx;
	(void)ptr; /* freed with the arena */
}

ProtobufCAllocator arena_pb_allocator(struct arena_pb *a)
{
	return (ProtobufCAllocator){arena_pb_alloc, arena_pb_free, a};
}
