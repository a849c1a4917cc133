/* test_proc_thread.c - a thread's state from /proc: this very thread
 * (running), a sleeping one and one that is gone. The stat file's text is
 * test_proc_stat's. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/proc_thread.h"

static int sleeper_pipe[2];
static pid_t sleeper_tid;

static void *sleeper(void *arg)
{
	(void)arg;
	sleeper_tid = (pid_t)syscall(SYS_gettid);
	char c = 1;
	assert_int_equal(write(sleeper_pipe[1], &c, 1), 1);
	/* blocks until the test is done: a sleeping thread */
	pthread_exit((void *)(intptr_t)read(sleeper_pipe[0], &c, 1));
}

static void test_read(void **state)
{
	(void)state;
	struct proc_thread_state st;
	pid_t self = (pid_t)syscall(SYS_gettid);
	assert_int_equal(proc_thread_read(getpid(), self, &st), 0);
	assert_int_equal(st.state, 'R');
	assert_string_equal(st.wchan, "");

	int ready[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(sleeper_pipe), 0);
	pthread_t t;
	/* the sleeper says it runs on sleeper_pipe, then reads ready[0] */
	int tmp = sleeper_pipe[0];
	sleeper_pipe[0] = ready[0];
	assert_int_equal(pthread_create(&t, NULL, sleeper, NULL), 0);
	char c;
	assert_int_equal(read(tmp, &c, 1), 1);
	/* it is in read() or about to be: wait for the state, bounded */
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(proc_thread_read(getpid(), sleeper_tid, &st), 0);
		if (st.state == 'S')
			break;
		usleep(1000);
	}
	assert_int_equal(st.state, 'S');
	assert_int_equal(write(ready[1], &c, 1), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(proc_thread_read(getpid(), sleeper_tid, &st), -ENOENT);
	close(ready[0]);
	close(ready[1]);
	close(tmp);
	close(sleeper_pipe[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
