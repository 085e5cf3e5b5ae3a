// SPDX-License-Identifier: Apache-2.0
/*
 * The directory backend of object storage (file:///path or a bare path): an object is a file
 * under the root; PUT writes a temporary file, fsyncs it, renames it into place and fsyncs the
 * directory, so a reader sees the old object, none, or the whole new one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objstore_impl.h"
#include "../common/util.h"

#define TMP_DIR ".tmp" /* temporary files, never listed: not a valid first key component */
#define LOCK_FILE ".lock"

struct file_store {
	struct objstore base;
	char *root;
	int root_fd;
	int lock_fd;
	uint64_t tmp_seq;
	uint64_t tmp_tag; /* random, per store: temporary names unique across stores and hosts */
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
	/* two stores of one process (or of two hosts with the same pid on a shared filesystem)
	 * must never pick the same name: O_EXCL would fail the write */
	snprintf(tmp, sizeof(tmp), TMP_DIR "/%d-%016llx-%llu", getpid(),
		 (unsigned long long)f->tmp_tag, (unsigned long long)seq);
	err = make_parents(f, key);
	if (err)
		return objstore_fail(err, "cannot create the directories of %s/%s: %s", f->root,
				     key, strerror(-err));
	fd = openat(f->root_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	/* the first writes make the directory; two at once: one makes it, both use it */
	if (fd < 0 && errno == ENOENT &&
	    (mkdirat(f->root_fd, TMP_DIR, 0755) == 0 || errno == EEXIST))
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

static bool is_dir(int dirfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Walks dir (relative to the root; "" for the root), calling fn for files whose relative path
 * starts with prefix, in key order: names sorted, a directory's as its name followed by '/'
 * (its keys' next byte), so "a-b" < "a/x" < "a0" as S3 lists them.
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
		/* a directory sorts as its keys do: its name and '/' */
		name = NULL;
		if (asprintf(&name, "%s%s", de->d_name, is_dir(dirfd(d), de) ? "/" : "") < 0)
			name = NULL;
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

		n = (size_t)snprintf(path, sizeof(path), "%s%s%.*s", dir, dir[0] ? "/" : "",
				     (int)strcspn(names.v[i], "/"), names.v[i]);
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

struct objstore *objstore_dir_open(const char *path, char *err, size_t err_size)
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
	if (getrandom(&f->tmp_tag, sizeof(f->tmp_tag), 0) != sizeof(f->tmp_tag))
		f->tmp_tag = (uint64_t)clock_ns(CLOCK_MONOTONIC) ^ (uintptr_t)f;
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
