// SPDX-License-Identifier: Apache-2.0
/* sonde-collector: receives OTLP profiles, stores them as blocks, compacts them. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "compactor.h"
#include "fetch.h"
#include "namer.h"
#include "retention.h"
#include "objstore.h"
#include "options.h"
#include "segment.h"
#include "server.h"
#include "tls_certs.h"
#include "../common/httpd.h"
#include "../common/log.h"
#include "../common/util.h"

struct collector {
	struct collector_opts opts;
	struct objstore *store;
	struct auth *auth;
	struct segwriter *writer;
	struct compactor *compactor;
	struct namer *namer;
	struct server *server;
	struct tls_certs *tls;
};

static void extra_metrics(void *ctx, struct buf *out)
{
	struct collector *c = ctx;
	struct objstore_stats os;
	struct compactor_stats cs = {0};

	objstore__stats(c->store, &os);
	metric_header(out, "sonde_collector_storage_operations_total", "counter",
		      "Object storage operations that succeeded, by kind.");
	metric_value(out, "sonde_collector_storage_operations_total", "op=\"put\"",
		     (double)os.puts);
	metric_value(out, "sonde_collector_storage_operations_total", "op=\"get\"",
		     (double)os.gets);
	metric_value(out, "sonde_collector_storage_operations_total", "op=\"list\"",
		     (double)os.lists);
	metric_value(out, "sonde_collector_storage_operations_total", "op=\"delete\"",
		     (double)os.deletes);
	metric_single(out, "sonde_collector_storage_errors_total", "counter",
		      "Object storage operations that failed.", (double)os.errors);
	metric_single(out, "sonde_collector_storage_retries_total", "counter",
		      "Object storage requests retried (S3).", (double)os.retries);
	metric_header(out, "sonde_collector_query_cache_total", "counter",
		      "Storage reads of queries, answered from the cache or not.");
	metric_value(out, "sonde_collector_query_cache_total", "result=\"hit\"",
		     (double)os.cache_hits);
	metric_value(out, "sonde_collector_query_cache_total", "result=\"miss\"",
		     (double)os.cache_misses);
	metric_single(out, "sonde_collector_query_cache_bytes", "gauge",
		      "Memory of the query cache.", (double)os.cache_bytes);
	{
		uint64_t hits, misses, bytes;

		fetcher_decoded_cache_stats(&hits, &misses, &bytes);
		metric_header(out, "sonde_collector_query_decoded_cache_total", "counter",
			      "Services of blocks decoded for queries, or found decoded already.");
		metric_value(out, "sonde_collector_query_decoded_cache_total", "result=\"hit\"",
			     (double)hits);
		metric_value(out, "sonde_collector_query_decoded_cache_total", "result=\"miss\"",
			     (double)misses);
		metric_single(out, "sonde_collector_query_decoded_cache_bytes", "gauge",
			      "Memory of the decoded services kept for queries.", (double)bytes);
	}
	metric_header(out, "sonde_collector_storage_bytes_total", "counter",
		      "Bytes written to and read from object storage.");
	metric_value(out, "sonde_collector_storage_bytes_total", "direction=\"written\"",
		     (double)os.bytes_put);
	metric_value(out, "sonde_collector_storage_bytes_total", "direction=\"read\"",
		     (double)os.bytes_got);
	if (c->compactor)
		compactor__stats(c->compactor, &cs);
	metric_single(out, "sonde_collector_compactions_total", "counter",
		      "Blocks written by compaction.", (double)cs.compactions);
	metric_single(out, "sonde_collector_compacted_blocks_total", "counter",
		      "Blocks merged into others.", (double)cs.blocks_in);
	metric_single(out, "sonde_collector_compaction_errors_total", "counter",
		      "Compactions that failed (retried later).", (double)cs.errors);
	metric_single(out, "sonde_collector_blocks_deleted_total", "counter",
		      "Blocks deleted once merged (after the deletion grace).", (double)cs.deleted);
	metric_single(out, "sonde_collector_compaction_seconds_total", "counter",
		      "Time spent compacting.", (double)cs.ns / 1e9);
	metric_single(out, "sonde_collector_compaction_merges_running", "gauge",
		      "Merges in progress.", (double)compactor_merges_running());
	metric_single(out, "sonde_collector_compactions_abandoned_total", "counter",
		      "Merges given up because they outlived half the deletion grace.",
		      (double)cs.abandoned);
	metric_single(out, "sonde_collector_retention_deleted_blocks_total", "counter",
		      "Blocks deleted past their tenant's retention.", (double)cs.expired);
	metric_single(out, "sonde_collector_retention_deleted_bytes_total", "counter",
		      "Bytes of the blocks deleted past retention.", (double)cs.expired_bytes);
	if (c->namer)
		namer_metrics(c->namer, out);
}

/*
 * A file of secrets (tokens, a TLS key) that any user of the machine may read or write is
 * refused, unless --allow-readable-secrets makes that a warning. Group access is left alone: it
 * is how a secret is shared with a service on purpose (Kubernetes' fsGroup).
 */
static int check_secret_file(const char *path, const char *flag, bool allow)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0; /* reading it says what is wrong */
	if (!(st.st_mode & (S_IROTH | S_IWOTH)))
		return 0;
	if (allow) {
		log_warn("any user of this machine can read or change this secret file "
			 "(--allow-readable-secrets)",
			 "flag=--%s file=\"%s\" mode=%04o", flag, path, st.st_mode & 07777);
		return 0;
	}
	log_error("any user of this machine can read or change this secret file: chmod o-rwx it "
		  "(or start with --allow-readable-secrets)",
		  "flag=--%s file=\"%s\" mode=%04o", flag, path, st.st_mode & 07777);
	return -EACCES;
}

static void log_tls(const char *msg, const struct tls_certs_info *i)
{
	log_info(msg, "serial=%s subject=\"%s\" chain=%u expires_in_days=%.1f", i->serial,
		 i->subject, i->chain, (double)(i->not_after_s - (int64_t)time(NULL)) / 86400);
	if (i->not_after_s < (int64_t)time(NULL))
		log_warn("the TLS certificate has expired: clients will refuse it", "serial=%s",
			 i->serial);
}

/* TLS, checked before anything else starts. 0 or -errno (logged). */
static int load_tls(struct collector *c)
{
	struct tls_certs_info info;
	char err[512];

	if (!c->opts.tls_cert_file)
		return 0;
	if (check_secret_file(c->opts.tls_key_file, "tls-key-file", c->opts.allow_readable_secrets))
		return -EACCES;
	c->tls = tls_certs__load(c->opts.tls_cert_file, c->opts.tls_key_file, &info, err,
				 sizeof(err));
	if (!c->tls) {
		log_error("cannot use the TLS certificate and key", "err=\"%s\"", err);
		return -EINVAL;
	}
	log_tls("TLS certificate loaded", &info);
	return 0;
}

/* SIGHUP: the TLS pair is read again; a bad one is logged and the old one kept. */
static void reload(struct collector *c)
{
	struct tls_certs_info info;
	char err[512];

	if (!c->tls) {
		log_info("SIGHUP: nothing to reload (no --tls-cert-file)");
		return;
	}
	if (tls_certs__reload(c->tls, &info, err, sizeof(err))) {
		log_error(
			"SIGHUP: the new TLS certificate and key are not usable; still serving the "
			"previous ones",
			"err=\"%s\"", err);
		return;
	}
	log_tls("SIGHUP: TLS certificate reloaded", &info);
}

/* Each connection is a descriptor: take what the hard limit allows, and say if short. */
static void raise_fd_limit(unsigned int max_connections)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max_connections + 256)
		log_warn(
			"the open-file limit is too low for --max-connections: connections past it "
			"are refused",
			"limit=%llu max_connections=%u", (unsigned long long)rl.rlim_cur,
			max_connections);
}

/* The storage must answer before the collector says it is ready. */
static int stop_at_first(void *ctx, const char *key, uint64_t size)
{
	(void)ctx;
	(void)key;
	(void)size;
	return 1;
}

int main(int argc, char **argv)
{
	struct collector c = {0};
	struct segwriter_opts wo = {0};
	struct server_opts so = {0};
	char err[512], probe[64];
	sigset_t sigs;
	int e, sig, status = 1;

	collector_opts__init(&c.opts);
	e = collector_opts__parse(&c.opts, argc, argv);
	if (e) {
		collector_opts__free(&c.opts);
		return e > 0 ? 0 : 2;
	}
	log_set_level(c.opts.log_level);
	signal(SIGPIPE, SIG_IGN);
	/* every thread inherits these blocked; the main thread waits for them */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (load_tls(&c))
		goto out;
	raise_fd_limit(c.opts.max_connections);

	c.store = objstore__open(c.opts.storage, err, sizeof(err));
	if (!c.store) {
		log_error("cannot use the storage", "storage=\"%s\" err=\"%s\"", c.opts.storage,
			  err);
		goto out;
	}
	if (c.opts.query_cache_bytes && objstore__set_cache(c.store, c.opts.query_cache_bytes)) {
		log_error("out of memory");
		goto out;
	}
	e = objstore__claim(c.store);
	if (e) {
		log_error("cannot use the storage", "storage=\"%s\" err=\"%s\"",
			  objstore__url(c.store), objstore_error());
		goto out;
	}
	/* list, write and delete now: wrong credentials or a read-only disk stop the start */
	e = objstore__list(c.store, "", stop_at_first, NULL);
	if (e < 0) {
		log_error("the storage does not answer", "storage=\"%s\" err=\"%s\"",
			  objstore__url(c.store), objstore_error());
		goto out;
	}
	snprintf(probe, sizeof(probe), ".probe-%d", (int)getpid());
	e = objstore__put(c.store, probe, "sonde", 5);
	if (!e)
		e = objstore__delete(c.store, probe);
	if (e) {
		log_error("cannot write to the storage", "storage=\"%s\" err=\"%s\"",
			  objstore__url(c.store), objstore_error());
		goto out;
	}
	if (c.opts.auth_token_file) {
		if (check_secret_file(c.opts.auth_token_file, "auth-token-file",
				      c.opts.allow_readable_secrets))
			goto out;
		c.auth = auth__load(c.opts.auth_token_file, err, sizeof(err));
		if (!c.auth) {
			log_error("cannot load the tokens", "err=\"%s\"", err);
			goto out;
		}
	}
	wo.store = c.store;
	wo.max_bytes = c.opts.segment_max_bytes;
	wo.max_age_ns = c.opts.segment_max_age_ns;
	wo.max_pending_bytes = c.opts.max_pending_bytes;
	wo.time_unit_ns = c.opts.time_unit_ns;
	c.writer = segwriter__new(&wo);
	if (!c.writer)
		goto out;
	if (retention_configure(c.opts.retention_ns, c.opts.tenant_retention,
				c.opts.ntenant_retention, err, sizeof(err))) {
		log_error("invalid retention", "err=\"%s\"", err);
		goto out;
	}
	if (c.opts.targets & TARGET_COMPACT) {
		struct compactor_opts co = {
			.store = c.store,
			.delay_ns = c.opts.compact_delay_ns,
			.interval_ns = c.opts.compact_interval_ns,
			.time_unit_ns = c.opts.time_unit_ns,
			.grace_ns = c.opts.deletion_grace_ns,
		};

		/* both were checked when parsed */
		compactor_parse_levels(c.opts.compaction_levels ? c.opts.compaction_levels
								: COMPACT_DEFAULT_LEVELS,
				       &co, err, sizeof(err));
		if (c.opts.block_duration_ns)
			co.levels[0].window_ns = c.opts.block_duration_ns;
		c.compactor = compactor__new(&co);
		if (!c.compactor)
			goto out;
	}
	so.listen = c.opts.listen;
	so.writer = c.writer;
	so.auth = c.auth;
	so.max_body_bytes = c.opts.max_body_bytes;
	so.max_memory_bytes = c.opts.max_memory_bytes;
	so.threads = c.opts.threads;
	so.max_connections = c.opts.max_connections;
	so.max_connections_per_client = c.opts.max_connections_per_client;
	so.header_timeout_ns = c.opts.header_timeout_ns;
	so.body_timeout_ns = c.opts.body_timeout_ns;
	so.tls = c.tls;
	so.no_ingest = !(c.opts.targets & TARGET_INGEST);
	so.no_query = !(c.opts.targets & TARGET_QUERY);
	so.api.store = c.store;
	so.api.max_rows = c.opts.query_max_samples;
	so.api.max_range_ns = c.opts.query_max_range_ns;
	so.query_threads = c.opts.query_threads;
	{
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		fetcher_set_parallel(c.opts.query_parallel ? c.opts.query_parallel
							   : (unsigned int)MAX(cpus, 4));
		fetcher_set_decoded_cache(c.opts.query_decoded_cache_bytes);
	}
	if ((c.opts.targets & TARGET_QUERY) && !c.opts.no_symbolize) {
		const char *urls = getenv("DEBUGINFOD_URLS");
		struct namer_opts no = {
			.store = c.store,
			.cache_dir = c.opts.debuginfo_cache_dir,
			.cache_disk_bytes = c.opts.debuginfo_cache_bytes,
			.memory_bytes = c.opts.symbolizer_memory_bytes,
			.max_file_bytes = c.opts.debuginfo_max_bytes,
			.debuginfod = !c.opts.no_debuginfod && urls && *urls,
			.wait_ms = (uint32_t)(c.opts.symbolize_wait_ns / 1000000),
		};

		if (!no.wait_ms)
			no.wait_ms = 1; /* 0 is "the default" to the namer */
		c.namer = namer__new(&no, err, sizeof(err));
		if (!c.namer && c.opts.debuginfo_cache_dir) {
			log_error("cannot start symbolization", "err=\"%s\"", err);
			goto out;
		}
		if (!c.namer)
			/* the default place (TMPDIR) failed, a read-only root say: run without */
			log_warn("frames stored without names stay [module+0xADDR]: set "
				 "--debuginfo-cache-dir to a writable directory",
				 "err=\"%s\"", err);
		else
			log_info("frames stored without names are named at query time",
				 "debuginfod=\"%s\" cache_dir=\"%s\"", no.debuginfod ? urls : "off",
				 c.opts.debuginfo_cache_dir ? c.opts.debuginfo_cache_dir
							    : "(temporary)");
	}
	so.api.namer = c.namer;
	so.api.debuginfo_max_bytes = c.opts.debuginfo_max_bytes;
	so.query_timeout_ns = c.opts.query_timeout_ns;
	so.extra_metrics = extra_metrics;
	so.extra_ctx = &c;
	c.server = server__new(&so);
	if (!c.server)
		goto out;
	log_info("collector ready",
		 "listen=%s storage=\"%s\" auth=%s ingest=%s query=%s compaction=%s tls=%s",
		 c.opts.listen, objstore__url(c.store), c.auth ? "tokens" : "none",
		 so.no_ingest ? "off" : "on", so.no_query ? "off" : "on",
		 c.compactor ? "on" : "off", c.tls ? "on" : "off");
	if (!c.auth)
		log_warn("NO AUTHENTICATION (no --auth-token-file): anyone who can reach this port "
			 "can write to and read every tenant (X-Scope-OrgID, ?tenant=)",
			 "listen=%s", c.opts.listen);

	for (;;) {
		sig = sigwaitinfo(&sigs, NULL);
		if (sig == SIGHUP)
			reload(&c);
		else if (sig >= 0 || errno != EINTR)
			break;
	}
	log_info("stopping: storing what was received", "signal=%d timeout_s=%.1f", sig,
		 (double)c.opts.shutdown_timeout_ns / 1e9);
	server__quiesce(c.server);
	if (segwriter__drain(c.writer, clock_ns(CLOCK_MONOTONIC) + c.opts.shutdown_timeout_ns))
		log_warn("the shutdown deadline passed with data not stored; those requests get "
			 "503 and are resent",
			 "timeout_s=%.1f", (double)c.opts.shutdown_timeout_ns / 1e9);
	/* let the answers go out before the connections close: a second at most */
	if (!server__wait_answered(c.server, clock_ns(CLOCK_MONOTONIC) + NSEC_PER_SEC))
		log_warn("some answers were not sent before stopping; those clients resend");
	status = 0;
out:
	/* the writer answers every waiting request before the server goes */
	compactor__free(c.compactor);
	segwriter__free(c.writer);
	server__free(c.server);
	namer__free(c.namer);
	auth__free(c.auth);
	tls_certs__free(c.tls);
	objstore__free(c.store);
	collector_opts__free(&c.opts);
	return status;
}
