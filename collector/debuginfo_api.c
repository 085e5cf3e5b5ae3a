// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "debuginfo_api.h"
#include "debugstore.h"
#include "namer.h"
#include "../common/gzip.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../common/util.h"

bool debuginfo_api_path(const char *path)
{
	size_t n = strlen(DEBUGINFO_API);

	return strncmp(path, DEBUGINFO_API, n) == 0 && (!path[n] || path[n] == '/');
}

static void store_error(struct api_reply *r, int e, const char *what)
{
	log_warn("debug file store failed", "what=%s err=\"%s\" detail=\"%s\"", what, strerror(-e),
		 objstore_error());
	api_error(r, 503, "the object store failed (%s): %s; retry", strerror(-e),
		  objstore_error());
}

static int list_one(void *ctx, const struct debugstore_entry *e)
{
	struct buf *b = ctx;

	if (b->oom)
		return -ENOMEM;
	buf_puts(b, b->data[b->len - 1] == '[' ? "\n" : ",\n");
	buf_puts(b, "{\"build_id\":");
	json_string(b, e->build_id);
	buf_printf(b, ",\"size\":%llu}", (unsigned long long)e->size);
	return b->oom ? -ENOMEM : 0;
}

static void upload(const struct api_opts *o, struct MHD_Connection *conn, const char *hex,
		   const struct buf *body, struct api_reply *r)
{
	const char *name = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "name");
	uint64_t max =
		o->debuginfo_max_bytes ? o->debuginfo_max_bytes : DEBUGSTORE_DEFAULT_MAX_SIZE;
	struct debugstore_facts f;
	struct buf inflated = {0}, meta = {0};
	const void *image = body->data;
	size_t size = body->len;
	unsigned int status;
	bool stored = false;
	char msg[400];
	int e;

	/* gzip, by its magic: Content-Encoding or a .gz file, the same to us */
	if (size >= 2 && body->data[0] == 0x1f && body->data[1] == 0x8b) {
		e = gunzip_bounded(body->data, body->len, max, &inflated);
		if (e == -EFBIG) {
			api_error(r, 413,
				  "the file inflates to over %llu bytes (--debuginfo-max-size)",
				  (unsigned long long)max);
			goto out;
		}
		if (e) {
			api_error(r, e == -ENOMEM ? 503 : 400,
				  "the body starts as gzip but does not inflate: %s",
				  e == -ENOMEM ? "out of memory" : "corrupt or truncated");
			goto out;
		}
		image = inflated.data;
		size = inflated.len;
	}
	status = debugstore_check(image, size, hex, max * 4, &f, msg, sizeof(msg));
	if (status) {
		api_error(r, status, "build ID %s: %s", hex, msg);
		goto out;
	}
	/* stored once: a second upload of a build ID finds the first */
	e = debugstore_meta(o->store, hex, &meta);
	if (e && e != -ENOENT) {
		store_error(r, e, "meta");
		goto out;
	}
	if (e == -ENOENT) {
		e = debugstore_put(o->store, &f, image, size, name, "upload");
		if (e) {
			store_error(r, e, "put");
			goto out;
		}
		stored = true;
		if (o->namer)
			namer__changed(o->namer, hex);
		log_info("debug file stored", "build_id=%s bytes=%zu name=\"%s\"", hex, size,
			 name ? name : "");
	}
	/* stored: false when it was there already */
	buf_puts(&r->body, "{\"build_id\":");
	json_string(&r->body, hex);
	buf_printf(&r->body, ",\"size\":%zu,\"stored\":%s}\n", size, stored ? "true" : "false");
	r->status = 200;
	r->type = "application/json";
out:
	buf_free(&inflated);
	buf_free(&meta);
}

void debuginfo_api(const struct api_opts *o, struct MHD_Connection *conn, const char *method,
		   const char *path, const struct buf *body, struct api_reply *r)
{
	const char *id = path + strlen(DEBUGINFO_API);
	char hex[DEBUGSTORE_MAX_HEX];
	int e;

	if (*id == '/')
		id++;
	if (!*id) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
			api_error(r, 405,
				  "%s " DEBUGINFO_API " is not a thing: POST to " DEBUGINFO_API
				  "/BUILD-ID",
				  method);
			return;
		}
		buf_puts(&r->body, "{\"debuginfo\":[");
		e = debugstore_list(o->store, list_one, &r->body);
		if (e) {
			if (e == -ENOMEM)
				api_error(r, 503, "out of memory");
			else
				store_error(r, e, "list");
			return;
		}
		buf_puts(&r->body, "\n]}\n");
		r->status = 200;
		r->type = "application/json";
		return;
	}
	if (!debugstore_build_id_valid(id, hex)) {
		api_error(r, 400,
			  "'%.140s' is not a build ID: 2 to 128 hex digits, an even number of them",
			  id);
		return;
	}
	if (body) {
		upload(o, conn, hex, body, r);
		return;
	}
	if (strcmp(method, "DELETE") == 0) {
		e = debugstore_delete(o->store, hex);
		if (e) {
			store_error(r, e, "delete");
			return;
		}
		if (o->namer)
			namer__changed(o->namer, hex);
		log_info("debug file deleted", "build_id=%s", hex);
		buf_puts(&r->body, "{\"build_id\":");
		json_string(&r->body, hex);
		buf_puts(&r->body, ",\"deleted\":true}\n");
		r->status = 200;
		r->type = "application/json";
		return;
	}
	e = debugstore_meta(o->store, hex, &r->body);
	if (e == -ENOENT) {
		api_error(r, 404, "no debug file for build ID %s", hex);
		return;
	}
	if (e) {
		store_error(r, e, "get");
		return;
	}
	r->status = 200;
	r->type = "application/json";
}
