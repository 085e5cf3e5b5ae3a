// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qctl.h"
#include "reader.h"
#include "retention.h"
#include "view.h"
#include "../common/util.h"

#define FIRST_TAIL (64u << 10) /* bytes read from a block's end: the whole footer, usually */

static int add_block(void *ctx, const char *key, uint64_t size)
{
	block_refs *out = ctx;
	struct block_ref r = {0};
	char tenant[80];

	if (!block_key_parse(key, tenant, sizeof(tenant), &r.min_ms, &r.max_ms, &r.level, r.id))
		return 0; /* not a block: ignored */
	str_copy(r.key, key, sizeof(r.key));
	r.size = size;
	return VEC_PUSH(out, r) ? -ENOMEM : 0;
}

int reader_list(struct objstore *s, const char *tenant, block_refs *out)
{
	char prefix[128];

	if (!tenant_valid(tenant))
		return -EINVAL;
	snprintf(prefix, sizeof(prefix), "%s/blocks/", tenant);
	return objstore__list(s, prefix, add_block, out);
}

struct tenant_filter {
	objstore_list_fn fn;
	void *ctx;
};

static int tenant_dir(void *ctx, const char *name, uint64_t size)
{
	struct tenant_filter *f = ctx;

	return tenant_valid(name) ? f->fn(f->ctx, name, size) : 0;
}

int reader_tenants(struct objstore *s, objstore_list_fn fn, void *ctx)
{
	struct tenant_filter f = {fn, ctx};

	return objstore__list_dirs(s, "", tenant_dir, &f);
}

int name_list_add(void *ctx, const char *name, uint64_t size)
{
	struct name_list *l = ctx;
	char *s = strdup(name);

	(void)size;
	if (!s || VEC_PUSH(&l->v, s)) {
		free(s);
		return -ENOMEM;
	}
	return 0;
}

void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->v.len; i++)
		free(l->v.v[i]);
	VEC_FREE(&l->v);
}

/* Whether the calling thread's query must stop reading (qctl.h): 0, or why with a reason. */
static int query_stopped(char *err, size_t err_size)
{
	int e = qctl_check(qctl_current());

	if (e)
		snprintf(err, err_size, "%s", qctl_reason(e));
	return e;
}

int reader_footer(struct objstore *s, const struct block_ref *ref, struct block_info *ret,
		  char *err, size_t err_size)
{
	struct buf tail = {0};
	size_t want = (size_t)MIN(ref->size, FIRST_TAIL), need = 0;
	int e;

	if (ref->size < BLOCK_HEADER_SIZE + BLOCK_TRAILER_SIZE) {
		snprintf(err, err_size, "%s: %llu bytes is too short for a block", ref->key,
			 (unsigned long long)ref->size);
		return -EBADMSG;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		buf_reset(&tail);
		e = query_stopped(err, err_size);
		if (e)
			break;
		e = objstore__get(s, ref->key, ref->size - want, want, &tail);
		if (e) {
			snprintf(err, err_size, "%s", objstore_error());
			break;
		}
		e = block_parse_footer(tail.data, tail.len, ref->size, ret, &need, err, err_size);
		if (e != -EAGAIN || need > ref->size)
			break;
		want = need; /* a bigger footer than guessed: read it whole */
	}
	if (e == -EBADMSG) {
		char why[256];

		str_copy(why, err, sizeof(why));
		snprintf(err, err_size, "%s: %s", ref->key, why);
	}
	buf_free(&tail);
	return e;
}

struct svcdata *reader_service(struct objstore *s, const struct block_ref *ref,
			       const struct block_info *bi, size_t svc, uint32_t mask, int *ret_err,
			       char *err, size_t err_size)
{
	uint32_t full = mask;
	struct svcdata *sd;
	struct buf data = {0};
	uint64_t off, len;
	int e;

	/* the sections a decoder needs before the ones asked for (see block_decode_service) */
	if (full & ((1u << SEC_STACKS) | (1u << SEC_LOCATIONS)))
		full |= (1u << SEC_STRINGS) | (1u << SEC_MAPPINGS) | (1u << SEC_FUNCTIONS) |
			(1u << SEC_LOCATIONS);
	if (full & ((1u << SEC_MAPPINGS) | (1u << SEC_FUNCTIONS) | (1u << SEC_SERIES)))
		full |= 1u << SEC_STRINGS;
	if (full & ((1u << SEC_COL_SERIES) | (1u << SEC_COL_TIME) | (1u << SEC_COL_STACK) |
		    (1u << SEC_COL_VALUE)))
		full |= (1u << SEC_COL_SERIES) | (1u << SEC_COL_TIME) | (1u << SEC_COL_VALUE);
	block_service_range(bi, svc, full, &off, &len);
	e = query_stopped(err, err_size);
	if (!e) {
		e = objstore__get(s, ref->key, off, len, &data);
		if (e)
			snprintf(err, err_size, "%s", objstore_error());
	}
	if (e) {
		*ret_err = e;
		return NULL;
	}
	sd = block_decode_service(bi, svc, mask, data.data, off, data.len, ret_err, err, err_size);
	if (!sd && *ret_err == -EBADMSG) {
		char why[256];

		str_copy(why, err, sizeof(why));
		snprintf(err, err_size, "%s: %s", ref->key, why);
	}
	buf_free(&data);
	return sd;
}

int reader_visible(struct objstore *s, const char *tenant, uint64_t from_ms, uint64_t to_ms,
		   block_refs *out, char *err, size_t err_size)
{
	struct store_view v = {0};
	int e = reader_view(s, tenant, from_ms, to_ms,
			    retention_floor_ms(tenant, clock_ns(CLOCK_REALTIME) / 1000000), &v, err,
			    err_size);

	for (size_t i = 0; !e && i < v.b.len; i++) {
		if (v.b.v[i].state == VIEW_SELECTED && VEC_PUSH(out, v.b.v[i].ref)) {
			snprintf(err, err_size, "out of memory");
			e = -ENOMEM;
		}
	}
	store_view_free(&v);
	return e;
}
