/* num.h - unsigned numbers read from text by hand: no locale, no errno,
 * no sign, no 0x prefix (the formats kiln reads this way write neither);
 * and bytes written as hex.
 * Inline: kiln flame reads every folded line's count through it, and a
 * constant base folds its digit test to that base's. */
#ifndef KILN_UTIL_NUM_H
#define KILN_UTIL_NUM_H

#include <stddef.h>
#include <stdint.h>

/* The value of digit c in base (10 or 16), or a value >= base when c is
 * not one. */
static inline unsigned num_digit_value(char c, unsigned base)
{
	unsigned d = (unsigned)(c - '0');
	if (d <= 9 || base <= 10)
		return d;
	unsigned x = (unsigned)((c | 0x20) - 'a');
	return x < 6 ? x + 10 : 99;
}

/* The digits in base (10 or 16, hex digits in either case) that start at
 * p, up to end (NULL: up to the first non-digit, a NUL ending the text).
 * Returns the first character past them with their value in *out, or
 * NULL when there are none or the value does not fit 64 bits. */
static inline const char *num_scan_u64(const char *p, const char *end, unsigned base, uint64_t *out)
{
	const char *start = p;
	uint64_t v = 0;
	/* no division per digit */
	for (unsigned d; (!end || p < end) && (d = num_digit_value(*p, base)) < base; p++)
		if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
			return NULL;
	if (p == start)
		return NULL;
	*out = v;
	return p;
}

/* Writes the n bytes at bits as 2n lower-case hex digits and a NUL byte
 * to out (2n + 1 bytes): build-ids in file names, cache keys and
 * profiles. */
static inline void num_hex_bytes(const void *bits, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = bits;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

#endif
