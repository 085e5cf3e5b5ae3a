// SPDX-License-Identifier: Apache-2.0
/* common/buf.c: growable buffers and varints. */

#include "unit.h"
#include "../../common/buf.h"
#include "../../common/util.h"

static void test_varint(void)
{
	static const int64_t vals[] = {0, 1, -1, 63, -64, 64, 300, -300, INT64_MAX, INT64_MIN};
	struct buf b = {0};
	struct cursor c;

	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		buf_put_svarint(&b, vals[i]);
		buf_put_uvarint(&b, (uint64_t)vals[i]);
	}
	buf_put_u32le(&b, 0xdeadbeef);
	buf_put_u64le(&b, 0x0123456789abcdefULL);
	c.p = b.data;
	c.end = b.data + b.len;
	c.err = false;
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		CHECK(cursor_svarint(&c) == vals[i]);
		CHECK(cursor_uvarint(&c) == (uint64_t)vals[i]);
	}
	CHECK_EQ_U64(cursor_u32le(&c), 0xdeadbeef);
	CHECK_EQ_U64(cursor_u64le(&c), 0x0123456789abcdefULL);
	CHECK(!c.err);
	cursor_uvarint(&c);
	CHECK(c.err); /* past the end */
	/* an unterminated varint is an error, not a read past the end */
	{
		uint8_t bad[3] = {0x80, 0x80, 0x80};
		struct cursor d = {bad, bad + 3, false};

		cursor_uvarint(&d);
		CHECK(d.err);
	}
	buf_free(&b);
}

static void test_buf(void)
{
	struct buf b = {0};
	size_t len;
	uint8_t *d;

	buf_printf(&b, "%s=%d", "x", 42);
	buf_puts(&b, ";");
	CHECK_STR(buf_cstr(&b), "x=42;");
	d = buf_steal(&b, &len);
	CHECK_EQ_U64(len, 5);
	CHECK(b.data == NULL && b.len == 0);
	free(d);
}

int main(void)
{
	RUN(test_varint);
	RUN(test_buf);
	return unit_done();
}
