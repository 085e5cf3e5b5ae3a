// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbolizer.h"
#include "elf_file.h"
#include "kallsyms.h"
#include "../common/hash.h"
#include "../common/util.h"

#define DEFAULT_CACHE_BYTES (256ull << 20)

enum module_state {
	MODULE_NEW = 0, /* nothing loaded yet */
	MODULE_LOADED, /* symbols in memory */
	MODULE_FAILED, /* could not be read; not retried */
};

struct sym_module {
	struct sym_module *next_all;
	uint64_t key;
	uint8_t build_id[ELF_BUILD_ID_MAX];
	uint32_t build_id_len;
	char *path;
	const char *name; /* base name of path */
	int fd; /* -1 when reading by path */
	void *image; /* in-memory ELF (vDSO), or NULL */
	size_t image_size;
	enum module_state state;
	int load_err;
	struct elf_symtab symtab;
	uint64_t last_used;
};

struct symbolizer {
	struct symbolizer_opts opts;
	struct hmap modules; /* key -> struct sym_module */
	struct sym_module *all;
	struct kallsyms *kallsyms;
	int kallsyms_err;
	uint64_t clock; /* advances on every lookup, for LRU */
	struct symbolizer_stats stats;
};

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (opts)
		memcpy(&s->opts, opts, MIN(opts->sz ? opts->sz : sizeof(*opts), sizeof(s->opts)));
	if (!s->opts.cache_bytes)
		s->opts.cache_bytes = DEFAULT_CACHE_BYTES;
	if (!s->opts.kallsyms_path)
		s->opts.kallsyms_path = "/proc/kallsyms";
	return s;
}

static void module_unload(struct symbolizer *s, struct sym_module *m)
{
	if (m->state != MODULE_LOADED)
		return;
	s->stats.bytes -= elf_symtab__bytes(&m->symtab);
	s->stats.modules_loaded--;
	elf_symtab__free(&m->symtab);
	m->state = MODULE_NEW;
}

void symbolizer__free(struct symbolizer *s)
{
	struct sym_module *m, *next;

	if (!s)
		return;
	for (m = s->all; m; m = next) {
		next = m->next_all;
		module_unload(s, m);
		if (m->fd >= 0)
			close(m->fd);
		free(m->path);
		free(m->image);
		free(m);
	}
	hmap_free(&s->modules);
	kallsyms__free(s->kallsyms);
	free(s);
}

static uint64_t module_key(const uint8_t *build_id, size_t len, const char *path)
{
	uint64_t k = len ? hash_bytes(build_id, len, 1) : hash_bytes(path, strlen(path), 2);

	return k ? k : 1;
}

static struct sym_module *module_new(struct symbolizer *s, uint64_t key, const char *path)
{
	struct sym_module *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->key = key;
	m->fd = -1;
	m->path = strdup(path);
	if (!m->path || hmap_put(&s->modules, key, m)) {
		free(m->path);
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->name = path_basename(m->path);
	m->next_all = s->all;
	s->all = m;
	s->stats.modules++;
	return m;
}

struct sym_module *symbolizer__module(struct symbolizer *s, const uint8_t *build_id,
				      size_t build_id_len, const char *path, int fd)
{
	uint64_t key;
	struct sym_module *m;

	if (!path || build_id_len > ELF_BUILD_ID_MAX) {
		errno = EINVAL;
		return NULL;
	}
	key = module_key(build_id, build_id_len, path);
	m = hmap_get(&s->modules, key);
	if (m) {
		/* a module that could not be read by path may be readable through this fd */
		if (m->fd < 0 && fd >= 0 && !m->image) {
			m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
			if (m->state == MODULE_FAILED)
				m->state = MODULE_NEW;
		}
		return m;
	}
	m = module_new(s, key, path);
	if (!m)
		return NULL;
	if (build_id_len)
		memcpy(m->build_id, build_id, build_id_len);
	m->build_id_len = (uint32_t)build_id_len;
	if (fd >= 0)
		m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return m;
}

struct sym_module *symbolizer__module_mem(struct symbolizer *s, const char *name,
					  const void *image, size_t size)
{
	uint64_t key = module_key(NULL, 0, name) ^ 0x5a5a;
	struct sym_module *m = hmap_get(&s->modules, key);

	if (m)
		return m;
	m = module_new(s, key, name);
	if (!m)
		return NULL;
	m->image = malloc(size);
	if (!m->image) {
		m->state = MODULE_FAILED;
		m->load_err = -ENOMEM;
		return m;
	}
	memcpy(m->image, image, size);
	m->image_size = size;
	return m;
}

const char *sym_module__name(const struct sym_module *m)
{
	return m->name;
}

static void evict(struct symbolizer *s, const struct sym_module *keep)
{
	while (s->stats.bytes > s->opts.cache_bytes) {
		struct sym_module *victim = NULL;

		for (struct sym_module *m = s->all; m; m = m->next_all) {
			if (m->state == MODULE_LOADED && m != keep &&
			    (!victim || m->last_used < victim->last_used))
				victim = m;
		}
		if (!victim)
			break;
		module_unload(s, victim);
		s->stats.evictions++;
	}
}

static int module_load(struct symbolizer *s, struct sym_module *m)
{
	int fd = m->fd, err;

	if (m->state == MODULE_LOADED)
		return 0;
	if (m->state == MODULE_FAILED)
		return m->load_err;
	if (m->image) {
		err = elf_symtab__load_mem(m->image, m->image_size, &m->symtab);
	} else {
		if (fd < 0) {
			fd = open(m->path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				err = -errno;
				goto out;
			}
		}
		err = elf_symtab__load(fd, &m->symtab);
		if (fd != m->fd)
			close(fd);
	}
out:
	if (err) {
		m->state = MODULE_FAILED;
		m->load_err = err;
		return err;
	}
	m->state = MODULE_LOADED;
	s->stats.modules_loaded++;
	s->stats.bytes += elf_symtab__bytes(&m->symtab);
	evict(s, m);
	return 0;
}

static const char *result_str(struct sym_result *ret, const char *str)
{
	size_t n = strlen(str), room = SYM_STRINGS - ret->strings_len;
	char *dst = ret->strings + ret->strings_len;

	if (room < 2)
		return "";
	if (n >= room)
		n = room - 1;
	memcpy(dst, str, n);
	dst[n] = 0;
	ret->strings_len += (uint32_t)n + 1;
	return dst;
}

static void result_reset(struct sym_result *ret)
{
	ret->nframes = 0;
	ret->strings_len = 0;
	ret->module = NULL;
}

int symbolizer__lookup(struct symbolizer *s, struct sym_module *m, uint64_t addr,
		       struct sym_result *ret)
{
	const struct elf_sym *sym;
	struct sym_frame *f;
	int err;

	result_reset(ret);
	ret->module = m->name;
	s->stats.lookups++;
	m->last_used = ++s->clock;
	err = module_load(s, m);
	if (err) {
		s->stats.misses++;
		return err;
	}
	sym = elf_symtab__find(&m->symtab, addr);
	if (!sym) {
		s->stats.misses++;
		return -ENOENT;
	}
	f = &ret->frames[0];
	memset(f, 0, sizeof(*f));
	f->name = f->raw_name = result_str(ret, elf_symtab__name(&m->symtab, sym));
	ret->nframes = 1;
	return 0;
}

int symbolizer__lookup_kernel(struct symbolizer *s, uint64_t addr, struct sym_result *ret)
{
	const char *name, *module;
	uint64_t off;
	struct sym_frame *f;

	result_reset(ret);
	ret->module = "vmlinux";
	s->stats.lookups++;
	if (!s->kallsyms && !s->kallsyms_err) {
		s->kallsyms = kallsyms__load(s->opts.kallsyms_path);
		if (!s->kallsyms)
			s->kallsyms_err = -errno;
	}
	if (!s->kallsyms) {
		s->stats.misses++;
		return s->kallsyms_err;
	}
	if (kallsyms__find(s->kallsyms, addr, &name, &module, &off)) {
		s->stats.misses++;
		return -ENOENT;
	}
	if (*module)
		ret->module = result_str(ret, module);
	f = &ret->frames[0];
	memset(f, 0, sizeof(*f));
	f->name = f->raw_name = result_str(ret, name);
	ret->nframes = 1;
	return 0;
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *ret)
{
	*ret = s->stats;
}
