/* bench_link.c - what a sync costs on a school's link: bytes per sync from
 * 1 to 10,000 events, split into TLS handshake, HTTP (headers, the cursor
 * request, the ack, TLS framing) and payload (the gzip batches); how long
 * it takes on a 2G link; and the smallest per-connection budget on which
 * 1,000 events still get through. Real tienbo-agent and tienbo-server,
 * HTTPS on 127.0.0.1 through tb-faultproxy playing the link (its counts
 * are TCP payload bytes, what crossed the relay). Figures are printed
 * beside the bare limit measured in the same run, never asserted.
 *
 *   cmake --build build --target bench_link
 *   ./build/bench_link [--max-events N] [--quick]
 *
 * bytes      per N in 1, 10, 100, 1,000, 10,000 (to --max-events): a
 *            fresh school's agent imports N events and syncs once on a
 *            clean link (the first sync asks the cursor); then one more
 *            event, the second sync (cursor known: no GET). Bare limit:
 *            the payload alone.
 * 2G         40 kbit/s each way, 300 ms each way (tb-faultproxy --rate-kbit
 *            40 --delay-ms 300): the wall time of `sync` from exec to exit
 *            for 1 event (cursor known), 10, 100 and 1,000 events. Bare limit:
 *            the payload's time on the wire plus one round trip.
 * budget     a link that resets every connection after B bytes: the
 *            smallest B (in steps of 256 from 1,280) on which 1,000 events
 *            arrive in at most 3 sync runs, and what they spent there and
 *            at 4 KB.
 *
 * --quick: 1..1,000 events and 100 on 2G, for a look in a minute.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helper_link.h"
#include "tests/helper_proc.h"
#include "tests/helper_server.h"

static struct helper_server srv;
static int school_no;

static void die(const char *what)
{
	fprintf(stderr, "bench_link: %s\n", what);
	helper_server_stop(&srv);
	exit(1);
}

struct agent {
	struct helper_server_agent h;
	int events;
};

static void agent_new(struct agent *a, const char *url)
{
	char school[32], token[80];

	snprintf(school, sizeof(school), "HB-BL%03d", ++school_no);
	if (helper_server_enroll(&srv, school, "HB-BL", token) ||
	    helper_server_agent_init(&srv, &a->h, url, school, token))
		die("enroll / init");
	a->events = 0;
}

/* Imports n typical events (varied titles: about 22 B each gzip'd). */
static void import(struct agent *a, int n)
{
	struct helper_proc_result r;
	size_t cap = 64 + (size_t)n * 96, len;
	char *csv = malloc(cap), path[500];
	int i;

	if (!csv)
		die("out of memory");
	len = (size_t)snprintf(csv, cap, "kind,date,title,parents,students\n");
	for (i = 1; i <= n; i++) {
		unsigned h = (unsigned)(a->events + i) * 2654435761u;

		len += (size_t)snprintf(csv + len, cap - len,
					"outreach,2025-11-%02d,Nói chuyện ở "
					"thôn %08x,%u,%u\n",
					1 + i % 28, h, 1 + h % 200, h % 13);
	}
	snprintf(path, sizeof(path), "%s/rows.csv", a->h.sb.dir);
	if (helper_proc_write_file(path, csv, len))
		die("write csv");
	free(csv);
	a->h.o.timeout_ms = 600000;
	helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "import", path, NULL);
	if (!r.exited || r.exit_code) {
		fprintf(stderr, "%s", r.err ? r.err : "");
		die("import failed");
	}
	helper_proc_free(&r);
	a->events += n;
}

/* One `sync`: its wall time (ms), exit code, and the payload it had
 * acknowledged (status --json link.last_pass_acked_bytes). */
struct one_sync {
	long long ms;
	int rc;
	long long payload;
};

static void sync_once(struct agent *a, const char *const *extra,
		      struct one_sync *o)
{
	const char *argv[24] = { TB_AGENT_BIN, "sync", "--quiet" };
	struct helper_proc_result r;
	long long t0;
	size_t n = 3;
	char *p;

	while (extra && *extra && n < 23)
		argv[n++] = *extra++;
	argv[n] = NULL;
	a->h.o.timeout_ms = 600000;
	t0 = helper_proc_now_ms();
	helper_proc_run(argv, &a->h.o, &r);
	o->ms = helper_proc_now_ms() - t0;
	o->rc = r.exited ? r.exit_code : -1;
	helper_proc_free(&r);
	helper_proc_runl(&r, &a->h.o, TB_AGENT_BIN, "status", "--json", NULL);
	p = r.out ? strstr(r.out, "\"last_pass_acked_bytes\":") : NULL;
	o->payload = p ? strtoll(p + 24, NULL, 10) : -1;
	helper_proc_free(&r);
}

static void link_up(struct helper_link *l, const char *const *faults)
{
	if (helper_link_start(l, srv.port, srv.dir, faults, 3600))
		die("tb-faultproxy did not start");
}

static void link_counts(struct helper_link *l, struct helper_link_stats *s)
{
	if (helper_link_stats(l, s, 30000))
		die("the link's counts");
}

/* ---- bytes ---------------------------------------------------------------- */

static void bytes_row(const char *what, int n, const struct one_sync *o,
		      const struct helper_link_stats *d)
{
	long long http = d->bytes - d->hs_bytes - o->payload;

	printf("| %s | %d | %lld | %lld | %lld | %lld | %.1f | %.2f |\n", what,
	       n, d->bytes, d->hs_bytes, http, o->payload,
	       (double)d->bytes / n,
	       o->payload > 0 ? (double)d->bytes / (double)o->payload : 0);
}

static void diff(const struct helper_link_stats *a,
		 const struct helper_link_stats *b, struct helper_link_stats *d)
{
	d->bytes = b->bytes - a->bytes;
	d->hs_bytes = b->hs_bytes - a->hs_bytes;
	d->handshakes = b->handshakes - a->handshakes;
	d->conns = b->conns - a->conns;
}

static void bytes_table(int max_events)
{
	static const int sizes[] = { 1, 10, 100, 1000, 10000 };
	struct helper_link l;
	size_t i;

	link_up(&l, NULL);
	printf("\n## Bytes per sync (TCP payload both ways, clean link)\n\n"
	       "| sync | events | total B | TLS handshake B | HTTP B | payload "
	       "B (bare limit) | B/event | total / payload |\n"
	       "|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct helper_link_stats s0, s1, s2, d;
		struct one_sync o;
		struct agent a;

		if (sizes[i] > max_events)
			break;
		agent_new(&a, l.url);
		import(&a, sizes[i]);
		link_counts(&l, &s0);
		sync_once(&a, NULL, &o);
		link_counts(&l, &s1);
		if (o.rc)
			die("sync failed on a clean link");
		diff(&s0, &s1, &d);
		bytes_row("first (asks the cursor)", sizes[i], &o, &d);
		if (sizes[i] == 1 || sizes[i] == 1000) {
			import(&a, sizes[i]);
			sync_once(&a, NULL, &o);
			link_counts(&l, &s2);
			if (o.rc)
				die("sync failed on a clean link");
			diff(&s1, &s2, &d);
			bytes_row("next (cursor known)", sizes[i], &o, &d);
		}
		helper_server_agent_cleanup(&a.h);
	}
	helper_link_stop(&l, NULL);
}

/* ---- 2G ------------------------------------------------------------------- */

#define RATE_BPS 5000.0 /* 40 kbit/s */
#define RTT_MS 600.0

static void g2_table(int quick)
{
	static const char *const faults[] = { "--rate-kbit", "40",
					      "--delay-ms", "300", NULL };
	static const int sizes[] = { 1, 10, 100, 1000 };
	struct helper_link l;
	size_t i;

	link_up(&l, faults);
	printf("\n## On a 2G link (40 kbit/s each way, 600 ms round trip)\n\n"
	       "| events | sync wall s | on the link B | bare limit s (payload "
	       "on the wire + 1 RTT) | ratio |\n|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct helper_link_stats s0, s1;
		struct one_sync o;
		struct agent a;
		double bare;

		if (quick && sizes[i] > 100)
			break;
		agent_new(&a, l.url);
		/* the cursor known, as at a school that syncs every day */
		import(&a, 1);
		sync_once(&a, NULL, &o);
		import(&a, sizes[i]);
		link_counts(&l, &s0);
		sync_once(&a, NULL, &o);
		link_counts(&l, &s1);
		if (o.rc)
			die("sync failed on the 2G link");
		bare = (double)o.payload / RATE_BPS + RTT_MS / 1000;
		printf("| %d | %.2f | %lld | %.2f | %.1f× |\n", sizes[i],
		       (double)o.ms / 1000, s1.bytes - s0.bytes, bare,
		       (double)o.ms / 1000 / bare);
		helper_server_agent_cleanup(&a.h);
	}
	helper_link_stop(&l, NULL);
}

/* ---- budget --------------------------------------------------------------- */

/* 1,000 events on a link reset every `budget` bytes: 1 if they arrived in
 * at most 3 sync runs; the bytes and ms spent. */
static int try_budget(long budget, long long *bytes, long long *ms)
{
	static const char *const quick[] = { "--backoff-ms", "10",
					     "--backoff-max-ms", "100",
					     "--timeout", "30", NULL };
	char b[32];
	const char *const faults[] = { "--cut-after", b, NULL };
	struct helper_link l;
	struct helper_link_stats s;
	struct agent a;
	int run, ok = 0;

	snprintf(b, sizeof(b), "%ld", budget);
	link_up(&l, faults);
	agent_new(&a, l.url);
	import(&a, 1000);
	*ms = 0;
	for (run = 0; run < 3 && !ok; run++) {
		struct one_sync o;

		sync_once(&a, quick, &o);
		*ms += o.ms;
		ok = o.rc == 0 &&
		     helper_server_db_int(a.h.db, "SELECT count(*) FROM queue "
						  "WHERE state = 0") == 0;
	}
	link_counts(&l, &s);
	*bytes = s.bytes;
	helper_link_stop(&l, NULL);
	helper_server_agent_cleanup(&a.h);
	return ok;
}

static void budget_table(void)
{
	long long bytes, ms, bytes4, ms4;
	long budget;
	int ok = 0;

	for (budget = 1280; budget <= 16384 && !ok; budget += 256)
		ok = try_budget(budget, &bytes, &ms);
	budget -= 256;
	if (!try_budget(4096, &bytes4, &ms4))
		bytes4 = ms4 = -1;
	printf("\n## A link that resets every connection after B bytes: "
	       "1,000 events\n\n| B | arrived | on the link B | sync wall s "
	       "|\n|---:|---|---:|---:|\n");
	if (ok)
		printf("| %ld (smallest, steps of 256) | yes | %lld | %.1f |\n",
		       budget, bytes, (double)ms / 1000);
	else
		printf("| none up to 16384 | no | | |\n");
	printf("| 4096 | %s | %lld | %.1f |\n", bytes4 >= 0 ? "yes" : "no",
	       bytes4, (double)ms4 / 1000);
}

int main(int argc, char **argv)
{
	int max_events = 10000, quick = 0, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--max-events") && i + 1 < argc)
			max_events = (int)helper_proc_arg_long(
				"bench_link", "--max-events", argv[++i], 1);
		else if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else {
			fprintf(stderr, "usage: bench_link [--max-events N] "
					"[--quick]\n");
			return 64;
		}
	}
	if (quick && max_events > 1000)
		max_events = 1000;
	if (helper_server_up(&srv))
		die("the server did not start");
	bytes_table(max_events);
	g2_table(quick);
	if (!quick)
		budget_table();
	helper_server_stop(&srv);
	helper_server_teardown(&srv);
	return 0;
}
