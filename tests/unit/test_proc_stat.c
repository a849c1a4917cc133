/* test_proc_stat.c - the one reader of /proc/PID/stat: names holding
 * spaces, ')' and '(' (as "a) b (c"), text cut short anywhere, and the
 * real files of this process, of a child named "a) b (c" and of a zombie. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/proc_stat.h"

/* Fields 4 to 21 then the start time (22) and the rest of a real line. */
#define REST "1 1234 1234 0 -1 4194560 120 0 0 0 7 3 0 0 20 0 2 0 98765 12345678 300 18446744073709551615\n"

static int parse(const char *text, struct proc_stat *st)
{
	memset(st, 0x55, sizeof(*st));
	return proc_stat_parse(text, strlen(text), st);
}

static void test_parse_plain(void **state)
{
	(void)state;
	struct proc_stat st;
	assert_int_equal(parse("1234 (my prog) S " REST, &st), 0);
	assert_int_equal(st.pid, 1234);
	assert_string_equal(st.comm, "my prog");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.start_ticks, 98765);
	/* the first process of a namespace has parent 0 */
	assert_int_equal(parse("1 (init) S 0 1 1 0 -1 4194560 1 0 0 0 7 3 0 0 20 0 1 0 5 1 2 3\n", &st), 0);
	assert_int_equal(st.ppid, 0);
	assert_int_equal(st.start_ticks, 5);
}

static void test_parse_tricky_names(void **state)
{
	(void)state;
	struct proc_stat st;
	assert_int_equal(parse("77 (a) b (c) D " REST, &st), 0);
	assert_string_equal(st.comm, "a) b (c");
	assert_int_equal(st.state, 'D');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.start_ticks, 98765);
	/* a name that looks like the fields after it */
	assert_int_equal(parse("12 (x) R 99 9 ) T " REST, &st), 0);
	assert_string_equal(st.comm, "x) R 99 9 ");
	assert_int_equal(st.state, 'T');
	assert_int_equal(st.start_ticks, 98765);
	assert_int_equal(parse("13 () Z " REST, &st), 0);
	assert_string_equal(st.comm, "");
	assert_int_equal(st.state, 'Z');
	/* a name longer than the field keeps its first 63 bytes */
	char line[512];
	char name[101];
	memset(name, 'n', 100);
	name[100] = '\0';
	snprintf(line, sizeof(line), "14 (%s) S " REST, name);
	assert_int_equal(parse(line, &st), 0);
	assert_int_equal(strlen(st.comm), sizeof(st.comm) - 1);
	assert_int_equal(st.start_ticks, 98765);
}

static void test_parse_cut_short(void **state)
{
	(void)state;
	struct proc_stat st;
	const char whole[] = "77 (a) b (c) D " REST;
	/* every prefix that ends before the space after the start time */
	const char *start = strstr(whole, " 98765 ");
	assert_non_null(start);
	size_t need = (size_t)(start - whole) + strlen(" 98765 ");
	for (size_t n = 0; n < need; n++) {
		memset(&st, 0, sizeof(st));
		if (proc_stat_parse(whole, n, &st) != -EINVAL)
			fail_msg("a text cut to %zu bytes ('%.*s') parsed", n, (int)n, whole);
	}
	assert_int_equal(proc_stat_parse(whole, need, &st), 0);
	assert_int_equal(st.start_ticks, 98765);
	/* not the shape at all */
	assert_int_equal(parse("", &st), -EINVAL);
	assert_int_equal(parse("12 name S " REST, &st), -EINVAL);
	assert_int_equal(parse("(name) S " REST, &st), -EINVAL);
	assert_int_equal(parse("x12 (name) S " REST, &st), -EINVAL);
	assert_int_equal(parse("12 (name)S " REST, &st), -EINVAL);
	assert_int_equal(parse("12 (name) S x " REST, &st), -EINVAL);
	assert_int_equal(parse("12 (name) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 -5 x\n", &st), -EINVAL);
	assert_int_equal(
	    parse("12 (name) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99999999999999999999 x\n", &st), -EINVAL);
}

static void test_read_self(void **state)
{
	(void)state;
	struct proc_stat st;
	assert_int_equal(proc_stat_read(getpid(), 0, &st), 0);
	assert_int_equal(st.pid, getpid());
	assert_int_equal(st.ppid, getppid());
	assert_int_equal(st.state, 'R');
	assert_true(st.start_ticks > 0);
	struct proc_stat th;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	assert_int_equal(proc_stat_read(getpid(), tid, &th), 0);
	assert_int_equal(th.pid, tid);
	assert_int_equal(th.start_ticks, st.start_ticks);
}

/* A child named "a) b (c", read while it waits, then as a zombie, then gone. */
static void test_read_child(void **state)
{
	(void)state;
	int ready[2], go[2];
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* only the test holds go's write end: a failed test ends the child */
		close(go[1]);
		close(ready[0]);
		char c = 1;
		prctl(PR_SET_NAME, "a) b (c", 0, 0, 0);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	struct proc_stat st;
	assert_int_equal(proc_stat_read(pid, 0, &st), 0);
	assert_string_equal(st.comm, "a) b (c");
	assert_int_equal(st.pid, pid);
	assert_int_equal(st.ppid, getpid());
	assert_int_equal(proc_stat_read(pid, pid, &st), 0);
	assert_string_equal(st.comm, "a) b (c");
	/* let it exit; unreaped, it is a zombie (waitid WNOWAIT: it has exited) */
	assert_int_equal(write(go[1], &c, 1), 1);
	siginfo_t si;
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(proc_stat_read(pid, 0, &st), 0);
	assert_int_equal(st.state, 'Z');
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(proc_stat_read(pid, 0, &st), -ENOENT);
	assert_int_equal(proc_stat_read(pid, pid, &st), -ENOENT);
	close(ready[0]);
	close(go[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_plain),     cmocka_unit_test(test_parse_tricky_names),
	    cmocka_unit_test(test_parse_cut_short), cmocka_unit_test(test_read_self),
	    cmocka_unit_test(test_read_child),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
