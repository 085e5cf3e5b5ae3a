/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The debug file API (docs/symbolization.md), on the query threads:
 *   POST /api/v1/debuginfo/BUILD-ID[?name=FILE]  store a debug file (gzip taken as such)
 *   GET  /api/v1/debuginfo                        the stored build IDs and sizes
 *   GET  /api/v1/debuginfo/BUILD-ID               one's description, 404 when none
 *   DELETE /api/v1/debuginfo/BUILD-ID             remove one
 * A file is checked (debugstore_check) before it is stored; one already stored is not written
 * again. Debug files are not a tenant's: any token the collector takes may use the API.
 */
#ifndef SONDE_DEBUGINFO_API_H
#define SONDE_DEBUGINFO_API_H

#include <microhttpd.h>
#include <stdbool.h>

#include "api.h"

#define DEBUGINFO_API "/api/v1/debuginfo"

bool debuginfo_api_path(const char *path);
/* Answers the request into r. body: what was POSTed, NULL for GET and DELETE. */
void debuginfo_api(const struct api_opts *o, struct MHD_Connection *conn, const char *method,
		   const char *path, const struct buf *body, struct api_reply *r);

#endif
