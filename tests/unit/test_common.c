// SPDX-License-Identifier: Apache-2.0
/* common/: hash tables, buffers and varints, number and duration parsing. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "../../common/json.h"
#include "../../common/bgcache.h"
#include "../../common/buf.h"
#include "../../common/hash.h"
#include "../../common/strtab.h"
#include "../../common/util.h"

struct ints {
	uint64_t *v;
	size_t n;
};

static bool int_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct ints *t = ctx;

	return t->v[idx] == *(const uint64_t *)key;
}

static void test_itab(void)
{
	struct itab t = {0};
	struct ints vals = {calloc(10000, sizeof(uint64_t)), 0};

	for (uint64_t i = 0; i < 10000; i++) {
		uint64_t key = i * 977;

		CHECK(itab_find(&t, hash_u64(key), int_eq, &vals, &key) == -1);
		vals.v[vals.n] = key;
		CHECK(itab_add(&t, hash_u64(key), (uint32_t)vals.n) == 0);
		vals.n++;
	}
	for (uint64_t i = 0; i < 10000; i++) {
		uint64_t key = i * 977;

		CHECK_EQ_U64(itab_find(&t, hash_u64(key), int_eq, &vals, &key), i);
	}
	CHECK_EQ_U64(t.len, 10000);
	itab_clear(&t);
	CHECK(itab_find(&t, hash_u64(0), int_eq, &vals, &vals.v[0]) == -1);
	itab_free(&t);
	free(vals.v);
}

static void test_hmap(void)
{
	struct hmap m = {0};
	static int values[5000];
	size_t pos = 0, seen = 0;
	uint64_t k;
	void *v;

	for (int i = 0; i < 5000; i++)
		CHECK(hmap_put(&m, (uint64_t)i * 3 + 1, &values[i]) == 0);
	CHECK_EQ_U64(m.len, 5000);
	for (int i = 0; i < 5000; i += 2)
		CHECK(hmap_del(&m, (uint64_t)i * 3 + 1) == &values[i]);
	CHECK(hmap_del(&m, 2) == NULL);
	for (int i = 0; i < 5000; i++)
		CHECK(hmap_get(&m, (uint64_t)i * 3 + 1) == (i % 2 ? &values[i] : NULL));
	while (hmap_next(&m, &pos, &k, &v)) {
		CHECK(v == &values[(k - 1) / 3]);
		seen++;
	}
	CHECK_EQ_U64(seen, 2500);
	CHECK(hmap_put(&m, 7, NULL) == -EINVAL);
	hmap_free(&m);
}

static void test_strtab(void)
{
	struct strtab t = {0};
	char name[32];

	CHECK_EQ_U64(strtab_intern(&t, "", 0), 0);
	CHECK_EQ_U64(strtab_intern(&t, "main", 4), 1);
	CHECK_EQ_U64(strtab_intern(&t, "mainx", 4), 1); /* by length, not by NUL */
	CHECK_EQ_U64(strtab_intern(&t, "hot_a", 5), 2);
	CHECK_EQ_U64(strtab_find(&t, "hot_a", 5), 2);
	CHECK_EQ_U64(strtab_find(&t, "hot_b", 5), STRTAB_NONE);
	CHECK_STR(strtab_get(&t, 1), "main");
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "fn_%d", i);
		CHECK_EQ_U64(strtab_intern(&t, name, strlen(name)), 3 + (uint64_t)i);
	}
	CHECK_EQ_U64(strtab_intern(&t, "fn_19999", 8), 3 + 19999);
	CHECK_EQ_U64(strtab_count(&t), 20003);
	strtab_clear(&t);
	CHECK_EQ_U64(strtab_count(&t), 0);
	CHECK_EQ_U64(strtab_intern(&t, "again", 5), 0);
	strtab_free(&t);
}

static void test_varint(void)
{
	static const int64_t vals[] = {0, 1, -1, 63, -64, 64, 300, -300, INT64_MAX, INT64_MIN};
	struct buf b = {0};
	struct cursor c;

	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		buf_put_svarint(&b, vals[i]);
		buf_put_uvarint(&b, (uint64_t)vals[i]);
	}
	buf_put_u32le(&b, 0xdeadbeef);
	buf_put_u64le(&b, 0x0123456789abcdefULL);
	c.p = b.data;
	c.end = b.data + b.len;
	c.err = false;
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		CHECK(cursor_svarint(&c) == vals[i]);
		CHECK(cursor_uvarint(&c) == (uint64_t)vals[i]);
	}
	CHECK_EQ_U64(cursor_u32le(&c), 0xdeadbeef);
	CHECK_EQ_U64(cursor_u64le(&c), 0x0123456789abcdefULL);
	CHECK(!c.err);
	cursor_uvarint(&c);
	CHECK(c.err); /* past the end */
	/* an unterminated varint is an error, not a read past the end */
	{
		uint8_t bad[3] = {0x80, 0x80, 0x80};
		struct cursor d = {bad, bad + 3, false};

		cursor_uvarint(&d);
		CHECK(d.err);
	}
	buf_free(&b);
}

static void test_buf(void)
{
	struct buf b = {0};
	size_t len;
	uint8_t *d;

	buf_printf(&b, "%s=%d", "x", 42);
	buf_puts(&b, ";");
	CHECK_STR(buf_cstr(&b), "x=42;");
	d = buf_steal(&b, &len);
	CHECK_EQ_U64(len, 5);
	CHECK(b.data == NULL && b.len == 0);
	free(d);
}

static void test_parse(void)
{
	uint64_t u;
	int64_t i;

	CHECK(parse_u64("42", &u) == 0 && u == 42);
	CHECK(parse_u64("0x10", &u) == 0 && u == 16);
	CHECK(parse_u64("-1", &u) == -EINVAL);
	CHECK(parse_u64("12abc", &u) == -EINVAL);
	CHECK(parse_u64("", &u) == -EINVAL);
	CHECK(parse_u64("99999999999999999999999", &u) == -ERANGE);
	CHECK(parse_i64("-5", &i) == 0 && i == -5);
	CHECK(parse_duration_ns("10", &u) == 0 && u == 10 * NSEC_PER_SEC);
	CHECK(parse_duration_ns("1.5s", &u) == 0 && u == 1500000000ULL);
	CHECK(parse_duration_ns("250ms", &u) == 0 && u == 250000000ULL);
	CHECK(parse_duration_ns("2m", &u) == 0 && u == 120 * NSEC_PER_SEC);
	CHECK(parse_duration_ns("1h", &u) == 0 && u == 3600 * NSEC_PER_SEC);
	CHECK(parse_duration_ns("5 s", &u) == -EINVAL);
	CHECK(parse_duration_ns("-1", &u) == -EINVAL);
	CHECK(parse_duration_ns("1y", &u) == -EINVAL);
	CHECK(parse_size("64K", &u) == 0 && u == 65536);
	CHECK(parse_size("8MiB", &u) == 0 && u == 8 << 20);
	CHECK(parse_size("1G", &u) == 0 && u == 1ULL << 30);
	CHECK(parse_size("12", &u) == 0 && u == 12);
	CHECK(parse_size("1T", &u) == -EINVAL);
}

static void test_strings(void)
{
	char small[4];
	uint8_t bytes[4];
	char hex[9];

	CHECK_EQ_U64(str_copy(small, "abcdef", sizeof(small)), 6);
	CHECK_STR(small, "abc");
	CHECK(str_starts_with("/proc/1/maps", "/proc/"));
	CHECK(str_ends_with("libc.so.6", ".so.6"));
	CHECK(!str_ends_with("a", "abc"));
	CHECK_STR(path_basename("/usr/lib/libc.so.6"), "libc.so.6");
	CHECK_STR(path_basename("vmlinux"), "vmlinux");
	hex_encode((const uint8_t *)"\x01\xab\xff\x00", 4, hex);
	CHECK_STR(hex, "01abff00");
	CHECK(hex_decode("01abFF00", bytes, sizeof(bytes)) == 4 && bytes[2] == 0xff);
	CHECK(hex_decode("0g", bytes, sizeof(bytes)) == -EINVAL);
	CHECK(hex_decode("abc", bytes, sizeof(bytes)) == -EINVAL);
	CHECK(hex_decode("0102030405", bytes, sizeof(bytes)) == -EINVAL);
}

static void test_read_file(void)
{
	char *data = NULL;
	size_t len;

	CHECK(read_file(-1, "/proc/self/status", 1 << 20, &data, &len) == 0);
	CHECK(data && strstr(data, "Name:") != NULL);
	free(data);
	CHECK(read_file(-1, "/proc/self/status", 10, &data, &len) == -EFBIG);
	CHECK(read_file(-1, "/nonexistent/file", 10, &data, &len) == -ENOENT);
}

struct bg_ctx {
	int builds;
	int frees;
};

/* Builds a value of arg bytes (arg 0 fails), slowly enough that a put can race it. */
static int bg_build(void *ctx, void *arg, void **ret_value, size_t *ret_bytes)
{
	struct bg_ctx *c = ctx;
	size_t n = (size_t)(uintptr_t)arg;

	__atomic_fetch_add(&c->builds, 1, __ATOMIC_RELAXED);
	usleep(2000);
	if (!n)
		return -EINVAL;
	*ret_value = malloc(n);
	*ret_bytes = n;
	return *ret_value ? 0 : -ENOMEM;
}

static void bg_free(void *ctx, void *value)
{
	((struct bg_ctx *)ctx)->frees++;
	free(value);
}

static void test_bgcache(void)
{
	struct bg_ctx ctx = {0};
	struct bgcache_opts o = {
		.max_bytes = 250, .build = bg_build, .free_value = bg_free, .ctx = &ctx};
	struct bgcache *c = bgcache__new(&o);
	struct bgcache_entry *a, *b, *lazy, *bad, *gone;
	struct bgcache_stats st;
	enum bgcache_state state;

	CHECK(c != NULL);
	a = bgcache__add(c, 1, (void *)100, false);
	b = bgcache__add(c, 2, (void *)100, false);
	lazy = bgcache__add(c, 3, (void *)100, true);
	bad = bgcache__add(c, 4, (void *)0, false);
	CHECK(bgcache__find(c, 1) == a);
	bgcache__put(c, a); /* the find's reference */
	CHECK(bgcache__find(c, 99) == NULL);
	CHECK(bgcache__wait(c, 5000) == 0);
	CHECK(ctx.builds == 3); /* not the lazy one */
	CHECK(bgcache__value(c, bad, &state) == NULL && state == BGCACHE_FAILED);
	CHECK(bgcache_entry__error(bad) == -EINVAL);
	CHECK(bgcache__value(c, a, &state) != NULL && state == BGCACHE_READY);
	/* the lazy entry builds when first asked for; 300 bytes in a budget of 250: b goes */
	CHECK(bgcache__value(c, lazy, &state) == NULL && state == BGCACHE_QUEUED);
	CHECK(bgcache__wait(c, 5000) == 0);
	CHECK(bgcache__value(c, lazy, &state) != NULL);
	bgcache__stats(c, &st);
	CHECK_EQ_U64(st.evictions, 1);
	/* b was the least recently used; asking for it queues its rebuild */
	CHECK(bgcache__value(c, b, &state) == NULL && state == BGCACHE_QUEUED);
	CHECK(st.bytes <= 250);
	/* an evicted entry asked for was queued: it comes back */
	CHECK(bgcache__wait(c, 5000) == 0);
	CHECK(bgcache__value(c, b, &state) != NULL);
	/* the last reference dropped while building: freed when the build returns */
	gone = bgcache__add(c, 5, (void *)10, false);
	bgcache__put(c, gone);
	CHECK(bgcache__wait(c, 5000) == 0);
	bgcache__stats(c, &st);
	CHECK_EQ_U64(st.entries, 4);
	bgcache__free(c);
	/* every built value freed exactly once: 100 x 4 builds of a, b (twice), lazy; 10 */
	CHECK(ctx.frees == ctx.builds - 1); /* the failed build made nothing */
}

static void test_json(void)
{
	static const char doc[] = " {\"a\": [1, -2.5e3, true, null, {\"x\": \"y\"}], \"s\": "
				  "\"q\\\"\\\\\\/\\n\\u00e9\\ud83d\\ude00\","
				  " \"n\": 9223372036854775807, \"m\": -9223372036854775808, "
				  "\"big\": 9223372036854775808,"
				  " \"f\": 1.5, \"b\": false, \"t\": 7 } ";
	struct json_reader r;
	char key[8], str[64];
	int64_t v = 0;
	bool b = true;
	size_t len = 0;
	int seen = 0;

	json_reader_init(&r, doc, strlen(doc));
	CHECK(json_peek(&r) == JSON_OBJECT);
	CHECK(json_object_begin(&r));
	while (json_object_next(&r, key, sizeof(key))) {
		seen++;
		if (strcmp(key, "s") == 0) {
			CHECK(json_read_string(&r, str, sizeof(str), &len) == 0);
			CHECK_STR(str, "q\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
			CHECK_EQ_U64(len, 11);
		} else if (strcmp(key, "n") == 0) {
			CHECK(json_read_i64(&r, &v) == 0 && v == INT64_MAX);
		} else if (strcmp(key, "m") == 0) {
			CHECK(json_read_i64(&r, &v) == 0 && v == INT64_MIN);
		} else if (strcmp(key, "big") == 0) {
			CHECK(json_read_i64(&r, &v) == -ERANGE);
		} else if (strcmp(key, "f") == 0) {
			CHECK(json_read_i64(&r, &v) == -ERANGE);
		} else if (strcmp(key, "b") == 0) {
			CHECK(json_read_bool(&r, &b) == 0 && !b);
		} else if (strcmp(key, "t") == 0) {
			/* a type mismatch is skipped, not an error of the document */
			CHECK(json_read_string(&r, str, sizeof(str), NULL) == -EINVAL);
			CHECK(r.err == 0);
		} else {
			json_skip(&r);
		}
	}
	CHECK_EQ_U64(seen, 8);
	CHECK(json_reader_finish(&r) == 0);

	/* too long for the buffer: -E2BIG, consumed */
	json_reader_init(&r, "[\"abcdef\", 1]", 13);
	CHECK(json_array_begin(&r) && json_array_next(&r));
	CHECK(json_read_string(&r, str, 4, NULL) == -E2BIG && str[0] == 0);
	CHECK(json_array_next(&r));
	CHECK(json_read_i64(&r, &v) == 0 && v == 1);
	CHECK(!json_array_next(&r));
	CHECK(json_reader_finish(&r) == 0);

	/* malformed documents are refused, whatever the walk */
	{
		static const char *const bad[] = {
			"",
			"{",
			"[1,]",
			"{\"a\":1,}",
			"{\"a\" 1}",
			"[1 2]",
			"{\"a\":01}",
			"\"\x01\"",
			"tru",
			"[1]]",
			"{\"a\":\"\\x\"}",
			"\"\\u12\"",
			"-",
			"1.",
			"1e",
			"[\"a\"",
			"{1:2}",
			"[1}",
			"nul",
			"{} x",
			"\"\xff\"",
			"\"\xc0\xaf\"",
			"\"\xed\xa0\x80\"",
			"\"\xf4\x90\x80\x80\"",
			"\"\xe2\x82\"",
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			json_reader_init(&r, bad[i], strlen(bad[i]));
			json_skip(&r);
			if (json_reader_finish(&r) == 0)
				fprintf(stderr, "accepted malformed JSON: %s\n", bad[i]);
			CHECK(json_reader_finish(&r) != 0);
		}
	}
	/* UTF-8 passes; a malformed string leaves nothing half-decoded behind */
	json_reader_init(&r, "\"\xe2\x82\xac \xf0\x9f\x98\x80\"", 11);
	CHECK(json_read_string(&r, str, sizeof(str), NULL) == 0);
	CHECK_STR(str, "\xe2\x82\xac \xf0\x9f\x98\x80");
	memset(str, 'X', sizeof(str));
	json_reader_init(&r, "\"abcdef\\u00\"", 13);
	CHECK(json_read_string(&r, str, sizeof(str), NULL) == -EINVAL);
	CHECK(str[0] == 0 && r.err == -EINVAL);

	/* nesting is bounded */
	{
		char deep[2 * (JSON_MAX_DEPTH + 2) + 1];
		size_t n = JSON_MAX_DEPTH + 2;

		memset(deep, '[', n);
		memset(deep + n, ']', n);
		deep[2 * n] = 0;
		json_reader_init(&r, deep, 2 * n);
		json_skip(&r);
		CHECK(json_reader_finish(&r) == -E2BIG);
		json_reader_init(&r, deep + 2, 2 * n - 4);
		json_skip(&r);
		CHECK(json_reader_finish(&r) == 0);
	}
}

/* The JSON writer: every string it writes reads back as the same bytes; exact escapes. */
static void test_json_string(void)
{
	static const char *const inputs[] = {"",
					     "plain",
					     "q\"uote",
					     "back\\slash",
					     "nl\ntab\t",
					     "\x01\x1f\x7f",
					     "caf\xc3\xa9 \xf0\x9f\x98\x80",
					     "</script>"};
	struct buf b = {0};

	json_string(&b, "a\"b\\c\n\x01/");
	CHECK_STR(buf_cstr(&b), "\"a\\\"b\\\\c\\u000a\\u0001/\"");
	/* always valid JSON: U+FFFD for bytes that are not UTF-8 (moved from test_engine) */
	buf_reset(&b);
	json_string(&b, "a\"\\\n\x01\xc3\xa9\xff\xfe\xc0\x80\xe2\x82");
	CHECK_STR(buf_cstr(&b),
		  "\"a\\\"\\\\\\u000a\\u0001\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct json_reader r;
		char back[64];

		buf_reset(&b);
		json_string(&b, inputs[i]);
		json_reader_init(&r, b.data, b.len);
		CHECK(json_read_string(&r, back, sizeof(back), NULL) == 0);
		CHECK(json_reader_finish(&r) == 0);
		CHECK_STR(back, inputs[i]);
	}
	buf_free(&b);
}

/* UTF-8 as the collector checks it at ingest and as its JSON writer must keep it */
static void test_utf8(void)
{
	const char ok[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5", bad[] = "x\xff\xfe\xc0\x80y\xc3";
	char *fixed;

	CHECK_EQ_U64(utf8_invalid_at(ok, strlen(ok)), strlen(ok));
	CHECK_EQ_U64(utf8_invalid_at(bad, strlen(bad)), 1);
	/* overlong, surrogate, past U+10FFFF */
	CHECK_EQ_U64(utf8_invalid_at("\xe0\x80\xaf", 3), 0);
	CHECK_EQ_U64(utf8_invalid_at("\xed\xa0\x80", 3), 0);
	CHECK_EQ_U64(utf8_invalid_at("\xf4\x90\x80\x80", 4), 0);
	fixed = utf8_fix(bad, strlen(bad));
	CHECK_STR(fixed, "x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdy\xef\xbf\xbd");
	free(fixed);
	fixed = utf8_fix(ok, strlen(ok));
	CHECK_STR(fixed, ok);
	free(fixed);
}

int main(void)
{
	RUN(test_itab);
	RUN(test_hmap);
	RUN(test_strtab);
	RUN(test_bgcache);
	RUN(test_varint);
	RUN(test_buf);
	RUN(test_parse);
	RUN(test_strings);
	RUN(test_read_file);
	RUN(test_json);
	RUN(test_json_string);
	RUN(test_utf8);
	return unit_done();
}
