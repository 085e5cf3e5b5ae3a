/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pull reader of JSON text held in memory (RFC 8259, strict, UTF-8 checked): the caller walks the
 * document, reads the values it wants and skips the rest, so nothing is built for the parts it does
 * not read and memory stays constant whatever the document. The first error is sticky: every call
 * after it fails, so a walk can check json_reader.err once at the end.
 *
 *   if (json_object_begin(r))
 *           while (json_object_next(r, key, sizeof(key)))
 *                   if (strcmp(key, "name") == 0) json_read_string(r, name, sizeof(name), NULL);
 *                   else json_skip(r);
 */
#ifndef SONDE_JSON_H
#define SONDE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JSON_MAX_DEPTH 64 /* nested objects and arrays */

enum json_type {
	JSON_INVALID = 0, /* not a value here, or an error */
	JSON_OBJECT,
	JSON_ARRAY,
	JSON_STRING,
	JSON_NUMBER,
	JSON_BOOL,
	JSON_NULL,
};

struct json_reader {
	const char *p, *end;
	int err; /* 0, -EINVAL (malformed), -E2BIG (nested deeper than JSON_MAX_DEPTH) */
	uint32_t depth;
	uint8_t first[JSON_MAX_DEPTH + 1]; /* no member read yet at this depth */
	uint8_t is_object[JSON_MAX_DEPTH + 1];
};

/*
 * UTF-8 as JSON and OTLP need it (no overlong forms, surrogates or code points past U+10FFFF):
 * the length of the valid sequence at p whose lead byte is >= 0x80 (0 when invalid), and the
 * offset of the first invalid byte of s (len when all of it is valid).
 */
size_t utf8_seq_len(const void *p, const void *end);
size_t utf8_invalid_at(const char *s, size_t len);
/* A copy of s (len bytes) with every byte that is not part of valid UTF-8 as U+FFFD (to free). */
char *utf8_fix(const char *s, size_t len);

void json_reader_init(struct json_reader *r, const void *data, size_t len);
/* The type of the next value (whitespace skipped), without consuming it. */
enum json_type json_peek(struct json_reader *r);
/* Enters an object or array. false (and err set) when the next value is not one. */
bool json_object_begin(struct json_reader *r);
bool json_array_begin(struct json_reader *r);
/* The same, where another type is possible: a value that is not one is skipped (false). */
bool json_object_try(struct json_reader *r);
bool json_array_try(struct json_reader *r);
/*
 * The next member's key, decoded into key (key_size bytes; a key that does not fit reads as "",
 * as does a malformed one). The caller then reads or skips its value. false at the end of the
 * object (which is consumed) or on error.
 */
bool json_object_next(struct json_reader *r, char *key, size_t key_size);
/* Whether another element follows (the caller then reads or skips it); false at the end. */
bool json_array_next(struct json_reader *r);
/*
 * A string value, decoded (escapes, \u surrogate pairs to UTF-8) and NUL-terminated into out.
 * Returns 0; -E2BIG when it does not fit in size-1 bytes (out holds ""). A value of another
 * type is skipped and -EINVAL returned; err is set only when the text is malformed. Either way
 * the value is consumed and the walk goes on.
 */
int json_read_string(struct json_reader *r, char *out, size_t size, size_t *ret_len);
/* true/false; another type is skipped with -EINVAL, as above. */
int json_read_bool(struct json_reader *r, bool *ret);
/* An integer number; -ERANGE when it has a fraction or does not fit; -EINVAL as above. */
int json_read_i64(struct json_reader *r, int64_t *ret);
/* A number as a double (well-formed JSON is valid C syntax); -ERANGE when over 63 characters. */
int json_read_f64(struct json_reader *r, double *ret);
/* Skips one value of any type, however nested (up to JSON_MAX_DEPTH). */
void json_skip(struct json_reader *r);
/* After the top-level value: 0 when only whitespace is left, else the error. */
int json_reader_finish(struct json_reader *r);

/* ---- writing -------------------------------------------------------------------------------- */

/*
 * Appends s as a JSON string literal (quotes, backslashes and control characters escaped). Always
 * valid JSON: a byte that is not part of valid UTF-8 is written as U+FFFD.
 */
void json_string(struct buf *b, const char *s);

#endif
