/* test_helper_proc.c - the test harness's own promise: every wait is
 * bounded, whatever other threads of the test start meanwhile.
 *
 * The soak hung for 600 s once: its recorder threads run short commands
 * with helper_proc_run while its killer thread starts the server again;
 * a server forked while a recorder's pipes were open inherited their
 * write ends, so the recorder never saw end of file and waited for the
 * server, which the test stops only after the recorders end. Here one
 * thread runs short children in a loop while the main thread starts
 * long-lived background children, and every run must come back in time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/helper_proc.h"

#define RUNS 100           /* short children run by the thread */
#define SLEEPERS 60        /* long-lived children started meanwhile */
#define LIMIT_MS 1500      /* a run of `sh -c 'echo x'` takes far less */

static atomic_int runs_done;
static atomic_long slowest_ms;
static atomic_int bad_output;

static void *runner(void *arg)
{
	struct helper_proc_opts o = { 0 };
	int i;

	(void)arg;
	o.timeout_ms = 20000;
	for (i = 0; i < RUNS; i++) {
		struct helper_proc_result r;
		long long t0 = helper_proc_now_ms();
		long ms;

		helper_proc_runl(&r, &o, "/bin/sh", "-c", "echo x", NULL);
		ms = (long)(helper_proc_now_ms() - t0);
		if (ms > atomic_load(&slowest_ms))
			atomic_store(&slowest_ms, ms);
		if (!r.exited || r.exit_code != 0 || !r.out ||
		    strcmp(r.out, "x\n") != 0)
			atomic_fetch_add(&bad_output, 1);
		helper_proc_free(&r);
		atomic_fetch_add(&runs_done, 1);
	}
	return NULL;
}

static void test_runs_while_others_fork(void **state)
{
	const char *argv[] = { "/bin/sleep", "60", NULL };
	struct helper_proc_bg bg[SLEEPERS];
	struct helper_proc_result r;
	char dir[] = "/tmp/tienbo-test.XXXXXX", name[16];
	pthread_t t;
	long long t0;
	int i, n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(pthread_create(&t, NULL, runner, NULL), 0);
	/* Fork long-lived children as fast as the runner forks its own,
	 * so some fork lands while the runner's pipes are open. */
	for (i = 0; i < SLEEPERS && atomic_load(&runs_done) < RUNS; i++) {
		snprintf(name, sizeof(name), "sleep%d", i);
		assert_int_equal(helper_proc_bg_start(&bg[n], argv, NULL, dir,
						      name), 0);
		n++;
		usleep(5000);
	}
	/* The sleepers live on while the runner finishes: bounded by its
	 * runs, not by them. */
	t0 = helper_proc_now_ms();
	while (atomic_load(&runs_done) < RUNS && helper_proc_now_ms() - t0 < 30000)
		usleep(10000);
	for (i = 0; i < n; i++) {
		helper_proc_bg_signal(&bg[i], SIGKILL);
		assert_int_equal(helper_proc_bg_wait(&bg[i], 5000, &r), 0);
		assert_int_equal(r.signal, SIGKILL);
		helper_proc_free(&r);
		snprintf(name, sizeof(name), "%s/sleep%d.out", dir, i);
		unlink(name);
		snprintf(name, sizeof(name), "%s/sleep%d.err", dir, i);
		unlink(name);
	}
	pthread_join(t, NULL);
	rmdir(dir);
	fprintf(stderr, "test_helper_proc: %d runs beside %d long-lived "
		"children, the slowest %ld ms\n", atomic_load(&runs_done), n,
		atomic_load(&slowest_ms));
	assert_int_equal(atomic_load(&runs_done), RUNS);
	assert_int_equal(atomic_load(&bad_output), 0);
	assert_true(n > 0);
	assert_true(atomic_load(&slowest_ms) < LIMIT_MS);
}

/* A child that leaves a grandchild holding its stdout: the run ends once
 * the child has, not when the grandchild does. */
static void test_run_not_held_by_grandchild(void **state)
{
	struct helper_proc_opts o = { 0 };
	struct helper_proc_result r;
	long long t0 = helper_proc_now_ms();
	long ms;

	(void)state;
	o.timeout_ms = 20000;
	assert_int_equal(helper_proc_runl(&r, &o, "/bin/sh", "-c",
					  "echo up; sleep 8 & exit 0", NULL),
			 0);
	ms = (long)(helper_proc_now_ms() - t0);
	assert_true(r.exited);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(r.out, "up\n");
	assert_true(ms < 6000);
	helper_proc_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_while_others_fork),
		cmocka_unit_test(test_run_not_held_by_grandchild),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
