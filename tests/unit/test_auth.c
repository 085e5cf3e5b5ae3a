// SPDX-License-Identifier: Apache-2.0
/*
 * collector/auth.c: a token file maps bearer tokens to tenants; malformed files are refused
 * naming the file and line; headers that are missing, malformed or unknown give no tenant.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "../../collector/auth.h"

static char path[] = "/tmp/sonde-test-auth.XXXXXX";

static struct auth *load(const char *text, char *err, size_t size)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	err[0] = 0;
	return auth__load(path, err, size);
}

static void test_lookup(void)
{
	char err[512];
	struct auth *a = load("# tokens\n"
			      "\n"
			      "0123456789abcdef0123 team-a\n"
			      "zyxwvutsrqponmlkjihg team_b\n"
			      "   \n",
			      err, sizeof(err));

	REQUIRE(a != NULL);
	CHECK_EQ_U64(auth__count(a), 2);
	CHECK_STR(auth__tenant(a, "Bearer 0123456789abcdef0123"), "team-a");
	CHECK_STR(auth__tenant(a, "Bearer zyxwvutsrqponmlkjihg"), "team_b");
	CHECK(auth__tenant(a, NULL) == NULL);
	CHECK(auth__tenant(a, "") == NULL);
	CHECK(auth__tenant(a, "Bearer") == NULL);
	CHECK(auth__tenant(a, "Bearer ") == NULL);
	CHECK(auth__tenant(a, "Basic 0123456789abcdef0123") == NULL);
	CHECK(auth__tenant(a, "Bearer 0123456789abcdef012") == NULL);	/* a prefix */
	CHECK(auth__tenant(a, "Bearer 0123456789abcdef01234") == NULL); /* longer */
	CHECK(auth__tenant(a, "Bearer 0123456789abcdef0124") == NULL);	/* one byte off */
	auth__free(a);
	auth__free(NULL);
}

static void test_bad_files(void)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{"0123456789abcdef0123 team-a\nshort team-b\n", ":2"},
		{"0123456789abcdef0123\n", ":1"},
		{"0123456789abcdef0123 bad/tenant\n", ":1"},
		{"0123456789abcdef0123 a\n0123456789abcdef0123 b\n", ":2"},
	};
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct auth *a = load(bad[i].text, err, sizeof(err));

		CHECK(a == NULL);
		CHECK(strstr(err, path) && strstr(err, bad[i].msg));
		if (!strstr(err, bad[i].msg))
			fprintf(stderr, "  for %s  got: %s\n", bad[i].text, err);
		auth__free(a);
	}
	err[0] = 0;
	CHECK(auth__load("/nonexistent/tokens", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent/tokens") != NULL);
}

int main(void)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return 1;
	close(fd);
	RUN(test_lookup);
	RUN(test_bad_files);
	unlink(path);
	return unit_done();
}
