/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How long each tenant's data is kept: a default (--retention) and per-tenant overrides
 * (--tenant-retention TENANT=DURATION), set once at start, before any thread reads them.
 * Readers hide blocks past it at once; the compactor deletes them after the deletion grace.
 */
#ifndef SONDE_RETENTION_H
#define SONDE_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#define RETENTION_DEFAULT_NS (31ULL * 86400 * 1000000000) /* 31 days */

/*
 * Sets the policy: default_ns (0 = keep forever) and overrides "TENANT=DURATION" (a duration of
 * 0 keeps that tenant's data forever). Returns 0, or -EINVAL with a reason in err.
 */
int retention_configure(uint64_t default_ns, char *const *overrides, size_t n, char *err,
			size_t err_size);
/*
 * Parses one override "TENANT=DURATION" into tenant (TENANT_MAX + 1 bytes) and *ret_ns, with
 * no effect on the policy (flags are checked with it). 0, or -EINVAL with a reason in err.
 */
int retention_parse_override(const char *s, char *tenant, uint64_t *ret_ns, char *err,
			     size_t err_size);
/* The retention of tenant in ns; 0 = forever. Before retention_configure: forever. */
uint64_t retention_ns(const char *tenant);
/* The oldest time (Unix ms) a block of tenant may end at and still be read at now_ms; 0 = any. */
uint64_t retention_floor_ms(const char *tenant, uint64_t now_ms);

#endif
