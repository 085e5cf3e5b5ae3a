// SPDX-License-Identifier: Apache-2.0
/* collector/options.c: the connection and TLS options, and how they depend on each other. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "unit.h"
#include "../../collector/options.h"
#include "../../common/util.h"

/* Parses argv (NULL-terminated, without the program name); returns what the parser does. */
static int parse(struct collector_opts *o, const char **args)
{
	char *argv[32] = {"sonde-collector"};
	int argc = 1;
	int fd, saved, ret;

	for (; args[argc - 1] && argc < 31; argc++)
		argv[argc] = (char *)args[argc - 1];
	collector_opts__init(o);
	/* the parser says what is wrong on stderr: keep the test's output for failures */
	fflush(stderr);
	saved = dup(2);
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	dup2(fd, 2);
	ret = collector_opts__parse(o, argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	return ret;
}

static void test_connection_defaults(void)
{
	struct collector_opts o;

	CHECK(parse(&o, (const char *[]){NULL}) == 0);
	CHECK_EQ_U64(o.max_connections, 1024);
	CHECK_EQ_U64(o.max_connections_per_client, 128);
	CHECK_EQ_U64(o.header_timeout_ns, 10 * NSEC_PER_SEC);
	CHECK_EQ_U64(o.body_timeout_ns, 60 * NSEC_PER_SEC);
	CHECK(!o.tls_cert_file && !o.allow_readable_secrets);
	collector_opts__free(&o);
	/* a smaller total: a quarter of it per client, never all of it */
	CHECK(parse(&o, (const char *[]){"--max-connections", "100", NULL}) == 0);
	CHECK_EQ_U64(o.max_connections_per_client, 25);
	collector_opts__free(&o);
	CHECK(parse(&o, (const char *[]){"--max-connections", "2", NULL}) == 0);
	CHECK_EQ_U64(o.max_connections_per_client, 1);
	collector_opts__free(&o);
}

static void test_connection_flags(void)
{
	struct collector_opts o;

	CHECK(parse(&o, (const char *[]){"--max-connections-per-client", "0", "--header-timeout",
					 "2500ms", "--body-timeout", "0", NULL}) == 0);
	CHECK_EQ_U64(o.max_connections_per_client, 0);
	CHECK_EQ_U64(o.header_timeout_ns, 2500 * 1000000ULL);
	CHECK_EQ_U64(o.body_timeout_ns, 0);
	collector_opts__free(&o);
	CHECK(parse(&o, (const char *[]){"--max-connections", "100", "--max-connections-per-client",
					 "101", NULL}) < 0);
	collector_opts__free(&o);
	CHECK(parse(&o, (const char *[]){"--header-timeout", "soon", NULL}) < 0);
	collector_opts__free(&o);
	CHECK(parse(&o, (const char *[]){"--max-connections-per-client", "-1", NULL}) < 0);
	collector_opts__free(&o);
}

static void test_tls_flags(void)
{
	struct collector_opts o;

	CHECK(parse(&o, (const char *[]){"--tls-cert-file", "c.pem", "--tls-key-file", "k.pem",
					 "--allow-readable-secrets", NULL}) == 0);
	CHECK_STR(o.tls_cert_file, "c.pem");
	CHECK_STR(o.tls_key_file, "k.pem");
	CHECK(o.allow_readable_secrets);
	collector_opts__free(&o);
	/* one without the other is refused */
	CHECK(parse(&o, (const char *[]){"--tls-cert-file", "c.pem", NULL}) < 0);
	collector_opts__free(&o);
	CHECK(parse(&o, (const char *[]){"--tls-key-file", "k.pem", NULL}) < 0);
	collector_opts__free(&o);
}

int main(void)
{
	RUN(test_connection_defaults);
	RUN(test_connection_flags);
	RUN(test_tls_flags);
	return unit_done();
}
