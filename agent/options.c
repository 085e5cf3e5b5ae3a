// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "relabel.h"
#include "../common/config.h"
#include "../bpf/sampler_shared.h"
#include "../common/util.h"

#ifndef SONDE_VERSION
#define SONDE_VERSION "dev"
#endif

static const char usage[] =
	"Usage: sonde-agent [OPTIONS]\n"
	"\n"
	"Samples every CPU of this machine with eBPF and writes or ships CPU profiles of every\n"
	"process (kernel and user stacks). Needs root, or CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE,\n"
	"CAP_DAC_READ_SEARCH and CAP_SYSLOG (kernel 5.8+; see docs/deploy.md).\n"
	"\n"
	"Sampling:\n"
	"  -F, --frequency HZ        samples per second per CPU (default 100)\n"
	"  -d, --duration SEC        stop after this long (default 0: until SIGINT/SIGTERM);\n"
	"                            accepts units: 500ms, 10s, 5m\n"
	"  -p, --pid PID             profile only this process (repeatable)\n"
	"      --cgroup PATH         profile only this cgroup v2 and its descendants (repeatable)\n"
	"      --stack-bytes N       user stack copied per sample for DWARF unwinding (default\n"
	"                            and max 64K; 0 = frame pointers only)\n"
	"      --fp-stack MODE       in-kernel frame-pointer walk: auto (default: only without a\n"
	"                            stack copy) | always | never\n"
	"      --unwind-cache-size N memory for unwind tables, LRU-evicted (default 256M)\n"
	"      --ring-buffer-size N  BPF ring buffer size (default: 512K per CPU, 4M..256M)\n"
	"      --no-hardware-event   use cpu-clock even where a PMU offers cycles\n"
	"      --btf FILE            kernel BTF to use when /sys/kernel/btf/vmlinux is missing\n"
	"\n"
	"Symbols (ELF symbols, DWARF with inline frames, separate debug files, debuginfod):\n"
	"      --debug-dir DIRS      ':'-separated debug directories (default /usr/lib/debug)\n"
	"      --no-debuginfod       never ask debuginfod (otherwise DEBUGINFOD_URLS is used)\n"
	"      --debuginfod-timeout S  per-fetch deadline (default 10s)\n"
	"      --debuginfod-negative-ttl S  a build ID debuginfod did not have is asked for\n"
	"                            again after this (default 10m)\n"
	"      --symbolize-timeout S at the end of a run, wait this long for symbols still\n"
	"                            loading (default 15s); frames still without one keep\n"
	"                            their [module+0xADDR] name\n"
	"\n"
	"Daemon mode (OTLP profiles to a collector):\n"
	"      --collector URL       base URL; profiles go to URL/v1development/profiles\n"
	"                            (default: $OTEL_EXPORTER_OTLP_ENDPOINT)\n"
	"      --upload-interval S   how often a profile is sent (default 10s)\n"
	"      --tenant ID           sent as X-Scope-OrgID\n"
	"      --header 'K: V'       an extra request header, e.g. authorization (repeatable)\n"
	"      --relabel RULE        applied to each process's labels before export, in order\n"
	"                            (repeatable): 'keep LABEL=~REGEX', 'drop LABEL=~REGEX',\n"
	"                            'replace LABEL=~REGEX => TARGET=VALUE' ($1..$9: groups),\n"
	"                            'labeldrop REGEX' (see docs/agent.md)\n"
	"      --ca-file FILE        trust this CA for https, besides the system store\n"
	"      --symbolize WHERE     agent (default): names in the profiles | collector: native\n"
	"                            frames sent as build ID and address\n"
	"      --queue-size N        profiles kept while the collector is away (default 64M;\n"
	"                            past it the oldest are dropped and counted)\n"
	"      --shutdown-timeout S  on SIGTERM, time to send what is queued (default 10s)\n"
	"      --max-retry-backoff S longest wait between retries of a failed send (default\n"
	"                            30s; a Retry-After from the collector is honoured)\n"
	"      --host-name NAME      host.name of every profile (default: this host's name)\n"
	"\n"
	"Kubernetes (pod name, namespace, labels, workload, container of each process):\n"
	"      --node-name NAME      this node (default: $NODE_NAME); its pods are read from\n"
	"                            the API server\n"
	"      --k8s-api URL|none    the API server (default in a pod: https://\n"
	"                            $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)\n"
	"      --k8s-token-file FILE bearer token, read for every request (default: the pod's\n"
	"                            service account token)\n"
	"      --k8s-ca-file FILE    CA of the API server (default: the service account's)\n"
	"      --k8s-wait S          at start, wait this long for the node's pod list before\n"
	"                            sampling (default 5s)\n"
	"\n"
	"      --metrics-addr H:P    serve Prometheus metrics of the agent at /metrics\n"
	"\n"
	"Output (one-shot mode):\n"
	"  -o, --output FILE         write the profile to FILE when the run ends (with "
	"--collector:\n"
	"                            also, every sample recorded, delivered or not (what was\n"
	"                            not is counted as dropped_samples); every distinct stack\n"
	"                            of the run is kept in memory)\n"
	"  -f, --format FORMAT       folded (default) | pprof (gzipped profile.proto) | otlp\n"
	"                            (an ExportProfilesServiceRequest, protobuf)\n"
	"\n"
	"General:\n"
	"  -c, --config FILE         read options from a YAML file: keys are the long option\n"
	"                            names (frequency: 100, pid: [1, 2], no-debuginfod: true);\n"
	"                            command-line options win\n"
	"      --log-level LEVEL     error | warn | info (default) | debug\n"
	"  -h, --help                show this help\n"
	"  -V, --version             show the version\n";

enum {
	OPT_CGROUP = 256,
	OPT_STACK_BYTES,
	OPT_RING_SIZE,
	OPT_NO_HW,
	OPT_BTF,
	OPT_FP_STACK,
	OPT_UNWIND_CACHE,
	OPT_DEBUG_DIR,
	OPT_NO_DEBUGINFOD,
	OPT_DEBUGINFOD_TIMEOUT,
	OPT_DEBUGINFOD_TTL,
	OPT_SYMBOLIZE_TIMEOUT,
	OPT_COLLECTOR,
	OPT_UPLOAD_INTERVAL,
	OPT_TENANT,
	OPT_HEADER,
	OPT_CA_FILE,
	OPT_SYMBOLIZE,
	OPT_QUEUE_SIZE,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_MAX_BACKOFF,
	OPT_HOST_NAME,
	OPT_METRICS_ADDR,
	OPT_LOG_LEVEL,
	OPT_RELABEL,
	OPT_NODE_NAME,
	OPT_K8S_API,
	OPT_K8S_TOKEN_FILE,
	OPT_K8S_CA_FILE,
	OPT_K8S_WAIT,
};

static const struct option long_options[] = {
	{"frequency", required_argument, NULL, 'F'},
	{"duration", required_argument, NULL, 'd'},
	{"pid", required_argument, NULL, 'p'},
	{"cgroup", required_argument, NULL, OPT_CGROUP},
	{"stack-bytes", required_argument, NULL, OPT_STACK_BYTES},
	{"ring-buffer-size", required_argument, NULL, OPT_RING_SIZE},
	{"no-hardware-event", no_argument, NULL, OPT_NO_HW},
	{"btf", required_argument, NULL, OPT_BTF},
	{"fp-stack", required_argument, NULL, OPT_FP_STACK},
	{"unwind-cache-size", required_argument, NULL, OPT_UNWIND_CACHE},
	{"debug-dir", required_argument, NULL, OPT_DEBUG_DIR},
	{"no-debuginfod", no_argument, NULL, OPT_NO_DEBUGINFOD},
	{"debuginfod-timeout", required_argument, NULL, OPT_DEBUGINFOD_TIMEOUT},
	{"debuginfod-negative-ttl", required_argument, NULL, OPT_DEBUGINFOD_TTL},
	{"symbolize-timeout", required_argument, NULL, OPT_SYMBOLIZE_TIMEOUT},
	{"collector", required_argument, NULL, OPT_COLLECTOR},
	{"upload-interval", required_argument, NULL, OPT_UPLOAD_INTERVAL},
	{"tenant", required_argument, NULL, OPT_TENANT},
	{"header", required_argument, NULL, OPT_HEADER},
	{"relabel", required_argument, NULL, OPT_RELABEL},
	{"ca-file", required_argument, NULL, OPT_CA_FILE},
	{"symbolize", required_argument, NULL, OPT_SYMBOLIZE},
	{"queue-size", required_argument, NULL, OPT_QUEUE_SIZE},
	{"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT},
	{"max-retry-backoff", required_argument, NULL, OPT_MAX_BACKOFF},
	{"host-name", required_argument, NULL, OPT_HOST_NAME},
	{"metrics-addr", required_argument, NULL, OPT_METRICS_ADDR},
	{"node-name", required_argument, NULL, OPT_NODE_NAME},
	{"k8s-api", required_argument, NULL, OPT_K8S_API},
	{"k8s-token-file", required_argument, NULL, OPT_K8S_TOKEN_FILE},
	{"k8s-ca-file", required_argument, NULL, OPT_K8S_CA_FILE},
	{"k8s-wait", required_argument, NULL, OPT_K8S_WAIT},
	{"config", required_argument, NULL, 'c'},
	{"output", required_argument, NULL, 'o'},
	{"format", required_argument, NULL, 'f'},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

void agent_opts__init(struct agent_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->frequency = 100;
	o->format = OUTPUT_FOLDED;
	o->log_level = LOG_INFO;
	o->stack_copy_bytes = SONDE_STACK_COPY_MAX;
	o->unwind_cache_bytes = 256ull << 20;
	o->max_parked_bytes = 64ull << 20;
	o->symbolize_timeout_ns = 15 * NSEC_PER_SEC;
	o->upload_interval_ns = 10 * NSEC_PER_SEC;
	o->queue_bytes = 64ull << 20;
	o->shutdown_timeout_ns = 10 * NSEC_PER_SEC;
	o->max_backoff_ns = 30 * NSEC_PER_SEC;
	o->debuginfod_timeout_ms = 10000;
	o->debuginfod_negative_ttl_s = 600;
	o->drain_interval_ns = 50 * 1000 * 1000;
	o->hardware_event = true;
	o->k8s_wait_ns = 5 * NSEC_PER_SEC;
}

void agent_opts__free(struct agent_opts *o)
{
	for (uint32_t i = 0; i < o->ncgroups; i++)
		free(o->cgroups[i]);
	free(o->output);
	free(o->btf_path);
	free(o->debug_dirs);
	free(o->collector);
	free(o->tenant);
	for (uint32_t i = 0; i < o->nheaders; i++)
		free(o->headers[i]);
	for (uint32_t i = 0; i < o->nrelabel; i++)
		free(o->relabel[i]);
	free(o->ca_file);
	free(o->metrics_addr);
	free(o->host_name);
	free(o->node_name);
	free(o->k8s_api);
	free(o->k8s_token_file);
	free(o->k8s_ca_file);
	free(o->config);
	memset(o, 0, sizeof(*o));
}

const char *output_format_name(enum output_format f)
{
	switch (f) {
	case OUTPUT_FOLDED:
		return "folded";
	case OUTPUT_PPROF:
		return "pprof";
	case OUTPUT_OTLP:
		return "otlp";
	}
	return "?";
}

static int bad(const char *flag, const char *value, const char *why)
{
	fprintf(stderr, "sonde-agent: invalid %s '%s': %s\n", flag, value, why);
	return -EINVAL;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

/* Parses one argument vector; where names the source for error messages. */
static int parse_args(struct agent_opts *o, int argc, char **argv, const char *where)
{
	uint64_t u;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":F:d:p:o:f:c:hV", long_options, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (parse_u64(optarg, &u) || u < 1 || u > 10000)
				return bad("--frequency", optarg, "expected 1..10000 Hz");
			o->frequency = (uint32_t)u;
			break;
		case 'd':
			if (parse_duration_ns(optarg, &o->duration_ns))
				return bad("--duration", optarg,
					   "expected seconds, e.g. 10 or 1.5s or 5m");
			break;
		case 'p':
			if (parse_u64(optarg, &u) || u < 1 || u > 0x3fffffff)
				return bad("--pid", optarg, "expected a process id");
			if (o->npids >= AGENT_MAX_PIDS)
				return bad("--pid", optarg, "too many --pid flags (limit 1024)");
			o->pids[o->npids++] = (uint32_t)u;
			break;
		case OPT_CGROUP:
			if (o->ncgroups >= AGENT_MAX_CGROUPS)
				return bad("--cgroup", optarg,
					   "too many --cgroup flags (limit 1024)");
			o->cgroups[o->ncgroups] = strdup(optarg);
			if (!o->cgroups[o->ncgroups++])
				return -ENOMEM;
			break;
		case OPT_STACK_BYTES:
			if (parse_size(optarg, &u) || u > SONDE_STACK_COPY_MAX)
				return bad("--stack-bytes", optarg, "expected 0..65536 bytes");
			o->stack_copy_bytes = (uint32_t)u;
			break;
		case OPT_RING_SIZE:
			if (parse_size(optarg, &u) || u < (64 << 10) || u > (1ULL << 30) ||
			    (u & (u - 1)))
				return bad("--ring-buffer-size", optarg,
					   "expected a power of two from 64K to 1G");
			o->ring_bytes = u;
			break;
		case OPT_NO_HW:
			o->hardware_event = false;
			break;
		case OPT_DEBUG_DIR:
			if (set_str(&o->debug_dirs, optarg))
				return -ENOMEM;
			break;
		case OPT_NO_DEBUGINFOD:
			o->no_debuginfod = true;
			break;
		case OPT_DEBUGINFOD_TIMEOUT: {
			uint64_t ns;

			if (parse_duration_ns(optarg, &ns) || ns < 1000000 ||
			    ns > 600 * NSEC_PER_SEC)
				return bad("--debuginfod-timeout", optarg, "expected 1ms to 10m");
			o->debuginfod_timeout_ms = (uint32_t)(ns / 1000000);
			break;
		}
		case OPT_DEBUGINFOD_TTL: {
			uint64_t ns;

			if (parse_duration_ns(optarg, &ns) || ns < NSEC_PER_SEC ||
			    ns > 7 * 86400 * NSEC_PER_SEC)
				return bad("--debuginfod-negative-ttl", optarg,
					   "expected 1s to 7d");
			o->debuginfod_negative_ttl_s = (uint32_t)(ns / NSEC_PER_SEC);
			break;
		}
		case OPT_SYMBOLIZE_TIMEOUT:
			if (parse_duration_ns(optarg, &o->symbolize_timeout_ns))
				return bad("--symbolize-timeout", optarg,
					   "expected a duration, e.g. 15s");
			break;
		case OPT_UNWIND_CACHE:
			if (parse_size(optarg, &u) || u < (1 << 20))
				return bad("--unwind-cache-size", optarg,
					   "expected a size of 1M or more");
			o->unwind_cache_bytes = u;
			break;
		case OPT_FP_STACK:
			if (strcmp(optarg, "auto") == 0)
				o->fp_stack = FP_STACK_AUTO;
			else if (strcmp(optarg, "always") == 0)
				o->fp_stack = FP_STACK_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				o->fp_stack = FP_STACK_NEVER;
			else
				return bad("--fp-stack", optarg, "expected auto, always or never");
			break;
		case OPT_BTF:
			if (set_str(&o->btf_path, optarg))
				return -ENOMEM;
			break;
		case 'o':
			if (set_str(&o->output, optarg))
				return -ENOMEM;
			break;
		case 'f':
			if (strcmp(optarg, "folded") == 0)
				o->format = OUTPUT_FOLDED;
			else if (strcmp(optarg, "pprof") == 0)
				o->format = OUTPUT_PPROF;
			else if (strcmp(optarg, "otlp") == 0)
				o->format = OUTPUT_OTLP;
			else
				return bad("--format", optarg, "expected folded, pprof or otlp");
			break;
		case 'c':
			if (where)
				return bad("config", optarg, "a config file cannot name another");
			if (set_str(&o->config, optarg))
				return -ENOMEM;
			break;
		case OPT_COLLECTOR:
			if (strncmp(optarg, "http://", 7) != 0 &&
			    strncmp(optarg, "https://", 8) != 0)
				return bad("--collector", optarg,
					   "expected an http:// or https:// URL");
			if (set_str(&o->collector, optarg))
				return -ENOMEM;
			break;
		case OPT_UPLOAD_INTERVAL:
			if (parse_duration_ns(optarg, &o->upload_interval_ns) ||
			    o->upload_interval_ns < 100000000ull)
				return bad("--upload-interval", optarg,
					   "expected a duration of 100ms or more");
			break;
		case OPT_TENANT:
			if (set_str(&o->tenant, optarg))
				return -ENOMEM;
			break;
		case OPT_HEADER:
			if (!strchr(optarg, ':') || optarg[0] == ':' || strpbrk(optarg, "\r\n"))
				return bad("--header", optarg, "expected 'Name: value'");
			if (o->nheaders >= AGENT_MAX_HEADERS)
				return bad("--header", optarg,
					   "too many --header flags (limit 32)");
			o->headers[o->nheaders] = strdup(optarg);
			if (!o->headers[o->nheaders++])
				return -ENOMEM;
			break;
		case OPT_RELABEL: {
			struct relabel_rule r;
			char why[256];

			if (relabel_parse(optarg, &r, why, sizeof(why)))
				return bad("--relabel", optarg, why);
			relabel_free(&r);
			if (o->nrelabel >= AGENT_MAX_RELABEL)
				return bad("--relabel", optarg,
					   "too many --relabel rules (limit 64)");
			o->relabel[o->nrelabel] = strdup(optarg);
			if (!o->relabel[o->nrelabel++])
				return -ENOMEM;
			break;
		}
		case OPT_CA_FILE:
			if (set_str(&o->ca_file, optarg))
				return -ENOMEM;
			break;
		case OPT_SYMBOLIZE:
			if (strcmp(optarg, "agent") == 0)
				o->symbolize_in_collector = false;
			else if (strcmp(optarg, "collector") == 0)
				o->symbolize_in_collector = true;
			else
				return bad("--symbolize", optarg, "expected agent or collector");
			break;
		case OPT_QUEUE_SIZE:
			if (parse_size(optarg, &o->queue_bytes) || o->queue_bytes < 4096)
				return bad("--queue-size", optarg, "expected a size of 4K or more");
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			if (parse_duration_ns(optarg, &o->shutdown_timeout_ns))
				return bad("--shutdown-timeout", optarg,
					   "expected a duration, e.g. 10s");
			break;
		case OPT_MAX_BACKOFF:
			if (parse_duration_ns(optarg, &o->max_backoff_ns) ||
			    o->max_backoff_ns < 100000000ull ||
			    o->max_backoff_ns > 3600 * NSEC_PER_SEC)
				return bad("--max-retry-backoff", optarg, "expected 100ms to 1h");
			break;
		case OPT_HOST_NAME:
			if (set_str(&o->host_name, optarg))
				return -ENOMEM;
			break;
		case OPT_METRICS_ADDR:
			if (set_str(&o->metrics_addr, optarg))
				return -ENOMEM;
			break;
		case OPT_NODE_NAME:
			if (!*optarg || strlen(optarg) > 253)
				return bad("--node-name", optarg, "expected a node name");
			if (set_str(&o->node_name, optarg))
				return -ENOMEM;
			break;
		case OPT_K8S_API:
			if (strcmp(optarg, "none") != 0 && !str_starts_with(optarg, "http://") &&
			    !str_starts_with(optarg, "https://"))
				return bad("--k8s-api", optarg,
					   "expected an https:// or http:// URL, or none");
			if (set_str(&o->k8s_api, optarg))
				return -ENOMEM;
			break;
		case OPT_K8S_TOKEN_FILE:
			if (set_str(&o->k8s_token_file, optarg))
				return -ENOMEM;
			break;
		case OPT_K8S_CA_FILE:
			if (set_str(&o->k8s_ca_file, optarg))
				return -ENOMEM;
			break;
		case OPT_K8S_WAIT:
			if (parse_duration_ns(optarg, &o->k8s_wait_ns) ||
			    o->k8s_wait_ns > 600 * NSEC_PER_SEC)
				return bad("--k8s-wait", optarg, "expected a duration up to 10m");
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &o->log_level))
				return bad("--log-level", optarg,
					   "expected error, warn, info or debug");
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 'V':
			printf("sonde-agent %s\n", SONDE_VERSION);
			return 1;
		case ':':
			fprintf(stderr, "sonde-agent: %soption '%s' needs a value (see --help)\n",
				where ? where : "", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "sonde-agent: %sunknown option '%s' (see --help)\n",
				where ? where : "", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sonde-agent: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* The config file's settings, parsed like a command line that argv then overrides. */
static int load_config(struct agent_opts *o, const char *path)
{
	char where[300], **args = NULL;
	int nargs = 0, err;

	err = config_load_argv("sonde-agent", path, long_options, &nargs, &args);
	if (err)
		return err;
	snprintf(where, sizeof(where), "config file %s: ", path);
	err = parse_args(o, nargs, args, where);
	config_free_argv(nargs, args);
	return err;
}

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* In a pod, the API server and the service account's token and CA are found by convention. */
static int k8s_defaults(struct agent_opts *o)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"),
		   *port = getenv("KUBERNETES_SERVICE_PORT");
	bool in_cluster = !o->k8s_api && host && *host;

	if (o->k8s_api && strcmp(o->k8s_api, "none") == 0) {
		free(o->k8s_api);
		o->k8s_api = NULL;
		return 0;
	}
	if (in_cluster) {
		/* an IPv6 address goes in brackets */
		if (asprintf(&o->k8s_api, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s",
			     host, port && *port ? port : "443") < 0) {
			o->k8s_api = NULL;
			return -ENOMEM;
		}
	}
	if (!o->k8s_api)
		return 0;
	if (!o->k8s_token_file && (in_cluster || access(SA_DIR "/token", R_OK) == 0) &&
	    set_str(&o->k8s_token_file, SA_DIR "/token"))
		return -ENOMEM;
	if (!o->k8s_ca_file && (in_cluster || access(SA_DIR "/ca.crt", R_OK) == 0) &&
	    set_str(&o->k8s_ca_file, SA_DIR "/ca.crt"))
		return -ENOMEM;
	return 0;
}

int agent_opts__parse(struct agent_opts *o, int argc, char **argv)
{
	const char *env, *path;
	int err;

	/* the config file first (argv may name it anywhere), then argv over it */
	path = config_path_in_argv(argc, argv);
	if (path) {
		err = load_config(o, path);
		if (err)
			return err;
	}
	err = parse_args(o, argc, argv, NULL);
	if (err)
		return err;
	if (!o->collector) {
		env = getenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT");
		if (!env || !*env)
			env = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
		if (env && *env) {
			if (strncmp(env, "http://", 7) != 0 && strncmp(env, "https://", 8) != 0)
				return bad("OTEL_EXPORTER_OTLP_ENDPOINT", env,
					   "expected an http(s) URL");
			if (set_str(&o->collector, env))
				return -ENOMEM;
		}
	}
	if (!o->node_name && (env = getenv("NODE_NAME")) && *env && set_str(&o->node_name, env))
		return -ENOMEM;
	err = k8s_defaults(o);
	if (err)
		return err;
	if (o->collector && o->output && o->format == OUTPUT_OTLP) {
		fprintf(stderr,
			"sonde-agent: with --collector, --output writes folded stacks or pprof "
			"(every sample recorded, for checking), not otlp\n");
		return -EINVAL;
	}
	return 0;
}

char *agent_opts__endpoint(const struct agent_opts *o)
{
	const char *full = getenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT");
	size_t n;
	char *url;

	if (!o->collector)
		return NULL;
	/* the per-signal variable is the endpoint itself, as the OpenTelemetry spec says */
	if (full && strcmp(full, o->collector) == 0)
		return strdup(full);
	n = strlen(o->collector);
	while (n && o->collector[n - 1] == '/')
		n--;
	if (asprintf(&url, "%.*s/v1development/profiles", (int)n, o->collector) < 0)
		return NULL;
	return url;
}
