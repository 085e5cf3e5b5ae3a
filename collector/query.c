// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qctl.h"
#include "query.h"
#include "../common/util.h"

/* ---- export --------------------------------------------------------------------------------- */

int export_format_parse(const char *name, enum export_format *ret)
{
	if (strcmp(name, "folded") == 0)
		*ret = EXPORT_FOLDED;
	else if (strcmp(name, "pprof") == 0)
		*ret = EXPORT_PPROF;
	else
		return -EINVAL;
	return 0;
}

int query_export(struct objstore *s, const struct engine_query *q, enum export_format format,
		 uint64_t max_rows, struct buf *out, size_t *ret_rows, char *err, size_t err_size)
{
	struct engine_query all = *q;
	struct selection sel = {0};
	struct svcdata *sd = NULL;
	int e;

	all.collapse_ns = ENGINE_NO_TIME;
	e = engine_select(s, &all, NEED_STACKS, max_rows, &sel, err, err_size);
	if (!e && (e = qctl_check(qctl_current())))
		snprintf(err, err_size, "%s", qctl_reason(e)); /* rendering would take as long */
	if (!e) {
		sd = selection_merge(&sel);
		e = !sd			     ? -ENOMEM
		    : format == EXPORT_PPROF ? pprof_encode(sd, out)
					     : folded_render(sd, out);
		if (e)
			snprintf(err, err_size, "out of memory");
	}
	if (!e && ret_rows)
		*ret_rows = sd->rows.len;
	svcdata__free(sd);
	selection_free(&sel);
	return e;
}

/* ---- times ------------------------------------------------------------------------------------
 */

int parse_time_ns(const char *s, uint64_t now_ns, uint64_t *ret)
{
	struct tm tm = {0};
	uint64_t d;
	const char *end;

	if (strcmp(s, "now") == 0) {
		*ret = now_ns;
		return 0;
	}
	if (strncmp(s, "now-", 4) == 0 || s[0] == '-') {
		if (parse_duration_ns(s + (s[0] == '-' ? 1 : 4), &d) || d > now_ns)
			return -EINVAL;
		*ret = now_ns - d;
		return 0;
	}
	if (parse_u64(s, &d) == 0) {
		if (d > UINT64_MAX / NSEC_PER_SEC)
			return -EINVAL;
		*ret = d * NSEC_PER_SEC;
		return 0;
	}
	if (str_ends_with(s, "ms") && strlen(s) < 24) {
		/* Unix milliseconds, as the API's answers give times: "1700000000123ms" */
		char digits[24];

		snprintf(digits, sizeof(digits), "%.*s", (int)strlen(s) - 2, s);
		if (parse_u64(digits, &d) || d > UINT64_MAX / 1000000)
			return -EINVAL;
		*ret = d * 1000000;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || (strcmp(end, "Z") != 0 && *end))
		return -EINVAL;
	*ret = (uint64_t)timegm(&tm) * NSEC_PER_SEC;
	return 0;
}
