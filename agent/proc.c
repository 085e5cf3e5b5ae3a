// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"

#define MAPS_MAX_BYTES (64u << 20) /* a bound on /proc/PID/maps */

struct proc_table {
	struct symbolizer *sym;
	struct unwind_cache *unwind;
	struct labeler *labeler;
	struct hmap procs;	      /* pid -> struct proc */
	struct hmap objects_by_file;  /* (dev, ino) key -> struct object */
	VEC(struct object *) objects; /* by id; NULL slots are free */
	VEC(uint32_t) free_ids;
	struct object *vdso;
	struct object *anon;
	uint64_t epoch;
	uint64_t labels_generation; /* of the metadata the last relabelling pass saw */
	struct proc_table_stats stats;
};

int parse_maps_line(char *line, struct maps_line *ret)
{
	unsigned long long start, end, pgoff, ino;
	unsigned int major, minor;
	int n = 0;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, ret->perms, &pgoff,
		   &major, &minor, &ino, &n) < 7 ||
	    start >= end)
		return -EINVAL;
	ret->start = start;
	ret->end = end;
	ret->pgoff = pgoff;
	ret->dev = (uint64_t)major << 20 | minor;
	ret->ino = ino;
	ret->path = n ? line + n : "";
	return 0;
}

static uint64_t file_key(uint64_t dev, uint64_t ino)
{
	uint64_t k = hash_u64(dev * 0x9e3779b97f4a7c15ULL ^ ino);

	return k ? k : 1;
}

static int object_register(struct proc_table *t, struct object *o)
{
	if (t->free_ids.len) {
		o->id = t->free_ids.v[--t->free_ids.len];
		t->objects.v[o->id] = o;
	} else {
		o->id = (uint32_t)t->objects.len;
		if (VEC_PUSH(&t->objects, o))
			return -ENOMEM;
	}
	t->stats.objects++;
	return 0;
}

static struct object *object_alloc(enum object_kind kind, const char *path)
{
	struct object *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->kind = kind;
	o->path = strdup(path);
	if (!o->path) {
		free(o);
		return NULL;
	}
	o->name = path_basename(o->path);
	o->elf_err = -ENODATA;
	return o;
}

static void object_free(struct proc_table *t, struct object *o)
{
	if (!o)
		return;
	if (t->unwind)
		unwind_cache__put(t->unwind, o->unwind);
	free(o->path);
	free(o);
}

/* The key an unwind table is shared under: the build ID, or the file's identity. */
static uint64_t unwind_key(const struct object *o)
{
	if (o->elf.build_id_len)
		return hash_bytes(o->elf.build_id, o->elf.build_id_len, 23) | 1;
	return hash_u64(o->dev * 0x9e3779b97f4a7c15ULL ^ o->ino) & ~1ull;
}

/* Opens the file a process maps, through its root; falls back to map_files (deleted files). */
static int open_mapped_file(uint32_t pid, const struct maps_line *ml, const char *path)
{
	char p[PATH_MAX];
	struct stat st;
	int fd;

	if (snprintf(p, sizeof(p), "/proc/%u/root%s", pid, path) < (int)sizeof(p)) {
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (fstat(fd, &st) == 0 && st.st_ino == ml->ino)
				return fd;
			close(fd); /* replaced on disk since it was mapped */
		}
	}
	snprintf(p, sizeof(p), "/proc/%u/map_files/%llx-%llx", pid, (unsigned long long)ml->start,
		 (unsigned long long)ml->end);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static struct object *object_for_file(struct proc_table *t, uint32_t pid,
				      const struct maps_line *ml)
{
	uint64_t key = file_key(ml->dev, ml->ino);
	struct object *o = hmap_get(&t->objects_by_file, key);
	char path[PATH_MAX];
	size_t n;
	int fd;

	if (o && o->dev == ml->dev && o->ino == ml->ino)
		return o;
	str_copy(path, ml->path, sizeof(path));
	n = strlen(path);
	if (n > 10 && strcmp(path + n - 10, " (deleted)") == 0)
		path[n - 10] = 0;
	o = object_alloc(OBJECT_FILE, path);
	if (!o)
		return NULL;
	o->dev = ml->dev;
	o->ino = ml->ino;
	fd = open_mapped_file(pid, ml, path);
	if (fd >= 0) {
		o->elf_err = elf_info__read(fd, &o->elf);
		if (!o->elf_err) {
			hex_encode(o->elf.build_id, o->elf.build_id_len, o->build_id);
			o->is_go = o->elf.has_gopclntab;
			if (t->sym)
				o->module = symbolizer__module(t->sym, o->elf.build_id,
							       o->elf.build_id_len, path, fd);
			/* start building the unwind table now, before samples need it */
			if (t->unwind &&
			    (o->elf.has_eh_frame || o->elf.has_debug_frame || o->is_go))
				o->unwind = unwind_cache__get(t->unwind, unwind_key(o), fd);
		}
		close(fd);
	} else {
		o->elf_err = fd;
		log_debug("cannot open mapped file", "pid=%u path=\"%s\" err=\"%s\"", pid, path,
			  strerror(-fd));
	}
	if (object_register(t, o)) {
		object_free(t, o);
		return NULL;
	}
	if (!hmap_get(&t->objects_by_file, key))
		hmap_put(&t->objects_by_file, key, o);
	return o;
}

static struct object *object_vdso(struct proc_table *t)
{
	const void *image = (const void *)getauxval(AT_SYSINFO_EHDR);
	struct object *o;

	if (t->vdso)
		return t->vdso;
	o = object_alloc(OBJECT_VDSO, "[vdso]");
	if (o)
		o->name = "vdso";
	if (!o)
		return NULL;
	if (image) {
		/* every 64-bit process maps the same vDSO image: read our own */
		size_t size = 2 * 4096;
		char *maps = NULL, *line, *save = NULL;
		size_t len;

		if (read_file(-1, "/proc/self/maps", MAPS_MAX_BYTES, &maps, &len) == 0) {
			for (line = strtok_r(maps, "\n", &save); line;
			     line = strtok_r(NULL, "\n", &save)) {
				struct maps_line ml;

				if (parse_maps_line(line, &ml) == 0 &&
				    strcmp(ml.path, "[vdso]") == 0)
					size = ml.end - ml.start;
			}
			free(maps);
		}
		o->elf_err = elf_info__read_mem(image, size, &o->elf);
		if (!o->elf_err) {
			hex_encode(o->elf.build_id, o->elf.build_id_len, o->build_id);
			if (t->sym)
				o->module = symbolizer__module_mem(t->sym, "[vdso]", image, size);
			if (t->unwind && o->elf.has_eh_frame) {
				/* the unwind table is built from a file: give the image one */
				int fd = memfd_create("sonde-vdso", MFD_CLOEXEC);

				if (fd >= 0) {
					if (write(fd, image, size) == (ssize_t)size)
						o->unwind = unwind_cache__get(t->unwind,
									      unwind_key(o), fd);
					close(fd);
				}
			}
		}
	}
	if (object_register(t, o)) {
		object_free(t, o);
		return NULL;
	}
	o->refs = 1; /* lives as long as the table */
	t->vdso = o;
	return o;
}

static struct object *object_anon(struct proc_table *t)
{
	struct object *o;

	if (t->anon)
		return t->anon;
	o = object_alloc(OBJECT_ANON, "[anon]");
	if (o)
		o->name = "anon";
	if (!o)
		return NULL;
	if (object_register(t, o)) {
		object_free(t, o);
		return NULL;
	}
	o->refs = 1;
	t->anon = o;
	return o;
}

static struct maps empty_maps = {.refs = 1}; /* shared; never freed */

struct maps *maps__get(struct maps *m)
{
	m->refs++;
	return m;
}

void maps__put(struct maps *m)
{
	if (!m || m == &empty_maps || --m->refs)
		return;
	for (uint32_t i = 0; i < m->n; i++)
		m->v[i].obj->refs--;
	free(m);
}

const struct mapping *maps__find(const struct maps *m, uint64_t addr)
{
	uint32_t lo = 0, hi = m->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < m->v[lo - 1].end)
		return &m->v[lo - 1];
	return NULL;
}

struct proc_table *proc_table__new(struct symbolizer *sym, struct unwind_cache *unwind,
				   struct labeler *labeler)
{
	struct proc_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->sym = sym;
	t->unwind = unwind;
	t->labeler = labeler;
	t->epoch = 1;
	return t;
}

static void proc_drop_maps(struct proc *p)
{
	maps__put(p->maps);
	p->maps = &empty_maps;
	p->maps_valid = false;
}

static int mapping_cmp(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int proc_read_maps(struct proc_table *t, struct proc *p)
{
	VEC(struct mapping) maps = {0};
	struct maps *snap = NULL;
	char path[64], *data = NULL, *line, *save = NULL;
	size_t len;
	int err;

	t->stats.maps_reads++;
	p->maps_read_ns = clock_ns(CLOCK_MONOTONIC);
	snprintf(path, sizeof(path), "/proc/%u/maps", p->pid);
	err = read_file(-1, path, MAPS_MAX_BYTES, &data, &len);
	if (err) {
		t->stats.maps_read_errors++;
		if (err == -ENOENT || err == -ESRCH)
			p->gone = true;
		return err;
	}
	if (len == 0) {
		/* a zombie, or a kernel thread: no mappings to read */
		t->stats.maps_read_errors++;
		free(data);
		p->gone = true;
		return -ESRCH;
	}
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct maps_line ml;
		struct mapping m = {0};
		uint64_t vaddr;

		if (parse_maps_line(line, &ml) || ml.perms[2] != 'x')
			continue;
		m.start = ml.start;
		m.end = ml.end;
		m.pgoff = ml.pgoff;
		if (ml.path[0] == '/' && ml.ino) {
			m.obj = object_for_file(t, p->pid, &ml);
			if (m.obj && !m.obj->elf_err &&
			    elf_info__offset_to_vaddr(&m.obj->elf, ml.pgoff, &vaddr) == 0) {
				m.bias = ml.start - vaddr;
				m.flags |= MAPPING_BIAS_OK;
			}
		} else if (strcmp(ml.path, "[vdso]") == 0) {
			m.obj = object_vdso(t);
			if (m.obj && !m.obj->elf_err && m.obj->elf.nsegs) {
				m.bias = ml.start - m.obj->elf.segs[0].vaddr;
				m.flags |= MAPPING_BIAS_OK;
			}
		} else if (strcmp(ml.path, "[vsyscall]") == 0) {
			continue;
		} else {
			m.obj = object_anon(t);
		}
		if (!m.obj) {
			err = -ENOMEM;
			break;
		}
		if (VEC_PUSH(&maps, m)) {
			err = -ENOMEM;
			break;
		}
	}
	free(data);
	if (!err) {
		snap = malloc(sizeof(*snap) + maps.len * sizeof(struct mapping));
		if (!snap)
			err = -ENOMEM;
	}
	if (err) {
		VEC_FREE(&maps);
		return err;
	}
	if (maps.len) /* a process gone before its maps were read has none: maps.v is NULL */
		qsort(maps.v, maps.len, sizeof(*maps.v), mapping_cmp);
	snap->refs = 1;
	snap->n = (uint32_t)maps.len;
	for (size_t i = 0; i < maps.len; i++) {
		snap->v[i] = maps.v[i];
		snap->v[i].obj->refs++;
	}
	VEC_FREE(&maps);
	proc_drop_maps(p);
	p->maps = snap;
	p->maps_valid = true;
	return 0;
}

/* The process's name and labels, read when it appears and again after exec. */
/* Gives p the labels l (a reference of its own), letting the old ones go. */
static void set_labels(struct proc *p, struct proc_labels *l)
{
	proc_labels__put(p->labels);
	p->labels = l;
	p->labels_gen = 0;
}

static void read_identity(struct proc_table *t, struct proc *p)
{
	char path[64], *data = NULL;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%u/comm", p->pid);
	if (read_file(-1, path, 64, &data, &len) == 0) {
		data[strcspn(data, "\n")] = 0;
		str_copy(p->comm, data, sizeof(p->comm));
		free(data);
	}
	if (t->labeler)
		set_labels(p, labeler__process(t->labeler, p->pid, p->comm));
}

struct proc *proc_table__get(struct proc_table *t, uint32_t pid, bool create)
{
	struct proc *p = hmap_get(&t->procs, pid);

	if (!p) {
		if (!create)
			return NULL;
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->pid = pid;
		p->maps = &empty_maps;
		if (hmap_put(&t->procs, pid, p)) {
			free(p);
			return NULL;
		}
		t->stats.procs++;
		read_identity(t, p);
		proc_read_maps(t, p);
		return p;
	}
	if (!p->maps_valid && !p->gone)
		proc_read_maps(t, p);
	return p;
}

void proc_table__exec(struct proc_table *t, uint32_t pid)
{
	struct proc *p = hmap_get(&t->procs, pid);

	if (p) {
		proc_drop_maps(p);
		p->gone = false;
		read_identity(t, p);
		/* now, while the process is likely alive: it may exit before its next sample */
		proc_read_maps(t, p);
	}
}

void proc_table__relabel(struct proc_table *t)
{
	size_t pos = 0;
	uint64_t gen;
	void *v;

	if (!t->labeler)
		return;
	gen = labeler__generation(t->labeler);
	if (gen == t->labels_generation)
		return;
	t->labels_generation = gen;
	while (hmap_next(&t->procs, &pos, NULL, &v)) {
		struct proc *p = v;
		struct proc_labels *l;

		if (!labeler__stale(t->labeler, p->labels))
			continue;
		l = labeler__process(t->labeler, p->pid, p->comm);
		if (!l)
			continue; /* out of memory: the old labels stay */
		set_labels(p, l);
		t->stats.relabels++;
	}
}

static void proc_free(struct proc *p)
{
	proc_drop_maps(p);
	proc_labels__put(p->labels);
	free(p);
}

void proc_table__exit(struct proc_table *t, uint32_t pid)
{
	struct proc *p = hmap_del(&t->procs, pid);

	if (p) {
		proc_free(p);
		t->stats.procs--;
	}
}

const struct mapping *proc_table__resolve(struct proc_table *t, struct proc *p, uint64_t addr,
					  uint64_t min_refresh_ns)
{
	const struct mapping *m = maps__find(p->maps, addr);

	if (m)
		return m;
	if (!p->gone && clock_ns(CLOCK_MONOTONIC) - p->maps_read_ns >= min_refresh_ns) {
		/* a library loaded since we last looked (dlopen) */
		p->refreshes++;
		proc_read_maps(t, p);
		m = maps__find(p->maps, addr);
	}
	if (!m)
		t->stats.unmapped_addrs++;
	return m;
}

struct object *proc_table__object(const struct proc_table *t, uint32_t id)
{
	return id < t->objects.len ? t->objects.v[id] : NULL;
}

void proc_table__use_object(struct proc_table *t, struct object *obj)
{
	if (obj->last_epoch == t->epoch)
		return;
	obj->last_epoch = t->epoch;
	/* a frame refers to this file: have its symbols ready by output time */
	if (obj->module && t->sym)
		symbolizer__prefetch(t->sym, obj->module);
}

/*
 * Frees processes that no longer exist though no exit record said so (one lost when the ring
 * buffer was full): a signal-0 probe per process, once an epoch.
 */
static void reap_vanished(struct proc_table *t)
{
	VEC(uint32_t) gone = {0};
	size_t pos = 0;
	uint64_t pid;

	while (hmap_next(&t->procs, &pos, &pid, NULL))
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH && VEC_PUSH(&gone, (uint32_t)pid))
			break; /* out of memory: the rest waits for the next epoch */
	for (size_t i = 0; i < gone.len; i++) {
		proc_table__exit(t, gone.v[i]);
		t->stats.reaped++;
	}
	VEC_FREE(&gone);
}

void proc_table__end_epoch(struct proc_table *t)
{
	reap_vanished(t);
	for (size_t i = 0; i < t->objects.len; i++) {
		struct object *o = t->objects.v[i];
		uint64_t key;

		if (!o || o->refs || o->last_epoch == t->epoch)
			continue;
		key = file_key(o->dev, o->ino);
		if (hmap_get(&t->objects_by_file, key) == o)
			hmap_del(&t->objects_by_file, key);
		t->objects.v[i] = NULL;
		VEC_PUSH(&t->free_ids, (uint32_t)i); /* on failure the id is just not reused */
		t->stats.objects--;
		object_free(t, o);
	}
	t->epoch++;
}

void proc_table__stats(const struct proc_table *t, struct proc_table_stats *ret)
{
	*ret = t->stats;
}

void proc_table__free(struct proc_table *t)
{
	size_t pos = 0;
	void *v;

	if (!t)
		return;
	while (hmap_next(&t->procs, &pos, NULL, &v))
		proc_free(v);
	hmap_free(&t->procs);
	hmap_free(&t->objects_by_file);
	for (size_t i = 0; i < t->objects.len; i++)
		object_free(t, t->objects.v[i]);
	VEC_FREE(&t->objects);
	VEC_FREE(&t->free_ids);
	free(t);
}
