// SPDX-License-Identifier: Apache-2.0
/* Object storage: the interface, and the file backend. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objstore_impl.h"
#include "../common/hash.h"
#include "../common/util.h"

static void cache_free(struct objcache *c);

static __thread char last_error[512];

int objstore_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *objstore_error(void)
{
	return last_error;
}

void objstore_count(struct objstore *s, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&s->stats_lock);
	*counter += n;
	pthread_mutex_unlock(&s->stats_lock);
}

bool objstore_key_valid(const char *key)
{
	const char *comp = key;
	size_t n = strlen(key);

	if (n == 0 || n >= OBJSTORE_MAX_KEY)
		return false;
	for (const char *p = key;; p++) {
		if (*p == '/' || !*p) {
			size_t len = (size_t)(p - comp);

			if (len == 0 || (len == 1 && comp[0] == '.') ||
			    (len == 2 && comp[0] == '.' && comp[1] == '.'))
				return false;
			if (!*p)
				return true;
			comp = p + 1;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	}
}

/* A listing prefix: a key, or a key's leading part ending in '/', or "". */
static bool prefix_valid(const char *prefix)
{
	char tmp[OBJSTORE_MAX_KEY];
	size_t n = strlen(prefix);

	if (n == 0)
		return true;
	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, prefix, n + 1);
	if (tmp[n - 1] == '/')
		tmp[n - 1] = 0;
	return objstore_key_valid(tmp);
}

struct objstore *objstore__open(const char *url, char *err, size_t err_size)
{
	struct objstore *s;

	if (!url || !*url) {
		snprintf(err, err_size, "empty storage URL");
		return NULL;
	}
	if (strncmp(url, "s3://", 5) == 0)
		s = objstore_s3_open(url, err, err_size);
	else if (strncmp(url, "file://", 7) == 0)
		s = objstore_file_open(url + 7, err, err_size);
	else if (strstr(url, "://"))
		s = (snprintf(err, err_size,
			      "unsupported storage URL '%s': use file:///PATH, a path, or "
			      "s3://BUCKET/PREFIX",
			      url),
		     NULL);
	else
		s = objstore_file_open(url, err, err_size);
	if (!s)
		return NULL;
	s->url = strdup(url);
	/* never log credentials someone put in the URL */
	if (s->url && strchr(s->url, '@'))
		strcpy(strchr(s->url, '@'), "@...");
	pthread_mutex_init(&s->stats_lock, NULL);
	return s;
}

void objstore__free(struct objstore *s)
{
	char *url;

	if (!s)
		return;
	url = s->url;
	cache_free(s->cache);
	pthread_mutex_destroy(&s->stats_lock);
	s->ops->free(s);
	free(url);
}

const char *objstore__url(const struct objstore *s)
{
	return s->url ? s->url : "?";
}

int objstore__put(struct objstore *s, const char *key, const void *data, size_t len)
{
	int err;

	if (!objstore_key_valid(key))
		return objstore_fail(-EINVAL, "invalid object key '%s'", key);
	if (len > OBJSTORE_MAX_OBJECT)
		return objstore_fail(-EFBIG, "object of %zu bytes is over the limit", len);
	err = s->ops->put(s, key, data, len);
	pthread_mutex_lock(&s->stats_lock);
	if (err) {
		s->stats.errors++;
	} else {
		s->stats.puts++;
		s->stats.bytes_put += len;
	}
	pthread_mutex_unlock(&s->stats_lock);
	return err;
}

/* ---- the read cache: an LRU list and a hash map of (key, offset, length) ------------------------
 */

struct centry {
	struct centry *prev, *next; /* most recently used first */
	uint64_t hash;
	uint64_t off, len;
	char *key;
	uint8_t *data;
};

struct objcache {
	pthread_mutex_t lock;
	struct hmap map; /* hash -> entry (collisions: the entry is checked, a miss replaces it) */
	struct centry head; /* the list's sentinel */
	uint64_t bytes, max_bytes;
};

static uint64_t centry_hash(const char *key, uint64_t off, uint64_t len)
{
	return (hash_bytes(key, strlen(key), off * 31 + len) | 1);
}

static void centry_unlink(struct objcache *c, struct centry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	c->bytes -= e->len + sizeof(*e) + strlen(e->key);
}

static void centry_free(struct objcache *c, struct centry *e)
{
	centry_unlink(c, e);
	hmap_del(&c->map, e->hash);
	free(e->key);
	free(e->data);
	free(e);
}

int objstore__set_cache(struct objstore *s, uint64_t max_bytes)
{
	struct objcache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->head.prev = c->head.next = &c->head;
	c->max_bytes = max_bytes;
	s->cache = c;
	return 0;
}

static void cache_free(struct objcache *c)
{
	if (!c)
		return;
	while (c->head.next != &c->head)
		centry_free(c, c->head.next);
	hmap_free(&c->map);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static bool cache_get(struct objstore *s, const char *key, uint64_t off, uint64_t len,
		      struct buf *out)
{
	struct objcache *c = s->cache;
	uint64_t h = centry_hash(key, off, len);
	struct centry *e;
	bool hit = false;

	pthread_mutex_lock(&c->lock);
	e = hmap_get(&c->map, h);
	if (e && e->off == off && e->len == len && strcmp(e->key, key) == 0) {
		buf_append(out, e->data, e->len);
		hit = !out->oom;
		/* to the front */
		e->prev->next = e->next;
		e->next->prev = e->prev;
		e->next = c->head.next;
		e->prev = &c->head;
		c->head.next->prev = e;
		c->head.next = e;
	}
	pthread_mutex_unlock(&c->lock);
	objstore_count(s, hit ? &s->stats.cache_hits : &s->stats.cache_misses, 1);
	return hit;
}

static void cache_put(struct objstore *s, const char *key, uint64_t off, const uint8_t *data,
		      uint64_t len)
{
	struct objcache *c = s->cache;
	uint64_t size = len + sizeof(struct centry) + strlen(key);
	struct centry *e, *old;

	if (size > c->max_bytes / 4)
		return; /* one entry may not flush the cache */
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->key = strdup(key);
	e->data = malloc(len ? len : 1);
	if (!e->key || !e->data) {
		free(e->key);
		free(e->data);
		free(e);
		return;
	}
	memcpy(e->data, data, len);
	e->off = off;
	e->len = len;
	e->hash = centry_hash(key, off, len);
	pthread_mutex_lock(&c->lock);
	old = hmap_get(&c->map, e->hash);
	if (old)
		centry_free(c, old);
	if (hmap_put(&c->map, e->hash, e)) {
		pthread_mutex_unlock(&c->lock);
		free(e->key);
		free(e->data);
		free(e);
		return;
	}
	e->next = c->head.next;
	e->prev = &c->head;
	c->head.next->prev = e;
	c->head.next = e;
	c->bytes += size;
	while (c->bytes > c->max_bytes && c->head.prev != &c->head)
		centry_free(c, c->head.prev);
	pthread_mutex_unlock(&c->lock);
}

static void cache_drop_key(struct objcache *c, const char *key)
{
	pthread_mutex_lock(&c->lock);
	for (struct centry *e = c->head.next, *next; e != &c->head; e = next) {
		next = e->next;
		if (strcmp(e->key, key) == 0)
			centry_free(c, e);
	}
	pthread_mutex_unlock(&c->lock);
}

int objstore__get(struct objstore *s, const char *key, uint64_t off, uint64_t len, struct buf *out)
{
	size_t before = out->len;
	int err;

	if (!objstore_key_valid(key))
		return objstore_fail(-EINVAL, "invalid object key '%s'", key);
	if (len != UINT64_MAX && len > OBJSTORE_MAX_OBJECT)
		return objstore_fail(-EFBIG, "a read of %llu bytes is over the limit",
				     (unsigned long long)len);
	if (s->cache && len != UINT64_MAX && cache_get(s, key, off, len, out))
		return 0;
	err = s->ops->get(s, key, off, len, out);
	if (!err && s->cache && len != UINT64_MAX && out->len - before == len)
		cache_put(s, key, off, out->data + before, len);
	pthread_mutex_lock(&s->stats_lock);
	if (err && err != -ENOENT) {
		s->stats.errors++;
	} else if (!err) {
		s->stats.gets++;
		s->stats.bytes_got += out->len - before;
	}
	pthread_mutex_unlock(&s->stats_lock);
	if (err)
		out->len = before;
	return err;
}

static int list(struct objstore *s, const char *prefix, bool dirs, objstore_list_fn fn, void *ctx)
{
	int err;

	if (!prefix_valid(prefix))
		return objstore_fail(-EINVAL, "invalid listing prefix '%s'", prefix);
	err = s->ops->list(s, prefix, dirs, fn, ctx);
	objstore_count(s, err < 0 ? &s->stats.errors : &s->stats.lists, 1);
	return err;
}

int objstore__list(struct objstore *s, const char *prefix, objstore_list_fn fn, void *ctx)
{
	return list(s, prefix, false, fn, ctx);
}

int objstore__list_dirs(struct objstore *s, const char *prefix, objstore_list_fn fn, void *ctx)
{
	return list(s, prefix, true, fn, ctx);
}

int objstore__delete(struct objstore *s, const char *key)
{
	int err;

	if (!objstore_key_valid(key))
		return objstore_fail(-EINVAL, "invalid object key '%s'", key);
	if (s->cache)
		cache_drop_key(s->cache, key);
	err = s->ops->del(s, key);
	objstore_count(s, err ? &s->stats.errors : &s->stats.deletes, 1);
	return err;
}

int objstore__claim(struct objstore *s)
{
	return s->ops->claim ? s->ops->claim(s) : 0;
}

void objstore__stats(struct objstore *s, struct objstore_stats *ret)
{
	pthread_mutex_lock(&s->stats_lock);
	*ret = s->stats;
	pthread_mutex_unlock(&s->stats_lock);
	if (s->cache) {
		pthread_mutex_lock(&s->cache->lock);
		ret->cache_bytes = s->cache->bytes;
		pthread_mutex_unlock(&s->cache->lock);
	}
}

/* ---- file:// ------------------------------------------------------------------------------ */

#define TMP_DIR ".tmp" /* temporary files, never listed: not a valid first key component */
#define LOCK_FILE ".lock"

struct file_store {
	struct objstore base;
	char *root;
	int root_fd;
	int lock_fd;
	uint64_t tmp_seq;
	pthread_mutex_t lock;
};

static void file_free(struct objstore *s)
{
	struct file_store *f = (struct file_store *)s;

	if (f->root_fd >= 0)
		close(f->root_fd);
	if (f->lock_fd >= 0)
		close(f->lock_fd);
	pthread_mutex_destroy(&f->lock);
	free(f->root);
	free(f);
}

static int fsync_dir_at(int dirfd, const char *dir)
{
	int fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

/* Creates the directories leading to key (relative to the root), fsyncing each new one's parent. */
static int make_parents(struct file_store *f, const char *key)
{
	char path[OBJSTORE_MAX_KEY];

	str_copy(path, key, sizeof(path));
	for (char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		if (mkdirat(f->root_fd, path, 0755) == 0) {
			char *slash = strrchr(path, '/');
			int err;

			if (slash) {
				*slash = 0;
				err = fsync_dir_at(f->root_fd, path);
				*slash = '/';
			} else {
				err = fsync(f->root_fd) ? -errno : 0;
			}
			if (err)
				return err;
		} else if (errno != EEXIST) {
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

static int file_put(struct objstore *s, const char *key, const void *data, size_t len)
{
	struct file_store *f = (struct file_store *)s;
	char tmp[64], dir[OBJSTORE_MAX_KEY], *slash;
	const uint8_t *p = data;
	size_t left = len;
	uint64_t seq;
	int fd, err = 0;

	pthread_mutex_lock(&f->lock);
	seq = ++f->tmp_seq;
	pthread_mutex_unlock(&f->lock);
	snprintf(tmp, sizeof(tmp), TMP_DIR "/%d-%llu", getpid(), (unsigned long long)seq);
	err = make_parents(f, key);
	if (err)
		return objstore_fail(err, "cannot create the directories of %s/%s: %s", f->root,
				     key, strerror(-err));
	fd = openat(f->root_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT && mkdirat(f->root_fd, TMP_DIR, 0755) == 0)
		fd = openat(f->root_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		return objstore_fail(err, "cannot create %s/%s: %s", f->root, tmp, strerror(-err));
	}
	while (left) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(f->root_fd, tmp, f->root_fd, key))
		err = -errno;
	if (err) {
		unlinkat(f->root_fd, tmp, 0);
		return objstore_fail(err, "cannot write %s/%s: %s", f->root, key, strerror(-err));
	}
	/* the rename is durable once the directory is */
	str_copy(dir, key, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		err = fsync_dir_at(f->root_fd, dir);
	} else {
		err = fsync(f->root_fd) ? -errno : 0;
	}
	if (err)
		return objstore_fail(err, "cannot sync the directory of %s/%s: %s", f->root, key,
				     strerror(-err));
	return 0;
}

static int file_get(struct objstore *s, const char *key, uint64_t off, uint64_t len,
		    struct buf *out)
{
	struct file_store *f = (struct file_store *)s;
	int fd = openat(f->root_fd, key, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int err = 0;

	if (fd < 0) {
		err = -errno;
		return objstore_fail(err, "cannot open %s/%s: %s", f->root, key, strerror(-err));
	}
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -ENOENT;
		goto out;
	}
	if (off > (uint64_t)st.st_size || (len != UINT64_MAX && off + len > (uint64_t)st.st_size)) {
		err = -ERANGE;
		goto out;
	}
	if (len == UINT64_MAX)
		len = (uint64_t)st.st_size - off;
	if (len > OBJSTORE_MAX_OBJECT) {
		err = -EFBIG;
		goto out;
	}
	if (buf_reserve(out, len)) {
		err = -ENOMEM;
		goto out;
	}
	while (len) {
		ssize_t n = pread(fd, out->data + out->len, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		out->len += (size_t)n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
out:
	close(fd);
	if (err)
		return objstore_fail(err, "cannot read %s/%s: %s", f->root, key,
				     err == -ERANGE ? "range past the end" : strerror(-err));
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Walks dir (relative to the root; "" for the root), calling fn for files whose relative path
 * starts with prefix, in key order (names sorted; a directory's entries go under its name
 * followed by '/', which sorts as the byte it is).
 */
static int walk(struct file_store *f, const char *dir, const char *prefix, bool dirs,
		objstore_list_fn fn, void *ctx)
{
	int fd = dir[0] ? openat(f->root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
			: dup(f->root_fd);
	VEC(char *) names = {0};
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		return err;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		char *name;

		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (!dir[0] &&
		    (strcmp(de->d_name, TMP_DIR) == 0 || strcmp(de->d_name, LOCK_FILE) == 0))
			continue;
		name = strdup(de->d_name);
		if (!name || VEC_PUSH(&names, name)) {
			free(name);
			err = -ENOMEM;
			break;
		}
	}
	closedir(d);
	if (names.len)
		qsort(names.v, names.len, sizeof(*names.v), name_cmp);
	for (size_t i = 0; i < names.len && !err; i++) {
		char path[OBJSTORE_MAX_KEY];
		size_t plen = strlen(prefix), n;
		struct stat st;

		n = (size_t)snprintf(path, sizeof(path), "%s%s%s", dir, dir[0] ? "/" : "",
				     names.v[i]);
		if (n >= sizeof(path) || !objstore_key_valid(path))
			continue; /* not ours */
		/* skip what the prefix rules out: neither a prefix of it nor under it */
		if (strncmp(path, prefix, MIN(n, plen)) != 0)
			continue;
		if (fstatat(f->root_fd, path, &st, AT_SYMLINK_NOFOLLOW))
			continue; /* deleted meanwhile */
		if (S_ISDIR(st.st_mode)) {
			if (dirs && n >= plen) {
				err = fn(ctx, path + plen, 0);
				continue;
			}
			err = walk(f, path, prefix, dirs, fn, ctx);
		} else if (S_ISREG(st.st_mode) && n >= plen && !dirs) {
			err = fn(ctx, path, (uint64_t)st.st_size);
		}
	}
	for (size_t i = 0; i < names.len; i++)
		free(names.v[i]);
	VEC_FREE(&names);
	return err;
}

static int file_list(struct objstore *s, const char *prefix, bool dirs, objstore_list_fn fn,
		     void *ctx)
{
	struct file_store *f = (struct file_store *)s;
	char dir[OBJSTORE_MAX_KEY], *slash;
	int err;

	/* start at the deepest directory the prefix names */
	str_copy(dir, prefix, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		dir[0] = 0;
	if (dirs && prefix[0] && prefix[strlen(prefix) - 1] != '/')
		return objstore_fail(-EINVAL, "a directory listing takes a prefix ending in '/'");
	err = walk(f, dir, prefix, dirs, fn, ctx);
	if (err < 0)
		return objstore_fail(err, "cannot list %s/%s: %s", f->root, prefix, strerror(-err));
	return err;
}

static int file_del(struct objstore *s, const char *key)
{
	struct file_store *f = (struct file_store *)s;
	int err;

	if (unlinkat(f->root_fd, key, 0) && errno != ENOENT) {
		err = -errno;
		return objstore_fail(err, "cannot delete %s/%s: %s", f->root, key, strerror(-err));
	}
	return 0;
}

static int file_claim(struct objstore *s)
{
	struct file_store *f = (struct file_store *)s;
	int fd, err;
	DIR *d;
	struct dirent *de;

	fd = openat(f->root_fd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		return objstore_fail(err, "cannot create %s/" LOCK_FILE ": %s", f->root,
				     strerror(-err));
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		close(fd);
		if (err == -EWOULDBLOCK)
			return objstore_fail(-EBUSY, "another collector is using %s", f->root);
		return objstore_fail(err, "cannot lock %s/" LOCK_FILE ": %s", f->root,
				     strerror(-err));
	}
	f->lock_fd = fd;
	/* what a crash left half-written: never renamed into place, so never seen by readers */
	fd = openat(f->root_fd, TMP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	return 0;
}

static const struct objstore_ops file_ops = {
	.put = file_put,
	.get = file_get,
	.list = file_list,
	.del = file_del,
	.claim = file_claim,
	.free = file_free,
};

struct objstore *objstore_file_open(const char *path, char *err, size_t err_size)
{
	struct file_store *f;

	if (!path[0]) {
		snprintf(err, err_size, "empty storage path");
		return NULL;
	}
	if (mkdir(path, 0755) && errno != EEXIST) {
		snprintf(err, err_size, "cannot create the storage directory %s: %s", path,
			 strerror(errno));
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	f->base.ops = &file_ops;
	f->lock_fd = -1;
	pthread_mutex_init(&f->lock, NULL);
	f->root = strdup(path);
	f->root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->root_fd < 0 || !f->root) {
		snprintf(err, err_size, "cannot open the storage directory %s: %s", path,
			 f->root ? strerror(errno) : "out of memory");
		file_free(&f->base);
		return NULL;
	}
	return &f->base;
}
