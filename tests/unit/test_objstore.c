// SPDX-License-Identifier: Apache-2.0
/*
 * collector/objstore: the interface over its backends (a real directory store here): backends
 * chosen by URL, keys and prefixes checked before a backend sees them, size limits, the
 * counters, and the read cache: hits, whole-object reads left out, a deleted key dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "collector_fixture.h"
#include "../../collector/objstore.h"
#include "../../common/util.h"

static void test_open(void)
{
	char err[256], url[128];
	struct objstore *s;
	struct fixture_store f;

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
	CHECK(objstore__open("", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "empty storage URL") != NULL);
	CHECK(objstore__open("file://", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "empty storage path") != NULL);
	/* never a secret in the URL logs show: user information is left out, the rest kept */
	s = objstore__open("s3://bucket/p?endpoint=http://user:secret@127.0.0.1:1&path_style=true",
			   err, sizeof(err));
	CHECK(s != NULL);
	if (s)
		CHECK_STR(objstore__url(s),
			  "s3://bucket/p?endpoint=http://...@127.0.0.1:1&path_style=true");
	objstore__free(s);
	if (!fixture_store_open(&f))
		return;
	snprintf(url, sizeof(url), "file://%s/a@b", f.dir);
	s = objstore__open(url, err, sizeof(err));
	CHECK(s != NULL);
	if (s)
		CHECK_STR(objstore__url(s), url); /* a path, no user information */
	objstore__free(s);
	fixture_store_close(&f);
	objstore__free(NULL);
}

static int count_keys(void *ctx, const char *key, uint64_t size)
{
	(void)key;
	(void)size;
	++*(int *)ctx;
	return 0;
}

/* Keys and prefixes a backend must never see, and the size limits. */
static void test_checks(void)
{
	static const char *const bad_keys[] = {"",	"/a",	    "a/",     "a//b",  "./a",
					       "a/./b", "../a",	    "a/../b", "a b",   "a\\b",
					       "a?b",	"\xc3\xa9", "a:b",    "a%2fb", "a\nb"};
	struct fixture_store f;
	struct objstore_stats st;
	struct buf b = {0};
	char key[OBJSTORE_MAX_KEY + 1];
	int n = 0;

	if (!fixture_store_open(&f))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(bad_keys); i++) {
		CHECK(!objstore_key_valid(bad_keys[i]));
		CHECK(objstore__put(f.store, bad_keys[i], "x", 1) == -EINVAL);
		CHECK(objstore__get(f.store, bad_keys[i], 0, 1, &b) == -EINVAL);
		CHECK(objstore__delete(f.store, bad_keys[i]) == -EINVAL);
	}
	CHECK(strstr(objstore_error(), "invalid object key") != NULL);
	CHECK(objstore_key_valid("Tenant-1/blocks/a_b.c-d.block"));
	CHECK(objstore_key_valid("..a/b..")); /* only whole components are special */
	memset(key, 'k', sizeof(key));
	key[OBJSTORE_MAX_KEY - 1] = 0;
	CHECK(objstore_key_valid(key));
	key[OBJSTORE_MAX_KEY - 1] = 'k';
	key[OBJSTORE_MAX_KEY] = 0;
	CHECK(!objstore_key_valid(key));
	/* prefixes: "", a key, or a key's leading part ending in '/' */
	CHECK(objstore__list(f.store, "", count_keys, &n) == 0);
	CHECK(objstore__list(f.store, "a/", count_keys, &n) == 0);
	CHECK(objstore__list(f.store, "a/b", count_keys, &n) == 0);
	CHECK(objstore__list(f.store, "a//", count_keys, &n) == -EINVAL);
	CHECK(objstore__list(f.store, "../", count_keys, &n) == -EINVAL);
	CHECK(objstore__list(f.store, "/", count_keys, &n) == -EINVAL);
	CHECK(objstore__list_dirs(f.store, "../", count_keys, &n) == -EINVAL);
	CHECK(strstr(objstore_error(), "invalid listing prefix") != NULL);
	CHECK_EQ_U64(n, 0);
	/* a read longer than the largest object is refused before the backend */
	CHECK(objstore__get(f.store, "a/b", 0, OBJSTORE_MAX_OBJECT + 1, &b) == -EFBIG);
	CHECK(strstr(objstore_error(), "over the limit") != NULL);
	/* refusals are not storage errors, nor operations */
	objstore__stats(f.store, &st);
	CHECK_EQ_U64(st.errors, 0);
	CHECK_EQ_U64(st.puts + st.gets + st.deletes, 0);
	CHECK_EQ_U64(st.lists, 2 + 1); /* the three valid listings */
	buf_free(&b);
	fixture_store_close(&f);
}

static void test_counters(void)
{
	struct fixture_store f;
	struct objstore_stats st;
	struct buf b = {0};
	int n = 0;

	if (!fixture_store_open(&f))
		return;
	CHECK(objstore__put(f.store, "t/a", "hello", 5) == 0);
	CHECK(objstore__put(f.store, "t/b", "hi", 2) == 0);
	CHECK(objstore__get(f.store, "t/a", 1, 3, &b) == 0);
	CHECK(objstore__get(f.store, "t/b", 0, UINT64_MAX, &b) == 0);
	CHECK_STR(buf_cstr(&b), "ellhi");
	CHECK(objstore__get(f.store, "t/none", 0, 1, &b) == -ENOENT); /* not an error */
	CHECK(objstore__get(f.store, "t/a", 4, 2, &b) == -ERANGE);    /* an error */
	CHECK_EQ_U64(b.len, 5);
	CHECK(objstore__list(f.store, "t/", count_keys, &n) == 0);
	CHECK_EQ_U64(n, 2);
	CHECK(objstore__delete(f.store, "t/b") == 0);
	CHECK(objstore__claim(f.store) == 0);
	objstore__stats(f.store, &st);
	CHECK_EQ_U64(st.puts, 2);
	CHECK_EQ_U64(st.bytes_put, 7);
	CHECK_EQ_U64(st.gets, 2);
	CHECK_EQ_U64(st.bytes_got, 5);
	CHECK_EQ_U64(st.lists, 1);
	CHECK_EQ_U64(st.deletes, 1);
	CHECK_EQ_U64(st.errors, 1);
	CHECK_EQ_U64(st.cache_hits + st.cache_misses + st.cache_bytes, 0); /* no cache */
	buf_free(&b);
	fixture_store_close(&f);
}

/* The read cache in the store: ranged reads only, and never a deleted object's bytes. */
static void test_cache(void)
{
	struct fixture_store f;
	struct objstore_stats st;
	struct buf b = {0};

	if (!fixture_store_open(&f))
		return;
	CHECK(objstore__set_cache(f.store, 1 << 20) == 0);
	CHECK(objstore__put(f.store, "t/a", "0123456789", 10) == 0);
	CHECK(objstore__get(f.store, "t/a", 2, 4, &b) == 0);
	CHECK(objstore__get(f.store, "t/a", 2, 4, &b) == 0);
	CHECK_STR(buf_cstr(&b), "23452345");
	objstore__stats(f.store, &st);
	CHECK_EQ_U64(st.cache_misses, 1);
	CHECK_EQ_U64(st.cache_hits, 1);
	CHECK(st.cache_bytes >= 4);
	CHECK_EQ_U64(st.gets, 1); /* the hit never reached the backend */
	/* whole-object reads are neither looked up nor kept */
	buf_reset(&b);
	CHECK(objstore__get(f.store, "t/a", 0, UINT64_MAX, &b) == 0);
	CHECK(objstore__get(f.store, "t/a", 0, UINT64_MAX, &b) == 0);
	objstore__stats(f.store, &st);
	CHECK_EQ_U64(st.cache_misses + st.cache_hits, 2);
	CHECK_EQ_U64(st.gets, 3);
	/* a failed read is not kept */
	CHECK(objstore__get(f.store, "t/a", 8, 4, &b) == -ERANGE);
	CHECK(objstore__get(f.store, "t/a", 8, 4, &b) == -ERANGE);
	/* deleted, then written again with other bytes: the read sees the new ones */
	CHECK(objstore__delete(f.store, "t/a") == 0);
	objstore__stats(f.store, &st);
	CHECK_EQ_U64(st.cache_bytes, 0);
	buf_reset(&b);
	CHECK(objstore__get(f.store, "t/a", 2, 4, &b) == -ENOENT);
	CHECK(objstore__put(f.store, "t/a", "abcdefghij", 10) == 0);
	CHECK(objstore__get(f.store, "t/a", 2, 4, &b) == 0);
	CHECK_STR(buf_cstr(&b), "cdef");
	buf_free(&b);
	fixture_store_close(&f);
}

int main(void)
{
	RUN(test_open);
	RUN(test_checks);
	RUN(test_counters);
	RUN(test_cache);
	return unit_done();
}
