// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "compactor.h"
#include "retention.h"
#include "tenant.h"
#include "../common/config.h"
#include "../common/util.h"

static const char usage[] =
	"Usage: sonde-collector [OPTIONS]\n"
	"\n"
	"Receives OTLP profiles over HTTP (POST /v1development/profiles), stores each one once as\n"
	"compact deduplicated blocks in a directory or an S3 bucket, and compacts them. Serves "
	"the\n"
	"query API (/api/v1/, docs/query-api.md) and the web UI at /.\n"
	"\n"
	"  -l, --listen HOST:PORT     where to serve (default 127.0.0.1:4040; 0.0.0.0:4040 for "
	"all)\n"
	"  -s, --storage URL          file:///PATH or a path (default ./data), or\n"
	"                             s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=true "
	"with\n"
	"                             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
	"environment\n"
	"      --auth-token-file F    require 'Authorization: Bearer TOKEN'; F has a 'TOKEN "
	"TENANT'\n"
	"                             per line (without it, the tenant is X-Scope-OrgID, default\n"
	"                             'anonymous')\n"
	"      --max-body-size N      largest request, after gzip inflation (default 64M)\n"
	"      --segment-max-size N   write a tenant's data once it takes this much memory "
	"(default 8M)\n"
	"      --segment-max-age D    ... else at most once per D, and at once after a quiet D\n"
	"                             (default 500ms); a request is acknowledged when its data "
	"is\n"
	"                             stored\n"
	"      --max-memory N         memory for requests being received, decoded and stored; "
	"past\n"
	"                             it 503 with Retry-After, and 413 for a request that could "
	"never\n"
	"                             fit (default 1G; docs/operations.md)\n"
	"      --max-pending-size N   memory for data not yet stored; past it, requests get 503 "
	"with\n"
	"                             Retry-After (default 256M)\n"
	"      --time-resolution D    sample times are kept to this resolution (default 1ms)\n"
	"      --target LIST          what this instance does: all (default), or any of ingest,\n"
	"                             query, compact (comma-separated); any number of instances\n"
	"                             of each may share one storage (docs/storage.md)\n"
	"      --compaction-levels L  windows of each compaction level with their time resolution\n"
	"                             (default " COMPACT_DEFAULT_LEVELS ": 10-minute blocks, then\n"
	"                             hourly ones to the second, daily ones to 10 seconds)\n"
	"      --block-duration D     the first level's window (default 10m)\n"
	"      --compact-delay D      a window is merged for good this long after it ends (default "
	"1m)\n"
	"      --compact-interval D   how often compaction looks for work (default 30s)\n"
	"      --no-compaction        never compact or delete (the same as leaving compact out of\n"
	"                             --target)\n"
	"      --retention D          data older than this is no longer shown, and deleted after\n"
	"                             --deletion-grace (default 31d; 0: keep forever)\n"
	"      --tenant-retention T=D the retention of tenant T (repeatable; 0: forever)\n"
	"      --deletion-grace D     a block replaced by compaction or past retention stays this\n"
	"                             long for the queries and merges that may still read it\n"
	"                             (default 5m; merges give up past half of it)\n"
	"      --threads N            HTTP threads (default: the CPUs)\n"
	"      --max-connections N    connections at once, over all clients (default 1024)\n"
	"      --max-connections-per-client N  connections at once from one address (default "
	"128,\n"
	"                             or a quarter of --max-connections if less; 0: no limit)\n"
	"      --header-timeout D     a request head must arrive whole within D of the connection\n"
	"                             opening or else the connection is cut; with 7/8 of\n"
	"                             --max-connections in use, heads waiting over 1s are cut "
	"(default\n"
	"                             10s; 0: neither)\n"
	"      --body-timeout D       a request body must arrive whole within D of its head "
	"(default\n"
	"                             60s; 0: never)\n"
	"      --tls-cert-file F      serve HTTPS with this certificate chain (PEM, leaf first); "
	"re-read\n"
	"                             with the key on SIGHUP\n"
	"      --tls-key-file F       the certificate's private key (PEM)\n"
	"      --allow-readable-secrets  start even if others may read the token or key file\n"
	"      --shutdown-timeout D   on SIGTERM, time to store what was received (default 10s)\n"
	"      --query-max-samples N  samples one query may hold, after summing those of a stack "
	"in\n"
	"                             the same step (default 20000000); more is refused with 400\n"
	"      --query-max-range D    the longest time range of a query (default 31d)\n"
	"      --query-cache-size N   storage reads kept in memory for queries (default 256M; 0: "
	"none)\n"
	"      --query-timeout D      a query still running after this is stopped and answered "
	"503\n"
	"                             (default 30s)\n"
	"      --query-threads N      queries run at once, on threads apart from ingest (default "
	"2);\n"
	"                             64 more may wait, past that 503 with Retry-After\n"
	"      --query-decoded-cache-size N  decoded services kept in memory for queries "
	"(default\n"
	"                             256M; 0: none)\n"
	"      --query-parallel N     blocks one query reads and decodes at once (default: the\n"
	"                             CPUs, at least 4)\n"
	"      --no-symbolize         show frames stored without a name as [module+0xADDR]; by\n"
	"                             default queries name them from uploaded debug files and\n"
	"                             debuginfod (docs/symbolization.md)\n"
	"      --no-debuginfod        never ask the debuginfod servers of DEBUGINFOD_URLS\n"
	"      --debuginfo-max-size N the largest debug file uploaded or fetched, after inflation\n"
	"                             (default 512M; at most --max-memory)\n"
	"      --debuginfo-cache-dir DIR  local copies of debug files (default: a temporary\n"
	"                             directory removed on exit)\n"
	"      --debuginfo-cache-size N  disk for those copies (default 8G)\n"
	"      --symbolizer-memory N  memory for loaded symbols (default 256M)\n"
	"      --symbolize-wait D     a query waits this long for debug files being fetched or\n"
	"                             loaded; frames not ready keep their address (default 10s)\n"
	"      --log-level LEVEL      error | warn | info (default) | debug\n"
	"  -c, --config FILE          read options from YAML: keys are the long option names\n"
	"  -h, --help                 show this help\n"
	"  -V, --version              show the version\n";

enum {
	OPT_AUTH = 256,
	OPT_MAX_BODY,
	OPT_SEG_SIZE,
	OPT_SEG_AGE,
	OPT_PENDING,
	OPT_TIME_RES,
	OPT_BLOCK_DURATION,
	OPT_COMPACT_DELAY,
	OPT_COMPACT_INTERVAL,
	OPT_NO_COMPACTION,
	OPT_THREADS,
	OPT_MAX_CONN,
	OPT_SHUTDOWN,
	OPT_LOG_LEVEL,
	OPT_QUERY_SAMPLES,
	OPT_QUERY_RANGE,
	OPT_QUERY_CACHE,
	OPT_QUERY_TIMEOUT,
	OPT_QUERY_THREADS,
	OPT_MAX_MEMORY,
	/* connections and TLS */
	OPT_MAX_CONN_CLIENT,
	OPT_HEADER_TIMEOUT,
	OPT_BODY_TIMEOUT,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_ALLOW_READABLE,
	/* the store at fleet scale */
	OPT_TARGET,
	OPT_LEVELS,
	OPT_RETENTION,
	OPT_TENANT_RETENTION,
	OPT_GRACE,
	OPT_QUERY_PARALLEL,
	OPT_QUERY_DECODED,
	/* symbolization */
	OPT_NO_SYMBOLIZE,
	OPT_NO_DEBUGINFOD,
	OPT_DEBUGINFO_MAX,
	OPT_DEBUGINFO_DIR,
	OPT_DEBUGINFO_CACHE,
	OPT_SYM_MEMORY,
	OPT_SYM_WAIT,
};

static const struct option long_options[] = {
	{"listen", required_argument, NULL, 'l'},
	{"storage", required_argument, NULL, 's'},
	{"auth-token-file", required_argument, NULL, OPT_AUTH},
	{"max-body-size", required_argument, NULL, OPT_MAX_BODY},
	{"segment-max-size", required_argument, NULL, OPT_SEG_SIZE},
	{"segment-max-age", required_argument, NULL, OPT_SEG_AGE},
	{"max-pending-size", required_argument, NULL, OPT_PENDING},
	{"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
	{"time-resolution", required_argument, NULL, OPT_TIME_RES},
	{"block-duration", required_argument, NULL, OPT_BLOCK_DURATION},
	{"compact-delay", required_argument, NULL, OPT_COMPACT_DELAY},
	{"compact-interval", required_argument, NULL, OPT_COMPACT_INTERVAL},
	{"no-compaction", no_argument, NULL, OPT_NO_COMPACTION},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"max-connections", required_argument, NULL, OPT_MAX_CONN},
	{"shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"query-max-samples", required_argument, NULL, OPT_QUERY_SAMPLES},
	{"query-max-range", required_argument, NULL, OPT_QUERY_RANGE},
	{"query-cache-size", required_argument, NULL, OPT_QUERY_CACHE},
	{"query-timeout", required_argument, NULL, OPT_QUERY_TIMEOUT},
	{"query-threads", required_argument, NULL, OPT_QUERY_THREADS},
	{"max-connections-per-client", required_argument, NULL, OPT_MAX_CONN_CLIENT},
	{"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
	{"body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT},
	{"tls-cert-file", required_argument, NULL, OPT_TLS_CERT},
	{"tls-key-file", required_argument, NULL, OPT_TLS_KEY},
	{"allow-readable-secrets", no_argument, NULL, OPT_ALLOW_READABLE},
	{"target", required_argument, NULL, OPT_TARGET},
	{"compaction-levels", required_argument, NULL, OPT_LEVELS},
	{"retention", required_argument, NULL, OPT_RETENTION},
	{"tenant-retention", required_argument, NULL, OPT_TENANT_RETENTION},
	{"deletion-grace", required_argument, NULL, OPT_GRACE},
	{"query-parallel", required_argument, NULL, OPT_QUERY_PARALLEL},
	{"query-decoded-cache-size", required_argument, NULL, OPT_QUERY_DECODED},
	{"no-symbolize", no_argument, NULL, OPT_NO_SYMBOLIZE},
	{"no-debuginfod", no_argument, NULL, OPT_NO_DEBUGINFOD},
	{"debuginfo-max-size", required_argument, NULL, OPT_DEBUGINFO_MAX},
	{"debuginfo-cache-dir", required_argument, NULL, OPT_DEBUGINFO_DIR},
	{"debuginfo-cache-size", required_argument, NULL, OPT_DEBUGINFO_CACHE},
	{"symbolizer-memory", required_argument, NULL, OPT_SYM_MEMORY},
	{"symbolize-wait", required_argument, NULL, OPT_SYM_WAIT},
	{"config", required_argument, NULL, 'c'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

void collector_opts__init(struct collector_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_body_bytes = 64u << 20;
	o->segment_max_bytes = 8u << 20;
	o->segment_max_age_ns = NSEC_PER_SEC / 2;
	o->max_pending_bytes = 256u << 20;
	o->max_memory_bytes = 1ULL << 30;
	o->time_unit_ns = 1000000;
	o->retention_ns = RETENTION_DEFAULT_NS;
	o->deletion_grace_ns = 300 * NSEC_PER_SEC;
	o->targets = TARGET_ALL;
	o->compact_delay_ns = 60 * NSEC_PER_SEC;
	o->compact_interval_ns = 30 * NSEC_PER_SEC;
	o->max_connections = 1024;
	o->shutdown_timeout_ns = 10 * NSEC_PER_SEC;
	o->query_max_samples = 20000000;
	o->query_max_range_ns = 31 * 86400 * NSEC_PER_SEC;
	o->query_cache_bytes = 256u << 20;
	o->query_decoded_cache_bytes = 256u << 20;
	o->query_timeout_ns = 30 * NSEC_PER_SEC;
	o->query_threads = 2;
	o->log_level = LOG_INFO;
	o->max_connections_per_client = UINT_MAX; /* a default that depends on --max-connections */
	o->header_timeout_ns = 10 * NSEC_PER_SEC;
	o->body_timeout_ns = 60 * NSEC_PER_SEC;
	o->debuginfo_max_bytes = 512ULL << 20;
	o->debuginfo_cache_bytes = 8ULL << 30;
	o->symbolizer_memory_bytes = 256ULL << 20;
	o->symbolize_wait_ns = 10 * NSEC_PER_SEC;
}

void collector_opts__free(struct collector_opts *o)
{
	free(o->listen);
	free(o->storage);
	free(o->auth_token_file);
	free(o->tls_cert_file);
	free(o->tls_key_file);
	free(o->compaction_levels);
	free(o->debuginfo_cache_dir);
	for (size_t i = 0; i < o->ntenant_retention; i++)
		free(o->tenant_retention[i]);
	free(o->tenant_retention);
	memset(o, 0, sizeof(*o));
}

static int bad(const char *where, const char *flag, const char *value, const char *why)
{
	fprintf(stderr, "sonde-collector: %sinvalid --%s '%s': %s\n", where, flag, value, why);
	return -EINVAL;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

static int size_arg(const char *where, const char *flag, const char *v, uint64_t lo, uint64_t hi,
		    uint64_t *ret)
{
	uint64_t x;

	if (parse_size(v, &x) || x < lo || x > hi)
		return bad(where, flag, v, "expected a size such as 8M, within the allowed range");
	*ret = x;
	return 0;
}

static int duration_arg(const char *where, const char *flag, const char *v, uint64_t lo,
			uint64_t hi, uint64_t *ret)
{
	uint64_t x;

	if (parse_duration_ns(v, &x) || x < lo || x > hi)
		return bad(where, flag, v,
			   "expected a duration such as 1s or 500ms, within the allowed range");
	*ret = x;
	return 0;
}

/* The options of connections and TLS. 0, 1 when c is not one of them, or -errno. */
static int parse_conn_arg(struct collector_opts *o, int c, const char *where)
{
	uint64_t u;

	switch (c) {
	case OPT_MAX_CONN_CLIENT:
		if (parse_u64(optarg, &u) || u > 1000000)
			return bad(where, "max-connections-per-client", optarg,
				   "expected 0 (no limit) to 1000000");
		o->max_connections_per_client = (unsigned int)u;
		return 0;
	case OPT_HEADER_TIMEOUT:
		return duration_arg(where, "header-timeout", optarg, 0, 3600 * NSEC_PER_SEC,
				    &o->header_timeout_ns);
	case OPT_BODY_TIMEOUT:
		return duration_arg(where, "body-timeout", optarg, 0, 86400 * NSEC_PER_SEC,
				    &o->body_timeout_ns);
	case OPT_TLS_CERT:
		return set_str(&o->tls_cert_file, optarg);
	case OPT_TLS_KEY:
		return set_str(&o->tls_key_file, optarg);
	case OPT_ALLOW_READABLE:
		o->allow_readable_secrets = true;
		return 0;
	default:
		return 1;
	}
}

/* What no single option can say on its own, and defaults that depend on others. 0 or -EINVAL. */
static int check_conn_opts(struct collector_opts *o)
{
	if (!o->tls_cert_file != !o->tls_key_file) {
		fprintf(stderr,
			"sonde-collector: --tls-cert-file and --tls-key-file go together\n");
		return -EINVAL;
	}
	if (o->max_connections_per_client == UINT_MAX) {
		/* not given: 128, or a quarter of the total if less, so one address never has all
		 */
		o->max_connections_per_client = MIN(128u, MAX(1u, o->max_connections / 4));
	} else if (o->max_connections_per_client > o->max_connections) {
		fprintf(stderr,
			"sonde-collector: --max-connections-per-client (%u) is over "
			"--max-connections (%u)\n",
			o->max_connections_per_client, o->max_connections);
		return -EINVAL;
	}
	return 0;
}

static int parse_targets(const char *where, const char *v, unsigned int *ret)
{
	char buf[64], *save = NULL, *t;
	unsigned int m = 0;

	if (strlen(v) >= sizeof(buf))
		return bad(where, "target", v, "expected all, or any of ingest, query, compact");
	strcpy(buf, v);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "all") == 0)
			m |= TARGET_ALL;
		else if (strcmp(t, "ingest") == 0)
			m |= TARGET_INGEST;
		else if (strcmp(t, "query") == 0)
			m |= TARGET_QUERY;
		else if (strcmp(t, "compact") == 0)
			m |= TARGET_COMPACT;
		else
			return bad(where, "target", v,
				   "expected all, or any of ingest, query, compact");
	}
	if (!m)
		return bad(where, "target", v, "expected all, or any of ingest, query, compact");
	*ret = m;
	return 0;
}

/* The options of naming frames: debug files, debuginfod. */
static int parse_symbol_arg(struct collector_opts *o, int c, const char *where)
{
	switch (c) {
	case OPT_NO_SYMBOLIZE:
		o->no_symbolize = true;
		return 0;
	case OPT_NO_DEBUGINFOD:
		o->no_debuginfod = true;
		return 0;
	case OPT_DEBUGINFO_MAX:
		return size_arg(where, "debuginfo-max-size", optarg, 1024, 4ULL << 30,
				&o->debuginfo_max_bytes);
	case OPT_DEBUGINFO_DIR:
		if (!*optarg)
			return bad(where, "debuginfo-cache-dir", optarg, "expected a directory");
		return set_str(&o->debuginfo_cache_dir, optarg);
	case OPT_DEBUGINFO_CACHE:
		return size_arg(where, "debuginfo-cache-size", optarg, 1ULL << 20, 1ULL << 50,
				&o->debuginfo_cache_bytes);
	case OPT_SYM_MEMORY:
		return size_arg(where, "symbolizer-memory", optarg, 1ULL << 20, 1ULL << 40,
				&o->symbolizer_memory_bytes);
	default:
		return duration_arg(where, "symbolize-wait", optarg, 0, 3600 * NSEC_PER_SEC,
				    &o->symbolize_wait_ns);
	}
}

/* The options of the store's life: roles, compaction levels, retention, deletion. */
static int parse_store_arg(struct collector_opts *o, int c, const char *where)
{
	struct compactor_opts co = {0};
	char why[160], **v;

	switch (c) {
	case OPT_TARGET:
		return parse_targets(where, optarg, &o->targets);
	case OPT_LEVELS:
		if (compactor_parse_levels(optarg, &co, why, sizeof(why)))
			return bad(where, "compaction-levels", optarg, why);
		return set_str(&o->compaction_levels, optarg);
	case OPT_RETENTION:
		return duration_arg(where, "retention", optarg, 0, 3660 * 86400 * NSEC_PER_SEC,
				    &o->retention_ns);
	case OPT_TENANT_RETENTION: {
		char tenant[TENANT_MAX + 1];
		uint64_t ns;

		if (retention_parse_override(optarg, tenant, &ns, why, sizeof(why)))
			return bad(where, "tenant-retention", optarg, "expected TENANT=DURATION");
	}
		v = realloc(o->tenant_retention, (o->ntenant_retention + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		o->tenant_retention = v;
		v[o->ntenant_retention] = strdup(optarg);
		return v[o->ntenant_retention++] ? 0 : -ENOMEM;
	case OPT_GRACE:
		return duration_arg(where, "deletion-grace", optarg, 0, 7 * 86400 * NSEC_PER_SEC,
				    &o->deletion_grace_ns);
	}
	return -EINVAL;
}

static int parse_args(struct collector_opts *o, int argc, char **argv, const char *where)
{
	uint64_t u;
	int c, err = 0;

	optind = 0;
	opterr = 0;
	while (!err && (c = getopt_long(argc, argv, ":l:s:c:hV", long_options, NULL)) != -1) {
		switch (c) {
		case 'l':
			err = set_str(&o->listen, optarg);
			break;
		case 's':
			err = set_str(&o->storage, optarg);
			break;
		case OPT_AUTH:
			err = set_str(&o->auth_token_file, optarg);
			break;
		case OPT_MAX_BODY:
			err = size_arg(where, "max-body-size", optarg, 1024, 1ULL << 30,
				       &o->max_body_bytes);
			break;
		case OPT_SEG_SIZE:
			err = size_arg(where, "segment-max-size", optarg, 4096, 1ULL << 30,
				       &o->segment_max_bytes);
			break;
		case OPT_SEG_AGE:
			err = duration_arg(where, "segment-max-age", optarg, 1000000,
					   600 * NSEC_PER_SEC, &o->segment_max_age_ns);
			break;
		case OPT_PENDING:
			err = size_arg(where, "max-pending-size", optarg, 1 << 20, 1ULL << 40,
				       &o->max_pending_bytes);
			break;
		case OPT_MAX_MEMORY:
			err = size_arg(where, "max-memory", optarg, 16 << 20, 1ULL << 44,
				       &o->max_memory_bytes);
			break;
		case OPT_TIME_RES:
			err = duration_arg(where, "time-resolution", optarg, 1, 60 * NSEC_PER_SEC,
					   &o->time_unit_ns);
			break;
		case OPT_BLOCK_DURATION:
			err = duration_arg(where, "block-duration", optarg, NSEC_PER_SEC,
					   7 * 86400 * NSEC_PER_SEC, &o->block_duration_ns);
			break;
		case OPT_COMPACT_DELAY:
			err = duration_arg(where, "compact-delay", optarg, 0, 86400 * NSEC_PER_SEC,
					   &o->compact_delay_ns);
			break;
		case OPT_COMPACT_INTERVAL:
			err = duration_arg(where, "compact-interval", optarg, 100000000,
					   86400 * NSEC_PER_SEC, &o->compact_interval_ns);
			break;
		case OPT_NO_COMPACTION:
			o->no_compaction = true;
			break;
		case OPT_THREADS:
			if (parse_u64(optarg, &u) || u < 1 || u > 256)
				return bad(where, "threads", optarg, "expected 1..256");
			o->threads = (unsigned int)u;
			break;
		case OPT_MAX_CONN:
			if (parse_u64(optarg, &u) || u < 1 || u > 1000000)
				return bad(where, "max-connections", optarg, "expected 1..1000000");
			o->max_connections = (unsigned int)u;
			break;
		case OPT_SHUTDOWN:
			err = duration_arg(where, "shutdown-timeout", optarg, 0,
					   3600 * NSEC_PER_SEC, &o->shutdown_timeout_ns);
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &o->log_level))
				return bad(where, "log-level", optarg,
					   "expected error, warn, info or debug");
			break;
		case OPT_QUERY_SAMPLES:
			if (parse_u64(optarg, &u) || u < 1000 || u > (1ULL << 34))
				return bad(where, "query-max-samples", optarg,
					   "expected 1000 or more");
			o->query_max_samples = u;
			break;
		case OPT_QUERY_RANGE:
			err = duration_arg(where, "query-max-range", optarg, NSEC_PER_SEC,
					   3660 * 86400 * NSEC_PER_SEC, &o->query_max_range_ns);
			break;
		case OPT_QUERY_CACHE:
			err = size_arg(where, "query-cache-size", optarg, 0, 1ULL << 40,
				       &o->query_cache_bytes);
			break;
		case OPT_QUERY_TIMEOUT:
			err = duration_arg(where, "query-timeout", optarg, 100000000,
					   3600 * NSEC_PER_SEC, &o->query_timeout_ns);
			break;
		case OPT_QUERY_DECODED:
			err = size_arg(where, "query-decoded-cache-size", optarg, 0, 1ULL << 40,
				       &o->query_decoded_cache_bytes);
			break;
		case OPT_QUERY_PARALLEL:
			if (parse_u64(optarg, &u) || u < 1 || u > 256)
				return bad(where, "query-parallel", optarg, "expected 1..256");
			o->query_parallel = (unsigned int)u;
			break;
		case OPT_QUERY_THREADS:
			if (parse_u64(optarg, &u) || u < 1 || u > 64)
				return bad(where, "query-threads", optarg, "expected 1..64");
			o->query_threads = (unsigned int)u;
			break;
		case OPT_MAX_CONN_CLIENT ... OPT_ALLOW_READABLE:
			err = parse_conn_arg(o, c, where);
			break;
		case OPT_TARGET ... OPT_GRACE:
			err = parse_store_arg(o, c, where);
			break;
		case OPT_NO_SYMBOLIZE ... OPT_SYM_WAIT:
			err = parse_symbol_arg(o, c, where);
			break;
		case 'c':
			break; /* read before */
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 'V':
			printf("sonde-collector %s\n", SONDE_VERSION);
			return 1;
		case ':':
			fprintf(stderr,
				"sonde-collector: %soption '%s' needs a value (see --help)\n",
				where, argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "sonde-collector: %sunknown option '%s' (see --help)\n",
				where, argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (err)
		return err == -ENOMEM ? -ENOMEM : -EINVAL;
	if (optind < argc) {
		fprintf(stderr, "sonde-collector: %sunexpected argument '%s' (see --help)\n", where,
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int collector_opts__parse(struct collector_opts *o, int argc, char **argv)
{
	const char *path = config_path_in_argv(argc, argv);
	int err;

	if (path) {
		char where[300], **args = NULL;
		int nargs = 0;

		err = config_load_argv("sonde-collector", path, long_options, &nargs, &args);
		if (err)
			return err;
		snprintf(where, sizeof(where), "config file %s: ", path);
		err = parse_args(o, nargs, args, where);
		config_free_argv(nargs, args);
		if (err)
			return err;
	}
	err = parse_args(o, argc, argv, "");
	if (err)
		return err;
	if (!o->listen && set_str(&o->listen, "127.0.0.1:4040"))
		return -ENOMEM;
	if (!o->storage && set_str(&o->storage, "./data"))
		return -ENOMEM;
	if (check_conn_opts(o))
		return -EINVAL;
	if (o->no_compaction)
		o->targets &= ~TARGET_COMPACT;
	if (o->block_duration_ns) {
		struct compactor_opts co = {0};
		char why[160];

		if (compactor_parse_levels(o->compaction_levels ? o->compaction_levels
								: COMPACT_DEFAULT_LEVELS,
					   &co, why, sizeof(why)) == 0) {
			co.levels[0].window_ns = o->block_duration_ns;
			if (co.nlevels > 1 && co.levels[1].window_ns % o->block_duration_ns) {
				fprintf(stderr,
					"sonde-collector: --block-duration must divide the second "
					"compaction level's window\n");
				return -EINVAL;
			}
		}
	}
	if (o->debuginfo_max_bytes > o->max_memory_bytes) {
		fprintf(stderr, "sonde-collector: --debuginfo-max-size is over --max-memory: an "
				"upload that large could never be taken\n");
		return -EINVAL;
	}
	if (o->time_unit_ns > o->segment_max_age_ns * 1000) {
		fprintf(stderr,
			"sonde-collector: --time-resolution is too coarse for --segment-max-age\n");
		return -EINVAL;
	}
	return 0;
}
