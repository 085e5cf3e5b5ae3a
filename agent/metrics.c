// SPDX-License-Identifier: Apache-2.0
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "../common/httpd.h"
#include "../common/log.h"
#include "../common/util.h"

/* A metric family of the /metrics page, in the order the page shows them. */
struct family {
	const char *name;
	const char *type;
	const char *help;
};

static const struct family families[] = {
	{"sonde_agent_info", "gauge", "Build and sampling event of the agent."},
	{"sonde_agent_bpf_events_total", "counter",
	 "Sampling program runs and what became of them, counted in the kernel."},
	{"sonde_agent_samples_total", "counter", "Samples the agent received from the kernel."},
	{"sonde_agent_samples_recorded_total", "counter", "Samples added to a profile."},
	{"sonde_agent_samples_dropped_total", "counter", "Samples lost, by reason."},
	{"sonde_agent_stacks_total", "counter",
	 "Samples by how their user stack unwound: complete, truncated, or the reason it stopped."},
	{"sonde_agent_unwind_seconds_total", "counter", "Time spent unwinding user stacks."},
	{"sonde_agent_profiles_sent_total", "counter",
	 "Profiles (one per process and interval) the collector accepted."},
	{"sonde_agent_requests_sent_total", "counter", "OTLP requests the collector accepted."},
	{"sonde_agent_bytes_sent_total", "counter", "Bytes of accepted requests, compressed."},
	{"sonde_agent_export_errors_total", "counter", "Failed sends, by HTTP status or kind."},
	{"sonde_agent_export_retries_total", "counter", "Sends retried after a retryable failure."},
	{"sonde_agent_export_cpu_seconds_total", "counter",
	 "CPU time of the sending thread in requests (TLS, HTTP)."},
	{"sonde_agent_profiles_rejected_total", "counter", "Profiles a partial success rejected."},
	{"sonde_agent_export_dropped_profiles_total", "counter",
	 "Profiles dropped without delivery: queue full, refused, or at shutdown."},
	{"sonde_agent_export_dropped_bytes_total", "counter", "Bytes of dropped requests."},
	{"sonde_agent_export_dropped_requests_total", "counter",
	 "Requests dropped without delivery, by reason."},
	{"sonde_agent_export_dropped_samples_total", "counter", "Samples in dropped requests."},
	{"sonde_agent_samples_sent_total", "counter",
	 "Samples in requests the collector accepted whole."},
	{"sonde_agent_queue_requests", "gauge", "Requests waiting to be sent."},
	{"sonde_agent_queue_bytes", "gauge", "Bytes waiting to be sent."},
	{"sonde_agent_processes_tracked", "gauge", "Processes the agent keeps mappings of."},
	{"sonde_agent_files_tracked", "gauge", "Mapped files the agent knows."},
	{"sonde_agent_unwind_table_bytes", "gauge", "Memory of unwind tables."},
	{"sonde_agent_symbol_bytes", "gauge", "Memory of loaded symbols."},
	{"sonde_agent_debuginfod_requests_total", "counter", "Fetches from debuginfod, by result."},
	{"sonde_agent_intervals_total", "counter", "Profiling intervals completed."},
	{"sonde_agent_encoded_bytes_total", "counter",
	 "OTLP bytes encoded, before and after gzip."},
	{"sonde_agent_encode_cpu_seconds_total", "counter",
	 "CPU time of turning each interval into a request, by step."},
	{"sonde_agent_resident_memory_bytes", "gauge", "Resident memory of the agent."},
	{"sonde_agent_labels_dropped_total", "counter",
	 "Labels left out of a process's set: more than 64, or out of memory."},
	{"sonde_agent_relabeled_processes_total", "counter",
	 "Processes labelled again after their pod's metadata arrived or changed."},
};

/* Shown only with pod metadata. */
static const struct family k8s_families[] = {
	{"sonde_agent_k8s_synced", "gauge",
	 "Whether the node's pods have been listed from the API server."},
	{"sonde_agent_k8s_pods", "gauge", "Pods of this node whose metadata is cached."},
	{"sonde_agent_k8s_requests_total", "counter", "Requests to the API server, by kind."},
	{"sonde_agent_k8s_request_errors_total", "counter",
	 "Failed API server requests (connection, TLS, HTTP status, malformed answer)."},
	{"sonde_agent_k8s_watch_events_total", "counter", "Pod watch events applied."},
	{"sonde_agent_k8s_relists_total", "counter",
	 "Watches that had to start again from a new list (410 Gone)."},
	{"sonde_agent_k8s_ignored_total", "counter", "Pod metadata not cached, by reason."},
};

enum kind {
	U64,	       /* a uint64_t */
	U64_ARRAY,     /* n uint64_t, named by index_name (label value and log key) */
	BOOL,	       /* a bool */
	STR,	       /* a const char * (log lines only) */
	INFO,	       /* sonde_agent_info: version and event as labels, value 1 */
	EXPORT_ERRORS, /* the exporter's failures, one label per code */
};

/*
 * One reported value: where it is in the snapshot, its sample of a family (family NULL: logged
 * only) and its field in a log line (log_key NULL: on the page only). Within a family, samples
 * come in table order; so do the fields of a log line.
 */
struct metric {
	const char *family;
	const char *label; /* "key=\"value\"", or NULL */
	enum metrics_log log;
	const char *log_key;
	enum kind kind;
	size_t offset;
	double page_div;		/* the page shows value / page_div (0: 1) */
	uint64_t log_div;		/* the log shows value / log_div (0: 1) */
	uint32_t n;			/* U64_ARRAY */
	const char *label_key;		/* U64_ARRAY */
	const char *(*index_name)(int); /* U64_ARRAY */
};

#define AT(field) .offset = offsetof(struct metrics_snapshot, field)
#define NOLOG .log = METRICS_NLOG
#define LOG(line, key) .log = (line), .log_key = (key)

static const char *unwind_status_label(int i)
{
	return unwind_status_name((enum unwind_status)i);
}

/* clang-format off */
static const struct metric metrics[] = {
	{"sonde_agent_info", NULL, NOLOG, .kind = INFO},
	{NULL, NULL, LOG(METRICS_LOG_SAMPLING, "event"), .kind = STR, AT(event_name)},
	{NULL, NULL, LOG(METRICS_LOG_SAMPLING, "cpus"), AT(ncpus)},
	{"sonde_agent_bpf_events_total", "event=\"program_runs\"",
	 LOG(METRICS_LOG_SAMPLING, "bpf_runs"), AT(bpf[SONDE_STAT_SAMPLES])},
	{"sonde_agent_bpf_events_total", "event=\"sent\"", LOG(METRICS_LOG_SAMPLING, "sent"),
	 AT(bpf[SONDE_STAT_SENT])},
	{"sonde_agent_bpf_events_total", "event=\"idle\"", LOG(METRICS_LOG_SAMPLING, "idle"),
	 AT(bpf[SONDE_STAT_IDLE])},
	{"sonde_agent_bpf_events_total", "event=\"filtered\"", LOG(METRICS_LOG_SAMPLING, "filtered"),
	 AT(bpf[SONDE_STAT_FILTERED])},
	{"sonde_agent_bpf_events_total", "event=\"ring_buffer_full\"",
	 LOG(METRICS_LOG_SAMPLING, "dropped_ringbuf"), AT(bpf[SONDE_STAT_DROP_RINGBUF])},
	{"sonde_agent_bpf_events_total", "event=\"no_scratch\"", NOLOG,
	 AT(bpf[SONDE_STAT_DROP_SCRATCH])},
	{"sonde_agent_bpf_events_total", "event=\"process_event_lost\"",
	 LOG(METRICS_LOG_SAMPLING, "dropped_events"), AT(bpf[SONDE_STAT_EVENT_DROP])},
	{"sonde_agent_bpf_events_total", "event=\"kernel_stack_error\"",
	 LOG(METRICS_LOG_SAMPLING, "kstack_errors"), AT(bpf[SONDE_STAT_KSTACK_ERR])},
	{"sonde_agent_bpf_events_total", "event=\"user_stack_error\"",
	 LOG(METRICS_LOG_SAMPLING, "ustack_errors"), AT(bpf[SONDE_STAT_USTACK_ERR])},
	{"sonde_agent_bpf_events_total", "event=\"stack_copy_error\"",
	 LOG(METRICS_LOG_SAMPLING, "stack_copy_errors"), AT(bpf[SONDE_STAT_STACK_COPY_ERR])},
	{"sonde_agent_bpf_events_total", "event=\"stack_copy_truncated\"", NOLOG,
	 AT(bpf[SONDE_STAT_STACK_TRUNC])},
	{"sonde_agent_bpf_events_total", "event=\"process_table_full\"", NOLOG,
	 AT(bpf[SONDE_STAT_PROCMAP_FULL])},
	{"sonde_agent_samples_total", NULL, NOLOG, AT(bpf[SONDE_STAT_SENT])},
	{"sonde_agent_samples_recorded_total", NULL, LOG(METRICS_LOG_SAMPLING, "kept"),
	 AT(pipeline.samples_kept)},
	{"sonde_agent_samples_dropped_total", "reason=\"ring_buffer_full\"", NOLOG,
	 AT(bpf[SONDE_STAT_DROP_RINGBUF])},
	{"sonde_agent_samples_dropped_total", "reason=\"profile_memory\"",
	 LOG(METRICS_LOG_SAMPLING, "dropped_memory"), AT(pipeline.samples_dropped)},
	{"sonde_agent_samples_dropped_total", "reason=\"malformed_record\"",
	 LOG(METRICS_LOG_SAMPLING, "bad_records"), AT(pipeline.bad_records)},
	{NULL, NULL, LOG(METRICS_LOG_SAMPLING, "maps_reads"), AT(procs.maps_reads)},
	{NULL, NULL, LOG(METRICS_LOG_SAMPLING, "procs_reaped"), AT(procs.reaped)},
	{"sonde_agent_stacks_total", NULL, LOG(METRICS_LOG_STACKS, ""), .kind = U64_ARRAY,
	 AT(pipeline.unwind_status), .n = UNWIND_NSTATUS, .label_key = "status",
	 .index_name = unwind_status_label},
	{NULL, NULL, LOG(METRICS_LOG_STACKS, "user_frames"), AT(pipeline.user_frames)},
	{"sonde_agent_samples_dropped_total", "reason=\"unwind_queue_full\"",
	 LOG(METRICS_LOG_STACKS, "parked_dropped"), AT(pipeline.parked_dropped)},
	{"sonde_agent_samples_dropped_total", "reason=\"relabel\"",
	 LOG(METRICS_LOG_STACKS, "relabel_dropped"), AT(pipeline.relabel_dropped)},
	{NULL, NULL, LOG(METRICS_LOG_STACKS, "unwind_calls"), AT(pipeline.unwind_calls)},
	{"sonde_agent_unwind_seconds_total", NULL, LOG(METRICS_LOG_STACKS, "unwind_ns"),
	 AT(pipeline.unwind_ns), .page_div = 1e9},
	{NULL, NULL, LOG(METRICS_LOG_STACKS, "stack_copy_bytes"), AT(pipeline.stack_copy_bytes)},
	{NULL, NULL, LOG(METRICS_LOG_EXPORTER, "intervals"), AT(intervals)},
	{NULL, NULL, LOG(METRICS_LOG_EXPORTER, "requests_queued"), AT(requests_queued)},
	{"sonde_agent_samples_dropped_total", "reason=\"encode\"",
	 LOG(METRICS_LOG_EXPORTER, "dropped_encode"), AT(encode_dropped_samples)},
	{"sonde_agent_requests_sent_total", NULL, LOG(METRICS_LOG_EXPORTER, "requests_sent"),
	 AT(exporter.requests_sent)},
	{"sonde_agent_profiles_sent_total", NULL, LOG(METRICS_LOG_EXPORTER, "profiles_sent"),
	 AT(exporter.profiles_sent)},
	{"sonde_agent_samples_sent_total", NULL, LOG(METRICS_LOG_EXPORTER, "samples_sent"),
	 AT(exporter.samples_sent)},
	{"sonde_agent_bytes_sent_total", NULL, LOG(METRICS_LOG_EXPORTER, "bytes_sent"),
	 AT(exporter.bytes_sent)},
	{"sonde_agent_export_errors_total", NULL, NOLOG, .kind = EXPORT_ERRORS},
	{"sonde_agent_export_retries_total", NULL, LOG(METRICS_LOG_EXPORTER, "retries"),
	 AT(exporter.retries)},
	{NULL, NULL, LOG(METRICS_LOG_EXPORTER, "dropped_requests"), AT(exporter.dropped_requests)},
	{"sonde_agent_export_dropped_requests_total", "reason=\"queue_full\"",
	 LOG(METRICS_LOG_EXPORTER, "dropped_queue_full"),
	 AT(exporter.dropped[EXPORTER_DROP_QUEUE_FULL])},
	{"sonde_agent_export_dropped_requests_total", "reason=\"refused\"",
	 LOG(METRICS_LOG_EXPORTER, "dropped_refused"), AT(exporter.dropped[EXPORTER_DROP_REFUSED])},
	{"sonde_agent_export_dropped_requests_total", "reason=\"shutdown\"",
	 LOG(METRICS_LOG_EXPORTER, "dropped_shutdown"),
	 AT(exporter.dropped[EXPORTER_DROP_SHUTDOWN])},
	{"sonde_agent_export_dropped_samples_total", NULL, LOG(METRICS_LOG_EXPORTER, "dropped_samples"),
	 AT(exporter.dropped_samples)},
	{"sonde_agent_export_cpu_seconds_total", NULL, NOLOG, AT(exporter.send_cpu_ns),
	 .page_div = 1e9},
	{"sonde_agent_profiles_rejected_total", NULL, NOLOG, AT(exporter.profiles_rejected)},
	{"sonde_agent_export_dropped_profiles_total", NULL,
	 LOG(METRICS_LOG_EXPORTER, "dropped_profiles"), AT(exporter.dropped_profiles)},
	{"sonde_agent_export_dropped_bytes_total", NULL, NOLOG, AT(exporter.dropped_bytes)},
	{"sonde_agent_queue_requests", NULL, LOG(METRICS_LOG_EXPORTER, "queued"),
	 AT(exporter.queue_requests)},
	{"sonde_agent_queue_bytes", NULL, NOLOG, AT(exporter.queue_bytes)},
	{"sonde_agent_processes_tracked", NULL, NOLOG, AT(procs.procs)},
	{"sonde_agent_files_tracked", NULL, NOLOG, AT(procs.objects)},
	{NULL, NULL, LOG(METRICS_LOG_UNWIND_TABLES, "files"), AT(unwind.entries)},
	{NULL, NULL, LOG(METRICS_LOG_UNWIND_TABLES, "ready"), AT(unwind.ready)},
	{"sonde_agent_unwind_table_bytes", NULL, LOG(METRICS_LOG_UNWIND_TABLES, "bytes"),
	 AT(unwind.bytes)},
	{NULL, NULL, LOG(METRICS_LOG_UNWIND_TABLES, "builds"), AT(unwind.builds)},
	{NULL, NULL, LOG(METRICS_LOG_UNWIND_TABLES, "build_failures"), AT(unwind.build_failures)},
	{NULL, NULL, LOG(METRICS_LOG_UNWIND_TABLES, "build_ms"), AT(unwind.build_ns),
	 .log_div = 1000000},
	{NULL, NULL, LOG(METRICS_LOG_UNWIND_TABLES, "evictions"), AT(unwind.evictions)},
	{NULL, NULL, LOG(METRICS_LOG_SYMBOLS, "modules"), AT(sym.modules)},
	{NULL, NULL, LOG(METRICS_LOG_SYMBOLS, "loaded"), AT(sym.modules_loaded)},
	{"sonde_agent_symbol_bytes", NULL, LOG(METRICS_LOG_SYMBOLS, "bytes"), AT(sym.bytes)},
	{NULL, NULL, LOG(METRICS_LOG_SYMBOLS, "lookups"), AT(sym.lookups)},
	{NULL, NULL, LOG(METRICS_LOG_SYMBOLS, "misses"), AT(sym.misses)},
	{NULL, NULL, LOG(METRICS_LOG_SYMBOLS, "load_ms"), AT(sym.load_ns), .log_div = 1000000},
	{NULL, NULL, LOG(METRICS_LOG_SYMBOLS, "debug_files"), AT(sym.debug_files)},
	{NULL, NULL, LOG(METRICS_LOG_SYMBOLS, "debuginfod_requests"), AT(sym.debuginfod_requests)},
	{"sonde_agent_debuginfod_requests_total", "result=\"found\"",
	 LOG(METRICS_LOG_SYMBOLS, "debuginfod_found"), AT(sym.debuginfod_found)},
	{"sonde_agent_debuginfod_requests_total", "result=\"failed\"",
	 LOG(METRICS_LOG_SYMBOLS, "debuginfod_failed"), AT(sym.debuginfod_failed)},
	{"sonde_agent_debuginfod_requests_total", "result=\"skipped\"",
	 LOG(METRICS_LOG_SYMBOLS, "debuginfod_skipped"), AT(sym.debuginfod_skipped)},
	{"sonde_agent_intervals_total", NULL, NOLOG, AT(intervals)},
	{"sonde_agent_encoded_bytes_total", "compression=\"none\"", NOLOG, AT(otlp_bytes)},
	{"sonde_agent_encoded_bytes_total", "compression=\"gzip\"", NOLOG, AT(otlp_gzip_bytes)},
	{"sonde_agent_encode_cpu_seconds_total", "step=\"name_frames\"", NOLOG, AT(name_cpu_ns),
	 .page_div = 1e9},
	{"sonde_agent_encode_cpu_seconds_total", "step=\"encode\"", NOLOG, AT(encode_cpu_ns),
	 .page_div = 1e9},
	{"sonde_agent_encode_cpu_seconds_total", "step=\"gzip\"", NOLOG, AT(gzip_cpu_ns),
	 .page_div = 1e9},
	{"sonde_agent_resident_memory_bytes", NULL, NOLOG, AT(rss_bytes)},
	{"sonde_agent_labels_dropped_total", NULL, NOLOG, AT(labels_dropped)},
	{"sonde_agent_relabeled_processes_total", NULL, NOLOG, AT(procs.relabels)},
	{"sonde_agent_k8s_synced", NULL, NOLOG, .kind = BOOL, AT(k8s.synced)},
	{"sonde_agent_k8s_pods", NULL, NOLOG, AT(k8s.store.pods)},
	{"sonde_agent_k8s_requests_total", "request=\"list\"", NOLOG, AT(k8s.list_requests)},
	{"sonde_agent_k8s_requests_total", "request=\"watch\"", NOLOG, AT(k8s.watch_requests)},
	{"sonde_agent_k8s_request_errors_total", NULL, NOLOG, AT(k8s.request_errors)},
	{"sonde_agent_k8s_watch_events_total", NULL, NOLOG, AT(k8s.store.events)},
	{"sonde_agent_k8s_relists_total", NULL, NOLOG, AT(k8s.relists)},
	{"sonde_agent_k8s_ignored_total", "reason=\"malformed\"", NOLOG, AT(k8s.store.malformed)},
	{"sonde_agent_k8s_ignored_total", "reason=\"pods_over_limit\"", NOLOG,
	 AT(k8s.store.pods_over_limit)},
	{"sonde_agent_k8s_ignored_total", "reason=\"labels_over_limit\"", NOLOG,
	 AT(k8s.store.labels_over_limit)},
};
/* clang-format on */

static const char *const log_messages[METRICS_NLOG] = {
	[METRICS_LOG_STACKS] = "stacks",
	[METRICS_LOG_UNWIND_TABLES] = "unwind tables",
	[METRICS_LOG_SAMPLING] = "sampling stopped",
	[METRICS_LOG_SYMBOLS] = "symbols",
	[METRICS_LOG_EXPORTER] = "exporter stopped",
};

static const void *field(const struct metrics_snapshot *s, const struct metric *m)
{
	return (const char *)s + m->offset;
}

static uint64_t u64_at(const struct metrics_snapshot *s, const struct metric *m, uint32_t i)
{
	return ((const uint64_t *)field(s, m))[i];
}

static double page_value(const struct metric *m, uint64_t v)
{
	return m->page_div ? (double)v / m->page_div : (double)v;
}

/* The samples of one table entry on the page. */
static void render_metric(const struct metrics_snapshot *s, const struct metric *m, struct buf *out)
{
	char labels[160];

	switch (m->kind) {
	case U64:
		metric_value(out, m->family, m->label, page_value(m, u64_at(s, m, 0)));
		break;
	case U64_ARRAY:
		for (uint32_t i = 0; i < m->n; i++) {
			snprintf(labels, sizeof(labels), "%s=\"%s\"", m->label_key,
				 m->index_name((int)i));
			metric_value(out, m->family, labels, page_value(m, u64_at(s, m, i)));
		}
		break;
	case BOOL:
		metric_value(out, m->family, m->label, *(const bool *)field(s, m) ? 1 : 0);
		break;
	case INFO:
		snprintf(labels, sizeof(labels), "version=\"%s\",event=\"%s\"",
			 s->version ? s->version : "", s->event_name ? s->event_name : "none");
		metric_value(out, m->family, labels, 1);
		break;
	case EXPORT_ERRORS:
		for (uint32_t i = 0; i < s->exporter.ncodes && i < EXPORTER_CODES; i++) {
			snprintf(labels, sizeof(labels), "code=\"%s\"", s->exporter.errors[i].code);
			metric_value(out, m->family, labels, (double)s->exporter.errors[i].count);
		}
		break;
	case STR:
		break;
	}
}

/* A family's header, then its samples. */
static void render_family(const struct metrics_snapshot *s, const struct family *f, struct buf *out)
{
	metric_header(out, f->name, f->type, f->help);
	for (size_t i = 0; i < ARRAY_SIZE(metrics); i++)
		if (metrics[i].family && strcmp(metrics[i].family, f->name) == 0)
			render_metric(s, &metrics[i], out);
}

void metrics_render(const struct metrics_snapshot *s, struct buf *out)
{
	for (size_t f = 0; f < ARRAY_SIZE(families); f++)
		render_family(s, &families[f], out);
	for (size_t f = 0; s->has_k8s && f < ARRAY_SIZE(k8s_families); f++)
		render_family(s, &k8s_families[f], out);
}

void metrics_log_fields(const struct metrics_snapshot *s, enum metrics_log line, struct buf *out)
{
	const char *sep = "";

	for (size_t i = 0; i < ARRAY_SIZE(metrics); i++) {
		const struct metric *m = &metrics[i];
		uint64_t div = m->log_div ? m->log_div : 1;

		if (m->log != line)
			continue;
		if (m->kind == STR) {
			buf_printf(out, "%s%s=%s", sep, m->log_key,
				   *(const char *const *)field(s, m) ?: "(null)");
		} else if (m->kind == U64_ARRAY) {
			for (uint32_t j = 0; j < m->n; j++, sep = " ")
				buf_printf(out, "%s%s=%llu", sep, m->index_name((int)j),
					   (unsigned long long)(u64_at(s, m, j) / div));
		} else {
			buf_printf(out, "%s%s=%llu", sep, m->log_key,
				   (unsigned long long)(u64_at(s, m, 0) / div));
		}
		sep = " ";
	}
}

void metrics_log(const struct metrics_snapshot *s, enum metrics_log line)
{
	struct buf fields = {0};

	metrics_log_fields(s, line, &fields);
	log_info(log_messages[line], "%s", fields.oom ? "(out of memory)" : buf_cstr(&fields));
	buf_free(&fields);
}
