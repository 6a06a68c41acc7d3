/* cmd_sync.c - `tienbo-agent sync` (one pass, by hand) and `tienbo-agent
 * run` (the background loop), both over the sync engine (agent/sync.c).
 *
 * sync: on a terminal, a progress line on stderr after each batch (events
 * sent of total, bytes on the wire); always one summary line on stdout at
 * the end. Exit 0 when nothing is left waiting, 69 when the server could
 * not be reached (or stayed busy), with the reason; 78 when the server
 * refused the token or its certificate is not trusted.
 *
 * run: passes forever; after a pass that emptied the queue it waits
 * --interval seconds, after a failure it backs off exponentially with
 * jitter (up to --backoff-max-ms, longer if the server said Retry-After).
 * One log line per attempt on stderr. SIGTERM or SIGINT stop it between
 * batches (a batch in flight is finished and its acknowledgement applied
 * first); it then exits 0.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli.h"
#include "agent/cmd.h"
#include "agent/opts.h"
#include "agent/store.h"
#include "agent/sync.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/date.h"
#include "common/err.h"
#include "common/i18n.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct sync_args {
	struct tb_sync_opts o;
	long interval_s;
	int64_t waste_cap; /* bytes; 0: none */
	int quiet;
};

enum { O_BATCH, O_TRIES, O_BACKOFF, O_BACKOFF_MAX, O_TIMEOUT, O_STALL, O_QUIET,
       O_INTERVAL, O_WASTE, O_COUNT };

/* sync takes the rows before O_INTERVAL; run takes them all. */
static const struct tb_agent_opt sync_opts[O_COUNT] = {
	{ "batch", 0, TB_OPT_INT, "N", 1, TB_BATCH_MAX_EVENTS,
	  "1000", N_("events per batch") },
	{ "tries", 0, TB_OPT_INT, "N", 1, 100, "8",
	  N_("failed tries in a row before giving up") },
	{ "backoff-ms", 0, TB_OPT_INT, "N", 1, 3600000, "500",
	  N_("first wait before a retry, in milliseconds") },
	{ "backoff-max-ms", 0, TB_OPT_INT, "N", 1, 86400000, "60000",
	  N_("longest wait before a retry, in milliseconds") },
	{ "timeout", 0, TB_OPT_INT, "S", 1, 86400, "120",
	  N_("seconds a request may take") },
	{ "stall", 0, TB_OPT_INT, "S", 1, 3600, "30",
	  N_("seconds with no data moving before the link is taken as "
	     "down") },
	{ "quiet", 'q', TB_OPT_FLAG, NULL, 0, 0, NULL,
	  N_("no progress line") },
	{ "interval", 0, TB_OPT_INT, "S", 1, 86400, "300",
	  N_("seconds between passes when idle") },
	{ "waste-kb", 0, TB_OPT_INT, "KB", 0, 1048576, "2048",
	  N_("KB a day spent on the link without getting anything through, "
	     "then wait for the day to pass (0: no limit)") },
};

static const struct tb_cmd_spec sync_spec = {
	"sync", "[OPTIONS]",
	N_("Uploads every event still waiting, oldest first, in gzip batches "
	   "over HTTPS,\nresuming where the server's last acknowledgement "
	   "left off.\n"),
	sync_opts, O_INTERVAL, 0, 0, NULL, NULL
};

static const struct tb_cmd_spec run_spec = {
	"run", "[OPTIONS]",
	N_("Syncs in a loop: whenever events wait and the server answers; "
	   "backs off\nwhile offline; one log line per attempt. SIGTERM stops "
	   "it between batches.\n"),
	sync_opts, O_COUNT, 0, 0, NULL, NULL
};

/* 0, 1 when --help was answered, or TB_EUSAGE. */
static int parse_args(const struct tb_cmd_spec *spec, struct tb_cli *cli,
		      int argc, char **argv, struct sync_args *a)
{
	struct tb_agent_opt_val v[O_COUNT];
	const char *args[TB_OPTS_ARGS_MAX];
	size_t nargs;
	int rc;

	/* sync's table ends before O_INTERVAL: those rows stay unset */
	memset(v, 0, sizeof(v));
	rc = tb_opts_parse(cli, spec, NULL, argc, argv, v, args, &nargs);
	if (rc != TB_OK)
		return rc;
	if (v[O_BATCH].set)
		a->o.batch_events = (size_t)v[O_BATCH].num;
	if (v[O_TRIES].set)
		a->o.max_tries = (int)v[O_TRIES].num;
	if (v[O_BACKOFF].set)
		a->o.backoff_base_ms = v[O_BACKOFF].num;
	if (v[O_BACKOFF_MAX].set)
		a->o.backoff_max_ms = v[O_BACKOFF_MAX].num;
	if (v[O_TIMEOUT].set)
		a->o.timeout_ms = v[O_TIMEOUT].num * 1000;
	if (v[O_STALL].set)
		a->o.stall_secs = v[O_STALL].num;
	a->quiet = v[O_QUIET].set;
	a->interval_s = v[O_INTERVAL].set ? v[O_INTERVAL].num : 300;
	a->waste_cap = (v[O_WASTE].set ? v[O_WASTE].num : 2048) * 1024;
	return TB_OK;
}

static void progress(void *arg, const struct tb_sync_stats *st)
{
	char link[32];

	(void)arg;
	fprintf(stderr, "\r");
	fprintf(stderr, P_("sent %lld of %lld event, %s on the link ",
			   "sent %lld of %lld events, %s on the link ",
			   st->total),
		(long long)st->sent, (long long)st->total,
		tb_size_text(st->link_bytes, link, sizeof(link)));
}

/* One line: what got through, what it cost on the link (handshakes,
 * headers and failed tries included), what still waits. */
static void summary(FILE *out, const struct tb_sync_stats *st)
{
	char up[32], raw[32], link[32], batches[48], tries[48];

	snprintf(batches, sizeof(batches),
		 P_("%lld batch", "%lld batches", st->batches),
		 (long long)st->batches);
	snprintf(tries, sizeof(tries),
		 P_("%lld try failed", "%lld tries failed", st->failed_tries),
		 (long long)st->failed_tries);
	fprintf(out,
		_("sync: %lld sent (%lld already held, %lld rejected) in %s, "
		  "%s acknowledged (%s of JSON); %s on the link, %s, %lld "
		  "still waiting\n"),
		(long long)st->sent, (long long)st->duplicates,
		(long long)st->rejected, batches,
		tb_size_text(st->bytes_up, up, sizeof(up)),
		tb_size_text(st->bytes_raw, raw, sizeof(raw)),
		tb_size_text(st->link_bytes, link, sizeof(link)), tries,
		(long long)st->remaining);
}

static void setup(struct tb_cli *cli, struct sync_args *a)
{
	const char *ca = tb_config_get(cli->cfg, "ca_file");

	a->o.server = tb_config_get(cli->cfg, "server");
	a->o.token = tb_config_get(cli->cfg, "token");
	a->o.ca_file = ca && *ca ? ca : NULL;
	a->o.stop = &stop_flag;
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* What sync and run do first: options, the store, the server's settings.
 * 0; > 0 after --help; < 0 an error (already said). */
static int begin(const struct tb_cmd_spec *spec, struct tb_cli *cli,
		 int argc, char **argv, struct sync_args *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	rc = parse_args(spec, cli, argc, argv, a);
	if (rc)
		return rc;
	rc = tb_cli_open_store(cli);
	if (rc)
		return rc;
	setup(cli, a);
	return 0;
}

int tb_cmd_sync(struct tb_cli *cli, int argc, char **argv)
{
	struct sync_args a;
	struct tb_sync_stats st;
	char msg[TB_MSG_LEN * 2];
	int rc;

	rc = begin(&sync_spec, cli, argc, argv, &a);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (!a.quiet && isatty(STDERR_FILENO))
		a.o.progress = progress;
	catch_signals();
	rc = tb_sync_pass(cli->store, &a.o, &st, msg, sizeof(msg));
	if (a.o.progress && st.batches)
		fputc('\n', stderr);
	summary(stdout, &st);
	if (rc)
		tb_cli_error(_("sync: %s"), msg);
	return rc;
}

/* run's byte cap: once the link has eaten waste_cap bytes since the last
 * progress, within a day, run waits for that day to pass (the store's
 * link_paused_until says so to `status`). 0 to go on; else the wait. */
static long paused_ms(struct tb_cli *cli, const struct sync_args *a)
{
	struct tb_link_state l;
	int64_t now = tb_time_now();
	char t[TB_TIME_LEN], t2[TB_TIME_LEN], used[32];

	if (tb_store_link_load(cli->store, &l) != TB_OK)
		return 0;
	if (l.waste_since + 86400 <= now || a->waste_cap <= 0 ||
	    l.waste < a->waste_cap) {
		if (l.waste_since + 86400 <= now || l.paused_until) {
			l.waste = l.paused_until = 0;
			l.waste_since = now;
			tb_store_link_save(cli->store, &l);
		}
		return 0;
	}
	if (l.paused_until != l.waste_since + 86400) {
		l.paused_until = l.waste_since + 86400;
		tb_store_link_save(cli->store, &l);
		fprintf(stderr,
			_("%s run: %s spent on the link without getting "
			  "anything through since %s (--waste-kb); waiting a "
			  "day from then\n"),
			tb_time_format(now, t),
			tb_size_text((uint64_t)l.waste, used, sizeof(used)),
			tb_time_format(l.waste_since, t2));
		fflush(stderr);
	}
	return (long)(l.paused_until - now) * 1000;
}

/* One pass of run and its log line; the wait before the next. */
static long run_pass(struct tb_cli *cli, struct sync_args *a, int *failures)
{
	struct tb_sync_stats st;
	char msg[TB_MSG_LEN * 2], now[TB_TIME_LEN];
	long wait_ms;
	int rc = tb_sync_pass(cli->store, &a->o, &st, msg, sizeof(msg));

	tb_time_format(tb_time_now(), now);
	if (rc == 0) {
		*failures = 0;
		fprintf(stderr, "%s ", now);
		summary(stderr, &st);
		return st.remaining > 0 ? 0 : a->interval_s * 1000;
	}
	(*failures)++;
	wait_ms = tb_sync_backoff_ms(
		*failures,
		a->o.backoff_base_ms ? a->o.backoff_base_ms * 4 : 5000,
		a->o.backoff_max_ms ? a->o.backoff_max_ms : 15 * 60 * 1000L,
		-1);
	fprintf(stderr, _("%s sync failed: %s; %lld still waiting; next try "
			  "in %ld s\n"),
		now, msg, (long long)st.remaining, wait_ms / 1000);
	return wait_ms;
}

int tb_cmd_run(struct tb_cli *cli, int argc, char **argv)
{
	struct sync_args a;
	struct tb_http *client = NULL;
	int failures = 0, rc;

	rc = begin(&run_spec, cli, argc, argv, &a);
	if (rc)
		return rc > 0 ? 0 : rc;
	/* one connection and TLS session across passes while the link
	 * holds */
	a.o.keep = &client;
	catch_signals();
	while (!stop_flag) {
		long wait_ms = paused_ms(cli, &a);

		if (wait_ms == 0)
			wait_ms = run_pass(cli, &a, &failures);
		fflush(stderr);
		if (tb_sync_sleep(wait_ms, &stop_flag))
			break;
	}
	tb_sync_client_free(client);
	fprintf(stderr, "%s", _("tienbo-agent run: stopped\n"));
	return 0;
}
