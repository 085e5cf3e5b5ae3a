// SPDX-License-Identifier: Apache-2.0
/*
 * collector/objstore_dir: the directory backend, through the objstore interface, in a temporary
 * directory: reads, ranges, listings in key order, deletes, atomic replacement, the writer's lock
 * and the clean-up of what a crash left.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "../../collector/objstore.h"
#include "../../common/util.h"

static char tmpdir[] = "/tmp/sonde-test-objstore-dir.XXXXXX";

static int collect_key(void *ctx, const char *key, uint64_t size)
{
	struct buf *b = ctx;

	buf_printf(b, "%s:%llu,", key, (unsigned long long)size);
	return 0;
}

static void test_dir_basics(void)
{
	char url[128], err[256];
	struct objstore *s, *s2;
	struct buf b = {0};

	snprintf(url, sizeof(url), "file://%s/store", tmpdir);
	s = objstore__open(url, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(objstore__put(s, "t1/blocks/b.block", "hello world", 11) == 0);
	CHECK(objstore__put(s, "t1/blocks/a.block", "abc", 3) == 0);
	CHECK(objstore__put(s, "t2/x", "", 0) == 0);
	CHECK(objstore__get(s, "t1/blocks/b.block", 6, 5, &b) == 0);
	CHECK(b.len == 5 && memcmp(b.data, "world", 5) == 0);
	buf_reset(&b);
	CHECK(objstore__get(s, "t1/blocks/b.block", 0, UINT64_MAX, &b) == 0);
	CHECK_EQ_U64(b.len, 11);
	buf_reset(&b);
	CHECK(objstore__get(s, "t1/blocks/b.block", 6, 6, &b) == -ERANGE);
	CHECK(objstore__get(s, "t1/nothing", 0, 1, &b) == -ENOENT);
	CHECK(objstore__get(s, "../etc/passwd", 0, 1, &b) == -EINVAL);
	CHECK(objstore__put(s, "t1//x", "x", 1) == -EINVAL);
	CHECK(objstore__put(s, "/abs", "x", 1) == -EINVAL);
	CHECK(objstore__put(s, "t1/../x", "x", 1) == -EINVAL);
	CHECK(strstr(objstore_error(), "invalid object key") != NULL);

	buf_reset(&b);
	CHECK(objstore__list(s, "t1/", collect_key, &b) == 0);
	CHECK_STR(buf_cstr(&b), "t1/blocks/a.block:3,t1/blocks/b.block:11,");
	buf_reset(&b);
	CHECK(objstore__list(s, "", collect_key, &b) == 0);
	CHECK_STR(buf_cstr(&b), "t1/blocks/a.block:3,t1/blocks/b.block:11,t2/x:0,");
	buf_reset(&b);
	CHECK(objstore__list(s, "t1/blocks/b", collect_key, &b) == 0);
	CHECK_STR(buf_cstr(&b), "t1/blocks/b.block:11,");
	buf_reset(&b);
	CHECK(objstore__list_dirs(s, "", collect_key, &b) == 0);
	CHECK_STR(buf_cstr(&b), "t1:0,t2:0,");
	CHECK(objstore__delete(s, "t1/blocks/a.block") == 0);
	CHECK(objstore__delete(s, "t1/blocks/a.block") == 0); /* gone already: fine */
	buf_reset(&b);
	CHECK(objstore__list(s, "t1/", collect_key, &b) == 0);
	CHECK_STR(buf_cstr(&b), "t1/blocks/b.block:11,");

	/* one writer per directory; a crash's temporary files are cleaned by the next */
	CHECK(objstore__claim(s) == 0);
	s2 = objstore__open(url, err, sizeof(err));
	CHECK(s2 && objstore__claim(s2) == -EBUSY);
	CHECK(strstr(objstore_error(), "another collector") != NULL);
	objstore__free(s2);
	{
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "%s/store/.tmp/999-1", tmpdir);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0);
		close(fd);
		objstore__free(s);
		s = objstore__open(url, err, sizeof(err));
		CHECK(s && objstore__claim(s) == 0);
		CHECK(access(path, F_OK) != 0);
	}
	buf_free(&b);
	objstore__free(s);
}

/* The files under dir/sub, "name," each, sorted: what a crash or a put left on disk. */
static void dir_files(const char *sub, struct buf *out)
{
	char cmd[256];
	FILE *p;
	int c;

	buf_reset(out);
	snprintf(cmd, sizeof(cmd), "ls -A %s/store/%s 2>/dev/null | sort | tr '\\n' ,", tmpdir,
		 sub);
	p = popen(cmd, "r");
	if (!p)
		return;
	while ((c = fgetc(p)) != EOF)
		buf_putc(out, (uint8_t)c);
	pclose(p);
}

static int stop_at_second(void *ctx, const char *key, uint64_t size)
{
	int *n = ctx;

	(void)key;
	(void)size;
	return ++*n == 2 ? 42 : 0;
}

/* Replacing an object, objects in directories, what is never listed, and odd reads. */
static void test_dir_more(void)
{
	char url[128], err[256];
	struct objstore *s;
	struct buf b = {0}, files = {0};
	int n = 0;

	snprintf(url, sizeof(url), "%s/store", tmpdir); /* a bare path is a directory store */
	s = objstore__open(url, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(!objstore__is_s3(s));
	CHECK_STR(objstore__url(s), url);
	/* a put replaces the whole object and leaves no temporary file behind */
	CHECK(objstore__put(s, "r/obj", "first version", 13) == 0);
	CHECK(objstore__put(s, "r/obj", "second", 6) == 0);
	CHECK(objstore__get(s, "r/obj", 0, UINT64_MAX, &b) == 0);
	CHECK_STR(buf_cstr(&b), "second");
	dir_files(".tmp", &files);
	CHECK_STR(buf_cstr(&files), "");
	/* deep keys make their directories; a directory is not an object */
	CHECK(objstore__put(s, "r/a/b/c/d", "deep", 4) == 0);
	buf_reset(&b);
	CHECK(objstore__get(s, "r/a/b/c/d", 1, 3, &b) == 0);
	CHECK_STR(buf_cstr(&b), "eep");
	buf_reset(&b);
	CHECK(objstore__get(s, "r/a/b", 0, UINT64_MAX, &b) == -ENOENT);
	/* ranges: to the end from an offset; empty at the end; past it is -ERANGE */
	CHECK(objstore__get(s, "r/obj", 2, UINT64_MAX, &b) == 0);
	CHECK_STR(buf_cstr(&b), "cond");
	buf_reset(&b);
	CHECK(objstore__get(s, "r/obj", 6, 0, &b) == 0);
	CHECK_EQ_U64(b.len, 0);
	CHECK(objstore__get(s, "r/obj", 7, UINT64_MAX, &b) == -ERANGE);
	CHECK(objstore__get(s, "r/obj", UINT64_MAX - 1, 4, &b) == -ERANGE);
	CHECK(strstr(objstore_error(), "range past the end") != NULL);
	CHECK_EQ_U64(b.len, 0); /* nothing appended by a failed read */
	/* the lock file and temporary files are never listed, even with a stray file there */
	CHECK(objstore__claim(s) == 0);
	{
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "%s/store/.tmp/stray", tmpdir);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
	}
	buf_reset(&b);
	CHECK(objstore__list(s, "", collect_key, &b) == 0);
	CHECK(strstr(buf_cstr(&b), ".tmp") == NULL && strstr(buf_cstr(&b), ".lock") == NULL);
	CHECK(strstr(buf_cstr(&b), "r/a/b/c/d:4,") != NULL);
	/* directories under a prefix; a directory listing needs a prefix ending in '/' */
	buf_reset(&b);
	CHECK(objstore__list_dirs(s, "r/", collect_key, &b) == 0);
	CHECK_STR(buf_cstr(&b), "a:0,");
	CHECK(objstore__list_dirs(s, "r", collect_key, &b) == -EINVAL);
	CHECK(objstore__list(s, "../", collect_key, &b) == -EINVAL);
	/* a non-zero return from the callback stops the listing and is returned */
	CHECK(objstore__list(s, "", stop_at_second, &n) == 42);
	CHECK_EQ_U64(n, 2);
	/* key order, as S3 lists: "o/a-b" < "o/a.b" < "o/a/x" < "o/a0" ('-' < '.' < '/' < '0') */
	CHECK(objstore__put(s, "o/a0", "1", 1) == 0);
	CHECK(objstore__put(s, "o/a/x", "22", 2) == 0);
	CHECK(objstore__put(s, "o/a.b", "333", 3) == 0);
	CHECK(objstore__put(s, "o/a-b", "4444", 4) == 0);
	buf_reset(&b);
	CHECK(objstore__list(s, "o/", collect_key, &b) == 0);
	CHECK_STR(buf_cstr(&b), "o/a-b:4,o/a.b:3,o/a/x:2,o/a0:1,");
	buf_reset(&b);
	CHECK(objstore__list(s, "o/a", collect_key, &b) == 0);
	CHECK_STR(buf_cstr(&b), "o/a-b:4,o/a.b:3,o/a/x:2,o/a0:1,");
	/* a listing of a prefix nothing has is empty, not an error */
	buf_reset(&b);
	CHECK(objstore__list(s, "nothing/here/", collect_key, &b) == 0);
	CHECK_EQ_U64(b.len, 0);
	objstore__free(s);

	/* a storage path that is a file is refused with the reason */
	{
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "%s/a-file", tmpdir);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
		CHECK(objstore__open(path, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "cannot open the storage directory") != NULL);
	}
	buf_free(&b);
	buf_free(&files);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir))
		return 1;
	RUN(test_dir_basics);
	RUN(test_dir_more);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		return 1;
	return unit_done();
}
