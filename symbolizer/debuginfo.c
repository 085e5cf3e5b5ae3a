// SPDX-License-Identifier: Apache-2.0
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "debuginfo.h"
#include "../common/hash.h"
#include "../common/util.h"

#define DEFAULT_DEBUG_DIRS "/usr/lib/debug"
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_NEGATIVE_TTL_S 600
#define NEGATIVE_MAX 65536 /* build IDs remembered as missing */

struct debuginfo {
	struct debuginfo_opts opts;
	char *dirs;
	debuginfod_client *client;
	uint64_t deadline_ns;  /* of the fetch in progress */
	struct hmap negative;  /* build-id hash -> (void *)(expiry seconds) */
	uint64_t down_until_s; /* the servers failed (not 404): skip every fetch until then */
	struct debuginfo_stats stats;
};

struct debuginfo *debuginfo__new(const struct debuginfo_opts *opts)
{
	struct debuginfo *d = calloc(1, sizeof(*d));
	const char *urls = getenv("DEBUGINFOD_URLS");

	if (!d)
		return NULL;
	if (opts)
		d->opts = *opts;
	if (!d->opts.timeout_ms)
		d->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!d->opts.negative_ttl_s)
		d->opts.negative_ttl_s = DEFAULT_NEGATIVE_TTL_S;
	d->dirs = strdup(d->opts.debug_dirs ? d->opts.debug_dirs : DEFAULT_DEBUG_DIRS);
	if (!d->dirs) {
		free(d);
		return NULL;
	}
	/* libdebuginfod reads DEBUGINFOD_URLS itself; without it there is nothing to ask */
	if (!d->opts.no_debuginfod && urls && *urls)
		d->client = debuginfod_begin();
	return d;
}

void debuginfo__free(struct debuginfo *d)
{
	if (!d)
		return;
	if (d->client)
		debuginfod_end(d->client);
	hmap_free(&d->negative);
	free(d->dirs);
	free(d);
}

bool debuginfo__enabled(const struct debuginfo *d)
{
	return d->client != NULL;
}

void debuginfo__stats(const struct debuginfo *d, struct debuginfo_stats *ret)
{
	*ret = d->stats;
}

/* Opens path if it is an ELF file with this build ID. */
static int open_if_matches(const char *path, const struct elf_info *want)
{
	struct elf_info got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -ENOENT;
	if (elf_info__read(fd, &got) == 0 && got.build_id_len == want->build_id_len &&
	    memcmp(got.build_id, want->build_id, got.build_id_len) == 0)
		return fd;
	close(fd);
	return -ENOENT;
}

/* Opens path if its CRC-32 is crc (the .gnu_debuglink check). */
static int open_if_crc(const char *path, uint32_t crc)
{
	unsigned char chunk[65536];
	uLong c = crc32(0, NULL, 0);
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -ENOENT;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		c = crc32(c, chunk, (uInt)n);
	if (n < 0 || (uint32_t)c != crc) {
		close(fd);
		return -ENOENT;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

int debuginfo__find_local(struct debuginfo *d, const char *path, const struct elf_info *info)
{
	char p[PATH_MAX], dir[PATH_MAX], hex[2 * ELF_BUILD_ID_MAX + 1];
	char *dirs = NULL, *save = NULL, *one;
	int fd = -ENOENT;

	if (info->build_id_len >= 2) {
		hex_encode(info->build_id, info->build_id_len, hex);
		dirs = strdup(d->dirs);
		for (one = dirs ? strtok_r(dirs, ":", &save) : NULL; one && fd < 0;
		     one = strtok_r(NULL, ":", &save)) {
			if (snprintf(p, sizeof(p), "%s/.build-id/%.2s/%s.debug", one, hex,
				     hex + 2) < (int)sizeof(p))
				fd = open_if_matches(p, info);
		}
		free(dirs);
	}
	if (fd < 0 && info->debuglink[0] && path && path[0] == '/') {
		const char *slash = strrchr(path, '/');
		size_t dlen = (size_t)(slash - path);

		if (dlen < sizeof(dir)) {
			memcpy(dir, path, dlen);
			dir[dlen] = 0;
			/* next to the file, in .debug/ beside it, then under each debug directory
			 */
			if (snprintf(p, sizeof(p), "%s/%s", dir, info->debuglink) <
				    (int)sizeof(p) &&
			    strcmp(p, path) != 0)
				fd = open_if_crc(p, info->debuglink_crc);
			if (fd < 0 && snprintf(p, sizeof(p), "%s/.debug/%s", dir, info->debuglink) <
					      (int)sizeof(p))
				fd = open_if_crc(p, info->debuglink_crc);
			dirs = strdup(d->dirs);
			save = NULL;
			for (one = dirs ? strtok_r(dirs, ":", &save) : NULL; one && fd < 0;
			     one = strtok_r(NULL, ":", &save)) {
				if (snprintf(p, sizeof(p), "%s%s/%s", one, dir, info->debuglink) <
				    (int)sizeof(p))
					fd = open_if_crc(p, info->debuglink_crc);
			}
			free(dirs);
		}
	}
	if (fd >= 0)
		d->stats.local_found++;
	return fd;
}

static int progress_cb(debuginfod_client *client, long a, long b)
{
	struct debuginfo *d = debuginfod_get_user_data(client);

	(void)a;
	(void)b;
	/* a non-zero return aborts the transfer: our deadline, whatever DEBUGINFOD_TIMEOUT says */
	return clock_ns(CLOCK_MONOTONIC) > d->deadline_ns;
}

static int fetch(struct debuginfo *d, const uint8_t *build_id, size_t len, bool executable)
{
	uint64_t key = hash_bytes(build_id, len, executable ? 31 : 29) | 1;
	uint64_t now_s = clock_ns(CLOCK_MONOTONIC) / NSEC_PER_SEC;
	uintptr_t expiry = (uintptr_t)hmap_get(&d->negative, key);
	int fd;

	if (!d->client)
		return -ENOSYS;
	if ((expiry && now_s < expiry) || now_s < d->down_until_s) {
		d->stats.debuginfod_skipped++;
		return -EAGAIN;
	}
	d->stats.debuginfod_requests++;
	d->deadline_ns = clock_ns(CLOCK_MONOTONIC) + (uint64_t)d->opts.timeout_ms * 1000000;
	debuginfod_set_user_data(d->client, d);
	debuginfod_set_progressfn(d->client, progress_cb);
	fd = executable ? debuginfod_find_executable(d->client, build_id, (int)len, NULL)
			: debuginfod_find_debuginfo(d->client, build_id, (int)len, NULL);
	if (fd >= 0) {
		d->stats.debuginfod_found++;
		hmap_del(&d->negative, key);
		return fd;
	}
	d->stats.debuginfod_failed++;
	if (clock_ns(CLOCK_MONOTONIC) > d->deadline_ns)
		fd = -ETIMEDOUT;
	/*
	 * Not "no such build ID" but a server that is down, unreachable or slow: do not pay a
	 * timeout for every other build ID too. A minute, or the negative TTL if shorter.
	 */
	if (fd != -ENOENT)
		d->down_until_s = now_s + MIN(60, d->opts.negative_ttl_s);
	if (d->negative.len < NEGATIVE_MAX)
		hmap_put(&d->negative, key, (void *)(uintptr_t)(now_s + d->opts.negative_ttl_s));
	return fd;
}

int debuginfo__fetch(struct debuginfo *d, const uint8_t *build_id, size_t len)
{
	return fetch(d, build_id, len, false);
}

int debuginfo__fetch_executable(struct debuginfo *d, const uint8_t *build_id, size_t len)
{
	return fetch(d, build_id, len, true);
}
