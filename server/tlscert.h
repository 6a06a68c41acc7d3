/* tlscert.h - the server's certificate and private key, checked when
 * loaded and swappable while serving (SIGHUP).
 *
 * Called by server/serve.c (load at start and on SIGHUP) and
 * server/https.c (the GnuTLS certificate callback, the expiry in
 * /healthz). A load reads the two PEM files, and takes them only if the
 * certificate chain parses, the key parses and belongs to the first
 * certificate, the certificate is valid now (notBefore <= now <=
 * notAfter), and the key file is readable by nobody but its owner (the
 * rule of PostgreSQL: mode 0600 or less, or 0640 or less when root owns
 * it; `key_permissions = allow` lifts the rule). A load that fails
 * leaves the current pair in use, so a bad renewal never stops the
 * server. Handshakes take the current pair under a lock; pairs replaced
 * by a reload stay allocated until tb_tlscert_destroy, because a TLS
 * session keeps pointers to the pair it was handed (a few KiB per
 * reload). One tb_tlscert serves the whole process: the GnuTLS callback
 * has no user pointer, so tb_tlscert_retrieve reads the one given to
 * tb_tlscert_install.
 */
#ifndef TB_SERVER_TLSCERT_H
#define TB_SERVER_TLSCERT_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stddef.h>
#include <stdint.h>

struct tb_tlscert;

/* What a load found, for the log line of a reload. */
struct tb_tlscert_info {
	int64_t not_before, not_after; /* Unix seconds, UTC */
	char subject[160];             /* the leaf's DN */
	int changed;                   /* 1 if the leaf differs from the
					* pair it replaced (or none was) */
};

/* A holder with no pair yet. 0 or TB_ENOMEM; *out NULL on failure. */
int tb_tlscert_create(struct tb_tlscert **out);
/* Loads cert_path and key_path and makes them current (see top). 0 with
 * *info filled (may be NULL); TB_ECONFIG with msg naming the file and
 * the rule (and the notAfter of an expired certificate); TB_ENOMEM.
 * Nothing changes on failure. Not for two threads at once. */
int tb_tlscert_load(struct tb_tlscert *t, const char *cert_path,
		    const char *key_path, int allow_key_perms,
		    struct tb_tlscert_info *info, char *msg, size_t msglen);
/* The current leaf's notAfter (Unix seconds), 0 when none is loaded. */
int64_t tb_tlscert_not_after(struct tb_tlscert *t);
/* Makes t the pair tb_tlscert_retrieve hands out (NULL: none). */
void tb_tlscert_install(struct tb_tlscert *t);
/* The gnutls_certificate_retrieve_function2 given to libmicrohttpd
 * (MHD_OPTION_HTTPS_CERT_CALLBACK): the installed current pair. */
int tb_tlscert_retrieve(gnutls_session_t s, const gnutls_datum_t *req_ca_dn,
			int nreqs, const gnutls_pk_algorithm_t *pk_algos,
			int pk_algos_length, gnutls_pcert_st **pcert,
			unsigned int *pcert_length, gnutls_privkey_t *pkey);
/* Frees every pair ever loaded. Only once no TLS session is left (after
 * the daemon stopped). Accepts NULL. */
void tb_tlscert_destroy(struct tb_tlscert *t);

/* "2026-03-01 12:00:00 UTC" into buf (32 bytes). */
const char *tb_tlscert_time(int64_t t, char *buf);

#endif
