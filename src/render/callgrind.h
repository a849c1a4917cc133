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
 * they were inlined into, as callgrind counts them. A profile with a
 * "calls" value type (kiln count's: the calls that entered a function, at
 * its first instruction under the caller's path) gives each call line its
 * count; a sampled one, which cannot know it, says calls=1. */
int callgrind_write(FILE *f, const struct profile *p);

#endif
