// SPDX-License-Identifier: Apache-2.0
/*
 * Object storage: the interface, which checks keys and sizes, counts, and keeps the read cache
 * (objstore_cache.c), over the backends (objstore_dir.c, objstore_s3.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objstore_cache.h"
#include "objstore_impl.h"

static __thread char last_error[512];

int objstore_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *objstore_error(void)
{
	return last_error;
}

void objstore_count(struct objstore *s, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&s->stats_lock);
	*counter += n;
	pthread_mutex_unlock(&s->stats_lock);
}

bool objstore_key_valid(const char *key)
{
	const char *comp = key;
	size_t n = strlen(key);

	if (n == 0 || n >= OBJSTORE_MAX_KEY)
		return false;
	for (const char *p = key;; p++) {
		if (*p == '/' || !*p) {
			size_t len = (size_t)(p - comp);

			if (len == 0 || (len == 1 && comp[0] == '.') ||
			    (len == 2 && comp[0] == '.' && comp[1] == '.'))
				return false;
			if (!*p)
				return true;
			comp = p + 1;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	}
}

/* A listing prefix: a key, or a key's leading part ending in '/', or "". */
static bool prefix_valid(const char *prefix)
{
	char tmp[OBJSTORE_MAX_KEY];
	size_t n = strlen(prefix);

	if (n == 0)
		return true;
	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, prefix, n + 1);
	if (tmp[n - 1] == '/')
		tmp[n - 1] = 0;
	return objstore_key_valid(tmp);
}

/*
 * url for logs, with the user information of every URL in it (the store's, an endpoint's in its
 * query) written "...": "s3://b/p?endpoint=http://...@host:9000". NULL on ENOMEM.
 */
static char *url_redacted(const char *url)
{
	struct buf b = {0};
	const char *p = url, *scheme;
	size_t n;

	while ((scheme = strstr(p, "://"))) {
		const char *auth = scheme + 3, *end = auth + strcspn(auth, "/?#&"), *at = NULL;

		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		buf_append(&b, p, (size_t)(auth - p));
		if (at)
			buf_puts(&b, "...");
		p = at ? at : auth;
	}
	buf_puts(&b, p);
	buf_putc(&b, 0);
	if (b.oom) {
		buf_free(&b);
		return NULL;
	}
	return (char *)buf_steal(&b, &n);
}

struct objstore *objstore__open(const char *url, char *err, size_t err_size)
{
	struct objstore *s;

	if (!url || !*url) {
		snprintf(err, err_size, "empty storage URL");
		return NULL;
	}
	if (strncmp(url, "s3://", 5) == 0)
		s = objstore_s3_open(url, err, err_size);
	else if (strncmp(url, "file://", 7) == 0)
		s = objstore_dir_open(url + 7, err, err_size);
	else if (strstr(url, "://"))
		s = (snprintf(err, err_size,
			      "unsupported storage URL '%s': use file:///PATH, a path, or "
			      "s3://BUCKET/PREFIX",
			      url),
		     NULL);
	else
		s = objstore_dir_open(url, err, err_size);
	if (!s)
		return NULL;
	s->url = url_redacted(url);
	pthread_mutex_init(&s->stats_lock, NULL);
	return s;
}

void objstore__free(struct objstore *s)
{
	char *url;

	if (!s)
		return;
	url = s->url;
	objcache__free(s->cache);
	pthread_mutex_destroy(&s->stats_lock);
	s->ops->free(s);
	free(url);
}

const char *objstore__url(const struct objstore *s)
{
	return s->url ? s->url : "?";
}

int objstore__put(struct objstore *s, const char *key, const void *data, size_t len)
{
	int err;

	if (!objstore_key_valid(key))
		return objstore_fail(-EINVAL, "invalid object key '%s'", key);
	if (len > OBJSTORE_MAX_OBJECT)
		return objstore_fail(-EFBIG, "object of %zu bytes is over the limit", len);
	err = s->ops->put(s, key, data, len);
	pthread_mutex_lock(&s->stats_lock);
	if (err) {
		s->stats.errors++;
	} else {
		s->stats.puts++;
		s->stats.bytes_put += len;
	}
	pthread_mutex_unlock(&s->stats_lock);
	return err;
}

int objstore__set_cache(struct objstore *s, uint64_t max_bytes)
{
	s->cache = objcache__new(max_bytes);
	return s->cache ? 0 : -ENOMEM;
}

int objstore__get(struct objstore *s, const char *key, uint64_t off, uint64_t len, struct buf *out)
{
	size_t before = out->len;
	int err;

	if (!objstore_key_valid(key))
		return objstore_fail(-EINVAL, "invalid object key '%s'", key);
	if (len != UINT64_MAX && len > OBJSTORE_MAX_OBJECT)
		return objstore_fail(-EFBIG, "a read of %llu bytes is over the limit",
				     (unsigned long long)len);
	if (s->cache && len != UINT64_MAX) {
		bool hit = objcache__get(s->cache, key, off, len, out);

		objstore_count(s, hit ? &s->stats.cache_hits : &s->stats.cache_misses, 1);
		if (hit)
			return 0;
	}
	err = s->ops->get(s, key, off, len, out);
	if (!err && s->cache && len != UINT64_MAX && out->len - before == len)
		objcache__put(s->cache, key, off, out->data + before, len);
	pthread_mutex_lock(&s->stats_lock);
	if (err && err != -ENOENT) {
		s->stats.errors++;
	} else if (!err) {
		s->stats.gets++;
		s->stats.bytes_got += out->len - before;
	}
	pthread_mutex_unlock(&s->stats_lock);
	if (err)
		out->len = before;
	return err;
}

static int list(struct objstore *s, const char *prefix, bool dirs, objstore_list_fn fn, void *ctx)
{
	int err;

	if (!prefix_valid(prefix))
		return objstore_fail(-EINVAL, "invalid listing prefix '%s'", prefix);
	err = s->ops->list(s, prefix, dirs, fn, ctx);
	objstore_count(s, err < 0 ? &s->stats.errors : &s->stats.lists, 1);
	return err;
}

int objstore__list(struct objstore *s, const char *prefix, objstore_list_fn fn, void *ctx)
{
	return list(s, prefix, false, fn, ctx);
}

int objstore__list_dirs(struct objstore *s, const char *prefix, objstore_list_fn fn, void *ctx)
{
	return list(s, prefix, true, fn, ctx);
}

int objstore__delete(struct objstore *s, const char *key)
{
	int err;

	if (!objstore_key_valid(key))
		return objstore_fail(-EINVAL, "invalid object key '%s'", key);
	if (s->cache)
		objcache__drop_key(s->cache, key);
	err = s->ops->del(s, key);
	objstore_count(s, err ? &s->stats.errors : &s->stats.deletes, 1);
	return err;
}

int objstore__claim(struct objstore *s)
{
	return s->ops->claim ? s->ops->claim(s) : 0;
}

void objstore__stats(struct objstore *s, struct objstore_stats *ret)
{
	pthread_mutex_lock(&s->stats_lock);
	*ret = s->stats;
	pthread_mutex_unlock(&s->stats_lock);
	if (s->cache)
		ret->cache_bytes = objcache__bytes(s->cache);
}
