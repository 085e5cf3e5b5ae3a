// SPDX-License-Identifier: Apache-2.0
/* common/log.c: logfmt lines, levels, and a message that cannot break its line or its quotes. */
#include <errno.h>
#include <regex.h>

#include "unit.h"
#include "capture.h"
#include "../../common/log.h"

static bool matches(const char *s, const char *re)
{
	regex_t r;
	bool ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB))
		return false;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static void test_lines(void)
{
	struct capture c;
	char *out;

	REQUIRE(capture_begin(&c, STDERR_FILENO) == 0);
	log_set_level(LOG_INFO);
	log_info("collector started", "addr=%s port=%d", "127.0.0.1", 4040);
	log_warn("a \"quoted\" name\nand a second line");
	log_debug("not shown at info", "x=%d", 1);
	log_set_level(LOG_DEBUG);
	log_debug("shown at debug");
	log_set_level(LOG_ERROR);
	log_warn("not shown at error");
	log_error("failed", "err=%s", "boom");
	out = capture_end(&c);
	REQUIRE(out != NULL);
	CHECK(matches(out,
		      "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
		      "level=info msg=\"collector started\" addr=127\\.0\\.0\\.1 port=4040\n"));
	CHECK(strstr(out, "level=warn msg=\"a \\\"quoted\\\" name and a second line\"\n") != NULL);
	CHECK(strstr(out, "level=debug msg=\"shown at debug\"\n") != NULL);
	CHECK(strstr(out, "level=error msg=\"failed\" err=boom\n") != NULL);
	CHECK(strstr(out, "not shown") == NULL);
	{
		int lines = 0;

		for (const char *p = out; *p; p++)
			lines += *p == '\n';
		CHECK_EQ_U64(lines, 4);
	}
	free(out);
	log_set_level(LOG_INFO);
}

static void test_levels(void)
{
	enum log_level l = LOG_ERROR;

	CHECK(log_parse_level("debug", &l) == 0 && l == LOG_DEBUG);
	CHECK(log_parse_level("warn", &l) == 0 && l == LOG_WARN);
	CHECK(log_parse_level("error", &l) == 0 && l == LOG_ERROR);
	CHECK(log_parse_level("info", &l) == 0 && l == LOG_INFO);
	CHECK(log_parse_level("INFO", &l) == -EINVAL);
	CHECK(log_parse_level("", &l) == -EINVAL);
	CHECK(l == LOG_INFO); /* untouched on failure */
	log_set_level(LOG_WARN);
	CHECK(log_get_level() == LOG_WARN);
	log_set_level(LOG_INFO);
}

int main(void)
{
	RUN(test_lines);
	RUN(test_levels);
	return unit_done();
}
