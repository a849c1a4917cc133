/* flame_diff.c - the significance of a frame's change between two profiles
 * (see flame_diff.h).
 *
 * The interval is Agresti and Caffo's for a difference of two proportions:
 * the Wald interval after adding one sample in and one out of the frame to
 * each profile. Unlike the plain Wald interval it stays honest for frames
 * with no samples on one side (a new or vanished frame of 3 samples in
 * 1000 is noise, not a change), and it needs nothing but the four counts.
 */
#include "analysis/flame_diff.h"

#include <math.h>
#include <stdlib.h>

void flame_change_of(double base, double base_total, double value, double total, double zcrit, struct flame_change *c)
{
	*c = (struct flame_change){0};
	if (base_total <= 0 || total <= 0)
		return;
	if (base < 0)
		base = 0;
	if (value < 0)
		value = 0;
	c->before = base / base_total;
	c->after = value / total;
	c->delta = c->after - c->before;
	double p1 = (base + 1) / (base_total + 2), p2 = (value + 1) / (total + 2);
	double se = sqrt(p1 * (1 - p1) / (base_total + 2) + p2 * (1 - p2) / (total + 2));
	c->margin = FLAME_Z95 * se;
	c->z = se > 0 ? fabs(p2 - p1) / se : 0;
	/* the same expression as change() in flame.js, so both draw the same */
	c->significant = fabs(p2 - p1) > zcrit * se;
}

static int by_z_desc(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a > b ? -1 : a < b;
}

double flame_diff_threshold(double *z, size_t m)
{
	if (!m)
		return FLAME_ZNONE;
	qsort(z, m, sizeof(*z), by_z_desc); /* the smallest p-value first */
	/* the largest k whose p-value is at most k/m of the rate: it and every
	 * smaller p-value are discoveries */
	size_t k = 0;
	for (size_t i = m; i > 0; i--) {
		double p = erfc(z[i - 1] / sqrt(2.0));
		if (p <= (double)i / (double)m * FLAME_FDR) {
			k = i;
			break;
		}
	}
	if (!k)
		return FLAME_ZNONE;
	/* just under the k-th z, so that it passes the strict test */
	double zk = z[k - 1] * (1 - 1e-9);
	return zk > FLAME_Z95 ? zk : FLAME_Z95;
}
