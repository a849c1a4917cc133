/* flame_diff.h - is a frame's change between two profiles more than
 * sampling noise? A frame's share of a profile is a proportion estimated
 * from a number of samples; two runs of the same program give shares that
 * differ by chance. A change is called significant when the confidence
 * interval of the difference of the two proportions excludes zero. A flame
 * graph tests thousands of frames at once, so the width of the interval is
 * chosen for all of them together (flame_diff_threshold(): the
 * Benjamini-Hochberg procedure), not 95% for each, which would mark about
 * one unchanged frame in twenty.
 */
#ifndef KILN_ANALYSIS_FLAME_DIFF_H
#define KILN_ANALYSIS_FLAME_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLAME_Z95 1.959963984540054 /* the two-sided 95% quantile of the normal distribution */
#define FLAME_FDR 0.05              /* the false discovery rate flame_diff_threshold() keeps to */

struct flame_change {
	double before, after; /* shares of the totals, 0..1 */
	double delta;         /* after - before, as a fraction (0.01 is one percentage point) */
	double margin;        /* half width of the 95% interval of the change (one test alone) */
	double z;             /* the change in standard errors, >= 0 */
	bool significant;     /* the change is more than zcrit standard errors */
};

/* The change of a frame with base of base_total samples in BASE and value
 * of total in NEW; significant when more than zcrit standard errors
 * (FLAME_Z95 for a frame tested alone, else flame_diff_threshold()'s).
 * Counts are samples: callers with other values (bytes, nanoseconds)
 * convert them to the samples they stand for first. Totals of 0 or less
 * give a change of 0 that is not significant. */
void flame_change_of(double base, double base_total, double value, double total, double zcrit, struct flame_change *c);

/* The zcrit for m changes tested together, from their z (reordered): the
 * Benjamini-Hochberg procedure at a false discovery rate of FLAME_FDR, so
 * that when nothing changed, no frame is significant in 95% of diffs.
 * Returns at least FLAME_Z95, and FLAME_ZNONE when no change is
 * significant. */
double flame_diff_threshold(double *z, size_t m);

#define FLAME_ZNONE 1e300

#endif
