/* SPDX-License-Identifier: Apache-2.0 */
/* Agent configuration: defaults, command-line flags, validation. */
#ifndef SONDE_AGENT_OPTIONS_H
#define SONDE_AGENT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/log.h"

#define AGENT_MAX_PIDS 1024 /* the size of the in-kernel pid filter */
#define AGENT_MAX_CGROUPS 1024
#define AGENT_MAX_HEADERS 32
#define AGENT_MAX_RELABEL 64

enum fp_stack_mode {
	FP_STACK_AUTO = 0, /* in-kernel frame-pointer walk only where it is right (Go) */
	FP_STACK_ALWAYS,
	FP_STACK_NEVER,
};

enum output_format {
	OUTPUT_FOLDED = 0,
	OUTPUT_PPROF,
	OUTPUT_OTLP,
};

struct agent_opts {
	uint32_t frequency;   /* Hz */
	uint64_t duration_ns; /* 0 = until SIGINT/SIGTERM */
	uint32_t pids[AGENT_MAX_PIDS];
	uint32_t npids;
	char *cgroups[AGENT_MAX_CGROUPS]; /* paths as given */
	uint32_t ncgroups;
	char *output; /* one-shot output file, or NULL */
	enum output_format format;
	enum log_level log_level;
	uint64_t ring_bytes;	    /* 0 = sized from the CPU count */
	uint32_t stack_copy_bytes;  /* user stack copied per sample */
	uint64_t drain_interval_ns; /* how often the ring buffer is drained */
	bool hardware_event;	    /* try the cycles PMU event before cpu-clock */
	enum fp_stack_mode fp_stack;
	uint64_t unwind_cache_bytes;   /* memory for unwind tables */
	uint64_t max_parked_bytes;     /* samples waiting for an unwind table */
	uint64_t symbolize_timeout_ns; /* one-shot: how long to wait for symbols at the end */
	uint32_t debuginfod_timeout_ms;
	uint32_t debuginfod_negative_ttl_s;
	bool no_debuginfod;
	char *debug_dirs; /* ':'-separated, or NULL for /usr/lib/debug */
	char *btf_path;	  /* external kernel BTF, or NULL for /sys/kernel/btf/vmlinux */
	/* daemon mode: OTLP to a collector */
	char *collector; /* base URL; NULL for one-shot mode */
	uint64_t upload_interval_ns;
	char *tenant;
	char *headers[AGENT_MAX_HEADERS];
	uint32_t nheaders;
	char *relabel[AGENT_MAX_RELABEL]; /* relabel rules, in order (relabel.h) */
	uint32_t nrelabel;
	char *ca_file;
	uint64_t queue_bytes;
	uint64_t shutdown_timeout_ns;
	uint64_t max_backoff_ns;     /* retry backoff cap */
	bool symbolize_in_collector; /* --symbolize=collector */
	char *metrics_addr;
	char *host_name;
	char *node_name; /* k8s.node.name; default $NODE_NAME */
	/* pod metadata from the Kubernetes API server (k8s_client.h) */
	char *k8s_api; /* URL, "none", or NULL: in-cluster when $KUBERNETES_SERVICE_HOST is set */
	char *k8s_token_file; /* NULL: the pod's service account token */
	char *k8s_ca_file;    /* NULL: the pod's service account CA */
	uint64_t k8s_wait_ns; /* at start, wait this long for the node's pod list */
	char *config;	      /* the file the options came from, if any */
};

/* Fills defaults. */
void agent_opts__init(struct agent_opts *o);
/*
 * Parses argv into o: first the --config file's settings (if argv names one), then argv, which
 * wins. Reads OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT when no
 * --collector is given. Returns 0 to run, 1 when --help/--version was printed (exit 0), or
 * -EINVAL after printing one error line naming the bad flag or config key.
 */
int agent_opts__parse(struct agent_opts *o, int argc, char **argv);
/* The endpoint requests go to: the collector URL + /v1development/profiles (caller frees). */
char *agent_opts__endpoint(const struct agent_opts *o);
void agent_opts__free(struct agent_opts *o);
const char *output_format_name(enum output_format f);

#endif
