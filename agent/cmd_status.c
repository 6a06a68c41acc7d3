/* cmd_status.c - `tienbo-agent status [--json]`: what waits to upload,
 * since when, and how the last sync went, at a glance.
 *
 * Called by tb_cli_main. Reads the store in one read transaction; needs no
 * network. The token is never printed (only whether it is set).
 */
#include "agent/cmd.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "agent/i18n.h"
#include "agent/opts.h"
#include "agent/store.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"

static const struct tb_agent_opt status_opts[] = {
	{ "json", 0, TB_OPT_FLAG, NULL, 0, 0, NULL,
	  N_("print the same as one JSON object") },
};

static const struct tb_cmd_spec status_spec = {
	"status", "[--json]",
	N_("Shows this device and school, how many event revisions are "
	"pending, sent\nor rejected, the bytes waiting, how old the oldest "
	"pending one is, and\nwhen the last sync was tried, when it last "
	"worked, and the last error\n(times in this computer's time zone).\n"
	"--json prints the same as one JSON object (keys device, "
	"school, server,\nevents, pending, sent, rejected, bytes_waiting, "
	"oldest_pending,\noldest_pending_age_s, last_seq, last_attempt, "
	"last_success, last_error,\nlast_error_at, link {batch_events, "
	"failed_tries, failed_passes,\nlast_progress, bytes_since_progress, "
	"failed_batch_events,\nfailed_batch_bytes, last_pass_link_bytes, "
	"last_pass_acked_bytes,\npaused_until}; times in UTC, null when "
	"there is none).\n"),
	status_opts, 1, 0, 0, NULL, NULL
};

/* "3 days", "5 hours", "12 minutes", "40 seconds". */
static const char *age(int64_t seconds, char *buf, size_t len)
{
	long long n;

	if (seconds < 0)
		seconds = 0;
	if ((n = seconds / 86400) > 0)
		snprintf(buf, len, P_("%lld day", "%lld days", n), n);
	else if ((n = seconds / 3600) > 0)
		snprintf(buf, len, P_("%lld hour", "%lld hours", n), n);
	else if ((n = seconds / 60) > 0)
		snprintf(buf, len, P_("%lld minute", "%lld minutes", n), n);
	else
		snprintf(buf, len, P_("%lld second", "%lld seconds", seconds),
			 (long long)seconds);
	return buf;
}

/* t in this machine's time zone, for people ("20/11/2025 14:16 +07" in
 * Vietnamese); the store and --json keep UTC. "never" for none. */
static const char *when(int64_t t, char *buf, size_t len)
{
	if (t <= 0) {
		snprintf(buf, len, "%s", _("never"));
		return buf;
	}
	return tb_i18n_time(t, buf, len);
}

/* The labels of the text form, in one column as wide as the widest. */
enum { L_DEVICE, L_SCHOOL, L_SERVER, L_TOKEN, L_CA, L_DATA, L_EVENTS,
       L_PENDING, L_SENT, L_REJECTED, L_ATTEMPT, L_SUCCESS, L_ERROR,
       L_BATCH, L_FAILING, L_FAILED_BATCH, L_PASS, L_PAUSED, L_COUNT };

static const char *const labels[L_COUNT] = {
	N_("device:"), N_("school:"), N_("server:"), N_("token:"),
	N_("ca_file:"), N_("data:"), N_("events:"), N_("pending:"),
	N_("sent:"), N_("rejected:"), N_("last attempt:"),
	N_("last success:"), N_("last error:"), N_("batch size:"),
	N_("failing:"), N_("failed batch:"), N_("last pass:"),
	N_("paused:"),
};

/* Characters of UTF-8 text (the columns it takes). */
static size_t columns(const char *s)
{
	size_t c = 0;

	for (; *s; s++)
		c += ((unsigned char)*s & 0xC0) != 0x80;
	return c;
}

/* Label l padded to the column (14 at least, as before translations),
 * then the rest of the line. */
static void __attribute__((format(printf, 2, 3)))
line(int l, const char *fmt, ...)
{
	static size_t width;
	const char *text = _(labels[l]);
	va_list ap;
	int i;

	if (width == 0) {
		width = 14;
		for (i = 0; i < L_COUNT; i++)
			if (columns(_(labels[i])) > width)
				width = columns(_(labels[i]));
	}
	printf("%s%*s ", text, (int)(width - columns(text)), "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* What the sync engine knows of the link (struct tb_link_state). */
static void print_link(const struct tb_link_state *l, int64_t now)
{
	char t[64], a[32], b[32], tries[64], passes[64];

	if (l->batch > 0)
		line(L_BATCH, P_("%lld event per upload (the size that last "
				 "worked: halved when the link breaks under an "
				 "upload, grown back as uploads work)\n",
				 "%lld events per upload (the size that last "
				 "worked: halved when the link breaks under an "
				 "upload, grown back as uploads work)\n",
				 l->batch),
		     (long long)l->batch);
	if (l->tries > 0 || l->passes > 0) {
		snprintf(tries, sizeof(tries),
			 P_("%lld failed try", "%lld failed tries", l->tries),
			 (long long)l->tries);
		snprintf(passes, sizeof(passes),
			 P_("%lld failed pass", "%lld failed passes",
			    l->passes),
			 (long long)l->passes);
		line(L_FAILING, _("%s and %s since the last progress (%s); %s "
				  "on the link since then\n"),
		     tries, passes, when(l->progress_at, t, sizeof(t)),
		     tb_size_text((uint64_t)l->waste, a, sizeof(a)));
		if (l->fail_events > 0)
			line(L_FAILED_BATCH,
			     P_("%lld event, %s\n", "%lld events, %s\n",
				l->fail_events),
			     (long long)l->fail_events,
			     tb_size_text((uint64_t)l->fail_bytes, a,
					  sizeof(a)));
	}
	if (l->pass_link > 0)
		line(L_PASS, _("%s on the link, %s of it acknowledged data\n"),
		     tb_size_text((uint64_t)l->pass_link, a, sizeof(a)),
		     tb_size_text((uint64_t)l->pass_acked, b, sizeof(b)));
	if (l->paused_until > now)
		line(L_PAUSED, _("until %s: %s spent on the link without "
				 "getting anything through (run --waste-kb)\n"),
		     when(l->paused_until, t, sizeof(t)),
		     tb_size_text((uint64_t)l->waste, a, sizeof(a)));
}

static void print_text(struct tb_cli *cli, const struct tb_store_status *st,
		       int64_t now)
{
	char t1[64], b[64], a[64];
	const char *ca = tb_config_get(cli->cfg, "ca_file");

	line(L_DEVICE, "%s\n", tb_store_device(cli->store));
	line(L_SCHOOL, "%s\n", tb_store_school(cli->store));
	line(L_SERVER, "%s\n", tb_config_get(cli->cfg, "server"));
	line(L_TOKEN, "%s\n", _("set"));
	if (ca && ca[0])
		line(L_CA, "%s\n", ca);
	line(L_DATA, "%s\n", cli->data_dir);
	line(L_EVENTS, "%lld\n", (long long)st->events);
	line(L_PENDING, "%lld", (long long)st->pending);
	if (st->pending > 0)
		printf(_(" (%s waiting; oldest recorded %s ago, at %s)"),
		       tb_size_text((uint64_t)st->pending_bytes, b, sizeof(b)),
		       age(now - st->oldest_pending, a, sizeof(a)),
		       when(st->oldest_pending, t1, sizeof(t1)));
	printf("\n");
	line(L_SENT, "%lld\n", (long long)st->sent);
	line(L_REJECTED, "%lld%s\n", (long long)st->rejected,
	     st->rejected ? _(" (see 'tienbo-agent list' and 'show ID' for "
			      "the server's reasons)")
			  : "");
	line(L_ATTEMPT, "%s\n", when(st->last_attempt, t1, sizeof(t1)));
	line(L_SUCCESS, "%s\n", when(st->last_success, t1, sizeof(t1)));
	if (st->last_error[0])
		line(L_ERROR, _("%s (at %s)\n"), st->last_error,
		     when(st->last_error_at, t1, sizeof(t1)));
	else
		line(L_ERROR, "%s\n", _("none"));
	print_link(&st->link, now);
}

static int add_time(cJSON *obj, const char *key, int64_t t)
{
	char buf[TB_TIME_LEN];

	if (t <= 0)
		return cJSON_AddNullToObject(obj, key) != NULL;
	return cJSON_AddStringToObject(obj, key, tb_time_format(t, buf)) !=
	       NULL;
}

/* The link state as "link": {...} (byte counts, times in UTC). */
static int add_link(cJSON *obj, const struct tb_link_state *l)
{
	cJSON *o = cJSON_AddObjectToObject(obj, "link");

	return o &&
	       cJSON_AddNumberToObject(o, "batch_events", (double)l->batch) &&
	       cJSON_AddNumberToObject(o, "failed_tries", (double)l->tries) &&
	       cJSON_AddNumberToObject(o, "failed_passes",
				       (double)l->passes) &&
	       add_time(o, "last_progress", l->progress_at) &&
	       cJSON_AddNumberToObject(o, "bytes_since_progress",
				       (double)l->waste) &&
	       cJSON_AddNumberToObject(o, "failed_batch_events",
				       (double)l->fail_events) &&
	       cJSON_AddNumberToObject(o, "failed_batch_bytes",
				       (double)l->fail_bytes) &&
	       cJSON_AddNumberToObject(o, "last_pass_link_bytes",
				       (double)l->pass_link) &&
	       cJSON_AddNumberToObject(o, "last_pass_acked_bytes",
				       (double)l->pass_acked) &&
	       add_time(o, "paused_until", l->paused_until);
}

static int print_json(struct tb_cli *cli, const struct tb_store_status *st,
		      int64_t now)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	int ok;

	ok = o && cJSON_AddStringToObject(o, "device",
					  tb_store_device(cli->store)) &&
	     cJSON_AddStringToObject(o, "school",
				     tb_store_school(cli->store)) &&
	     cJSON_AddStringToObject(o, "server",
				     tb_config_get(cli->cfg, "server")) &&
	     cJSON_AddStringToObject(o, "token", "set") &&
	     cJSON_AddStringToObject(o, "data_dir", cli->data_dir) &&
	     cJSON_AddNumberToObject(o, "events", (double)st->events) &&
	     cJSON_AddNumberToObject(o, "pending", (double)st->pending) &&
	     cJSON_AddNumberToObject(o, "sent", (double)st->sent) &&
	     cJSON_AddNumberToObject(o, "rejected", (double)st->rejected) &&
	     cJSON_AddNumberToObject(o, "bytes_waiting",
				     (double)st->pending_bytes) &&
	     add_time(o, "oldest_pending", st->oldest_pending) &&
	     (st->oldest_pending > 0
		      ? cJSON_AddNumberToObject(o, "oldest_pending_age_s",
						/* 0, as in the text, when
						 * the clock went back */
						(double)(now > st->oldest_pending
							 ? now - st->oldest_pending
							 : 0))
		      : cJSON_AddNullToObject(o, "oldest_pending_age_s")) &&
	     cJSON_AddNumberToObject(o, "last_seq", (double)st->last_seq) &&
	     add_time(o, "last_attempt", st->last_attempt) &&
	     add_time(o, "last_success", st->last_success) &&
	     (st->last_error[0]
		      ? cJSON_AddStringToObject(o, "last_error", st->last_error)
		      : cJSON_AddNullToObject(o, "last_error")) &&
	     add_time(o, "last_error_at", st->last_error_at) &&
	     add_link(o, &st->link) && (text = cJSON_Print(o));
	if (ok)
		printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(o);
	return ok ? TB_OK : TB_ENOMEM;
}

int tb_cmd_status(struct tb_cli *cli, int argc, char **argv)
{
	struct tb_agent_opt_val v[1];
	const char *args[TB_OPTS_ARGS_MAX];
	struct tb_store_status st;
	size_t nargs;
	int rc, json;

	rc = tb_opts_parse(cli, &status_spec, NULL, argc, argv, v, args,
			   &nargs);
	if (rc != TB_OK)
		return rc > 0 ? TB_OK : rc;
	json = v[0].set;
	rc = tb_cli_open_store(cli);
	if (rc != TB_OK)
		return rc;
	rc = tb_store_status(cli->store, &st);
	if (rc != TB_OK) {
		tb_cli_error(_("status: %s"), tb_store_errmsg(cli->store));
		return rc;
	}
	if (json)
		return print_json(cli, &st, tb_time_now());
	print_text(cli, &st, tb_time_now());
	return TB_OK;
}
