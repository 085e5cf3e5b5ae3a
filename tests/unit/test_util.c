// SPDX-License-Identifier: Apache-2.0
/* common/util.c: number, size and duration parsing, strings, files. */
#include <errno.h>
#include <stdlib.h>

#include "unit.h"
#include "../../common/util.h"

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

/* sonde top's and the UI's way to fit a long (C++) name: its start and end around "…". */
static void test_elide_middle(void)
{
	char out[64];
	const char *name = "std::vector<int>::push_back(int const&)";

	CHECK_EQ_U64(str_elide_middle("short", 10, out, sizeof(out)), 5);
	CHECK_STR(out, "short");
	CHECK_EQ_U64(str_elide_middle("exactly10!", 10, out, sizeof(out)), 10);
	CHECK_STR(out, "exactly10!");
	/* 11 columns: 5 from the start, the ellipsis, 5 from the end; an odd extra goes to the end
	 */
	CHECK_EQ_U64(str_elide_middle(name, 11, out, sizeof(out)), 11);
	CHECK_STR(out, "std::\u2026nst&)");
	CHECK_EQ_U64(str_elide_middle(name, 12, out, sizeof(out)), 12);
	CHECK_STR(out, "std::\u2026onst&)");
	CHECK_EQ_U64(str_elide_middle(name, 1, out, sizeof(out)), 1);
	CHECK_STR(out, "\u2026");
	CHECK_EQ_U64(str_elide_middle(name, 0, out, sizeof(out)), 0);
	CHECK_STR(out, "");
	/* code points, not bytes: a multi-byte character is kept whole or dropped whole */
	CHECK_EQ_U64(str_elide_middle("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", 4, out, sizeof(out)),
		     4);
	CHECK_STR(out, "\u00e9\u2026\u00e9\u00e9");
	/* an output buffer too small for the promise truncates, and still terminates */
	str_elide_middle(name, 30, out, 8);
	CHECK_EQ_U64(strlen(out), 7);
}

int main(void)
{
	RUN(test_elide_middle);
	RUN(test_parse);
	RUN(test_strings);
	RUN(test_read_file);
	return unit_done();
}
