// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kallsyms.h"
#include "../common/buf.h"
#include "../common/util.h"

#define KALLSYMS_MAX_BYTES (256u << 20) /* a sanity bound on /proc/kallsyms */
#define KSYM_MAX_SPAN (1u << 20)	/* the last symbol covers at most this many bytes */

struct ksym {
	uint64_t addr;
	uint32_t name;	 /* offset into names */
	uint32_t module; /* offset into names; 0 = vmlinux ("") */
};

struct kallsyms {
	struct ksym *syms;
	size_t nsyms;
	char *names;
	size_t names_len;
};

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct kallsyms *kallsyms__load(const char *path)
{
	VEC(struct ksym) syms = {0};
	struct buf names = {0};
	struct kallsyms *ks = NULL;
	char *data = NULL, *line, *save = NULL;
	uint32_t last_module = 0;
	char last_module_name[64] = "";
	size_t len, nonzero = 0;
	int err;

	err = read_file(-1, path, KALLSYMS_MAX_BYTES, &data, &len);
	if (err)
		goto fail;
	buf_putc(&names, 0);
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *end, *name, *mod;
		struct ksym k;
		char type;

		k.addr = strtoull(line, &end, 16);
		if (end == line || end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		name = end + 3;
		mod = strchr(name, '\t');
		if (mod) {
			*mod++ = 0;
			if (*mod == '[')
				mod++;
			mod[strcspn(mod, "]")] = 0;
			if (strcmp(mod, last_module_name) != 0) {
				str_copy(last_module_name, mod, sizeof(last_module_name));
				last_module = (uint32_t)names.len;
				buf_append(&names, mod, strlen(mod) + 1);
			}
			k.module = last_module;
		} else {
			k.module = 0;
		}
		if (k.addr)
			nonzero++;
		k.name = (uint32_t)names.len;
		buf_append(&names, name, strlen(name) + 1);
		if (VEC_PUSH(&syms, k)) {
			err = -ENOMEM;
			goto fail;
		}
	}
	if (names.oom) {
		err = -ENOMEM;
		goto fail;
	}
	if (!nonzero) {
		err = -EPERM;
		goto fail;
	}
	qsort(syms.v, syms.len, sizeof(*syms.v), ksym_cmp);
	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		err = -ENOMEM;
		goto fail;
	}
	ks->syms = syms.v;
	ks->nsyms = syms.len;
	ks->names = (char *)buf_steal(&names, &ks->names_len);
	free(data);
	return ks;
fail:
	VEC_FREE(&syms);
	buf_free(&names);
	free(data);
	errno = -err;
	return NULL;
}

int kallsyms__find(const struct kallsyms *ks, uint64_t addr, const char **ret_name,
		   const char **ret_module, uint64_t *ret_offset)
{
	size_t lo = 0, hi = ks->nsyms;
	const struct ksym *k;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -ENOENT;
	k = &ks->syms[lo - 1];
	if (lo == ks->nsyms && addr - k->addr > KSYM_MAX_SPAN)
		return -ENOENT;
	*ret_name = ks->names + k->name;
	*ret_module = ks->names + k->module;
	*ret_offset = addr - k->addr;
	return 0;
}

size_t kallsyms__count(const struct kallsyms *ks)
{
	return ks->nsyms;
}

size_t kallsyms__bytes(const struct kallsyms *ks)
{
	return ks->nsyms * sizeof(*ks->syms) + ks->names_len;
}

void kallsyms__free(struct kallsyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->names);
	free(ks);
}

int kernel_build_id(char *out, size_t size)
{
	char *data = NULL;
	size_t len, off = 0;
	int err;

	err = read_file(-1, "/sys/kernel/notes", 1 << 16, &data, &len);
	if (err)
		return err;
	err = -ENOENT;
	while (off + 12 <= len) {
		uint32_t namesz, descsz, type;

		memcpy(&namesz, data + off, 4);
		memcpy(&descsz, data + off + 4, 4);
		memcpy(&type, data + off + 8, 4);
		off += 12;
		if (namesz > len || descsz > len)
			break;
		if (type == 3 /* NT_GNU_BUILD_ID */ && namesz == 4 && off + 4 + descsz <= len &&
		    memcmp(data + off, "GNU", 4) == 0) {
			if (size < descsz * 2 + 1) {
				err = -ENOSPC;
				break;
			}
			hex_encode((const uint8_t *)data + off + 4, descsz, out);
			err = 0;
			break;
		}
		off += ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u);
	}
	free(data);
	return err;
}
