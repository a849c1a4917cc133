/* record.h - the recording path of `kiln record`, shared with the one-shot
 * `kiln flame [record options] -- CMD` so both record the same way. */
#ifndef KILN_CMD_RECORD_H
#define KILN_CMD_RECORD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/recorder.h"

#define RECORD_MIN_STACK_SIZE 64u /* --call-graph dwarf,SIZE: fewer bytes reach no caller */
/* The user stack an off-CPU switch sample copies when --call-graph gives
 * no size. A thread goes off the cpu in a syscall a few frames below its
 * entry: the unwinds of the off-CPU fixtures and benchmarks used about
 * 2 KiB above sp at most. A bigger copy runs on through the thread's descriptor
 * and TLS into the next mapping's guard page and faults there, at every
 * switch, in the target: it was most of what a switch cost it. Deeper
 * stacks are cut, counted and said, with the size that keeps them. */
#define RECORD_OFFCPU_STACK_SIZE 4096u

/* Who samples: perf_event_open, or the preloaded agent's CPU-time timers
 * (agent_cpu.c) where perf_event_open is refused (auto) or when asked. */
enum record_engine {
	RECORD_ENGINE_AUTO,
	RECORD_ENGINE_PERF,
	RECORD_ENGINE_AGENT,
};

/* What a recording measures: CPU samples, off-CPU time only (kiln
 * offcpu), or both in one unit (--wall, --off-cpu). */
enum record_time {
	RECORD_TIME_CPU = 0,
	RECORD_TIME_OFFCPU,
	RECORD_TIME_WALL,
};

struct record_args {
	const char *output;
	bool force; /* -f: replace an output that is not a kiln profile */
	const char *event;
	uint64_t freq, count;
	enum call_graph_mode call_graph;
	uint32_t stack_size;
	bool stack_size_given; /* --call-graph dwarf,SIZE: off-CPU samples copy it too */
	bool inherit, kernel, quiet;
	pid_t pid;
	double duration;
	enum record_engine engine;
	const char *debug_dirs; /* --debug-dir, colon-joined; NULL for the default places */
	enum record_time time;
	const char *view_value; /* the value views show by default ("wall", "offcpu"), NULL: theirs */
	uint64_t min_block;     /* ns: shorter off-CPU intervals are dropped */
	char **argv;
};

/* Fills a with kiln record's defaults (output "profile.kiln"). */
void record_args_init(struct record_args *a);

/* Parses `kiln record` options (argv[0] is the command name). Returns -1
 * when recording should go ahead, else the exit status (0 after --help,
 * 2 after a usage error, which it has printed). */
int record_parse_args(int argc, char **argv, struct record_args *a);

/* kiln record's options but -o and -h, in one table that the commands
 * which record a command before they draw it (kiln flame -- CMD, cargo
 * kiln) append to their own instead of listing them again: getopt_long
 * long options ({0}-terminated) and their short letters. A long option
 * without a letter has a code from RECORD_OPT_BASE up, so commands keep
 * their own codes below it. */
#define RECORD_OPT_BASE      0x1000
#define RECORD_SHORT_OPTIONS "fF:c:e:gp:q"
#define RECORD_OPTIONS_COUNT 15 /* entries of record_options before the {0} */
extern const struct option record_options[RECORD_OPTIONS_COUNT + 1];
/* Applies option c (as getopt_long returned it) with its value arg to a.
 * Returns 0, 2 after saying what is wrong with arg, or 1 when c is not
 * one of record_options. */
int record_option(struct record_args *a, int c, const char *arg);
/* The checks of a whole command line (a->argv set: the command, or NULL
 * or empty with -p): -1 to go ahead, or 2 after saying what is wrong. */
int record_args_check(struct record_args *a);

/* Parses --call-graph's value: fp, dwarf or dwarf,SIZE with SIZE a multiple
 * of 8 from RECORD_MIN_STACK_SIZE to RECORDER_MAX_STACK_SIZE (as perf).
 * Returns 0 (setting *mode and, for dwarf, *stack_size) or -1. */
int record_parse_call_graph(const char *s, enum call_graph_mode *mode, uint32_t *stack_size);
/* Says what --call-graph takes, having got value. */
void record_call_graph_error(const char *value);

/* The event to sample: name (-e) as given, else cycles where the PMU
 * has it, else cpu-clock. Returns 0, or -errno after saying what is
 * wrong with name (-EACCES: tracefs cannot be read). kiln top samples
 * the same way. */
int record_choose_event(const char *name, struct event_desc *ev);
/* Says why opening ev on pid (0: a command kiln starts) failed with err,
 * the recorder's -errno, and what to do about it. */
void record_explain_open_error(int err, const struct event_desc *ev, pid_t pid);

/* Installs the signal handlers, records into a->output and symbolizes.
 * Returns the exit status: the command's, 1 when recording failed (2 for
 * an unknown event), 127/126 when the command could not be run. *wrote
 * (may be NULL) says whether this run left a profile at a->output; when
 * not, a file that was there before is still there, unchanged. */
int record_run(const struct record_args *a, bool *wrote);

#endif
