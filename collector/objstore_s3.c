// SPDX-License-Identifier: Apache-2.0
/*
 * The S3 backend: PUT, ranged GET, ListObjectsV2 and DELETE over libcurl, signed with AWS
 * Signature Version 4 (OpenSSL for SHA-256 and HMAC). Connections are kept alive in a shared
 * cache; 5xx, 429 and transport failures are retried with exponential backoff.
 */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "objstore_impl.h"
#include "../common/util.h"

#define S3_ATTEMPTS 5
#define S3_FIRST_BACKOFF_MS 100
#define S3_MAX_RESPONSE (64u << 20) /* bytes of a LIST or error answer */
#define S3_LIST_PAGE 1000

struct s3_store {
	struct objstore base;
	char *bucket;
	char *prefix;	/* "" or ending in '/' */
	char *endpoint; /* scheme://host[:port], no trailing slash */
	char *host;	/* the Host header: endpoint host, or bucket.host for virtual-host style */
	char *scheme;
	char *region;
	bool path_style;
	char *access_key;
	char *secret_key;
	char *session_token;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
	struct s3_store *s = ctx;

	(void)h;
	(void)access;
	pthread_mutex_lock(&s->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
	struct s3_store *s = ctx;

	(void)h;
	pthread_mutex_unlock(&s->share_locks[data]);
}

static void s3_free(struct objstore *base)
{
	struct s3_store *s = (struct s3_store *)base;

	if (s->share)
		curl_share_cleanup(s->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&s->share_locks[i]);
	free(s->bucket);
	free(s->prefix);
	free(s->endpoint);
	free(s->host);
	free(s->scheme);
	free(s->region);
	free(s->access_key);
	free(s->secret_key);
	free(s->session_token);
	free(s);
}

/* ---- Signature V4 -------------------------------------------------------------------------- */

static void sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	hex_encode(md, sizeof(md), out);
}

static void hmac(const void *key, size_t key_len, const char *msg, uint8_t out[32])
{
	unsigned int n = 32;

	HMAC(EVP_sha256(), key, (int)key_len, (const uint8_t *)msg, strlen(msg), out, &n);
}

/* RFC 3986 encoding as SigV4 wants it: unreserved characters as they are, '/' kept if asked. */
static void uri_encode(struct buf *out, const char *s, bool keep_slash)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && keep_slash))
			buf_putc(out, c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

void s3_signature(const char *method, const char *canonical_uri, const char *canonical_query,
		  const char *host, const char *payload_hash, const char *amz_date,
		  const char *region, const char *secret_key, const char *session_token,
		  char out[65])
{
	struct buf canon = {0}, sts = {0};
	char canon_hash[65], date[9], secret[300];
	uint8_t k1[32], k2[32], k3[32], k4[32], sig[32];

	str_copy(date, amz_date, sizeof(date));
	buf_printf(&canon, "%s\n%s\n%s\n", method, canonical_uri, canonical_query);
	buf_printf(&canon, "host:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n", host, payload_hash,
		   amz_date);
	if (session_token)
		buf_printf(&canon, "x-amz-security-token:%s\n", session_token);
	buf_printf(&canon, "\nhost;x-amz-content-sha256;x-amz-date%s\n%s",
		   session_token ? ";x-amz-security-token" : "", payload_hash);
	sha256_hex(canon.data, canon.len, canon_hash);
	buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", amz_date, date, region,
		   canon_hash);
	buf_cstr(&sts);
	snprintf(secret, sizeof(secret), "AWS4%s", secret_key);
	hmac(secret, strlen(secret), date, k1);
	hmac(k1, 32, region, k2);
	hmac(k2, 32, "s3", k3);
	hmac(k3, 32, "aws4_request", k4);
	hmac(k4, 32, sts.data ? (const char *)sts.data : "", sig);
	hex_encode(sig, 32, out);
	explicit_bzero(secret, sizeof(secret));
	buf_free(&canon);
	buf_free(&sts);
}

struct query_param {
	const char *key;
	const char *value;
};

static int param_cmp(const void *a, const void *b)
{
	return strcmp(((const struct query_param *)a)->key, ((const struct query_param *)b)->key);
}

struct request {
	const char *method;
	const char *key; /* object key (without the store prefix), or NULL for the bucket */
	struct query_param params[8]; /* sorted before use */
	size_t nparams;
	const void *body;
	size_t body_len;
	const char *range; /* "bytes=A-B", or NULL */
};

/*
 * Builds the URL and the signed headers of r. Returns 0 or -ENOMEM. The caller frees *ret_url
 * and the header list.
 */
static int sign(struct s3_store *s, struct request *r, char **ret_url,
		struct curl_slist **ret_headers)
{
	struct buf path = {0}, query = {0}, url = {0}, hdr = {0};
	char amz_date[17], date[9], payload_hash[65], sig_hex[65], full_key[OBJSTORE_MAX_KEY + 256];
	struct curl_slist *headers = NULL, *h;
	struct tm tm;
	time_t now = time(NULL);
	int err = 0;

	gmtime_r(&now, &tm);
	strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, payload_hash);

	/* the canonical path: /bucket/prefix+key (path style) or /prefix+key */
	buf_putc(&path, '/');
	if (s->path_style) {
		uri_encode(&path, s->bucket, false);
		if (r->key)
			buf_putc(&path, '/');
	}
	if (r->key) {
		snprintf(full_key, sizeof(full_key), "%s%s", s->prefix, r->key);
		uri_encode(&path, full_key, true);
	}
	if (r->nparams)
		qsort(r->params, r->nparams, sizeof(r->params[0]), param_cmp);
	for (size_t i = 0; i < r->nparams; i++) {
		if (i)
			buf_putc(&query, '&');
		uri_encode(&query, r->params[i].key, false);
		buf_putc(&query, '=');
		uri_encode(&query, r->params[i].value, false);
	}
	buf_cstr(&query);
	buf_cstr(&path);

	s3_signature(r->method, (char *)path.data, (char *)query.data, s->host, payload_hash,
		     amz_date, s->region, s->secret_key, s->session_token, sig_hex);
	buf_printf(&url, "%s://%s%s%s%s", s->scheme, s->host, (char *)path.data,
		   query.len ? "?" : "", (char *)query.data);
#define ADD_HEADER(...)                                         \
	do {                                                    \
		buf_reset(&hdr);                                \
		buf_printf(&hdr, __VA_ARGS__);                  \
		h = curl_slist_append(headers, buf_cstr(&hdr)); \
		if (!h) {                                       \
			err = -ENOMEM;                          \
			goto out;                               \
		}                                               \
		headers = h;                                    \
	} while (0)
	ADD_HEADER("x-amz-date: %s", amz_date);
	ADD_HEADER("x-amz-content-sha256: %s", payload_hash);
	if (s->session_token)
		ADD_HEADER("x-amz-security-token: %s", s->session_token);
	ADD_HEADER("Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
		   "SignedHeaders=host;x-amz-content-sha256;x-amz-date%s, Signature=%s",
		   s->access_key, date, s->region, s->session_token ? ";x-amz-security-token" : "",
		   sig_hex);
	if (r->range)
		ADD_HEADER("Range: %s", r->range);
	/* no "Expect: 100-continue" round trip before a PUT */
	ADD_HEADER("Expect:");
	if (r->body)
		ADD_HEADER("Content-Type: application/octet-stream");
#undef ADD_HEADER
	if (url.oom || path.oom || query.oom)
		err = -ENOMEM;
out:
	if (!err) {
		*ret_url = strdup(buf_cstr(&url));
		if (!*ret_url)
			err = -ENOMEM;
	}
	if (err)
		curl_slist_free_all(headers);
	else
		*ret_headers = headers;
	buf_free(&path);
	buf_free(&query);
	buf_free(&url);
	buf_free(&hdr);
	return err;
}

/* ---- requests ------------------------------------------------------------------------------ */

struct response {
	struct buf *body;    /* where a 2xx body goes (NULL: discarded) */
	struct buf err_body; /* any other body */
	size_t limit;
	size_t start; /* body->len before this attempt */
	long status;  /* of the status line seen last */
	bool too_big;
};

/* The status line tells where the body goes (the body follows the last header block). */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct response *r = ctx;
	size_t len = size * n;
	char line[64];

	if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
		str_copy(line, data, MIN(len + 1, sizeof(line)));
		if (sscanf(line, "HTTP/%*s %ld", &r->status) != 1)
			r->status = 0;
	}
	return len;
}

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct response *r = ctx;
	size_t len = size * n;
	bool ok = r->status >= 200 && r->status < 300;
	struct buf *dst = ok ? r->body : &r->err_body;

	if (!dst)
		return len;
	if (dst->len - (ok ? r->start : 0) + len > (ok ? r->limit : S3_MAX_RESPONSE)) {
		r->too_big = true;
		return 0;
	}
	buf_append(dst, data, len);
	return dst->oom ? 0 : len;
}

/* The text of <tag>...</tag> in xml after *pos, entity-decoded into out; moves *pos past it. */
static bool xml_tag(const char *xml, const char **pos, const char *tag, char *out, size_t out_size)
{
	char open[64], close[64];
	const char *a, *b;
	size_t o = 0;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = strstr(*pos ? *pos : xml, open);
	if (!a)
		return false;
	a += strlen(open);
	b = strstr(a, close);
	if (!b)
		return false;
	*pos = b + strlen(close);
	for (const char *p = a; p < b && o + 1 < out_size; p++) {
		static const struct {
			const char *ent;
			char c;
		} ents[] = {{"&amp;", '&'},
			    {"&lt;", '<'},
			    {"&gt;", '>'},
			    {"&quot;", '"'},
			    {"&apos;", '\''}};
		bool done = false;

		if (*p == '&') {
			for (size_t i = 0; i < ARRAY_SIZE(ents); i++) {
				size_t n = strlen(ents[i].ent);

				if ((size_t)(b - p) >= n && strncmp(p, ents[i].ent, n) == 0) {
					out[o++] = ents[i].c;
					p += n - 1;
					done = true;
					break;
				}
			}
		}
		if (!done)
			out[o++] = *p;
	}
	out[o] = 0;
	return true;
}

static int status_errno(long status)
{
	switch (status) {
	case 404:
		return -ENOENT;
	case 403:
	case 401:
		return -EACCES;
	case 416:
		return -ERANGE;
	case 400:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/*
 * Runs r, retrying what can be retried. A 2xx body goes to body (limit bytes at most). Returns
 * 0, or -errno with objstore_error() set.
 */
static int perform(struct s3_store *s, struct request *r, struct buf *body, size_t limit)
{
	size_t body_start = body ? body->len : 0;
	char what[OBJSTORE_MAX_KEY + 64];
	int err = -EIO;

	snprintf(what, sizeof(what), "%s s3://%s/%s%s", r->method, s->bucket, s->prefix,
		 r->key ? r->key : "");
	for (int attempt = 0; attempt < S3_ATTEMPTS; attempt++) {
		struct response resp = {.body = body, .limit = limit, .start = body_start};
		struct curl_slist *headers = NULL;
		char *url = NULL, errbuf[CURL_ERROR_SIZE] = "";
		CURL *c;
		CURLcode cc;
		bool retry = false;

		if (attempt) {
			objstore_count(&s->base, &s->base.stats.retries, 1);
			usleep((useconds_t)(S3_FIRST_BACKOFF_MS << (attempt - 1)) * 1000);
		}
		if (body)
			body->len = body_start;
		err = sign(s, r, &url, &headers);
		if (err)
			return objstore_fail(err, "%s: out of memory", what);
		c = curl_easy_init();
		if (!c) {
			curl_slist_free_all(headers);
			free(url);
			return objstore_fail(-ENOMEM, "%s: cannot create a curl handle", what);
		}
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_SHARE, s->share);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
		/* a stalled transfer fails after 30 s under 1 KiB/s; none takes more than 10 min */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "sonde-collector/" SONDE_VERSION);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		if (strcmp(r->method, "PUT") == 0) {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		} else if (strcmp(r->method, "DELETE") == 0) {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
		}
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
		if (cc == CURLE_OK && resp.status >= 200 && resp.status < 300) {
			err = body && body->oom ? objstore_fail(-ENOMEM, "%s: out of memory", what)
						: 0;
		} else if (cc != CURLE_OK) {
			err = objstore_fail(resp.too_big ? -EFBIG : -EIO, "%s: %s", what,
					    resp.too_big ? "answer too large"
					    : errbuf[0]	 ? errbuf
							 : curl_easy_strerror(cc));
			retry = !resp.too_big;
		} else {
			char code[128] = "", msg[256] = "";
			const char *pos = NULL;

			buf_cstr(&resp.err_body);
			if (resp.err_body.data) {
				xml_tag((const char *)resp.err_body.data, &pos, "Code", code,
					sizeof(code));
				pos = NULL;
				xml_tag((const char *)resp.err_body.data, &pos, "Message", msg,
					sizeof(msg));
			}
			err = objstore_fail(status_errno(resp.status), "%s: HTTP %ld %s%s%s", what,
					    resp.status, code, msg[0] ? ": " : "", msg);
			retry = resp.status >= 500 || resp.status == 429;
		}
		buf_free(&resp.err_body);
		curl_easy_cleanup(c);
		curl_slist_free_all(headers);
		free(url);
		if (!err || !retry)
			break;
	}
	return err;
}

static int s3_put(struct objstore *base, const char *key, const void *data, size_t len)
{
	struct request r = {.method = "PUT", .key = key, .body = data, .body_len = len};

	return perform((struct s3_store *)base, &r, NULL, S3_MAX_RESPONSE);
}

static int s3_get(struct objstore *base, const char *key, uint64_t off, uint64_t len,
		  struct buf *out)
{
	struct request r = {.method = "GET", .key = key};
	char range[64];

	if (len == 0)
		return 0;
	if (off || len != UINT64_MAX) {
		if (len == UINT64_MAX)
			snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)off);
		else
			snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)off,
				 (unsigned long long)(off + len - 1));
		r.range = range;
	}
	return perform((struct s3_store *)base, &r, out,
		       len == UINT64_MAX ? OBJSTORE_MAX_OBJECT : (size_t)len);
}

struct dir_scan {
	size_t skip; /* of the key: the listing prefix */
	char last[OBJSTORE_MAX_KEY];
	objstore_list_fn fn;
	void *ctx;
	uint64_t found;
};

/* From a full listing (keys in order): each distinct first component after the prefix, once. */
static int dir_of_key(void *ctx, const char *key, uint64_t size)
{
	struct dir_scan *d = ctx;
	const char *rest = key + d->skip, *slash = strchr(rest, '/');
	char name[OBJSTORE_MAX_KEY];

	(void)size;
	if (!slash || (size_t)(slash - rest) >= sizeof(name))
		return 0;
	memcpy(name, rest, (size_t)(slash - rest));
	name[slash - rest] = 0;
	if (strcmp(name, d->last) == 0)
		return 0;
	str_copy(d->last, name, sizeof(d->last));
	d->found++;
	return d->fn(d->ctx, name, 0);
}

static int s3_list_pages(struct s3_store *s, const char *prefix, bool dirs, objstore_list_fn fn,
			 void *ctx, uint64_t *ret_found);

static int s3_list(struct objstore *base, const char *prefix, bool dirs, objstore_list_fn fn,
		   void *ctx)
{
	struct s3_store *s = (struct s3_store *)base;
	struct dir_scan d = {.skip = strlen(prefix), .fn = fn, .ctx = ctx};
	uint64_t found = 0;
	int err;

	err = s3_list_pages(s, prefix, dirs, fn, ctx, &found);
	if (err || !dirs || found)
		return err;
	/*
	 * Some S3-compatible servers (s3rver) give no common prefixes below a nested prefix: when
	 * a delimited listing finds nothing, the keys themselves say what is there.
	 */
	return s3_list_pages(s, prefix, false, dir_of_key, &d, &found);
}

static int s3_list_pages(struct s3_store *s, const char *prefix, bool dirs, objstore_list_fn fn,
			 void *ctx, uint64_t *ret_found)
{
	char full[OBJSTORE_MAX_KEY + 256], token[1024] = "", max_keys[16];
	size_t plen = strlen(s->prefix) + strlen(prefix);
	struct buf body = {0};
	int err = 0;

	snprintf(full, sizeof(full), "%s%s", s->prefix, prefix);
	snprintf(max_keys, sizeof(max_keys), "%d", S3_LIST_PAGE);
	for (;;) {
		struct request r = {.method = "GET", .key = NULL};
		char truncated[16] = "", item[OBJSTORE_MAX_KEY + 256], size_s[32];
		const char *pos = NULL, *xml;

		r.params[r.nparams++] = (struct query_param){"list-type", "2"};
		r.params[r.nparams++] = (struct query_param){"prefix", full};
		r.params[r.nparams++] = (struct query_param){"max-keys", max_keys};
		if (dirs)
			r.params[r.nparams++] = (struct query_param){"delimiter", "/"};
		if (token[0])
			r.params[r.nparams++] = (struct query_param){"continuation-token", token};
		buf_reset(&body);
		err = perform(s, &r, &body, S3_MAX_RESPONSE);
		if (err)
			break;
		xml = buf_cstr(&body);
		if (dirs) {
			while (xml_tag(xml, &pos, "Prefix", item, sizeof(item))) {
				size_t n = strlen(item);

				/* <CommonPrefixes><Prefix>p/x/</Prefix>; the request's own <Prefix>
				 * is shorter */
				if (n <= plen || item[n - 1] != '/')
					continue;
				item[n - 1] = 0;
				++*ret_found;
				err = fn(ctx, item + plen, 0);
				if (err)
					break;
			}
		} else {
			while (!err && xml_tag(xml, &pos, "Key", item, sizeof(item))) {
				uint64_t size = 0;
				const char *spos = pos;

				if (xml_tag(xml, &spos, "Size", size_s, sizeof(size_s)))
					parse_u64(size_s, &size);
				if (strlen(item) < strlen(s->prefix) ||
				    !objstore_key_valid(item + strlen(s->prefix)))
					continue; /* not ours */
				++*ret_found;
				err = fn(ctx, item + strlen(s->prefix), size);
			}
		}
		if (err)
			break;
		pos = NULL;
		xml_tag(xml, &pos, "IsTruncated", truncated, sizeof(truncated));
		pos = NULL;
		if (strcmp(truncated, "true") != 0 ||
		    !xml_tag(xml, &pos, "NextContinuationToken", token, sizeof(token)))
			break;
	}
	buf_free(&body);
	return err;
}

static int s3_del(struct objstore *base, const char *key)
{
	struct request r = {.method = "DELETE", .key = key};
	int err = perform((struct s3_store *)base, &r, NULL, S3_MAX_RESPONSE);

	return err == -ENOENT ? 0 : err;
}

static const struct objstore_ops s3_ops = {
	.put = s3_put,
	.get = s3_get,
	.list = s3_list,
	.del = s3_del,
	.free = s3_free,
};

/* The value of name in a query string "a=1&b=2" (percent-decoding not needed: our values are
 * plain). */
static bool query_value(const char *query, const char *name, char *out, size_t out_size)
{
	size_t n = strlen(name);

	for (const char *p = query; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			const char *end = strchr(p + n + 1, '&');
			size_t len = end ? (size_t)(end - p - n - 1) : strlen(p + n + 1);

			if (len >= out_size)
				len = out_size - 1;
			memcpy(out, p + n + 1, len);
			out[len] = 0;
			return true;
		}
	}
	return false;
}

static bool query_known(const char *query, char *bad, size_t bad_size)
{
	static const char *const known[] = {"endpoint", "region", "path_style"};

	for (const char *p = query; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
		size_t len = strcspn(p, "=&");
		bool ok = false;

		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			ok |= strlen(known[i]) == len && strncmp(p, known[i], len) == 0;
		if (!ok) {
			snprintf(bad, bad_size, "%.*s", (int)MIN(len, 64), p);
			return false;
		}
	}
	return true;
}

struct objstore *objstore_s3_open(const char *url, char *err, size_t err_size)
{
	const char *rest = url + 5, *slash, *q;
	char endpoint[512] = "", region[64] = "us-east-1", path_style[16] = "", bad[80],
	     prefix[OBJSTORE_MAX_KEY];
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN"), *env_region = getenv("AWS_REGION");
	struct s3_store *s;
	size_t blen, plen;

	if (!env_region || !*env_region)
		env_region = getenv("AWS_DEFAULT_REGION");
	if (env_region && *env_region)
		str_copy(region, env_region, sizeof(region));
	q = strchr(rest, '?');
	slash = strchr(rest, '/');
	if (slash && q && slash > q)
		slash = NULL;
	blen = slash ? (size_t)(slash - rest) : q ? (size_t)(q - rest) : strlen(rest);
	if (blen < 3 || blen > 63) {
		snprintf(err, err_size, "invalid S3 URL '%s': expected s3://BUCKET/PREFIX", url);
		return NULL;
	}
	plen = slash ? (q ? (size_t)(q - slash - 1) : strlen(slash + 1)) : 0;
	if (plen >= sizeof(prefix) - 1) {
		snprintf(err, err_size, "invalid S3 URL '%s': the prefix is too long", url);
		return NULL;
	}
	memcpy(prefix, slash ? slash + 1 : "", plen);
	prefix[plen] = 0;
	while (plen && prefix[plen - 1] == '/')
		prefix[--plen] = 0;
	if (plen && !objstore_key_valid(prefix)) {
		snprintf(err, err_size,
			 "invalid S3 URL '%s': the prefix may hold letters, digits, '.', '_', '-' "
			 "and '/'",
			 url);
		return NULL;
	}
	if (q) {
		if (!query_known(q + 1, bad, sizeof(bad))) {
			snprintf(err, err_size,
				 "invalid S3 URL '%s': unknown parameter '%s' (known: endpoint, "
				 "region, path_style)",
				 url, bad);
			return NULL;
		}
		query_value(q + 1, "endpoint", endpoint, sizeof(endpoint));
		query_value(q + 1, "region", region, sizeof(region));
		query_value(q + 1, "path_style", path_style, sizeof(path_style));
	}
	if (!ak || !*ak || !sk || !*sk) {
		snprintf(err, err_size,
			 "S3 storage needs credentials: set AWS_ACCESS_KEY_ID and "
			 "AWS_SECRET_ACCESS_KEY");
		return NULL;
	}
	if (endpoint[0] && strncmp(endpoint, "http://", 7) != 0 &&
	    strncmp(endpoint, "https://", 8) != 0) {
		snprintf(err, err_size,
			 "invalid S3 endpoint '%s': expected http://HOST[:PORT] or https://...",
			 endpoint);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_size, "out of memory");
		return NULL;
	}
	s->base.ops = &s3_ops;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s->share_locks[i], NULL);
	s->bucket = strndup(rest, blen);
	if (asprintf(&s->prefix, "%s%s", prefix, plen ? "/" : "") < 0)
		s->prefix = NULL;
	s->region = strdup(region);
	s->path_style = strcmp(path_style, "true") == 0 || strcmp(path_style, "1") == 0;
	if (!endpoint[0])
		snprintf(endpoint, sizeof(endpoint), "https://s3.%s.amazonaws.com", region);
	while (endpoint[0] && endpoint[strlen(endpoint) - 1] == '/')
		endpoint[strlen(endpoint) - 1] = 0;
	s->endpoint = strdup(endpoint);
	s->scheme = strndup(endpoint, (size_t)(strstr(endpoint, "://") - endpoint));
	if (s->path_style) {
		s->host = strdup(strstr(endpoint, "://") + 3);
	} else if (asprintf(&s->host, "%s.%s", s->bucket ? s->bucket : "",
			    strstr(endpoint, "://") + 3) < 0) {
		s->host = NULL;
	}
	s->access_key = strdup(ak);
	s->secret_key = strdup(sk);
	s->session_token = tok && *tok ? strdup(tok) : NULL;
	s->share = curl_share_init();
	if (!s->bucket || !s->prefix || !s->region || !s->endpoint || !s->scheme || !s->host ||
	    !s->access_key || !s->secret_key || (tok && *tok && !s->session_token) || !s->share) {
		snprintf(err, err_size, "out of memory");
		s3_free(&s->base);
		return NULL;
	}
	if (strchr(s->host, '/')) {
		snprintf(err, err_size, "invalid S3 endpoint '%s': no path allowed", endpoint);
		s3_free(&s->base);
		return NULL;
	}
	curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return &s->base;
}

bool objstore__is_s3(const struct objstore *s)
{
	return s->ops == &s3_ops;
}
