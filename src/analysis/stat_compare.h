/* stat_compare.h - the statistics of `kiln stat`: summaries of repeated
 * runs, Welch's t-test between two commands with a confidence interval of
 * the relative difference, the verdict in words, and perf stat's derived
 * ratios (CPUs utilized, insn per cycle, % of all branches, ...).
 *
 * Pure functions over doubles: no I/O, no allocation.
 */
#ifndef KILN_ANALYSIS_STAT_COMPARE_H
#define KILN_ANALYSIS_STAT_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

struct stat_summary {
	size_t n;
	double mean;
	double stddev;  /* sample standard deviation (n - 1), 0 when n < 2 */
	double stderr_; /* standard error of the mean: stddev / sqrt(n) */
	double rsd_pct; /* stddev / mean in % (0 when mean is 0) */
	double rse_pct; /* stderr_ / mean in %: what perf stat prints as "+-" */
	double min, max;
};

/* Summarises v[0..n); n may be 0 (all zero). */
void stat_summarize(const double *v, size_t n, struct stat_summary *out);

/* The regularized incomplete beta function I_x(a, b), a, b > 0, x in [0, 1]. */
double stat_betainc(double a, double b, double x);
/* P(T <= t) for Student's t with df > 0 degrees of freedom. */
double stat_t_cdf(double t, double df);
/* The p-quantile of Student's t with df degrees of freedom, p in (0, 1). */
double stat_t_quantile(double p, double df);

enum stat_direction {
	STAT_SAME = 0, /* no significant change */
	STAT_MORE,     /* B is significantly higher than A (slower, for a time) */
	STAT_LESS,     /* B is significantly lower than A (faster, for a time) */
};

/* B against A (the baseline). */
struct stat_change {
	double rel_pct;  /* (mean B - mean A) / mean A, in % */
	double half_pct; /* half width of the confidence interval of rel_pct */
	double lo_pct, hi_pct;
	double t, df, p_value;         /* Welch's t statistic, its degrees of freedom, two-sided p */
	bool ci_excludes_zero;         /* statistically significant at the chosen confidence */
	enum stat_direction direction; /* significant and at least min_change_pct large */
};

/* Welch's t-test of b against a at `confidence` (e.g. 0.95): the interval
 * is (mean B - mean A) +- t_q * se, divided by mean A. A change is called
 * MORE/LESS only when the interval excludes zero and |rel_pct| is at least
 * min_change_pct, so that a consistent but tiny bias (a different argv
 * length, page cache state) is not reported as a change. Returns 0, or
 * -EINVAL when a side has fewer than 2 runs or mean A is 0 with B not. */
int stat_compare(const struct stat_summary *a, const struct stat_summary *b, double confidence, double min_change_pct,
                 struct stat_change *out);

/* The verdict in words into buf: "slower by 12.3% ± 2.1%", "faster by
 * ...", "no significant change (+0.4% ± 0.9%)"; counts that are not times
 * (is_time false) say "higher by"/"lower by". */
void stat_verdict(const struct stat_change *c, bool is_time, char *buf, size_t len);

/* The means perf stat's derived ratios are computed from; a count that
 * was not measured is 0. */
struct stat_base {
	double wall_ns, task_clock_ns;
	double cycles, instructions, branches, cache_references;
	double l1d_loads, llc_loads, dtlb_loads, branch_loads;
};

/* A derived ratio: value in unit. rate: a per-second figure, which text
 * output scales to K/sec, M/sec. pct: a percentage. */
struct stat_metric {
	double value;
	const char *unit;
	bool rate;
};

/* perf stat's ratio for event `name` with mean count v: "CPUs utilized"
 * for task-clock, "GHz" for cycles, "insn per cycle", "of all branches",
 * "/sec" for other counts. Returns true when there is one (false when its
 * base is 0 or unmeasured). */
bool stat_derive(const char *name, double v, const struct stat_base *b, struct stat_metric *out);

#endif
