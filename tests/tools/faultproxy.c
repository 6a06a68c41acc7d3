/* faultproxy.c - a TCP relay that plays a bad link between an agent and a
 * server, for the fault and link tests, the soak and bench_link.
 *
 *   tb-faultproxy --target 127.0.0.1:PORT [--listen 127.0.0.1:0]
 *                 [--cut-rate 0] [--max-cut-bytes 65536] [--seed N]
 *                 [--rate-kbit K] [--delay-ms D] [--cut-after N]
 *                 [--silent-after N] [--port-file F] [--stats-file F]
 *                 [--max-seconds 600]
 *
 * Faults, any mix of them:
 *   --cut-rate R, --max-cut-bytes M  each connection is, with probability
 *       R, given a direction and a byte offset drawn uniformly from
 *       [0, M]: when that many bytes have crossed in that direction, both
 *       sockets are reset (SO_LINGER 0), mid-TLS-record as often as not.
 *   --cut-after N  every connection is reset once N bytes have crossed it,
 *       both directions together, handshake included (a link that drops
 *       every connection after N bytes). 0: never.
 *   --silent-after N  the whole link goes silent once N bytes have crossed
 *       it (all connections together): from then on nothing is forwarded
 *       either way, connections stay open and new ones are accepted, as
 *       when a radio link fades. 0: never.
 *   --rate-kbit K, --delay-ms D  each direction carries K kbit/s, and a
 *       byte arrives D ms after it left (so the round trip is 2 D plus
 *       the time on the wire): a 2G link is --rate-kbit 40 --delay-ms 300.
 *       The relay queues at most 16 KB or one bandwidth-delay product
 *       per direction, and keeps small socket buffers, so a sender feels
 *       the link's pace.
 *
 * Counts: the bytes that crossed each way (TCP payload), and of them the
 * bytes of the TLS 1.3 handshake (records up to the client's Finished,
 * each way), connections, connections whose handshake finished, cuts.
 * They are printed on exit as one line
 *   "faultproxy: connections N cut M bytes B up U down D handshake_bytes H
 *    handshakes K open O dropped X"
 * and, with --stats-file, the same line without the prefix is rewritten
 * (atomically) whenever a connection begins or ends, so a test or a
 * benchmark can read them between runs ("open 0": no connection is in
 * flight).
 *
 * Only loopback addresses are accepted for --listen and --target. The
 * relay exits by itself after --max-seconds, and on SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QCAP (256 * 1024) /* bytes a direction may hold in flight */
#define MARKS 4096        /* reads a direction may hold in flight */
#define SEGMENT 1400      /* bytes per read when the rate is limited */
#define SMALL_SOCKBUF 8192

/* One direction of a connection: bytes read from `from`, held until they
 * are due, written to `to`. */
struct dir {
	int from, to;
	int rd_open;          /* from has not reached EOF */
	int shut_sent;        /* the half-close was passed on */
	unsigned char *q;     /* bytes read, not yet written */
	size_t qlen;
	struct mark {
		long long end; /* moved count at the end of this read */
		long long due; /* when its bytes may leave (us) */
	} m[MARKS];
	int mh, mn;           /* ring of marks: head, count */
	long long moved;      /* bytes read in this direction */
	long long written;    /* bytes written on */
	long long due_end;    /* bytes up to here may be written now */
	long long next_free;  /* when the simulated wire is free (us) */
	/* TLS record headers, read as the stream goes by */
	unsigned char hdr[5];
	int hdr_have;
	long long rec_left;
	int rec_hs;           /* the current record counts as handshake */
};

struct conn {
	struct dir d[2];      /* 0 client->server, 1 server->client */
	int cut_dir;          /* -1 none, 0 client->server, 1 server->client */
	long long cut_at;     /* bytes in cut_dir before the reset */
	int saw_ccs;          /* the client sent ChangeCipherSpec */
	int client_done;      /* the client's Finished went by */
};

struct counts {
	long long conns, open, cuts, bytes, up, down, hs_bytes, handshakes,
		dropped;
};

static struct sockaddr_in target;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct counts total;
static long long rate_bps;        /* bytes per second, 0: unlimited */
static long long delay_us;
static long long cut_after;       /* per connection, 0: never */
static long long silent_after;    /* link-wide, 0: never */
static size_t qmax = QCAP;
static const char *stats_file;
static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
}

static long long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -1;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return -1;
	/* loopback only: 127.0.0.0/8 */
	if ((ntohl(a->sin_addr.s_addr) >> 24) != 127)
		return -1;
	return 0;
}

static void reset_close(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void small_buffers(int fd)
{
	int n = SMALL_SOCKBUF;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
}

static void format_counts(const struct counts *c, char *buf, size_t len)
{
	snprintf(buf, len,
		 "connections %lld cut %lld bytes %lld up %lld down %lld "
		 "handshake_bytes %lld handshakes %lld open %lld dropped "
		 "%lld\n",
		 c->conns, c->cuts, c->bytes, c->up, c->down, c->hs_bytes,
		 c->handshakes, c->open, c->dropped);
}

/* Rewrites the stats file; called with lock held. */
static void write_stats(void)
{
	char tmp[4096], line[256];
	FILE *f;

	if (!stats_file)
		return;
	format_counts(&total, line, sizeof(line));
	snprintf(tmp, sizeof(tmp), "%s.tmp", stats_file);
	f = fopen(tmp, "w");
	if (!f || fputs(line, f) < 0 || fclose(f) || rename(tmp, stats_file))
		perror("faultproxy: stats file");
}

/* Feeds n bytes read in direction i through the TLS record parser; the
 * handshake bytes among them. The client's handshake ends with the record
 * after its ChangeCipherSpec (or its first encrypted record): its
 * Finished. The server's flight all precedes that. */
static long long tls_parse(struct conn *c, int i, const unsigned char *p,
			   size_t n)
{
	struct dir *d = &c->d[i];
	long long hs = 0;

	while (n > 0) {
		if (d->rec_left == 0) {
			d->hdr[d->hdr_have++] = *p++;
			n--;
			if (d->hdr_have < 5)
				continue;
			d->hdr_have = 0;
			d->rec_left = (d->hdr[3] << 8) | d->hdr[4];
			d->rec_hs = !c->client_done;
			if (d->rec_hs)
				hs += 5;
			if (i == 0 && !c->client_done) {
				if (d->hdr[0] == 20)
					c->saw_ccs = 1;
				else if (c->saw_ccs || d->hdr[0] == 23)
					c->client_done = 2; /* after this */
			}
			if (d->rec_left == 0 && c->client_done == 2)
				c->client_done = 1;
			continue;
		}
		{
			size_t k = (size_t)d->rec_left < n ? (size_t)d->rec_left
							   : n;

			if (d->rec_hs)
				hs += (long long)k;
			d->rec_left -= (long long)k;
			p += k;
			n -= k;
			if (d->rec_left == 0 && i == 0 && c->client_done == 2) {
				c->client_done = 1;
				pthread_mutex_lock(&lock);
				total.handshakes++;
				pthread_mutex_unlock(&lock);
			}
		}
	}
	return hs;
}

/* How many more bytes direction i may read now. */
static size_t can_read(const struct conn *c, int i)
{
	const struct dir *d = &c->d[i];
	size_t want = rate_bps ? SEGMENT : 16384;
	long long left;

	if (!d->rd_open || d->mn == MARKS || d->qlen >= qmax)
		return 0;
	if (want > qmax - d->qlen)
		want = qmax - d->qlen;
	if (cut_after) {
		left = cut_after - c->d[0].moved - c->d[1].moved;
		if (left <= 0)
			return 0;
		if ((long long)want > left)
			want = (size_t)left;
	}
	if (c->cut_dir == i) {
		left = c->cut_at - d->moved;
		if (left <= 0)
			return 0;
		if ((long long)want > left)
			want = (size_t)left;
	}
	return want;
}

/* Moves the marks that are due by now into d->due_end. */
static void mark_due(struct dir *d, long long now)
{
	while (d->mn > 0 && d->m[d->mh].due <= now) {
		d->due_end = d->m[d->mh].end;
		d->mh = (d->mh + 1) % MARKS;
		d->mn--;
	}
}

/* Reads what direction i may read; 0, or -1 when the connection is to be
 * closed. */
static int pump_read(struct conn *c, int i, long long now)
{
	struct dir *d = &c->d[i];
	unsigned char buf[16384];
	size_t want = can_read(c, i);
	ssize_t n;
	long long hs, start;
	int silent;

	if (want == 0)
		return 0;
	n = read(d->from, buf, want);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		d->rd_open = 0;
		return 0;
	}
	pthread_mutex_lock(&lock);
	silent = silent_after && total.bytes >= silent_after;
	if (silent)
		total.dropped += n;
	else
		total.bytes += n;
	pthread_mutex_unlock(&lock);
	if (silent)
		return 0;
	hs = tls_parse(c, i, buf, (size_t)n);
	pthread_mutex_lock(&lock);
	if (i == 0)
		total.up += n;
	else
		total.down += n;
	total.hs_bytes += hs;
	pthread_mutex_unlock(&lock);
	memcpy(d->q + d->qlen, buf, (size_t)n);
	d->qlen += (size_t)n;
	d->moved += n;
	start = d->next_free > now ? d->next_free : now;
	if (rate_bps)
		start += (long long)n * 1000000 / rate_bps;
	d->next_free = start;
	d->m[(d->mh + d->mn) % MARKS].end = d->moved;
	d->m[(d->mh + d->mn) % MARKS].due = start + delay_us;
	d->mn++;
	return 0;
}

/* Writes what is due of direction i; 0, or -1 when the peer is gone. */
static int pump_write(struct dir *d)
{
	size_t due = (size_t)(d->due_end - d->written);
	ssize_t w;

	if (due == 0)
		return 0;
	w = send(d->to, d->q, due, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	memmove(d->q, d->q + w, d->qlen - (size_t)w);
	d->qlen -= (size_t)w;
	d->written += w;
	return 0;
}

/* The connection's budget is spent and all it carried is delivered. */
static int cut_now(const struct conn *c)
{
	if (c->d[0].qlen || c->d[1].qlen)
		return 0;
	if (cut_after && c->d[0].moved + c->d[1].moved >= cut_after)
		return 1;
	return c->cut_dir >= 0 && c->d[c->cut_dir].moved >= c->cut_at;
}

static void *pump(void *arg)
{
	struct conn *c = arg;
	int cut = 0, i;

	while (!done) {
		struct pollfd p[4];
		long long now = now_us(), next = now + 500000;
		int np = 0, ri[2] = { -1, -1 }, wi[2] = { -1, -1 };

		for (i = 0; i < 2; i++) {
			struct dir *d = &c->d[i];

			mark_due(d, now);
			if (d->mn > 0 && d->m[d->mh].due < next)
				next = d->m[d->mh].due;
			if (!d->rd_open && d->qlen == 0 && !d->shut_sent) {
				shutdown(d->to, SHUT_WR);
				d->shut_sent = 1;
			}
		}
		if (cut_now(c)) {
			cut = 1;
			break;
		}
		if (c->d[0].shut_sent && c->d[1].shut_sent)
			break;
		for (i = 0; i < 2; i++) {
			if (can_read(c, i)) {
				p[np] = (struct pollfd){ c->d[i].from, POLLIN,
							 0 };
				ri[i] = np++;
			}
			if (c->d[i].due_end > c->d[i].written) {
				p[np] = (struct pollfd){ c->d[i].to, POLLOUT,
							 0 };
				wi[i] = np++;
			}
		}
		if (poll(p, (nfds_t)np,
			 (int)((next - now + 999) / 1000)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		now = now_us();
		for (i = 0; i < 2; i++) {
			if (wi[i] >= 0 && (p[wi[i]].revents & (POLLERR | POLLHUP)))
				goto out;
			if (wi[i] >= 0 && (p[wi[i]].revents & POLLOUT) &&
			    pump_write(&c->d[i]))
				goto out;
			if (ri[i] >= 0 &&
			    (p[ri[i]].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    pump_read(c, i, now))
				goto out;
		}
	}
out:
	if (cut) {
		reset_close(c->d[0].from);
		reset_close(c->d[1].from);
	} else {
		close(c->d[0].from);
		close(c->d[1].from);
	}
	pthread_mutex_lock(&lock);
	total.open--;
	if (cut)
		total.cuts++;
	write_stats();
	pthread_mutex_unlock(&lock);
	free(c->d[0].q);
	free(c->d[1].q);
	free(c);
	return NULL;
}

static int parse_ll(const char *v, long long min, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno || end == v || *end || *out < min ? -1 : 0;
}

static struct conn *conn_new(int cfd, int sfd, double cut_rate,
			     long long max_cut)
{
	struct conn *c = calloc(1, sizeof(*c));
	int i;

	if (!c)
		return NULL;
	c->d[0].from = c->d[1].to = cfd;
	c->d[0].to = c->d[1].from = sfd;
	for (i = 0; i < 2; i++) {
		c->d[i].rd_open = 1;
		c->d[i].q = malloc(qmax);
		if (!c->d[i].q) {
			free(c->d[0].q);
			free(c);
			return NULL;
		}
	}
	c->cut_dir = -1;
	if ((double)rand() / RAND_MAX < cut_rate) {
		c->cut_dir = rand() % 2;
		c->cut_at = max_cut ? rand() % (max_cut + 1) : 0;
	}
	return c;
}

int main(int argc, char **argv)
{
	struct sockaddr_in listen_addr;
	const char *listen_s = "127.0.0.1:0", *target_s = NULL;
	const char *port_file = NULL;
	double cut_rate = 0;
	long long max_cut = 65536, max_seconds = 600, rate_kbit = 0;
	long long delay_ms = 0, seed_ll = -1;
	time_t start = time(NULL);
	struct sigaction sa;
	socklen_t alen;
	char line[256];
	int lfd, one = 1, i, bad = 0;
	char *end;

	for (i = 1; i + 1 < argc && !bad; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--listen"))
			listen_s = v;
		else if (!strcmp(k, "--target"))
			target_s = v;
		else if (!strcmp(k, "--cut-rate")) {
			cut_rate = strtod(v, &end);
			bad = *end || cut_rate < 0 || cut_rate > 1;
		} else if (!strcmp(k, "--max-cut-bytes"))
			bad = parse_ll(v, 0, &max_cut);
		else if (!strcmp(k, "--seed"))
			bad = parse_ll(v, 0, &seed_ll);
		else if (!strcmp(k, "--rate-kbit"))
			bad = parse_ll(v, 0, &rate_kbit);
		else if (!strcmp(k, "--delay-ms"))
			bad = parse_ll(v, 0, &delay_ms);
		else if (!strcmp(k, "--cut-after"))
			bad = parse_ll(v, 0, &cut_after);
		else if (!strcmp(k, "--silent-after"))
			bad = parse_ll(v, 0, &silent_after);
		else if (!strcmp(k, "--port-file"))
			port_file = v;
		else if (!strcmp(k, "--stats-file"))
			stats_file = v;
		else if (!strcmp(k, "--max-seconds"))
			bad = parse_ll(v, 1, &max_seconds);
		else
			bad = 1;
	}
	if (bad || i != argc || !target_s || parse_addr(target_s, &target) ||
	    parse_addr(listen_s, &listen_addr))
		goto usage;
	rate_bps = rate_kbit * 1000 / 8;
	delay_us = delay_ms * 1000;
	if (rate_bps && rate_bps * delay_ms / 1000 > 16384)
		qmax = (size_t)(rate_bps * delay_ms / 1000);
	else if (rate_bps)
		qmax = 16384;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	srand(seed_ll >= 0 ? (unsigned)seed_ll
			   : (unsigned)time(NULL) ^ (unsigned)getpid());

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd >= 0) {
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (rate_bps)
			small_buffers(lfd); /* inherited by accepted sockets */
	}
	if (lfd < 0 ||
	    bind(lfd, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) ||
	    listen(lfd, 128)) {
		perror("faultproxy: listen");
		return 1;
	}
	alen = sizeof(listen_addr);
	getsockname(lfd, (struct sockaddr *)&listen_addr, &alen);
	pthread_mutex_lock(&lock);
	write_stats();
	pthread_mutex_unlock(&lock);
	if (port_file) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "%d\n", ntohs(listen_addr.sin_port)) < 0 ||
		    fclose(f) || rename(tmp, port_file)) {
			perror("faultproxy: port file");
			return 1;
		}
	}
	while (!done && time(NULL) - start < max_seconds) {
		struct pollfd p = { lfd, POLLIN, 0 };
		struct conn *c;
		pthread_t t;
		int cfd, sfd;

		if (poll(&p, 1, 200) <= 0)
			continue;
		cfd = accept(lfd, NULL, NULL);
		if (cfd < 0)
			continue;
		sfd = socket(AF_INET, SOCK_STREAM, 0);
		if (sfd >= 0 && rate_bps)
			small_buffers(sfd);
		if (sfd < 0 || connect(sfd, (struct sockaddr *)&target,
				       sizeof(target))) {
			reset_close(cfd);
			if (sfd >= 0)
				close(sfd);
			continue;
		}
		c = conn_new(cfd, sfd, cut_rate, max_cut);
		pthread_mutex_lock(&lock);
		if (c) {
			total.conns++;
			total.open++;
			write_stats();
		}
		pthread_mutex_unlock(&lock);
		if (!c || pthread_create(&t, NULL, pump, c)) {
			reset_close(cfd);
			close(sfd);
			if (c) {
				pthread_mutex_lock(&lock);
				total.open--;
				pthread_mutex_unlock(&lock);
				free(c->d[0].q);
				free(c->d[1].q);
				free(c);
			}
			continue;
		}
		pthread_detach(t);
	}
	done = 1;
	close(lfd);
	pthread_mutex_lock(&lock);
	write_stats();
	format_counts(&total, line, sizeof(line));
	pthread_mutex_unlock(&lock);
	printf("faultproxy: %s", line);
	fflush(stdout);
	return 0;
usage:
	fprintf(stderr,
		"usage: tb-faultproxy --target 127.0.0.1:PORT "
		"[--listen 127.0.0.1:0] [--cut-rate R] [--max-cut-bytes N] "
		"[--seed N] [--rate-kbit K] [--delay-ms D] [--cut-after N] "
		"[--silent-after N] [--port-file F] [--stats-file F] "
		"[--max-seconds S]\n(loopback addresses only)\n");
	return 64;
}
