// SPDX-License-Identifier: Apache-2.0
/*
 * otlp_load: a load generator for OTLP profiles receivers. Replays request files (as captured
 * from agents) over N keep-alive connections, gzipped as the agent sends them, and prints the
 * throughput and the latency of acknowledgements. Used by bench/collector.sh and by the tests
 * (--unique-services and --acked tell which requests a collector acknowledged).
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/gzip.h"
#include "../common/util.h"
#include "../proto/otlp_pb.h"

struct file {
	Request *req;
	struct buf raw; /* as read, uncompressed */
	struct buf gz;
	uint64_t samples;
	uint64_t min_ns; /* the earliest time in it */
};

struct load {
	const char *url;
	struct file *files;
	size_t nfiles;
	const char *unique_prefix;
	bool now; /* times moved so that each request starts when it is sent */
	struct curl_slist *headers;
	uint64_t max_requests;
	uint64_t deadline_ns;
	long timeout_ms; /* of one request */
	atomic_uint_fast64_t next;
	pthread_mutex_t lock;
	FILE *acked;
	VEC(uint64_t) latencies;
	uint64_t ok, failed, bytes_wire, bytes_raw, samples;
	uint64_t codes[600];
	uint64_t transport_errors;
};

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

static uint64_t count_samples(const Request *r)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->n_resource_profiles; i++)
		for (size_t j = 0;
		     r->resource_profiles[i] && j < r->resource_profiles[i]->n_scope_profiles;
		     j++) {
			const ScopeProfiles *sp = r->resource_profiles[i]->scope_profiles[j];

			for (size_t k = 0; sp && k < sp->n_profiles; k++)
				for (size_t s = 0;
				     sp->profiles[k] && s < sp->profiles[k]->n_samples; s++) {
					const Sample *x = sp->profiles[k]->samples[s];

					n += MAX(x->n_values, x->n_timestamps_unix_nano);
				}
		}
	return n;
}

/* Adds shift to every time in r (profile and sample times); the caller serializes. */
static void shift_times(Request *r, int64_t shift)
{
	for (size_t i = 0; i < r->n_resource_profiles; i++)
		for (size_t j = 0;
		     r->resource_profiles[i] && j < r->resource_profiles[i]->n_scope_profiles;
		     j++) {
			ScopeProfiles *sp = r->resource_profiles[i]->scope_profiles[j];

			for (size_t k = 0; sp && k < sp->n_profiles; k++) {
				Profile *p = sp->profiles[k];

				if (!p)
					continue;
				if (p->time_unix_nano)
					p->time_unix_nano += (uint64_t)shift;
				for (size_t s = 0; s < p->n_samples; s++)
					for (size_t t = 0;
					     p->samples[s] &&
					     t < p->samples[s]->n_timestamps_unix_nano;
					     t++)
						p->samples[s]->timestamps_unix_nano[t] +=
							(uint64_t)shift;
			}
		}
}

/* The earliest time in r, or 0. */
static uint64_t min_time(const Request *r)
{
	uint64_t m = UINT64_MAX;

	for (size_t i = 0; i < r->n_resource_profiles; i++)
		for (size_t j = 0;
		     r->resource_profiles[i] && j < r->resource_profiles[i]->n_scope_profiles;
		     j++) {
			const ScopeProfiles *sp = r->resource_profiles[i]->scope_profiles[j];

			for (size_t k = 0; sp && k < sp->n_profiles; k++) {
				const Profile *p = sp->profiles[k];

				if (p && p->time_unix_nano)
					m = MIN(m, p->time_unix_nano);
				for (size_t s = 0; p && s < p->n_samples; s++)
					for (size_t t = 0;
					     p->samples[s] &&
					     t < p->samples[s]->n_timestamps_unix_nano;
					     t++)
						m = MIN(m, p->samples[s]->timestamps_unix_nano[t]);
			}
		}
	return m == UINT64_MAX ? 0 : m;
}

/*
 * The request with service.name set to name on every resource (that has one), gzipped into
 * out. The shared decoded request is changed for the packing only: the caller serializes.
 */
static int renamed(const struct file *f, const char *name, int64_t shift, struct buf *out)
{
	AnyValue v = AnyValue_INIT;
	VEC(AnyValue **) changed = {0};
	VEC(AnyValue *) saved = {0};
	struct buf raw = {0};
	size_t n;
	int err = 0;

	v.value_case = ANY_STRING;
	v.string_value = (char *)name;
	shift_times(f->req, shift);
	for (size_t i = 0; name && i < f->req->n_resource_profiles; i++) {
		Resource *res = f->req->resource_profiles[i]->resource;

		for (size_t k = 0; res && k < res->n_attributes; k++) {
			KeyValue *kv = res->attributes[k];

			if (kv->key && strcmp(kv->key, "service.name") == 0 &&
			    !VEC_PUSH(&changed, &kv->value) && !VEC_PUSH(&saved, kv->value))
				kv->value = &v;
		}
	}
	n = request_get_packed_size(f->req);
	if (buf_reserve(&raw, n)) {
		err = -ENOMEM;
	} else {
		request_pack(f->req, raw.data);
		raw.len = n;
	}
	for (size_t i = 0; i < saved.len; i++)
		*changed.v[i] = saved.v[i];
	shift_times(f->req, -shift);
	if (!err)
		err = gzip_append(raw.data, raw.len, out);
	VEC_FREE(&changed);
	VEC_FREE(&saved);
	buf_free(&raw);
	return err;
}

static void *worker(void *arg)
{
	struct load *l = arg;
	CURL *c = curl_easy_init();
	struct buf body = {0};
	static pthread_mutex_t rename_lock = PTHREAD_MUTEX_INITIALIZER;

	curl_easy_setopt(c, CURLOPT_URL, l->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, l->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, l->timeout_ms);
	for (;;) {
		uint64_t seq = atomic_fetch_add(&l->next, 1), t0, dt;
		struct file *f;
		char name[128] = "";
		long status = 0;
		CURLcode cc;

		if ((l->max_requests && seq >= l->max_requests) ||
		    (l->deadline_ns && clock_ns(CLOCK_MONOTONIC) >= l->deadline_ns))
			break;
		f = &l->files[seq % l->nfiles];
		buf_reset(&body);
		if (l->unique_prefix || l->now) {
			int64_t shift = l->now && f->min_ns
						? (int64_t)(clock_ns(CLOCK_REALTIME) - f->min_ns)
						: 0;

			if (l->unique_prefix)
				snprintf(name, sizeof(name), "%s-%llu", l->unique_prefix,
					 (unsigned long long)seq);
			pthread_mutex_lock(&rename_lock); /* the decoded request is shared */
			renamed(f, l->unique_prefix ? name : NULL, shift, &body);
			pthread_mutex_unlock(&rename_lock);
		} else {
			buf_append(&body, f->gz.data, f->gz.len);
		}
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body.data);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
		t0 = clock_ns(CLOCK_MONOTONIC);
		cc = curl_easy_perform(c);
		dt = clock_ns(CLOCK_MONOTONIC) - t0;
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		pthread_mutex_lock(&l->lock);
		if (cc != CURLE_OK)
			l->transport_errors++;
		else if (status > 0 && status < 600)
			l->codes[status]++;
		if (status == 200) {
			l->ok++;
			l->bytes_wire += body.len;
			l->bytes_raw += f->raw.len;
			l->samples += f->samples;
			VEC_PUSH(&l->latencies, dt);
			if (l->acked)
				fprintf(l->acked, "%s %llu\n", name[0] ? name : "-",
					(unsigned long long)f->samples);
		} else {
			l->failed++;
		}
		pthread_mutex_unlock(&l->lock);
	}
	buf_free(&body);
	curl_easy_cleanup(c);
	return NULL;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"concurrency", required_argument, NULL, 'c'},
		{"requests", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'},
		{"unique-services", required_argument, NULL, 'u'},
		{"header", required_argument, NULL, 'H'},
		{"acked", required_argument, NULL, 'a'},
		{"timeout", required_argument, NULL, 't'},
		{"now", no_argument, NULL, 'N'},
		{NULL, 0, NULL, 0},
	};
	struct load l = {0};
	uint64_t conc = 4, reqs = 0, dur = 0, timeout = 60 * NSEC_PER_SEC, t0, elapsed;
	pthread_t *threads;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			parse_u64(optarg, &conc);
			break;
		case 'n':
			parse_u64(optarg, &reqs);
			break;
		case 'd':
			parse_duration_ns(optarg, &dur);
			break;
		case 'u':
			l.unique_prefix = optarg;
			break;
		case 'H':
			l.headers = curl_slist_append(l.headers, optarg);
			break;
		case 'a':
			l.acked = fopen(optarg, "w");
			break;
		case 't':
			if (parse_duration_ns(optarg, &timeout) || timeout < 1000000)
				timeout = 0;
			break;
		case 'N':
			l.now = true;
			break;
		default:
			fprintf(stderr,
				"usage: otlp_load [--concurrency N] [--requests N | --duration D] "
				"[--unique-services PREFIX] [--header 'K: V'] [--acked FILE] "
				"[--timeout D (one request; default 60s)] [--now (times moved to "
				"the sending)] URL "
				"FILE...\n");
			return 2;
		}
	}
	if (optind > argc - 2 || !conc || (!reqs && !dur) || !timeout) {
		fprintf(stderr,
			"otlp_load: give URL, request files, and --requests or --duration\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_ALL);
	l.url = argv[optind];
	l.nfiles = (size_t)(argc - optind - 1);
	l.files = calloc(l.nfiles, sizeof(*l.files));
	for (size_t i = 0; i < l.nfiles; i++) {
		struct file *f = &l.files[i];
		char *data;
		size_t len;

		if (read_file(-1, argv[optind + 1 + i], 1u << 30, &data, &len)) {
			fprintf(stderr, "otlp_load: cannot read %s\n", argv[optind + 1 + i]);
			return 1;
		}
		buf_append(&f->raw, data, len);
		free(data);
		f->req = request_unpack(NULL, f->raw.len, f->raw.data);
		if (!f->req) {
			fprintf(stderr, "otlp_load: %s is not an OTLP profiles request\n",
				argv[optind + 1 + i]);
			return 1;
		}
		f->samples = count_samples(f->req);
		f->min_ns = min_time(f->req);
		gzip_append(f->raw.data, f->raw.len, &f->gz);
	}
	l.headers = curl_slist_append(l.headers, "Content-Type: application/x-protobuf");
	l.headers = curl_slist_append(l.headers, "Content-Encoding: gzip");
	l.headers = curl_slist_append(l.headers, "Expect:");
	l.max_requests = reqs;
	l.timeout_ms = (long)(timeout / 1000000);
	pthread_mutex_init(&l.lock, NULL);
	threads = calloc(conc, sizeof(*threads));
	t0 = clock_ns(CLOCK_MONOTONIC);
	if (dur)
		l.deadline_ns = t0 + dur;
	for (uint64_t i = 0; i < conc; i++)
		pthread_create(&threads[i], NULL, worker, &l);
	for (uint64_t i = 0; i < conc; i++)
		pthread_join(threads[i], NULL);
	elapsed = clock_ns(CLOCK_MONOTONIC) - t0;
	if (l.latencies.len)
		qsort(l.latencies.v, l.latencies.len, sizeof(uint64_t), u64_cmp);
#define PCT(p)                                                                                \
	(l.latencies.len                                                                      \
		 ? (double)l.latencies.v[(size_t)((double)(l.latencies.len - 1) * (p))] / 1e6 \
		 : 0.0)
	printf("requests: %llu acknowledged, %llu failed (transport %llu", (unsigned long long)l.ok,
	       (unsigned long long)l.failed, (unsigned long long)l.transport_errors);
	for (int code = 100; code < 600; code++)
		if (l.codes[code] && code != 200)
			printf(", %d: %llu", code, (unsigned long long)l.codes[code]);
	printf(") in %.2f s, %llu connections\n", (double)elapsed / 1e9, (unsigned long long)conc);
	printf("throughput: %.1f requests/s, %.2f MB/s on the wire (gzip), %.2f MB/s of OTLP, %.0f "
	       "samples/s\n",
	       (double)l.ok / ((double)elapsed / 1e9),
	       (double)l.bytes_wire / 1e6 / ((double)elapsed / 1e9),
	       (double)l.bytes_raw / 1e6 / ((double)elapsed / 1e9),
	       (double)l.samples / ((double)elapsed / 1e9));
	printf("acknowledgement latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       PCT(0.5), PCT(0.9), PCT(0.99), PCT(1.0));
	if (l.acked)
		fclose(l.acked);
	for (size_t i = 0; i < l.nfiles; i++) {
		request_free_unpacked(l.files[i].req, NULL);
		buf_free(&l.files[i].raw);
		buf_free(&l.files[i].gz);
	}
	free(l.files);
	free(threads);
	VEC_FREE(&l.latencies);
	curl_slist_free_all(l.headers);
	curl_global_cleanup();
	return 0;
}
