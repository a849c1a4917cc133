/* callgrind.h - writes a profile in callgrind's format, the one
 * callgrind_annotate and KCachegrind read: each function's self cost per
 * source line (positions: line) and, for each caller and callee, the
 * callee's inclusive cost. One event per value type (instructions is Ir).
 */
#ifndef KILN_RENDER_CALLGRIND_H
#define KILN_RENDER_CALLGRIND_H

#include <stdio.h>

struct profile;

/* Writes p to f; 0 or -EIO. Inlined frames are folded into the function
 * they were inlined into, as callgrind counts them. Call counts are not
 * in a profile: every call line says calls=1. */
int callgrind_write(FILE *f, const struct profile *p);

#endif
