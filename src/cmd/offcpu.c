/* offcpu.c - `kiln offcpu`: where threads wait. Records the command (or
 * -p PID) with every switch off and back onto a cpu, writes an off-CPU
 * profile weighted by blocked nanoseconds, then prints the reasons, the
 * stacks that blocked longest and the worker pools' health, and draws the
 * thread timeline when asked. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "analysis/pools.h"
#include "cmd/cmd.h"
#include "cmd/offcpu_view.h"
#include "cmd/record.h"
#include "util/strbuf.h"

static const char offcpu_usage[] = "usage: kiln offcpu [options] [record options] -- CMD [ARGS...]\n"
                                   "       kiln offcpu [options] -p PID [--duration SECONDS]\n"
                                   "\n"
                                   "Records every time a thread of CMD goes off the cpu and comes back\n"
                                   "(sched:sched_switch with its stack, and context-switch records), weighs\n"
                                   "each blocked interval by its nanoseconds, and prints where the threads\n"
                                   "waited: by reason (sleep, lock, condvar, futex, read, poll, io), the\n"
                                   "stacks that blocked longest, and each worker pool's busy / parked /\n"
                                   "blocked-in-tasks split with a verdict when a pool is unhealthy.\n"
                                   "\n"
                                   "  -o, --output FILE         write the profile to FILE (default offcpu.kiln)\n"
                                   "      --min-block NS        drop blocked intervals shorter than NS ns\n"
                                   "                            (default 0: every one is counted)\n"
                                   "      --park-frame REGEX    a function (POSIX extended regex) in which a\n"
                                   "                            pool's workers wait for work; repeatable\n"
                                   "      --timeline FILE       also draw the per-thread timeline SVG to FILE\n"
                                   "  -n, --limit N             stacks to list (default 10; 0 lists all)\n"
                                   "      --json                print the pools as JSON (see kiln-offcpu(1))\n"
                                   "  -h, --help                show this help\n"
                                   "kiln record's options apply too: -p, --duration, --call-graph, -F, -q, ...\n"
                                   "\n"
                                   "Then: kiln flame FILE (draws offcpu nanoseconds), kiln report --pools FILE,\n"
                                   "kiln timeline FILE. See kiln-offcpu(1).\n";

struct offcpu_args {
	struct record_args rec;
	struct offcpu_view_args view;
	const char *timeline;
};

static int parse_args(int argc, char **argv, struct offcpu_args *a)
{
	enum { OPT_PARK = 256, OPT_TIMELINE, OPT_JSON };
	struct option opts[5 + RECORD_OPTIONS_COUNT + 1] = {
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {"park-frame", required_argument, NULL, OPT_PARK},
	    {"timeline", required_argument, NULL, OPT_TIMELINE},
	    {"json", no_argument, NULL, OPT_JSON},
	};
	memcpy(opts + 5, record_options, sizeof(record_options));
	int c, rc;
	uint64_t v;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:o:hn:" RECORD_SHORT_OPTIONS, opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			a->rec.output = optarg;
			break;
		case 'h':
			cmd_print_usage(offcpu_usage, 0);
			return 0;
		case 'n':
			if (cmd_parse_u64(optarg, &v)) {
				kiln_error("--limit takes a number of rows (0 for all); got '%s'", optarg);
				return 2;
			}
			a->view.limit = (size_t)v;
			break;
		case OPT_PARK:
			if ((rc = offcpu_view_park_option(&a->view, optarg)))
				return rc;
			break;
		case OPT_TIMELINE:
			a->timeline = optarg;
			break;
		case OPT_JSON:
			a->view.json = true;
			break;
		case ':':
		case '?':
			return cmd_bad_option("offcpu", c, argv);
		default:
			rc = record_option(&a->rec, c, optarg);
			if (rc)
				return rc;
			break;
		}
	}
	if (a->rec.event) {
		kiln_error("kiln offcpu records switches; -e does not apply (use kiln record -e for other events)");
		return 2;
	}
	a->rec.argv = argv + optind;
	return record_args_check(&a->rec);
}

int cmd_offcpu(int argc, char **argv)
{
	struct offcpu_args a = {0};
	record_args_init(&a.rec);
	a.rec.output = "offcpu.kiln";
	a.rec.time = RECORD_TIME_OFFCPU;
	a.rec.view_value = "offcpu"; /* views weigh by blocked time, not by switches */
	a.view.limit = 10;
	a.view.reasons = true;
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	bool wrote = false;
	int status = record_run(&a.rec, &wrote);
	if (!wrote)
		return status ? status : 1;
	bool complete;
	struct profile *p = cmd_load_profile(a.rec.output, "showing", &complete);
	if (!p)
		return 1;
	struct strbuf out = STRBUF_INIT;
	rc = offcpu_view(&a.view, p, a.rec.output, &out);
	if (rc == 0) {
		fwrite(out.buf, 1, out.len, stdout);
		fflush(stdout);
	}
	if (rc == 0 && a.timeline) {
		rc = offcpu_write_timeline(&a.view, p, a.rec.output, a.timeline);
		if (rc == 0 && !a.rec.quiet)
			fprintf(stderr, "kiln: wrote the timeline '%s'\n", a.timeline);
	}
	strbuf_release(&out);
	profile_free(p);
	/* the command's own status, as kiln record's */
	return rc ? rc : status;
}
