/* tlscert.c - the certificate and key of the server, checked and swapped
 * while serving (see tlscert.h).
 *
 * A pair is one gnutls_pcert_st chain and one gnutls_privkey_t; the
 * holder keeps a list of every pair loaded, newest first, and the head is
 * the current one. The list only grows (by one pair per successful
 * reload) so that no handshake or session ever sees a pair freed.
 */
#include "server/tlscert.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"

#define CHAIN_MAX 16
#define PEM_MAX (1024 * 1024)

struct pair {
	struct pair *older;
	gnutls_pcert_st chain[CHAIN_MAX];
	unsigned n;
	gnutls_privkey_t key;
	int64_t not_after;
};

struct tb_tlscert {
	pthread_mutex_t lock; /* guards head against the handshakes */
	struct pair *head;    /* the current pair; NULL before the first */
};

static struct tb_tlscert *installed;

static void pair_free(struct pair *p)
{
	unsigned i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		gnutls_pcert_deinit(&p->chain[i]);
	if (p->key)
		gnutls_privkey_deinit(p->key);
	tb_free(p);
}

int tb_tlscert_create(struct tb_tlscert **out)
{
	struct tb_tlscert *t = tb_calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return TB_ENOMEM;
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		tb_free(t);
		return TB_ENOMEM;
	}
	*out = t;
	return TB_OK;
}

const char *tb_tlscert_time(int64_t t, char *buf)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, 32, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

/* Reads a PEM file (at most PEM_MAX bytes) into *d (gnutls_free). The key
 * file's mode is checked on the descriptor read, not on the name. */
static int read_file(const char *what, const char *path, int key_rule,
		     gnutls_datum_t *d, char *msg, size_t msglen)
{
	struct stat st;
	ssize_t n;
	int fd, rc = TB_ECONFIG;

	d->data = NULL;
	d->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, msglen, "%s: cannot open %s: %s", what, path,
			 strerror(errno));
		return TB_ECONFIG;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > PEM_MAX) {
		snprintf(msg, msglen, "%s: %s is not a regular file of 1 byte to "
			 "1 MiB", what, path);
		goto out;
	}
	if (key_rule && ((st.st_mode & 007) ||
			 ((st.st_mode & 070) &&
			  (st.st_uid != 0 || (st.st_mode & 030))))) {
		snprintf(msg, msglen, "%s: %s can be read by others (mode %04o): "
			 "a private key must be 0600 (or 0640 owned by root); "
			 "chmod 600 %s, or set key_permissions = allow", what,
			 path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	d->data = gnutls_malloc((size_t)st.st_size + 1);
	if (!d->data) {
		rc = TB_ENOMEM;
		goto out;
	}
	n = read(fd, d->data, (size_t)st.st_size);
	if (n != (ssize_t)st.st_size) {
		snprintf(msg, msglen, "%s: cannot read %s", what, path);
		goto out;
	}
	d->data[n] = '\0';
	d->size = (unsigned)n;
	rc = TB_OK;
out:
	close(fd);
	if (rc < 0) {
		gnutls_free(d->data);
		d->data = NULL;
	}
	return rc;
}

/* The leaf's validity and subject; refuses one not valid now. */
static int leaf_check(const char *path, const gnutls_datum_t *der,
		      struct tb_tlscert_info *info, char *msg, size_t msglen)
{
	gnutls_x509_crt_t crt = NULL;
	size_t len = sizeof(info->subject);
	char a[32], b[32];
	time_t now = time(NULL);
	int rc = TB_ECONFIG;

	if (gnutls_x509_crt_init(&crt) < 0)
		return TB_ENOMEM;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
		snprintf(msg, msglen, "cert: %s: the certificate does not parse",
			 path);
		goto out;
	}
	info->not_before = gnutls_x509_crt_get_activation_time(crt);
	info->not_after = gnutls_x509_crt_get_expiration_time(crt);
	if (gnutls_x509_crt_get_dn(crt, info->subject, &len) < 0)
		info->subject[0] = '\0';
	if (info->not_after < (int64_t)now) {
		snprintf(msg, msglen, "cert: %s expired on %s (notAfter); every "
			 "school's connection would fail: renew it", path,
			 tb_tlscert_time(info->not_after, a));
		goto out;
	}
	if (info->not_before > (int64_t)now) {
		snprintf(msg, msglen, "cert: %s is not valid before %s "
			 "(notBefore; now %s): check the clock or the "
			 "certificate", path, tb_tlscert_time(info->not_before, a),
			 tb_tlscert_time((int64_t)now, b));
		goto out;
	}
	rc = TB_OK;
out:
	gnutls_x509_crt_deinit(crt);
	return rc;
}

/* 1 if key is the private half of the leaf's public key. */
static int key_matches(gnutls_privkey_t key, gnutls_pubkey_t leaf)
{
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);
	gnutls_pubkey_t pub = NULL;
	int ok = 0;

	if (gnutls_pubkey_init(&pub) < 0)
		return 0;
	if (gnutls_pubkey_import_privkey(pub, key, 0, 0) == 0 &&
	    gnutls_pubkey_get_key_id(pub, 0, a, &alen) == 0 &&
	    gnutls_pubkey_get_key_id(leaf, 0, b, &blen) == 0)
		ok = alen == blen && memcmp(a, b, alen) == 0;
	gnutls_pubkey_deinit(pub);
	return ok;
}

/* Builds a pair from the two files' text. */
static int pair_make(const char *cert_path, const gnutls_datum_t *cert,
		     const char *key_path, const gnutls_datum_t *keypem,
		     struct pair **out, struct tb_tlscert_info *info,
		     char *msg, size_t msglen)
{
	struct pair *p = tb_calloc(1, sizeof(*p));
	int rc = TB_ECONFIG;

	*out = NULL;
	if (!p)
		return TB_ENOMEM;
	p->n = CHAIN_MAX;
	if (gnutls_pcert_list_import_x509_raw(p->chain, &p->n, cert,
					      GNUTLS_X509_FMT_PEM, 0) < 0 ||
	    p->n == 0) {
		p->n = 0;
		snprintf(msg, msglen, "cert: %s holds no PEM certificate (or "
			 "more than %d)", cert_path, CHAIN_MAX);
		goto out;
	}
	rc = leaf_check(cert_path, &p->chain[0].cert, info, msg, msglen);
	if (rc < 0)
		goto out;
	rc = TB_ECONFIG;
	if (gnutls_privkey_init(&p->key) < 0) {
		rc = TB_ENOMEM;
		goto out;
	}
	if (gnutls_privkey_import_x509_raw(p->key, keypem, GNUTLS_X509_FMT_PEM,
					   NULL, 0) < 0) {
		snprintf(msg, msglen, "key: %s holds no PEM private key (or one "
			 "with a password)", key_path);
		goto out;
	}
	if (!key_matches(p->key, p->chain[0].pubkey)) {
		snprintf(msg, msglen, "key: %s is not the key of the certificate "
			 "in %s", key_path, cert_path);
		goto out;
	}
	p->not_after = info->not_after;
	*out = p;
	p = NULL;
	rc = TB_OK;
out:
	pair_free(p);
	return rc;
}

int tb_tlscert_load(struct tb_tlscert *t, const char *cert_path,
		    const char *key_path, int allow_key_perms,
		    struct tb_tlscert_info *info, char *msg, size_t msglen)
{
	gnutls_datum_t cert = { NULL, 0 }, key = { NULL, 0 };
	struct tb_tlscert_info own;
	struct pair *p = NULL;
	int rc;

	if (!info)
		info = &own;
	memset(info, 0, sizeof(*info));
	if (!cert_path || !key_path) {
		snprintf(msg, msglen, "%s: no file given (--%s FILE)",
			 cert_path ? "key" : "cert", cert_path ? "key" : "cert");
		return TB_ECONFIG;
	}
	rc = read_file("cert", cert_path, 0, &cert, msg, msglen);
	if (rc == TB_OK)
		rc = read_file("key", key_path, !allow_key_perms, &key, msg,
			       msglen);
	if (rc == TB_OK)
		rc = pair_make(cert_path, &cert, key_path, &key, &p, info, msg,
			       msglen);
	if (key.data)
		memset(key.data, 0, key.size);
	gnutls_free(key.data);
	gnutls_free(cert.data);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	info->changed = !t->head || t->head->chain[0].cert.size !=
					    p->chain[0].cert.size ||
			memcmp(t->head->chain[0].cert.data, p->chain[0].cert.data,
			       p->chain[0].cert.size) != 0;
	p->older = t->head;
	t->head = p;
	pthread_mutex_unlock(&t->lock);
	return TB_OK;
}

int64_t tb_tlscert_not_after(struct tb_tlscert *t)
{
	int64_t v;

	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	v = t->head ? t->head->not_after : 0;
	pthread_mutex_unlock(&t->lock);
	return v;
}

void tb_tlscert_install(struct tb_tlscert *t)
{
	installed = t;
}

int tb_tlscert_retrieve(gnutls_session_t s, const gnutls_datum_t *req_ca_dn,
			int nreqs, const gnutls_pk_algorithm_t *pk_algos,
			int pk_algos_length, gnutls_pcert_st **pcert,
			unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	struct tb_tlscert *t = installed;
	int rc = -1;

	(void)s;
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (!t)
		return -1;
	pthread_mutex_lock(&t->lock);
	if (t->head) {
		*pcert = t->head->chain;
		*pcert_length = t->head->n;
		*pkey = t->head->key;
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void tb_tlscert_destroy(struct tb_tlscert *t)
{
	struct pair *p, *older;

	if (!t)
		return;
	if (installed == t)
		installed = NULL;
	for (p = t->head; p; p = older) {
		older = p->older;
		pair_free(p);
	}
	pthread_mutex_destroy(&t->lock);
	tb_free(t);
}
