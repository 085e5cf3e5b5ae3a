// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_certs.h"
#include "../common/util.h"

/* one pair, as read (PEM) */
struct tls_pair {
	char *cert, *key;
	size_t cert_len, key_len;
};

struct tls_certs {
	char *cert_path, *key_path;
	pthread_mutex_t lock; /* pair, between reloads and handshakes */
	struct tls_pair pair;
};

/* the one serving handshakes (see the header) */
static struct tls_certs *serving;

static void pair_free(struct tls_pair *p)
{
	if (p->key)
		explicit_bzero(p->key, p->key_len);
	free(p->cert);
	free(p->key);
	memset(p, 0, sizeof(*p));
}

static void describe(gnutls_x509_crt_t crt, struct tls_certs_info *info)
{
	unsigned char serial[40];
	size_t n = sizeof(serial);
	gnutls_datum_t dn = {0};

	info->serial[0] = 0;
	info->subject[0] = 0;
	if (gnutls_x509_crt_get_serial(crt, serial, &n) == 0 && n * 2 < sizeof(info->serial))
		hex_encode(serial, n, info->serial);
	if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
		str_printable(info->subject, sizeof(info->subject), dn.data, dn.size);
		gnutls_free(dn.data);
	}
	info->not_after_s = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
}

/* Parses and checks a pair the way a handshake will use it. 0 or -EINVAL with err. */
static int pair_check(const struct tls_pair *p, const char *cert_path, const char *key_path,
		      struct tls_certs_info *info, char *err, size_t err_size)
{
	gnutls_datum_t cert = {(unsigned char *)p->cert, (unsigned int)p->cert_len};
	gnutls_datum_t key = {(unsigned char *)p->key, (unsigned int)p->key_len};
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_x509_crt_t *chain = NULL;
	unsigned int n = 0;
	int ret;

	ret = gnutls_x509_crt_list_import2(&chain, &n, &cert, GNUTLS_X509_FMT_PEM,
					   GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
	if (ret < 0 || n == 0) {
		snprintf(err, err_size, "%s: not a PEM certificate chain (leaf first): %s",
			 cert_path, ret < 0 ? gnutls_strerror(ret) : "no certificate");
		return -EINVAL;
	}
	if (n > TLS_CERTS_MAX_CHAIN) {
		snprintf(err, err_size, "%s: %u certificates, over the %d a chain may have",
			 cert_path, n, TLS_CERTS_MAX_CHAIN);
		ret = -1;
		goto out;
	}
	describe(chain[0], info);
	info->chain = n;
	ret = gnutls_certificate_allocate_credentials(&cred);
	/* this parses the key and checks that it is the leaf's */
	if (ret == 0)
		ret = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM,
							   NULL, 0);
	if (ret < 0)
		snprintf(err, err_size, "%s with %s: not a usable pair: %s", key_path, cert_path,
			 gnutls_strerror(ret));
out:
	for (unsigned int i = 0; i < n; i++)
		gnutls_x509_crt_deinit(chain[i]);
	gnutls_free(chain);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	return ret < 0 ? -EINVAL : 0;
}

static int pair_read(const char *cert_path, const char *key_path, struct tls_pair *p,
		     struct tls_certs_info *info, char *err, size_t err_size)
{
	int e;

	e = read_file(-1, cert_path, TLS_CERTS_MAX_FILE, &p->cert, &p->cert_len);
	if (!e) {
		e = read_file(-1, key_path, TLS_CERTS_MAX_FILE, &p->key, &p->key_len);
		if (e)
			snprintf(err, err_size, "cannot read the key %s: %s", key_path,
				 e == -EFBIG ? "over 1 MiB" : strerror(-e));
	} else {
		snprintf(err, err_size, "cannot read the certificate %s: %s", cert_path,
			 e == -EFBIG ? "over 1 MiB" : strerror(-e));
	}
	if (!e)
		e = pair_check(p, cert_path, key_path, info, err, err_size);
	if (e)
		pair_free(p);
	return e;
}

struct tls_certs *tls_certs__load(const char *cert_path, const char *key_path,
				  struct tls_certs_info *ret_info, char *err, size_t err_size)
{
	struct tls_certs *t = calloc(1, sizeof(*t));

	if (!t || !(t->cert_path = strdup(cert_path)) || !(t->key_path = strdup(key_path))) {
		snprintf(err, err_size, "out of memory");
		goto fail;
	}
	if (pair_read(cert_path, key_path, &t->pair, ret_info, err, err_size))
		goto fail;
	pthread_mutex_init(&t->lock, NULL);
	serving = t;
	return t;
fail:
	if (t) {
		free(t->cert_path);
		free(t->key_path);
	}
	free(t);
	return NULL;
}

int tls_certs__reload(struct tls_certs *t, struct tls_certs_info *ret_info, char *err,
		      size_t err_size)
{
	struct tls_pair fresh = {0}, old;
	int e;

	e = pair_read(t->cert_path, t->key_path, &fresh, ret_info, err, err_size);
	if (e)
		return e;
	pthread_mutex_lock(&t->lock);
	old = t->pair;
	t->pair = fresh;
	pthread_mutex_unlock(&t->lock);
	/* handshakes hold copies, never this memory */
	pair_free(&old);
	return 0;
}

void tls_certs__free(struct tls_certs *t)
{
	if (!t)
		return;
	if (serving == t)
		serving = NULL;
	pair_free(&t->pair);
	pthread_mutex_destroy(&t->lock);
	free(t->cert_path);
	free(t->key_path);
	free(t);
}

int tls_certs__retrieve(gnutls_session_t session, const struct gnutls_cert_retr_st *info,
			gnutls_pcert_st **certs, unsigned int *certs_length,
			gnutls_ocsp_data_st **ocsp, unsigned int *ocsp_length,
			gnutls_privkey_t *privkey, unsigned int *flags)
{
	struct tls_certs *t = serving;
	gnutls_pcert_st *list;
	gnutls_privkey_t key = NULL;
	gnutls_datum_t cert_d, key_d;
	unsigned int n = TLS_CERTS_MAX_CHAIN;
	int ret;

	(void)session;
	(void)info;
	if (!t)
		return -1;
	list = gnutls_malloc(TLS_CERTS_MAX_CHAIN * sizeof(*list));
	if (!list)
		return -1;
	pthread_mutex_lock(&t->lock);
	cert_d = (gnutls_datum_t){(unsigned char *)t->pair.cert, (unsigned int)t->pair.cert_len};
	key_d = (gnutls_datum_t){(unsigned char *)t->pair.key, (unsigned int)t->pair.key_len};
	ret = gnutls_pcert_list_import_x509_raw(list, &n, &cert_d, GNUTLS_X509_FMT_PEM, 0);
	if (ret >= 0) {
		ret = gnutls_privkey_init(&key);
		if (ret >= 0)
			ret = gnutls_privkey_import_x509_raw(key, &key_d, GNUTLS_X509_FMT_PEM, NULL,
							     0);
		if (ret < 0)
			for (unsigned int i = 0; i < n; i++)
				gnutls_pcert_deinit(&list[i]);
	}
	pthread_mutex_unlock(&t->lock);
	if (ret < 0) {
		/* checked when loaded, so only memory can fail here: this handshake fails */
		if (key)
			gnutls_privkey_deinit(key);
		gnutls_free(list);
		return -1;
	}
	*certs = list;
	*certs_length = n;
	*ocsp = NULL;
	*ocsp_length = 0;
	*privkey = key;
	/* GnuTLS frees the copies when the session ends */
	*flags = GNUTLS_CERT_RETR_DEINIT_ALL;
	return 0;
}
