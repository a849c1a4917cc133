/* options.c - number parsing shared by the commands' option parsers. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>

#include "cmd/cmd.h"

int cmd_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

int cmd_parse_pid_list(const char *s, uint32_t *out, size_t max)
{
	size_t n = 0;
	for (;;) {
		char *end;
		unsigned long v = *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : 0;
		if (!v || v > INT32_MAX || (*end && *end != ',') || n == max)
			return -1;
		out[n++] = (uint32_t)v;
		if (!*end)
			return (int)n;
		s = end + 1;
	}
}

int cmd_parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int cmd_bad_option(const char *cmd, int c, char **argv)
{
	if (c == ':')
		kiln_error("option '%s' needs a value; see 'kiln %s --help'", argv[optind - 1], cmd);
	else if (optopt && optopt < 256)
		kiln_error("unknown option '-%c'; see 'kiln %s --help'", optopt, cmd);
	else
		kiln_error("unknown option '%s'; see 'kiln %s --help'", argv[optind - 1], cmd);
	return 2;
}
