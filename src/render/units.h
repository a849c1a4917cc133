/* units.h - durations as people read them, the same in every table kiln
 * prints (report, lock, offcpu, the timeline's tooltips). */
#ifndef KILN_RENDER_UNITS_H
#define KILN_RENDER_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* "812 ns", "3.4 us", "5.6 ms", "7.89 s", "2m 3.4 s" into buf; returns buf. */
const char *render_duration_str(char *buf, size_t size, uint64_t ns);

/* The same appended to out. */
void render_duration(struct strbuf *out, uint64_t ns);

/* The same right-aligned in width columns (0: no padding). */
void render_duration_w(struct strbuf *out, uint64_t ns, int width);

#endif
