// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symbolizer.h"
#include "debuginfo.h"
#include "demangle.h"
#include "dwarf.h"
#include "elf_file.h"
#include "gopclntab.h"
#include "kallsyms.h"
#include "minidebug.h"
#include "../common/bgcache.h"
#include "../common/hash.h"
#include "../common/util.h"

#define DEFAULT_CACHE_BYTES (256ull << 20)
#define DEFAULT_MAX_FDS 4096
#define DEMANGLE_MAX 4096 /* bytes of a demangled name */

/* What a module is: the argument its data is built from (read-only once registered). */
struct sym_module {
	uint64_t key;
	uint8_t build_id[ELF_BUILD_ID_MAX];
	uint32_t build_id_len;
	char *path;
	const char *name; /* base name of path */
	int fd;		  /* -1: read by path, by image, or by build ID */
	void *image;	  /* in-memory ELF (the vDSO) */
	size_t image_size;
	bool by_build_id; /* no file: debug directories or debuginfod */
	struct bgcache_entry *entry;
	struct sym_module *next_all;
};

/* What was loaded for a module (the bgcache value). */
struct sym_data {
	struct elf_symtab symtab;
	bool has_symtab;
	struct sym_dwarf *dwarf;
	struct gopclntab *go;
	uint32_t sources;   /* enum sym_source */
	int debuginfod_err; /* 0, or why debuginfod did not help (retried after the TTL) */
	uint64_t loaded_ns;
	size_t bytes;
};

struct symbolizer {
	struct symbolizer_opts opts;
	struct bgcache *bg;
	struct debuginfo *debuginfo; /* used by the worker only */
	struct sym_module *all;
	uint32_t open_fds;
	struct kallsyms *kallsyms;
	int kallsyms_err;
	char kernel_build_id[2 * ELF_BUILD_ID_MAX + 1];
	bool kernel_build_id_read;
	uint64_t lookups, misses, pending;
};

static void data_free(struct sym_data *d)
{
	if (!d)
		return;
	elf_symtab__free(&d->symtab);
	sym_dwarf__free(d->dwarf);
	gopclntab__free(d->go);
	free(d);
}

static void free_value_cb(void *ctx, void *value)
{
	(void)ctx;
	data_free(value);
}

/* Adds the symbols of fd to d's table (a stripped file's .dynsym plus a debug file's .symtab). */
static void add_symtab(struct sym_data *d, int fd, bool from_mem, const void *image, size_t size)
{
	struct elf_symtab t;
	int err = from_mem ? elf_symtab__load_mem(image, size, &t) : elf_symtab__load(fd, &t);

	if (err)
		return;
	if (!d->has_symtab) {
		d->symtab = t;
		d->has_symtab = true;
		return;
	}
	/* on failure the table keeps what it had: fewer names, not wrong ones */
	elf_symtab__merge(&d->symtab, &t);
	elf_symtab__free(&t);
}

/* DWARF and .symtab from a separate debug file. */
static void use_debug_file(struct sym_data *d, int dfd, uint32_t source)
{
	struct elf_info dinfo;

	if (!d->dwarf && sym_dwarf__open(dfd, &d->dwarf) == 0)
		d->sources |= source | SYM_SRC_DWARF;
	if (elf_info__read(dfd, &dinfo) == 0 && dinfo.has_symtab &&
	    !(d->sources & SYM_SRC_SYMTAB)) {
		add_symtab(d, dfd, false, NULL, 0);
		d->sources |= SYM_SRC_SYMTAB | source;
	}
}

/* Runs on the worker: everything that reads files or the network happens here. */
static int build_cb(void *ctx, void *arg, void **ret_value, size_t *ret_bytes)
{
	struct symbolizer *s = ctx;
	struct sym_module *m = arg;
	struct sym_data *d = calloc(1, sizeof(*d));
	struct elf_info info;
	int fd = m->fd, err = 0;
	bool own_fd = false;

	if (!d)
		return -ENOMEM;
	if (m->image) {
		if (elf_info__read_mem(m->image, m->image_size, &info) == 0) {
			add_symtab(d, -1, true, m->image, m->image_size);
			d->sources |= info.has_symtab ? SYM_SRC_SYMTAB : SYM_SRC_DYNSYM;
		}
		goto done;
	}
	if (m->by_build_id) {
		/* no file at hand: a local debug file by build ID, else debuginfod */
		memset(&info, 0, sizeof(info));
		memcpy(info.build_id, m->build_id, m->build_id_len);
		info.build_id_len = m->build_id_len;
		fd = debuginfo__find_local(s->debuginfo, NULL, &info);
		if (fd >= 0) {
			use_debug_file(d, fd, SYM_SRC_DEBUG_FILE);
			close(fd);
			goto done;
		}
		fd = debuginfo__fetch(s->debuginfo, m->build_id, m->build_id_len);
		if (fd >= 0) {
			use_debug_file(d, fd, SYM_SRC_DEBUGINFOD);
			close(fd);
			goto done;
		}
		d->debuginfod_err = fd;
		fd = debuginfo__fetch_executable(s->debuginfo, m->build_id, m->build_id_len);
		if (fd < 0) {
			/* nothing anywhere for this build ID: not the same as an address without a
			 * name */
			err = -ENODATA;
			goto fail;
		}
		own_fd = true;
	} else if (fd < 0) {
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			goto fail;
		}
		own_fd = true;
	}
	err = elf_info__read(fd, &info);
	if (err)
		goto fail;
	/* 1. the file's own symbols and DWARF */
	if (info.has_symtab || info.has_dynsym) {
		add_symtab(d, fd, false, NULL, 0);
		if (d->has_symtab)
			d->sources |= info.has_symtab ? SYM_SRC_SYMTAB : SYM_SRC_DYNSYM;
	}
	if (info.has_debug_info && sym_dwarf__open(fd, &d->dwarf) == 0)
		d->sources |= SYM_SRC_DWARF;
	/* 2. a separate debug file, 3. debuginfod: only when the file has no DWARF */
	if (!d->dwarf) {
		int dfd = debuginfo__find_local(s->debuginfo, m->path, &info);

		if (dfd >= 0) {
			use_debug_file(d, dfd, SYM_SRC_DEBUG_FILE);
			close(dfd);
		} else if (info.build_id_len) {
			dfd = debuginfo__fetch(s->debuginfo, info.build_id, info.build_id_len);
			if (dfd >= 0) {
				use_debug_file(d, dfd, SYM_SRC_DEBUGINFOD);
				close(dfd);
			} else {
				d->debuginfod_err = dfd;
			}
		}
	}
	/* 4. MiniDebugInfo: the local functions a stripped file's .dynsym lacks */
	if (!(d->sources & SYM_SRC_SYMTAB) && info.has_gnu_debugdata) {
		struct elf_symtab t;

		if (minidebug_symtab(fd, &t) == 0) {
			if (!d->has_symtab) {
				d->symtab = t;
				d->has_symtab = true;
			} else {
				elf_symtab__merge(&d->symtab, &t);
				elf_symtab__free(&t);
			}
			d->sources |= SYM_SRC_MINIDEBUGINFO;
		}
	}
	/* 5. Go: names, files and lines survive stripping in .gopclntab */
	if (info.has_gopclntab && gopclntab__open(fd, &d->go) == 0)
		d->sources |= SYM_SRC_GOPCLNTAB;
done:
	if (own_fd)
		close(fd);
	d->loaded_ns = clock_ns(CLOCK_MONOTONIC);
	d->bytes = sizeof(*d) + (d->has_symtab ? elf_symtab__bytes(&d->symtab) : 0) +
		   (d->dwarf ? sym_dwarf__bytes(d->dwarf) : 0) +
		   (d->go ? gopclntab__bytes(d->go) : 0);
	*ret_value = d;
	*ret_bytes = d->bytes;
	return 0;
fail:
	if (own_fd && fd >= 0)
		close(fd);
	data_free(d);
	return err;
}

static void module_free(struct sym_module *m)
{
	if (m->fd >= 0)
		close(m->fd);
	free(m->path);
	free(m->image);
	free(m);
}

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	struct debuginfo_opts dopts = {0};
	struct bgcache_opts bo = {0};

	if (!s) {
		if (opts &&
		    opts->sz >= offsetof(struct symbolizer_opts, kallsyms) + sizeof(opts->kallsyms))
			kallsyms__free(opts->kallsyms);
		return NULL;
	}
	if (opts)
		memcpy(&s->opts, opts, MIN(opts->sz ? opts->sz : sizeof(*opts), sizeof(s->opts)));
	s->kallsyms = s->opts.kallsyms;
	s->opts.kallsyms = NULL;
	if (!s->opts.cache_bytes)
		s->opts.cache_bytes = DEFAULT_CACHE_BYTES;
	if (!s->opts.kallsyms_path)
		s->opts.kallsyms_path = "/proc/kallsyms";
	if (!s->opts.max_fds)
		s->opts.max_fds = DEFAULT_MAX_FDS;
	dopts.debug_dirs = s->opts.debug_dirs;
	dopts.timeout_ms = s->opts.debuginfod_timeout_ms;
	dopts.negative_ttl_s = s->opts.negative_ttl_s;
	dopts.no_debuginfod = s->opts.no_debuginfod;
	s->debuginfo = debuginfo__new(&dopts);
	bo.max_bytes = s->opts.cache_bytes;
	bo.build = build_cb;
	bo.free_value = free_value_cb;
	bo.ctx = s;
	bo.thread_name = "sonde-symbols";
	s->bg = s->debuginfo ? bgcache__new(&bo) : NULL;
	if (!s->bg) {
		debuginfo__free(s->debuginfo);
		kallsyms__free(s->kallsyms);
		free(s);
		return NULL;
	}
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	struct sym_module *m, *next;

	if (!s)
		return;
	/* the worker stops before modules (its arguments) go */
	bgcache__free(s->bg);
	for (m = s->all; m; m = next) {
		next = m->next_all;
		module_free(m);
	}
	debuginfo__free(s->debuginfo);
	kallsyms__free(s->kallsyms);
	free(s);
}

static uint64_t module_key(const uint8_t *build_id, size_t len, const char *path)
{
	uint64_t k = len ? hash_bytes(build_id, len, 1) : hash_bytes(path, strlen(path), 2);

	return k ? k : 1;
}

static struct sym_module *module_find(struct symbolizer *s, uint64_t key)
{
	struct bgcache_entry *e = bgcache__find(s->bg, key);

	if (!e)
		return NULL;
	bgcache__put(s->bg, e); /* the symbolizer's own reference keeps it */
	return bgcache_entry__arg(e);
}

static struct sym_module *module_add(struct symbolizer *s, struct sym_module *m)
{
	/* the cache has no free_arg: modules stay on s->all and are freed with the symbolizer */
	m->entry = bgcache__add(s->bg, m->key, m, true);
	if (!m->entry) {
		errno = ENOMEM;
		return NULL;
	}
	m->next_all = s->all;
	s->all = m;
	return m;
}

static struct sym_module *module_alloc(uint64_t key, const char *path)
{
	struct sym_module *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->key = key;
	m->fd = -1;
	m->path = strdup(path);
	if (!m->path) {
		free(m);
		return NULL;
	}
	m->name = path_basename(m->path);
	return m;
}

struct sym_module *symbolizer__module(struct symbolizer *s, const uint8_t *build_id,
				      size_t build_id_len, const char *path, int fd)
{
	struct sym_module *m;
	uint64_t key;

	if (!path || build_id_len > ELF_BUILD_ID_MAX) {
		errno = EINVAL;
		return NULL;
	}
	key = module_key(build_id, build_id_len, path);
	m = module_find(s, key);
	if (m)
		return m;
	m = module_alloc(key, path);
	if (!m)
		return NULL;
	if (build_id_len)
		memcpy(m->build_id, build_id, build_id_len);
	m->build_id_len = (uint32_t)build_id_len;
	/* keep the file open (a container's file, a deleted file) within the fd budget */
	if (fd >= 0 && s->open_fds < s->opts.max_fds) {
		m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (m->fd >= 0)
			s->open_fds++;
	}
	if (!module_add(s, m)) {
		module_free(m);
		return NULL;
	}
	return m;
}

struct sym_module *symbolizer__module_mem(struct symbolizer *s, const char *name, const void *image,
					  size_t size)
{
	uint64_t key = module_key(NULL, 0, name) ^ 0x5a5a;
	struct sym_module *m = module_find(s, key);

	if (m)
		return m;
	m = module_alloc(key, name);
	if (!m)
		return NULL;
	m->image = malloc(size ? size : 1);
	if (!m->image) {
		module_free(m);
		return NULL;
	}
	memcpy(m->image, image, size);
	m->image_size = size;
	if (!module_add(s, m)) {
		module_free(m);
		return NULL;
	}
	return m;
}

struct sym_module *symbolizer__module_by_build_id(struct symbolizer *s, const uint8_t *build_id,
						  size_t build_id_len)
{
	char hex[2 * ELF_BUILD_ID_MAX + 1];
	struct sym_module *m;
	uint64_t key;

	if (!build_id_len || build_id_len > ELF_BUILD_ID_MAX) {
		errno = EINVAL;
		return NULL;
	}
	key = module_key(build_id, build_id_len, "");
	m = module_find(s, key);
	if (m)
		return m;
	hex_encode(build_id, build_id_len, hex);
	m = module_alloc(key, hex);
	if (!m)
		return NULL;
	memcpy(m->build_id, build_id, build_id_len);
	m->build_id_len = (uint32_t)build_id_len;
	m->by_build_id = true;
	if (!module_add(s, m)) {
		module_free(m);
		return NULL;
	}
	return m;
}

const char *sym_module__name(const struct sym_module *m)
{
	return m->name;
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
	ret->sources = 0;
}

/* Appends a frame, demangling its name. Returns non-zero when the result is full. */
static int add_frame(struct sym_result *ret, const char *raw, const char *file, uint32_t line,
		     uint32_t column)
{
	char demangled[DEMANGLE_MAX];
	struct sym_frame *f;

	if (ret->nframes >= SYM_MAX_FRAMES)
		return 1;
	f = &ret->frames[ret->nframes++];
	memset(f, 0, sizeof(*f));
	f->raw_name = result_str(ret, raw);
	f->name = sym_demangle(raw, demangled, sizeof(demangled)) ? result_str(ret, demangled)
								  : f->raw_name;
	f->file = file ? result_str(ret, file) : NULL;
	f->line = line;
	f->column = column;
	return 0;
}

static int dwarf_frame_cb(void *ctx, const char *name, const char *file, uint32_t line,
			  uint32_t column)
{
	return add_frame(ctx, name, file, line, column);
}

int symbolizer__lookup(struct symbolizer *s, struct sym_module *m, uint64_t addr,
		       struct sym_result *ret)
{
	enum bgcache_state st;
	struct sym_data *d;
	struct go_func fn;

	result_reset(ret);
	ret->module = m->name;
	s->lookups++;
	bgcache__collect(s->bg);
	d = bgcache__value(s->bg, m->entry, &st);
	if (!d) {
		if (st == BGCACHE_FAILED) {
			s->misses++;
			return bgcache_entry__error(m->entry) ? bgcache_entry__error(m->entry)
							      : -ENOENT;
		}
		s->pending++;
		return -EAGAIN;
	}
	ret->sources = d->sources;
	/* debuginfod did not help last time: ask again once the negative TTL has passed */
	if (d->debuginfod_err && d->debuginfod_err != -ENOSYS &&
	    clock_ns(CLOCK_MONOTONIC) - d->loaded_ns >
		    (uint64_t)(s->opts.negative_ttl_s ? s->opts.negative_ttl_s : 600) *
			    NSEC_PER_SEC)
		bgcache__rebuild(s->bg, m->entry);
	if (d->dwarf && sym_dwarf__lookup(d->dwarf, addr, dwarf_frame_cb, ret) == 0 &&
	    ret->nframes) {
		for (uint32_t i = 0; i + 1 < ret->nframes; i++)
			ret->frames[i].inlined = true;
		return 0;
	}
	ret->nframes = 0;
	ret->strings_len = 0;
	if (d->go && gopclntab__find(d->go, addr, &fn) == 0) {
		const char *file = NULL;
		int32_t line = 0;

		gopclntab__file_line(d->go, &fn, addr, &file, &line);
		add_frame(ret, fn.name, file, line > 0 ? (uint32_t)line : 0, 0);
		return 0;
	}
	if (d->has_symtab) {
		const struct elf_sym *sym = elf_symtab__find(&d->symtab, addr);

		if (sym) {
			add_frame(ret, elf_symtab__name(&d->symtab, sym), NULL, 0, 0);
			return 0;
		}
	}
	s->misses++;
	return -ENOENT;
}

void symbolizer__prefetch(struct symbolizer *s, struct sym_module *m)
{
	enum bgcache_state st;

	bgcache__value(s->bg, m->entry, &st);
}

void symbolizer__reload(struct symbolizer *s, struct sym_module *m)
{
	bgcache__rebuild(s->bg, m->entry);
}

int symbolizer__wait(struct symbolizer *s, int timeout_ms)
{
	return bgcache__wait(s->bg, timeout_ms);
}

int symbolizer__lookup_kernel(struct symbolizer *s, uint64_t addr, struct sym_result *ret)
{
	const char *name, *module;
	uint64_t off;

	result_reset(ret);
	ret->module = "vmlinux";
	ret->sources = SYM_SRC_KALLSYMS;
	s->lookups++;
	if (!s->kallsyms && !s->kallsyms_err) {
		s->kallsyms = kallsyms__load(s->opts.kallsyms_path);
		if (!s->kallsyms)
			s->kallsyms_err = -errno;
	}
	if (!s->kallsyms) {
		s->misses++;
		return s->kallsyms_err;
	}
	if (kallsyms__find(s->kallsyms, addr, &name, &module, &off)) {
		s->misses++;
		return -ENOENT;
	}
	if (*module)
		ret->module = result_str(ret, module);
	add_frame(ret, name, NULL, 0, 0);
	return 0;
}

const char *symbolizer__kernel_build_id(struct symbolizer *s)
{
	if (!s->kernel_build_id_read) {
		s->kernel_build_id_read = true;
		if (kernel_build_id(s->kernel_build_id, sizeof(s->kernel_build_id)))
			s->kernel_build_id[0] = 0;
	}
	return s->kernel_build_id;
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *ret)
{
	struct bgcache_stats bs;
	struct debuginfo_stats ds;

	bgcache__stats(s->bg, &bs);
	debuginfo__stats(s->debuginfo, &ds);
	memset(ret, 0, sizeof(*ret));
	ret->modules = bs.entries;
	ret->modules_loaded = bs.ready;
	ret->bytes = bs.bytes;
	ret->evictions = bs.evictions;
	ret->loads = bs.builds;
	ret->load_ns = bs.build_ns;
	ret->lookups = s->lookups;
	ret->misses = s->misses;
	ret->pending = s->pending;
	ret->debug_files = ds.local_found;
	ret->debuginfod_requests = ds.debuginfod_requests;
	ret->debuginfod_found = ds.debuginfod_found;
	ret->debuginfod_failed = ds.debuginfod_failed;
	ret->debuginfod_skipped = ds.debuginfod_skipped;
}
