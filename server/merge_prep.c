/* merge_prep.c - a batch's JSON bodies and content hashes, before the
 * write lock (see merge_prep.h for the hash's layout). Called by
 * server/upload.c and server/merge.c.
 *
 * A batch of PREP_SPLIT_MIN events or more is split in two halves, the
 * second on a helper thread, when the machine has a second core: the
 * batch's handler waits for this, and the other core is mostly idle
 * meanwhile.
 */
#include "server/merge_prep.h"

#include <cjson/cJSON.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/date.h"
#include "common/err.h"
#include "common/event.h"
#include "common/mem.h"
#include "server/evrow.h"

#define HASH_LEN TB_MERGE_HASH_LEN
#define PREP_SPLIT_MIN 256 /* events before prepare uses a second thread */

/* The content is gathered in a buffer and hashed a buffer at a time. */
struct hasher {
	gnutls_hash_hd_t h;
	size_t used;
	char buf[4096];
};

static void hash_bytes(struct hasher *x, const char *p, size_t n)
{
	if (x->used + n > sizeof(x->buf)) {
		gnutls_hash(x->h, x->buf, x->used);
		x->used = 0;
	}
	if (n > sizeof(x->buf)) {
		gnutls_hash(x->h, p, n);
		return;
	}
	memcpy(x->buf + x->used, p, n);
	x->used += n;
}

/* One item: its length in decimal, ':', its bytes. */
static void hash_item_n(struct hasher *x, const char *s, size_t n)
{
	char num[24];
	size_t k = sizeof(num), v = n;

	num[--k] = ':';
	do
		num[--k] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	hash_bytes(x, num + k, sizeof(num) - k);
	hash_bytes(x, s, n);
}

static void hash_item(struct hasher *x, const char *s)
{
	hash_item_n(x, s, strlen(s));
}

/* An integer as its decimal text (what "%lld" prints). */
static void hash_int(struct hasher *x, int64_t v)
{
	char num[24];
	size_t k = sizeof(num);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do
		num[--k] = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (v < 0)
		num[--k] = '-';
	hash_item_n(x, num + k, sizeof(num) - k);
}

/* x->h is initialised by the caller and left reset for the next event. */
static void content_hash(struct hasher *x, const struct tb_event *e,
			 unsigned char *out)
{
	char buf[TB_TEXT_MAX * 2 + 64], date[TB_DATE_LEN];
	const struct tb_field *f;
	size_t nf, i;

	x->used = 0;
	hash_item(x, e->id);
	hash_item(x, e->school);
	hash_item(x, tb_kind_name(e->kind));
	hash_item(x, tb_date_format(e->date, date));
	hash_int(x, e->revision);
	hash_item(x, e->voided ? "1" : "0");
	hash_item(x, e->void_reason ? e->void_reason : "");
	f = tb_kind_fields(e->kind, &nf);
	for (i = 0; f && i < nf; i++) {
		hash_item(x, f[i].name);
		if (!e->v[i].set)
			hash_item(x, "-");
		else if (f[i].type == TB_FT_COUNT) /* tb_event_get's text */
			hash_int(x, e->v[i].n);
		else
			hash_item(x, tb_event_get(e, (int)i, buf, sizeof(buf)));
	}
	gnutls_hash(x->h, x->buf, x->used);
	gnutls_hash_output(x->h, out); /* also resets the state */
}

/* The event's fields as stored (server/evrow.h; tb_free) and its
 * content hash. */
static int event_serialise(struct hasher *x, const struct tb_event *e,
			   char **fields, unsigned char hash[HASH_LEN])
{
	struct tb_buf b = TB_BUF_INIT;

	*fields = NULL;
	if (tb_evrow_fields(e, &b) < 0 || !b.p) {
		tb_buf_free(&b);
		return TB_ENOMEM;
	}
	*fields = b.p;
	content_hash(x, e, hash);
	return TB_OK;
}

/* Events carry school and device only when they differ from the batch's
 * (never, from a correct agent); fill them in from the envelope. */
void tb_merge_batch_fill(struct tb_batch *b)
{
	size_t i;

	for (i = 0; i < b->count; i++) {
		struct tb_event *e = &b->items[i].ev;

		if (!e->school[0])
			snprintf(e->school, sizeof(e->school), "%s", b->school);
		if (!e->device[0])
			snprintf(e->device, sizeof(e->device), "%s", b->device);
	}
}

void tb_merge_prep_clear(struct tb_merge_prep *prep)
{
	size_t i;

	for (i = 0; prep->fields && i < prep->n; i++)
		tb_free(prep->fields[i]);
	tb_free(prep->fields);
	tb_free(prep->hash);
	memset(prep, 0, sizeof(*prep));
}

/* Bodies and hashes of items [from, to) of a batch. */
struct prep_part {
	struct tb_batch *b;
	struct tb_merge_prep *prep;
	size_t from, to;
	int rc;
};

static void *prep_range(void *arg)
{
	struct prep_part *pp = arg;
	struct hasher *x = tb_malloc(sizeof(*x));
	int rc = TB_ENOMEM;

	if (x && gnutls_hash_init(&x->h, GNUTLS_DIG_SHA256) >= 0) {
		rc = TB_OK;
		for (size_t i = pp->from; rc == TB_OK && i < pp->to; i++)
			if (!pp->b->items[i].error)
				rc = event_serialise(x, &pp->b->items[i].ev,
						     &pp->prep->fields[i],
						     pp->prep->hash +
							     i * HASH_LEN);
		gnutls_hash_deinit(x->h, NULL);
	}
	tb_free(x);
	pp->rc = rc;
	return NULL;
}

static long prep_cpus;
static pthread_once_t prep_cpus_once = PTHREAD_ONCE_INIT;

static void prep_cpus_count(void)
{
	prep_cpus = sysconf(_SC_NPROCESSORS_ONLN);
}

/* Whether a second thread is worth starting for a batch of n. */
static int prep_split(size_t n)
{
	if (n < PREP_SPLIT_MIN)
		return 0;
	pthread_once(&prep_cpus_once, prep_cpus_count);
	return prep_cpus > 1;
}

int tb_merge_prepare(struct tb_batch *b, struct tb_merge_prep *prep)
{
	struct prep_part part[2];
	pthread_t helper;
	int rc = TB_OK, split;

	memset(prep, 0, sizeof(*prep));
	prep->after = -1;
	tb_merge_batch_fill(b);
	prep->fields = tb_calloc(b->count ? b->count : 1,
				 sizeof(*prep->fields));
	prep->hash = tb_calloc(b->count ? b->count : 1, HASH_LEN);
	prep->n = b->count;
	if (!prep->fields || !prep->hash) {
		rc = TB_ENOMEM;
		goto out;
	}
	/* Half on a second thread: the batch handler waits for this, and
	 * the other core is mostly idle meanwhile. */
	split = prep_split(b->count);
	for (int k = 0; k < 2; k++) {
		part[k].b = b;
		part[k].prep = prep;
		part[k].from = split && k ? b->count / 2 : 0;
		part[k].to = split && !k ? b->count / 2 : b->count;
		part[k].rc = TB_OK;
	}
	if (split && pthread_create(&helper, NULL, prep_range, &part[1]) != 0)
		split = 0;
	if (!split)
		part[0].to = b->count;
	prep_range(&part[0]);
	if (split)
		pthread_join(helper, NULL);
	rc = part[0].rc < 0 ? part[0].rc : split ? part[1].rc : TB_OK;
out:
	if (rc < 0)
		tb_merge_prep_clear(prep);
	return rc;
}
