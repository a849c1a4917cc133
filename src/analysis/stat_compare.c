/* stat_compare.c - summaries, Welch's t-test with a Student t quantile of
 * our own (continued fraction of the incomplete beta function), verdicts
 * in words and perf stat's derived ratios. */
#include "analysis/stat_compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void stat_summarize(const double *v, size_t n, struct stat_summary *out)
{
	memset(out, 0, sizeof(*out));
	out->n = n;
	if (!n)
		return;
	double sum = 0;
	out->min = out->max = v[0];
	for (size_t i = 0; i < n; i++) {
		sum += v[i];
		if (v[i] < out->min)
			out->min = v[i];
		if (v[i] > out->max)
			out->max = v[i];
	}
	out->mean = sum / (double)n;
	if (n >= 2) {
		/* Two passes: the sum of squared deviations does not cancel. */
		double ss = 0;
		for (size_t i = 0; i < n; i++)
			ss += (v[i] - out->mean) * (v[i] - out->mean);
		out->stddev = sqrt(ss / (double)(n - 1));
		out->stderr_ = out->stddev / sqrt((double)n);
	}
	if (out->mean != 0) {
		out->rsd_pct = 100.0 * out->stddev / fabs(out->mean);
		out->rse_pct = 100.0 * out->stderr_ / fabs(out->mean);
	}
}

/* The continued fraction of I_x(a, b) by the modified Lentz method:
 * 1 / (1 + d1 / (1 + d2 / (1 + ...))), with d(2m+1) = -(a+m)(a+b+m)x /
 * ((a+2m)(a+2m+1)) and d(2m) = m(b-m)x / ((a+2m-1)(a+2m)). */
static double betacf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-15;
	double f = tiny, C = f, D = 0;
	for (int k = 1; k < 1000; k++) {
		double num;
		if (k == 1) {
			num = 1.0;
		} else {
			int d = k - 1; /* d-th coefficient */
			int m = d / 2;
			if (d % 2)
				num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
			else
				num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
		}
		D = 1.0 + num * D;
		if (fabs(D) < tiny)
			D = tiny;
		C = 1.0 + num / C;
		if (fabs(C) < tiny)
			C = tiny;
		D = 1.0 / D;
		double delta = C * D;
		f *= delta;
		if (fabs(delta - 1.0) < eps)
			break;
	}
	return f;
}

double stat_betainc(double a, double b, double x)
{
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	/* x^a (1-x)^b / (a B(a, b)), in logs to stay in range */
	double lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
	/* The fraction converges fast only below the mean; use the symmetry above it. */
	if (x < (a + 1) / (a + b + 2))
		return exp(lfront) * betacf(a, b, x) / a;
	return 1.0 - exp(lfront) * betacf(b, a, 1.0 - x) / b;
}

double stat_t_cdf(double t, double df)
{
	if (isinf(t))
		return t > 0 ? 1.0 : 0.0;
	double x = df / (df + t * t);
	double tail = 0.5 * stat_betainc(df / 2.0, 0.5, x);
	return t > 0 ? 1.0 - tail : tail;
}

double stat_t_quantile(double p, double df)
{
	if (p <= 0)
		return -INFINITY;
	if (p >= 1)
		return INFINITY;
	if (p == 0.5)
		return 0;
	/* The CDF is monotonic: bracket, then bisect to machine precision. */
	double lo = -1, hi = 1;
	while (stat_t_cdf(lo, df) > p && lo > -1e12)
		lo *= 2;
	while (stat_t_cdf(hi, df) < p && hi < 1e12)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-12 * (1 + fabs(lo)); i++) {
		double mid = 0.5 * (lo + hi);
		if (stat_t_cdf(mid, df) < p)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

int stat_compare(const struct stat_summary *a, const struct stat_summary *b, double confidence, double min_change_pct,
                 struct stat_change *out)
{
	memset(out, 0, sizeof(*out));
	if (a->n < 2 || b->n < 2 || confidence <= 0 || confidence >= 1)
		return -EINVAL;
	double diff = b->mean - a->mean;
	if (a->mean == 0) {
		if (diff != 0)
			return -EINVAL;
		out->df = (double)(a->n + b->n - 2);
		out->p_value = 1;
		return 0;
	}
	double va = a->stddev * a->stddev / (double)a->n;
	double vb = b->stddev * b->stddev / (double)b->n;
	double se = sqrt(va + vb);
	double scale = 100.0 / fabs(a->mean);
	out->rel_pct = diff * scale;
	if (se == 0) {
		/* No spread on either side: the difference is exact. */
		out->df = INFINITY;
		out->t = diff == 0 ? 0 : copysign(INFINITY, diff);
		out->p_value = diff == 0 ? 1 : 0;
		out->lo_pct = out->hi_pct = out->rel_pct;
		out->ci_excludes_zero = diff != 0;
	} else {
		/* Welch-Satterthwaite degrees of freedom. */
		double den = 0;
		if (va > 0)
			den += va * va / (double)(a->n - 1);
		if (vb > 0)
			den += vb * vb / (double)(b->n - 1);
		out->df = (va + vb) * (va + vb) / den;
		out->t = diff / se;
		out->p_value = 2.0 * (1.0 - stat_t_cdf(fabs(out->t), out->df));
		double tq = stat_t_quantile(0.5 + confidence / 2.0, out->df);
		out->half_pct = tq * se * scale;
		out->lo_pct = out->rel_pct - out->half_pct;
		out->hi_pct = out->rel_pct + out->half_pct;
		out->ci_excludes_zero = out->lo_pct > 0 || out->hi_pct < 0;
	}
	if (out->ci_excludes_zero && fabs(out->rel_pct) >= min_change_pct)
		out->direction = diff > 0 ? STAT_MORE : STAT_LESS;
	return 0;
}

void stat_verdict(const struct stat_change *c, bool is_time, char *buf, size_t len)
{
	const char *more = is_time ? "slower" : "higher";
	const char *less = is_time ? "faster" : "lower";
	switch (c->direction) {
	case STAT_MORE:
		snprintf(buf, len, "%s by %.1f%% ± %.1f%%", more, c->rel_pct, c->half_pct);
		break;
	case STAT_LESS:
		snprintf(buf, len, "%s by %.1f%% ± %.1f%%", less, -c->rel_pct, c->half_pct);
		break;
	default:
		snprintf(buf, len, "no significant change (%+.1f%% ± %.1f%%)", c->rel_pct, c->half_pct);
		break;
	}
}

/* count / base in %, perf's "x% of all ..." */
static bool pct_of(double v, double base, const char *unit, struct stat_metric *out)
{
	if (base <= 0)
		return false;
	out->value = 100.0 * v / base;
	out->unit = unit;
	return true;
}

bool stat_derive(const char *name, double v, const struct stat_base *b, struct stat_metric *out)
{
	memset(out, 0, sizeof(*out));
	if (!strcmp(name, "task-clock") || !strcmp(name, "cpu-clock")) {
		if (b->wall_ns <= 0)
			return false;
		out->value = v / b->wall_ns;
		out->unit = "CPUs utilized";
		return true;
	}
	if (!strcmp(name, "cycles")) {
		if (b->task_clock_ns <= 0)
			return false;
		out->value = v / b->task_clock_ns; /* cycles per ns = GHz */
		out->unit = "GHz";
		return true;
	}
	if (!strcmp(name, "instructions")) {
		if (b->cycles <= 0)
			return false;
		out->value = v / b->cycles;
		out->unit = "insn per cycle";
		return true;
	}
	if (!strcmp(name, "branch-misses"))
		return pct_of(v, b->branches, "of all branches", out);
	if (!strcmp(name, "cache-misses"))
		return pct_of(v, b->cache_references, "of all cache refs", out);
	if (!strcmp(name, "L1-dcache-load-misses"))
		return pct_of(v, b->l1d_loads, "of all L1-dcache accesses", out);
	if (!strcmp(name, "LLC-load-misses"))
		return pct_of(v, b->llc_loads, "of all LL-cache accesses", out);
	if (!strcmp(name, "dTLB-load-misses"))
		return pct_of(v, b->dtlb_loads, "of all dTLB cache accesses", out);
	if (!strcmp(name, "branch-load-misses"))
		return pct_of(v, b->branch_loads, "of all branch loads", out);
	/* Every other count: events per second of task-clock, as perf prints. */
	if (b->task_clock_ns <= 0)
		return false;
	out->value = v / (b->task_clock_ns / 1e9);
	out->unit = "/sec";
	out->rate = true;
	return true;
}
