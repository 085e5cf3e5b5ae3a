// SPDX-License-Identifier: Apache-2.0
/*
 * agent/metrics.c: the /metrics page and the stop-time log lines come from one table. A counter
 * shows the same value in both; the log lines keep the keys and order scripts parse (the
 * formats below are the ones main.c wrote by hand before the table); the page is well-formed
 * (every family once, its samples together, after its HELP and TYPE).
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../agent/metrics.h"

static void fill(struct metrics_snapshot *s)
{
	uint64_t *bpf = s->bpf;

	memset(s, 0, sizeof(*s));
	s->version = "v9";
	s->event_name = "cpu-clock";
	s->ncpus = 2;
	for (int i = 0; i < SONDE_STAT_NR; i++)
		bpf[i] = 1000 + (uint64_t)i;
	for (int i = 0; i < UNWIND_NSTATUS; i++)
		s->pipeline.unwind_status[i] = 200 + (uint64_t)i;
	s->pipeline.samples_kept = 4242;
	s->pipeline.samples_dropped = 3;
	s->pipeline.parked_dropped = 99;
	s->pipeline.relabel_dropped = 16;
	s->pipeline.bad_records = 4;
	s->pipeline.user_frames = 5566;
	s->pipeline.unwind_calls = 1434;
	s->pipeline.unwind_ns = 2500000000ull;
	s->pipeline.stack_copy_bytes = 14869320;
	s->procs.maps_reads = 77;
	s->procs.reaped = 3;
	s->procs.procs = 5;
	s->unwind.entries = 84;
	s->unwind.ready = 83;
	s->unwind.bytes = 21755700;
	s->unwind.builds = 85;
	s->unwind.build_failures = 1;
	s->unwind.build_ns = 4132999999ull;
	s->unwind.evictions = 6;
	s->sym.modules = 84;
	s->sym.bytes = 36533386;
	s->sym.load_ns = 1370000001ull;
	s->sym.debuginfod_found = 8;
	s->intervals = 9;
	s->requests_queued = 8;
	s->encode_dropped_samples = 3;
	s->exporter.requests_sent = 7;
	s->exporter.profiles_sent = 70;
	s->exporter.bytes_sent = 8744;
	s->exporter.retries = 1;
	s->exporter.dropped_requests = 2;
	s->exporter.dropped_profiles = 20;
	s->exporter.samples_sent = 700;
	s->exporter.dropped[EXPORTER_DROP_QUEUE_FULL] = 1;
	s->exporter.dropped[EXPORTER_DROP_SHUTDOWN] = 1;
	s->exporter.dropped_samples = 200;
	s->exporter.queue_requests = 1;
	s->exporter.ncodes = 2;
	strcpy(s->exporter.errors[0].code, "503");
	s->exporter.errors[0].count = 3;
	strcpy(s->exporter.errors[1].code, "timeout");
	s->exporter.errors[1].count = 1;
	s->k8s.synced = true;
	s->k8s.store.pods = 12;
	s->k8s.relists = 2;
}

static bool has_line(const struct buf *page, const char *line)
{
	const char *p = buf_cstr((struct buf *)page);
	size_t n = strlen(line);

	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, line, n) == 0 && p[n] == '\n')
			return true;
	return false;
}

static void test_same_values_on_page_and_in_log(void)
{
	struct metrics_snapshot s;
	struct buf page = {0}, line = {0};

	fill(&s);
	metrics_render(&s, &page);
	metrics_log_fields(&s, METRICS_LOG_SAMPLING, &line);
	CHECK(strstr(buf_cstr(&line), " kept=4242 ") != NULL);
	CHECK(has_line(&page, "sonde_agent_samples_recorded_total 4242"));
	CHECK(strstr(buf_cstr(&line), " dropped_ringbuf=1004 ") != NULL);
	CHECK(has_line(&page, "sonde_agent_bpf_events_total{event=\"ring_buffer_full\"} 1004"));
	CHECK(has_line(&page,
		       "sonde_agent_samples_dropped_total{reason=\"ring_buffer_full\"} 1004"));
	buf_reset(&line);
	metrics_log_fields(&s, METRICS_LOG_STACKS, &line);
	CHECK(strstr(buf_cstr(&line), " parked_dropped=99 ") != NULL);
	CHECK(has_line(&page,
		       "sonde_agent_samples_dropped_total{reason=\"unwind_queue_full\"} 99"));
	CHECK(has_line(&page, "sonde_agent_samples_dropped_total{reason=\"encode\"} 3"));
	CHECK(strstr(buf_cstr(&line), " unwind_ns=2500000000 ") != NULL);
	CHECK(has_line(&page, "sonde_agent_unwind_seconds_total 2.5"));
	CHECK(strstr(buf_cstr(&line), "pending=203 ") != NULL);
	CHECK(has_line(&page, "sonde_agent_stacks_total{status=\"pending\"} 203"));
	CHECK(has_line(&page, "sonde_agent_info{version=\"v9\",event=\"cpu-clock\"} 1"));
	CHECK(has_line(&page, "sonde_agent_export_errors_total{code=\"503\"} 3"));
	CHECK(has_line(&page, "sonde_agent_export_errors_total{code=\"timeout\"} 1"));
	CHECK(has_line(&page, "sonde_agent_symbol_bytes 36533386"));
	/* pod metadata only when there is a client */
	CHECK(strstr(buf_cstr(&page), "sonde_agent_k8s_") == NULL);
	s.has_k8s = true;
	buf_reset(&page);
	metrics_render(&s, &page);
	CHECK(has_line(&page, "sonde_agent_k8s_synced 1"));
	CHECK(has_line(&page, "sonde_agent_k8s_pods 12"));
	CHECK(has_line(&page, "sonde_agent_k8s_relists_total 2"));
	buf_free(&page);
	buf_free(&line);
}

/* The log lines exactly as main.c formatted them by hand, with the exporter's drops by reason. */
static void test_log_lines_unchanged(void)
{
	const uint64_t *b = NULL;
	struct metrics_snapshot s;
	struct buf got = {0}, want = {0};

	fill(&s);
	b = s.bpf;
	metrics_log_fields(&s, METRICS_LOG_SAMPLING, &got);
	buf_printf(&want,
		   "event=%s cpus=%u bpf_runs=%llu sent=%llu idle=%llu filtered=%llu "
		   "dropped_ringbuf=%llu dropped_events=%llu kstack_errors=%llu "
		   "ustack_errors=%llu stack_copy_errors=%llu kept=%llu dropped_memory=%llu "
		   "bad_records=%llu maps_reads=%llu procs_reaped=%llu",
		   "cpu-clock", 2u, (unsigned long long)b[SONDE_STAT_SAMPLES],
		   (unsigned long long)b[SONDE_STAT_SENT], (unsigned long long)b[SONDE_STAT_IDLE],
		   (unsigned long long)b[SONDE_STAT_FILTERED],
		   (unsigned long long)b[SONDE_STAT_DROP_RINGBUF],
		   (unsigned long long)b[SONDE_STAT_EVENT_DROP],
		   (unsigned long long)b[SONDE_STAT_KSTACK_ERR],
		   (unsigned long long)b[SONDE_STAT_USTACK_ERR],
		   (unsigned long long)b[SONDE_STAT_STACK_COPY_ERR], 4242ull, 3ull, 4ull, 77ull,
		   3ull);
	CHECK_STR(buf_cstr(&got), buf_cstr(&want));

	buf_reset(&got);
	buf_reset(&want);
	metrics_log_fields(&s, METRICS_LOG_STACKS, &got);
	for (int i = 0; i < UNWIND_NSTATUS; i++)
		buf_printf(&want, "%s%s=%llu", i ? " " : "", unwind_status_name(i),
			   (unsigned long long)s.pipeline.unwind_status[i]);
	buf_printf(&want,
		   " user_frames=5566 parked_dropped=99 relabel_dropped=16 unwind_calls=1434 "
		   "unwind_ns=2500000000 stack_copy_bytes=14869320");
	CHECK_STR(buf_cstr(&got), buf_cstr(&want));

	buf_reset(&got);
	metrics_log_fields(&s, METRICS_LOG_UNWIND_TABLES, &got);
	CHECK_STR(buf_cstr(&got), "files=84 ready=83 bytes=21755700 builds=85 build_failures=1 "
				  "build_ms=4132 evictions=6");
	buf_reset(&got);
	metrics_log_fields(&s, METRICS_LOG_SYMBOLS, &got);
	CHECK_STR(buf_cstr(&got), "modules=84 loaded=0 bytes=36533386 lookups=0 misses=0 "
				  "load_ms=1370 debug_files=0 debuginfod_requests=0 "
				  "debuginfod_found=8 debuginfod_failed=0 debuginfod_skipped=0");
	buf_reset(&got);
	metrics_log_fields(&s, METRICS_LOG_EXPORTER, &got);
	CHECK_STR(buf_cstr(&got), "intervals=9 requests_queued=8 dropped_encode=3 requests_sent=7 "
				  "profiles_sent=70 "
				  "samples_sent=700 bytes_sent=8744 retries=1 dropped_requests=2 "
				  "dropped_queue_full=1 dropped_refused=0 dropped_shutdown=1 "
				  "dropped_samples=200 dropped_profiles=20 queued=1");
	buf_free(&got);
	buf_free(&want);
}

/* Every family once, HELP then TYPE then its samples, all together. */
static void test_page_well_formed(void)
{
	struct metrics_snapshot s;
	struct buf page = {0};
	char family[128] = "", seen[8192] = " ";
	char *text, *save = NULL;
	int families = 0, samples = 0;

	fill(&s);
	s.has_k8s = true;
	metrics_render(&s, &page);
	text = strdup(buf_cstr(&page));
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[128], key[132];

		if (strncmp(l, "# HELP ", 7) == 0) {
			sscanf(l + 7, "%127s", family);
			snprintf(key, sizeof(key), " %s ", family);
			CHECK(strstr(seen, key) == NULL); /* not seen before */
			if (strlen(seen) + strlen(key) < sizeof(seen))
				strcat(seen, key + 1);
			families++;
			continue;
		}
		if (strncmp(l, "# TYPE ", 7) == 0) {
			sscanf(l + 7, "%127s", name);
			CHECK_STR(name, family);
			continue;
		}
		sscanf(l, "%127[^{ ]", name);
		CHECK_STR(name, family);
		samples++;
	}
	CHECK_EQ_U64(families, 39);
	/*
	 * 12 BPF events, 11 unwind statuses, 2 export error codes, 3 drop reasons, the rest one or
	 * a few each (samples dropped: 7 reasons)
	 */
	CHECK_EQ_U64(samples, 12 + 11 + 2 + 3 + 48);
	free(text);
	buf_free(&page);
}

int main(void)
{
	RUN(test_same_values_on_page_and_in_log);
	RUN(test_log_lines_unchanged);
	RUN(test_page_well_formed);
	return unit_done();
}
