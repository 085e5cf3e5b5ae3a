// SPDX-License-Identifier: Apache-2.0
/*
 * symbolizer/debuginfo.c with a program the test builds and splits (objcopy --only-keep-debug,
 * strip, --add-gnu-debuglink): the debug file found by build ID under a debug directory, by
 * .gnu_debuglink beside the file and in .debug/, refused when its CRC does not match; and from
 * a debuginfod server (a libmicrohttpd daemon on a free port, spoken to by libdebuginfod):
 * found, not found, then not asked again (negative cache), none when disabled.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "build_prog.h"
#include "http_client.h"
#include "../../common/httpd.h"
#include "../../common/util.h"
#include "../../symbolizer/debuginfo.h"
#include "../../symbolizer/elf_file.h"

static struct elf_info info; /* of the stripped program */
static char stripped[256], debug_file[256], hex[2 * ELF_BUILD_ID_MAX + 1];

/* Whether fd is a file with DWARF and the stripped program's build ID. */
static bool is_the_debug_file(int fd)
{
	struct elf_info di;
	bool ok = fd >= 0 && elf_info__read(fd, &di) == 0 && di.has_debug_info &&
		  di.build_id_len == info.build_id_len &&
		  memcmp(di.build_id, info.build_id, info.build_id_len) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static int build(void)
{
	int fd;

	if (build_write("prog.c", "int main(void) { return 0; }\n") ||
	    build_run("cc -g -Wl,--build-id -o prog prog.c && "
		      "objcopy --only-keep-debug prog prog.debug && "
		      "strip -o prog.stripped prog && "
		      "objcopy --add-gnu-debuglink=prog.debug prog.stripped && "
		      "mkdir -p bin empty && mv prog.stripped bin/prog") != 0)
		return -1;
	snprintf(stripped, sizeof(stripped), "%s/bin/prog", build_dir);
	snprintf(debug_file, sizeof(debug_file), "%s/prog.debug", build_dir);
	fd = open(stripped, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || elf_info__read(fd, &info) != 0 || info.build_id_len < 2)
		return -1;
	close(fd);
	hex_encode(info.build_id, info.build_id_len, hex);
	return 0;
}

static struct debuginfo *local_only(const char *dirs)
{
	struct debuginfo_opts o = {.debug_dirs = dirs, .no_debuginfod = true};

	return debuginfo__new(&o);
}

static void test_local(void)
{
	char dirs[300];
	struct debuginfo *d;
	struct debuginfo_stats st;

	CHECK(!info.has_debug_info);
	CHECK_STR(info.debuglink, "prog.debug");
	snprintf(dirs, sizeof(dirs), "%s/empty", build_dir);
	/* nowhere yet: the debug file is not beside bin/prog */
	d = local_only(dirs);
	REQUIRE(d != NULL);
	CHECK(debuginfo__find_local(d, stripped, &info) == -ENOENT);
	/* beside the file, by .gnu_debuglink */
	REQUIRE(build_run("cp prog.debug bin/prog.debug") == 0);
	CHECK(is_the_debug_file(debuginfo__find_local(d, stripped, &info)));
	/* a debug file whose CRC does not match is not it */
	REQUIRE(build_run("printf x >> bin/prog.debug") == 0);
	CHECK(debuginfo__find_local(d, stripped, &info) == -ENOENT);
	/* in .debug/ beside the file */
	REQUIRE(build_run(
			"rm bin/prog.debug && mkdir -p bin/.debug && cp prog.debug bin/.debug/") ==
		0);
	CHECK(is_the_debug_file(debuginfo__find_local(d, stripped, &info)));
	debuginfo__stats(d, &st);
	CHECK_EQ_U64(st.local_found, 2);
	CHECK(!debuginfo__enabled(d));
	CHECK(debuginfo__fetch(d, info.build_id, info.build_id_len) == -ENOSYS); /* disabled */
	debuginfo__free(d);
	/* by build ID under a debug directory (the second of two) */
	REQUIRE(build_run("rm -r bin/.debug && mkdir -p dbg/.build-id/%.2s && "
			  "cp prog.debug dbg/.build-id/%.2s/%s.debug",
			  hex, hex, hex + 2) == 0);
	snprintf(dirs, sizeof(dirs), "%s/empty:%s/dbg", build_dir, build_dir);
	d = local_only(dirs);
	CHECK(is_the_debug_file(debuginfo__find_local(d, stripped, &info)));
	debuginfo__free(d);
}

static int requests;

/* A debuginfod server: /buildid/HEX/debuginfo of the one build ID it has, else 404. */
static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
			     const char *method, const char *version, const char *data,
			     size_t *size, void **state)
{
	char want[300];
	struct buf body = {0};
	char *file = NULL;
	size_t len = 0;

	requests++;
	snprintf(want, sizeof(want), "/buildid/%s/debuginfo", hex);
	if (strcmp(url, want) == 0 && read_file(-1, debug_file, 64 << 20, &file, &len) == 0) {
		buf_append(&body, file, len);
		free(file);
		return httpd_answer(conn, 200, "application/octet-stream", &body, NULL, NULL);
	}
	buf_puts(&body, "not found");
	return httpd_answer(conn, 404, "text/plain", &body, NULL, NULL);
}

static void test_debuginfod(void)
{
	unsigned port = free_port();
	char addr[32], urls[64], cache[300];
	struct debuginfo_opts o = {.timeout_ms = 10000, .negative_ttl_s = 600};
	struct debuginfo_stats st;
	struct MHD_Daemon *srv;
	struct debuginfo *d;
	uint8_t other[20];

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	snprintf(urls, sizeof(urls), "http://127.0.0.1:%u", port);
	snprintf(cache, sizeof(cache), "%s/debuginfod-cache", build_dir);
	srv = httpd_listen(addr, MHD_USE_INTERNAL_POLLING_THREAD, serve, NULL, NULL, "listen");
	REQUIRE(srv != NULL);
	setenv("DEBUGINFOD_URLS", urls, 1);
	setenv("DEBUGINFOD_CACHE_PATH", cache, 1);
	d = debuginfo__new(&o);
	REQUIRE(d != NULL);
	CHECK(debuginfo__enabled(d));
	CHECK(is_the_debug_file(debuginfo__fetch(d, info.build_id, info.build_id_len)));
	memset(other, 0x5a, sizeof(other));
	CHECK(debuginfo__fetch(d, other, sizeof(other)) == -ENOENT);
	/* asked once; the second time it is known to be missing */
	CHECK(debuginfo__fetch(d, other, sizeof(other)) == -EAGAIN);
	debuginfo__stats(d, &st);
	CHECK_EQ_U64(st.debuginfod_requests, 2);
	CHECK_EQ_U64(st.debuginfod_found, 1);
	CHECK_EQ_U64(st.debuginfod_failed, 1);
	CHECK_EQ_U64(st.debuginfod_skipped, 1);
	CHECK(requests >= 2);
	debuginfo__free(d);
	/* no_debuginfod wins over DEBUGINFOD_URLS */
	o.no_debuginfod = true;
	d = debuginfo__new(&o);
	CHECK(!debuginfo__enabled(d));
	CHECK(debuginfo__fetch(d, info.build_id, info.build_id_len) == -ENOSYS);
	debuginfo__free(d);
	unsetenv("DEBUGINFOD_URLS");
	MHD_stop_daemon(srv);
}

int main(void)
{
	if (build_dir_create())
		return 1;
	if (build() == 0) {
		RUN(test_local);
		RUN(test_debuginfod);
	} else {
		fprintf(stderr, "cannot build and split the test program (cc, objcopy, strip)\n");
		unit_failures++;
	}
	build_dir_remove();
	return unit_done();
}
