// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "namer.h"
#include "debugstore.h"
#include "../common/hash.h"
#include "../common/httpd.h"
#include "../common/util.h"
#include "../symbolizer/debuginfo.h"
#include "../symbolizer/elf_file.h"
#include "../symbolizer/symbolizer.h"

#define DEFAULT_DISK (8ULL << 30)
#define DEFAULT_MEMORY (256ULL << 20)
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_NEGATIVE_TTL_S 600
#define DEFAULT_REFRESH_MS 10000
#define DEFAULT_WAIT_MS 10000
#define MAX_BUILD_IDS 100000 /* known at once; past it, new ones wait for a later query */
#define POLL_MS 20

enum bid_state {
	BID_NEW,      /* not looked for yet (or its cached file was evicted) */
	BID_FETCHING, /* queued for, or on, the fetching thread */
	BID_READY,    /* a local file, registered with the symbolizer */
	BID_ABSENT,   /* found nowhere; looked for again at retry_ns */
};

struct bid {
	char hex[DEBUGSTORE_MAX_HEX];
	uint8_t raw[DEBUGSTORE_MAX_BUILD_ID];
	size_t len;
	enum bid_state state;
	uint64_t retry_ns;
	uint64_t used_ns; /* last query that needed it: disk eviction order */
	uint64_t disk_bytes;
	bool busy;	/* the fetching thread works on it */
	bool file_gone; /* its cached file was evicted: loaded symbols serve until they go too */
	struct sym_module *mod;
	struct elf_info info; /* segments: process addresses to file addresses */
	bool has_info;
};

struct namer {
	struct namer_opts o;
	char *dir;
	bool private_dir;
	struct symbolizer *sym;
	struct debuginfo *dinfo; /* the fetching thread's only */
	pthread_mutex_t lock;	 /* everything below, and every symbolizer call */
	pthread_cond_t changed;	 /* a fetch ended, or there is one to do */
	pthread_t thread;
	bool stopping;
	struct hmap bids; /* hash of hex -> struct bid */
	VEC(struct bid *) queue;
	struct hmap catalog; /* build IDs the store holds (hash of hex -> size + 1) */
	uint64_t catalog_ns; /* when it was listed; 0: never */
	uint64_t disk_bytes;
	struct namer_stats stats;
};

static uint64_t hex_key(const char *hex)
{
	return hash_bytes(hex, strlen(hex), 0x6e616d65) | 1;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void cache_path(const struct namer *n, const char *hex, char *path, size_t size)
{
	snprintf(path, size, "%s/%s.debug", n->dir, hex);
}

/* ---- the fetching thread -------------------------------------------------------------------- */

static int list_add(void *ctx, const struct debugstore_entry *e)
{
	struct hmap *m = ctx;

	return hmap_put(m, hex_key(e->build_id), (void *)(uintptr_t)(e->size + 1));
}

/*
 * Whether the store holds hex (its size in *ret_size), listing it again when stale, or when hex
 * is not in a listing over a second old (an upload through another collector): at most one
 * listing a second however many build IDs are missing.
 */
static bool in_store(struct namer *n, const char *hex, uint64_t *ret_size)
{
	uint64_t now = now_ns(), refresh = (uint64_t)n->o.refresh_ms * 1000000;
	struct hmap fresh = {0};
	uintptr_t v;
	bool stale;

	pthread_mutex_lock(&n->lock);
	v = (uintptr_t)hmap_get(&n->catalog, hex_key(hex));
	stale = !n->catalog_ns || now - n->catalog_ns >= refresh ||
		(!v && now - n->catalog_ns >= MIN(refresh, NSEC_PER_SEC));
	pthread_mutex_unlock(&n->lock);
	if (stale) {
		/* listed without the lock: queries go on meanwhile */
		int e = debugstore_list(n->o.store, list_add, &fresh);

		pthread_mutex_lock(&n->lock);
		if (e) {
			n->stats.fetch_errors++; /* the listing before stands */
			hmap_free(&fresh);
		} else {
			hmap_free(&n->catalog);
			n->catalog = fresh;
			n->catalog_ns = now;
			n->stats.store_lists++;
		}
		v = (uintptr_t)hmap_get(&n->catalog, hex_key(hex));
		pthread_mutex_unlock(&n->lock);
	}
	*ret_size = v ? v - 1 : 0;
	return v != 0;
}

/* Checks data (a debug file for b) and writes it into the cache. 0 or -errno. */
static int keep_file(struct namer *n, struct bid *b, const struct buf *data,
		     struct debugstore_facts *ret_facts)
{
	char path[4096], msg[256];

	if (debugstore_check(data->data, data->len, b->hex, n->o.max_file_bytes * 4, ret_facts, msg,
			     sizeof(msg)))
		return -EBADMSG;
	cache_path(n, b->hex, path, sizeof(path));
	return write_file_atomic(path, data->data, data->len);
}

static int read_fd(int fd, uint64_t max, struct buf *out)
{
	char chunk[65536];
	off_t off = 0;
	ssize_t r;

	/* from the start: libdebuginfod may hand over the fd it wrote the file with */
	while ((r = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		off += r;
		if (out->len + (size_t)r > max)
			return -EFBIG;
		buf_append(out, chunk, (size_t)r);
		if (out->oom)
			return -ENOMEM;
	}
	return r < 0 ? -errno : 0;
}

/* Looks for b's debug file: the cache, the store, debuginfod. 0 (in the cache now), -ENOENT. */
static int fetch(struct namer *n, struct bid *b)
{
	struct debugstore_facts facts;
	struct buf data = {0};
	char path[4096], key[OBJSTORE_MAX_KEY];
	uint64_t size;
	int err = -ENOENT, fd;

	cache_path(n, b->hex, path, sizeof(path));
	if (access(path, R_OK) == 0)
		return 0;
	if (in_store(n, b->hex, &size)) {
		if (size > n->o.max_file_bytes)
			return -EFBIG;
		debugstore_key(b->hex, key, sizeof(key));
		err = objstore__get(n->o.store, key, 0, UINT64_MAX, &data);
		if (!err)
			err = keep_file(n, b, &data, &facts);
		pthread_mutex_lock(&n->lock);
		if (!err)
			n->stats.from_store++;
		else if (err != -ENOENT)
			n->stats.fetch_errors++;
		pthread_mutex_unlock(&n->lock);
		buf_free(&data);
		if (err != -ENOENT)
			return err;
	}
	if (!n->dinfo)
		return -ENOENT;
	{
		uint64_t t0 = now_ns();
		struct debuginfo_stats ds;

		/* the debug file, else the file itself (a Go binary, an unstripped one) */
		fd = debuginfo__fetch(n->dinfo, b->raw, b->len);
		if (fd < 0 && fd != -EAGAIN && fd != -ENOSYS)
			fd = debuginfo__fetch_executable(n->dinfo, b->raw, b->len);
		debuginfo__stats(n->dinfo, &ds);
		pthread_mutex_lock(&n->lock);
		n->stats.debuginfod_requests = ds.debuginfod_requests;
		n->stats.debuginfod_found = ds.debuginfod_found;
		if (fd != -EAGAIN)
			n->stats.debuginfod_ns += now_ns() - t0;
		pthread_mutex_unlock(&n->lock);
	}
	if (fd < 0)
		return -ENOENT;
	err = read_fd(fd, n->o.max_file_bytes, &data);
	close(fd);
	if (!err)
		err = keep_file(n, b, &data, &facts);
	/* for every other collector: stored once, by build ID */
	if (!err && debugstore_put(n->o.store, &facts, data.data, data.len, "", "debuginfod") == 0)
		namer__changed(n, NULL);
	pthread_mutex_lock(&n->lock);
	if (!err)
		n->stats.from_debuginfod++;
	else
		n->stats.fetch_errors++;
	pthread_mutex_unlock(&n->lock);
	buf_free(&data);
	return err;
}

/* Cached files of other build IDs out, least recently used first, until the limit is kept. */
static void evict_disk(struct namer *n, const struct bid *keep)
{
	while (n->disk_bytes > n->o.cache_disk_bytes) {
		struct bid *victim = NULL;
		char path[4096];
		uint64_t key;
		void *v;

		for (size_t i = 0; hmap_next(&n->bids, &i, &key, &v);) {
			struct bid *b = v;

			if (b != keep && b->disk_bytes && !b->busy &&
			    (!victim || b->used_ns < victim->used_ns))
				victim = b;
		}
		if (!victim)
			break;
		cache_path(n, victim->hex, path, sizeof(path));
		unlink(path);
		n->disk_bytes -= victim->disk_bytes;
		victim->disk_bytes = 0;
		n->stats.evicted_files++;
		/* its loaded symbols stay usable; when they go too, it is fetched again */
		victim->file_gone = true;
	}
}

static int read_info(const char *path, struct elf_info *ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = elf_info__read(fd, ret);
	close(fd);
	return err;
}

static void *fetch_thread(void *arg)
{
	struct namer *n = arg;

	pthread_mutex_lock(&n->lock);
	for (;;) {
		struct bid *b;
		char path[4096];
		struct stat st;
		int err;

		while (!n->stopping && !n->queue.len)
			pthread_cond_wait(&n->changed, &n->lock);
		if (n->stopping)
			break;
		b = n->queue.v[0];
		memmove(n->queue.v, n->queue.v + 1, --n->queue.len * sizeof(*n->queue.v));
		b->busy = true;
		pthread_mutex_unlock(&n->lock);

		err = fetch(n, b);
		cache_path(n, b->hex, path, sizeof(path));
		if (!err && stat(path, &st) != 0)
			err = -errno;
		pthread_mutex_lock(&n->lock);
		b->busy = false;
		if (!err) {
			if (!b->disk_bytes) {
				b->disk_bytes = (uint64_t)st.st_size;
				n->disk_bytes += b->disk_bytes;
			}
			if (!b->has_info)
				b->has_info = read_info(path, &b->info) == 0;
			if (b->mod)
				symbolizer__reload(n->sym, b->mod); /* the file may be another */
			else
				b->mod = symbolizer__module(n->sym, NULL, 0, path, -1);
			b->file_gone = false;
			if (b->mod) {
				symbolizer__prefetch(n->sym, b->mod);
				b->state = BID_READY;
			} else {
				err = -ENOMEM;
			}
			evict_disk(n, b);
		}
		if (err) {
			/* a file refused (too big, not what it claims) is not fetched again soon */
			bool refused = err == -EBADMSG || err == -EFBIG;

			b->state = BID_ABSENT;
			b->retry_ns =
				now_ns() + (refused ? (uint64_t)n->o.negative_ttl_s * NSEC_PER_SEC
						    : (uint64_t)n->o.refresh_ms * 1000000);
		}
		pthread_cond_broadcast(&n->changed);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

/* ---- setup ---------------------------------------------------------------------------------- */

/* Counts the files a previous run left in the cache (they are used again). */
static void adopt_cache(struct namer *n)
{
	DIR *d = opendir(n->dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char hex[DEBUGSTORE_MAX_HEX], path[4096];
		size_t len = strlen(de->d_name);
		struct stat st;
		struct bid *b;

		if (len < 7 || len - 6 >= sizeof(hex) || strcmp(de->d_name + len - 6, ".debug"))
			continue;
		memcpy(hex, de->d_name, len - 6);
		hex[len - 6] = 0;
		snprintf(path, sizeof(path), "%s/%s", n->dir, de->d_name);
		if (!debugstore_build_id_valid(hex, hex) || stat(path, &st) != 0 ||
		    hmap_get(&n->bids, hex_key(hex)))
			continue;
		b = calloc(1, sizeof(*b));
		if (!b)
			break;
		memcpy(b->hex, hex, sizeof(hex));
		b->len = (size_t)hex_decode(hex, b->raw, sizeof(b->raw));
		b->disk_bytes = (uint64_t)st.st_size;
		if (hmap_put(&n->bids, hex_key(hex), b)) {
			free(b);
			break;
		}
		n->disk_bytes += b->disk_bytes;
	}
	closedir(d);
}

struct namer *namer__new(const struct namer_opts *opts, char *err, size_t err_size)
{
	struct namer *n = calloc(1, sizeof(*n));
	struct symbolizer_opts so = {.sz = sizeof(so)};

	if (!n) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	n->o = *opts;
	if (!n->o.cache_disk_bytes)
		n->o.cache_disk_bytes = DEFAULT_DISK;
	if (!n->o.memory_bytes)
		n->o.memory_bytes = DEFAULT_MEMORY;
	if (!n->o.max_file_bytes)
		n->o.max_file_bytes = DEBUGSTORE_DEFAULT_MAX_SIZE;
	if (!n->o.debuginfod_timeout_ms)
		n->o.debuginfod_timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!n->o.negative_ttl_s)
		n->o.negative_ttl_s = DEFAULT_NEGATIVE_TTL_S;
	if (!n->o.refresh_ms)
		n->o.refresh_ms = DEFAULT_REFRESH_MS;
	if (!n->o.wait_ms)
		n->o.wait_ms = DEFAULT_WAIT_MS;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->changed, NULL);
	if (opts->cache_dir) {
		n->dir = strdup(opts->cache_dir);
		if (n->dir && mkdir(n->dir, 0700) != 0 && errno != EEXIST) {
			snprintf(err, err_size, "cannot make the debug file cache %s: %s", n->dir,
				 strerror(errno));
			goto fail;
		}
	} else {
		const char *tmp = getenv("TMPDIR");

		if (asprintf(&n->dir, "%s/sonde-debuginfo.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
			n->dir = NULL;
		if (n->dir && !mkdtemp(n->dir)) {
			snprintf(err, err_size, "cannot make a debug file cache directory: %s",
				 strerror(errno));
			goto fail;
		}
		n->private_dir = true;
	}
	if (!n->dir) {
		snprintf(err, err_size, "out of memory");
		goto fail;
	}
	/* every file comes through the cache: the symbolizer itself looks nowhere else */
	so.cache_bytes = n->o.memory_bytes;
	so.no_debuginfod = true;
	so.debug_dirs = n->dir;
	n->sym = symbolizer__new(&so);
	if (n->o.debuginfod) {
		struct debuginfo_opts d = {.timeout_ms = n->o.debuginfod_timeout_ms,
					   .negative_ttl_s = n->o.negative_ttl_s,
					   .debug_dirs = n->dir};

		n->dinfo = debuginfo__new(&d);
	}
	if (!n->sym || (n->o.debuginfod && !n->dinfo)) {
		snprintf(err, err_size, "cannot start the symbolizer: %s", strerror(errno));
		goto fail;
	}
	if (!n->private_dir)
		adopt_cache(n);
	if (pthread_create(&n->thread, NULL, fetch_thread, n) != 0) {
		snprintf(err, err_size, "cannot start the debug file thread");
		goto fail;
	}
	pthread_setname_np(n->thread, "sonde-debuginfo");
	return n;
fail : {
	uint64_t key;
	void *v;

	for (size_t i = 0; hmap_next(&n->bids, &i, &key, &v);)
		free(v);
	hmap_free(&n->bids);
}
	symbolizer__free(n->sym);
	debuginfo__free(n->dinfo);
	if (n->private_dir && n->dir)
		rmdir(n->dir);
	free(n->dir);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->changed);
	free(n);
	return NULL;
}

void namer__free(struct namer *n)
{
	uint64_t key;
	void *v;

	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	pthread_cond_broadcast(&n->changed);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	symbolizer__free(n->sym);
	debuginfo__free(n->dinfo);
	for (size_t i = 0; hmap_next(&n->bids, &i, &key, &v);) {
		struct bid *b = v;

		if (n->private_dir) {
			char path[4096];

			cache_path(n, b->hex, path, sizeof(path));
			unlink(path);
		}
		free(b);
	}
	if (n->private_dir)
		rmdir(n->dir);
	hmap_free(&n->bids);
	hmap_free(&n->catalog);
	VEC_FREE(&n->queue);
	free(n->dir);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->changed);
	free(n);
}

void namer__changed(struct namer *n, const char *hex)
{
	struct bid *b;

	pthread_mutex_lock(&n->lock);
	n->catalog_ns = 0; /* list the store again */
	b = hex ? hmap_get(&n->bids, hex_key(hex)) : NULL;
	if (b && !b->busy && b->state != BID_FETCHING) {
		/* uploaded or deleted: whatever is cached goes, and the store is asked again */
		if (b->disk_bytes) {
			char path[4096];

			cache_path(n, b->hex, path, sizeof(path));
			unlink(path);
			n->disk_bytes -= b->disk_bytes;
			b->disk_bytes = 0;
		}
		b->state = BID_NEW;
	}
	pthread_mutex_unlock(&n->lock);
}

uint64_t namer__deadline(const struct namer *n)
{
	return now_ns() + (uint64_t)n->o.wait_ms * 1000000;
}

void namer__stats(struct namer *n, struct namer_stats *ret)
{
	struct symbolizer_stats ss;

	pthread_mutex_lock(&n->lock);
	*ret = n->stats;
	ret->build_ids = n->bids.len;
	ret->disk_bytes = n->disk_bytes;
	symbolizer__stats(n->sym, &ss);
	ret->memory_bytes = ss.bytes;
	pthread_mutex_unlock(&n->lock);
}

void namer_metrics(struct namer *n, struct buf *out)
{
	struct namer_stats st;

	namer__stats(n, &st);
	const struct {
		const char *label;
		uint64_t value;
	} frames[] = {
		{"result=\"named\"", st.frames_named},
		{"result=\"pending\"", st.frames_pending},
		{"result=\"no_debuginfo\"", st.frames_no_debuginfo},
		{"result=\"no_symbol\"", st.frames_no_symbol},
		{"result=\"failed\"", st.frames_failed},
	};
	const struct {
		const char *name, *type, *help;
		double value;
	} single[] = {
		{"sonde_collector_debuginfo_fetch_errors_total", "counter",
		 "Debug files that could not be fetched or were refused (store, disk, checks).",
		 (double)st.fetch_errors},
		{"sonde_collector_debuginfod_requests_total", "counter",
		 "Requests to the debuginfod servers of DEBUGINFOD_URLS.",
		 (double)st.debuginfod_requests},
		{"sonde_collector_debuginfod_found_total", "counter",
		 "Requests to debuginfod that found a file.", (double)st.debuginfod_found},
		{"sonde_collector_debuginfod_request_seconds_total", "counter",
		 "Time spent waiting for debuginfod (divide by requests for the mean latency).",
		 (double)st.debuginfod_ns / 1e9},
		{"sonde_collector_debuginfo_build_ids", "gauge",
		 "Build IDs this collector has looked for.", (double)st.build_ids},
		{"sonde_collector_debuginfo_cache_bytes", "gauge",
		 "Disk taken by local copies of debug files.", (double)st.disk_bytes},
		{"sonde_collector_debuginfo_cache_evictions_total", "counter",
		 "Local copies removed to keep --debuginfo-cache-size.", (double)st.evicted_files},
		{"sonde_collector_symbolizer_memory_bytes", "gauge",
		 "Memory of loaded symbol data (--symbolizer-memory).", (double)st.memory_bytes},
		{"sonde_collector_symbolize_seconds_total", "counter",
		 "Time queries spent naming frames, waits for debug files included.",
		 (double)st.name_ns / 1e9},
	};

	metric_header(out, "sonde_collector_symbolized_frames_total", "counter",
		      "Frames stored without a name, as queries found them: named, or why not.");
	for (size_t i = 0; i < ARRAY_SIZE(frames); i++)
		metric_value(out, "sonde_collector_symbolized_frames_total", frames[i].label,
			     (double)frames[i].value);
	metric_header(out, "sonde_collector_debuginfo_fetched_total", "counter",
		      "Debug files copied to this collector, by where they came from.");
	metric_value(out, "sonde_collector_debuginfo_fetched_total", "source=\"store\"",
		     (double)st.from_store);
	metric_value(out, "sonde_collector_debuginfo_fetched_total", "source=\"debuginfod\"",
		     (double)st.from_debuginfod);
	for (size_t i = 0; i < ARRAY_SIZE(single); i++)
		metric_single(out, single[i].name, single[i].type, single[i].help, single[i].value);
}

/* ---- naming --------------------------------------------------------------------------------- */

/* Frame types whose addresses are in a native file: a debug file can name them. */
static bool nameable_type(const char *t)
{
	return !*t || strcmp(t, "native") == 0 || strcmp(t, "go") == 0 || strcmp(t, "rust") == 0;
}

/* The bid of a build ID, made when new (lock held). NULL when not a GNU build ID or full. */
static struct bid *bid_of(struct namer *n, const char *build_id)
{
	char hex[DEBUGSTORE_MAX_HEX];
	struct bid *b;

	if (!debugstore_build_id_valid(build_id, hex))
		return NULL;
	b = hmap_get(&n->bids, hex_key(hex));
	if (b)
		return strcmp(b->hex, hex) == 0 ? b : NULL; /* another one with its hash: unnamed */
	if (n->bids.len >= MAX_BUILD_IDS)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	memcpy(b->hex, hex, sizeof(hex));
	b->len = (size_t)hex_decode(hex, b->raw, sizeof(b->raw));
	if (hmap_put(&n->bids, hex_key(hex), b)) {
		free(b);
		return NULL;
	}
	return b;
}

/*
 * The loaded segment a process mapping of [start, limit) at file offset off is: by the offset
 * where the file says where its segments are; a separate debug file does not (objcopy zeroes
 * their offsets and file sizes), so there, the executable segment of the mapping's size.
 */
static const struct elf_seg *mapped_segment(const struct elf_info *info, const struct sd_mapping *m)
{
	const struct elf_seg *exec = NULL;

	for (uint32_t i = 0; i < info->nsegs; i++) {
		const struct elf_seg *s = &info->segs[i];
		uint64_t first = s->vaddr & ~(uint64_t)4095;
		uint64_t size = ((s->vaddr + s->memsz + 4095) & ~(uint64_t)4095) - first;

		if (s->filesz && (s->offset & ~(uint64_t)4095) == (m->offset & ~(uint64_t)4095) &&
		    (s->flags & PF_X))
			return s;
		if ((s->flags & PF_X) && (!exec || size == m->limit - m->start))
			exec = s;
	}
	return exec;
}

/*
 * The file address of a location. The OpenTelemetry convention (and Sonde's agent) put file
 * addresses in native frames; pprof has process addresses, turned into file ones through the
 * mapping: the loader maps a segment's first page at the mapping's start.
 */
static uint64_t file_address(const struct bid *b, const struct sd_mapping *m,
			     const struct sd_location *l, bool typed)
{
	const struct elf_seg *seg;

	if (typed || !b->has_info || m->limit <= m->start || l->address < m->start ||
	    l->address >= m->limit)
		return l->address;
	seg = mapped_segment(&b->info, m);
	if (!seg)
		return l->address;
	/* the mapping may start pages into its segment: known where the file has the offsets */
	return l->address - m->start + (seg->vaddr & ~(uint64_t)4095) +
	       (seg->filesz ? m->offset - (seg->offset & ~(uint64_t)4095) : 0);
}

/* Gives location loc the frames of r. 0 or -ENOMEM. */
static int apply(struct svcdata *sd, uint32_t loc, const struct sym_result *r)
{
	struct sd_line lines[SYM_MAX_FRAMES];

	for (uint32_t i = 0; i < r->nframes; i++) {
		const struct sym_frame *f = &r->frames[i];
		const char *raw = f->raw_name ? f->raw_name : f->name;
		struct sd_function fn = {0};

		fn.name = svcdata__string(sd, f->name, strlen(f->name));
		fn.system_name = svcdata__string(sd, raw, strlen(raw));
		fn.filename = f->file ? svcdata__string(sd, f->file, strlen(f->file)) : 0;
		if (fn.name == UINT32_MAX || fn.system_name == UINT32_MAX ||
		    fn.filename == UINT32_MAX)
			return -ENOMEM;
		lines[i].function = svcdata__function(sd, &fn);
		if (lines[i].function == UINT32_MAX)
			return -ENOMEM;
		lines[i].line = f->line;
		lines[i].column = 0; /* as the agent names them: function, file and line */
	}
	return svcdata__set_lines(sd, loc, lines, r->nframes);
}

struct want {
	uint32_t loc;
	struct bid *bid;
	bool typed;
};

int namer__name(struct namer *n, struct svcdata *sd, uint64_t deadline_ns)
{
	uint64_t t0 = now_ns(), wait_end = t0 + (uint64_t)n->o.wait_ms * 1000000;
	struct bid **of_mapping = NULL;
	VEC(struct want) wants = {0};
	struct sym_result *r = NULL;
	bool named = false;
	int err = 0;

	if (!deadline_ns)
		deadline_ns = wait_end;
	of_mapping = calloc(sd->mappings.len ? sd->mappings.len : 1, sizeof(*of_mapping));
	r = malloc(sizeof(*r));
	if (!of_mapping || !r) {
		err = -ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&n->lock);
	for (size_t i = 1; i < sd->mappings.len; i++) {
		const char *id = strtab_get(&sd->strings, sd->mappings.v[i].build_id);

		if (*id)
			of_mapping[i] = bid_of(n, id);
	}
	for (size_t i = 1; i < sd->locations.len && !err; i++) {
		const struct sd_location *l = &sd->locations.v[i];
		const char *type = strtab_get(&sd->strings, l->frame_type);
		struct bid *b = of_mapping[l->mapping];
		struct want w = {(uint32_t)i, b, *type != 0};

		if (l->nlines || !b || !nameable_type(type))
			continue;
		if (VEC_PUSH(&wants, w))
			err = -ENOMEM;
		b->used_ns = now_ns();
		if (b->state == BID_NEW || (b->state == BID_ABSENT && now_ns() >= b->retry_ns)) {
			if (VEC_PUSH(&n->queue, b)) {
				err = -ENOMEM;
				break;
			}
			b->state = BID_FETCHING;
			pthread_cond_broadcast(&n->changed);
		}
	}
	/* the fetches this query needs, until its deadline */
	for (bool waiting = true; waiting && !err;) {
		struct timespec ts;
		uint64_t now = now_ns();

		waiting = false;
		for (size_t i = 0; i < wants.len && !waiting; i++)
			waiting = wants.v[i].bid->state == BID_FETCHING;
		if (!waiting || now >= deadline_ns)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		{
			uint64_t t = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec +
				     MIN(deadline_ns - now, 100 * 1000000ULL);

			ts.tv_sec = (time_t)(t / NSEC_PER_SEC);
			ts.tv_nsec = (long)(t % NSEC_PER_SEC);
		}
		pthread_cond_timedwait(&n->changed, &n->lock, &ts);
	}
	/* lookups; symbols still loading are waited for in short turns */
	for (int round = 0; !err; round++) {
		bool loading = false;

		for (size_t i = 0; i < wants.len && !err; i++) {
			struct want *w = &wants.v[i];
			const struct sd_mapping *m;
			int e;

			if (!w->bid || w->bid->state != BID_READY || !w->bid->mod)
				continue;
			m = &sd->mappings.v[sd->locations.v[w->loc].mapping];
			e = symbolizer__lookup(
				n->sym, w->bid->mod,
				file_address(w->bid, m, &sd->locations.v[w->loc], w->typed), r);
			if (e == -EAGAIN) {
				loading = true;
				continue;
			}
			if (e < 0 && w->bid->file_gone) {
				/*
				 * its file went from disk, and its symbols from memory (or were not
				 * in yet): fetch it again, then look again
				 */
				w->bid->state = BID_NEW;
				continue;
			}
			if (e == 0 && r->nframes) {
				err = apply(sd, w->loc, r);
				named = true;
				n->stats.frames_named++;
			} else if (e == -ENOENT) {
				n->stats.frames_no_symbol++;
			} else {
				n->stats.frames_failed++;
			}
			w->bid = NULL; /* done */
		}
		if (!loading || now_ns() >= deadline_ns)
			break;
		/* not holding the lock: other queries, the fetching thread, uploads go on */
		pthread_mutex_unlock(&n->lock);
		usleep(POLL_MS * 1000);
		pthread_mutex_lock(&n->lock);
	}
	for (size_t i = 0; i < wants.len; i++) {
		const struct bid *b = wants.v[i].bid;

		if (!b)
			continue;
		if (b->state == BID_ABSENT)
			n->stats.frames_no_debuginfo++;
		else
			n->stats.frames_pending++;
	}
	n->stats.name_ns += now_ns() - t0;
	pthread_mutex_unlock(&n->lock);
	if (named && !err)
		err = svcdata__rehash_locations(sd);
out:
	VEC_FREE(&wants);
	free(of_mapping);
	free(r);
	return err;
}
