// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int read_file(int dirfd, const char *path, size_t max, char **ret_data, size_t *ret_len)
{
	size_t len = 0, cap = 4096;
	char *data = NULL, *nd;
	int fd, err = 0;

	fd = dirfd >= 0 ? openat(dirfd, path, O_RDONLY | O_CLOEXEC)
			: open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	data = malloc(cap);
	if (!data) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			if (cap > max + 1) {
				err = -EFBIG;
				goto cleanup;
			}
			cap *= 2;
			nd = realloc(data, cap);
			if (!nd) {
				err = -ENOMEM;
				goto cleanup;
			}
			data = nd;
		}
		n = read(fd, data + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			err = -EFBIG;
			goto cleanup;
		}
	}
	data[len] = 0;
	*ret_data = data;
	*ret_len = len;
	data = NULL;
cleanup:
	free(data);
	close(fd);
	return err;
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -errno;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_i64(const char *s, int64_t *ret)
{
	long long v;
	char *end;

	if (!s || !*s || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno)
		return -errno;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_duration_ns(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		double mult;
	} units[] = {{"ns", 1},	  {"us", 1e3},	 {"ms", 1e6},	 {"s", 1e9},
		     {"m", 60e9}, {"h", 3600e9}, {"d", 86400e9}, {"", 1e9}};
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			double ns = v * units[i].mult;

			if (ns > 1.8e19)
				return -ERANGE;
			*ret = (uint64_t)ns;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {{"", 1},
		     {"B", 1},
		     {"K", 1ULL << 10},
		     {"KB", 1ULL << 10},
		     {"KiB", 1ULL << 10},
		     {"M", 1ULL << 20},
		     {"MB", 1ULL << 20},
		     {"MiB", 1ULL << 20},
		     {"G", 1ULL << 30},
		     {"GB", 1ULL << 30},
		     {"GiB", 1ULL << 30}};
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v > UINT64_MAX / units[i].mult)
				return -ERANGE;
			*ret = v * units[i].mult;
			return 0;
		}
	}
	return -EINVAL;
}

size_t str_copy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = 0;
	}
	return n;
}

bool str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The byte offset after n code points of s (or its end). */
static size_t utf8_skip(const char *s, size_t n)
{
	size_t i = 0;

	while (s[i] && n) {
		i++;
		while ((s[i] & 0xc0) == 0x80)
			i++;
		n--;
	}
	return i;
}

static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += (*s & 0xc0) != 0x80;
	return n;
}

size_t str_elide_middle(const char *s, size_t width, char *out, size_t size)
{
	static const char ellipsis[] = "\u2026";
	size_t cols = utf8_len(s), head, tail_start, len;

	if (!size)
		return 0;
	if (cols <= width) {
		str_copy(out, s, size);
		return cols;
	}
	if (width == 0) {
		out[0] = 0;
		return 0;
	}
	/* width-1 columns of text: the extra one, if odd, goes to the end */
	head = utf8_skip(s, (width - 1) / 2);
	tail_start = utf8_skip(s, cols - (width - 1 - (width - 1) / 2));
	len = head + strlen(ellipsis) + strlen(s + tail_start);
	if (len + 1 > size) {
		str_copy(out, s, size); /* out too small for the promise: plain truncation */
		return utf8_len(out);
	}
	memcpy(out, s, head);
	memcpy(out + head, ellipsis, strlen(ellipsis));
	strcpy(out + head + strlen(ellipsis), s + tail_start);
	return width;
}

void str_printable(char *out, size_t size, const void *data, size_t len)
{
	const uint8_t *d = data;
	size_t n = len < size - 1 ? len : size - 1;

	for (size_t i = 0; i < n; i++)
		out[i] = (d[i] >= 32 && d[i] < 127 && d[i] != '"') ? (char)d[i] : ' ';
	out[n] = 0;
}

void hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = 0;
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > max)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

int proc_self_rss(uint64_t *ret_rss, uint64_t *ret_peak)
{
	char *data = NULL, *p;
	size_t len;
	int err;

	err = read_file(-1, "/proc/self/status", 1 << 16, &data, &len);
	if (err)
		return err;
	*ret_rss = *ret_peak = 0;
	p = strstr(data, "VmRSS:");
	if (p)
		*ret_rss = strtoull(p + 6, NULL, 10) * 1024;
	p = strstr(data, "VmHWM:");
	if (p)
		*ret_peak = strtoull(p + 6, NULL, 10) * 1024;
	free(data);
	return 0;
}
