/* kiln.c - main: the subcommand table, nothing else. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "kiln_version.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"record", cmd_record, "sample a command or a running process into a .kiln profile"},
    {"report", cmd_report, "print hot functions, call trees and threads of a profile"},
    {"flame", cmd_flame, "draw a profile as an interactive flame graph SVG (or folded stacks)"},
    {"collapse", cmd_collapse, "turn perf script output into folded stacks"},
    {"heap", cmd_heap, "track every allocation of a command: peak, temporaries, leaks by reachability"},
    {"memcheck", cmd_memcheck, "find heap errors in a command: overflows, uses after free, bad frees"},
    {"annotate", cmd_annotate, "show the hottest source lines of a function beside its source"},
    {"cargo", cmd_cargo, "build a cargo project, profile its binary, draw flamegraph.svg (cargo kiln)"},
    {"offcpu", cmd_offcpu, "record where threads wait: off-CPU time by stack and reason, worker-pool health"},
    {"timeline", cmd_timeline, "draw an off-CPU or --wall profile as a per-thread timeline SVG"},
    {"lock", cmd_lock, "show which locks a command's threads waited for, and where"},
    {"count", cmd_count, "count the instructions of a command exactly, per function, line and call path (qemu)"},
    {"cache", cmd_cache, "simulate the I1, D1 and LL caches for a command, per function and line (qemu)"},
    {"top", cmd_top, "show live which functions and threads of a process use the CPU (like perf top)"},
    {"stat", cmd_stat, "count events of a command, over repeated runs, or compare commands"},
    {"export", cmd_export, "write a profile as pprof, speedscope, Chrome trace (Perfetto) or folded stacks"},
    {"serve", cmd_serve, "profile processes continuously; serve pprof, Prometheus metrics and a flame graph"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: kiln <command> [options] [-- CMD [ARGS...]]\n\n");
	fprintf(out, "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'kiln <command> --help' shows a command's options; 'man kiln-<command>' has the details.\n");
}

void kiln_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("kiln: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void kiln_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("kiln: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cmd_print_usage(const char *text, int to_stderr)
{
	fputs(text, to_stderr ? stderr : stdout);
}

int main(int argc, char **argv)
{
	/* installed as cargo-kiln too: cargo runs `cargo-kiln kiln ARGS` */
	const char *self = argv[0] ? strrchr(argv[0], '/') : NULL;
	self = self ? self + 1 : argv[0];
	if (self && !strcmp(self, "cargo-kiln")) {
		if (argc > 1 && !strcmp(argv[1], "kiln")) {
			argv[1] = argv[0];
			return cmd_cargo(argc - 1, argv + 1);
		}
		return cmd_cargo(argc, argv);
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(name, "--version")) {
		printf("kiln %s\n", KILN_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	kiln_error("'%s' is not a kiln command; see 'kiln --help'", name);
	return 2;
}
