/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collector's TLS certificate and key (--tls-cert-file, --tls-key-file), reloadable while
 * it serves: libmicrohttpd asks tls_certs__retrieve for them at every handshake (through
 * MHD_OPTION_HTTPS_CERT_CALLBACK2), which hands GnuTLS a copy of the pair current then, freed by
 * GnuTLS when the connection ends. A reload therefore applies to the next handshakes, and a
 * connection keeps the pair it started with.
 *
 * At most one tls_certs serves per process: the GnuTLS callback carries no context of ours.
 * Library code: nothing is logged; errors come back as messages.
 */
#ifndef SONDE_TLS_CERTS_H
#define SONDE_TLS_CERTS_H

#include <gnutls/abstract.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_CERTS_MAX_FILE (1u << 20) /* bytes of a PEM file */
#define TLS_CERTS_MAX_CHAIN 16	      /* certificates in a chain */

struct tls_certs;

/* What a pair holds, for the log. */
struct tls_certs_info {
	char serial[80];     /* the leaf's serial number, hex */
	char subject[256];   /* the leaf's distinguished name */
	int64_t not_after_s; /* the leaf's expiry, Unix seconds */
	unsigned int chain;  /* certificates in the file */
};

/*
 * Reads and checks a certificate chain and its key (PEM): both parse, and the key is the
 * leaf's. Returns NULL with a message naming the file and the reason in err. The result serves
 * handshakes from now on (the one per process).
 */
struct tls_certs *tls_certs__load(const char *cert_path, const char *key_path,
				  struct tls_certs_info *ret_info, char *err, size_t err_size);
/*
 * Reads the same two files again and, if they are a good pair, serves them from the next
 * handshake. Returns 0, or -errno with a message in err while the previous pair stays in use.
 */
int tls_certs__reload(struct tls_certs *t, struct tls_certs_info *ret_info, char *err,
		      size_t err_size);
/* NULL-safe; call once no daemon uses it. */
void tls_certs__free(struct tls_certs *t);

/* The GnuTLS callback to give libmicrohttpd (MHD_OPTION_HTTPS_CERT_CALLBACK2). */
gnutls_certificate_retrieve_function3 tls_certs__retrieve;

#endif
