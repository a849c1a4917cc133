/* test_lock.c - the lock analysis on waits built by hand: pairing futex
 * halves that arrive out of order, naming by static and by call site,
 * parking words merged by call site, condvar waits kept apart, p99 and
 * the ranking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/lock.h"
#include "profile/profile.h"

static uint64_t next_addr = 0x1000;

/* A stack given root first as function names (module "app" unless the
 * name starts with "libc:"), each at line 10. */
static uint32_t stack(struct profile *p, int n, ...)
{
	uint32_t node = 0;
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *fn = va_arg(ap, const char *);
		const char *mod = "app";
		if (!strncmp(fn, "libc:", 5)) {
			fn += 5;
			mod = "libc.so.6";
		}
		uint32_t l = profile_location(p, PROFILE_NO_MAPPING, next_addr++, PROFILE_LOC_USER);
		struct profile_frame f = {
		    profile_intern(p, fn), profile_intern(p, "src/app.rs"), 10, profile_intern(p, mod), false, 0};
		profile_set_location_frames(p, l, &f, 1);
		node = profile_stack_child(p, node, l);
	}
	va_end(ap);
	return node;
}

static void call(struct lock_input *in, uint32_t tid, uint64_t t, uint64_t dur, uint64_t uaddr, uint32_t st, bool waits)
{
	struct lock_syscall e = {t, uaddr, tid, 1, st, waits, !waits, false};
	struct lock_syscall x = {t + dur, 0, tid, 1, 0, false, false, true};
	/* the exit first: rings of two cpus are read in either order */
	lock_input_syscall(in, &x);
	lock_input_syscall(in, &e);
}

static bool name_static(void *ctx, uint32_t pid, uint64_t addr, char *buf, size_t size)
{
	(void)ctx;
	(void)pid;
	if (addr >= 0x5000 && addr < 0x5008) {
		snprintf(buf, size, "app::CACHE");
		return true;
	}
	return false;
}

static void test_pair_and_name(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct lock_input in;
	lock_input_init(&in);
	uint32_t mutex = stack(p, 4, "app::main", "app::worker", "std::sync::poison::mutex::Mutex<T>::lock",
	                       "std::sys::sync::mutex::futex::Mutex::lock_contended");
	uint32_t heap = stack(p, 4, "app::main", "app::other", "libc:___pthread_mutex_lock", "libc:__lll_lock_wait");
	uint32_t cv = stack(p, 4, "app::main", "app::consumer", "std::sync::condvar::Condvar::wait",
	                    "std::sys::sync::condvar::futex::Condvar::wait_optional_timeout");
	/* the static: two threads, 3 waits of 100, 200, 300 ns */
	call(&in, 11, 1000, 100, 0x5000, mutex, true);
	call(&in, 12, 2000, 200, 0x5000, mutex, true);
	call(&in, 11, 3000, 300, 0x5000, mutex, true);
	/* a heap mutex: one long wait */
	call(&in, 12, 5000, 50, 0x9000, heap, true);
	/* a wake of the static, which is not a wait */
	call(&in, 13, 6000, 5, 0x5000, 0, false);
	/* a condvar: long, but a signal wait */
	call(&in, 13, 7000, 100000, 0xa000, cv, true);
	lock_input_pair(&in);
	assert_int_equal(in.waits.n, 5);
	assert_int_equal(in.unpaired, 0);

	struct profile_thread *t = profile_thread(p, 11, 1);
	t->start = 1;
	t->end = 1000001;
	struct lock_report r;
	lock_report_build(&r, &in, p, 1000001, name_static, NULL);
	assert_int_equal(r.locks.n, 3);
	/* contention first, by total; the condvar last though longest */
	assert_string_equal(r.locks.v[0].name, "app::CACHE");
	assert_int_equal(r.locks.v[0].kind, LOCK_KIND_MUTEX);
	assert_string_equal(r.locks.v[0].site, "app::worker (app.rs:10)");
	assert_int_equal(r.locks.v[0].waits, 3);
	assert_int_equal(r.locks.v[0].total_ns, 600);
	assert_int_equal(r.locks.v[0].mean_ns, 200);
	assert_int_equal(r.locks.v[0].p99_ns, 300);
	assert_int_equal(r.locks.v[0].max_ns, 300);
	assert_int_equal(r.locks.v[0].threads, 2);
	assert_int_equal(r.locks.v[0].wakes, 1);
	assert_true(r.locks.v[0].share > 0.0005 && r.locks.v[0].share < 0.0007);
	assert_string_equal(r.locks.v[1].name, "mutex 0x9000 at app::other (app.rs:10)");
	assert_int_equal(r.locks.v[2].kind, LOCK_KIND_CONDVAR);
	assert_true(lock_kind_is_signal(r.locks.v[2].kind));
	assert_int_equal(r.contention_ns, 650);
	assert_int_equal(r.signal_ns, 100000);

	/* the profile: contention in wait_ns and waits, the condvar apart */
	lock_report_samples(&r, &in, p, 0, 1, 2);
	int64_t wait = 0, count = 0, signal = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		count += p->samples.v[i].values[0];
		wait += p->samples.v[i].values[1];
		signal += p->samples.v[i].values[2];
	}
	assert_int_equal(count, 4);
	assert_int_equal(wait, 650);
	assert_int_equal(signal, 100000);
	lock_report_release(&r);
	lock_input_release(&in);
	profile_free(p);
}

/* parking_lot style: each thread sleeps on its own word, woken by others;
 * the words of one call site are one lock. */
static void test_parked(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct lock_input in;
	lock_input_init(&in);
	uint32_t st = stack(p, 4, "app::main", "app::add", "app::ParkLock::lock", "app::ParkLock::park");
	for (uint32_t tid = 1; tid <= 4; tid++) {
		uint64_t word = 0x10000 + tid * 64;
		call(&in, tid, tid * 1000, 10 * tid, word, st, true);
		call(&in, tid % 4 + 1, tid * 1000 + 500, 1, word, 0, false); /* another thread wakes it */
	}
	lock_input_pair(&in);
	struct lock_report r;
	lock_report_build(&r, &in, p, 10000, NULL, NULL);
	assert_int_equal(r.locks.n, 1);
	assert_string_equal(r.locks.v[0].name, "parked at app::add (app.rs:10)");
	assert_int_equal(r.locks.v[0].kind, LOCK_KIND_PARKED);
	assert_int_equal(r.locks.v[0].waits, 4);
	assert_int_equal(r.locks.v[0].threads, 4);
	assert_int_equal(r.locks.v[0].total_ns, 100);
	assert_int_equal(r.locks.v[0].uaddr, 0); /* several words */
	lock_report_release(&r);
	lock_input_release(&in);
	profile_free(p);
}

/* An entry without its exit (lost, or cut by the end) is no wait, and
 * does not swallow the thread's next call. */
static void test_unpaired(void **state)
{
	(void)state;
	struct lock_input in;
	lock_input_init(&in);
	struct lock_syscall e1 = {100, 0x5000, 7, 1, 0, true, false, false};
	struct lock_syscall e2 = {200, 0x5000, 7, 1, 0, true, false, false};
	struct lock_syscall x2 = {260, 0, 7, 1, 0, false, false, true};
	struct lock_syscall x3 = {300, 0, 7, 1, 0, false, false, true};
	lock_input_syscall(&in, &x3);
	lock_input_syscall(&in, &e2);
	lock_input_syscall(&in, &x2);
	lock_input_syscall(&in, &e1);
	lock_input_pair(&in);
	assert_int_equal(in.waits.n, 1);
	assert_int_equal(in.waits.v[0].start, 200);
	assert_int_equal(in.waits.v[0].ns, 60);
	assert_int_equal(in.unpaired, 2);
	lock_input_release(&in);
}

/* No wait at all (an atomic counter): an empty report, no lock. */
static void test_empty(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct lock_input in;
	lock_input_init(&in);
	lock_input_pair(&in);
	struct lock_report r;
	lock_report_build(&r, &in, p, 1000, NULL, NULL);
	assert_int_equal(r.locks.n, 0);
	assert_int_equal(r.waits, 0);
	lock_report_samples(&r, &in, p, 0, 1, 2);
	assert_int_equal(p->samples.n, 0);
	lock_report_release(&r);
	lock_input_release(&in);
	profile_free(p);
}

/* The agent's hold times go onto the lock of the same word of the same
 * process, summed over the threads' tables; a word nobody waited on, or
 * the same address in another process, adds nothing. */
static void test_holds(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct lock_input in;
	lock_input_init(&in);
	uint32_t st = stack(p, 3, "app::main", "app::worker", "libc:___pthread_mutex_lock");
	call(&in, 11, 1000, 100, 0x7000, st, true);
	lock_input_pair(&in);
	const struct lock_hold holds[] = {
	    {0x7000, 1, 10, 4, 500, 90}, /* two threads' tables of the waited word */
	    {0x7000, 1, 30, 20, 1500, 70},
	    {0x8000, 1, 99, 99, 9900, 999}, /* never waited on */
	    {0x7000, 2, 77, 77, 7700, 777}, /* the same address in another process */
	};
	for (size_t i = 0; i < sizeof(holds) / sizeof(holds[0]); i++)
		vec_push(&in.holds, holds[i]);
	struct lock_report r;
	lock_report_build(&r, &in, p, 10000, NULL, NULL);
	assert_int_equal(r.locks.n, 1);
	assert_true(r.locks.v[0].has_hold);
	assert_int_equal(r.locks.v[0].acquisitions, 40);
	assert_int_equal(r.locks.v[0].uncontended, 24);
	assert_int_equal(r.locks.v[0].hold_ns, 2000);
	assert_int_equal(r.locks.v[0].hold_mean_ns, 50);
	assert_int_equal(r.locks.v[0].hold_max_ns, 90);
	lock_report_release(&r);
	lock_input_release(&in);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pair_and_name), cmocka_unit_test(test_parked), cmocka_unit_test(test_unpaired),
	    cmocka_unit_test(test_empty),         cmocka_unit_test(test_holds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
