/* SPDX-License-Identifier: Apache-2.0 */
/* Real binaries for the symbolizer's tests: built by the test into a temporary directory. */
#ifndef SONDE_BUILD_PROG_H
#define SONDE_BUILD_PROG_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static char build_dir[] = "/tmp/sonde-test-build.XXXXXX";

/* Runs a shell command (printf format) in build_dir. Returns its exit status, or -1. */
__attribute__((format(printf, 1, 2))) static inline int build_run(const char *fmt, ...)
{
	char cmd[2048];
	int n;
	va_list ap;

	n = snprintf(cmd, sizeof(cmd), "cd %s && ", build_dir);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	n = system(cmd);
	return n == -1 ? -1 : WEXITSTATUS(n);
}

/* Writes text to build_dir/name. Returns 0 or -1. */
static inline int build_write(const char *name, const char *text)
{
	char path[256];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/%s", build_dir, name);
	f = fopen(path, "we");
	if (!f)
		return -1;
	err = fputs(text, f) < 0;
	return fclose(f) || err ? -1 : 0;
}

static inline int build_dir_create(void)
{
	return mkdtemp(build_dir) ? 0 : -1;
}

static inline void build_dir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", build_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", build_dir);
}

#endif
