/* num.h - unsigned numbers read from text by hand: no locale, no errno,
 * no sign, no 0x prefix (the formats kiln reads this way write neither). */
#ifndef KILN_UTIL_NUM_H
#define KILN_UTIL_NUM_H

#include <stdint.h>

/* The digits in base (10 or 16, hex digits in either case) that start at
 * p, up to end (NULL: up to the first non-digit, a NUL ending the text).
 * Returns the first character past them with their value in *out, or
 * NULL when there are none or the value does not fit 64 bits. */
const char *num_scan_u64(const char *p, const char *end, unsigned base, uint64_t *out);

#endif
