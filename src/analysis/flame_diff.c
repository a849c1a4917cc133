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

#define Z95 1.959963984540054 /* the two-sided 95% quantile of the normal distribution */

void flame_change_of(double base, double base_total, double value, double total, struct flame_change *c)
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
	c->margin = Z95 * sqrt(p1 * (1 - p1) / (base_total + 2) + p2 * (1 - p2) / (total + 2));
	c->significant = fabs(p2 - p1) > c->margin;
}
