/* flame_diff.h - is a frame's change between two profiles more than
 * sampling noise? A frame's share of a profile is a proportion estimated
 * from a number of samples; two runs of the same program give shares that
 * differ by chance. A change is called significant when the 95% confidence
 * interval of the difference of the two proportions excludes zero.
 */
#ifndef KILN_ANALYSIS_FLAME_DIFF_H
#define KILN_ANALYSIS_FLAME_DIFF_H

#include <stdbool.h>
#include <stdint.h>

struct flame_change {
	double before, after; /* shares of the totals, 0..1 */
	double delta;         /* after - before, as a fraction (0.01 is one percentage point) */
	double margin;        /* half width of the 95% interval of the change */
	bool significant;     /* the interval excludes zero */
};

/* The change of a frame with base of base_total samples in BASE and value
 * of total in NEW. Counts are samples: callers with other values (bytes,
 * nanoseconds) convert them to the samples they stand for first. Totals of
 * 0 or less give a change of 0 that is not significant. */
void flame_change_of(double base, double base_total, double value, double total, struct flame_change *c);

#endif
