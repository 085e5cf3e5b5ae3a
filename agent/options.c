// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "../bpf/profile.h"
#include "../common/util.h"

#ifndef SONDE_VERSION
#define SONDE_VERSION "dev"
#endif

static const char usage[] =
	"Usage: sonde-agent [OPTIONS]\n"
	"\n"
	"Samples every CPU of this machine with eBPF and writes or ships CPU profiles of every\n"
	"process (kernel and user stacks). Needs root, or CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and\n"
	"CAP_SYS_RESOURCE.\n"
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
	"      --symbolize-timeout S at the end of a run, wait this long for symbols still\n"
	"                            loading (default 15s); frames still without one keep\n"
	"                            their [module+0xADDR] name\n"
	"\n"
	"Output:\n"
	"  -o, --output FILE         write the profile to FILE when the run ends\n"
	"  -f, --format FORMAT       folded (default) | pprof (gzipped profile.proto)\n"
	"\n"
	"General:\n"
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
	OPT_SYMBOLIZE_TIMEOUT,
	OPT_LOG_LEVEL,
};

static const struct option long_options[] = {
	{ "frequency", required_argument, NULL, 'F' },
	{ "duration", required_argument, NULL, 'd' },
	{ "pid", required_argument, NULL, 'p' },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "stack-bytes", required_argument, NULL, OPT_STACK_BYTES },
	{ "ring-buffer-size", required_argument, NULL, OPT_RING_SIZE },
	{ "no-hardware-event", no_argument, NULL, OPT_NO_HW },
	{ "btf", required_argument, NULL, OPT_BTF },
	{ "fp-stack", required_argument, NULL, OPT_FP_STACK },
	{ "unwind-cache-size", required_argument, NULL, OPT_UNWIND_CACHE },
	{ "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
	{ "no-debuginfod", no_argument, NULL, OPT_NO_DEBUGINFOD },
	{ "debuginfod-timeout", required_argument, NULL, OPT_DEBUGINFOD_TIMEOUT },
	{ "symbolize-timeout", required_argument, NULL, OPT_SYMBOLIZE_TIMEOUT },
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
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
	o->debuginfod_timeout_ms = 10000;
	o->drain_interval_ns = 50 * 1000 * 1000;
	o->hardware_event = true;
}

void agent_opts__free(struct agent_opts *o)
{
	for (uint32_t i = 0; i < o->ncgroups; i++)
		free(o->cgroups[i]);
	free(o->output);
	free(o->btf_path);
	free(o->debug_dirs);
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

int agent_opts__parse(struct agent_opts *o, int argc, char **argv)
{
	uint64_t u;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":F:d:p:o:f:hV", long_options, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (parse_u64(optarg, &u) || u < 1 || u > 10000)
				return bad("--frequency", optarg, "expected 1..10000 Hz");
			o->frequency = (uint32_t)u;
			break;
		case 'd':
			if (parse_duration_ns(optarg, &o->duration_ns))
				return bad("--duration", optarg, "expected seconds, e.g. 10 or 1.5s or 5m");
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
				return bad("--cgroup", optarg, "too many --cgroup flags (limit 1024)");
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

			if (parse_duration_ns(optarg, &ns) || ns < 1000000 || ns > 600 * NSEC_PER_SEC)
				return bad("--debuginfod-timeout", optarg, "expected 1ms to 10m");
			o->debuginfod_timeout_ms = (uint32_t)(ns / 1000000);
			break;
		}
		case OPT_SYMBOLIZE_TIMEOUT:
			if (parse_duration_ns(optarg, &o->symbolize_timeout_ns))
				return bad("--symbolize-timeout", optarg, "expected a duration, e.g. 15s");
			break;
		case OPT_UNWIND_CACHE:
			if (parse_size(optarg, &u) || u < (1 << 20))
				return bad("--unwind-cache-size", optarg, "expected a size of 1M or more");
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
			else
				return bad("--format", optarg, "expected folded or pprof");
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &o->log_level))
				return bad("--log-level", optarg, "expected error, warn, info or debug");
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 'V':
			printf("sonde-agent %s\n", SONDE_VERSION);
			return 1;
		case ':':
			fprintf(stderr, "sonde-agent: option '%s' needs a value (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "sonde-agent: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sonde-agent: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
