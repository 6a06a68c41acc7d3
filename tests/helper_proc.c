/* helper_proc.c - run a binary from a test and capture what it does, or
 * drive it through a pseudo-terminal (see helper_proc.h).
 *
 * Linked into every test executable. Uses fork/exec, pipes and poll; the
 * pseudo-terminal comes from posix_openpt/grantpt/unlockpt (no -lutil);
 * a background child writes to files and is watched with waitid(WNOWAIT).
 * Every wait is bounded by a timeout, after which the child is killed.
 */
#define _GNU_SOURCE /* pipe2 */
#define _XOPEN_SOURCE 700
#include "tests/helper_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdarg.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 30000

static long long helper_proc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

long long helper_proc_now_ms(void)
{
	return helper_proc_now_us() / 1000;
}

void helper_proc_sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

struct helper_proc_buf {
	char *p;
	size_t len, cap;
};

static int helper_proc_append(struct helper_proc_buf *b, const char *data,
			      size_t n)
{
	char *np;
	size_t cap;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void helper_proc_execv(const char *const argv[])
{
	const char *wrapper = getenv("TB_TEST_WRAPPER"), *base, *full[128];
	char words[1024], *save = NULL, *tok;
	size_t n = 0, i;

	base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (wrapper && *wrapper && strncmp(base, "tienbo-", 7) == 0 &&
	    strlen(wrapper) < sizeof(words)) {
		snprintf(words, sizeof(words), "%s", wrapper);
		for (tok = strtok_r(words, " \t", &save); tok && n < 64;
		     tok = strtok_r(NULL, " \t", &save))
			full[n++] = tok;
		for (i = 0; argv[i] && n < 127; i++)
			full[n++] = argv[i];
		full[n] = NULL;
		if (n > 0 && !argv[i]) {
			execvp(full[0], (char *const *)full);
			return;
		}
	}
	execv(argv[0], (char *const *)argv);
}

/* In the child: environment, limits, identity, then exec. Never returns. */
static void helper_proc_exec(const char *const argv[],
			     const struct helper_proc_opts *o)
{
	const char *const *e;
	struct rlimit rl;
	char *eq, kv[4096];

	/* English, whatever the machine running the tests speaks: the tests
	 * look for the source strings. A test of another language sets LANG
	 * (and LANGUAGE, LC_*) in o->env, which comes after. */
	unsetenv("LANGUAGE");
	unsetenv("LC_ALL");
	unsetenv("LC_MESSAGES");
	setenv("LANG", "C.UTF-8", 1);
	for (e = o->env; e && *e; e++) {
		snprintf(kv, sizeof(kv), "%s", *e);
		eq = strchr(kv, '=');
		if (!eq)
			continue;
		*eq = '\0';
		setenv(kv, eq + 1, 1);
	}
	if (o->fsize_limit > 0) {
		signal(SIGXFSZ, SIG_IGN); /* ignored signals survive exec */
		rl.rlim_cur = rl.rlim_max = (rlim_t)o->fsize_limit;
		setrlimit(RLIMIT_FSIZE, &rl);
	}
	if (o->cwd && chdir(o->cwd) != 0)
		_exit(126);
	if (o->drop_to_nobody && getuid() == 0) {
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
		    setuid(65534) != 0)
			_exit(126);
	}
	helper_proc_execv(argv);
	_exit(127);
}

static void helper_proc_reap(pid_t pid, struct helper_proc_result *r)
{
	struct rusage ru;
	int status = 0;

	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	r->maxrss_kb = ru.ru_maxrss;
	if (WIFEXITED(status)) {
		r->exited = 1;
		r->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		r->signal = WTERMSIG(status);
	}
}

/* "ARGV0 ARGV1 ARGV2 ...", for messages about a child. */
static void helper_proc_describe(const char *const argv[], char *buf,
				 size_t len)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; argv[i] && i < 4 && used + 1 < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? " " : "",
				 argv[i]);

		if (n < 0)
			break;
		used += (size_t)n < len - used ? (size_t)n : len - used - 1;
	}
	if (argv[0] && argv[1] && i == 4 && argv[4] && used + 4 < len)
		snprintf(buf + used, len - used, " ...");
}

/* The last few lines of text (at most max bytes), for a diagnosis. */
static const char *helper_proc_tail(const char *text, size_t max)
{
	size_t len;
	const char *p;

	if (!text)
		return "";
	len = strlen(text);
	if (len <= max)
		return text;
	p = text + len - max;
	while (*p && *p != '\n')
		p++;
	return *p ? p + 1 : text + len - max;
}

/* 1 once the child has ended (it is left to be reaped), else 0. */
static int helper_proc_ended(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return 1;
	return si.si_pid != 0;
}

/* How long the outputs may stay open after the child has ended: only a
 * process the child left behind, or one that inherited the pipes, holds
 * them then, and the test must not wait on it. */
#define HELPER_PROC_LINGER_US 2000000LL

/* Pumps stdin in and stdout/stderr out until both outputs close, or the
 * child has ended and they stay open HELPER_PROC_LINGER_US longer, or the
 * deadline passes (then the child is killed and this is said on stderr,
 * with the command and the last lines of its stderr). */
static void helper_proc_pump(const char *const argv[], pid_t pid, int in_fd,
			     int out_fd, int err_fd,
			     const struct helper_proc_opts *o,
			     struct helper_proc_result *r)
{
	long long ended_at = 0;
	char what[512];
	struct helper_proc_buf out = { 0 }, err = { 0 };
	long long start = helper_proc_now_us(), now, deadline, kill_at;
	size_t in_off = 0;
	struct pollfd fds[3];
	char buf[65536];
	ssize_t n;
	int killed = 0, nfds, timeout, i;

	deadline = start + 1000LL * (o->timeout_ms > 0 ? o->timeout_ms
						       : DEFAULT_TIMEOUT_MS);
	kill_at = o->kill_after_us > 0 ? start + o->kill_after_us : 0;
	if (in_fd >= 0 && o->in_len == 0) {
		close(in_fd);
		in_fd = -1;
	}
	while (out_fd >= 0 || err_fd >= 0) {
		now = helper_proc_now_us();
		if (!killed && ((kill_at && now >= kill_at) || now >= deadline)) {
			kill(pid, SIGKILL);
			killed = 1;
			r->timed_out = now >= deadline;
		}
		if (!ended_at && helper_proc_ended(pid))
			ended_at = now;
		if (ended_at && now - ended_at > HELPER_PROC_LINGER_US) {
			helper_proc_describe(argv, what, sizeof(what));
			fprintf(stderr, "helper_proc: `%s` (pid %ld) has ended "
				"but its output is still open in another "
				"process; stopped reading it\n", what,
				(long)pid);
			break;
		}
		nfds = 0;
		fds[nfds++] = (struct pollfd){ out_fd, POLLIN, 0 };
		fds[nfds++] = (struct pollfd){ err_fd, POLLIN, 0 };
		fds[nfds++] = (struct pollfd){ in_fd, POLLOUT, 0 };
		timeout = 50;
		if (kill_at && !killed && kill_at - now < 50000)
			timeout = (int)((kill_at - now) / 1000);
		poll(fds, (nfds_t)nfds, timeout < 0 ? 0 : timeout);
		for (i = 0; i < 2; i++) {
			int *fd = i == 0 ? &out_fd : &err_fd;

			if (*fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP |
							   POLLERR)))
				continue;
			n = read(*fd, buf, sizeof(buf));
			if (n > 0)
				helper_proc_append(i == 0 ? &out : &err, buf,
						   (size_t)n);
			else if (n == 0 || errno != EINTR) {
				close(*fd);
				*fd = -1;
			}
		}
		if (in_fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR |
						     POLLHUP))) {
			n = write(in_fd, o->in + in_off, o->in_len - in_off);
			if (n > 0)
				in_off += (size_t)n;
			if (n < 0 || in_off >= o->in_len) {
				close(in_fd);
				in_fd = -1;
			}
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	helper_proc_append(&out, "", 0);
	helper_proc_append(&err, "", 0);
	if (r->timed_out) {
		helper_proc_describe(argv, what, sizeof(what));
		fprintf(stderr, "helper_proc: `%s` (pid %ld) still running "
			"after %d ms: killed. Its last stderr:\n%s\n", what,
			(long)pid, o->timeout_ms > 0 ? o->timeout_ms
						     : DEFAULT_TIMEOUT_MS,
			helper_proc_tail(err.p, 1500));
	}
	r->out = out.p;
	r->out_len = out.len;
	r->err = err.p;
	r->err_len = err.len;
	helper_proc_reap(pid, r);
}

int helper_proc_run(const char *const argv[],
		    const struct helper_proc_opts *o,
		    struct helper_proc_result *r)
{
	static const struct helper_proc_opts none = { 0 };
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (!o)
		o = &none;
	/* O_CLOEXEC: a test may run children from several threads (the
	 * soak's recorders, its server restarts); without it a child forked
	 * by another thread inherits these write ends and keeps them open,
	 * so our reads never see end of file while that child lives. */
	if (pipe2(pin, O_CLOEXEC) != 0 || pipe2(pout, O_CLOEXEC) != 0 ||
	    pipe2(perr, O_CLOEXEC) != 0)
		goto fail;
	signal(SIGPIPE, SIG_IGN);
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(o->in ? pin[0] : devnull, 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		close(perr[0]);
		close(perr[1]);
		if (devnull > 2)
			close(devnull);
		signal(SIGPIPE, SIG_DFL);
		helper_proc_exec(argv, o);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	if (!o->in) {
		close(pin[1]);
		pin[1] = -1;
	}
	fcntl(pout[0], F_SETFL, O_NONBLOCK);
	fcntl(perr[0], F_SETFL, O_NONBLOCK);
	if (pin[1] >= 0)
		fcntl(pin[1], F_SETFL, O_NONBLOCK);
	helper_proc_pump(argv, pid, pin[1], pout[0], perr[0], o, r);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	return -1;
}

void helper_proc_free(struct helper_proc_result *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* ---- pseudo-terminal ---------------------------------------------------- */

struct helper_proc_pty {
	pid_t pid;
	int master;
	struct helper_proc_buf out;
	size_t mark;  /* output before this has been matched already */
	int exited, code;
};

struct helper_proc_pty *helper_proc_pty_start(const char *const argv[],
					      const char *const env[])
{
	struct helper_proc_opts o = { 0 };
	struct helper_proc_pty *p = calloc(1, sizeof(*p));
	const char *name;
	int slave;

	if (!p)
		return NULL;
	p->master = posix_openpt(O_RDWR | O_NOCTTY);
	if (p->master >= 0)
		fcntl(p->master, F_SETFD, FD_CLOEXEC);
	if (p->master < 0 || grantpt(p->master) != 0 ||
	    unlockpt(p->master) != 0 || !(name = ptsname(p->master))) {
		if (p->master >= 0)
			close(p->master);
		free(p);
		return NULL;
	}
	o.env = env;
	p->pid = fork();
	if (p->pid == 0) {
		setsid();
		slave = open(name, O_RDWR);
		if (slave < 0)
			_exit(126);
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
		close(p->master);
		helper_proc_exec(argv, &o);
	}
	if (p->pid < 0) {
		close(p->master);
		free(p);
		return NULL;
	}
	fcntl(p->master, F_SETFL, O_NONBLOCK);
	helper_proc_append(&p->out, "", 0);
	return p;
}

/* Reads what is there within wait_ms; 0, or -1 at end of output. */
static int helper_proc_pty_read(struct helper_proc_pty *p, int wait_ms)
{
	struct pollfd fd = { p->master, POLLIN, 0 };
	char buf[4096];
	ssize_t n;

	if (poll(&fd, 1, wait_ms) <= 0)
		return 0;
	n = read(p->master, buf, sizeof(buf));
	if (n > 0)
		return helper_proc_append(&p->out, buf, (size_t)n);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1; /* EIO: the slave side is closed */
}

int helper_proc_pty_expect(struct helper_proc_pty *p, const char *needle,
			   int timeout_ms)
{
	long long deadline = helper_proc_now_us() + 1000LL * timeout_ms;
	const char *hit;

	for (;;) {
		hit = p->out.p ? strstr(p->out.p + p->mark, needle) : NULL;
		if (hit) {
			p->mark = (size_t)(hit - p->out.p) + strlen(needle);
			return 0;
		}
		if (helper_proc_now_us() >= deadline ||
		    helper_proc_pty_read(p, 50) < 0)
			return -1;
	}
}

int helper_proc_pty_send(struct helper_proc_pty *p, const char *text)
{
	size_t off = 0, len = strlen(text);
	ssize_t n;
	int tries = 0;

	while (off < len && tries++ < 1000) {
		n = write(p->master, text + off, len - off);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		else
			helper_proc_pty_read(p, 5);
	}
	return off == len ? 0 : -1;
}

int helper_proc_pty_eof(struct helper_proc_pty *p)
{
	struct termios t;
	char eof[2] = { 4, 0 };

	if (tcgetattr(p->master, &t) == 0 && t.c_cc[VEOF])
		eof[0] = (char)t.c_cc[VEOF];
	return helper_proc_pty_send(p, eof);
}

int helper_proc_pty_wait(struct helper_proc_pty *p, int timeout_ms)
{
	long long deadline = helper_proc_now_us() + 1000LL * timeout_ms;
	int status = 0;
	pid_t w;

	if (p->exited)
		return p->code;
	for (;;) {
		helper_proc_pty_read(p, 20);
		w = waitpid(p->pid, &status, WNOHANG);
		if (w == p->pid)
			break;
		if (helper_proc_now_us() >= deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			p->exited = 1;
			p->code = -1;
			return -1;
		}
	}
	while (helper_proc_pty_read(p, 20) == 0 &&
	       helper_proc_now_us() < deadline) {
		struct pollfd fd = { p->master, POLLIN, 0 };

		if (poll(&fd, 1, 0) <= 0)
			break;
	}
	p->exited = 1;
	p->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return p->code;
}

const char *helper_proc_pty_output(const struct helper_proc_pty *p)
{
	return p->out.p ? p->out.p : "";
}

void helper_proc_pty_free(struct helper_proc_pty *p)
{
	if (!p)
		return;
	if (!p->exited) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	close(p->master);
	free(p->out.p);
	free(p);
}

/* ---- background children ----------------------------------------------- */

int helper_proc_bg_start(struct helper_proc_bg *bg, const char *const argv[],
			 const struct helper_proc_opts *o, const char *dir,
			 const char *name)
{
	static const struct helper_proc_opts none = { 0 };
	int fd_out, fd_err;

	memset(bg, 0, sizeof(*bg));
	if (!o)
		o = &none;
	snprintf(bg->out_path, sizeof(bg->out_path), "%s/%s.out", dir, name);
	snprintf(bg->err_path, sizeof(bg->err_path), "%s/%s.err", dir, name);
	fd_out = open(bg->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0600);
	fd_err = open(bg->err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0600);
	if (fd_out < 0 || fd_err < 0)
		goto fail;
	bg->pid = fork();
	if (bg->pid < 0) {
		bg->pid = 0;
		goto fail;
	}
	if (bg->pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, 0);
		dup2(fd_out, 1);
		dup2(fd_err, 2);
		signal(SIGPIPE, SIG_DFL);
		helper_proc_exec(argv, o);
	}
	close(fd_out);
	close(fd_err);
	return 0;
fail:
	if (fd_out >= 0)
		close(fd_out);
	if (fd_err >= 0)
		close(fd_err);
	return -1;
}

void helper_proc_bg_signal(struct helper_proc_bg *bg, int sig)
{
	if (bg->pid > 0)
		kill(bg->pid, sig);
}

int helper_proc_bg_running(struct helper_proc_bg *bg)
{
	siginfo_t si;

	if (bg->pid <= 0)
		return 0;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)bg->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return 0;
	return si.si_pid == 0;
}

int helper_proc_bg_wait(struct helper_proc_bg *bg, int timeout_ms,
			struct helper_proc_result *r)
{
	long long deadline = helper_proc_now_us() + 1000LL * timeout_ms;
	struct timespec nap = { 0, 10 * 1000000L };
	int timed_out = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (bg->pid <= 0)
		return -1;
	while (helper_proc_bg_running(bg)) {
		if (helper_proc_now_us() >= deadline) {
			kill(bg->pid, SIGKILL);
			timed_out = 1;
			break;
		}
		nanosleep(&nap, NULL);
	}
	pid = bg->pid;
	helper_proc_reap(pid, r);
	bg->pid = 0;
	r->timed_out = timed_out;
	r->out = helper_proc_read_file(bg->out_path, &r->out_len);
	r->err = helper_proc_read_file(bg->err_path, &r->err_len);
	if (!r->out)
		r->out = calloc(1, 1);
	if (!r->err)
		r->err = calloc(1, 1);
	if (timed_out)
		fprintf(stderr, "helper_proc: background child %ld (%s) still "
			"running after %d ms: killed. The end of its stderr:\n"
			"%s\n", (long)pid, bg->err_path, timeout_ms,
			helper_proc_tail(r->err, 1500));
	return 0;
}

/* ---- conveniences ------------------------------------------------------- */

int helper_proc_exited_with(const struct helper_proc_result *r, int code)
{
	if (r->exited && r->exit_code == code)
		return 1;
	fprintf(stderr,
		"exit %d (signal %d%s), wanted %d\nstdout: %s\nstderr: %s\n",
		r->exited ? r->exit_code : -1, r->signal,
		r->timed_out ? ", timed out" : "", code, r->out ? r->out : "",
		r->err ? r->err : "");
	return 0;
}

int helper_proc_runl(struct helper_proc_result *r,
		     const struct helper_proc_opts *o, const char *bin, ...)
{
	const char *argv[64];
	va_list ap;
	int n = 0;

	argv[n++] = bin;
	va_start(ap, bin);
	while (n < 63 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return helper_proc_run(argv, o, r);
}

int helper_proc_sandbox_make(struct helper_proc_sandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
	snprintf(sb->dir, sizeof(sb->dir), "/tmp/tienbo-test.XXXXXX");
	if (!mkdtemp(sb->dir))
		return -1;
	chmod(sb->dir, 0755); /* so a test can run the agent as nobody */
	snprintf(sb->config, sizeof(sb->config), "%s/agent.conf", sb->dir);
	snprintf(sb->data, sizeof(sb->data), "%s/data", sb->dir);
	snprintf(sb->vars[0], sizeof(sb->vars[0]), "HOME=%s", sb->dir);
	snprintf(sb->vars[1], sizeof(sb->vars[1]), "TIENBO_CONFIG=%s",
		 sb->config);
	snprintf(sb->vars[2], sizeof(sb->vars[2]),
		 "XDG_CONFIG_HOME=%s/xdg-config", sb->dir);
	snprintf(sb->vars[3], sizeof(sb->vars[3]),
		 "XDG_DATA_HOME=%s/xdg-data", sb->dir);
	for (int i = 0; i < 4; i++)
		sb->env[i] = sb->vars[i];
	sb->env[4] = NULL;
	return 0;
}

int helper_proc_sandbox_agent(const struct helper_proc_sandbox *sb,
			      const char *token, char *device)
{
	struct helper_proc_opts o = { 0 };
	struct helper_proc_result r;
	int ok;

	o.env = sb->env;
	o.timeout_ms = 20000;
	if (helper_proc_runl(&r, &o, TB_AGENT_BIN, "init", "--server",
			     "https://127.0.0.1:1", "--school", "HB-001",
			     "--token", token, "--data-dir", sb->data,
			     NULL) != 0)
		return -1;
	ok = r.exited && r.exit_code == 0 && r.out_len == 37;
	if (ok && device) {
		memcpy(device, r.out, 36);
		device[36] = '\0';
	}
	helper_proc_free(&r);
	return ok ? 0 : -1;
}

static int helper_proc_rm_one(const char *path, const struct stat *sb,
			      int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0; /* keep going: remove what can be removed */
}

static int helper_proc_chmod_one(const char *path, const struct stat *sb,
				 int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, 0700);
	else if (sb && S_ISREG(sb->st_mode))
		chmod(path, 0600);
	return 0;
}

void helper_proc_sandbox_remove(struct helper_proc_sandbox *sb)
{
	if (!sb->dir[0] || strncmp(sb->dir, "/tmp/tienbo-test.", 17) != 0)
		return;
	chmod(sb->dir, 0700);
	nftw(sb->dir, helper_proc_chmod_one, 16, FTW_PHYS);
	nftw(sb->dir, helper_proc_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	sb->dir[0] = '\0';
}

int helper_proc_write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(data, 1, len, f) == len;
	ok = (fclose(f) == 0) && ok;
	return ok ? 0 : -1;
}

char *helper_proc_read_file(const char *path, size_t *len)
{
	struct helper_proc_buf b = { 0 };
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	helper_proc_append(&b, "", 0);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		helper_proc_append(&b, buf, n);
	fclose(f);
	if (len)
		*len = b.len;
	return b.p;
}

long helper_proc_arg_long(const char *prog, const char *opt, const char *s,
			  long min)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = s ? strtol(s, &end, 10) : 0;
	if (!s || !*s || *end || errno || v < min) {
		fprintf(stderr, "%s: %s needs a whole number >= %ld, not \"%s\"\n",
			prog, opt, min, s ? s : "");
		exit(64);
	}
	return v;
}
