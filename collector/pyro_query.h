/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Grafana Pyroscope query API (docs/pyroscope.md): the Connect unary methods of
 * querier.v1.QuerierService and settings.v1.SettingsService in the binary and the JSON codec,
 * and the legacy GET /pyroscope/render, /pyroscope/render-diff and /pyroscope/label-values.
 * Built on the same selection (engine.h) and flame graph (flamegraph.h) as /api/v1, with
 * values in each profile type's unit (profile/ptype.h).
 */
#ifndef SONDE_PYRO_QUERY_H
#define SONDE_PYRO_QUERY_H

#include <stdbool.h>

#include "api.h"

/* Whether path is a Connect method (POST /pkg.Service/Method). */
bool pyro_connect_path(const char *path);
/* Whether path is one of the legacy GET endpoints. */
bool pyro_http_path(const char *path);

/* Answers a Connect call with its body (the Content-Type and Content-Encoding from conn). */
void pyro_connect(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
		  const char *path, const struct buf *body, struct api_reply *r);
/* Answers a legacy GET endpoint. */
void pyro_http(const struct api_opts *o, struct MHD_Connection *conn, const char *tenant,
	       const char *path, struct api_reply *r);
/* A Connect error reply: {"code": ..., "message": ...} with the status the code maps to. */
void pyro_connect_error(struct api_reply *r, unsigned int status, const char *msg);
/* The Connect code of an HTTP status ("invalid_argument" for 400, ...). */
const char *pyro_connect_code(unsigned int status);

#endif
