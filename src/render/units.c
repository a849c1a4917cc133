/* units.c - durations as people read them (units.h). */
#include "render/units.h"

#include <inttypes.h>
#include <stdio.h>

const char *render_duration_str(char *buf, size_t size, uint64_t ns)
{
	if (ns >= 60000000000ull)
		snprintf(buf, size, "%" PRIu64 "m %.1f s", (uint64_t)(ns / 60000000000ull),
		         (double)(ns % 60000000000ull) / 1e9);
	else if (ns >= 1000000000ull)
		snprintf(buf, size, "%.2f s", (double)ns / 1e9);
	else if (ns >= 1000000ull)
		snprintf(buf, size, "%.1f ms", (double)ns / 1e6);
	else if (ns >= 1000ull)
		snprintf(buf, size, "%.1f us", (double)ns / 1e3);
	else
		snprintf(buf, size, "%" PRIu64 " ns", ns);
	return buf;
}

void render_duration(struct strbuf *out, uint64_t ns)
{
	render_duration_w(out, ns, 0);
}

void render_duration_w(struct strbuf *out, uint64_t ns, int width)
{
	char buf[48];
	strbuf_addf(out, "%*s", width, render_duration_str(buf, sizeof(buf), ns));
}
