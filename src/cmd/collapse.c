/* collapse.c - `kiln collapse`: `perf script` output (or a .kiln profile)
 * into folded stacks, the lingua franca of flame graph tools, so users can
 * bring their perf.data along (read directly or as perf script text). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "analysis/flame_tree.h"
#include "cmd/cmd.h"
#include "cmd/output.h"
#include "profile/stack_input.h"
#include "render/flame.h"

static const char collapse_usage[] =
    "usage: kiln collapse [options] [FILE]\n"
    "\n"
    "Turns 'perf script' output (or a perf.data file, a .kiln profile, or folded\n"
    "stacks) into folded stacks: one 'comm;outer;...;leaf COUNT' line per\n"
    "distinct stack, as stackcollapse-perf.pl writes them. FILE defaults to\n"
    "stdin ('-').\n"
    "\n"
    "  kiln collapse perf.data > out.folded\n"
    "  perf script -i perf.data | kiln collapse > out.folded\n"
    "  kiln flame out.folded\n"
    "\n"
    "  -o, --output FILE   write to FILE instead of stdout\n"
    "      --threads       put the thread (name and tid) at the root of each stack\n"
    "      --max-line-bytes N   longest line of text input (default 16M)\n"
    "      --max-input-bytes N  most bytes of input, a pprof once uncompressed (default: no limit)\n"
    "  -h, --help          show this help\n"
    "See kiln-collapse(1).\n";

int cmd_collapse(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"threads", no_argument, NULL, 't'},
	    {"max-line-bytes", required_argument, NULL, 'L'},
	    {"max-input-bytes", required_argument, NULL, 'I'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *output = NULL;
	struct flame_options fo = {0};
	struct stack_input_limits limits = {0};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 't':
			fo.threads = true;
			break;
		case 'L':
			if (cmd_stack_limit_option("--max-line-bytes", optarg, &limits.max_line_bytes))
				return 2;
			break;
		case 'I':
			if (cmd_stack_limit_option("--max-input-bytes", optarg, &limits.max_input_bytes))
				return 2;
			break;
		case 'h':
			cmd_print_usage(collapse_usage, 0);
			return 0;
		default: /* ':' and '?' */
			return cmd_bad_option("collapse", c, argv);
		}
	}
	if (argc - optind > 1) {
		kiln_error("give one input file (or none to read stdin)");
		return 2;
	}
	const char *input = optind < argc ? argv[optind] : "-";
	struct profile *p = NULL;
	if (cmd_load_stacks(input, &limits, NULL, NULL, "collapsing", &p, NULL))
		return 1;
	struct flame_tree t;
	flame_tree_init(&t);
	int status = 1;
	if (flame_tree_build(&t, p, &fo) == -EOVERFLOW) {
		kiln_error("cannot collapse '%s': its values add up to more than %" PRId64 " (64 bits)", input,
		           INT64_MAX);
		goto out;
	}
	struct output out;
	const char *shown = output && strcmp(output, "-") ? output : "stdout";
	int rc = output_open_text(&out, output ? output : "-");
	if (rc) {
		kiln_error("cannot write '%s': %s", shown, strerror(-rc));
		goto out;
	}
	/* a write error is output's to report, exactly */
	(void)flame_render_folded(out.f, &t);
	rc = output_commit(&out);
	output_release(&out);
	if (rc) {
		kiln_error("cannot write '%s': %s", shown, strerror(-rc));
		goto out;
	}
	status = 0;
out:
	flame_tree_release(&t);
	profile_free(p);
	return status;
}
