// SPDX-License-Identifier: Apache-2.0
/*
 * common/config.c: a YAML file of long option names becomes an argv (values, lists, flags), and
 * every mistake in it is refused with one line naming the file, the line or the key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "capture.h"
#include "../../common/config.h"

static const struct option opts[] = {
	{"frequency", required_argument, NULL, 'F'},
	{"pid", required_argument, NULL, 'p'},
	{"no-debuginfod", no_argument, NULL, 1},
	{"verbose", no_argument, NULL, 2},
	{"config", required_argument, NULL, 'c'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static char path[] = "/tmp/sonde-test-config.XXXXXX";

static void write_config(const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		close(fd);
	}
}

/* config_load_argv on text: its result, and what it printed into *ret_err (malloc'd). */
static int load(const char *text, int *argc, char ***argv, char **ret_err)
{
	struct capture c;
	int err;

	write_config(text);
	*argc = 0;
	*argv = NULL;
	if (capture_begin(&c, STDERR_FILENO))
		return -EIO;
	err = config_load_argv("prog", path, opts, argc, argv);
	*ret_err = capture_end(&c);
	return err;
}

static void test_path_in_argv(void)
{
	char *a1[] = {"prog", "-F", "9", "--config", "x.yaml", NULL};
	char *a2[] = {"prog", "--config=y.yaml", NULL};
	char *a3[] = {"prog", "-c", "z.yaml", "--pid", "1", NULL};
	char *a4[] = {"prog", "--pid", "1", NULL};
	char *a5[] = {"prog", "--config", NULL}; /* no value: not a path */

	CHECK_STR(config_path_in_argv(5, a1), "x.yaml");
	CHECK_STR(config_path_in_argv(2, a2), "y.yaml");
	CHECK_STR(config_path_in_argv(5, a3), "z.yaml");
	CHECK(config_path_in_argv(3, a4) == NULL);
	CHECK(config_path_in_argv(2, a5) == NULL);
}

static void test_load(void)
{
	char **argv, *err;
	int argc;

	REQUIRE(load("# a comment\n"
		     "frequency: 99\n"
		     "pid: [1, 2]\n"
		     "no-debuginfod: true\n"
		     "verbose: false\n",
		     &argc, &argv, &err) == 0);
	CHECK_STR(err, "");
	REQUIRE(argc == 5);
	CHECK_STR(argv[0], "prog");
	CHECK_STR(argv[1], "--frequency=99");
	CHECK_STR(argv[2], "--pid=1");
	CHECK_STR(argv[3], "--pid=2");
	CHECK_STR(argv[4], "--no-debuginfod");
	CHECK(argv[5] == NULL);
	config_free_argv(argc, argv);
	free(err);
	/* an empty file is no settings */
	REQUIRE(load("", &argc, &argv, &err) == 0);
	CHECK_EQ_U64(argc, 1);
	config_free_argv(argc, argv);
	free(err);
}

static void test_errors(void)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"frequncy: 99\n", "unknown key 'frequncy'"},
		{"help: true\n", "unknown key 'help'"},
		{"config: other.yaml\n", "unknown key 'config'"},
		{"verbose: maybe\n", "'verbose' takes true or false, not 'maybe'"},
		{"frequency: 99\npid: [1, 2\n", ":3: YAML error"}, /* where the parser gave up */
		{"- 1\n- 2\n", ":1: unexpected list"},
		{"just a string\n", "must be a mapping"},
		{"frequency:\n  nested: 1\n", "expected a value or a list"},
		{"pid: [[1]]\n", "unexpected list"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **argv, *err;
		int argc;

		CHECK(load(bad[i].text, &argc, &argv, &err) == -EINVAL);
		CHECK(err && strncmp(err, "prog: ", 6) == 0 && strstr(err, bad[i].msg) &&
		      strchr(err, '\n') == err + strlen(err) - 1);
		if (err && !strstr(err, bad[i].msg))
			fprintf(stderr, "  for %s  got: %s", bad[i].text, err);
		free(err);
	}
	/* a file that does not exist */
	{
		struct capture c;
		char **argv = NULL, *err;
		int argc = 0;

		REQUIRE(capture_begin(&c, STDERR_FILENO) == 0);
		CHECK(config_load_argv("prog", "/nonexistent/x.yaml", opts, &argc, &argv) ==
		      -EINVAL);
		err = capture_end(&c);
		CHECK(err && strstr(err, "cannot read config file /nonexistent/x.yaml"));
		free(err);
	}
}

int main(void)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);
	RUN(test_path_in_argv);
	RUN(test_load);
	RUN(test_errors);
	unlink(path);
	return unit_done();
}
