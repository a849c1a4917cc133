/* test_stat_compare.c - summaries, the incomplete beta function and the
 * Student t quantile against tabulated values, Welch's test on samples
 * worked out by hand, the verdict words, perf's derived ratios on
 * synthetic counts (the hardware path this VM cannot exercise), and the
 * renderers on a hand-built result (JSON shape, text layout). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analysis/stat_compare.h"
#include "render/stat.h"

#define NEAR(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static void test_summarize(void **state)
{
	(void)state;
	const double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
	struct stat_summary s;
	stat_summarize(v, 8, &s);
	assert_int_equal(s.n, 8);
	NEAR(s.mean, 5.0, 1e-12);
	NEAR(s.stddev, sqrt(32.0 / 7.0), 1e-12);
	NEAR(s.stderr_, sqrt(32.0 / 7.0) / sqrt(8.0), 1e-12);
	NEAR(s.rsd_pct, 100.0 * sqrt(32.0 / 7.0) / 5.0, 1e-9);
	NEAR(s.min, 2, 0);
	NEAR(s.max, 9, 0);
	stat_summarize(v, 1, &s);
	NEAR(s.stddev, 0, 0);
	stat_summarize(NULL, 0, &s);
	assert_int_equal(s.n, 0);
	NEAR(s.mean, 0, 0);
}

static void test_betainc(void **state)
{
	(void)state;
	/* I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 - (1 - x)^b */
	NEAR(stat_betainc(1, 1, 0.3), 0.3, 1e-12);
	NEAR(stat_betainc(3, 1, 0.5), 0.125, 1e-12);
	NEAR(stat_betainc(1, 4, 0.2), 1 - pow(0.8, 4), 1e-12);
	/* symmetry I_x(a, b) = 1 - I_{1-x}(b, a) */
	NEAR(stat_betainc(2.5, 7.5, 0.3), 1 - stat_betainc(7.5, 2.5, 0.7), 1e-12);
	NEAR(stat_betainc(2, 3, 0), 0, 0);
	NEAR(stat_betainc(2, 3, 1), 1, 0);
}

static void test_t_distribution(void **state)
{
	(void)state;
	/* Student t 97.5% quantiles from the usual tables */
	static const struct {
		double df, q;
	} table[] = {
	    {1, 12.7062}, {2, 4.3027},  {3, 3.1824},  {5, 2.5706},   {8, 2.3060},
	    {10, 2.2281}, {18, 2.1009}, {30, 2.0423}, {100, 1.9840}, {1e6, 1.9600},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		NEAR(stat_t_quantile(0.975, table[i].df), table[i].q, 5e-4);
	NEAR(stat_t_quantile(0.995, 10), 3.1693, 5e-4);
	NEAR(stat_t_quantile(0.95, 4), 2.1318, 5e-4);
	NEAR(stat_t_quantile(0.025, 10), -2.2281, 5e-4);
	NEAR(stat_t_quantile(0.5, 7), 0, 1e-12);
	/* fractional df, as Welch gives: between its integer neighbours */
	double q = stat_t_quantile(0.975, 8.5);
	assert_true(q < 2.3060 && q > 2.2622);
	/* the CDF: t = 1 with df = 1 is the Cauchy 3/4 */
	NEAR(stat_t_cdf(1, 1), 0.75, 1e-10);
	NEAR(stat_t_cdf(0, 5), 0.5, 1e-12);
	NEAR(stat_t_cdf(stat_t_quantile(0.9, 3.3), 3.3), 0.9, 1e-9);
}

static void test_welch_by_hand(void **state)
{
	(void)state;
	/* means 12 and 22, variances 2.5 each, n = 5: se = 1, t = 10, df = 8 */
	const double a[] = {10, 11, 12, 13, 14}, b[] = {20, 21, 22, 23, 24};
	struct stat_summary sa, sb;
	stat_summarize(a, 5, &sa);
	stat_summarize(b, 5, &sb);
	struct stat_change c;
	assert_int_equal(stat_compare(&sa, &sb, 0.95, 2.0, &c), 0);
	NEAR(c.t, 10, 1e-9);
	NEAR(c.df, 8, 1e-9);
	NEAR(c.rel_pct, 100.0 * 10 / 12, 1e-9);
	NEAR(c.half_pct, 2.3060 / 12 * 100, 5e-3);
	assert_true(c.ci_excludes_zero);
	assert_int_equal(c.direction, STAT_MORE);
	assert_true(c.p_value < 1e-4);
	char words[128];
	stat_verdict(&c, true, words, sizeof(words));
	assert_string_equal(words, "slower by 83.3% ± 19.2%");
	/* the other way round is faster */
	assert_int_equal(stat_compare(&sb, &sa, 0.95, 2.0, &c), 0);
	assert_int_equal(c.direction, STAT_LESS);
	stat_verdict(&c, true, words, sizeof(words));
	assert_true(!strncmp(words, "faster by 45.5% ± ", 18));
	stat_verdict(&c, false, words, sizeof(words));
	assert_true(!strncmp(words, "lower by", 8));
}

static void test_welch_no_change(void **state)
{
	(void)state;
	/* overlapping samples: the interval holds zero */
	const double a[] = {100, 103, 98, 101, 99, 102}, b[] = {101, 99, 100, 103, 98, 100};
	struct stat_summary sa, sb;
	stat_summarize(a, 6, &sa);
	stat_summarize(b, 6, &sb);
	struct stat_change c;
	assert_int_equal(stat_compare(&sa, &sb, 0.95, 0, &c), 0);
	assert_false(c.ci_excludes_zero);
	assert_int_equal(c.direction, STAT_SAME);
	assert_true(c.p_value > 0.5);
	char words[128];
	stat_verdict(&c, true, words, sizeof(words));
	assert_true(!strncmp(words, "no significant change (", 23));
	/* a consistent but tiny bias (0.5%) is significant to the t-test,
	 * not a change under the 2% floor */
	const double x[] = {100.0, 100.01, 99.99, 100.0}, y[] = {100.5, 100.51, 100.49, 100.5};
	stat_summarize(x, 4, &sa);
	stat_summarize(y, 4, &sb);
	assert_int_equal(stat_compare(&sa, &sb, 0.95, 2.0, &c), 0);
	assert_true(c.ci_excludes_zero);
	assert_int_equal(c.direction, STAT_SAME);
	assert_int_equal(stat_compare(&sa, &sb, 0.95, 0.0, &c), 0);
	assert_int_equal(c.direction, STAT_MORE);
	/* no spread at all */
	const double z[] = {5, 5, 5};
	stat_summarize(z, 3, &sa);
	assert_int_equal(stat_compare(&sa, &sa, 0.95, 2.0, &c), 0);
	assert_int_equal(c.direction, STAT_SAME);
	/* one run cannot be tested */
	stat_summarize(z, 1, &sb);
	assert_int_equal(stat_compare(&sa, &sb, 0.95, 2.0, &c), -EINVAL);
}

static void test_derived_ratios(void **state)
{
	(void)state;
	struct stat_base b = {0};
	b.wall_ns = 2e9;
	b.task_clock_ns = 1.96e9;
	b.cycles = 5.88e9;
	b.branches = 1e9;
	b.l1d_loads = 4e9;
	b.llc_loads = 1e6;
	b.cache_references = 2e6;
	struct stat_metric m;
	assert_true(stat_derive("task-clock", 1.96e9, &b, &m));
	NEAR(m.value, 0.98, 1e-12);
	assert_string_equal(m.unit, "CPUs utilized");
	assert_true(stat_derive("cycles", 5.88e9, &b, &m));
	NEAR(m.value, 3.0, 1e-12);
	assert_string_equal(m.unit, "GHz");
	assert_true(stat_derive("instructions", 11.466e9, &b, &m));
	NEAR(m.value, 1.95, 1e-12);
	assert_string_equal(m.unit, "insn per cycle");
	assert_true(stat_derive("branch-misses", 3.2e7, &b, &m));
	NEAR(m.value, 3.2, 1e-12);
	assert_string_equal(m.unit, "of all branches");
	assert_true(stat_derive("L1-dcache-load-misses", 2e8, &b, &m));
	NEAR(m.value, 5.0, 1e-12);
	assert_true(stat_derive("LLC-load-misses", 2.5e5, &b, &m));
	NEAR(m.value, 25.0, 1e-12);
	assert_true(stat_derive("cache-misses", 1e6, &b, &m));
	NEAR(m.value, 50.0, 1e-12);
	assert_true(stat_derive("page-faults", 980, &b, &m));
	NEAR(m.value, 500.0, 1e-9);
	assert_true(m.rate);
	assert_string_equal(m.unit, "/sec");
	/* no base, no ratio: IPC without cycles (this VM), misses without loads */
	b.cycles = 0;
	b.llc_loads = 0;
	assert_false(stat_derive("instructions", 1e9, &b, &m));
	assert_false(stat_derive("LLC-load-misses", 1e3, &b, &m));
}

/* A result by hand: two commands, task-clock and cycles (not supported). */
static struct stat_event events[] = {
    {"task-clock", "software", true},
    {"cycles", "hardware", false},
    {"instructions", "hardware", false},
};

static void fill(struct stat_command *c, const char *label, double ms, bool hw)
{
	memset(c, 0, sizeof(*c));
	c->label = label;
	c->cells = calloc(3, sizeof(*c->cells));
	for (int r = 0; r < 5; r++) {
		double v = ms * 1e6 * (1 + 0.001 * r);
		vec_push(&c->cells[0].runs, v);
		c->cells[0].share_sum += 1;
		if (hw) {
			vec_push(&c->cells[1].runs, 3.0 * v);
			vec_push(&c->cells[2].runs, 6.0 * v);
			c->cells[1].share_sum += 0.5;
			c->cells[2].share_sum += 0.5;
		}
		vec_push(&c->wall_ns, v * 1.02);
		vec_push(&c->user_s, v / 1e9);
		vec_push(&c->sys_s, 0.0);
		vec_push(&c->maxrss_kib, 2048.0);
		c->runs_done++;
	}
	c->cells[0].supported = true;
	c->cells[1].supported = c->cells[2].supported = hw;
}

static void drop(struct stat_command *c)
{
	for (int e = 0; e < 3; e++)
		vec_free(&c->cells[e].runs);
	free(c->cells);
	vec_free(&c->wall_ns);
	vec_free(&c->user_s);
	vec_free(&c->sys_s);
	vec_free(&c->maxrss_kib);
}

static void test_render_text(void **state)
{
	(void)state;
	struct stat_command cmds[2];
	fill(&cmds[0], "./a", 100, true);
	fill(&cmds[1], "./b", 200, false);
	struct stat_result r = {events, 3, cmds, 1, 5, false, false, 0, false, 0, 0.95, 2.0};
	struct strbuf sb = STRBUF_INIT;
	stat_text_ops.render(&sb, &r);
	const char *t = strbuf_str(&sb);
	assert_non_null(strstr(t, "Performance counter stats for './a' (5 runs):"));
	assert_non_null(strstr(t, "msec task-clock"));
	assert_non_null(strstr(t, "CPUs utilized"));
	/* multiplexed at 50%: scaled figure marked with its running share */
	assert_non_null(strstr(t, "insn per cycle"));
	assert_non_null(strstr(t, "2.000 insn per cycle"));
	assert_non_null(strstr(t, "(50.00%)"));
	assert_non_null(strstr(t, "3.000 GHz"));
	strbuf_reset(&sb);
	r.n_cmds = 2;
	r.compare = true;
	stat_text_ops.render(&sb, &r);
	t = strbuf_str(&sb);
	assert_non_null(strstr(t, "B vs A, task-clock: slower by 100.0% ± "));
	assert_non_null(strstr(t, "<not supported>"));
	strbuf_reset(&sb);
	stat_json_ops.render(&sb, &r);
	t = strbuf_str(&sb);
	assert_non_null(strstr(t, "\"verdict\": {\"change_pct\": 100"));
	assert_non_null(strstr(t, "\"value\": null"));
	strbuf_reset(&sb);
	stat_csv_ops.render(&sb, &r);
	t = strbuf_str(&sb);
	assert_true(!strncmp(t, "command,event,value,unit,", 25));
	assert_non_null(strstr(t, "./b,task-clock,"));
	assert_non_null(strstr(t, ",yes\n"));
	assert_non_null(strstr(t, "./b,cycles,<not supported>"));
	strbuf_release(&sb);
	drop(&cmds[0]);
	drop(&cmds[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_summarize),       cmocka_unit_test(test_betainc),
	    cmocka_unit_test(test_t_distribution),  cmocka_unit_test(test_welch_by_hand),
	    cmocka_unit_test(test_welch_no_change), cmocka_unit_test(test_derived_ratios),
	    cmocka_unit_test(test_render_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
