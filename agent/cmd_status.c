/* cmd_status.c - `tienbo-agent status [--json]`: what waits to upload,
 * since when, and how the last sync went, at a glance.
 *
 * Called by tb_cli_main. Reads the store in one read transaction; needs no
 * network. The token is never printed (only whether it is set).
 */
#include "agent/cmd.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "agent/opts.h"
#include "agent/store.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/date.h"
#include "common/err.h"

static const struct tb_agent_opt status_opts[] = {
	{ "json", 0, TB_OPT_FLAG, NULL, 0, 0, NULL,
	  "print the same as one JSON object" },
};

static const struct tb_cmd_spec status_spec = {
	"status", "[--json]",
	"Shows this device and school, how many event revisions are pending, "
	"sent\nor rejected, the bytes waiting, how old the oldest pending one "
	"is, and\nwhen the last sync was tried, when it last worked, and the "
	"last error.\n--json prints the same as one JSON object (keys device, "
	"school, server,\nevents, pending, sent, rejected, bytes_waiting, "
	"oldest_pending,\noldest_pending_age_s, last_seq, last_attempt, "
	"last_success, last_error,\nlast_error_at, link {batch_events, "
	"failed_tries, failed_passes,\nlast_progress, bytes_since_progress, "
	"failed_batch_events,\nfailed_batch_bytes, last_pass_link_bytes, "
	"last_pass_acked_bytes,\npaused_until}; times in UTC, null when "
	"there is none).\n",
	status_opts, 1, 0, 0, NULL, NULL
};

/* "3 days", "5 hours", "12 minutes", "40 seconds". */
static const char *age(int64_t seconds, char *buf, size_t len)
{
	static const struct {
		int64_t unit;
		const char *name;
	} units[] = { { 86400, "day" }, { 3600, "hour" }, { 60, "minute" },
		      { 1, "second" } };
	size_t i;
	int64_t n;

	if (seconds < 0)
		seconds = 0;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		n = seconds / units[i].unit;
		if (n > 0 || units[i].unit == 1) {
			snprintf(buf, len, "%lld %s%s", (long long)n,
				 units[i].name, n == 1 ? "" : "s");
			break;
		}
	}
	return buf;
}

static const char *when(int64_t t, char *buf)
{
	if (t <= 0) {
		snprintf(buf, TB_TIME_LEN, "never");
		return buf;
	}
	return tb_time_format(t, buf);
}

/* What the sync engine knows of the link (struct tb_link_state). */
static void print_link(const struct tb_link_state *l, int64_t now)
{
	char t[TB_TIME_LEN], a[32], b[32];

	if (l->batch > 0)
		printf("%-14s %lld events per upload (the size that last "
		       "worked: halved when the link breaks under an upload, "
		       "grown back as uploads work)\n",
		       "batch size:", (long long)l->batch);
	if (l->tries > 0 || l->passes > 0) {
		printf("%-14s %lld failed tr%s and %lld failed pass%s since "
		       "the last progress (%s); %s on the link since then\n",
		       "failing:", (long long)l->tries,
		       l->tries == 1 ? "y" : "ies", (long long)l->passes,
		       l->passes == 1 ? "" : "es", when(l->progress_at, t),
		       tb_size_text((uint64_t)l->waste, a, sizeof(a)));
		if (l->fail_events > 0)
			printf("%-14s %lld events, %s\n", "failed batch:",
			       (long long)l->fail_events,
			       tb_size_text((uint64_t)l->fail_bytes, a,
					    sizeof(a)));
	}
	if (l->pass_link > 0)
		printf("%-14s %s on the link, %s of it acknowledged data\n",
		       "last pass:",
		       tb_size_text((uint64_t)l->pass_link, a, sizeof(a)),
		       tb_size_text((uint64_t)l->pass_acked, b, sizeof(b)));
	if (l->paused_until > now)
		printf("%-14s until %s: %s spent on the link without getting "
		       "anything through (run --waste-kb)\n",
		       "paused:", tb_time_format(l->paused_until, t),
		       tb_size_text((uint64_t)l->waste, a, sizeof(a)));
}

static void print_text(struct tb_cli *cli, const struct tb_store_status *st,
		       int64_t now)
{
	char t1[TB_TIME_LEN], b[64], a[64];
	const char *ca = tb_config_get(cli->cfg, "ca_file");

	printf("%-14s %s\n", "device:", tb_store_device(cli->store));
	printf("%-14s %s\n", "school:", tb_store_school(cli->store));
	printf("%-14s %s\n", "server:", tb_config_get(cli->cfg, "server"));
	printf("%-14s %s\n", "token:", "set");
	if (ca && ca[0])
		printf("%-14s %s\n", "ca_file:", ca);
	printf("%-14s %s\n", "data:", cli->data_dir);
	printf("%-14s %lld\n", "events:", (long long)st->events);
	printf("%-14s %lld", "pending:", (long long)st->pending);
	if (st->pending > 0)
		printf(" (%s waiting; oldest recorded %s ago, at %s)",
		       tb_size_text((uint64_t)st->pending_bytes, b, sizeof(b)),
		       age(now - st->oldest_pending, a, sizeof(a)),
		       tb_time_format(st->oldest_pending, t1));
	printf("\n%-14s %lld\n", "sent:", (long long)st->sent);
	printf("%-14s %lld%s\n", "rejected:", (long long)st->rejected,
	       st->rejected ? " (see 'tienbo-agent list' and 'show ID' for "
			      "the server's reasons)"
			    : "");
	printf("%-14s %s\n", "last attempt:", when(st->last_attempt, t1));
	printf("%-14s %s\n", "last success:", when(st->last_success, t1));
	if (st->last_error[0])
		printf("%-14s %s (at %s)\n", "last error:", st->last_error,
		       when(st->last_error_at, t1));
	else
		printf("%-14s %s\n", "last error:", "none");
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
		tb_cli_error("status: %s", tb_store_errmsg(cli->store));
		return rc;
	}
	if (json)
		return print_json(cli, &st, tb_time_now());
	print_text(cli, &st, tb_time_now());
	return TB_OK;
}
