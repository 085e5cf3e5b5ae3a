/* SPDX-License-Identifier: Apache-2.0 */
/* What a piece of code writes to stderr (or stdout), for tests of messages and of the logger. */
#ifndef SONDE_CAPTURE_H
#define SONDE_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct capture {
	int fd; /* STDERR_FILENO or STDOUT_FILENO */
	int saved_fd;
	FILE *file;
};

/* From now on, fd goes to a temporary file. Returns 0 or -1. */
static inline int capture_begin(struct capture *c, int fd)
{
	fflush(stdout);
	fflush(stderr);
	c->fd = fd;
	c->file = tmpfile();
	c->saved_fd = dup(fd);
	if (!c->file || c->saved_fd < 0 || dup2(fileno(c->file), fd) < 0)
		return -1;
	return 0;
}

/* Restores fd; returns what was written (malloc'd, NUL-terminated; "" if nothing). */
static inline char *capture_end(struct capture *c)
{
	long n;
	char *out;

	fflush(stdout);
	fflush(stderr);
	dup2(c->saved_fd, c->fd);
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
