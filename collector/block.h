/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blocks: the immutable objects the collector stores (format: docs/block-format.md).
 *
 *   header "SONDEBLK", u32 version, u32 flags
 *   per service, contiguous: its sections, each one zstd frame
 *   footer: what is where (services, time ranges, counts, section offsets, sizes, CRC-32s)
 *   trailer: u32 footer length, u32 footer CRC-32, "SONDEEND"
 *
 * A reader fetches the trailer and footer, then only the sections a query needs, checking each
 * one's CRC and bounds before it is decoded. Anything malformed is -EBADMSG, never a crash.
 */
#ifndef SONDE_BLOCK_H
#define SONDE_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tenant.h"
#include "../profile/svcdata.h"
#include "../common/buf.h"

#define BLOCK_VERSION 1
#define BLOCK_HEADER_SIZE 16
#define BLOCK_TRAILER_SIZE 16
#define BLOCK_MAX_FOOTER (16u << 20)   /* bytes */
#define BLOCK_MAX_SECTION (1ULL << 30) /* bytes, uncompressed */
#define BLOCK_MAX_SOURCES 100000
#define BLOCK_ID_MAX 64

enum block_section {
	SEC_STRINGS,
	SEC_MAPPINGS,
	SEC_FUNCTIONS,
	SEC_LOCATIONS,
	SEC_STACKS,
	SEC_SERIES,
	SEC_COL_SERIES,
	SEC_COL_TIME,
	SEC_COL_STACK,
	SEC_COL_VALUE,
	SEC_NR,
};

/* What each kind of reader needs. */
#define SECS_ALL ((1u << SEC_NR) - 1)

struct block_section_info {
	uint64_t offset; /* in the object */
	uint64_t clen;	 /* compressed */
	uint64_t ulen;	 /* uncompressed */
	uint32_t crc;	 /* CRC-32 of the compressed bytes */
};

struct block_service_info {
	char *name;
	uint64_t min_time_ns;
	uint64_t max_time_ns;
	uint64_t profiles;
	uint64_t rows;
	uint64_t strings, mappings, functions, locations, nodes, series; /* table sizes */
	int64_t total; /* sum of values (saturating) */
	struct block_section_info sections[SEC_NR];
};

struct block_info {
	uint32_t version;
	char *tenant;
	uint64_t created_ns;   /* Unix time */
	uint32_t level;	       /* 0: written by ingest; n: a compaction of blocks up to level n-1 */
	uint64_t time_unit_ns; /* sample times are multiples of this */
	uint64_t min_time_ns;
	uint64_t max_time_ns;
	uint32_t nsources;
	char (*sources)[BLOCK_ID_MAX]; /* ids of the blocks this one replaces (compaction) */
	uint32_t nservices;
	struct block_service_info *services; /* sorted by name */
	uint64_t size;			     /* of the whole object */
};

struct block_write_opts {
	const char *tenant;
	uint32_t level;
	uint64_t time_unit_ns;	    /* 0 = 1 ms */
	int zstd_level;		    /* 0 = 3 */
	const char *const *sources; /* block ids, or NULL */
	size_t nsources;
};

/*
 * Encodes services (rows sorted and merged here, with times truncated to the unit) as one
 * block appended to out. Empty services are left out. Returns 0 or -errno.
 */
int block_encode(struct svcdata **services, size_t n, const struct block_write_opts *opts,
		 struct buf *out);

/*
 * Parses the trailer and footer from tail, the last tail_len bytes of an object of object_size
 * bytes. Returns 0, -EAGAIN with *ret_need set when the footer needs more of the tail than
 * given, or -EBADMSG (with a reason in err) when the bytes are not a valid block footer.
 */
int block_parse_footer(const uint8_t *tail, size_t tail_len, uint64_t object_size,
		       struct block_info *ret, size_t *ret_need, char *err, size_t err_size);
void block_info_free(struct block_info *bi);

/*
 * Decodes the sections in mask of service svc from data, the bytes of the object from offset
 * data_off on (covering those sections). Returns a new svcdata (not indexed) or NULL with a
 * reason in err (-EBADMSG for corruption, else -ENOMEM) in *ret_err.
 */
struct svcdata *block_decode_service(const struct block_info *bi, size_t svc, uint32_t mask,
				     const uint8_t *data, uint64_t data_off, size_t data_len,
				     int *ret_err, char *err, size_t err_size);
/* The byte range [*ret_off, *ret_off + *ret_len) covering the sections in mask of service svc. */
void block_service_range(const struct block_info *bi, size_t svc, uint32_t mask, uint64_t *ret_off,
			 uint64_t *ret_len);
/* The service named name, or -1. */
int block_find_service(const struct block_info *bi, const char *name);

/* Object keys: TENANT/blocks/MINMS-MAXMS-LLEVEL-RANDOM.block; the id is the file name's stem. */
int block_key(const char *tenant, uint64_t min_ns, uint64_t max_ns, uint32_t level, char *key,
	      size_t key_size);
/* Parses a key back; false when it is not a block key. ret_id gets the id. */
bool block_key_parse(const char *key, char *ret_tenant, size_t tenant_size, uint64_t *ret_min_ms,
		     uint64_t *ret_max_ms, uint32_t *ret_level, char *ret_id);

#endif
