/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exports of selected samples (engine.h selects them; profile/ renders them); and times as
 * people write them.
 */
#ifndef SONDE_QUERY_H
#define SONDE_QUERY_H

#include <stdint.h>

#include "engine.h"
#include "../profile/folded.h"
#include "../profile/pprof.h"
#include "../profile/svcdata.h"
#include "../common/buf.h"

enum export_format {
	EXPORT_FOLDED, /* folded.h */
	EXPORT_PPROF,  /* pprof.h */
};

/* "folded" or "pprof". 0 or -EINVAL. */
int export_format_parse(const char *name, enum export_format *ret);

/*
 * Select, merge, render: the samples q selects (its collapse_ns ignored: times are not kept),
 * every service merged into one profile, rendered to out (appended). The one export of the
 * HTTP API and of `sonde export`. ret_rows (may be NULL): the merged rows, 0 when nothing is in
 * the range. Errors: engine_select's (a reason in err), -ENOMEM.
 */
int query_export(struct objstore *s, const struct engine_query *q, enum export_format format,
		 uint64_t max_rows, struct buf *out, size_t *ret_rows, char *err, size_t err_size);

/*
 * "2026-11-21T10:00:00Z", "1700000000" (seconds), "1700000000123ms", "now", "now-1h", "-30m".
 * 0 or -EINVAL.
 */
int parse_time_ns(const char *s, uint64_t now_ns, uint64_t *ret);

#endif
