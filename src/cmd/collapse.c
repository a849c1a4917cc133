/* collapse.c - `kiln collapse`: `perf script` output (or a .kiln profile)
 * into folded stacks, the lingua franca of flame graph tools, so users can
 * bring their perf.data along. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "analysis/flame_tree.h"
#include "cmd/cmd.h"
#include "cmd/output.h"
#include "profile/folded_read.h"
#include "profile/kiln_file.h"
#include "render/flame.h"

static const char collapse_usage[] = "usage: kiln collapse [options] [FILE]\n"
                                     "\n"
                                     "Turns 'perf script' output (or a .kiln profile, or folded stacks) into\n"
                                     "folded stacks: one 'comm;outer;...;leaf COUNT' line per distinct stack, as\n"
                                     "stackcollapse-perf.pl writes them. FILE defaults to stdin ('-').\n"
                                     "\n"
                                     "  perf script -i perf.data | kiln collapse > out.folded\n"
                                     "  kiln flame out.folded\n"
                                     "\n"
                                     "  -o, --output FILE   write to FILE instead of stdout\n"
                                     "      --threads       put the thread (name and tid) at the root of each stack\n"
                                     "  -h, --help          show this help\n"
                                     "See kiln-collapse(1).\n";

int cmd_collapse(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"threads", no_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *output = NULL;
	struct flame_options fo = {0};
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
	const char *format = NULL;
	int rc = folded_read_any(input, &p, &format);
	if (rc == -ENOMSG) {
		kiln_error("'%s' is not perf script output (run 'perf script -i perf.data > out.txt'), a .kiln "
		           "profile or folded stacks",
		           input);
		return 1;
	}
	if (rc) {
		if (format && !strcmp(format, "kiln"))
			kiln_error("cannot read '%s': %s", input, kiln_read_strerror(rc));
		else
			kiln_error("cannot open '%s': %s", input, strerror(-rc));
		return 1;
	}
	profile_name_unsymbolized(p);
	struct flame_tree t;
	flame_tree_init(&t);
	int status = 1;
	flame_tree_build(&t, p, &fo);
	struct output out;
	const char *shown = output && strcmp(output, "-") ? output : "stdout";
	rc = output_open_text(&out, output ? output : "-");
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
