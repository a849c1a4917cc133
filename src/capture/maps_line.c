/* maps_line.c - decodes /proc/PID/maps lines (see maps_line.h). By hand,
 * not sscanf: the agent runs it inside the profiled program. */
#include "capture/maps_line.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex number of 1 to 16 digits at *i; false when there is none or it
 * does not fit 64 bits. Not util's num_scan_u64: libkiln-agent.so and
 * libkiln-qemu.so compile this file and link nothing of src/util. */
static bool read_hex(const char *t, size_t len, size_t *i, uint64_t *out)
{
	uint64_t v = 0;
	size_t start = *i;
	for (int d; *i < len && (d = hex_digit(t[*i])) >= 0; (*i)++) {
		if (*i - start == 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return *i > start;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Skips blanks, then a field of non-blanks; false when the field is empty. */
static bool skip_field(const char *t, size_t len, size_t *i)
{
	while (*i < len && is_blank(t[*i]))
		(*i)++;
	size_t start = *i;
	while (*i < len && t[*i] != '\n' && !is_blank(t[*i]))
		(*i)++;
	return *i > start;
}

static bool skip_blanks(const char *t, size_t len, size_t *i)
{
	size_t start = *i;
	while (*i < len && is_blank(t[*i]))
		(*i)++;
	return *i > start;
}

bool maps_line_parse(const char *t, size_t len, struct maps_line *out)
{
	size_t eol = 0, i = 0;
	while (eol < len && t[eol] != '\n')
		eol++;
	out->next = eol < len ? eol + 1 : len;
	out->path_at = out->path_len = 0;
	if (!read_hex(t, eol, &i, &out->start) || i >= eol || t[i++] != '-' || !read_hex(t, eol, &i, &out->end) ||
	    !skip_blanks(t, eol, &i))
		return false;
	for (int k = 0; k < 4; k++, i++) {
		if (i >= eol || is_blank(t[i]))
			return false;
		out->perms[k] = t[i];
	}
	if (!skip_blanks(t, eol, &i) || !read_hex(t, eol, &i, &out->pgoff))
		return false;
	if (!skip_field(t, eol, &i) || !skip_blanks(t, eol, &i)) /* dev */
		return false;
	out->inode = 0; /* by hand, as read_hex: no src/util here */
	size_t digits = i;
	for (; i < eol && t[i] >= '0' && t[i] <= '9'; i++)
		if (__builtin_mul_overflow(out->inode, 10, &out->inode) ||
		    __builtin_add_overflow(out->inode, (uint64_t)(t[i] - '0'), &out->inode))
			return false; /* refused, not wrapped */
	if (i == digits || (i < eol && !is_blank(t[i])))
		return false;
	skip_blanks(t, eol, &i);
	if (i < eol) {
		out->path_at = i;
		out->path_len = eol - i;
	}
	return out->end >= out->start;
}
