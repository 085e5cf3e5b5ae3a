// SPDX-License-Identifier: Apache-2.0
/* common/json.c: the strict pull reader, the string writer, UTF-8 checks. */
#include <errno.h>

#include <stdlib.h>

#include "unit.h"
#include "../../common/buf.h"
#include "../../common/json.h"
#include "../../common/util.h"

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
	RUN(test_json);
	RUN(test_json_string);
	RUN(test_utf8);
	return unit_done();
}
