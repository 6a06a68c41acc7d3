/* faultproxy.c - a TCP proxy for fault tests that cuts connections at
 * random byte offsets, in either direction.
 *
 *   tb-faultproxy --target 127.0.0.1:PORT [--listen 127.0.0.1:0]
 *                 [--cut-rate 0.3] [--max-cut-bytes 65536] [--seed N]
 *                 [--port-file F] [--max-seconds 600]
 *
 * Each accepted connection is, with probability cut-rate, given a budget:
 * a direction (client->server or server->client) and a byte offset drawn
 * uniformly from [0, max-cut-bytes]. When that many bytes have crossed in
 * that direction, both sockets are reset (SO_LINGER 0), mid-TLS-record as
 * often as not. Other connections are forwarded untouched. Only loopback
 * addresses are accepted for --listen and --target. The proxy exits by
 * itself after --max-seconds, and on SIGTERM, printing one line of counts:
 * "faultproxy: connections N cut M bytes B".
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

struct conn {
	int client, server;
	int cut_dir;          /* -1 none, 0 client->server, 1 server->client */
	long long cut_after;  /* bytes in cut_dir before the reset */
};

static struct sockaddr_in target;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long long n_conns, n_cuts, n_bytes;
static volatile sig_atomic_t done;

static void on_term(int sig)
{
	(void)sig;
	done = 1;
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

static void *pump(void *arg)
{
	struct conn *c = arg;
	long long moved[2] = { 0, 0 };
	int fds[2] = { c->client, c->server };
	int open_dir[2] = { 1, 1 };
	char buf[16384];

	while (open_dir[0] || open_dir[1]) {
		struct pollfd p[2] = { { fds[0], POLLIN, 0 },
				       { fds[1], POLLIN, 0 } };
		int i;

		if (done)
			break;
		p[0].events = open_dir[0] ? POLLIN : 0;
		p[1].events = open_dir[1] ? POLLIN : 0;
		if (poll(p, 2, 500) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			ssize_t n, off = 0;
			size_t want = sizeof(buf);

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (c->cut_dir == i) {
				long long left = c->cut_after - moved[i];

				if (left <= 0)
					goto cut;
				if ((long long)want > left)
					want = (size_t)left;
			}
			n = read(fds[i], buf, want);
			if (n <= 0) {
				/* pass the half-close on */
				shutdown(fds[1 - i], SHUT_WR);
				open_dir[i] = 0;
				continue;
			}
			while (off < n) {
				ssize_t w = write(fds[1 - i], buf + off,
						  (size_t)(n - off));
				if (w <= 0)
					goto out;
				off += w;
			}
			moved[i] += n;
			pthread_mutex_lock(&lock);
			n_bytes += n;
			pthread_mutex_unlock(&lock);
			if (c->cut_dir == i && moved[i] >= c->cut_after)
				goto cut;
		}
	}
out:
	close(c->client);
	close(c->server);
	free(c);
	return NULL;
cut:
	pthread_mutex_lock(&lock);
	n_cuts++;
	pthread_mutex_unlock(&lock);
	reset_close(c->client);
	reset_close(c->server);
	free(c);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in listen_addr;
	const char *listen_s = "127.0.0.1:0", *target_s = NULL;
	const char *port_file = NULL;
	double cut_rate = 0.3;
	long long max_cut = 65536;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	long max_seconds = 600;
	time_t start = time(NULL);
	struct sigaction sa;
	socklen_t alen;
	int lfd, one = 1, i;

	for (i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--listen"))
			listen_s = v;
		else if (!strcmp(k, "--target"))
			target_s = v;
		else if (!strcmp(k, "--cut-rate"))
			cut_rate = strtod(v, NULL);
		else if (!strcmp(k, "--max-cut-bytes"))
			max_cut = strtoll(v, NULL, 10);
		else if (!strcmp(k, "--seed"))
			seed = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(k, "--port-file"))
			port_file = v;
		else if (!strcmp(k, "--max-seconds"))
			max_seconds = strtol(v, NULL, 10);
		else
			goto usage;
	}
	if (i != argc || !target_s || parse_addr(target_s, &target) ||
	    parse_addr(listen_s, &listen_addr) || cut_rate < 0 ||
	    cut_rate > 1 || max_cut < 0 || max_seconds < 1)
		goto usage;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	srand(seed);

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 ||
	    bind(lfd, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) ||
	    listen(lfd, 128)) {
		perror("faultproxy: listen");
		return 1;
	}
	alen = sizeof(listen_addr);
	getsockname(lfd, (struct sockaddr *)&listen_addr, &alen);
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
		int cfd;

		if (poll(&p, 1, 200) <= 0)
			continue;
		cfd = accept(lfd, NULL, NULL);
		if (cfd < 0)
			continue;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->client = cfd;
		c->server = socket(AF_INET, SOCK_STREAM, 0);
		if (c->server < 0 ||
		    connect(c->server, (struct sockaddr *)&target,
			    sizeof(target))) {
			reset_close(cfd);
			if (c->server >= 0)
				close(c->server);
			free(c);
			continue;
		}
		c->cut_dir = -1;
		if ((double)rand() / RAND_MAX < cut_rate) {
			c->cut_dir = rand() % 2;
			c->cut_after = max_cut ? rand() % (max_cut + 1) : 0;
		}
		pthread_mutex_lock(&lock);
		n_conns++;
		pthread_mutex_unlock(&lock);
		if (pthread_create(&t, NULL, pump, c)) {
			reset_close(c->client);
			close(c->server);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
	done = 1;
	close(lfd);
	pthread_mutex_lock(&lock);
	printf("faultproxy: connections %lld cut %lld bytes %lld\n", n_conns,
	       n_cuts, n_bytes);
	pthread_mutex_unlock(&lock);
	fflush(stdout);
	return 0;
usage:
	fprintf(stderr, "usage: tb-faultproxy --target 127.0.0.1:PORT "
			"[--listen 127.0.0.1:0] [--cut-rate R] "
			"[--max-cut-bytes N] [--seed N] [--port-file F] "
			"[--max-seconds S]\n(loopback addresses only)\n");
	return 64;
}
