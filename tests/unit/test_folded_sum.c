// SPDX-License-Identifier: Apache-2.0
/*
 * agent/folded_sum.c: the folded lines of every interval, summed per stack and written sorted
 * (the daemon's --output copy of what it shipped).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "../../agent/folded_sum.h"
#include "../../common/util.h"

static int add_text(struct folded_sum *fs, const char *text)
{
	struct buf b = {0};
	int err;

	buf_puts(&b, text);
	err = folded_sum__add(fs, &b);
	buf_free(&b);
	return err;
}

static void test_sum_and_order(void)
{
	struct folded_sum fs = {0};
	struct buf out = {0};

	CHECK(add_text(&fs, "main;b 3\nmain;a 2\n") == 0);
	/* a stack may hold spaces: the count is after the last one */
	CHECK(add_text(&fs, "main;a 5\nmain;operator new(unsigned long) 1\n") == 0);
	CHECK(add_text(&fs, "") == 0);
	CHECK(folded_sum__render(&fs, &out) == 0);
	CHECK_STR(buf_cstr(&out), "main;a 7\nmain;b 3\nmain;operator new(unsigned long) 1\n");
	buf_free(&out);
	folded_sum__free(&fs);
}

static void test_malformed_and_write(void)
{
	struct folded_sum fs = {0};
	char path[] = "/tmp/sonde-test-folded.XXXXXX", *text = NULL;
	size_t len = 0;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	CHECK(add_text(&fs, "nocount\n") == -EINVAL);
	CHECK(add_text(&fs, "x 1\npartial line without newline 4") == 0); /* the tail waits */
	CHECK(folded_sum__write(&fs, path) == 0);
	CHECK(read_file(-1, path, 1 << 20, &text, &len) == 0);
	CHECK_STR(text, "x 1\n");
	free(text);
	unlink(path);
	CHECK(folded_sum__write(&fs, "/nonexistent-dir/out.folded") < 0);
	folded_sum__free(&fs);
}

int main(void)
{
	RUN(test_sum_and_order);
	RUN(test_malformed_and_write);
	return unit_done();
}
