/* test_speedscope.c - the timeline exporters: speedscope's JSON
 * (render/speedscope), Chrome trace events (render/chrome_trace) and the
 * frames and open/close walk they share (render/stack_events). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile/profile.h"
#include "render/chrome_trace.h"
#include "render/speedscope.h"
#include "render/stack_events.h"

#define MS 1000000ull
#define T0 (5000 * MS)

/* A location named fn (file app.rs, line), or with an inlined callee. */
static uint32_t loc(struct profile *p, uint64_t addr, const char *fn, uint32_t line, const char *inl)
{
	uint32_t l = profile_location(p, PROFILE_NO_MAPPING, addr, PROFILE_LOC_USER);
	struct profile_frame f[2] = {0};
	uint32_t n = 0;
	if (inl)
		f[n++] = (struct profile_frame){.function = profile_intern(p, inl),
		                                .file = profile_intern(p, "app.rs"),
		                                .line = 90,
		                                .module = profile_intern(p, "app"),
		                                .inlined = true};
	f[n++] = (struct profile_frame){.function = profile_intern(p, fn),
	                                .file = profile_intern(p, "app.rs"),
	                                .line = line,
	                                .module = profile_intern(p, "app")};
	profile_set_location_frames(p, l, f, n);
	return l;
}

static void sample(struct profile *p, uint32_t tid, uint64_t time, int64_t v, const uint32_t *leaf_first, uint32_t n)
{
	struct profile_sample s = {
	    .stack = profile_stack_from_leaf(p, leaf_first, n), .tid = tid, .pid = 10, .time = time};
	s.values[0] = v;
	s.values[1] = v * 1000;
	profile_add_sample(p, &s);
}

/* Thread 10 ("busy"): leaf_a for 3 ms, leaf_b for 2 ms, off the CPU for
 * 9 ms, leaf_a again (at another line of it); thread 11 ("idle"): one
 * sample in sleep, which inlines wait. Sampled at 1000 Hz. With times
 * false, no sample has one (as from folded stacks). */
static struct profile *fixture(bool times)
{
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	profile_add_value_type(p, "cpu", "nanoseconds");
	profile_set_meta_u64(p, "frequency", 1000);
	profile_thread(p, 10, 10)->name = profile_intern(p, "busy");
	profile_thread(p, 11, 10)->name = profile_intern(p, "idle \"x\"");
	uint32_t m = loc(p, 1, "main", 1, NULL), r = loc(p, 2, "run", 5, NULL), a = loc(p, 3, "leaf_a", 20, NULL),
	         b = loc(p, 4, "leaf_b", 30, NULL), a2 = loc(p, 5, "leaf_a", 12, NULL),
	         s = loc(p, 6, "sleep", 40, "wait");
	uint32_t ka[] = {a, r, m}, kb[] = {b, r, m}, ka2[] = {a2, r, m}, ks[] = {s, m};
	uint64_t t = times ? T0 : 0, d = times ? MS : 0;
	/* out of time order, as rings of several CPUs give them */
	sample(p, 11, t + 1 * d, 1, ks, 2);
	sample(p, 10, t + 1 * d, 1, ka, 3);
	sample(p, 10, t + 0 * d, 1, ka, 3);
	sample(p, 10, t + 2 * d, 1, ka, 3);
	sample(p, 10, t + 3 * d, 1, kb, 3);
	sample(p, 10, t + 4 * d, 1, kb, 3);
	sample(p, 10, t + 14 * d, 1, ka2, 3);
	return p;
}

/* not inlined: gcc 12 takes the memstream's buffer for a dangling local */
__attribute__((noinline)) static char *render(int (*fn)(FILE *, const struct profile *, const void *),
                                              const struct profile *p, const void *o, int want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(fn(f, p, o), want);
	fclose(f);
	return buf;
}

static int ss(FILE *f, const struct profile *p, const void *o)
{
	return speedscope_write(f, p, o);
}

static int ct(FILE *f, const struct profile *p, const void *o)
{
	(void)o;
	return chrome_trace_write(f, p);
}

static void has(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("missing %s in\n%s", want, text);
}

static void test_frames(void **state)
{
	(void)state;
	struct profile *p = fixture(true);
	struct stack_events se;
	stack_events_init(&se, p);
	assert_int_equal(se.threads.n, 2);
	assert_int_equal(se.threads.v[0].tid, 10);
	assert_int_equal(se.threads.v[0].n, 6);
	assert_int_equal(se.start, T0);
	assert_int_equal(se.interval, MS);
	size_t n;
	/* the first sample in time: main, run, leaf_a */
	const uint32_t *ids = stack_events_stack(&se, p->samples.v[se.order.v[0]].stack, &n);
	assert_int_equal(n, 3);
	assert_string_equal(profile_str(p, se.frames.v[ids[0]].function), "main");
	assert_string_equal(profile_str(p, se.frames.v[ids[2]].function), "leaf_a");
	/* the last: leaf_a at another line is the same frame, at its lowest line */
	uint32_t a = ids[2];
	ids = stack_events_stack(&se, p->samples.v[se.order.v[5]].stack, &n);
	assert_int_equal(ids[2], a);
	assert_int_equal(se.frames.v[a].line, 12);
	/* an inlined function is a frame below the one it was inlined into */
	ids = stack_events_stack(&se, p->samples.v[0].stack, &n);
	assert_int_equal(n, 3);
	assert_string_equal(profile_str(p, se.frames.v[ids[1]].function), "sleep");
	assert_string_equal(profile_str(p, se.frames.v[ids[2]].function), "wait");
	stack_events_release(&se);
	profile_free(p);
}

static void test_speedscope(void **state)
{
	(void)state;
	struct profile *p = fixture(true);
	struct speedscope_options o = {.value = 0, .name = "run.kiln", .exporter = "kiln test"};
	char *out = render(ss, p, &o, 0);
	has(out, "\"$schema\":\"https://www.speedscope.app/file-format-schema.json\"");
	has(out, "\"exporter\":\"kiln test\",\"name\":\"run.kiln\",\"activeProfileIndex\":0,");
	/* frames by first use: main 0, run 1, leaf_a 2, leaf_b 3, sleep 4, wait 5 */
	has(out,
	    "\"shared\":{\"frames\":[{\"name\":\"main\",\"file\":\"app.rs\",\"line\":1},"
	    "{\"name\":\"run\",\"file\":\"app.rs\",\"line\":5},{\"name\":\"leaf_a\",\"file\":\"app.rs\",\"line\":12},"
	    "{\"name\":\"leaf_b\",\"file\":\"app.rs\",\"line\":30},{\"name\":\"sleep\",\"file\":\"app.rs\",\"line\":40}"
	    ","
	    "{\"name\":\"wait\",\"file\":\"app.rs\",\"line\":90}]}");
	/* busy's samples in time order, a stack's run of samples merged */
	has(out, "{\"type\":\"sampled\",\"name\":\"busy 10\",\"unit\":\"none\",\"samples\":[[0,1,2],[0,1,3],[0,1,2]],"
	         "\"weights\":[3,2,1],\"startValue\":0,\"endValue\":6}");
	/* its timeline: leaf_b's samples end at 4 ms; the next comes at 14 ms,
	 * more than a quarter interval late, so the stack closes at 5 ms */
	has(out, "{\"type\":\"evented\",\"name\":\"busy 10 (timeline)\",\"unit\":\"nanoseconds\",\"events\":["
	         "{\"type\":\"O\",\"frame\":0,\"at\":0},{\"type\":\"O\",\"frame\":1,\"at\":0},"
	         "{\"type\":\"O\",\"frame\":2,\"at\":0},{\"type\":\"C\",\"frame\":2,\"at\":3000000},"
	         "{\"type\":\"O\",\"frame\":3,\"at\":3000000},{\"type\":\"C\",\"frame\":3,\"at\":5000000},"
	         "{\"type\":\"C\",\"frame\":1,\"at\":5000000},{\"type\":\"C\",\"frame\":0,\"at\":5000000},"
	         "{\"type\":\"O\",\"frame\":0,\"at\":14000000},{\"type\":\"O\",\"frame\":1,\"at\":14000000},"
	         "{\"type\":\"O\",\"frame\":2,\"at\":14000000},{\"type\":\"C\",\"frame\":2,\"at\":15000000},"
	         "{\"type\":\"C\",\"frame\":1,\"at\":15000000},{\"type\":\"C\",\"frame\":0,\"at\":15000000}],"
	         "\"startValue\":0,\"endValue\":15000000}");
	/* a name is escaped */
	has(out, "\"name\":\"idle \\\"x\\\" 11\",\"unit\":\"none\",\"samples\":[[0,4,5]],\"weights\":[1]");
	free(out);

	/* the other value type: its unit; no such value */
	o.value = 1;
	out = render(ss, p, &o, 0);
	has(out, "\"unit\":\"nanoseconds\",\"samples\":[[0,1,2],[0,1,3],[0,1,2]],\"weights\":[3000,2000,1000]");
	free(out);
	o.value = 2;
	free(render(ss, p, &o, -EINVAL));
	profile_free(p);

	/* no times: sampled profiles only; the busiest thread opens first */
	p = fixture(false);
	for (size_t i = 0; i < p->samples.n; i++)
		if (p->samples.v[i].tid == 11)
			p->samples.v[i].values[0] = 100;
	o.value = 0;
	out = render(ss, p, &o, 0);
	assert_null(strstr(out, "evented"));
	has(out, "\"activeProfileIndex\":1,");
	free(out);
	profile_free(p);
	assert_string_equal(speedscope_unit("bytes"), "bytes");
	assert_string_equal(speedscope_unit("count"), "none");
}

/* Two addresses in one function and line are two stacks of the profile
 * but the same frames: consecutive samples of them are one. */
static void test_same_frames_merged(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	uint32_t m = loc(p, 1, "main", 1, NULL), x = loc(p, 2, "hot", 7, NULL), y = loc(p, 3, "hot", 7, NULL);
	uint32_t kx[] = {x, m}, ky[] = {y, m};
	sample(p, 1, T0, 1, kx, 2);
	sample(p, 1, T0 + MS, 1, ky, 2);
	sample(p, 1, T0 + 2 * MS, 1, kx, 2);
	struct speedscope_options o = {0};
	char *out = render(ss, p, &o, 0);
	has(out, "\"samples\":[[0,1]],\"weights\":[3],\"startValue\":0,\"endValue\":3}");
	has(out, "\"exporter\":\"kiln\",\"name\":\"kiln\",");
	free(out);
	profile_free(p);
}

/* An off-CPU profile's samples are intervals: each lasts its blocked
 * time (offcpu + runnable), not a sampling interval, and a sample after
 * the end of the one before starts anew. */
static void test_offcpu_intervals(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add_value_type(p, "blocks", "count");
	profile_add_value_type(p, "offcpu", "nanoseconds");
	profile_add_value_type(p, "runnable", "nanoseconds");
	profile_thread(p, 7, 7)->name = profile_intern(p, "waiter");
	uint32_t m = loc(p, 1, "main", 1, NULL), sl = loc(p, 2, "sleep", 2, NULL);
	uint32_t ks[] = {sl, m};
	struct profile_sample a = {.stack = profile_stack_from_leaf(p, ks, 2), .tid = 7, .pid = 7, .time = T0};
	a.values[0] = 1;
	a.values[1] = 5 * MS;
	a.values[2] = 1 * MS;
	profile_add_sample(p, &a);
	a.time = T0 + 20 * MS; /* 14 ms after the first ended: on the CPU in between */
	a.values[1] = 2 * MS;
	a.values[2] = 0;
	profile_add_sample(p, &a);
	char *out = render(ct, p, NULL, 0);
	has(out, "{\"ph\":\"X\",\"pid\":7,\"tid\":7,\"ts\":0,\"dur\":6000,\"name\":\"sleep\",");
	has(out, "{\"ph\":\"X\",\"pid\":7,\"tid\":7,\"ts\":20000,\"dur\":2000,\"name\":\"sleep\",");
	free(out);
	profile_free(p);
}

/* A profile sampled at 1000 Hz with the stacks main > leaf_a (ka) and
 * main > leaf_b (kb), leaf first, and no samples yet. */
static struct profile *two_leaves(uint32_t ka[2], uint32_t kb[2])
{
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	profile_set_meta_u64(p, "frequency", 1000);
	uint32_t m = loc(p, 1, "main", 1, NULL);
	ka[0] = loc(p, 2, "leaf_a", 2, NULL);
	kb[0] = loc(p, 3, "leaf_b", 3, NULL);
	ka[1] = kb[1] = m;
	return p;
}

/* A sample stands for one interval when the next comes more than a
 * quarter interval late (the thread was preempted), else until the next:
 * the slices' shares are the samples' shares, wherever preemptions fell. */
static void test_preempted(void **state)
{
	(void)state;
	uint32_t ka[2], kb[2];
	struct profile *p = two_leaves(ka, kb);
	sample(p, 1, T0, 1, ka, 2);
	sample(p, 1, T0 + MS + MS / 5, 1, ka, 2);     /* jitter: continues */
	sample(p, 1, T0 + 3 * MS, 1, kb, 2);          /* preempted for 0.8 ms */
	sample(p, 1, T0 + 4 * MS + MS / 5, 1, kb, 2); /* jitter again */
	char *out = render(ct, p, NULL, 0);
	has(out, "{\"ph\":\"X\",\"pid\":10,\"tid\":1,\"ts\":0,\"dur\":2200,\"name\":\"leaf_a\",");
	has(out, "{\"ph\":\"X\",\"pid\":10,\"tid\":1,\"ts\":3000,\"dur\":2200,\"name\":\"leaf_b\",");
	has(out, "{\"ph\":\"X\",\"pid\":10,\"tid\":1,\"ts\":0,\"dur\":2200,\"name\":\"main\",");
	has(out, "{\"ph\":\"X\",\"pid\":10,\"tid\":1,\"ts\":3000,\"dur\":2200,\"name\":\"main\",");
	free(out);
	profile_free(p);
}

/* Two samples at one time: the first lasts no time and is no slice. */
static void test_same_time(void **state)
{
	(void)state;
	uint32_t ka[2], kb[2];
	struct profile *p = two_leaves(ka, kb);
	sample(p, 1, T0, 1, ka, 2);
	sample(p, 1, T0, 1, kb, 2);
	sample(p, 1, T0 + MS, 1, kb, 2);
	char *out = render(ct, p, NULL, 0);
	assert_null(strstr(out, "\"name\":\"leaf_a\""));
	assert_null(strstr(out, "\"dur\":0,"));
	has(out, "{\"ph\":\"X\",\"pid\":10,\"tid\":1,\"ts\":0,\"dur\":2000,\"name\":\"main\",");
	has(out, "{\"ph\":\"X\",\"pid\":10,\"tid\":1,\"ts\":0,\"dur\":2000,\"name\":\"leaf_b\",");
	free(out);
	profile_free(p);
}

/* Slices meet where the samples meet, to the microsecond: ts and dur are
 * whole microseconds (each end rounded down), so a viewer's floating-point
 * ts + dur of one slice is exactly the next one's ts. With three decimals,
 * 34176.858 + 10136.787 came to an ulp past 44313.645 and DevTools dropped
 * the later slice. */
static void test_whole_microseconds(void **state)
{
	(void)state;
	uint32_t ka[2], kb[2];
	struct profile *p = two_leaves(ka, kb); /* 1000 Hz: a sample stands for 1 ms at most */
	sample(p, 1, T0, 1, ka, 2);
	sample(p, 1, T0 + 34176858, 1, ka, 2);
	sample(p, 1, T0 + 35176858, 1, ka, 2);
	sample(p, 1, T0 + 36176857, 1, kb, 2);
	char *out = render(ct, p, NULL, 0);
	assert_null(strstr(out, "\"ts\":34176.858"));
	has(out, "\"ts\":34176,\"dur\":2000,\"name\":\"leaf_a\",");
	has(out, "\"ts\":36176,\"dur\":1000,\"name\":\"leaf_b\",");
	free(out);
	profile_free(p);
}

static void test_chrome_trace(void **state)
{
	(void)state;
	struct profile *p = fixture(true);
	profile_set_meta(p, "command", "app 3");
	char *out = render(ct, p, NULL, 0);
	/* the events first, so that a file is told by its start */
	assert_memory_equal(out, "{\"traceEvents\":[\n", 17);
	has(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":10,\"tid\":10,\"args\":{\"name\":\"busy\"}}");
	has(out,
	    "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":10,\"tid\":11,\"args\":{\"name\":\"idle \\\"x\\\"\"}}");
	/* by start, callers first; leaf_a's three samples one slice */
	has(out, "{\"ph\":\"X\",\"pid\":10,\"tid\":10,\"ts\":0,\"dur\":5000,\"name\":\"main\",\"cat\":\"app\","
	         "\"args\":{\"file\":\"app.rs\",\"line\":1}},\n"
	         "{\"ph\":\"X\",\"pid\":10,\"tid\":10,\"ts\":0,\"dur\":5000,\"name\":\"run\",\"cat\":\"app\","
	         "\"args\":{\"file\":\"app.rs\",\"line\":5}},\n"
	         "{\"ph\":\"X\",\"pid\":10,\"tid\":10,\"ts\":0,\"dur\":3000,\"name\":\"leaf_a\",\"cat\":\"app\","
	         "\"args\":{\"file\":\"app.rs\",\"line\":12}},\n"
	         "{\"ph\":\"X\",\"pid\":10,\"tid\":10,\"ts\":3000,\"dur\":2000,\"name\":\"leaf_b\",");
	has(out, "{\"ph\":\"X\",\"pid\":10,\"tid\":10,\"ts\":14000,\"dur\":1000,\"name\":\"leaf_a\",");
	has(out, "{\"ph\":\"X\",\"pid\":10,\"tid\":11,\"ts\":1000,\"dur\":1000,\"name\":\"wait\",");
	/* one process named once, and the document ends cleanly */
	const char *named = strstr(out, "process_name");
	assert_non_null(named);
	assert_null(strstr(named + 1, "process_name"));
	has(out, "}\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"command\":\"app 3\"}}\n");
	assert_string_equal(out + strlen(out) - 3, "}}\n");
	free(out);
	profile_free(p);

	/* no times: nothing to lay out */
	p = fixture(false);
	free(render(ct, p, NULL, -ENODATA));
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames),
	    cmocka_unit_test(test_speedscope),
	    cmocka_unit_test(test_same_frames_merged),
	    cmocka_unit_test(test_offcpu_intervals),
	    cmocka_unit_test(test_same_time),
	    cmocka_unit_test(test_whole_microseconds),
	    cmocka_unit_test(test_preempted),
	    cmocka_unit_test(test_chrome_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
