// SPDX-License-Identifier: Apache-2.0
/*
 * sonde debuginfo upload|ls|rm: debug files in a collector's object store, by build ID
 * (docs/symbolization.md), through its API (POST/GET/DELETE /api/v1/debuginfo/BUILD-ID).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../common/buf.h"
#include "../common/gzip.h"
#include "../common/json.h"
#include "../common/util.h"
#include "../symbolizer/elf_file.h"

#define MAX_FILE (4ULL << 30) /* bytes: more than any collector takes */

static const char usage[] =
	"Usage: sonde debuginfo upload [OPTIONS] FILE...\n"
	"       sonde debuginfo ls [OPTIONS] [--long]\n"
	"       sonde debuginfo rm [OPTIONS] BUILD-ID...\n"
	"\n"
	"Debug files in a collector's storage, by GNU build ID: frames that reached the collector\n"
	"as [module+0xADDR] (agents with --symbolize collector, the OpenTelemetry eBPF profiler,\n"
	"pprof with addresses) are named from them at query time, by every collector of the\n"
	"storage. Upload the debug file of each build (objcopy --only-keep-debug), or the\n"
	"unstripped binary; a build ID already stored is not sent again.\n"
	"\n"
	"  -u, --url URL          the collector (default: $SONDE_URL, else http://127.0.0.1:4040)\n"
	"      --tenant T         X-Scope-OrgID\n"
	"      --token TOKEN      Authorization: Bearer TOKEN (default: $SONDE_TOKEN)\n"
	"      --ca-file FILE     CA certificates for an https URL (default: $SONDE_CA_FILE)\n"
	"  -l, --long             ls: with each file's name, source and time\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit codes: 0 ok, 1 (rm) a build ID not stored, 2 usage error or a file the collector\n"
	"refused, 3 a file that cannot be read or a collector that failed.\n";

/* The build ID of the ELF file at path, as hex. 0 or a CLI exit code (said). */
static int file_build_id(const char *path, char *hex)
{
	struct elf_info info;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0) {
		fprintf(stderr, "sonde debuginfo: %s: %s\n", path, strerror(errno));
		return CLI_ERROR;
	}
	err = elf_info__read(fd, &info);
	close(fd);
	if (err || !info.build_id_len) {
		fprintf(stderr, "sonde debuginfo: %s: %s\n", path,
			err ? "not an ELF file" : "no GNU build ID in it (link with --build-id)");
		return CLI_USAGE;
	}
	hex_encode(info.build_id, info.build_id_len, hex);
	return CLI_OK;
}

/* A 404 that says the build ID is not stored (not: this collector answers no queries). */
static bool not_stored(long status, const struct buf *reply)
{
	return status == 404 && reply->data &&
	       memmem(reply->data, reply->len, "no debug file for", 17) != NULL;
}

static int upload_one(const struct cli_conn *c, const char *path)
{
	char hex[2 * ELF_BUILD_ID_MAX + 1];
	struct buf url = {0}, reply = {0}, gz = {0};
	char *data = NULL, *esc = NULL;
	size_t len = 0;
	long status = 0;
	int ret;
	CURL *h;

	ret = file_build_id(path, hex);
	if (ret)
		return ret;
	buf_printf(&url, "%s/api/v1/debuginfo/%s", c->url, hex);
	/* already there: nothing to send */
	ret = cli_http(c, "GET", buf_cstr(&url), NULL, 0, &status, &reply);
	if (!ret && status == 200) {
		printf("%s %s: already stored\n", hex, path);
		goto out;
	}
	if (!ret && !not_stored(status, &reply)) {
		cli_http_error(c, status, &reply);
		ret = status >= 400 && status < 500 ? CLI_USAGE : CLI_ERROR;
		goto out;
	}
	if (ret)
		goto out;
	if (read_file(AT_FDCWD, path, MAX_FILE, &data, &len)) {
		fprintf(stderr, "sonde debuginfo: %s: cannot read it: %s\n", path, strerror(errno));
		ret = CLI_ERROR;
		goto out;
	}
	/* debug files shrink 3 to 5 times: the collector inflates them (and bounds that) */
	if (gzip_append(data, len, &gz)) {
		fprintf(stderr, "sonde debuginfo: out of memory\n");
		ret = CLI_ERROR;
		goto out;
	}
	h = curl_easy_init();
	esc = h ? curl_easy_escape(h, path_basename(path), 0) : NULL;
	if (h)
		curl_easy_cleanup(h);
	if (esc)
		buf_printf(&url, "?name=%s", esc);
	buf_reset(&reply);
	ret = cli_http(c, "POST", buf_cstr(&url), gz.data, gz.len, &status, &reply);
	if (!ret && status != 200) {
		cli_http_error(c, status, &reply);
		ret = status >= 400 && status < 500 ? CLI_USAGE : CLI_ERROR;
	} else if (!ret) {
		printf("%s %s: stored (%zu bytes, %zu sent)\n", hex, path, len, gz.len);
	}
out:
	if (esc)
		curl_free(esc);
	free(data);
	buf_free(&gz);
	buf_free(&url);
	buf_free(&reply);
	return ret;
}

/* One stored file's description, as "SOURCE ADDED NAME". */
static void describe(const struct cli_conn *c, const char *hex, struct buf *line)
{
	char source[32] = "", added[40] = "", name[256] = "", key[32];
	struct buf url = {0}, reply = {0};
	struct json_reader r;
	long status = 0;

	buf_printf(&url, "%s/api/v1/debuginfo/%s", c->url, hex);
	if (cli_http(c, "GET", buf_cstr(&url), NULL, 0, &status, &reply) == CLI_OK &&
	    status == 200) {
		json_reader_init(&r, reply.data, reply.len);
		if (json_object_begin(&r))
			while (json_object_next(&r, key, sizeof(key))) {
				if (strcmp(key, "source") == 0)
					json_read_string(&r, source, sizeof(source), NULL);
				else if (strcmp(key, "added") == 0)
					json_read_string(&r, added, sizeof(added), NULL);
				else if (strcmp(key, "name") == 0)
					json_read_string(&r, name, sizeof(name), NULL);
				else
					json_skip(&r);
			}
	}
	buf_printf(line, "\t%s\t%s\t%s", *source ? source : "-", *added ? added : "-",
		   *name ? name : "-");
	buf_free(&url);
	buf_free(&reply);
}

static int list(const struct cli_conn *c, bool details)
{
	struct buf url = {0}, reply = {0}, line = {0};
	struct json_reader r;
	long status = 0;
	char key[32];
	int ret;

	buf_printf(&url, "%s/api/v1/debuginfo", c->url);
	ret = cli_http(c, "GET", buf_cstr(&url), NULL, 0, &status, &reply);
	if (!ret && status != 200) {
		cli_http_error(c, status, &reply);
		ret = status >= 400 && status < 500 ? CLI_USAGE : CLI_ERROR;
	}
	if (ret)
		goto out;
	json_reader_init(&r, reply.data, reply.len);
	if (json_object_begin(&r))
		while (json_object_next(&r, key, sizeof(key))) {
			if (strcmp(key, "debuginfo") != 0 || !json_array_begin(&r)) {
				json_skip(&r);
				continue;
			}
			while (json_array_next(&r) && json_object_begin(&r)) {
				char hex[160] = "";
				int64_t size = -1;

				while (json_object_next(&r, key, sizeof(key))) {
					if (strcmp(key, "build_id") == 0)
						json_read_string(&r, hex, sizeof(hex), NULL);
					else if (strcmp(key, "size") == 0)
						json_read_i64(&r, &size);
					else
						json_skip(&r);
				}
				buf_reset(&line);
				buf_printf(&line, "%s\t%lld", hex, (long long)size);
				if (details)
					describe(c, hex, &line);
				printf("%s\n", buf_cstr(&line));
			}
		}
	if (r.err) {
		fprintf(stderr,
			"sonde debuginfo: the collector's answer is not the expected JSON\n");
		ret = CLI_ERROR;
	}
out:
	buf_free(&url);
	buf_free(&reply);
	buf_free(&line);
	return ret;
}

static int remove_one(const struct cli_conn *c, const char *hex)
{
	struct buf url = {0}, reply = {0};
	long status = 0;
	int ret;

	buf_printf(&url, "%s/api/v1/debuginfo/%s", c->url, hex);
	ret = cli_http(c, "GET", buf_cstr(&url), NULL, 0, &status, &reply);
	if (!ret && not_stored(status, &reply)) {
		fprintf(stderr, "sonde debuginfo: %s: not stored\n", hex);
		ret = CLI_NOT_FOUND;
	} else if (!ret && status != 200) {
		cli_http_error(c, status, &reply);
		ret = status >= 400 && status < 500 ? CLI_USAGE : CLI_ERROR;
	} else if (!ret) {
		buf_reset(&reply);
		ret = cli_http(c, "DELETE", buf_cstr(&url), NULL, 0, &status, &reply);
		if (!ret && status != 200) {
			cli_http_error(c, status, &reply);
			ret = status >= 400 && status < 500 ? CLI_USAGE : CLI_ERROR;
		} else if (!ret) {
			printf("%s: removed\n", hex);
		}
	}
	buf_free(&url);
	buf_free(&reply);
	return ret;
}

int cmd_debuginfo(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"tenant", required_argument, NULL, 't'},
		{"token", required_argument, NULL, 'T'},
		{"ca-file", required_argument, NULL, 'C'},
		{"long", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_conn c = {.cmd = "debuginfo"};
	const char *verb;
	bool details = false;
	int opt, ret = CLI_OK;

	c.url = getenv("SONDE_URL") ? getenv("SONDE_URL") : "http://127.0.0.1:4040";
	c.token = getenv("SONDE_TOKEN");
	c.ca_file = getenv("SONDE_CA_FILE");
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	verb = argv[1];
	argc--;
	argv++;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "u:lh", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			c.url = optarg;
			break;
		case 't':
			c.tenant = optarg;
			break;
		case 'T':
			c.token = optarg;
			break;
		case 'C':
			c.ca_file = optarg;
			break;
		case 'l':
			details = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fprintf(stderr,
				"sonde debuginfo: unknown option or missing value '%s' (see "
				"--help)\n",
				argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (strcmp(verb, "upload") != 0 && strcmp(verb, "ls") != 0 && strcmp(verb, "rm") != 0) {
		fprintf(stderr, "sonde debuginfo: '%s' is not upload, ls or rm (see --help)\n",
			verb);
		return CLI_USAGE;
	}
	if (strcmp(verb, "ls") == 0 ? optind < argc : optind == argc) {
		fprintf(stderr, "sonde debuginfo %s: %s (see --help)\n", verb,
			strcmp(verb, "ls") == 0	  ? "takes no arguments"
			: strcmp(verb, "rm") == 0 ? "which build IDs?"
						  : "which files?");
		return CLI_USAGE;
	}
	curl_global_init(CURL_GLOBAL_ALL);
	if (strcmp(verb, "ls") == 0)
		ret = list(&c, details);
	/* every one is tried; the worst outcome is the exit code */
	for (int i = optind; i < argc && strcmp(verb, "ls") != 0; i++) {
		int r = strcmp(verb, "upload") == 0 ? upload_one(&c, argv[i])
						    : remove_one(&c, argv[i]);

		ret = MAX(ret, r);
	}
	curl_global_cleanup();
	return ret;
}
