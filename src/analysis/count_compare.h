/* count_compare.h - kiln count --compare: the change of each function's
 * exact instruction count (self) between two profiles, and of the total.
 * Functions are matched by name and module, or by name alone when the
 * module is not in the other profile (two builds of a program under two
 * names).
 */
#ifndef KILN_ANALYSIS_COUNT_COMPARE_H
#define KILN_ANALYSIS_COUNT_COMPARE_H

#include <stdint.h>

#include "analysis/hotspots.h"
#include "util/vec.h"

struct count_change {
	const char *name, *module; /* point into the profiles */
	int64_t base, now;         /* self values; 0 where the function is absent */
	double pct;                /* (now - base) / base * 100; +inf for a new function */
};

struct count_compare {
	int64_t base_total, now_total;
	double total_pct;
	VEC(struct count_change) rows; /* largest absolute change first */
};

/* Compares the self values of two built hotspots; both must outlive c.
 * 0 or -ENOMEM. */
int count_compare_build(struct count_compare *c, const struct hotspots *base, const struct hotspots *now);
void count_compare_release(struct count_compare *c);
/* The row of the function named name, or NULL. */
const struct count_change *count_compare_find(const struct count_compare *c, const char *name);

#endif
