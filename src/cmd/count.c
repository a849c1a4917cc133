/* count.c - `kiln count`: exact instructions of a command per function,
 * line and call path, counted under qemu-user by libkiln-qemu.so
 * (qemu_run.c), written as a profile; and `kiln count --compare`, the
 * per-function change between two such profiles, for CI gates. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/count_compare.h"
#include "analysis/hotspots.h"
#include "cmd/cmd.h"
#include "cmd/qemu_run.h"
#include "profile/profile.h"

static const char count_usage[] =
    "usage: kiln count [options] -- CMD [ARGS...]\n"
    "       kiln count --compare BASE.kiln NEW.kiln [--fail-above PCT] [--function NAME]\n"
    "\n"
    "Runs CMD under qemu-user with kiln's plugin and counts every instruction it\n"
    "executes, exactly: per function, source line and call path (inclusive and\n"
    "exclusive), in every thread and forked child. Two runs of a deterministic\n"
    "program give the same counts. View the profile with kiln report, kiln flame\n"
    "--value instructions or kiln annotate.\n"
    "\n"
    "  -o, --output FILE      the profile (default count.kiln); a name ending in\n"
    "                         .callgrind writes callgrind's format instead\n"
    "      --force            replace FILE even when it is not a kiln profile\n"
    "  -n, --top N            functions in the summary (default 10, 0: none)\n"
    "  -q, --quiet            no summary\n"
    "      --compare          the two arguments are profiles: print each function's\n"
    "                         change in instructions (self)\n"
    "      --fail-above PCT   with --compare: exit 1 when the total (or --function's\n"
    "                         count) grew by more than PCT percent\n"
    "      --function NAME    with --fail-above: gate on this function's self count\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status is the command's (128+N when it died from signal N). See kiln-count(1).\n";

/* The summary after a run: the total and the top functions, with how
 * often each was called. */
static void print_top(FILE *f, struct profile *p, int vi, size_t top, const char *what)
{
	struct hotspots h;
	if (hotspots_build(&h, p, vi))
		return;
	hotspots_sort_functions(&h, HOTSPOT_SORT_SELF);
	fprintf(f, "%s: ", what);
	cmd_qemu_put_count(f, 0, (uint64_t)h.total);
	fputc('\n', f);
	if (top) {
		/* the calls that entered each function: its self "calls" value,
		 * found by name and module (two modules may share a name) */
		struct hotspots calls;
		int ci = hotspots_value_index(p, "calls");
		bool have_calls = ci >= 0 && !hotspots_build(&calls, p, ci);
		fprintf(f, "%16s %16s %12s  function\n", "self", "total", "calls");
		for (size_t i = 0; i < h.funcs.n && i < top; i++) {
			const struct hotspot_func *fn = &h.funcs.v[i];
			const char *name = profile_str(p, fn->name);
			const struct hotspot_func *c =
			    have_calls ? hotspots_find_function(&calls, name, profile_str(p, fn->module)) : NULL;
			fprintf(f, "%16lld %16lld %12llu  %s\n", (long long)fn->self, (long long)fn->total,
			        (unsigned long long)(c ? c->self : 0), name);
		}
		if (have_calls)
			hotspots_release(&calls);
	}
	hotspots_release(&h);
}

static int compare(const char *base_path, const char *new_path, bool have_fail, double fail_above, const char *function)
{
	struct hotspots hb, hn;
	int vb, vn;
	struct profile *pb = cmd_load_hotspots(base_path, "comparing", "instructions", NULL, &hb, &vb);
	if (!pb)
		return 1;
	struct profile *pn = cmd_load_hotspots(new_path, "comparing", "instructions", NULL, &hn, &vn);
	if (!pn) {
		hotspots_release(&hb);
		profile_free(pb);
		return 1;
	}
	struct count_compare c;
	count_compare_build(&c, &hb, &hn);
	printf("%16s %16s %9s  function\n", "base", "new", "change");
	for (size_t i = 0; i < c.rows.n; i++) {
		const struct count_change *r = &c.rows.v[i];
		if (r->base == r->now)
			continue;
		printf("%16lld %16lld ", (long long)r->base, (long long)r->now);
		if (isinf(r->pct))
			printf("%9s", "new");
		else
			printf("%+8.2f%%", r->pct);
		printf("  %s\n", r->name);
	}
	printf("%16lld %16lld %+8.2f%%  total\n", (long long)c.base_total, (long long)c.now_total, c.total_pct);
	int status = 0;
	if (have_fail) {
		double change = c.total_pct;
		const char *what = "the total";
		if (function) {
			const struct count_change *r = count_compare_find(&c, function);
			if (!r) {
				kiln_error("no function '%s' in '%s' or '%s'; check the name as kiln report shows it",
				           function, base_path, new_path);
				status = 2;
				goto out;
			}
			change = r->pct;
			what = function;
		}
		if (change > fail_above) {
			kiln_error("%s grew by %.2f%% in instructions, more than --fail-above %g%%", what, change,
			           fail_above);
			status = 1;
		}
	}
out:
	count_compare_release(&c);
	hotspots_release(&hb);
	hotspots_release(&hn);
	profile_free(pb);
	profile_free(pn);
	return status;
}

int cmd_count(int argc, char **argv)
{
	enum { OPT_COMPARE = QEMU_OPT_OWN, OPT_FAIL, OPT_FUNCTION };
	static const struct option opts[] = {
	    QEMU_RUN_LONG_OPTIONS /* -o --force -n -q -h */ {"compare", no_argument, NULL, OPT_COMPARE},
	    {"fail-above", required_argument, NULL, OPT_FAIL},
	    {"function", required_argument, NULL, OPT_FUNCTION},
	    {NULL, 0, NULL, 0}};
	struct qemu_run_args a = {.output = "count.kiln", .verb = "count"};
	bool do_compare = false, have_fail = false;
	double fail_above = 0;
	const char *function = NULL;
	uint64_t top = 10;
	int c;
	/* --compare's two profiles may come before its options: they are
	 * collected, and option parsing goes on after them */
	const char *files[2];
	int nfiles = 0;
	optind = 1;
	for (;;) {
		while ((c = getopt_long(argc, argv, QEMU_RUN_SHORT_OPTIONS, opts, NULL)) != -1) {
			int shared = cmd_qemu_option(&a, c, &top);
			if (shared == 2)
				return 2;
			if (shared)
				continue;
			switch (c) {
			case OPT_COMPARE:
				do_compare = true;
				break;
			case OPT_FAIL:
				if (cmd_parse_double(optarg, &fail_above) || fail_above < 0) {
					kiln_error("--fail-above '%s' is not a percentage (e.g. 2 or 0.5)", optarg);
					return 2;
				}
				have_fail = true;
				break;
			case OPT_FUNCTION:
				function = optarg;
				break;
			case 'h':
				cmd_print_usage(count_usage, 0);
				return 0;
			default:
				return cmd_bad_option("count", c, argv);
			}
		}
		if (do_compare && optind < argc && strcmp(argv[optind - 1], "--")) {
			if (nfiles == 2) {
				kiln_error("--compare takes two profiles: kiln count --compare BASE.kiln NEW.kiln");
				return 2;
			}
			files[nfiles++] = argv[optind++];
			continue;
		}
		break;
	}
	if (do_compare) {
		if (nfiles != 2 || optind < argc) {
			kiln_error("--compare takes two profiles: kiln count --compare BASE.kiln NEW.kiln");
			return 2;
		}
		return compare(files[0], files[1], have_fail, fail_above, function);
	}
	if (have_fail || function) {
		kiln_error("--fail-above and --function go with --compare BASE.kiln NEW.kiln");
		return 2;
	}
	if (optind >= argc) {
		kiln_error("no command to count; usage: kiln count [-o FILE] -- CMD [ARGS...]");
		return 2;
	}
	a.argv = argv + optind;
	struct qemu_run_result r;
	int status = cmd_qemu_run(&a, &r);
	if (status >= 0)
		return status;
	if (!a.quiet)
		print_top(stderr, r.p, 0, (size_t)top, "instructions");
	return cmd_qemu_leave(&r);
}
