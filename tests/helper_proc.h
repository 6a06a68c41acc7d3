/* helper_proc.h - run a real binary from a test: arguments, environment
 * and standard input in; exit code, stdout, stderr and peak RSS out; or
 * drive it through a pseudo-terminal as a person at a keyboard would.
 *
 * Linked into every test executable (tests/helper_*.c). Every wait is
 * bounded: a child still running at its timeout is killed with SIGKILL and
 * reported as such.
 */
#ifndef TB_TESTS_HELPER_PROC_H
#define TB_TESTS_HELPER_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct helper_proc_opts {
	const char *const *env;  /* "KEY=VALUE" to set (NULL-terminated) */
	const char *in;          /* standard input; NULL: /dev/null */
	size_t in_len;
	int timeout_ms;          /* 0: 30000 */
	long kill_after_us;      /* > 0: SIGKILL the child this long after
				  * it starts (crash tests) */
	int drop_to_nobody;      /* run as uid/gid 65534 (when root) */
	long fsize_limit;        /* > 0: RLIMIT_FSIZE in bytes, SIGXFSZ
				  * ignored, so writes past it fail EFBIG */
	const char *cwd;         /* NULL: inherited */
};

struct helper_proc_result {
	int exited;              /* 1: exit_code is valid */
	int exit_code;
	int signal;              /* the signal that ended it, or 0 */
	int timed_out;
	char *out;               /* NUL-terminated, malloc'd */
	size_t out_len;
	char *err;
	size_t err_len;
	long maxrss_kb;          /* peak resident set of the child */
};

/* Runs argv[0] (a path) with argv. 0, or -1 if it could not be started.
 * The result is filled in either way; free it with helper_proc_free. */
int helper_proc_run(const char *const argv[],
		    const struct helper_proc_opts *o,
		    struct helper_proc_result *r);
void helper_proc_free(struct helper_proc_result *r);

/* A child on a pseudo-terminal (its stdin, stdout and stderr). */
struct helper_proc_pty;

struct helper_proc_pty *helper_proc_pty_start(const char *const argv[],
					      const char *const env[]);
/* Waits until `needle` appears in the output after the previous match;
 * 0 when it does (the match is consumed), -1 on timeout or end of output. */
int helper_proc_pty_expect(struct helper_proc_pty *p, const char *needle,
			   int timeout_ms);
/* Types text (include "\n" for Enter). 0 or -1. */
int helper_proc_pty_send(struct helper_proc_pty *p, const char *text);
/* Sends end-of-input (Ctrl-D at the start of a line). */
int helper_proc_pty_eof(struct helper_proc_pty *p);
/* Waits for the child to end, reading its output; its exit code, or -1
 * (killed, or still running at the timeout: then it is killed). */
int helper_proc_pty_wait(struct helper_proc_pty *p, int timeout_ms);
/* Everything the child wrote so far (typed text echoed), NUL-terminated. */
const char *helper_proc_pty_output(const struct helper_proc_pty *p);
void helper_proc_pty_free(struct helper_proc_pty *p);

/* A child left running in the background while the test goes on (a
 * daemon, a sync to interrupt, a proxy): stdout and stderr go to files
 * dir/name.out and dir/name.err, so nothing has to be pumped meanwhile. */
struct helper_proc_bg {
	pid_t pid;               /* 0 once reaped */
	char out_path[400];
	char err_path[400];
};
/* Starts argv[0] with argv; o may be NULL (its env, cwd, fsize_limit
 * and drop_to_nobody apply; in, timeout_ms and kill_after_us do not).
 * 0 or -1. */
int helper_proc_bg_start(struct helper_proc_bg *bg, const char *const argv[],
			 const struct helper_proc_opts *o, const char *dir,
			 const char *name);
/* Sends sig (no-op once reaped). */
void helper_proc_bg_signal(struct helper_proc_bg *bg, int sig);
/* 1 while the child runs, 0 once it has ended (it is not reaped). */
int helper_proc_bg_running(struct helper_proc_bg *bg);
/* Waits up to timeout_ms for the child to end (then kills it and sets
 * r->timed_out), reaps it and fills r with its exit, peak RSS and the
 * contents of its output files. 0, or -1 if there was no child. */
int helper_proc_bg_wait(struct helper_proc_bg *bg, int timeout_ms,
			struct helper_proc_result *r);

/* 1 if the child exited with code; else 0, after printing its exit,
 * signal, stdout and stderr to stderr (for assert_true in a test). */
int helper_proc_exited_with(const struct helper_proc_result *r, int code);

/* execv(argv[0], argv) in a forked child, or, when the environment has
 * TB_TEST_WRAPPER and argv[0] is one of tienbo's binaries (its file name
 * starts with "tienbo-"), the wrapper's blank-separated words in front of
 * it, found on PATH: TB_TEST_WRAPPER="valgrind --leak-check=full" runs
 * every tienbo-agent and tienbo-server a test starts under valgrind
 * (scripts/valgrind.sh). Other programs (curl, openssl, the fault proxy)
 * run as they are. Returns only if the exec failed. */
void helper_proc_execv(const char *const argv[]);

/* The monotonic clock in milliseconds, and a sleep on it (resumed after
 * a signal), for the tests' bounded waits. */
/* A command-line number for option `opt` of program `prog`: the whole of s
 * a decimal number >= min, or a message on stderr and exit 64. */
long helper_proc_arg_long(const char *prog, const char *opt, const char *s,
			  long min);

long long helper_proc_now_ms(void);
void helper_proc_sleep_ms(long ms);

/* helper_proc_run with the arguments as a NULL-terminated list after
 * bin (at most 62 of them). */
int helper_proc_runl(struct helper_proc_result *r,
		     const struct helper_proc_opts *o, const char *bin, ...);

/* A private temporary directory for one test, and the environment that
 * points a tienbo binary's config and data there:
 *   HOME=dir  TIENBO_CONFIG=dir/agent.conf  XDG_CONFIG_HOME=dir/xdg-config
 *   XDG_DATA_HOME=dir/xdg-data
 * env is NULL-terminated, for helper_proc_opts.env. */
struct helper_proc_sandbox {
	char dir[256];
	char config[320];    /* dir/agent.conf */
	char data[320];      /* dir/data: where tests put the data dir */
	char vars[4][400];
	const char *env[5];
};
int helper_proc_sandbox_make(struct helper_proc_sandbox *sb);
/* Runs `TB_AGENT_BIN init` in the sandbox: server https://127.0.0.1:1
 * (nothing listens there), school HB-001, the given token, data dir
 * sb->data. The device id goes to device (37 bytes) if not NULL.
 * 0, or -1 if init failed. */
int helper_proc_sandbox_agent(const struct helper_proc_sandbox *sb,
			      const char *token, char *device);
/* rm -rf of the directory (after making it writable again). */
void helper_proc_sandbox_remove(struct helper_proc_sandbox *sb);

/* Whole-file helpers. write: 0 or -1. read: malloc'd, NUL-terminated,
 * or NULL; *len may be NULL. */
int helper_proc_write_file(const char *path, const char *data, size_t len);
char *helper_proc_read_file(const char *path, size_t *len);

#endif
