/* timeline.c - `kiln timeline`: draws an off-CPU or --wall profile as a
 * per-thread timeline SVG (render/timeline.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/offcpu_view.h"
#include "profile/profile.h"

static const char timeline_usage[] = "usage: kiln timeline [options] [FILE]\n"
                                     "\n"
                                     "Draws a profile recorded by kiln offcpu or kiln record --wall / --off-cpu\n"
                                     "(default offcpu.kiln) as one self-contained SVG: a lane per thread, the\n"
                                     "threads of a pool together, each off-CPU interval coloured by its reason\n"
                                     "(runnable: preempted), its stack on hover; the wheel zooms, dragging pans.\n"
                                     "\n"
                                     "  -o, --output FILE         write to FILE (default timeline.svg; - is stdout)\n"
                                     "      --park-frame REGEX    a function in which pool workers wait for work\n"
                                     "                            (groups pools as kiln offcpu does); repeatable\n"
                                     "  -h, --help                show this help\n"
                                     "See kiln-offcpu(1).\n";

int cmd_timeline(int argc, char **argv)
{
	enum { OPT_PARK = 256 };
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"park-frame", required_argument, NULL, OPT_PARK},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct offcpu_view_args v = {0};
	const char *output = "timeline.svg", *file = "offcpu.kiln";
	int c, rc;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case OPT_PARK:
			if ((rc = offcpu_view_park_option(&v, optarg)))
				return rc;
			break;
		case 'h':
			cmd_print_usage(timeline_usage, 0);
			return 0;
		default:
			return cmd_bad_option("timeline", c, argv);
		}
	}
	if (optind + 1 < argc) {
		kiln_error("timeline draws one profile; got more than one file");
		return 2;
	}
	if (optind < argc)
		file = argv[optind];
	bool complete;
	struct profile *p = cmd_load_profile(file, "drawing", &complete);
	if (!p)
		return 1;
	rc = offcpu_write_timeline(&v, p, file, output);
	profile_free(p);
	return rc;
}
