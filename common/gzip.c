// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <zlib.h>

#include "gzip.h"
#include "util.h"

int gzip_append(const void *in, size_t len, struct buf *out)
{
	z_stream zs = {0};
	int zerr;

	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	do {
		if (buf_reserve(out, 65536)) {
			deflateEnd(&zs);
			return -ENOMEM;
		}
		zs.next_out = out->data + out->len;
		zs.avail_out = 65536;
		zerr = deflate(&zs, Z_FINISH);
		out->len += 65536 - zs.avail_out;
	} while (zerr == Z_OK || zerr == Z_BUF_ERROR);
	deflateEnd(&zs);
	return zerr == Z_STREAM_END ? 0 : -EIO;
}

int gunzip_bounded(const uint8_t *data, size_t len, size_t max, struct buf *out)
{
	z_stream z = {0};
	int ret, err = 0;

	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	do {
		size_t room;

		if (out->len >= max) {
			/* one byte more would be too much: is there any? */
			uint8_t probe;

			z.next_out = &probe;
			z.avail_out = 1;
			ret = inflate(&z, Z_NO_FLUSH);
			err = z.avail_out == 0 ? -EFBIG : ret == Z_STREAM_END ? 0 : -EBADMSG;
			break;
		}
		room = MIN(max - out->len, (size_t)1 << 20);
		if (buf_reserve(out, room)) {
			err = -ENOMEM;
			break;
		}
		z.next_out = out->data + out->len;
		z.avail_out = (uInt)room;
		ret = inflate(&z, Z_NO_FLUSH);
		out->len += room - z.avail_out;
		if (ret == Z_STREAM_END)
			break;
		if (ret != Z_OK && !(ret == Z_BUF_ERROR && z.avail_out == 0)) {
			err = ret == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
			break;
		}
		if (z.avail_in == 0 && z.avail_out != 0) {
			err = -EBADMSG; /* truncated */
			break;
		}
	} while (1);
	inflateEnd(&z);
	return err;
}
