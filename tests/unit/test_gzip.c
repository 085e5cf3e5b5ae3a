// SPDX-License-Identifier: Apache-2.0
/*
 * common/gzip.c: what gzip_append writes, zlib (an independent reader) and gunzip_bounded both
 * inflate back to the same bytes; the inflating side keeps to its bound and refuses corruption.
 */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#include "unit.h"
#include "../../common/buf.h"
#include "../../common/gzip.h"

/* 1 MiB of text-like data: compressible, but not trivially (a seeded generator). */
static char *sample_data(size_t len)
{
	char *d = malloc(len);
	uint32_t x = 12345;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		d[i] = (char)("abcdefgh;\n 0123"[(x >> 16) & 15]);
	}
	return d;
}

static void test_roundtrip(void)
{
	const size_t len = 1 << 20;
	char *in = sample_data(len);
	struct buf gz = {0}, back = {0};
	z_stream zs = {0};
	uint8_t *zout = malloc(len + 1);

	REQUIRE(gzip_append(in, len, &gz) == 0);
	CHECK(gz.len > 18 && gz.len < len * 2 / 3); /* 4 bits of entropy a byte */
	CHECK(gz.data[0] == 0x1f && gz.data[1] == 0x8b);
	/* zlib reads it as gzip (windowBits 16 + 15) */
	CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK);
	zs.next_in = (Bytef *)gz.data;
	zs.avail_in = (uInt)gz.len;
	zs.next_out = zout;
	zs.avail_out = (uInt)len + 1;
	CHECK(inflate(&zs, Z_FINISH) == Z_STREAM_END);
	CHECK_EQ_U64(zs.total_out, len);
	CHECK(memcmp(zout, in, len) == 0);
	inflateEnd(&zs);
	/* and our own reader */
	CHECK(gunzip_bounded(gz.data, gz.len, len, &back) == 0);
	CHECK_EQ_U64(back.len, len);
	CHECK(back.len == len && memcmp(back.data, in, len) == 0);
	buf_free(&back);
	/* one byte over the bound is refused */
	CHECK(gunzip_bounded(gz.data, gz.len, len - 1, &back) == -EFBIG);
	buf_free(&back);
	/* appending keeps what the buffer held; empty input is a valid empty member */
	{
		struct buf two = {0};

		buf_append(&two, "x", 1);
		CHECK(gzip_append("", 0, &two) == 0);
		CHECK(two.len > 1 && two.data[0] == 'x' && two.data[1] == 0x1f);
		CHECK(gunzip_bounded(two.data + 1, two.len - 1, 10, &back) == 0);
		CHECK_EQ_U64(back.len, 0);
		buf_free(&back);
		buf_free(&two);
	}
	/* corruption: a flipped byte in the deflate stream, a cut, and not gzip at all */
	gz.data[gz.len / 2] ^= 0x55;
	CHECK(gunzip_bounded(gz.data, gz.len, len, &back) == -EBADMSG);
	buf_free(&back);
	CHECK(gunzip_bounded(gz.data, gz.len / 3, len, &back) == -EBADMSG);
	buf_free(&back);
	CHECK(gunzip_bounded((const uint8_t *)"hello, world", 12, len, &back) == -EBADMSG);
	buf_free(&back);
	buf_free(&gz);
	free(zout);
	free(in);
}

int main(void)
{
	RUN(test_roundtrip);
	return unit_done();
}
