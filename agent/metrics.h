/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's counters and gauges, and the two ways it reports them: the /metrics page
 * (Prometheus text format, served by metrics_server.h) and the log lines it writes when
 * sampling stops. Both are rendered from one table (metrics.c): a counter is described once,
 * with its metric family and label and, when a log line shows it, its key there.
 */
#ifndef SONDE_METRICS_H
#define SONDE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "exporter.h"
#include "k8s_client.h"
#include "pipeline.h"
#include "proc.h"
#include "unwind_table.h"
#include "../bpf/sampler_shared.h"
#include "../common/buf.h"
#include "../symbolizer/symbolizer.h"

/* Everything the agent reports about itself, copied from its modules at one moment. */
struct metrics_snapshot {
	const char *version;
	const char *event_name; /* the sampling event, NULL before the sampler is attached */
	uint64_t ncpus;
	uint64_t bpf[SONDE_STAT_NR]; /* counted in the kernel */
	struct pipeline_stats pipeline;
	uint64_t labels_dropped; /* labels left out of a process's set (too many) */
	/* daemon mode: turning each interval into a request */
	uint64_t intervals;
	uint64_t requests_queued;	 /* non-empty intervals handed to the exporter */
	uint64_t encode_dropped_samples; /* in intervals that could not be encoded (no memory) */
	uint64_t otlp_bytes;		 /* uncompressed */
	uint64_t otlp_gzip_bytes;
	uint64_t name_cpu_ns; /* CPU time of the main thread, per step */
	uint64_t encode_cpu_ns;
	uint64_t gzip_cpu_ns;
	struct proc_table_stats procs;
	struct unwind_cache_stats unwind;
	struct symbolizer_stats sym;
	struct exporter_stats exporter; /* zero without an exporter */
	bool has_k8s;			/* the k8s counters below are shown */
	struct k8s_stats k8s;
	uint64_t rss_bytes;
};

/* The log lines the table feeds. */
enum metrics_log {
	METRICS_LOG_STACKS,	   /* "stacks": how user stacks unwound */
	METRICS_LOG_UNWIND_TABLES, /* "unwind tables" */
	METRICS_LOG_SAMPLING, /* "sampling stopped": the kernel's counters and the samples' fate */
	METRICS_LOG_SYMBOLS,  /* "symbols" */
	METRICS_LOG_EXPORTER, /* "exporter stopped" */
	METRICS_NLOG,
};

/* Appends the /metrics page (Prometheus text format 0.0.4). */
void metrics_render(const struct metrics_snapshot *s, struct buf *out);
/* Appends the fields of a log line ("key=value key=value"). */
void metrics_log_fields(const struct metrics_snapshot *s, enum metrics_log line, struct buf *out);
/* Logs that line (at info). */
void metrics_log(const struct metrics_snapshot *s, enum metrics_log line);

#endif
