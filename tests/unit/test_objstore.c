// SPDX-License-Identifier: Apache-2.0
/* collector/objstore.c: the file backend (atomic puts, listing, the lock, errors). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "unit.h"
#include "../../collector/objstore.h"

static char tmpdir[] = "/tmp/sonde-test-objstore.XXXXXX";

static int collect_key(void *ctx, const char *key, uint64_t size)
{
	struct buf *b = ctx;

	buf_printf(b, "%s:%llu,", key, (unsigned long long)size);
	return 0;
}

static void test_objstore_file(void)
{
	char url[128], err[256];
	struct objstore *s, *s2;
	struct buf b = {0};

	snprintf(url, sizeof(url), "file://%s/store", tmpdir);
	s = objstore__open(url, err, sizeof(err));
	REQUIRE(s != NULL);
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
		REQUIRE(fd >= 0);
		close(fd);
		objstore__free(s);
		s = objstore__open(url, err, sizeof(err));
		CHECK(s && objstore__claim(s) == 0);
		CHECK(access(path, F_OK) != 0);
	}
	buf_free(&b);
	objstore__free(s);

	CHECK(objstore__open("ftp://x", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "unsupported storage URL") != NULL);
	unsetenv("AWS_ACCESS_KEY_ID");
	CHECK(objstore__open("s3://bucket/p", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "AWS_ACCESS_KEY_ID") != NULL);
	setenv("AWS_ACCESS_KEY_ID", "k", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
	CHECK(objstore__open("s3://bucket/p?endpont=x", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "unknown parameter 'endpont'") != NULL);
	s = objstore__open("s3://bucket/some/prefix?endpoint=http://127.0.0.1:1&path_style=true",
			   err, sizeof(err));
	CHECK(s && objstore__is_s3(s));
	objstore__free(s);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir))
		return 1;
	RUN(test_objstore_file);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		return 1;
	return unit_done();
}
