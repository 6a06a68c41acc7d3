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
#include "common/config.h"
#include "common/date.h"
#include "common/err.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct sync_args {
	struct tb_sync_opts o;
	long interval_s;
	int quiet;
};

enum { O_BATCH, O_TRIES, O_BACKOFF, O_BACKOFF_MAX, O_TIMEOUT, O_QUIET,
       O_INTERVAL, O_COUNT };

/* sync takes every row but the last; run takes them all. */
static const struct tb_agent_opt sync_opts[O_COUNT] = {
	{ "batch", 0, TB_OPT_INT, "N", 1, TB_BATCH_MAX_EVENTS,
	  "1000", "events per batch" },
	{ "tries", 0, TB_OPT_INT, "N", 1, 100, "5",
	  "tries per request before giving up" },
	{ "backoff-ms", 0, TB_OPT_INT, "N", 1, 3600000, "500",
	  "first wait before a retry, in milliseconds" },
	{ "backoff-max-ms", 0, TB_OPT_INT, "N", 1, 86400000, "60000",
	  "longest wait before a retry, in milliseconds" },
	{ "timeout", 0, TB_OPT_INT, "S", 1, 86400, "120",
	  "seconds a request may take" },
	{ "quiet", 'q', TB_OPT_FLAG, NULL, 0, 0, NULL, "no progress line" },
	{ "interval", 0, TB_OPT_INT, "S", 1, 86400, "300",
	  "seconds between passes when idle" },
};

static const struct tb_cmd_spec sync_spec = {
	"sync", "[OPTIONS]",
	"Uploads every event still waiting, oldest first, in gzip batches "
	"over HTTPS,\nresuming where the server's last acknowledgement left "
	"off.\n",
	sync_opts, O_COUNT - 1, 0, 0, NULL, NULL
};

static const struct tb_cmd_spec run_spec = {
	"run", "[OPTIONS]",
	"Syncs in a loop: whenever events wait and the server answers; backs "
	"off\nwhile offline; one log line per attempt. SIGTERM stops it "
	"between batches.\n",
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

	/* sync's table ends before O_INTERVAL: that row stays unset */
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
	a->quiet = v[O_QUIET].set;
	a->interval_s = v[O_INTERVAL].set ? v[O_INTERVAL].num : 300;
	return TB_OK;
}

static void progress(void *arg, const struct tb_sync_stats *st)
{
	(void)arg;
	fprintf(stderr, "\rsent %" PRId64 " of %" PRId64
		" events, %.1f KB on the wire ",
		st->sent, st->total, (double)st->bytes_up / 1024.0);
}

static void summary(FILE *out, const struct tb_sync_stats *st)
{
	fprintf(out,
		"sync: %" PRId64 " sent (%" PRId64 " already held, %" PRId64
		" rejected) in %" PRId64 " batch%s, %.1f KB on the wire "
		"(%.1f KB of JSON), %" PRId64 " still waiting\n",
		st->sent, st->duplicates, st->rejected, st->batches,
		st->batches == 1 ? "" : "es", (double)st->bytes_up / 1024.0,
		(double)st->bytes_raw / 1024.0, st->remaining);
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

int tb_cmd_sync(struct tb_cli *cli, int argc, char **argv)
{
	struct sync_args a;
	struct tb_sync_stats st;
	char msg[TB_MSG_LEN * 2];
	int rc;

	memset(&a, 0, sizeof(a));
	rc = parse_args(&sync_spec, cli, argc, argv, &a);
	if (rc)
		return rc > 0 ? 0 : rc;
	rc = tb_cli_open_store(cli);
	if (rc)
		return rc;
	setup(cli, &a);
	if (!a.quiet && isatty(STDERR_FILENO))
		a.o.progress = progress;
	catch_signals();
	rc = tb_sync_pass(cli->store, &a.o, &st, msg, sizeof(msg));
	if (a.o.progress && st.batches)
		fputc('\n', stderr);
	summary(stdout, &st);
	if (rc)
		tb_cli_error("sync: %s", msg);
	return rc;
}

int tb_cmd_run(struct tb_cli *cli, int argc, char **argv)
{
	struct sync_args a;
	int failures = 0, rc;

	memset(&a, 0, sizeof(a));
	rc = parse_args(&run_spec, cli, argc, argv, &a);
	if (rc)
		return rc > 0 ? 0 : rc;
	rc = tb_cli_open_store(cli);
	if (rc)
		return rc;
	setup(cli, &a);
	catch_signals();
	while (!stop_flag) {
		struct tb_sync_stats st;
		char msg[TB_MSG_LEN * 2], now[TB_TIME_LEN];
		long wait_ms;

		rc = tb_sync_pass(cli->store, &a.o, &st, msg, sizeof(msg));
		tb_time_format(tb_time_now(), now);
		if (rc == 0) {
			failures = 0;
			fprintf(stderr, "%s ", now);
			summary(stderr, &st);
			wait_ms = st.remaining > 0 ? 0 : a.interval_s * 1000;
		} else {
			failures++;
			wait_ms = tb_sync_backoff_ms(
				failures,
				a.o.backoff_base_ms ? a.o.backoff_base_ms * 4
						    : 5000,
				a.o.backoff_max_ms ? a.o.backoff_max_ms
						   : 15 * 60 * 1000L,
				-1);
			fprintf(stderr,
				"%s sync failed: %s; %" PRId64
				" still waiting; next try in %ld s\n",
				now, msg, st.remaining, wait_ms / 1000);
		}
		fflush(stderr);
		if (tb_sync_sleep(wait_ms, &stop_flag))
			break;
	}
	fprintf(stderr, "tienbo-agent run: stopped\n");
	return 0;
}
