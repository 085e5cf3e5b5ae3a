// SPDX-License-Identifier: Apache-2.0
/*
 * collector/options.c: the defaults, flags, a config file that flags override, every bad value
 * refused with one line naming the flag (and the file, when it came from one); the connection
 * and TLS options, and how they depend on each other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "capture.h"
#include "../../collector/options.h"
#include "../../common/util.h"

#define NS 1000000000ULL

/* Parses argv (NULL-terminated) into o; the stderr it printed into *ret_err (malloc'd). */
static int parse(struct collector_opts *o, char **argv, char **ret_err)
{
	struct capture c;
	int argc = 0, err;

	while (argv[argc])
		argc++;
	collector_opts__init(o);
	if (capture_begin(&c, STDERR_FILENO))
		return -EIO;
	err = collector_opts__parse(o, argc, argv);
	*ret_err = capture_end(&c);
	return err;
}

/* Their calling convention: args without the program name; the messages are dropped. */
static int parse_args(struct collector_opts *o, const char **args)
{
	char *argv[32] = {"sonde-collector"}, *err = NULL;
	int argc = 1, ret;

	for (; args[argc - 1] && argc < 31; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	ret = parse(o, argv, &err);
	free(err);
	return ret;
}

static void test_connection_defaults(void)
{
	struct collector_opts o;

	CHECK(parse_args(&o, (const char *[]){NULL}) == 0);
	CHECK_EQ_U64(o.max_connections, 1024);
	CHECK_EQ_U64(o.max_connections_per_client, 128);
	CHECK_EQ_U64(o.header_timeout_ns, 10 * NSEC_PER_SEC);
	CHECK_EQ_U64(o.body_timeout_ns, 60 * NSEC_PER_SEC);
	CHECK(!o.tls_cert_file && !o.allow_readable_secrets);
	collector_opts__free(&o);
	/* a smaller total: a quarter of it per client, never all of it */
	CHECK(parse_args(&o, (const char *[]){"--max-connections", "100", NULL}) == 0);
	CHECK_EQ_U64(o.max_connections_per_client, 25);
	collector_opts__free(&o);
	CHECK(parse_args(&o, (const char *[]){"--max-connections", "2", NULL}) == 0);
	CHECK_EQ_U64(o.max_connections_per_client, 1);
	collector_opts__free(&o);
}

static void test_connection_flags(void)
{
	struct collector_opts o;

	CHECK(parse_args(&o,
			 (const char *[]){"--max-connections-per-client", "0", "--header-timeout",
					  "2500ms", "--body-timeout", "0", NULL}) == 0);
	CHECK_EQ_U64(o.max_connections_per_client, 0);
	CHECK_EQ_U64(o.header_timeout_ns, 2500 * 1000000ULL);
	CHECK_EQ_U64(o.body_timeout_ns, 0);
	collector_opts__free(&o);
	CHECK(parse_args(&o, (const char *[]){"--max-connections", "100",
					      "--max-connections-per-client", "101", NULL}) < 0);
	collector_opts__free(&o);
	CHECK(parse_args(&o, (const char *[]){"--header-timeout", "soon", NULL}) < 0);
	collector_opts__free(&o);
	CHECK(parse_args(&o, (const char *[]){"--max-connections-per-client", "-1", NULL}) < 0);
	collector_opts__free(&o);
}

static void test_tls_flags(void)
{
	struct collector_opts o;

	CHECK(parse_args(&o, (const char *[]){"--tls-cert-file", "c.pem", "--tls-key-file", "k.pem",
					      "--allow-readable-secrets", NULL}) == 0);
	CHECK_STR(o.tls_cert_file, "c.pem");
	CHECK_STR(o.tls_key_file, "k.pem");
	CHECK(o.allow_readable_secrets);
	collector_opts__free(&o);
	/* one without the other is refused */
	CHECK(parse_args(&o, (const char *[]){"--tls-cert-file", "c.pem", NULL}) < 0);
	collector_opts__free(&o);
	CHECK(parse_args(&o, (const char *[]){"--tls-key-file", "k.pem", NULL}) < 0);
	collector_opts__free(&o);
}

static void test_defaults_and_flags(void)
{
	struct collector_opts o;
	char *none[] = {"sonde-collector", NULL};
	char *flags[] = {"sonde-collector",
			 "--listen=0.0.0.0:9999",
			 "-s",
			 "/tmp/x",
			 "--max-body-size",
			 "1M",
			 "--segment-max-age",
			 "250ms",
			 "--no-compaction",
			 "--threads",
			 "3",
			 "--log-level",
			 "debug",
			 "--query-max-range",
			 "2d",
			 NULL};
	char *err;

	REQUIRE(parse(&o, none, &err) == 0);
	CHECK_STR(err, "");
	CHECK_STR(o.listen, "127.0.0.1:4040");
	CHECK_STR(o.storage, "./data");
	CHECK_EQ_U64(o.max_body_bytes, 64 << 20);
	CHECK_EQ_U64(o.segment_max_bytes, 8 << 20);
	CHECK_EQ_U64(o.block_duration_ns, 0); /* the first of the default levels: 10 min */
	CHECK(o.compaction_levels == NULL);
	CHECK_EQ_U64(o.targets, TARGET_ALL);
	CHECK_EQ_U64(o.retention_ns, 31 * 86400 * NS);
	CHECK_EQ_U64(o.deletion_grace_ns, 300 * NS);
	CHECK_EQ_U64(o.segment_max_age_ns, NS / 2);
	CHECK_EQ_U64(o.max_connections, 1024);
	CHECK(!o.no_compaction);
	CHECK(o.log_level == LOG_INFO);
	collector_opts__free(&o);
	free(err);

	REQUIRE(parse(&o, flags, &err) == 0);
	CHECK_STR(err, "");
	CHECK_STR(o.listen, "0.0.0.0:9999");
	CHECK_STR(o.storage, "/tmp/x");
	CHECK_EQ_U64(o.max_body_bytes, 1 << 20);
	CHECK_EQ_U64(o.segment_max_age_ns, 250000000);
	CHECK(o.no_compaction);
	CHECK_EQ_U64(o.targets, TARGET_INGEST | TARGET_QUERY); /* --no-compaction */
	CHECK_EQ_U64(o.threads, 3);
	CHECK(o.log_level == LOG_DEBUG);
	CHECK_EQ_U64(o.query_max_range_ns, 2 * 86400 * NS);
	collector_opts__free(&o);
	free(err);
}

/* The store's options from a config file: roles, levels, retention with per-tenant lists. */
static void test_store_options(void)
{
	char path[] = "/tmp/sonde-test-copts.XXXXXX";
	int fd = mkstemp(path);
	const char *yaml = "target: ingest,query\n"
			   "compaction-levels: 10s,1m:1s\n"
			   "retention: 7d\n"
			   "tenant-retention: [acme=1d, keep=0]\n"
			   "deletion-grace: 30s\n";
	char *argv[] = {"sonde-collector", "--config", path, "--tenant-retention", "beta=2h", NULL};
	struct collector_opts o;
	char *err;

	REQUIRE(fd >= 0);
	CHECK(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
	close(fd);
	CHECK(parse(&o, argv, &err) == 0);
	CHECK_STR(err, "");
	CHECK_EQ_U64(o.targets, TARGET_INGEST | TARGET_QUERY);
	CHECK_STR(o.compaction_levels, "10s,1m:1s");
	CHECK_EQ_U64(o.retention_ns, 7 * 86400 * NS);
	CHECK_EQ_U64(o.deletion_grace_ns, 30 * NS);
	CHECK_EQ_U64(o.ntenant_retention, 3);
	if (o.ntenant_retention == 3) {
		CHECK_STR(o.tenant_retention[0], "acme=1d");
		CHECK_STR(o.tenant_retention[1], "keep=0");
		CHECK_STR(o.tenant_retention[2], "beta=2h");
	}
	collector_opts__free(&o);
	free(err);
	unlink(path);
}

static void test_symbolization_options(void)
{
	const char *args[] = {"--no-debuginfod",
			      "--debuginfo-max-size",
			      "64M",
			      "--debuginfo-cache-dir",
			      "/var/cache/sonde",
			      "--debuginfo-cache-size",
			      "2G",
			      "--symbolizer-memory",
			      "128M",
			      "--symbolize-wait",
			      "3s",
			      NULL};
	const char *off[] = {"--no-symbolize", NULL};
	struct collector_opts o;

	collector_opts__init(&o);
	CHECK(!o.no_symbolize && !o.no_debuginfod);
	CHECK_EQ_U64(o.debuginfo_max_bytes, 512ULL << 20);
	CHECK_EQ_U64(o.debuginfo_cache_bytes, 8ULL << 30);
	CHECK_EQ_U64(o.symbolizer_memory_bytes, 256ULL << 20);
	CHECK_EQ_U64(o.symbolize_wait_ns, 10 * NS);
	CHECK(o.debuginfo_cache_dir == NULL);
	collector_opts__free(&o);
	CHECK(parse_args(&o, args) == 0);
	CHECK(o.no_debuginfod && !o.no_symbolize);
	CHECK_EQ_U64(o.debuginfo_max_bytes, 64ULL << 20);
	CHECK_STR(o.debuginfo_cache_dir, "/var/cache/sonde");
	CHECK_EQ_U64(o.debuginfo_cache_bytes, 2ULL << 30);
	CHECK_EQ_U64(o.symbolizer_memory_bytes, 128ULL << 20);
	CHECK_EQ_U64(o.symbolize_wait_ns, 3 * NS);
	collector_opts__free(&o);
	CHECK(parse_args(&o, off) == 0);
	CHECK(o.no_symbolize);
	collector_opts__free(&o);
	/* an upload as large as allowed must fit in the memory for requests */
	{
		char *argv[] = {"sonde-collector", "--debuginfo-max-size", "2G", NULL};
		char *err;

		CHECK(parse(&o, argv, &err) == -EINVAL);
		CHECK(err && strstr(err, "--debuginfo-max-size is over --max-memory"));
		collector_opts__free(&o);
		free(err);
	}
}

static void test_config_file(void)
{
	char path[] = "/tmp/sonde-test-copts.XXXXXX";
	int fd = mkstemp(path);
	const char *yaml = "listen: 127.0.0.1:5555\nthreads: 2\nstorage: /from/file\n";
	char *argv[] = {"sonde-collector", "--config", path, "--threads", "7", NULL};
	char *bad[] = {"sonde-collector", "-c", path, NULL};
	struct collector_opts o;
	char *err;

	REQUIRE(fd >= 0);
	CHECK(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
	close(fd);
	CHECK(parse(&o, argv, &err) == 0);
	CHECK_STR(o.listen, "127.0.0.1:5555");
	CHECK_STR(o.storage, "/from/file");
	CHECK_EQ_U64(o.threads, 7); /* the command line wins */
	collector_opts__free(&o);
	free(err);
	/* a bad value in the file names the file */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK(write(fd, "threads: 0\n", 11) == 11);
	close(fd);
	CHECK(parse(&o, bad, &err) == -EINVAL);
	CHECK(err && strstr(err, "config file ") && strstr(err, path) &&
	      strstr(err, "invalid --threads '0'"));
	collector_opts__free(&o);
	free(err);
	unlink(path);
}

static void test_errors(void)
{
	static const struct {
		const char *flag, *value, *msg;
	} bad[] = {
		{"--threads", "0", "invalid --threads '0': expected 1..256"},
		{"--threads", "many", "invalid --threads 'many'"},
		{"--max-connections", "0", "invalid --max-connections '0'"},
		{"--max-body-size", "lots", "invalid --max-body-size 'lots'"},
		{"--segment-max-age", "soon", "invalid --segment-max-age 'soon'"},
		{"--log-level", "loud", "invalid --log-level 'loud'"},
		{"--target", "everything",
		 "invalid --target 'everything': expected all, or any of"},
		{"--compaction-levels", "10m,25m", "must be a multiple of the one below it"},
		{"--compaction-levels", "10m:2m", "resolution \"2m\" is not 1ns .. 60s"},
		{"--tenant-retention", "acme", "invalid --tenant-retention 'acme'"},
		{"--retention", "forever", "invalid --retention 'forever'"},
		{"--deletion-grace", "soon", "invalid --deletion-grace 'soon'"},
		{"--debuginfo-max-size", "5G", "invalid --debuginfo-max-size '5G'"},
		{"--debuginfo-cache-size", "1K", "invalid --debuginfo-cache-size '1K'"},
		{"--symbolizer-memory", "lots", "invalid --symbolizer-memory 'lots'"},
		{"--symbolize-wait", "2h", "invalid --symbolize-wait '2h'"},
		{"--debuginfo-cache-dir", "", "invalid --debuginfo-cache-dir ''"},
		{"--no-such-flag", NULL, "unknown option '--no-such-flag'"},
		{"stray", NULL, "unexpected argument 'stray'"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {"sonde-collector", (char *)bad[i].flag, (char *)bad[i].value, NULL};
		struct collector_opts o;
		char *err;

		CHECK(parse(&o, argv, &err) == -EINVAL);
		CHECK(err && strncmp(err, "sonde-collector: ", 17) == 0 &&
		      strstr(err, bad[i].msg) && strchr(err, '\n') == err + strlen(err) - 1);
		if (err && !strstr(err, bad[i].msg))
			fprintf(stderr, "  %s: got %s", bad[i].flag, err);
		collector_opts__free(&o);
		free(err);
	}
	/* a time resolution coarser than the segments can hold */
	{
		char *argv[] = {"sonde-collector",
				"--time-resolution",
				"10s",
				"--segment-max-age",
				"1ms",
				NULL};
		struct collector_opts o;
		char *err;

		CHECK(parse(&o, argv, &err) == -EINVAL);
		CHECK(err && strstr(err, "too coarse"));
		collector_opts__free(&o);
		free(err);
	}
}

static void test_help(void)
{
	char *argv[] = {"sonde-collector", "--help", NULL};
	struct collector_opts o;
	struct capture c;
	char *out;
	int ret;

	collector_opts__init(&o);
	REQUIRE(capture_begin(&c, STDOUT_FILENO) == 0);
	ret = collector_opts__parse(&o, 2, argv);
	out = capture_end(&c);
	CHECK_EQ_U64(ret, 1);
	CHECK(out && strstr(out, "--listen HOST:PORT") && strstr(out, "--storage URL"));
	free(out);
	collector_opts__free(&o);
}

int main(void)
{
	RUN(test_defaults_and_flags);
	RUN(test_symbolization_options);
	RUN(test_config_file);
	RUN(test_store_options);
	RUN(test_errors);
	RUN(test_help);
	RUN(test_connection_defaults);
	RUN(test_connection_flags);
	RUN(test_tls_flags);
	return unit_done();
}
