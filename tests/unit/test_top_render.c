/* test_top_render.c - kiln top's views without a terminal: the lines of
 * each mode, the filter (a bad regex keeps the old one and says why), what
 * each key does to the view, and the text snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/hotspots.h"
#include "analysis/top_window.h"
#include "profile/profile.h"
#include "render/top.h"

static uint64_t next_addr = 0x1000;

static uint32_t fn(struct profile *p, const char *name)
{
	struct profile_frame f = {.function = profile_intern(p, name), .module = profile_intern(p, "prog")};
	uint32_t l = profile_location(p, PROFILE_NO_MAPPING, next_addr++, PROFILE_LOC_USER);
	profile_set_location_frames(p, l, &f, 1);
	return l;
}

static void add(struct profile *p, uint32_t tid, int count, uint32_t a, uint32_t b)
{
	uint32_t locs[2] = {b, a};
	uint32_t leaf = profile_stack_from_leaf(p, locs, 2);
	for (int i = 0; i < count; i++) {
		struct profile_sample s = {.stack = leaf, .tid = tid, .pid = 1, .time = 1};
		s.values[0] = 1;
		profile_add_sample(p, &s);
	}
}

struct world {
	struct profile *p;
	struct hotspots h;
	top_thread_vec threads;
	struct top_calltree tree;
	struct top_screen s;
};

/* main->hot x75, main->cold x25 on thread 5 "worker"; thread 6 "sleeper" idle */
static int setup(void **state)
{
	static struct world w;
	memset(&w, 0, sizeof(w));
	w.p = profile_new();
	profile_add_value_type(w.p, "samples", "count");
	uint32_t m = fn(w.p, "main"), hot = fn(w.p, "hot_spin"), cold = fn(w.p, "cold_spin");
	profile_thread(w.p, 5, 1)->name = profile_intern(w.p, "worker");
	profile_thread(w.p, 6, 1)->name = profile_intern(w.p, "sleeper");
	add(w.p, 5, 75, m, hot);
	add(w.p, 5, 25, m, cold);
	assert_int_equal(hotspots_build(&w.h, w.p, HOTSPOTS_VALUE_SAMPLES), 0);
	top_threads_build(&w.threads, &w.h, w.p);
	w.threads.v[0].state = 'R';
	w.threads.v[1].state = 'S';
	snprintf(w.threads.v[1].wchan, sizeof(w.threads.v[1].wchan), "hrtimer_nanosleep");
	top_screen_init(&w.s);
	w.s.h = &w.h;
	w.s.threads = w.threads.v;
	w.s.nthreads = w.threads.n;
	w.s.tree = &w.tree;
	w.s.st = (struct top_status){
	    .target = "pid 1 (prog)", .event = "cpu-clock", .freq = 100, .window_s = 1, .samples_per_s = 100};
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	top_screen_release(&w->s);
	top_calltree_release(&w->tree);
	vec_free(&w->threads);
	hotspots_release(&w->h);
	profile_free(w->p);
	return 0;
}

/* The text of line i of l. */
static const char *line(const struct top_lines *l, size_t i, char *buf, size_t n)
{
	const struct top_line *ln = &l->v.v[i];
	snprintf(buf, n, "%.*s", (int)ln->len, l->text.buf + ln->off);
	return buf;
}

static void test_lines(void **state)
{
	struct world *w = *state;
	struct top_lines l = {0};
	char buf[256];
	top_lines_build(&l, &w->s, TOP_MODE_FUNCTIONS, 0);
	assert_int_equal(l.v.v[0].kind, TOP_LINE_TITLE);
	assert_non_null(strstr(line(&l, 0, buf, sizeof(buf)), "pid 1 (prog) | functions by self"));
	assert_non_null(strstr(line(&l, 1, buf, sizeof(buf)), "100 samples/s | lost 0 (0 in all)"));
	assert_non_null(strstr(line(&l, 2, buf, sizeof(buf)), "*SELF%"));
	assert_int_equal(l.v.v[3].kind, TOP_LINE_ROW);
	assert_non_null(strstr(line(&l, 3, buf, sizeof(buf)), " 75.00% "));
	assert_non_null(strstr(buf, "hot_spin"));
	/* hot_spin, cold_spin, main */
	assert_int_equal(l.v.n, 6);
	top_lines_build(&l, &w->s, TOP_MODE_FUNCTIONS, 1);
	assert_int_equal(l.v.n, 4);

	top_lines_build(&l, &w->s, TOP_MODE_THREADS, 0);
	assert_non_null(strstr(line(&l, 0, buf, sizeof(buf)), "threads by samples"));
	assert_non_null(strstr(line(&l, 3, buf, sizeof(buf)), "running"));
	assert_non_null(strstr(buf, "worker"));
	/* 100 samples over 1 s at 100 Hz: a whole cpu */
	assert_non_null(strstr(buf, "100.0"));
	assert_non_null(strstr(line(&l, 4, buf, sizeof(buf)), "sleeping (hrtimer_nanosleep)"));
	top_lines_release(&l);
}

static void test_filter(void **state)
{
	struct world *w = *state;
	assert_int_equal(top_screen_nrows(&w->s, TOP_MODE_FUNCTIONS), 3);
	assert_int_equal(top_screen_set_filter(&w->s, "COLD"), 0); /* case-insensitive */
	assert_int_equal(top_screen_nrows(&w->s, TOP_MODE_FUNCTIONS), 1);
	assert_string_equal(profile_str(w->p, top_screen_function(&w->s, 0)->name), "cold_spin");
	assert_null(top_screen_function(&w->s, 1));
	/* the threads are filtered by name */
	assert_int_equal(top_screen_nrows(&w->s, TOP_MODE_THREADS), 0);
	/* a bad regex keeps the filter there was and says why */
	assert_int_not_equal(top_screen_set_filter(&w->s, "(unclosed"), 0);
	assert_non_null(strstr(w->s.message, "not a regular expression: '(unclosed'"));
	assert_string_equal(w->s.filter_text, "COLD");
	assert_int_equal(top_screen_nrows(&w->s, TOP_MODE_FUNCTIONS), 1);
	assert_int_equal(top_screen_set_filter(&w->s, ""), 0);
	assert_int_equal(top_screen_nrows(&w->s, TOP_MODE_FUNCTIONS), 3);
}

static void type(struct top_screen *s, const char *keys)
{
	for (; *keys; keys++)
		top_screen_key(s, *keys, 10);
}

static void test_keys(void **state)
{
	struct world *w = *state;
	struct top_screen *s = &w->s;
	assert_int_equal(top_screen_key(s, 't', 10), TOP_ACTION_REBUILD);
	assert_int_equal(s->sort, HOTSPOT_SORT_TOTAL);
	assert_int_equal(top_screen_key(s, 's', 10), TOP_ACTION_REBUILD);
	assert_int_equal(s->sort, HOTSPOT_SORT_SELF);
	assert_int_equal(top_screen_key(s, 'h', 10), TOP_ACTION_REDRAW);
	assert_int_equal(s->mode, TOP_MODE_THREADS);
	assert_int_equal(top_screen_key(s, 'h', 10), TOP_ACTION_REDRAW);
	assert_int_equal(s->mode, TOP_MODE_FUNCTIONS);
	/* moving stays within the rows */
	top_screen_key(s, TOP_KEY_DOWN, 10);
	top_screen_key(s, TOP_KEY_DOWN, 10);
	top_screen_key(s, TOP_KEY_DOWN, 10);
	assert_int_equal(s->selected, 2);
	top_screen_key(s, TOP_KEY_HOME, 10);
	assert_int_equal(s->selected, 0);
	top_screen_key(s, TOP_KEY_UP, 10);
	assert_int_equal(s->selected, 0);
	/* pause */
	assert_int_equal(top_screen_key(s, ' ', 10), TOP_ACTION_REDRAW);
	assert_true(s->paused);
	top_screen_key(s, ' ', 10);
	assert_false(s->paused);
	/* '/' edits a prompt: q is a letter there, Backspace takes one back */
	assert_int_equal(top_screen_key(s, '/', 10), TOP_ACTION_REDRAW);
	assert_true(s->prompting);
	type(s, "cq");
	assert_int_equal(top_screen_key(s, TOP_KEY_BACKSPACE, 10), TOP_ACTION_REDRAW);
	type(s, "old");
	assert_string_equal(s->prompt, "cold");
	assert_int_equal(top_screen_key(s, TOP_KEY_ENTER, 10), TOP_ACTION_REDRAW);
	assert_false(s->prompting);
	assert_string_equal(s->filter_text, "cold");
	/* Esc leaves the prompt without changing the filter */
	type(s, "/x");
	top_screen_key(s, TOP_KEY_ESC, 10);
	assert_false(s->prompting);
	assert_string_equal(s->filter_text, "cold");
	/* Enter: the call tree of the selected (filtered) function */
	assert_int_equal(top_screen_key(s, TOP_KEY_ENTER, 10), TOP_ACTION_REBUILD);
	assert_int_equal(s->mode, TOP_MODE_CALLTREE);
	assert_string_equal(profile_str(w->p, s->sel_name), "cold_spin");
	top_calltree_build(&w->tree, &w->h, s->sel_name, s->sel_module);
	struct top_lines l = {0};
	char buf[256];
	top_lines_build(&l, s, TOP_MODE_CALLTREE, 0);
	assert_non_null(strstr(line(&l, 0, buf, sizeof(buf)), "call tree of cold_spin"));
	assert_non_null(strstr(line(&l, 3, buf, sizeof(buf)), "from main"));
	assert_non_null(strstr(line(&l, 4, buf, sizeof(buf)), "> cold_spin"));
	top_lines_release(&l);
	assert_int_equal(top_screen_key(s, 'f', 10), TOP_ACTION_REDRAW);
	assert_int_equal(s->mode, TOP_MODE_FUNCTIONS);
	assert_int_equal(top_screen_key(s, 'z', 10), TOP_ACTION_NONE);
	assert_int_equal(top_screen_key(s, 'q', 10), TOP_ACTION_QUIT);
}

static void test_text(void **state)
{
	struct world *w = *state;
	struct strbuf out = STRBUF_INIT;
	render_top_text(&out, &w->s, 1);
	const char *t = strbuf_str(&out);
	assert_non_null(strstr(t, "kiln top: pid 1 (prog) | functions by self\n"));
	assert_non_null(strstr(t, "hot_spin\n"));
	assert_null(strstr(t, "cold_spin")); /* one entry */
	assert_non_null(strstr(t, "\n\n     TID SAMPLE%"));
	assert_non_null(strstr(t, "worker\n"));
	assert_null(strstr(t, "sleeper"));
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_text, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
