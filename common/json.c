// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

void json_reader_init(struct json_reader *r, const void *data, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = data;
	r->end = r->p + len;
}

static int fail(struct json_reader *r, int err)
{
	if (!r->err)
		r->err = err;
	r->p = r->end;
	return r->err;
}

static void skip_ws(struct json_reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

enum json_type json_peek(struct json_reader *r)
{
	if (r->err)
		return JSON_INVALID;
	skip_ws(r);
	if (r->p >= r->end)
		return JSON_INVALID;
	switch (*r->p) {
	case '{':
		return JSON_OBJECT;
	case '[':
		return JSON_ARRAY;
	case '"':
		return JSON_STRING;
	case 't':
	case 'f':
		return JSON_BOOL;
	case 'n':
		return JSON_NULL;
	default:
		return (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')) ? JSON_NUMBER
									: JSON_INVALID;
	}
}

static bool begin(struct json_reader *r, char open, bool is_object)
{
	if (r->err)
		return false;
	skip_ws(r);
	if (r->p >= r->end || *r->p != open) {
		fail(r, -EINVAL);
		return false;
	}
	if (r->depth >= JSON_MAX_DEPTH) {
		fail(r, -E2BIG);
		return false;
	}
	r->p++;
	r->depth++;
	r->first[r->depth] = 1;
	r->is_object[r->depth] = is_object;
	return true;
}

bool json_object_begin(struct json_reader *r)
{
	return begin(r, '{', true);
}

bool json_array_begin(struct json_reader *r)
{
	return begin(r, '[', false);
}

static bool try_begin(struct json_reader *r, enum json_type type)
{
	if (json_peek(r) != type) {
		json_skip(r);
		return false;
	}
	return type == JSON_OBJECT ? begin(r, '{', true) : begin(r, '[', false);
}

bool json_object_try(struct json_reader *r)
{
	return try_begin(r, JSON_OBJECT);
}

bool json_array_try(struct json_reader *r)
{
	return try_begin(r, JSON_ARRAY);
}

/* Before the next member or element: false at the closing bracket (consumed) or an error. */
static bool next(struct json_reader *r, bool is_object)
{
	char close = is_object ? '}' : ']';

	if (r->err)
		return false;
	if (r->depth == 0 || r->is_object[r->depth] != is_object) {
		fail(r, -EINVAL); /* a caller walking the wrong container */
		return false;
	}
	skip_ws(r);
	if (r->p >= r->end) {
		fail(r, -EINVAL);
		return false;
	}
	if (*r->p == close) {
		r->p++;
		r->depth--;
		return false;
	}
	if (!r->first[r->depth]) {
		if (*r->p != ',') {
			fail(r, -EINVAL);
			return false;
		}
		r->p++;
	}
	r->first[r->depth] = 0;
	return true;
}

static int hex4(const char *p, uint32_t *ret)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	*ret = v;
	return 0;
}

/* Appends one decoded byte, counting what does not fit. */
static void put(char *out, size_t size, size_t *n, char c)
{
	if (*n + 1 < size)
		out[*n] = c;
	(*n)++;
}

static void put_utf8(char *out, size_t size, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		put(out, size, n, (char)cp);
	} else if (cp < 0x800) {
		put(out, size, n, (char)(0xc0 | cp >> 6));
		put(out, size, n, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		put(out, size, n, (char)(0xe0 | cp >> 12));
		put(out, size, n, (char)(0x80 | ((cp >> 6) & 0x3f)));
		put(out, size, n, (char)(0x80 | (cp & 0x3f)));
	} else {
		put(out, size, n, (char)(0xf0 | cp >> 18));
		put(out, size, n, (char)(0x80 | ((cp >> 12) & 0x3f)));
		put(out, size, n, (char)(0x80 | ((cp >> 6) & 0x3f)));
		put(out, size, n, (char)(0x80 | (cp & 0x3f)));
	}
}

/* The length of the valid UTF-8 sequence at p (lead byte c >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	return utf8_seq_len(p, end);
}

size_t utf8_seq_len(const void *at, const void *end_)
{
	const unsigned char *p = at, *end = end_;
	size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	uint32_t cp;

	if (p[0] < 0xc2 || p[0] > 0xf4 || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	cp = n == 2   ? (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f)
	     : n == 3 ? (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f)
		      : (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
				(uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	/* no overlong forms, no surrogates, nothing past U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp < 0xe000))
		return 0;
	return n;
}

char *utf8_fix(const char *s, size_t len)
{
	const char *end = s + len;
	char *out = malloc(3 * len + 1), *o = out;

	if (!out)
		return NULL;
	while (s < end) {
		size_t k = (unsigned char)*s < 0x80 ? 1 : utf8_seq_len(s, end);

		if (k) {
			memcpy(o, s, k);
			o += k;
			s += k;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			s++;
		}
	}
	*o = 0;
	return out;
}

size_t utf8_invalid_at(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		size_t k = *p < 0x80 ? 1 : utf8_seq_len(p, end);

		if (!k)
			return (size_t)((const char *)p - s);
		p += k;
	}
	return len;
}

/*
 * Decodes the string at r->p (which is '"') into out (size may be 0: only validates). Returns
 * the decoded length, or -EINVAL (err set).
 */
static long scan_string(struct json_reader *r, char *out, size_t size)
{
	const char *p = r->p + 1;
	size_t n = 0;

	for (;;) {
		unsigned char c;

		if (p >= r->end)
			return fail(r, -EINVAL);
		c = (unsigned char)*p++;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(r, -EINVAL);
		if (c >= 0x80) {
			/* text must be UTF-8 (what a profile's strings must be too) */
			size_t k = utf8_len((const unsigned char *)p - 1,
					    (const unsigned char *)r->end);

			if (!k)
				return fail(r, -EINVAL);
			for (const char *q = p - 1; q < p - 1 + k; q++)
				put(out, size, &n, *q);
			p += k - 1;
			continue;
		}
		if (c != '\\') {
			put(out, size, &n, (char)c);
			continue;
		}
		if (p >= r->end)
			return fail(r, -EINVAL);
		c = (unsigned char)*p++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			put(out, size, &n, (char)c);
			break;
		case 'b':
			put(out, size, &n, '\b');
			break;
		case 'f':
			put(out, size, &n, '\f');
			break;
		case 'n':
			put(out, size, &n, '\n');
			break;
		case 'r':
			put(out, size, &n, '\r');
			break;
		case 't':
			put(out, size, &n, '\t');
			break;
		case 'u': {
			uint32_t cp, lo;

			if (r->end - p < 4 || hex4(p, &cp))
				return fail(r, -EINVAL);
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && r->end - p >= 6 && p[0] == '\\' &&
			    p[1] == 'u' && hex4(p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd; /* a lone surrogate */
			}
			put_utf8(out, size, &n, cp);
			break;
		}
		default:
			return fail(r, -EINVAL);
		}
	}
	r->p = p;
	return (long)n;
}

bool json_object_next(struct json_reader *r, char *key, size_t key_size)
{
	long n;

	if (key_size)
		key[0] = 0;
	if (!next(r, true))
		return false;
	skip_ws(r);
	if (r->p >= r->end || *r->p != '"') {
		fail(r, -EINVAL);
		return false;
	}
	n = scan_string(r, key, key_size);
	if (n < 0) {
		if (key_size)
			key[0] = 0;
		return false;
	}
	if (key_size)
		key[(size_t)n < key_size ? (size_t)n : 0] = 0;
	skip_ws(r);
	if (r->p >= r->end || *r->p != ':') {
		fail(r, -EINVAL);
		return false;
	}
	r->p++;
	return true;
}

bool json_array_next(struct json_reader *r)
{
	return next(r, false);
}

static int skip_literal(struct json_reader *r, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return fail(r, -EINVAL);
	r->p += n;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Skips a number, checking its grammar; ret_integer says it has no fraction or exponent. */
static int skip_number(struct json_reader *r, bool *ret_integer)
{
	const char *p = r->p;
	bool integer = true;

	if (p < r->end && *p == '-')
		p++;
	if (p >= r->end || !is_digit(*p))
		return fail(r, -EINVAL);
	if (*p == '0')
		p++;
	else
		while (p < r->end && is_digit(*p))
			p++;
	if (p < r->end && *p == '.') {
		integer = false;
		p++;
		if (p >= r->end || !is_digit(*p))
			return fail(r, -EINVAL);
		while (p < r->end && is_digit(*p))
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E')) {
		integer = false;
		p++;
		if (p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= r->end || !is_digit(*p))
			return fail(r, -EINVAL);
		while (p < r->end && is_digit(*p))
			p++;
	}
	r->p = p;
	if (ret_integer)
		*ret_integer = integer;
	return 0;
}

void json_skip(struct json_reader *r)
{
	char key[1];

	switch (json_peek(r)) {
	case JSON_OBJECT:
		if (json_object_begin(r))
			while (json_object_next(r, key, 0))
				json_skip(r);
		break;
	case JSON_ARRAY:
		if (json_array_begin(r))
			while (json_array_next(r))
				json_skip(r);
		break;
	case JSON_STRING:
		scan_string(r, NULL, 0);
		break;
	case JSON_NUMBER:
		skip_number(r, NULL);
		break;
	case JSON_BOOL:
		skip_literal(r, *r->p == 't' ? "true" : "false");
		break;
	case JSON_NULL:
		skip_literal(r, "null");
		break;
	case JSON_INVALID:
		fail(r, -EINVAL);
		break;
	}
}

/* A value of the wrong type: skipped, and -EINVAL (the document may still be well-formed). */
static int mismatch(struct json_reader *r)
{
	json_skip(r);
	return -EINVAL;
}

int json_read_string(struct json_reader *r, char *out, size_t size, size_t *ret_len)
{
	long n;

	if (size)
		out[0] = 0;
	if (json_peek(r) != JSON_STRING)
		return mismatch(r);
	n = scan_string(r, out, size);
	if (n < 0) {
		if (size)
			out[0] = 0; /* what was decoded before the error is not a value */
		return -EINVAL;
	}
	if ((size_t)n >= size) {
		if (size)
			out[0] = 0;
		return -E2BIG;
	}
	out[n] = 0;
	if (ret_len)
		*ret_len = (size_t)n;
	return 0;
}

int json_read_bool(struct json_reader *r, bool *ret)
{
	if (json_peek(r) != JSON_BOOL)
		return mismatch(r);
	*ret = *r->p == 't';
	return skip_literal(r, *ret ? "true" : "false");
}

int json_read_i64(struct json_reader *r, int64_t *ret)
{
	const char *start;
	bool integer;
	int64_t v = 0;
	bool neg;

	if (json_peek(r) != JSON_NUMBER)
		return mismatch(r);
	start = r->p;
	if (skip_number(r, &integer))
		return -EINVAL;
	if (!integer)
		return -ERANGE;
	neg = *start == '-';
	for (const char *p = start + neg; p < r->p; p++) {
		int d = *p - '0';

		if (neg ? v < (INT64_MIN + d) / 10 : v > (INT64_MAX - d) / 10)
			return -ERANGE;
		v = neg ? v * 10 - d : v * 10 + d;
	}
	*ret = v;
	return 0;
}

int json_read_f64(struct json_reader *r, double *ret)
{
	char text[64];
	const char *start;
	bool integer;
	size_t n;

	if (json_peek(r) != JSON_NUMBER)
		return mismatch(r);
	start = r->p;
	if (skip_number(r, &integer))
		return -EINVAL;
	n = (size_t)(r->p - start);
	if (n >= sizeof(text))
		return -ERANGE;
	memcpy(text, start, n);
	text[n] = 0;
	*ret = strtod(text, NULL);
	return 0;
}

int json_reader_finish(struct json_reader *r)
{
	if (r->err)
		return r->err;
	if (r->depth)
		return fail(r, -EINVAL);
	skip_ws(r);
	return r->p == r->end ? 0 : fail(r, -EINVAL);
}

void json_string(struct buf *b, const char *s)
{
	const char *end = s + strlen(s);

	buf_putc(b, '"');
	while (s < end) {
		unsigned char c = (unsigned char)*s;
		size_t k = c < 0x80 ? 1 : utf8_seq_len(s, end);

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\u%04x", c);
		else if (!k)
			buf_puts(b, "\\ufffd");
		else
			buf_append(b, s, k);
		s += k ? k : 1;
	}
	buf_putc(b, '"');
}
