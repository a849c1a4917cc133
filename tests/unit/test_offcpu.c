/* test_offcpu.c - pairing switches into off-CPU intervals
 * (capture/offcpu.c), reasons from stacks (analysis/offcpu_reason.c) and
 * the pool split (analysis/pools.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "analysis/offcpu_reason.h"
#include "analysis/pools.h"
#include "capture/offcpu.h"
#include "render/timeline.h"

struct got {
	struct offcpu_interval v[16];
	size_t n;
};

static void keep(void *ctx, const struct offcpu_interval *iv)
{
	struct got *g = ctx;
	if (g->n < 16)
		g->v[g->n++] = *iv;
}

static void add(struct offcpu_pairer *pp, uint64_t t, uint32_t tid, enum offcpu_event_kind k, uint32_t stack,
                bool preempt)
{
	/* a wake-up's record names the woken thread only, not its process */
	struct offcpu_event ev = {t, tid, k == OFFCPU_EV_WAKE ? 0 : 1, 0, stack, (uint8_t)k, preempt};
	offcpu_pairer_add(pp, &ev);
}

/* A switch-out and its switch-in pair into one interval with the stack. */
static void test_pair(void **state)
{
	(void)state;
	struct offcpu_pairer pp;
	struct got g = {0};
	offcpu_pairer_init(&pp);
	add(&pp, 100, 7, OFFCPU_EV_STACK, 42, false);
	add(&pp, 101, 7, OFFCPU_EV_OUT, 0, false);
	add(&pp, 5101, 7, OFFCPU_EV_IN, 0, false);
	offcpu_pairer_flush(&pp, true, 9999, keep, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.v[0].start, 101);
	assert_int_equal(g.v[0].end, 5101);
	assert_int_equal(g.v[0].stack, 42);
	assert_false(g.v[0].preempted);
	offcpu_pairer_release(&pp);
}

/* A wake-up between a switch-out and its switch-in splits the interval:
 * blocked until it, runnable after; a wake-up while the thread ran, of a
 * preempted thread, or of a thread never seen, splits nothing. */
static void test_wake_split(void **state)
{
	(void)state;
	struct offcpu_pairer pp;
	struct got g = {0};
	offcpu_pairer_init(&pp);
	add(&pp, 100, 7, OFFCPU_EV_STACK, 42, false);
	add(&pp, 101, 7, OFFCPU_EV_OUT, 0, false);
	add(&pp, 600, 7, OFFCPU_EV_WAKE, 0, false);
	add(&pp, 600, 9, OFFCPU_EV_WAKE, 0, false); /* never seen: ignored */
	add(&pp, 5101, 7, OFFCPU_EV_IN, 0, false);
	add(&pp, 5200, 7, OFFCPU_EV_WAKE, 0, false); /* while running */
	add(&pp, 6000, 7, OFFCPU_EV_OUT, 0, false);
	add(&pp, 7000, 7, OFFCPU_EV_IN, 0, false);
	add(&pp, 8000, 7, OFFCPU_EV_OUT, 0, true);
	add(&pp, 8500, 7, OFFCPU_EV_WAKE, 0, false);
	add(&pp, 9000, 7, OFFCPU_EV_IN, 0, false);
	offcpu_pairer_flush(&pp, true, 9999, keep, &g);
	assert_int_equal(g.n, 4);
	assert_int_equal(g.v[0].start, 101);
	assert_int_equal(g.v[0].end, 600);
	assert_false(g.v[0].preempted);
	assert_int_equal(g.v[0].stack, 42);
	assert_int_equal(g.v[0].pid, 1);
	assert_int_equal(g.v[1].start, 600);
	assert_int_equal(g.v[1].end, 5101);
	assert_true(g.v[1].preempted);
	assert_int_equal(g.v[1].stack, 42);
	assert_true(g.v[1].woken);
	assert_false(g.v[0].woken);
	assert_int_equal(g.v[2].start, 6000); /* its wake-up was lost: all blocked */
	assert_int_equal(g.v[2].end, 7000);
	assert_false(g.v[2].preempted);
	assert_int_equal(g.v[3].start, 8000);
	assert_int_equal(g.v[3].end, 9000);
	assert_true(g.v[3].preempted);
	assert_false(g.v[3].woken);
	offcpu_pairer_release(&pp);
}

/* Wake-ups come through per-cpu rings, added here in ring order across
 * two reading rounds, not in time order: pairing by time still takes the
 * first wake-up after the blocking switch-out (a later one of the thread
 * already runnable changes nothing, one a little before the switch-out
 * splits nothing), and the parts never overlap nor go negative. */
static void test_wake_ring_order(void **state)
{
	(void)state;
	struct offcpu_pairer pp;
	struct got g = {0};
	offcpu_pairer_init(&pp);
	/* round 1, cpu 0's ring: tid 7 goes off, then comes back on cpu 0 */
	add(&pp, 100, 7, OFFCPU_EV_OUT, 0, false);
	add(&pp, 1000, 7, OFFCPU_EV_IN, 0, false);
	add(&pp, 1200, 7, OFFCPU_EV_OUT, 0, false);
	offcpu_pairer_flush(&pp, false, 0, keep, &g);
	assert_int_equal(g.n, 0);
	/* round 2, cpu 1's ring: its wake-ups, the second one a no-op, and
	 * one stamped (clock skew) just before the next switch-out */
	add(&pp, 400, 7, OFFCPU_EV_WAKE, 0, false);
	add(&pp, 300, 7, OFFCPU_EV_WAKE, 0, false);
	add(&pp, 1199, 7, OFFCPU_EV_WAKE, 0, false);
	add(&pp, 1500, 7, OFFCPU_EV_IN, 0, false);
	offcpu_pairer_flush(&pp, true, 2000, keep, &g);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.v[0].start, 100);
	assert_int_equal(g.v[0].end, 300);
	assert_false(g.v[0].preempted);
	assert_int_equal(g.v[1].start, 300);
	assert_int_equal(g.v[1].end, 1000);
	assert_true(g.v[1].preempted && g.v[1].woken);
	assert_int_equal(g.v[2].start, 1200); /* no wake-up after it: whole */
	assert_int_equal(g.v[2].end, 1500);
	assert_false(g.v[2].preempted);
	for (size_t i = 0; i < g.n; i++) {
		assert_true(g.v[i].start < g.v[i].end);
		if (i && g.v[i].tid == g.v[i - 1].tid)
			assert_true(g.v[i].start >= g.v[i - 1].end);
	}
	offcpu_pairer_release(&pp);
}

/* The switch-in came through a ring read a round before the ring with
 * its switch-out: held back, then paired; nothing is paired past the
 * horizon of what two rounds delivered. */
static void test_rounds_out_of_order(void **state)
{
	(void)state;
	struct offcpu_pairer pp;
	struct got g = {0};
	offcpu_pairer_init(&pp);
	/* round 1: another thread's records up to 3000, and tid 7's switch-in */
	add(&pp, 1000, 9, OFFCPU_EV_OUT, 0, false);
	add(&pp, 2500, 7, OFFCPU_EV_IN, 0, false);
	add(&pp, 3000, 9, OFFCPU_EV_IN, 0, false);
	offcpu_pairer_flush(&pp, false, 0, keep, &g);
	assert_int_equal(g.n, 0); /* nothing older than the last round's horizon yet */
	/* round 2: tid 7's stack and switch-out, from the other ring */
	add(&pp, 1999, 7, OFFCPU_EV_STACK, 5, false);
	add(&pp, 2000, 7, OFFCPU_EV_OUT, 0, true);
	offcpu_pairer_flush(&pp, false, 0, keep, &g);
	assert_int_equal(g.n, 2); /* in the order they ended */
	assert_int_equal(g.v[0].tid, 7);
	assert_int_equal(g.v[0].start, 2000);
	assert_int_equal(g.v[0].end, 2500);
	assert_int_equal(g.v[0].stack, 5);
	assert_true(g.v[0].preempted);
	assert_int_equal(g.v[1].tid, 9);
	assert_int_equal(g.v[1].end - g.v[1].start, 2000);
	offcpu_pairer_release(&pp);
}

struct all_naps {
	size_t n, bad;
	uint64_t last_end[21];
};

/* Each interval must be one of the naps test_many_runs made, in the
 * order they ended per thread. */
static void check_nap(void *ctx, const struct offcpu_interval *iv)
{
	struct all_naps *a = ctx;
	uint32_t k = (uint32_t)((iv->start - 1 - iv->tid * 7) / 1000);
	bool ok = iv->tid >= 1 && iv->tid <= 20 && iv->start == iv->tid * 7 + k * 1000ull + 1 &&
	          iv->end == iv->start + 499 && iv->stack == iv->tid * 100 + k && !iv->preempted &&
	          iv->start >= a->last_end[iv->tid];
	if (!ok)
		fprintf(stderr, "bad tid %u start %llu end %llu stack %u pre %d\n", iv->tid,
		        (unsigned long long)iv->start, (unsigned long long)iv->end, iv->stack, iv->preempted);
	a->bad += !ok;
	if (ok)
		a->last_end[iv->tid] = iv->end;
	a->n++;
}

/* Events come as runs in time order, one per ring and reading round, in
 * any order of runs, and a run may be a single event: the pairer's sort
 * puts 600 events from three rings (one of them added backwards, so a
 * run each) in time order and pairs every nap of 20 threads right. */
static void test_many_runs(void **state)
{
	(void)state;
	struct offcpu_pairer pp;
	struct all_naps a = {0};
	offcpu_pairer_init(&pp);
	struct offcpu_event ring[3][3 * 67]; /* 67 naps in rings 0 and 1, 66 in ring 2 */
	size_t n[3] = {0};
	size_t e = 0;
	for (uint32_t k = 0; k < 10; k++)
		for (uint32_t tid = 1; tid <= 20; tid++, e++) {
			uint64_t t = tid * 7 + k * 1000ull;
			struct offcpu_event *r = ring[e % 3];
			size_t *m = &n[e % 3];
			r[(*m)++] = (struct offcpu_event){t, tid, 1, 0, tid * 100 + k, OFFCPU_EV_STACK, false};
			r[(*m)++] = (struct offcpu_event){t + 1, tid, 1, 0, 0, OFFCPU_EV_OUT, false};
			r[(*m)++] = (struct offcpu_event){t + 500, tid, 1, 0, 0, OFFCPU_EV_IN, false};
		}
	for (size_t i = 0; i < n[2]; i++)
		offcpu_pairer_add(&pp, &ring[2][i]);
	for (size_t i = n[0]; i-- > 0;)
		offcpu_pairer_add(&pp, &ring[0][i]);
	for (size_t i = 0; i < n[1]; i++)
		offcpu_pairer_add(&pp, &ring[1][i]);
	offcpu_pairer_flush(&pp, true, 20000, check_nap, &a);
	assert_int_equal(a.n, 200);
	assert_int_equal(a.bad, 0);
	/* a second flush finds nothing left, and a sorted round sorts as is */
	offcpu_pairer_flush(&pp, true, 20000, check_nap, &a);
	assert_int_equal(a.n, 200);
	offcpu_pairer_release(&pp);
}

/* A stack older than the thread's last switch-in is not this switch's
 * (its sample was lost); a thread off the cpu at the end is closed there. */
static void test_lost_stack_and_close(void **state)
{
	(void)state;
	struct offcpu_pairer pp;
	struct got g = {0};
	offcpu_pairer_init(&pp);
	add(&pp, 10, 3, OFFCPU_EV_STACK, 8, false);
	add(&pp, 11, 3, OFFCPU_EV_OUT, 0, false);
	add(&pp, 20, 3, OFFCPU_EV_IN, 0, false);
	add(&pp, 30, 3, OFFCPU_EV_OUT, 0, false); /* its sample lost */
	offcpu_pairer_flush(&pp, true, 100, keep, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.v[0].stack, 8);
	assert_int_equal(g.v[1].stack, 0);
	assert_int_equal(g.v[1].start, 30);
	assert_int_equal(g.v[1].end, 100);
	offcpu_pairer_release(&pp);
}

/* A stack of user functions (root first) under one kernel leaf. */
static uint32_t stack_of(struct profile *p, const char *const *names, size_t n, const char *kernel_leaf)
{
	uint32_t node = 0;
	for (size_t i = 0; i <= n; i++) {
		bool k = i == n;
		if (k && !kernel_leaf)
			break;
		uint64_t addr = 0x1000 + (uint64_t)p->locations.n * 16;
		uint32_t loc = profile_location(p, PROFILE_NO_MAPPING, addr, k ? PROFILE_LOC_KERNEL : PROFILE_LOC_USER);
		struct profile_frame f = {.function = profile_intern(p, k ? kernel_leaf : names[i])};
		profile_set_location_frames(p, loc, &f, 1);
		node = profile_stack_child(p, node, loc);
	}
	return node;
}

static void test_reasons(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	const char *sleep[] = {"main", "app::slow", "std::thread::sleep", "clock_nanosleep"};
	const char *cv[] = {"main", "app::get_work", "std::sync::poison::condvar::Condvar::wait", "syscall"};
	const char *mx[] = {"main", "app::update", "<std::sys::sync::mutex::futex::Mutex>::lock_contended", "syscall"};
	const char *rd[] = {"main", "app::read_all", "read"};
	const char *pf[] = {"main", "app::touch"};
	const char *ep[] = {"main", "app::serve", "epoll_wait"};
	assert_int_equal(offcpu_reason_of(p, stack_of(p, sleep, 4, "do_nanosleep")), OFFCPU_REASON_SLEEP);
	assert_int_equal(offcpu_reason_of(p, stack_of(p, cv, 4, "futex_wait")), OFFCPU_REASON_CONDVAR);
	assert_int_equal(offcpu_reason_of(p, stack_of(p, mx, 4, "futex_wait")), OFFCPU_REASON_LOCK);
	assert_int_equal(offcpu_reason_of(p, stack_of(p, rd, 3, "pipe_read")), OFFCPU_REASON_READ);
	assert_int_equal(offcpu_reason_of(p, stack_of(p, pf, 2, "exc_page_fault")), OFFCPU_REASON_IO);
	assert_int_equal(offcpu_reason_of(p, stack_of(p, ep, 3, "ep_poll")), OFFCPU_REASON_POLL);
	assert_int_equal(offcpu_reason_of(p, 0), OFFCPU_REASON_OTHER);
	assert_string_equal(offcpu_reason_name(OFFCPU_REASON_CONDVAR), "condvar");
	profile_free(p);
}

static void add_off(struct profile *p, uint32_t tid, uint32_t stack, uint64_t t, int64_t ns)
{
	struct profile_sample s = {.stack = stack, .tid = tid, .pid = 1, .time = t};
	s.values[0] = 1;
	s.values[1] = ns;
	profile_add_sample(p, &s);
}

/* An off-CPU profile of 1 ms, as kiln offcpu writes them. */
static struct profile *pool_profile(void)
{
	struct profile *p = profile_new();
	profile_add_value_type(p, "blocks", "count");
	profile_add_value_type(p, "offcpu", "nanoseconds");
	profile_add_value_type(p, "runnable", "nanoseconds");
	profile_set_meta_u64(p, "start_ns", 1000);
	profile_set_meta_u64(p, "end_ns", 1001000);
	return p;
}

/* The pools of p, which must be one. */
static const struct pool *only_pool(struct pools *ps, const struct profile *p)
{
	pools_init(ps);
	assert_int_equal(pools_build(ps, p), 0);
	assert_int_equal(ps->v.n, 1);
	return &ps->v.v[0];
}

/* Two workers waiting for work in get_work (parked) and one task that
 * sleeps (blocked): only the sleeping worker is marked. */
static void test_pools(void **state)
{
	(void)state;
	struct profile *p = pool_profile();
	const char *park[] = {"main", "app::worker", "app::get_work", "std::sync::poison::condvar::Condvar::wait"};
	const char *task[] = {"main", "app::worker", "app::handle_slow_io", "std::thread::sleep"};
	uint32_t sp = stack_of(p, park, 4, "futex_wait"), st = stack_of(p, task, 4, "do_nanosleep");
	for (uint32_t tid = 10; tid <= 11; tid++) {
		profile_thread(p, tid, 1)->name = profile_intern(p, tid == 10 ? "pool-1" : "pool-2");
		add_off(p, tid, sp, 2000, 300000);
	}
	profile_thread(p, 12, 1)->name = profile_intern(p, "main");
	add_off(p, 11, st, 400000, 500000);
	struct pools ps;
	const struct pool *pl = only_pool(&ps, p);
	assert_string_equal(pl->name, "pool");
	assert_int_equal(pl->workers.n, 2);
	assert_string_equal(profile_str(p, pl->park_site), "app::get_work");
	assert_int_equal(pl->parked, 600000);
	assert_int_equal(pl->blocked, 500000);
	assert_int_equal(pl->blocking_workers, 1);
	assert_false(pl->workers.v[0].blocking); /* pool-1 only parked */
	assert_true(pl->workers.v[1].blocking);  /* pool-2 slept half its time in a task */
	assert_int_equal(pl->workers.v[0].busy, 1000000 - 300000);
	char label[256];
	pools_stack_label(p, pl->stacks.v[0].stack, label, sizeof(label));
	assert_string_equal(label, "app::handle_slow_io \u2192 std::thread::sleep");
	pools_release(&ps);
	/* --park-frame: the user says the sleep is how workers idle */
	pools_init(&ps);
	assert_int_equal(pools_add_park(&ps, "^app::handle_slow_io$"), 0);
	assert_int_equal(pools_add_park(&ps, "(unclosed"), -EINVAL);
	assert_int_equal(pools_build(&ps, p), 0);
	assert_int_equal(ps.v.v[0].blocked, 0);
	assert_int_equal(ps.v.v[0].blocking_workers, 0);
	pools_release(&ps);
	profile_free(p);
}

/* Threads sharing a name (unnamed threads all have the process's) are one
 * pool only when they run the same code: a helper thread waiting in its
 * own loop is no worker blocked in a task, a thread whose stacks never
 * reach its start joins the largest pool, and two kinds of workers under
 * one name are two pools named by their code. */
static void test_pools_by_code(void **state)
{
	(void)state;
	struct profile *p = pool_profile();
	const char *park[] = {"clone3", "start_thread", "app::worker", "app::get_work", "pthread_cond_wait"};
	const char *io[] = {"clone3", "start_thread", "app::io_loop", "pthread_cond_wait"};
	const char *cut[] = {"app::get_work", "pthread_cond_wait"}; /* its start not reached */
	const char *other[] = {"clone3", "start_thread", "app::other", "app::get_more", "pthread_cond_wait"};
	uint32_t sp = stack_of(p, park, 5, "futex_wait"), si = stack_of(p, io, 4, "futex_wait");
	uint32_t sc = stack_of(p, cut, 2, "futex_wait"), so = stack_of(p, other, 5, "futex_wait");
	for (uint32_t tid = 10; tid <= 13; tid++)
		profile_thread(p, tid, 1)->name = profile_intern(p, "prog");
	profile_thread(p, 1, 1)->name = profile_intern(p, "prog");
	add_off(p, 10, sp, 2000, 300000);
	add_off(p, 11, sp, 2000, 300000);
	add_off(p, 12, si, 2000, 990000); /* the helper: waits all along */
	add_off(p, 13, sc, 2000, 300000);
	struct pools ps;
	const struct pool *pl = only_pool(&ps, p);
	assert_string_equal(pl->name, "prog");
	assert_int_equal(pl->workers.n, 3);
	for (size_t w = 0; w < pl->workers.n; w++)
		assert_int_not_equal(pl->workers.v[w].tid, 12);
	assert_int_equal(pl->blocking_workers, 0);
	assert_int_equal(pl->blocked, 0);
	pools_release(&ps);
	/* a second kind of worker, two of them: two pools */
	for (uint32_t tid = 14; tid <= 15; tid++) {
		profile_thread(p, tid, 1)->name = profile_intern(p, "prog");
		add_off(p, tid, so, 2000, 300000);
	}
	pools_init(&ps);
	assert_int_equal(pools_build(&ps, p), 0);
	assert_int_equal(ps.v.n, 2);
	const char *a = ps.v.v[0].name, *b = ps.v.v[1].name;
	assert_true((!strcmp(a, "prog (app::worker)") && !strcmp(b, "prog (app::other)")) ||
	            (!strcmp(b, "prog (app::worker)") && !strcmp(a, "prog (app::other)")));
	pools_release(&ps);
	profile_free(p);
}

/* A tooltip shows the innermost frames of a stack, however deep. */
static void test_timeline_deep_stack(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add_value_type(p, "blocks", "count");
	profile_add_value_type(p, "offcpu", "nanoseconds");
	const char *names[300];
	for (size_t i = 0; i < 300; i++)
		names[i] = i == 0 ? "app::root" : i == 299 ? "app::deep_leaf" : "app::recurse";
	profile_thread(p, 5, 1)->name = profile_intern(p, "deep");
	add_off(p, 5, stack_of(p, names, 300, "do_nanosleep"), 1000, 5000);
	struct strbuf sb = STRBUF_INIT;
	assert_int_equal(render_timeline_svg(&sb, p, NULL), 0);
	const char *title = strstr(strbuf_str(&sb), "<title>");
	assert_non_null(title);
	assert_non_null(strstr(title, "\ndo_nanosleep\napp::deep_leaf\n"));
	assert_null(strstr(title, "app::root"));
	assert_non_null(strstr(title, "\n...</title>"));
	strbuf_release(&sb);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pair),
	    cmocka_unit_test(test_wake_split),
	    cmocka_unit_test(test_wake_ring_order),
	    cmocka_unit_test(test_rounds_out_of_order),
	    cmocka_unit_test(test_many_runs),
	    cmocka_unit_test(test_lost_stack_and_close),
	    cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_pools),
	    cmocka_unit_test(test_pools_by_code),
	    cmocka_unit_test(test_timeline_deep_stack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
