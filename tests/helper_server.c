/* helper_server.c - a real tienbo-server in a temp directory for the tests
 * (see helper_server.h). The server's stderr goes to dir/server.log; the
 * port is read from its "listening on ... (port N)" line, so the kernel
 * picks a free port and nothing races for one.
 */
#define _GNU_SOURCE /* pipe2 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tests/helper_server.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "protocol/codec.h"
#include "protocol/gz.h"
#include "server/db.h"
#include "server/sql.h"
#include "tests/helper_pg.h"

#define HS_ARGS_MAX 64

static long hs_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void hs_sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

int helper_server_setup(struct helper_server *s)
{
	return helper_server_setup_db(s, NULL);
}

int helper_server_setup_db(struct helper_server *s, const char *db)
{
	static int curl_ready;
	char cmd[HELPER_SERVER_PATH * 2 + 64];

	memset(s, 0, sizeof(*s));
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -1;
		curl_ready = 1;
	}
	snprintf(s->dir, sizeof(s->dir), "/tmp/tb-server-test-XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	snprintf(s->ca, sizeof(s->ca), "%s/certs/ca.pem", s->dir);
	snprintf(s->cert, sizeof(s->cert), "%s/certs/server.pem", s->dir);
	snprintf(s->key, sizeof(s->key), "%s/certs/server.key", s->dir);
	if (db && strlen(db) >= sizeof(s->db))
		return -1;
	if (db) {
		snprintf(s->db, sizeof(s->db), "%s", db);
	} else if (helper_pg_wanted()) {
		/* PostgreSQL mode: a fresh database of the test cluster,
		 * which init-db below gives its schema as it would a new
		 * file; teardown drops it */
		if (helper_pg_newdb(s->db, sizeof(s->db)) != 0)
			return -1;
		s->own_db = 1;
	} else {
		snprintf(s->db, sizeof(s->db), "%s/server.db", s->dir);
	}
	snprintf(s->log, sizeof(s->log), "%s/server.log", s->dir);
	snprintf(cmd, sizeof(cmd), "bash '%s/scripts/mkcerts.sh' '%s/certs' "
		 ">/dev/null 2>&1", TB_SOURCE_DIR, s->dir);
	if (system(cmd) != 0)
		return -1;
	/* only init-db makes a database; every other command refuses a
	 * path that is not one */
	snprintf(cmd, sizeof(cmd), "'%s' init-db --db '%s' >/dev/null",
		 TB_SERVER_BIN, s->db);
	return system(cmd) == 0 ? 0 : -1;
}

void helper_server_twin(const struct helper_server *s,
			struct helper_server *twin, const char *log_name)
{
	*twin = *s;
	twin->pid = 0;
	twin->port = 0;
	twin->url[0] = '\0';
	snprintf(twin->log, sizeof(twin->log), "%s/%s", s->dir, log_name);
	twin->dir[0] = '\0'; /* s's teardown removes it */
	twin->own_db = 0;     /* and drops its database */
}

int helper_server_up(struct helper_server *s)
{
	if (helper_server_setup(s) != 0)
		return -1;
	return helper_server_start(s, NULL);
}

static long hs_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* The port from the first "(port N)" after offset in the log, or 0. */
static unsigned hs_log_port(const char *path, long offset)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;
	const char *p;
	unsigned port = 0;

	if (!f)
		return 0;
	if (fseek(f, offset, SEEK_SET) == 0) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		p = strstr(buf, "(port ");
		if (p)
			port = (unsigned)strtoul(p + 6, NULL, 10);
	}
	fclose(f);
	return port;
}

static void hs_print_log(const struct helper_server *s)
{
	char buf[4096];
	FILE *f = fopen(s->log, "r");
	size_t n;

	if (!f)
		return;
	fprintf(stderr, "---- %s\n", s->log);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}

/* The last max bytes of the server's log, from a line start, on stderr:
 * what a test prints when a wait on the server runs out. */
void helper_server_log_tail(const struct helper_server *s, long max)
{
	char buf[4096];
	FILE *f = fopen(s->log, "r");
	long size;
	size_t n;
	int c;

	if (!f)
		return;
	fprintf(stderr, "---- the end of %s\n", s->log);
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > max &&
	    fseek(f, size - max, SEEK_SET) == 0) {
		while ((c = fgetc(f)) != EOF && c != '\n')
			;
	} else {
		rewind(f);
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "----\n");
	fclose(f);
}

static int hs_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

int helper_server_wait(struct helper_server *s, long ms)
{
	long t0 = hs_now_ms();
	int wstatus;

	if (!s->pid)
		return -1;
	do {
		pid_t r = waitpid(s->pid, &wstatus, WNOHANG);

		if (r == s->pid) {
			s->pid = 0;
			return hs_status(wstatus);
		}
		if (r < 0)
			return -1;
		hs_sleep_ms(10);
	} while (hs_now_ms() - t0 < ms);
	return -1;
}

int helper_server_start(struct helper_server *s, const char *const *extra)
{
	return helper_server_start_on(s, 0, extra);
}

int helper_server_start_on(struct helper_server *s, unsigned port,
			   const char *const *extra)
{
	const char *argv[HS_ARGS_MAX];
	long offset = hs_file_size(s->log), t0;
	int argc = 0, fd;
	struct helper_server_resp r;
	char listen[32];

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	for (const char *const *w = s->wrapper; w && *w && argc < 8; w++)
		argv[argc++] = *w;
	argv[argc++] = TB_SERVER_BIN;
	argv[argc++] = "serve";
	argv[argc++] = "--listen";
	argv[argc++] = listen;
	argv[argc++] = "--cert";
	argv[argc++] = s->cert;
	argv[argc++] = "--key";
	argv[argc++] = s->key;
	argv[argc++] = "--db";
	argv[argc++] = s->db;
	for (; extra && *extra && argc < HS_ARGS_MAX - 1; extra++)
		argv[argc++] = *extra;
	argv[argc] = NULL;
	s->pid = fork();
	if (s->pid < 0) {
		s->pid = 0;
		return -1;
	}
	if (s->pid == 0) {
		fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (s->wrapper) { /* libfaketime comes before ASan's runtime:
				     keep the caller's options, add this one */
			char opts[512];
			const char *old = getenv("ASAN_OPTIONS");

			snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0",
				 old ? old : "", old && old[0] ? ":" : "");
			setenv("ASAN_OPTIONS", opts, 1);
		}
		helper_proc_execv(argv);
		_exit(127);
	}
	s->port = 0;
	t0 = hs_now_ms();
	while (!s->port && hs_now_ms() - t0 < 20000) {
		s->port = hs_log_port(s->log, offset);
		if (!s->port && waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			break;
		}
		if (!s->port)
			hs_sleep_ms(20);
	}
	if (!s->port)
		goto fail;
	snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%u", s->port);
	if (s->no_health_check)
		return 0; /* MHD logs the port once it listens */
	while (hs_now_ms() - t0 < 20000) {
		int ok = helper_server_request(s, "GET", "/healthz", NULL, NULL,
					       NULL, NULL, 0, 0, &r) == 0 &&
			 r.status == 200;

		helper_server_resp_free(&r);
		if (ok)
			return 0;
		hs_sleep_ms(50);
	}
fail:
	hs_print_log(s);
	if (s->pid) {
		kill(s->pid, SIGKILL);
		helper_server_wait(s, 5000);
	}
	return -1;
}

void helper_server_signal(struct helper_server *s, int sig)
{
	if (s->pid)
		kill(s->pid, sig);
}

int helper_server_stop(struct helper_server *s)
{
	int st;

	if (!s->pid)
		return -1;
	kill(s->pid, SIGTERM);
	st = helper_server_wait(s, 30000);
	if (st < 0 && s->pid) {
		fprintf(stderr, "helper_server_stop: server pid %ld still "
			"running 30 s after SIGTERM: killing it\n",
			(long)s->pid);
		helper_server_log_tail(s, 3000);
		kill(s->pid, SIGKILL);
		helper_server_wait(s, 5000);
	}
	return st;
}

static int hs_rm(const char *path, const struct stat *sb, int flag,
		 struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void helper_server_teardown(struct helper_server *s)
{
	if (s->pid)
		helper_server_stop(s);
	if (s->dir[0] && strncmp(s->dir, "/tmp/tb-server-test-", 20) == 0)
		nftw(s->dir, hs_rm, 16, FTW_DEPTH | FTW_PHYS);
	s->dir[0] = '\0';
	if (s->own_db && helper_pg_dropdb(s->db) == 0)
		s->own_db = 0; /* dropped once */
}

int helper_server_run(struct helper_server *s, char *out, size_t outlen,
		      const char *const *args)
{
	const char *argv[HS_ARGS_MAX];
	char errlog[HELPER_SERVER_PATH + 16];
	int argc = 0, pipefd[2], has_db = 0, wstatus = 0;
	size_t used = 0;
	long t0 = hs_now_ms();
	pid_t pid;

	argv[argc++] = TB_SERVER_BIN;
	for (; args && *args && argc < HS_ARGS_MAX - 3; args++) {
		if (strcmp(*args, "--db") == 0 || strcmp(*args, "--config") == 0)
			has_db = 1;
		argv[argc++] = *args;
	}
	if (!has_db) {
		argv[argc++] = "--db";
		argv[argc++] = s->db;
	}
	argv[argc] = NULL;
	snprintf(errlog, sizeof(errlog), "%s/cmd.err", s->dir);
	/* O_CLOEXEC: a child another thread forks meanwhile must not hold
	 * the write end (see helper_proc_run). */
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(pipefd[1], STDOUT_FILENO);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		close(pipefd[0]);
		helper_proc_execv(argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		struct pollfd p = { pipefd[0], POLLIN, 0 };
		char buf[4096];
		ssize_t n;

		if (hs_now_ms() - t0 > 30000) {
			kill(pid, SIGKILL);
			fprintf(stderr, "helper_server_run: `tienbo-server %s` "
				"still running after 30 s: killed (its stderr "
				"is in %s)\n", argv[1] ? argv[1] : "", errlog);
			break;
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(pipefd[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (out && outlen > 1 && used < outlen - 1) {
			size_t k = (size_t)n < outlen - 1 - used ? (size_t)n
								 : outlen - 1 - used;

			memcpy(out + used, buf, k);
			used += k;
		}
	}
	if (out && outlen)
		out[used] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &wstatus, 0) != pid)
		return -1;
	return hs_status(wstatus);
}

int helper_server_enroll(struct helper_server *s, const char *school,
			 const char *district, char *token)
{
	const char *args[] = { "enroll", "--school", school, "--name",
			       "Trường thử", "--district", district, NULL };

	return helper_server_run_token(s, args, token);
}

int helper_server_run_token(struct helper_server *s, const char *const *args,
			    char *token)
{
	char out[2048];
	char *last, *end;

	token[0] = '\0';
	if (helper_server_run(s, out, sizeof(out), args) != 0)
		return -1;
	end = out + strlen(out);
	while (end > out && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	last = strrchr(out, '\n');
	last = last ? last + 1 : out;
	if (strlen(last) != 64)
		return -1;
	memcpy(token, last, 65);
	return 0;
}

int helper_server_agent_init(const struct helper_server *s,
			     struct helper_server_agent *a, const char *url,
			     const char *school, const char *token)
{
	memset(a, 0, sizeof(*a));
	if (helper_proc_sandbox_make(&a->sb) != 0)
		return -1;
	return helper_server_agent_init_in(s, a, url, school, token);
}

int helper_server_agent_init_in(const struct helper_server *s,
				struct helper_server_agent *a, const char *url,
				const char *school, const char *token)
{
	struct helper_proc_result r;
	int ok;

	memset(&a->o, 0, sizeof(a->o));
	a->o.env = a->sb.env;
	a->o.timeout_ms = 30000;
	snprintf(a->school, sizeof(a->school), "%s", school);
	snprintf(a->token, sizeof(a->token), "%s", token);
	snprintf(a->db, sizeof(a->db), "%s/agent.db", a->sb.data);
	helper_proc_runl(&r, &a->o, TB_AGENT_BIN, "init", "--server",
			 url ? url : s->url, "--school", school, "--token",
			 token, "--ca-file", s->ca, "--data-dir", a->sb.data,
			 NULL);
	ok = r.exited && r.exit_code == 0 && r.out_len == 37 &&
	     r.out[36] == '\n';
	if (ok)
		memcpy(a->device, r.out, 36);
	else
		fprintf(stderr, "agent init failed (exit %d): %s%s\n",
			r.exit_code, r.out ? r.out : "", r.err ? r.err : "");
	helper_proc_free(&r);
	return ok ? 0 : -1;
}

void helper_server_agent_cleanup(struct helper_server_agent *a)
{
	helper_proc_sandbox_remove(&a->sb);
}

/* ---- HTTPS ------------------------------------------------------------ */

struct hs_buf {
	char *p;
	size_t len;
};

static size_t hs_write(char *data, size_t size, size_t n, void *arg)
{
	struct hs_buf *b = arg;
	size_t len = size * n;
	char *p = realloc(b->p, b->len + len + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, data, len);
	b->len += len;
	p[b->len] = '\0';
	b->p = p;
	return len;
}

/* Copies the value of header `name` ("Retry-After:") from one header
 * line into buf, blanks before it and the line end left out. */
static void hs_header_value(const char *data, size_t len, const char *name,
			    char *buf, size_t buflen)
{
	size_t i = strlen(name), k = 0;

	if (len <= i || strncasecmp(data, name, i) != 0)
		return;
	while (i < len && data[i] == ' ')
		i++;
	while (i < len && data[i] != '\r' && data[i] != '\n' && k + 1 < buflen)
		buf[k++] = data[i++];
	buf[k] = '\0';
}

static size_t hs_header(char *data, size_t size, size_t n, void *arg)
{
	struct helper_server_resp *r = arg;
	size_t len = size * n;

	hs_header_value(data, len, "Retry-After:", r->retry_after,
			sizeof(r->retry_after));
	hs_header_value(data, len, "Content-Type:", r->content_type,
			sizeof(r->content_type));
	hs_header_value(data, len, "Content-Disposition:",
			r->content_disposition,
			sizeof(r->content_disposition));
	return len;
}

struct hs_reader {
	const char *p;
	size_t left;
};

static size_t hs_read(char *dst, size_t size, size_t n, void *arg)
{
	struct hs_reader *rd = arg;
	size_t k = size * n < rd->left ? size * n : rd->left;

	if (k > 16384)
		k = 16384; /* several chunks */
	memcpy(dst, rd->p, k);
	rd->p += k;
	rd->left -= k;
	return k;
}

int helper_server_request(struct helper_server *s, const char *method,
			  const char *path, const char *token,
			  const char *ctype, const char *cenc,
			  const void *body, size_t len, int chunked,
			  struct helper_server_resp *r)
{
	struct curl_slist *h = NULL;
	struct hs_buf buf = { NULL, 0 };
	struct hs_reader rd = { body, len };
	char url[HELPER_SERVER_PATH], line[256];
	CURL *c;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	c = curl_easy_init();
	if (!c)
		return -1;
	snprintf(url, sizeof(url), "%s%s", s->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, s->ca);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hs_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hs_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->error);
	if (token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	snprintf(line, sizeof(line), "Content-Type:%s%s", ctype ? " " : "",
		 ctype ? ctype : "");
	h = curl_slist_append(h, line);
	if (cenc) {
		snprintf(line, sizeof(line), "Content-Encoding: %s", cenc);
		h = curl_slist_append(h, line);
	}
	if (s->extra_header)
		h = curl_slist_append(h, s->extra_header);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		if (chunked) {
			h = curl_slist_append(h, "Transfer-Encoding: chunked");
			curl_easy_setopt(c, CURLOPT_READFUNCTION, hs_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &rd);
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)len);
		}
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	else if (!r->error[0])
		snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(cc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	r->body = buf.p ? buf.p : calloc(1, 1);
	r->len = buf.len;
	return cc == CURLE_OK ? 0 : -1;
}

struct helper_server_slow {
	struct helper_server *s;
	char token[80];
	unsigned char *body;
	size_t off, len;
	atomic_int admitted;   /* the server answered "100 Continue" */
	atomic_int started;    /* admitted and the first body byte sent */
	atomic_int done;       /* the request has ended (status is set) */
	atomic_int release;
	long status;
	pthread_t thread;
};

static size_t hs_slow_read(char *dst, size_t size, size_t n, void *arg)
{
	struct helper_server_slow *sl = arg;
	size_t k;
	int i;

	/* curl asks for the body only once the server has answered the
	 * headers with "100 Continue" (it took the upload). The first byte
	 * goes at once; the next call means that has been sent: hold the
	 * rest. */
	if (sl->off > 0) {
		atomic_store(&sl->started, 1);
		for (i = 0; !atomic_load(&sl->release) && i < 3000; i++)
			hs_sleep_ms(10);
	}
	k = size * n < sl->len - sl->off ? size * n : sl->len - sl->off;
	if (sl->off == 0 && k > 1)
		k = 1;
	memcpy(dst, sl->body + sl->off, k);
	sl->off += k;
	return k;
}

static size_t hs_discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

/* Notes the interim "HTTP/1.1 100 Continue": MHD sends it only after the
 * server's first call on the request returned without a response, i.e.
 * once the upload was authenticated and holds its place. */
static size_t hs_slow_header(char *data, size_t size, size_t n, void *arg)
{
	struct helper_server_slow *sl = arg;
	size_t len = size * n;

	if (len >= 12 && strncmp(data, "HTTP/1.1 100", 12) == 0)
		atomic_store(&sl->admitted, 1);
	return len;
}

static void *hs_slow_thread(void *arg)
{
	struct helper_server_slow *sl = arg;
	struct curl_slist *h = NULL;
	char url[128], auth[128];
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	snprintf(url, sizeof(url), "%s/v1/batches", sl->s->url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", sl->token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Content-Encoding: gzip");
	h = curl_slist_append(h, "Transfer-Encoding: chunked");
	/* Waiting for 100 Continue is what tells the test the server holds
	 * the upload, not merely that its first bytes left this process. */
	h = curl_slist_append(h, "Expect: 100-continue");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, sl->s->ca);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, hs_slow_read);
	curl_easy_setopt(c, CURLOPT_READDATA, sl);
	curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 60000L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hs_slow_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, sl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hs_discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &sl->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	atomic_store(&sl->done, 1);
	return NULL;
}

struct helper_server_slow *helper_server_slow_start(struct helper_server *s,
						     const char *token,
						     const void *gz,
						     size_t len)
{
	struct helper_server_slow *sl = calloc(1, sizeof(*sl));

	if (!sl)
		return NULL;
	sl->s = s;
	snprintf(sl->token, sizeof(sl->token), "%s", token);
	sl->body = malloc(len ? len : 1);
	if (!sl->body) {
		free(sl);
		return NULL;
	}
	memcpy(sl->body, gz, len);
	sl->len = len;
	if (pthread_create(&sl->thread, NULL, hs_slow_thread, sl) != 0) {
		free(sl->body);
		free(sl);
		return NULL;
	}
	return sl;
}

int helper_server_slow_started(const struct helper_server_slow *sl)
{
	return atomic_load(&sl->started);
}

int helper_server_slow_wait(const struct helper_server_slow *sl,
			    long timeout_ms)
{
	long t0 = hs_now_ms();

	if (!sl)
		return -1;
	while (hs_now_ms() - t0 < timeout_ms) {
		if (atomic_load(&sl->started))
			return 1;
		if (atomic_load(&sl->done))
			return 0;
		hs_sleep_ms(5);
	}
	fprintf(stderr, "helper_server_slow_wait: no \"100 Continue\" for "
		"the held upload to %s within %ld ms (admitted %d)\n",
		sl->s->url, timeout_ms, atomic_load(&sl->admitted));
	helper_server_log_tail(sl->s, 2000);
	return -1;
}

long helper_server_slow_finish(struct helper_server_slow *sl)
{
	long status;

	if (!sl)
		return 0;
	atomic_store(&sl->release, 1);
	pthread_join(sl->thread, NULL);
	status = sl->status;
	free(sl->body);
	free(sl);
	return status;
}

int helper_server_post(struct helper_server *s, const char *token,
		       const char *json, struct helper_server_resp *r)
{
	unsigned char *gz = NULL;
	size_t gzlen = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	if (tb_gz_compress(json, strlen(json), -1, &gz, &gzlen) != 0)
		return -1;
	rc = helper_server_request(s, "POST", "/v1/batches", token,
				   "application/json", "gzip", gz, gzlen, 0, r);
	tb_free(gz);
	return rc;
}

void helper_server_resp_free(struct helper_server_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

void helper_server_id(unsigned tag, int64_t seq, char *id)
{
	snprintf(id, 37, "%08x-0000-4000-8000-%012llx", tag,
		 (unsigned long long)seq & 0xffffffffffffULL);
}

char *helper_server_batch(const char *device, const char *school,
			  int64_t first, int n, unsigned tag, int revision,
			  int voided)
{
	size_t cap = 256 + (size_t)n * 400, used;
	char *out = malloc(cap), id[37];
	int i, k;

	if (!out)
		return NULL;
	k = snprintf(out, cap, "{\"version\":1,\"device\":\"%s\",\"school\":"
		     "\"%s\",\"first_seq\":%lld,\"last_seq\":%lld,\"events\":[",
		     device, school, (long long)first, (long long)(first + n - 1));
	used = (size_t)k;
	for (i = 0; i < n; i++) {
		int64_t seq = first + i;

		helper_server_id(tag, seq, id);
		k = snprintf(out + used, cap - used,
			     "%s{\"id\":\"%s\",\"seq\":%lld,\"kind\":\"outreach\","
			     "\"date\":\"2025-11-20\",\"revision\":%d,"
			     "\"recorded_at\":\"2025-11-20T08:15:00Z\"%s,"
			     "\"title\":\"event %lld r%d\",\"parents\":%lld}",
			     i ? "," : "", id, (long long)seq, revision,
			     voided ? ",\"voided\":true,\"void_reason\":\"entered twice\""
				    : "",
			     (long long)seq, revision, (long long)seq);
		used += (size_t)k;
	}
	snprintf(out + used, cap - used, "]}");
	return out;
}

/* One integer from the SQLite file at path (an agent's), read-only. */
int64_t helper_server_db_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

int helper_server_is_pg(const struct helper_server *s)
{
	return tb_sql_is_url(s->db);
}

struct tb_sql *helper_server_open_db(const struct helper_server *s)
{
	/* read-only: neither created nor migrated; 10 s for a busy file */
	struct tb_db_opts o = {10000, 0, 1, 0};
	struct tb_sql *c = NULL;
	char msg[512] = "";

	if (tb_db_open(s->db, &o, &c, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "helper_server: cannot open the server's "
			"database: %s\n", msg);
		return NULL;
	}
	return c;
}

/* The first column of sql's one row on the server's database, as text
 * (malloc'd; NULL for a NULL) into *text and as an integer into *n;
 * 0, or -1 after saying why (no row, an error, out of memory). */
static int hs_query(const struct helper_server *s, const char *sql,
		    int64_t *n, char **text)
{
	struct tb_sql *c = helper_server_open_db(s);
	struct tb_stmt *st = NULL;
	const char *t;
	int rc = -1;

	if (!c)
		return -1;
	if (tb_sql_prepare(c, sql, 0, &st) != 0 ||
	    tb_sql_step(st) != TB_SQL_ROW) {
		fprintf(stderr, "helper_server: %s: %s\n", sql,
			tb_sql_errmsg(c));
		goto out;
	}
	if (n)
		*n = tb_sql_column_int64(st, 0);
	if (text) {
		t = tb_sql_column_text(st, 0);
		*text = t ? strdup(t) : NULL;
		if (t && !*text)
			goto out;
	}
	rc = 0;
out:
	tb_sql_finalize(st);
	tb_sql_close(c);
	return rc;
}

int64_t helper_server_count(struct helper_server *s, const char *sql)
{
	int64_t n = -1;

	return hs_query(s, sql, &n, NULL) == 0 ? n : -1;
}

int helper_server_query_int64(const struct helper_server *s, const char *sql,
			      int64_t *out)
{
	return hs_query(s, sql, out, NULL);
}

char *helper_server_query_text(const struct helper_server *s, const char *sql)
{
	char *t = NULL;

	return hs_query(s, sql, NULL, &t) == 0 ? t : NULL;
}

const char *helper_server_json(const struct helper_server *s, const char *col,
			       const char *key, int num, char *buf, size_t len)
{
	if (!helper_server_is_pg(s))
		snprintf(buf, len, "json_extract(%s, '$.%s')", col, key);
	else if (num)
		snprintf(buf, len, "CAST(CAST(%s AS jsonb)->>'%s' AS numeric)",
			 col, key);
	else
		snprintf(buf, len, "(CAST(%s AS jsonb)->>'%s')", col, key);
	return buf;
}

int64_t helper_server_countf(struct helper_server *s, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return helper_server_count(s, sql);
}

cJSON *helper_server_find_id(cJSON *arr, const char *id)
{
	cJSON *o;

	cJSON_ArrayForEach(o, arr) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "id");

		if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0)
			return o;
	}
	return NULL;
}

int helper_server_integrity(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) ==
		    SQLITE_OK &&
	    sqlite3_busy_timeout(db, 10000) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);

		ok = v && strcmp(v, "ok") == 0;
		if (!ok)
			fprintf(stderr, "%s: integrity_check: %s\n", path,
				v ? v : "(null)");
	} else {
		fprintf(stderr, "%s: integrity_check could not run: %s\n", path,
			db ? sqlite3_errmsg(db) : "out of memory");
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok ? 0 : -1;
}

/* PostgreSQL: every table of the database's schema reads through
 * (count(*) scans its heap), and amcheck finds every B-tree index
 * consistent with itself and with its table (bt_index_check with
 * heapallindexed: each row is in its indexes). */
static int hs_check_pg(struct tb_sql *c)
{
	static const char *const sql[] = {
		"SET client_min_messages = warning", /* no "already exists" */
		"CREATE EXTENSION IF NOT EXISTS amcheck",
		"DO $$DECLARE t text; n bigint; BEGIN"
		" FOR t IN SELECT quote_ident(table_name) FROM"
		" information_schema.tables WHERE table_schema ="
		" current_schema() AND table_type = 'BASE TABLE' LOOP"
		" EXECUTE 'SELECT count(*) FROM ' || t INTO n; END LOOP; END$$",
		"SELECT count(bt_index_check(i.indexrelid, true)) FROM pg_index i"
		" JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON"
		" a.oid = c.relam WHERE a.amname = 'btree' AND c.relnamespace ="
		" CAST(current_schema() AS regnamespace)",
	};
	char msg[512];

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if (tb_sql_exec(c, sql[i], msg, sizeof(msg)) != 0) {
			fprintf(stderr, "%s: integrity: %s: %s\n",
				tb_sql_name(c), sql[i], msg);
			return -1;
		}
	}
	return 0;
}

int helper_server_exec(const struct helper_server *s, const char *sql)
{
	struct tb_db_opts o = {10000, 0, 0, 0}; /* read-write */
	struct tb_sql *c = NULL;
	char msg[512] = "";
	int rc = tb_db_open(s->db, &o, &c, msg, sizeof(msg));

	if (rc == 0)
		rc = tb_sql_exec(c, sql, msg, sizeof(msg));
	if (rc != 0)
		fprintf(stderr, "helper_server: %s: %s\n", sql, msg);
	tb_sql_close(c);
	return rc == 0 ? 0 : -1;
}

struct tb_sql *helper_server_lock_writes(const struct helper_server *s)
{
	/* read-write: BEGIN IMMEDIATE needs it on SQLite */
	struct tb_db_opts o = {10000, 0, 0, 0};
	struct tb_sql *c = NULL;
	char msg[512] = "";
	int rc = tb_db_open(s->db, &o, &c, msg, sizeof(msg));

	if (rc == 0)
		rc = tb_sql_begin(c, 1);
	/* PostgreSQL's BEGIN takes no lock: EXCLUSIVE on the tables an
	 * upload writes lets readers in and holds writers, as SQLite's
	 * write lock does */
	if (rc == 0 && tb_sql_backend(c) == TB_SQL_PG)
		rc = tb_sql_exec(c, "LOCK TABLE devices, cursors, events,"
				 " event_history, rejections IN EXCLUSIVE MODE",
				 msg, sizeof(msg));
	if (rc != 0) {
		fprintf(stderr, "helper_server: cannot lock the server's "
			"database: %s\n", c ? tb_sql_errmsg(c) : msg);
		tb_sql_close(c);
		return NULL;
	}
	return c;
}

int helper_server_check(const struct helper_server *s)
{
	struct tb_sql *c = helper_server_open_db(s);
	struct tb_stmt *st = NULL;
	const char *v = NULL;
	int ok = 0;

	if (!c)
		return -1;
	if (tb_sql_backend(c) == TB_SQL_PG) {
		ok = hs_check_pg(c) == 0;
	} else if (tb_sql_prepare(c, "PRAGMA integrity_check", 0, &st) == 0 &&
		   tb_sql_step(st) == TB_SQL_ROW) {
		v = tb_sql_column_text(st, 0);
		ok = v && strcmp(v, "ok") == 0;
		if (!ok)
			fprintf(stderr, "%s: integrity_check: %s\n", s->db,
				v ? v : "(null)");
	} else {
		fprintf(stderr, "%s: integrity_check could not run: %s\n",
			s->db, tb_sql_errmsg(c));
	}
	tb_sql_finalize(st);
	tb_sql_close(c);
	return ok ? 0 : -1;
}

long helper_server_vmhwm_kb(const struct helper_server *s)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (!s->pid)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* ---- a well-behaved uploader beside the test -------------------------- */

struct helper_server_feed {
	struct helper_server *s;
	char token[80], device[40], school[40];
	unsigned tag;
	int n, max, sent, ok;
	atomic_int stop;
	pthread_t thread;
};

static void *hs_feed_thread(void *arg)
{
	struct helper_server_feed *f = arg;
	long t0 = hs_now_ms();

	while (!atomic_load(&f->stop) && f->sent < f->max &&
	       hs_now_ms() - t0 < 120000) {
		int64_t first = 1 + (int64_t)f->sent * f->n;
		char *json = helper_server_batch(f->device, f->school, first,
						 f->n, f->tag, 1, 0);
		struct helper_server_resp r;
		struct tb_ack ack;
		char msg[128];

		memset(&r, 0, sizeof(r));
		tb_ack_init(&ack);
		if (json && helper_server_post(f->s, f->token, json, &r) == 0 &&
		    r.status == 200 &&
		    tb_ack_decode(r.body, r.len, &ack, msg, sizeof(msg)) == 0 &&
		    ack.accepted == f->n &&
		    ack.committed_through == first + f->n - 1)
			f->ok++;
		else
			fprintf(stderr, "feed: batch %d: status %ld %s\n",
				f->sent + 1, r.status, r.body ? r.body : "");
		f->sent++;
		tb_ack_clear(&ack);
		helper_server_resp_free(&r);
		free(json);
	}
	return NULL;
}

struct helper_server_feed *helper_server_feed_start(struct helper_server *s,
						     const char *token,
						     const char *device,
						     const char *school,
						     unsigned tag, int n,
						     int max)
{
	struct helper_server_feed *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->s = s;
	snprintf(f->token, sizeof(f->token), "%s", token);
	snprintf(f->device, sizeof(f->device), "%s", device);
	snprintf(f->school, sizeof(f->school), "%s", school);
	f->tag = tag;
	f->n = n;
	f->max = max;
	if (pthread_create(&f->thread, NULL, hs_feed_thread, f) != 0) {
		free(f);
		return NULL;
	}
	return f;
}

int helper_server_feed_stop(struct helper_server_feed *f, int *ok)
{
	int sent;

	if (!f)
		return 0;
	atomic_store(&f->stop, 1);
	pthread_join(f->thread, NULL);
	sent = f->sent;
	if (ok)
		*ok = f->ok;
	free(f);
	return sent;
}
