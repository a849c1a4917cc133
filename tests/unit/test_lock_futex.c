/* test_lock_futex.c - the futex tracepoints' formats and raw samples, and
 * the ops as Rust std and glibc issue them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "capture/events.h"
#include "capture/lock_futex.h"

static const char enter_fmt[] = "name: sys_enter_futex\nID: 522\nformat:\n"
                                "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
                                "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
                                "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
                                "\tfield:u32 * uaddr;\toffset:16;\tsize:8;\tsigned:0;\n"
                                "\tfield:int op;\toffset:24;\tsize:8;\tsigned:0;\n"
                                "\tfield:u32 val;\toffset:32;\tsize:8;\tsigned:0;\n"
                                "\tfield:u32 * uaddr2;\toffset:48;\tsize:8;\tsigned:0;\n\n"
                                "print fmt: \"uaddr: 0x%08lx\", ((unsigned long)(REC->uaddr))\n";

static void test_parse(void **state)
{
	(void)state;
	const char *names[] = {"uaddr", "op", "val", "missing"};
	uint32_t offs[4] = {0, 0, 0, 99};
	uint16_t id = 0;
	assert_int_equal(futex_format_parse(enter_fmt, &id, names, offs, 4), 3);
	assert_int_equal(id, 522);
	assert_int_equal(offs[0], 16); /* not uaddr2's 48 */
	assert_int_equal(offs[1], 24);
	assert_int_equal(offs[2], 32);
	assert_int_equal(offs[3], 99);
	assert_int_equal(futex_format_parse("no id here", &id, names, offs, 4), -EPROTO);
	/* the shared reader (event_tracepoint_field()'s) gives the widths too */
	const char *pid_names[] = {"common_pid", "uaddr2", "common"};
	uint32_t po[3] = {0, 0, 7}, pz[3] = {0, 0, 7};
	assert_int_equal(event_format_fields(enter_fmt, pid_names, po, pz, 3), 2);
	assert_int_equal(po[0], 4);
	assert_int_equal(pz[0], 4);
	assert_int_equal(po[1], 48);
	assert_int_equal(pz[1], 8);
	assert_int_equal(po[2], 7); /* "common" is no field's last word */
	assert_int_equal(pz[2], 7);
}

static void test_decode(void **state)
{
	(void)state;
	struct futex_format f = {.enter_id = 522, .exit_id = 521, .uaddr = 16, .op = 24, .val = 32, .ret = 16};
	uint8_t raw[64] = {0};
	uint16_t id = 522;
	uint64_t uaddr = 0x7ffd1000, op = 9 | 128; /* Rust std: FUTEX_WAIT_BITSET_PRIVATE */
	memcpy(raw, &id, 2);
	memcpy(raw + 16, &uaddr, 8);
	memcpy(raw + 24, &op, 8);
	struct futex_event ev;
	futex_decode(&f, raw, sizeof(raw), &ev);
	assert_int_equal(ev.kind, FUTEX_EV_ENTER);
	assert_int_equal(ev.uaddr, uaddr);
	assert_int_equal(ev.op, 137);
	/* cut short: not decoded */
	futex_decode(&f, raw, 30, &ev);
	assert_int_equal(ev.kind, FUTEX_EV_NONE);
	id = 521;
	int64_t ret = -11; /* EAGAIN */
	memcpy(raw, &id, 2);
	memcpy(raw + 16, &ret, 8);
	futex_decode(&f, raw, 24, &ev);
	assert_int_equal(ev.kind, FUTEX_EV_EXIT);
	assert_int_equal(ev.ret, -11);
	id = 1;
	memcpy(raw, &id, 2);
	futex_decode(&f, raw, sizeof(raw), &ev);
	assert_int_equal(ev.kind, FUTEX_EV_NONE);
}

static void test_ops(void **state)
{
	(void)state;
	char buf[32];
	assert_true(futex_op_waits(0));        /* FUTEX_WAIT: glibc's lll_lock */
	assert_true(futex_op_waits(9 | 128));  /* Rust std */
	assert_true(futex_op_waits(6 | 128));  /* LOCK_PI: PI mutexes */
	assert_true(futex_op_waits(9 | 256));  /* CLOCK_REALTIME */
	assert_false(futex_op_waits(1 | 128)); /* WAKE */
	assert_true(futex_op_wakes(1 | 128));
	assert_true(futex_op_wakes(10));
	assert_true(futex_op_wakes(7));
	assert_false(futex_op_wakes(0));
	/* the ops both engines (futex_op.h) treat alike: a PI requeue wakes */
	assert_true(futex_op_wakes(12 | 128));
	assert_false(futex_op_waits(12));
	assert_true(futex_op_waits(13 | 128)); /* LOCK_PI2 */
	assert_true(futex_op_waits(11));       /* WAIT_REQUEUE_PI */
	assert_string_equal(futex_op_name(9 | 128, buf, sizeof(buf)), "FUTEX_WAIT_BITSET_PRIVATE");
	assert_string_equal(futex_op_name(0, buf, sizeof(buf)), "FUTEX_WAIT");
	assert_string_equal(futex_op_name(77, buf, sizeof(buf)), "FUTEX_OP_77");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_decode),
	    cmocka_unit_test(test_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
