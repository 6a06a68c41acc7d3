/* helper_link.c - tb-faultproxy as a bad link for tests (helper_link.h). */
#include "tests/helper_link.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int parse(const char *text, struct helper_link_stats *st)
{
	return sscanf(text,
		      "connections %lld cut %lld bytes %lld up %lld down %lld "
		      "handshake_bytes %lld handshakes %lld open %lld dropped "
		      "%lld",
		      &st->conns, &st->cuts, &st->bytes, &st->up, &st->down,
		      &st->hs_bytes, &st->handshakes, &st->open,
		      &st->dropped) == 9
		       ? 0
		       : -1;
}

int helper_link_start(struct helper_link *l, unsigned port, const char *dir,
		      const char *const *args, long max_seconds)
{
	const char *argv[40];
	char target[32], port_file[400], max_s[32];
	char *text = NULL;
	long long t0;
	size_t n = 0;

	memset(l, 0, sizeof(*l));
	snprintf(target, sizeof(target), "127.0.0.1:%u", port);
	snprintf(port_file, sizeof(port_file), "%s/link.port", dir);
	snprintf(l->stats, sizeof(l->stats), "%s/link.stats", dir);
	snprintf(max_s, sizeof(max_s), "%ld", max_seconds ? max_seconds : 600);
	remove(port_file);
	argv[n++] = TB_FAULTPROXY_BIN;
	argv[n++] = "--target";
	argv[n++] = target;
	argv[n++] = "--port-file";
	argv[n++] = port_file;
	argv[n++] = "--stats-file";
	argv[n++] = l->stats;
	argv[n++] = "--max-seconds";
	argv[n++] = max_s;
	while (args && *args && n < sizeof(argv) / sizeof(argv[0]) - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (helper_proc_bg_start(&l->bg, argv, NULL, dir, "link"))
		return -1;
	for (t0 = helper_proc_now_ms(); !text && helper_proc_now_ms() - t0 < 10000;) {
		text = helper_proc_read_file(port_file, NULL);
		if (!text) {
			if (!helper_proc_bg_running(&l->bg))
				break;
			helper_proc_sleep_ms(20);
		}
	}
	if (!text) {
		fprintf(stderr, "helper_link: no port file %s from "
				"tb-faultproxy within 10 s (see %s)\n",
			port_file, l->bg.err_path);
		helper_proc_bg_signal(&l->bg, SIGKILL);
		return -1;
	}
	snprintf(l->url, sizeof(l->url), "https://127.0.0.1:%ld",
		 strtol(text, NULL, 10));
	free(text);
	return 0;
}

int helper_link_stats(const struct helper_link *l,
		      struct helper_link_stats *st, long timeout_ms)
{
	long long t0 = helper_proc_now_ms();

	for (;;) {
		char *text = helper_proc_read_file(l->stats, NULL);
		int ok = text && parse(text, st) == 0;

		free(text);
		if (ok && st->open == 0)
			return 0;
		if (helper_proc_now_ms() - t0 >= timeout_ms) {
			fprintf(stderr, "helper_link: still %lld connection(s) "
					"open on the link after %ld ms (%s)\n",
				ok ? st->open : -1LL, timeout_ms, l->stats);
			return -1;
		}
		helper_proc_sleep_ms(20);
	}
}

int helper_link_stop(struct helper_link *l, struct helper_link_stats *st)
{
	struct helper_proc_result r;
	struct helper_link_stats tmp;
	const char *line;
	int rc = -1;

	helper_proc_bg_signal(&l->bg, SIGTERM);
	if (helper_proc_bg_wait(&l->bg, 10000, &r))
		return -1;
	line = r.out ? strstr(r.out, "faultproxy: ") : NULL;
	if (helper_proc_exited_with(&r, 0) && line &&
	    parse(line + strlen("faultproxy: "), st ? st : &tmp) == 0)
		rc = 0;
	else
		fprintf(stderr, "helper_link: tb-faultproxy's last line "
				"missing or unreadable\n");
	if (line)
		fprintf(stderr, "%s", line);
	helper_proc_free(&r);
	return rc;
}
