/* SPDX-License-Identifier: Apache-2.0 */
/* What a piece of code writes to stderr, for tests of error messages and of the logger. */
#ifndef SONDE_CAPTURE_H
#define SONDE_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct capture {
	int saved_fd;
	FILE *file;
};

/* From now on, stderr goes to a temporary file. Returns 0 or -1. */
static inline int capture_begin(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	c->saved_fd = dup(STDERR_FILENO);
	if (!c->file || c->saved_fd < 0 || dup2(fileno(c->file), STDERR_FILENO) < 0)
		return -1;
	return 0;
}

/* Restores stderr; returns what was written (malloc'd, NUL-terminated; "" if nothing). */
static inline char *capture_end(struct capture *c)
{
	long n;
	char *out;

	fflush(stderr);
	dup2(c->saved_fd, STDERR_FILENO);
	close(c->saved_fd);
	n = ftell(c->file);
	out = calloc(1, n > 0 ? (size_t)n + 1 : 1);
	if (out && n > 0) {
		rewind(c->file);
		if (fread(out, 1, (size_t)n, c->file) != (size_t)n)
			out[0] = 0;
	}
	fclose(c->file);
	return out;
}

#endif
