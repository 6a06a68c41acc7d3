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
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli.h"
#include "agent/cmd.h"
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

static int parse_long(const char *cmd, const char *opt, const char *s,
		      long min, long max, long *out)
{
	char *end = NULL;
	long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		goto bad;
	v = strtol(s, &end, 10);
	if (*end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	tb_cli_error("%s: --%s must be a whole number from %ld to %ld (got '%s')",
		     cmd, opt, min, max, s ? s : "");
	return TB_EUSAGE;
}

static void usage(FILE *out, const char *cmd)
{
	int run = strcmp(cmd, "run") == 0;

	fprintf(out,
		"Usage: tienbo-agent %s [OPTIONS]\n\n%s\n\nOptions:\n"
		"  --batch N           events per batch (1-%d, default 1000)\n"
		"  --tries N           tries per request before giving up "
		"(1-100, default 5)\n"
		"  --backoff-ms N      first wait before a retry (default 500)\n"
		"  --backoff-max-ms N  longest wait before a retry (default "
		"60000)\n"
		"  --timeout S         seconds a request may take (default 120)\n"
		"%s"
		"  -q, --quiet         no progress line\n"
		"  --help              this text\n",
		cmd,
		run ? "Syncs in a loop: whenever events wait and the server "
		      "answers; backs off\nwhile offline; one log line per "
		      "attempt. SIGTERM stops it between batches."
		    : "Uploads every event still waiting, oldest first, in "
		      "gzip batches over HTTPS,\nresuming where the server's "
		      "last acknowledgement left off.",
		TB_BATCH_MAX_EVENTS,
		run ? "  --interval S        seconds between passes when idle "
		      "(default 300)\n"
		    : "");
}

static int parse_args(const char *cmd, int argc, char **argv,
		      struct sync_args *a)
{
	static const struct option opts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "tries", required_argument, NULL, 't' },
		{ "backoff-ms", required_argument, NULL, 'B' },
		{ "backoff-max-ms", required_argument, NULL, 'M' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "interval", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int run = strcmp(cmd, "run") == 0;
	long v;
	int c;

	a->interval_s = 300;
	while ((c = getopt_long(argc, argv, ":q", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_long(cmd, "batch", optarg, 1,
				       TB_BATCH_MAX_EVENTS, &v))
				return TB_EUSAGE;
			a->o.batch_events = (size_t)v;
			break;
		case 't':
			if (parse_long(cmd, "tries", optarg, 1, 100, &v))
				return TB_EUSAGE;
			a->o.max_tries = (int)v;
			break;
		case 'B':
			if (parse_long(cmd, "backoff-ms", optarg, 1, 3600000,
				       &a->o.backoff_base_ms))
				return TB_EUSAGE;
			break;
		case 'M':
			if (parse_long(cmd, "backoff-max-ms", optarg, 1,
				       86400000, &a->o.backoff_max_ms))
				return TB_EUSAGE;
			break;
		case 'T':
			if (parse_long(cmd, "timeout", optarg, 1, 86400, &v))
				return TB_EUSAGE;
			a->o.timeout_ms = v * 1000;
			break;
		case 'i':
			if (!run)
				return tb_cli_bad_option(cmd, argv, optind, '?');
			if (parse_long(cmd, "interval", optarg, 1, 86400,
				       &a->interval_s))
				return TB_EUSAGE;
			break;
		case 'q':
			a->quiet = 1;
			break;
		case 'h':
			usage(stdout, cmd);
			return 1;
		default:
			return tb_cli_bad_option(cmd, argv, optind, c);
		}
	}
	if (optind < argc) {
		tb_cli_error("%s: unexpected argument '%s'", cmd, argv[optind]);
		return TB_EUSAGE;
	}
	return 0;
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
	rc = parse_args("sync", argc, argv, &a);
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
	rc = parse_args("run", argc, argv, &a);
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
