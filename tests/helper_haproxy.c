/* helper_haproxy.c - HAProxy with packaging/haproxy-tienbo.cfg in front of
 * tienbo-server instances (helper_haproxy.h). */
#include "tests/helper_haproxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* 1 when something accepts a TCP connection on 127.0.0.1:port. */
static int hp_accepts(unsigned port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* The config text with each "${NAME}" of names replaced by vals; NULL
 * when a placeholder is left outside a comment (said on stderr). */
static char *hp_fill(const char *text, const char *const *names,
		     const char *const *vals)
{
	size_t cap = strlen(text) + 256, n = 0;
	char *out = malloc(cap), *line;
	const char *p = text;

	if (!out)
		return NULL;
	while (*p) {
		size_t i, adv = 0;

		for (i = 0; names[i]; i++) {
			size_t nl = strlen(names[i]), vl = strlen(vals[i]);

			if (p[0] == '$' && p[1] == '{' &&
			    strncmp(p + 2, names[i], nl) == 0 &&
			    p[2 + nl] == '}' && n + vl < cap - 1) {
				memcpy(out + n, vals[i], vl);
				n += vl;
				adv = nl + 3;
				break;
			}
		}
		if (adv) {
			p += adv;
		} else if (n < cap - 1) {
			out[n++] = *p++;
		} else {
			break;
		}
	}
	out[n] = '\0';
	/* a placeholder left (a server line this helper does not fill) */
	for (line = out; line && *line;) {
		char *nl = strchr(line, '\n'), *q = line;

		while (*q == ' ' || *q == '\t')
			q++;
		if (*q != '#' && strstr(line, "${TB_") &&
		    (!nl || strstr(line, "${TB_") < nl)) {
			fprintf(stderr, "helper_haproxy: a placeholder left "
				"unfilled in packaging/haproxy-tienbo.cfg: "
				"%.*s\n", nl ? (int)(nl - line) : (int)strlen(line),
				line);
			free(out);
			return NULL;
		}
		line = nl ? nl + 1 : NULL;
	}
	return out;
}

/* Writes the config for frontend port front into h->cfg and checks it
 * with haproxy -c. 0 or -1. */
static int hp_write_cfg(struct helper_haproxy *h, const char *text,
			unsigned front, unsigned port1, unsigned port2)
{
	char fp[16], p1[16], p2[16];
	const char *names[] = { "TB_HAPROXY_ADDR", "TB_HAPROXY_PORT",
				"TB_SERVER1_PORT", "TB_SERVER2_PORT", NULL };
	const char *vals[] = { "127.0.0.1", fp, p1, p2, NULL };
	const char *check[] = { HELPER_HAPROXY_BIN, "-c", "-f", h->cfg, NULL };
	struct helper_proc_opts o = { .timeout_ms = 15000 };
	struct helper_proc_result r;
	char *filled;
	int rc;

	snprintf(fp, sizeof(fp), "%u", front);
	snprintf(p1, sizeof(p1), "%u", port1);
	snprintf(p2, sizeof(p2), "%u", port2);
	filled = hp_fill(text, names, vals);
	if (!filled)
		return -1;
	rc = helper_proc_write_file(h->cfg, filled, strlen(filled));
	free(filled);
	if (rc != 0) {
		fprintf(stderr, "helper_haproxy: cannot write %s\n", h->cfg);
		return -1;
	}
	helper_proc_run(check, &o, &r);
	rc = r.exited && r.exit_code == 0 ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "helper_haproxy: haproxy -c refused %s (exit "
			"%d, signal %d):\n%s%s\n", h->cfg, r.exit_code,
			r.signal, r.out ? r.out : "", r.err ? r.err : "");
	helper_proc_free(&r);
	return rc;
}

/* Its log (stdout: "log stdout" in the config) and its alerts (stderr),
 * one after the other; malloc'd or NULL. */
static char *hp_logs(const struct helper_haproxy *h)
{
	char *out = helper_proc_read_file(h->bg.out_path, NULL);
	char *err = helper_proc_read_file(h->bg.err_path, NULL), *all;
	size_t lo = out ? strlen(out) : 0, le = err ? strlen(err) : 0;

	all = malloc(lo + le + 1);
	if (all) {
		memcpy(all, out ? out : "", lo);
		memcpy(all + lo, err ? err : "", le);
		all[lo + le] = '\0';
	}
	free(out);
	free(err);
	return all;
}

int helper_haproxy_start(struct helper_haproxy *h, const char *dir,
			 unsigned port1, unsigned port2)
{
	char src[400], *text;
	int tries;

	memset(h, 0, sizeof(*h));
	if (access(HELPER_HAPROXY_BIN, X_OK) != 0) {
		fprintf(stderr, "helper_haproxy: no %s: install Debian's "
			"haproxy (scripts/deps.sh)\n", HELPER_HAPROXY_BIN);
		return -1;
	}
	snprintf(src, sizeof(src), "%s/packaging/haproxy-tienbo.cfg",
		 TB_SOURCE_DIR);
	snprintf(h->cfg, sizeof(h->cfg), "%s/haproxy.cfg", dir);
	text = helper_proc_read_file(src, NULL);
	if (!text) {
		fprintf(stderr, "helper_haproxy: cannot read %s\n", src);
		return -1;
	}
	srand((unsigned)getpid() ^ (unsigned)helper_proc_now_ms());
	for (tries = 0; tries < 5; tries++) {
		/* below Linux's ephemeral range (32768-60999), as
		 * scripts/pg-cluster.sh and tests/install/test_haproxy.sh */
		unsigned front = 20000 + (unsigned)(rand() % 12000);
		const char *argv[] = { HELPER_HAPROXY_BIN, "-db", "-f", h->cfg,
				       NULL };
		long long t0;
		char *log;
		int bound;

		if (hp_accepts(front))
			continue;
		if (hp_write_cfg(h, text, front, port1, port2) != 0)
			break;
		if (helper_proc_bg_start(&h->bg, argv, NULL, dir, "haproxy")) {
			fprintf(stderr, "helper_haproxy: cannot start %s\n",
				HELPER_HAPROXY_BIN);
			break;
		}
		for (t0 = helper_proc_now_ms();
		     helper_proc_now_ms() - t0 < 10000 &&
		     helper_proc_bg_running(&h->bg) && !hp_accepts(front);)
			helper_proc_sleep_ms(50);
		if (helper_proc_bg_running(&h->bg) && hp_accepts(front)) {
			h->port = front;
			snprintf(h->url, sizeof(h->url),
				 "https://127.0.0.1:%u", front);
			free(text);
			return 0;
		}
		log = hp_logs(h);
		bound = !log || !strstr(log, "cannot bind");
		helper_haproxy_stop(h);
		if (bound) {
			fprintf(stderr, "helper_haproxy: haproxy did not accept "
				"connections on 127.0.0.1:%u within 10 s; its "
				"log (%s):\n%s\n", front, h->bg.out_path,
				log ? log : "(none)");
			free(log);
			break;
		}
		free(log); /* the port was taken meanwhile: another */
	}
	if (!h->port)
		fprintf(stderr, "helper_haproxy: no HAProxy frontend after %d "
			"tries\n", tries);
	free(text);
	return -1;
}

int helper_haproxy_count(const struct helper_haproxy *h, const char *needle)
{
	/* the log only: with -db its warnings repeat each line on stderr */
	char *log = helper_proc_read_file(h->bg.out_path, NULL), *p;
	int n = 0;

	for (p = log; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(log);
	return n;
}

int helper_haproxy_stop(struct helper_haproxy *h)
{
	struct helper_proc_result r;

	if (!h->bg.pid)
		return -1;
	helper_proc_bg_signal(&h->bg, SIGTERM);
	if (helper_proc_bg_wait(&h->bg, 10000, &r) != 0)
		return -1;
	if (r.timed_out)
		fprintf(stderr, "helper_haproxy: haproxy still running 10 s "
			"after SIGTERM: killed\n");
	helper_proc_free(&r);
	return 0;
}
