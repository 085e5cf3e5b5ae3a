// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int vec_grow_(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 8;
	void *nv;

	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		ncap *= 2;
	}
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

int buf_reserve(struct buf *b, size_t n)
{
	size_t ncap;
	uint8_t *nd;

	if (b->oom)
		return -ENOMEM;
	if (b->len + n + 1 <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + n + 1) {
		if (ncap > SIZE_MAX / 2) {
			b->oom = true;
			return -ENOMEM;
		}
		ncap *= 2;
	}
	nd = realloc(b->data, ncap);
	if (!nd) {
		b->oom = true;
		return -ENOMEM;
	}
	b->data = nd;
	b->cap = ncap;
	return 0;
}

void buf_append(struct buf *b, const void *data, size_t n)
{
	if (!n || buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, data, n);
	b->len += n;
}

void buf_putc(struct buf *b, uint8_t c)
{
	if (buf_reserve(b, 1))
		return;
	b->data[b->len++] = c;
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void buf_put_uvarint(struct buf *b, uint64_t v)
{
	if (buf_reserve(b, 10))
		return;
	while (v >= 0x80) {
		b->data[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->data[b->len++] = (uint8_t)v;
}

void buf_put_u32le(struct buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	buf_append(b, x, 4);
}

void buf_put_u64le(struct buf *b, uint64_t v)
{
	buf_put_u32le(b, (uint32_t)v);
	buf_put_u32le(b, (uint32_t)(v >> 32));
}

const char *buf_cstr(struct buf *b)
{
	if (buf_reserve(b, 1))
		return "";
	b->data[b->len] = 0;
	return (const char *)b->data;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->oom = false;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = false;
}

uint8_t *buf_steal(struct buf *b, size_t *ret_len)
{
	uint8_t *d = b->data;

	*ret_len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

uint64_t cursor_uvarint(struct cursor *c)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t byte;

		if (c->p >= c->end) {
			c->err = true;
			return 0;
		}
		byte = *c->p++;
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return v;
	}
	c->err = true;
	return 0;
}

const uint8_t *cursor_bytes(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->err || (size_t)(c->end - c->p) < n) {
		c->err = true;
		return NULL;
	}
	c->p += n;
	return p;
}

uint32_t cursor_u32le(struct cursor *c)
{
	const uint8_t *p = cursor_bytes(c, 4);

	if (!p)
		return 0;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t cursor_u64le(struct cursor *c)
{
	uint64_t lo = cursor_u32le(c);

	return lo | (uint64_t)cursor_u32le(c) << 32;
}
