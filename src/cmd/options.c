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
