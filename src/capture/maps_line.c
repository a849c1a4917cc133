/* maps_line.c - decodes /proc/PID/maps lines (see maps_line.h). By hand,
 * not sscanf: the agent runs it inside the profiled program. */
#include "capture/maps_line.h"

#include "util/num.h"

/* A hex number at *i; false when there is none or it does not fit 64
 * bits. num.h is inline only: the agent and the QEMU plugin, which link
 * nothing of src/util, read it too. */
static bool read_hex(const char *t, size_t len, size_t *i, uint64_t *out)
{
	const char *end = num_scan_u64(t + *i, t + len, 16, out);
	if (!end)
		return false;
	*i = (size_t)(end - t);
	return true;
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
	const char *inode_end = num_scan_u64(t + i, t + eol, 10, &out->inode); /* past 64 bits: refused */
	if (!inode_end)
		return false;
	i = (size_t)(inode_end - t);
	if (i < eol && !is_blank(t[i]))
		return false;
	skip_blanks(t, eol, &i);
	if (i < eol) {
		out->path_at = i;
		out->path_len = eol - i;
	}
	return out->end >= out->start;
}
