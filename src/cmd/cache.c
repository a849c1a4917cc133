/* cache.c - `kiln cache`: a command's instructions and simulated I1, D1
 * and LL references and misses per function and line, under qemu-user
 * with libkiln-qemu.so in cache mode (qemu_run.c); prints cachegrind's
 * summary and writes a profile. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/hotspots.h"
#include "cmd/cmd.h"
#include "cmd/qemu_run.h"
#include "profile/profile.h"

static const char cache_usage[] =
    "usage: kiln cache [options] -- CMD [ARGS...]\n"
    "\n"
    "Runs CMD under qemu-user with kiln's plugin, counts its instructions and\n"
    "simulates a first-level instruction cache (I1), data cache (D1) and a\n"
    "unified last-level cache (LL), as cachegrind does: references and misses,\n"
    "reads and writes apart, per function and source line. Prints the totals as\n"
    "cachegrind does and writes a profile (values instructions, d1_read_misses,\n"
    "d1_write_misses, i1_misses, ll_read_misses, ll_write_misses).\n"
    "\n"
    "  --I1 SIZE,ASSOC,LINE   the I1 cache in bytes, ways, bytes (default: the\n"
    "                         host's, from sysfs)\n"
    "  --D1 SIZE,ASSOC,LINE   the D1 cache (default: the host's)\n"
    "  --LL SIZE,ASSOC,LINE   the last-level cache (default: the host's last level)\n"
    "  -o, --output FILE      the profile (default cache.kiln); a name ending in\n"
    "                         .callgrind writes callgrind's format instead\n"
    "      --force            replace FILE even when it is not a kiln profile\n"
    "  -n, --top N            functions in the summary (default 10, 0: none)\n"
    "  -q, --quiet            no summary\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status is the command's (128+N when it died from signal N). See kiln-cache(1).\n";

static double rate(uint64_t m, uint64_t r)
{
	return r ? 100.0 * (double)m / (double)r : 0.0;
}

/* One line of counts: "LABEL  total" and, for a split line, its reads
 * and writes in parentheses. */
static void put_counts(FILE *f, const char *label, uint64_t rd, uint64_t wr, bool split)
{
	fprintf(f, "%-15s", label);
	cmd_qemu_put_count(f, 15, rd + wr);
	if (split) {
		fprintf(f, "  (");
		cmd_qemu_put_count(f, 13, rd);
		fprintf(f, " rd   + ");
		cmd_qemu_put_count(f, 13, wr);
		fprintf(f, " wr)");
	}
	fputc('\n', f);
}

/* One line of miss rates: misses over references, overall, of reads and
 * of writes. */
static void put_rates(FILE *f, const char *label, uint64_t mr, uint64_t mw, uint64_t rr, uint64_t rw)
{
	fprintf(f, "%-15s%14.2f%%  (%12.2f%%     + %12.2f%%  )\n", label, rate(mr + mw, rr + rw), rate(mr, rr),
	        rate(mw, rw));
}

/* cachegrind's end-of-run summary, from the totals of every event. */
static void print_summary(FILE *f, const uint64_t *t, const unsigned *g)
{
	uint64_t ir = t[0], i1 = t[1 + KQ_I1MR], li = t[1 + KQ_ILMR];
	uint64_t dr = t[1 + KQ_DR], dw = t[1 + KQ_DW], d1r = t[1 + KQ_D1MR], d1w = t[1 + KQ_D1MW];
	uint64_t ldr = t[1 + KQ_DLMR], ldw = t[1 + KQ_DLMW];
	fprintf(f, "I1 cache:         %u B, %u B, %u-way associative\n", g[0], g[2], g[1]);
	fprintf(f, "D1 cache:         %u B, %u B, %u-way associative\n", g[3], g[5], g[4]);
	fprintf(f, "LL cache:         %u B, %u B, %u-way associative\n\n", g[6], g[8], g[7]);
	put_counts(f, "I   refs:", ir, 0, false);
	put_counts(f, "I1  misses:", i1, 0, false);
	put_counts(f, "LLi misses:", li, 0, false);
	fprintf(f, "I1  miss rate: %14.2f%%\nLLi miss rate: %14.2f%%\n\n", rate(i1, ir), rate(li, ir));
	put_counts(f, "D   refs:", dr, dw, true);
	put_counts(f, "D1  misses:", d1r, d1w, true);
	put_counts(f, "LLd misses:", ldr, ldw, true);
	put_rates(f, "D1  miss rate:", d1r, d1w, dr, dw);
	put_rates(f, "LLd miss rate:", ldr, ldw, dr, dw);
	fputc('\n', f);
	/* LL sees the instruction misses as reads */
	put_counts(f, "LL refs:", i1 + d1r, d1w, true);
	put_counts(f, "LL misses:", li + ldr, ldw, true);
	put_rates(f, "LL miss rate:", li + ldr, ldw, ir + dr, dw);
}

/* The functions with the most D1 misses (reads + writes), with their
 * instructions. */
static void print_top(FILE *f, struct profile *p, size_t top)
{
	struct hotspots ir, mr, mw;
	if (!top || hotspots_build(&ir, p, 0))
		return;
	if (hotspots_build(&mr, p, 1)) {
		hotspots_release(&ir);
		return;
	}
	if (hotspots_build(&mw, p, 2)) {
		hotspots_release(&ir);
		hotspots_release(&mr);
		return;
	}
	hotspots_sort_functions(&mr, HOTSPOT_SORT_SELF);
	fprintf(f, "\n%16s %14s %14s  function\n", "Ir", "D1mr", "D1mw");
	for (size_t i = 0; i < mr.funcs.n && i < top; i++) {
		const char *name = profile_str(p, mr.funcs.v[i].name);
		const struct hotspot_func *a = hotspots_find_function(&ir, name, profile_str(p, mr.funcs.v[i].module));
		const struct hotspot_func *w = hotspots_find_function(&mw, name, profile_str(p, mr.funcs.v[i].module));
		cmd_qemu_put_count(f, 16, a ? (uint64_t)a->self : 0);
		fputc(' ', f);
		cmd_qemu_put_count(f, 14, (uint64_t)mr.funcs.v[i].self);
		fputc(' ', f);
		cmd_qemu_put_count(f, 14, w ? (uint64_t)w->self : 0);
		fprintf(f, "  %s\n", name);
	}
	hotspots_release(&ir);
	hotspots_release(&mr);
	hotspots_release(&mw);
}

int cmd_cache(int argc, char **argv)
{
	enum { OPT_I1 = QEMU_OPT_OWN, OPT_D1, OPT_LL };
	static const struct option opts[] = {
	    QEMU_RUN_LONG_OPTIONS /* -o --force -n -q -h */ {"I1", required_argument, NULL, OPT_I1},
	    {"D1", required_argument, NULL, OPT_D1},
	    {"LL", required_argument, NULL, OPT_LL},
	    {NULL, 0, NULL, 0}};
	struct qemu_run_args a = {.output = "cache.kiln", .verb = "cache", .cache = true};
	uint64_t top = 10;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, QEMU_RUN_SHORT_OPTIONS, opts, NULL)) != -1) {
		int shared = cmd_qemu_option(&a, c, &top);
		if (shared == 2)
			return 2;
		if (shared)
			continue;
		switch (c) {
		case OPT_I1:
			a.i1 = optarg;
			break;
		case OPT_D1:
			a.d1 = optarg;
			break;
		case OPT_LL:
			a.ll = optarg;
			break;
		case 'h':
			cmd_print_usage(cache_usage, 0);
			return 0;
		default:
			return cmd_bad_option("cache", c, argv);
		}
	}
	if (optind >= argc) {
		kiln_error("no command to simulate; usage: kiln cache [--I1 S,A,L] [--D1 S,A,L] [--LL S,A,L] -- CMD");
		return 2;
	}
	a.argv = argv + optind;
	struct qemu_run_result r;
	int status = cmd_qemu_run(&a, &r);
	if (status >= 0)
		return status;
	if (!a.quiet) {
		print_summary(stderr, r.totals, r.geometry);
		print_top(stderr, r.p, (size_t)top);
	}
	return cmd_qemu_leave(&r);
}
