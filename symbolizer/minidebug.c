// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#include "minidebug.h"
#include "../common/buf.h"

#define MINIDEBUG_MAX_OUT (256u << 20)	/* bytes after decompression: a bound for xz bombs */
#define MINIDEBUG_MEMLIMIT (128u << 20) /* the xz decoder's own memory */

static int xz_decode(const uint8_t *in, size_t in_len, struct buf *out)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	lzma_ret ret;
	int err = 0;

	if (lzma_stream_decoder(&strm, MINIDEBUG_MEMLIMIT, 0) != LZMA_OK)
		return -ENOMEM;
	strm.next_in = in;
	strm.avail_in = in_len;
	for (;;) {
		if (out->len >= MINIDEBUG_MAX_OUT) {
			err = -EFBIG;
			break;
		}
		if (buf_reserve(out, 1 << 20)) {
			err = -ENOMEM;
			break;
		}
		strm.next_out = out->data + out->len;
		strm.avail_out = MINIDEBUG_MAX_OUT - out->len < (1 << 20)
					 ? MINIDEBUG_MAX_OUT - out->len
					 : (1 << 20);
		ret = lzma_code(&strm, LZMA_FINISH);
		out->len = (size_t)(strm.next_out - out->data);
		if (ret == LZMA_STREAM_END)
			break;
		if (ret != LZMA_OK) {
			err = ret == LZMA_MEM_ERROR || ret == LZMA_MEMLIMIT_ERROR ? -ENOMEM
										  : -EINVAL;
			break;
		}
	}
	lzma_end(&strm);
	return err;
}

int minidebug_symtab(int fd, struct elf_symtab *ret)
{
	struct buf out = {0};
	GElf_Shdr sh;
	Elf_Scn *scn;
	Elf_Data *d;
	Elf *elf;
	int err = -ENOENT;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -EINVAL;
	scn = elf_section_by_name(elf, ".gnu_debugdata", &sh);
	if (scn) {
		d = elf_getdata(scn, NULL);
		err = d && d->d_buf ? xz_decode(d->d_buf, d->d_size, &out) : -EINVAL;
		if (!err)
			err = elf_symtab__load_mem(out.data, out.len, ret);
	}
	buf_free(&out);
	elf_end(elf);
	return err;
}
