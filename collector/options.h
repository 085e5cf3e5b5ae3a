/* SPDX-License-Identifier: Apache-2.0 */
/* sonde-collector's configuration: defaults, flags, a YAML config file. */
#ifndef SONDE_COLLECTOR_OPTIONS_H
#define SONDE_COLLECTOR_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/log.h"

/* What an instance does (--target): any mix; "all" is every one. */
#define TARGET_INGEST 1u
#define TARGET_QUERY 2u
#define TARGET_COMPACT 4u
#define TARGET_ALL (TARGET_INGEST | TARGET_QUERY | TARGET_COMPACT)

struct collector_opts {
	char *listen;
	char *storage;
	char *auth_token_file;
	uint64_t max_body_bytes;
	uint64_t segment_max_bytes;
	uint64_t segment_max_age_ns;
	uint64_t max_pending_bytes;
	uint64_t max_memory_bytes; /* ingest's memory bound: bodies, decoding, until stored */
	uint64_t time_unit_ns;
	uint64_t block_duration_ns; /* the first compaction level's window, when set */
	char *compaction_levels;    /* "WINDOW[:RESOLUTION],..." (compactor.h) */
	uint64_t compact_delay_ns;  /* a window is final this long after it ends */
	uint64_t compact_interval_ns;
	bool no_compaction;
	uint64_t retention_ns;	 /* 0: forever */
	char **tenant_retention; /* "TENANT=DURATION" */
	size_t ntenant_retention;
	uint64_t deletion_grace_ns;
	unsigned int targets; /* TARGET_* */
	unsigned int threads;
	unsigned int max_connections;
	uint64_t shutdown_timeout_ns;
	uint64_t query_max_samples; /* rows one query may hold */
	uint64_t query_max_range_ns;
	uint64_t query_cache_bytes;	    /* storage reads kept for queries; 0: none */
	uint64_t query_decoded_cache_bytes; /* decoded services kept for queries; 0: none */
	uint64_t query_timeout_ns;	    /* a query's deadline */
	unsigned int query_threads;	    /* queries run at once, apart from ingest */
	unsigned int query_parallel;	    /* blocks one query reads and decodes at once */
	enum log_level log_level;
	/* connections and TLS (server.h) */
	unsigned int max_connections_per_client;
	uint64_t header_timeout_ns;
	uint64_t body_timeout_ns;
	char *tls_cert_file;
	char *tls_key_file;
	bool allow_readable_secrets; /* token and key files others may read: warn, not refuse */
	/* names for frames stored without (namer.h, debugstore.h) */
	bool no_symbolize;
	bool no_debuginfod;
	uint64_t debuginfo_max_bytes;
	char *debuginfo_cache_dir; /* NULL: a private temporary directory */
	uint64_t debuginfo_cache_bytes;
	uint64_t symbolizer_memory_bytes;
	uint64_t symbolize_wait_ns;
};

void collector_opts__init(struct collector_opts *o);
/*
 * Parses the config file argv names (if any), then argv. Returns 0 to run, 1 when --help or
 * --version was printed, or -EINVAL after one error line naming the flag.
 */
int collector_opts__parse(struct collector_opts *o, int argc, char **argv);
void collector_opts__free(struct collector_opts *o);

#endif
