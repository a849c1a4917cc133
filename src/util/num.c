/* num.c - unsigned numbers read from text by hand (num.h). */
#include "util/num.h"

#include <stddef.h>

static unsigned digit_value(char c)
{
	unsigned d = (unsigned)(c - '0');
	if (d <= 9)
		return d;
	unsigned x = (unsigned)((c | 0x20) - 'a');
	return x < 6 ? x + 10 : 99;
}

const char *num_scan_u64(const char *p, const char *end, unsigned base, uint64_t *out)
{
	const char *start = p;
	uint64_t v = 0;
	for (unsigned d; (!end || p < end) && (d = digit_value(*p)) < base; p++) {
		if (v > (UINT64_MAX - d) / base)
			return NULL;
		v = v * base + d;
	}
	if (p == start)
		return NULL;
	*out = v;
	return p;
}
