/* SPDX-License-Identifier: Apache-2.0 */
/* Growable byte buffer and typed vectors. */
#ifndef SONDE_BUF_H
#define SONDE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool oom; /* an append failed; the contents are incomplete */
};

/* Ensures room for n more bytes. Returns 0 or -ENOMEM (and sets oom). */
int buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *data, size_t n);
void buf_putc(struct buf *b, uint8_t c);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_put_uvarint(struct buf *b, uint64_t v);
static inline void buf_put_svarint(struct buf *b, int64_t v)
{
	buf_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
void buf_put_u32le(struct buf *b, uint32_t v);
void buf_put_u64le(struct buf *b, uint64_t v);
/* Makes data a NUL-terminated C string (the NUL is not counted in len). */
const char *buf_cstr(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the storage to the caller (who frees it) and resets b. */
uint8_t *buf_steal(struct buf *b, size_t *ret_len);

/*
 * Decoding cursor over a byte range. Reads past the end set err and return zero, so a parser can
 * read a whole record and check err once.
 */
struct cursor {
	const uint8_t *p;
	const uint8_t *end;
	bool err;
};

uint64_t cursor_uvarint(struct cursor *c);
static inline int64_t cursor_svarint(struct cursor *c)
{
	uint64_t v = cursor_uvarint(c);

	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}
uint32_t cursor_u32le(struct cursor *c);
uint64_t cursor_u64le(struct cursor *c);
const uint8_t *cursor_bytes(struct cursor *c, size_t n);

/* A vector of T: VEC(T) v = {0}; VEC_PUSH(&v, x) evaluates to 0 or -ENOMEM. */
#define VEC(T)                   \
	struct {                 \
		T *v;            \
		size_t len, cap; \
	}
int vec_grow_(void **v, size_t *cap, size_t need, size_t elem);
#define VEC_RESERVE(vec, n)                                                          \
	((vec)->len + (n) <= (vec)->cap ? 0                                          \
					: vec_grow_((void **)&(vec)->v, &(vec)->cap, \
						    (vec)->len + (n), sizeof(*(vec)->v)))
#define VEC_PUSH(vec, x) (VEC_RESERVE(vec, 1) ? -12 : ((vec)->v[(vec)->len++] = (x), 0))
#define VEC_FREE(vec)                        \
	do {                                 \
		free((vec)->v);              \
		(vec)->v = NULL;             \
		(vec)->len = (vec)->cap = 0; \
	} while (0)

#endif
