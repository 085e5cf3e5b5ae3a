// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pbjson.h"

/* ---- names ---------------------------------------------------------------------------------- */

/* The lowerCamelCase JSON name of a proto field name ("profile_typeID" -> "profileTypeID"). */
static void json_name(const char *name, char *out, size_t size)
{
	size_t n = 0;
	bool up = false;

	for (const char *p = name; *p && n + 1 < size; p++) {
		if (*p == '_') {
			up = true;
			continue;
		}
		out[n++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
		up = false;
	}
	out[n] = 0;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d,
						  const char *key)
{
	char camel[128];

	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (strcmp(f->name, key) == 0)
			return f;
		json_name(f->name, camel, sizeof(camel));
		if (strcmp(camel, key) == 0)
			return f;
	}
	return NULL;
}

/* ---- reading: JSON to the protobuf wire form ------------------------------------------------ */

struct dec {
	struct json_reader r;
	char *text; /* scratch for strings: as long as the input, so any string fits */
	size_t text_size;
	char *err;
	size_t err_size;
	int e;
};

static int dec_fail(struct dec *x, const ProtobufCFieldDescriptor *f, const char *what)
{
	if (!x->e) {
		snprintf(x->err, x->err_size, "field '%s': %s", f ? f->name : "(message)", what);
		x->e = -EINVAL;
	}
	return x->e;
}

static void put_tag(struct buf *b, const ProtobufCFieldDescriptor *f, unsigned int wire)
{
	buf_put_uvarint(b, ((uint64_t)f->id << 3) | wire);
}

/* An integer as a JSON number or a string ("123", "-5"). */
static int dec_int(struct dec *x, const ProtobufCFieldDescriptor *f, bool is_unsigned,
		   int64_t *ret_s, uint64_t *ret_u)
{
	enum json_type t = json_peek(&x->r);

	if (t == JSON_STRING) {
		char *end;

		if (json_read_string(&x->r, x->text, x->text_size, NULL) || !*x->text)
			return dec_fail(x, f, "expected an integer");
		errno = 0;
		if (is_unsigned)
			*ret_u = strtoull(x->text, &end, 10);
		else
			*ret_s = strtoll(x->text, &end, 10);
		if (errno || *end || (is_unsigned && *x->text == '-'))
			return dec_fail(x, f, "expected an integer");
		return 0;
	}
	if (t == JSON_NUMBER) {
		int64_t v;
		int e = json_read_i64(&x->r, &v);

		if (e == -ERANGE) {
			return dec_fail(x, f, "expected an integer (no fraction, 64 bits)");
		}
		if (e)
			return dec_fail(x, f, "expected an integer");
		if (is_unsigned && v < 0)
			return dec_fail(x, f, "expected an unsigned integer");
		*ret_s = v;
		*ret_u = (uint64_t)v;
		return 0;
	}
	json_skip(&x->r);
	return dec_fail(x, f, "expected an integer");
}

static int dec_double(struct dec *x, const ProtobufCFieldDescriptor *f, double *ret)
{
	enum json_type t = json_peek(&x->r);

	if (t == JSON_NUMBER) {
		if (json_read_f64(&x->r, ret))
			return dec_fail(x, f, "expected a number");
		return 0;
	}
	if (t == JSON_STRING) {
		char *end;

		if (json_read_string(&x->r, x->text, x->text_size, NULL))
			return dec_fail(x, f, "expected a number");
		if (strcmp(x->text, "NaN") == 0)
			*ret = NAN;
		else if (strcmp(x->text, "Infinity") == 0)
			*ret = INFINITY;
		else if (strcmp(x->text, "-Infinity") == 0)
			*ret = -INFINITY;
		else {
			*ret = strtod(x->text, &end);
			if (end == x->text || *end)
				return dec_fail(x, f, "expected a number");
		}
		return 0;
	}
	json_skip(&x->r);
	return dec_fail(x, f, "expected a number");
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decodes base64 text (padding optional) in place; its length, or -1 when it is not base64. */
static long b64_decode(char *s)
{
	size_t n = 0, len = strlen(s);
	uint32_t acc = 0;
	int bits = 0;

	while (len && s[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(s[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			s[n++] = (char)(acc >> bits & 0xff);
		}
	}
	return (long)n;
}

static int dec_message(struct dec *x, const ProtobufCMessageDescriptor *d, struct buf *out,
		       const ProtobufCFieldDescriptor *of);

static int dec_value(struct dec *x, const ProtobufCFieldDescriptor *f, struct buf *out)
{
	int64_t s = 0;
	uint64_t u = 0;
	double dv;
	bool bv;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (dec_int(x, f, false, &s, &u))
			return x->e;
		if ((f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_SINT32 ||
		     f->type == PROTOBUF_C_TYPE_SFIXED32) &&
		    (s < INT32_MIN || s > INT32_MAX))
			return dec_fail(x, f, "out of the range of a 32-bit integer");
		if (f->type == PROTOBUF_C_TYPE_SFIXED32) {
			put_tag(out, f, 5);
			buf_put_u32le(out, (uint32_t)(int32_t)s);
		} else if (f->type == PROTOBUF_C_TYPE_SFIXED64) {
			put_tag(out, f, 1);
			buf_put_u64le(out, (uint64_t)s);
		} else if (f->type == PROTOBUF_C_TYPE_SINT32 || f->type == PROTOBUF_C_TYPE_SINT64) {
			put_tag(out, f, 0);
			buf_put_svarint(out, s);
		} else {
			put_tag(out, f, 0);
			buf_put_uvarint(out, (uint64_t)s);
		}
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (dec_int(x, f, true, &s, &u))
			return x->e;
		if ((f->type == PROTOBUF_C_TYPE_UINT32 || f->type == PROTOBUF_C_TYPE_FIXED32) &&
		    u > UINT32_MAX)
			return dec_fail(x, f, "out of the range of a 32-bit integer");
		if (f->type == PROTOBUF_C_TYPE_FIXED32) {
			put_tag(out, f, 5);
			buf_put_u32le(out, (uint32_t)u);
		} else if (f->type == PROTOBUF_C_TYPE_FIXED64) {
			put_tag(out, f, 1);
			buf_put_u64le(out, u);
		} else {
			put_tag(out, f, 0);
			buf_put_uvarint(out, u);
		}
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		if (dec_double(x, f, &dv))
			return x->e;
		if (f->type == PROTOBUF_C_TYPE_FLOAT) {
			float fv = (float)dv;
			uint32_t bits;

			memcpy(&bits, &fv, sizeof(bits));
			put_tag(out, f, 5);
			buf_put_u32le(out, bits);
		} else {
			uint64_t bits;

			memcpy(&bits, &dv, sizeof(bits));
			put_tag(out, f, 1);
			buf_put_u64le(out, bits);
		}
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (json_read_bool(&x->r, &bv))
			return dec_fail(x, f, "expected true or false");
		put_tag(out, f, 0);
		buf_put_uvarint(out, bv);
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (json_peek(&x->r) == JSON_STRING) {
			const ProtobufCEnumValue *ev;

			if (json_read_string(&x->r, x->text, x->text_size, NULL))
				return dec_fail(x, f, "expected an enum name or number");
			ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, x->text);
			if (!ev)
				return dec_fail(x, f, "not a value of the enum");
			s = ev->value;
		} else if (dec_int(x, f, false, &s, &u)) {
			return x->e;
		}
		if (s < INT32_MIN || s > INT32_MAX)
			return dec_fail(x, f, "out of the range of an enum");
		put_tag(out, f, 0);
		buf_put_uvarint(out, (uint64_t)s);
		return 0;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES: {
		size_t len = 0;
		long n;

		if (json_peek(&x->r) != JSON_STRING) {
			json_skip(&x->r);
			return dec_fail(x, f, "expected a string");
		}
		if (json_read_string(&x->r, x->text, x->text_size, &len))
			return dec_fail(x, f, "expected a string");
		if (f->type == PROTOBUF_C_TYPE_BYTES) {
			n = b64_decode(x->text);
			if (n < 0)
				return dec_fail(x, f, "expected base64");
			len = (size_t)n;
		}
		put_tag(out, f, 2);
		buf_put_uvarint(out, len);
		buf_append(out, x->text, len);
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		struct buf sub = {0};
		int e = dec_message(x, f->descriptor, &sub, f);

		if (!e) {
			put_tag(out, f, 2);
			buf_put_uvarint(out, sub.len);
			buf_append(out, sub.data, sub.len);
			if (sub.oom)
				out->oom = true;
		}
		buf_free(&sub);
		return e;
	}
	}
	json_skip(&x->r);
	return 0;
}

static int dec_message(struct dec *x, const ProtobufCMessageDescriptor *d, struct buf *out,
		       const ProtobufCFieldDescriptor *of)
{
	char key[128];

	if (!json_object_begin(&x->r))
		return dec_fail(x, of, "expected an object");
	while (!x->e && json_object_next(&x->r, key, sizeof(key))) {
		const ProtobufCFieldDescriptor *f = find_field(d, key);

		if (!f || json_peek(&x->r) == JSON_NULL) {
			json_skip(&x->r); /* unknown fields are ignored; null is the default */
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (!json_array_begin(&x->r))
				return dec_fail(x, f, "expected a list");
			while (!x->e && json_array_next(&x->r))
				dec_value(x, f, out);
		} else {
			dec_value(x, f, out);
		}
	}
	if (!x->e && x->r.err)
		return dec_fail(x, of, "malformed JSON");
	return x->e;
}

int pbjson_decode(const ProtobufCMessageDescriptor *d, const void *json, size_t len,
		  ProtobufCMessage **ret, char *err, size_t err_size)
{
	struct dec x = {.text_size = len + 1, .err = err, .err_size = err_size};
	struct buf wire = {0};
	int e;

	*ret = NULL;
	json_reader_init(&x.r, json, len);
	x.text = malloc(x.text_size);
	if (!x.text)
		return -ENOMEM;
	e = dec_message(&x, d, &wire, NULL);
	if (!e && json_reader_finish(&x.r)) {
		snprintf(err, err_size, "malformed JSON");
		e = -EINVAL;
	}
	if (!e && wire.oom)
		e = -ENOMEM;
	if (!e) {
		*ret = protobuf_c_message_unpack(d, NULL, wire.len, wire.data);
		if (!*ret) {
			snprintf(err, err_size, "the message is not valid");
			e = -EINVAL;
		}
	}
	if (e == -EINVAL && x.r.err && !x.e)
		snprintf(err, err_size, "malformed JSON");
	free(x.text);
	buf_free(&wire);
	return e;
}

/* ---- writing -------------------------------------------------------------------------------- */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_b64(struct buf *b, const uint8_t *p, size_t n)
{
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		buf_putc(b, (uint8_t)b64_chars[v >> 18 & 63]);
		buf_putc(b, (uint8_t)b64_chars[v >> 12 & 63]);
		buf_putc(b, i + 1 < n ? (uint8_t)b64_chars[v >> 6 & 63] : '=');
		buf_putc(b, i + 2 < n ? (uint8_t)b64_chars[v & 63] : '=');
	}
	buf_putc(b, '"');
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

/* Whether the value at p is its type's default (a field left out in JSON). */
static bool is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		return !s || !*s;
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)p == NULL;
	default: {
		static const uint8_t zero[8];

		return memcmp(p, zero, elem_size(f->type)) == 0;
	}
	}
}

static void enc_message(const ProtobufCMessage *m, struct buf *b);

static void enc_value(const ProtobufCFieldDescriptor *f, const void *p, struct buf *b)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		buf_printf(b, "%d", *(const int32_t *)p);
		return;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		buf_printf(b, "%u", *(const uint32_t *)p);
		return;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		buf_printf(b, "\"%lld\"", (long long)*(const int64_t *)p);
		return;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		buf_printf(b, "\"%llu\"", (unsigned long long)*(const uint64_t *)p);
		return;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE: {
		double v =
			f->type == PROTOBUF_C_TYPE_FLOAT ? *(const float *)p : *(const double *)p;

		if (isnan(v))
			buf_puts(b, "\"NaN\"");
		else if (isinf(v))
			buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		else
			buf_printf(b, "%.17g", v);
		return;
	}
	case PROTOBUF_C_TYPE_BOOL:
		buf_puts(b, *(const protobuf_c_boolean *)p ? "true" : "false");
		return;
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, v);

		if (ev)
			json_string(b, ev->name);
		else
			buf_printf(b, "%d", v);
		return;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;

		json_string(b, s ? s : "");
		return;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *d = p;

		put_b64(b, d->data, d->len);
		return;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;

		if (m)
			enc_message(m, b);
		else
			buf_puts(b, "{}");
		return;
	}
	}
}

static void enc_message(const ProtobufCMessage *m, struct buf *b)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	bool first = true;
	char name[128];

	buf_putc(b, '{');
	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *p = (const char *)m + f->offset;
		size_t n = 1;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m + f->quantifier_offset);
			if (!n)
				continue;
			p = *(char *const *)p;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
			   f->type != PROTOBUF_C_TYPE_MESSAGE &&
			   f->type != PROTOBUF_C_TYPE_STRING) {
			if (!*(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset))
				continue;
		} else if (is_default(f, p)) {
			continue;
		}
		if (!first)
			buf_putc(b, ',');
		first = false;
		json_name(f->name, name, sizeof(name));
		json_string(b, name);
		buf_putc(b, ':');
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			enc_value(f, p, b);
			continue;
		}
		buf_putc(b, '[');
		for (size_t k = 0; k < n; k++) {
			if (k)
				buf_putc(b, ',');
			enc_value(f, p + k * elem_size(f->type), b);
		}
		buf_putc(b, ']');
	}
	buf_putc(b, '}');
}

int pbjson_encode(const ProtobufCMessage *msg, struct buf *out)
{
	enc_message(msg, out);
	return out->oom ? -ENOMEM : 0;
}
