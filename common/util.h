/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SONDE_UTIL_H
#define SONDE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define NSEC_PER_SEC 1000000000ULL

static inline uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/*
 * Reads at most max bytes of a file (or of dirfd-relative path when dirfd >= 0). The result is
 * NUL-terminated; *ret_len excludes the NUL. Returns 0, -EFBIG when the file is longer than max,
 * or a negative errno. The caller frees *ret_data.
 */
int read_file(int dirfd, const char *path, size_t max, char **ret_data, size_t *ret_len);
/* Writes data to path atomically (temporary file, fsync, rename). Returns 0 or -errno. */
int write_file_atomic(const char *path, const void *data, size_t len);

/* Strict number parsing: the whole string must be a number in range. 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);
/* "1.5s", "100ms", "10" (seconds), "2m", "1h" into nanoseconds. */
int parse_duration_ns(const char *s, uint64_t *ret);
/* "64MiB", "8M", "4096", "1G" into bytes (K/M/G are powers of 1024). */
int parse_size(const char *s, uint64_t *ret);

/* Copies at most size-1 bytes and always terminates. Returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);
bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);
/* The part after the last '/'. */
const char *path_basename(const char *path);
/*
 * s fitted to width columns (one per UTF-8 code point): unchanged when it fits, else its start
 * and its end around "…" in the middle (the end keeps a C++ name's argument list and the start
 * its namespace). out gets at most 4*width+1 bytes and is always terminated. Returns the
 * columns written.
 */
size_t str_elide_middle(const char *s, size_t width, char *out, size_t size);
/*
 * The start of data as one log-safe line into out (size bytes): bytes outside printable ASCII,
 * and '"', become ' '.
 */
void str_printable(char *out, size_t size, const void *data, size_t len);
/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const uint8_t *data, size_t len, char *out);
/* The value of one hex digit (either case), or -1. */
int hex_digit(char c);
/* Decodes hex; returns the number of bytes or -EINVAL. */
int hex_decode(const char *hex, uint8_t *out, size_t max);

/* Resident set size and its peak of this process, in bytes (from /proc/self/status). */
int proc_self_rss(uint64_t *ret_rss, uint64_t *ret_peak);

#endif
