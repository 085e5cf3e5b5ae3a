// SPDX-License-Identifier: Apache-2.0
/* agent/options.c: the one-shot and daemon command lines. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "../../agent/options.h"

static void test_options(void)
{
	struct agent_opts o;
	char *ok[] = {
		"sonde-agent", "-F", "99",	 "--duration", "2.5s",	   "-p",    "1",
		"--pid",       "2",  "--output", "x.pb.gz",    "--format", "pprof", "--stack-bytes",
		"16K",	       NULL};
	char *bad1[] = {"sonde-agent", "--frequency", "0", NULL};
	char *bad2[] = {"sonde-agent", "--no-such-flag", NULL};
	char *bad3[] = {"sonde-agent", "--pid", NULL};
	char *bad4[] = {"sonde-agent", "--format", "json", NULL};
	char *bad5[] = {"sonde-agent", "stray", NULL};
	char *bad6[] = {"sonde-agent", "--stack-bytes", "1M", NULL};

	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 15, ok) == 0);
	CHECK_EQ_U64(o.frequency, 99);
	CHECK_EQ_U64(o.duration_ns, 2500000000ULL);
	CHECK_EQ_U64(o.npids, 2);
	CHECK_EQ_U64(o.pids[1], 2);
	CHECK_STR(o.output, "x.pb.gz");
	CHECK(o.format == OUTPUT_PPROF);
	CHECK_EQ_U64(o.stack_copy_bytes, 16384);
	agent_opts__free(&o);
	fprintf(stderr, "(the next error lines are expected)\n");
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 3, bad1) == -EINVAL);
	CHECK(agent_opts__parse(&o, 2, bad2) == -EINVAL);
	CHECK(agent_opts__parse(&o, 2, bad3) == -EINVAL);
	CHECK(agent_opts__parse(&o, 3, bad4) == -EINVAL);
	CHECK(agent_opts__parse(&o, 2, bad5) == -EINVAL);
	CHECK(agent_opts__parse(&o, 3, bad6) == -EINVAL);
	agent_opts__free(&o);
}

static void test_daemon_options(void)
{
	struct agent_opts o;
	char path[] = "/tmp/sonde-test-config.XXXXXX";
	int fd = mkstemp(path);
	const char *yaml = "# a comment\n"
			   "collector: http://collector.example:4318/\n"
			   "upload-interval: 15s\n"
			   "tenant: team-a\n"
			   "header:\n  - 'Authorization: Bearer abc'\n  - 'X-Extra: 1'\n"
			   "frequency: 49\n"
			   "queue-size: 8M\n";
	char *argv1[] = {"sonde-agent", "--config", path, "--frequency", "97", NULL};
	char *bad1[] = {"sonde-agent", "--collector", "ftp://x", NULL};
	char *bad2[] = {"sonde-agent", "--header", "no-colon", NULL};
	char *bad3[] = {"sonde-agent", "--config", "/nonexistent/sonde.yaml", NULL};
	char *none[] = {"sonde-agent", NULL};
	char *ep;

	/* the defaults below are those outside a pod, even where the tests run in one */
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("NODE_NAME");
	REQUIRE(fd >= 0);
	CHECK(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
	close(fd);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 4 + 1, argv1) == 0);
	CHECK_STR(o.collector, "http://collector.example:4318/");
	CHECK_EQ_U64(o.upload_interval_ns, 15000000000ULL);
	CHECK_STR(o.tenant, "team-a");
	CHECK_EQ_U64(o.nheaders, 2);
	CHECK_STR(o.headers[0], "Authorization: Bearer abc");
	CHECK_EQ_U64(o.frequency, 97); /* the command line wins over the file */
	CHECK_EQ_U64(o.queue_bytes, 8u << 20);
	ep = agent_opts__endpoint(&o);
	CHECK_STR(ep, "http://collector.example:4318/v1development/profiles");
	free(ep);
	agent_opts__free(&o);

	/* the OpenTelemetry environment variable names the collector when no flag does */
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env.example:4318", 1);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 1, none) == 0);
	CHECK_STR(o.collector, "http://env.example:4318");
	CHECK(o.k8s_api == NULL); /* not in a pod */
	agent_opts__free(&o);
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");

	/* in a pod: the API server from the service's variables, the node from the downward API */
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	setenv("NODE_NAME", "node-7", 1);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 1, none) == 0);
	CHECK_STR(o.k8s_api, "https://[fd00::1]:6443");
	CHECK_STR(o.k8s_token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
	CHECK_STR(o.k8s_ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
	CHECK_STR(o.node_name, "node-7");
	agent_opts__free(&o);
	{
		char *off[] = {"sonde-agent", "--k8s-api", "none", "--node-name", "n2", NULL};

		agent_opts__init(&o);
		CHECK(agent_opts__parse(&o, 5, off) == 0);
		CHECK(o.k8s_api == NULL);
		CHECK_STR(o.node_name, "n2");
		agent_opts__free(&o);
	}
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("NODE_NAME");

	/* a key the agent does not know is an error naming it */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "frequncy: 10\n", 13) == 13);
	close(fd);
	fprintf(stderr, "(the next error lines are expected)\n");
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 3, argv1) == -EINVAL);
	agent_opts__free(&o);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 3, bad1) == -EINVAL);
	agent_opts__free(&o);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 3, bad2) == -EINVAL);
	agent_opts__free(&o);
	agent_opts__init(&o);
	CHECK(agent_opts__parse(&o, 3, bad3) == -EINVAL);
	agent_opts__free(&o);
	unlink(path);
}

int main(void)
{
	RUN(test_options);
	RUN(test_daemon_options);
	return unit_done();
}
