/* cmd.h - kiln's subcommands.
 *
 * How to add a command:
 *  1. write src/cmd/NAME.c with `int cmd_NAME(int argc, char **argv)`:
 *     argv[0] is "NAME"; parse options (getopt_long), wire the stages
 *     together, print to the user and return the exit status. No
 *     algorithms here: they belong to their stage (DESIGN.md).
 *  2. declare it below and add one row to the table in src/kiln.c;
 *  3. write docs/man/kiln-NAME.1 and a `--help` that matches it;
 *  4. add unit tests for new stage code and an e2e test in tests/e2e/.
 * A command that runs a program starts from target_init() and says
 * cmd_exec_error() when it cannot run it (127/126); one that writes a
 * profile stamps it with cmd_set_run_meta(); one that records before it
 * draws appends record_options (record.h) to its table instead of listing
 * them again. A long command runs in stages over one state struct, as
 * record_run() and heap_run() do (perf's cmd_record/__cmd_record).
 */
#ifndef KILN_CMD_CMD_H
#define KILN_CMD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_collapse(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_heap(int argc, char **argv);
int cmd_memcheck(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_offcpu(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_export(int argc, char **argv);
/* `kiln serve`: continuous profiling over HTTP (serve.c, serve_http.c). */
int cmd_serve(int argc, char **argv);
int cmd_top(int argc, char **argv);
/* `cargo kiln`: also run when kiln is started as cargo-kiln (src/kiln.c). */
int cmd_cargo(int argc, char **argv);
/* Checks a `kiln flame` command line without running it (argv[0] names
 * the command in messages; cargo kiln checks its options before a build):
 * -1 when it is good, else the exit status after saying what is wrong
 * (2 for a usage error, 0 after --help). */
int cmd_flame_check(int argc, char **argv);

/* Parse a whole decimal number (no sign) / a finite number; 0 or -1. */
int cmd_parse_u64(const char *s, uint64_t *out);
int cmd_parse_double(const char *s, double *out);
/* A comma-separated list of process ids ("1234,5678"), at most max of
 * them, into out; how many, or -1. */
int cmd_parse_pid_list(const char *s, uint32_t *out, size_t max);
/* For getopt_long's ':' and '?' (optstring starting with ':'): prints which
 * option was wrong and where help is; returns the usage exit status, 2. */
int cmd_bad_option(const char *cmd, int c, char **argv);

struct profile;
/* Reads a .kiln profile for a view: says what is wrong on failure (NULL),
 * warns when the file was cut short ("<doing> the N samples before the
 * cut"), and gives every location frames (symbolizing a cut file from the
 * binaries when they are present); *complete (may be NULL) says whether
 * the file was whole. The caller frees the profile. */
struct profile *cmd_load_profile(const char *path, const char *doing, bool *complete);
/* Reads any stack input for kiln flame and kiln collapse (a .kiln
 * profile, folded stacks or perf script output; "-" is stdin) with the
 * limits lim (may be NULL) and the same warnings as cmd_load_profile()
 * for a .kiln file, plus how many malformed lines were skipped. Returns 0
 * with the profile in *out (the caller frees it), or with *out NULL when
 * fn (not NULL) was given the lines of folded stacks; or 1 after saying
 * what went wrong. *complete (may be NULL) is false for a cut .kiln. */
struct stack_input_limits;
int cmd_load_stacks(const char *path, const struct stack_input_limits *lim,
                    void (*fn)(void *, const char *, size_t, int64_t), void *ctx, const char *doing,
                    struct profile **out, bool *complete);
/* Reads a perf.data file for a view: from fd when it is not -1 (read by
 * offset, so a pipe is refused), else from path. Says what is wrong on
 * failure (NULL); warns about a file perf did not finish, events left out
 * and a recording from another machine; symbolizes every location from the
 * binaries present. The caller frees the profile. */
struct profile *cmd_load_perf_data(const char *path, int fd, const char *doing);
/* Parses a size in bytes with an optional K, M, G or T suffix (powers of
 * 1024); 0 or -1. */
int cmd_parse_bytes(const char *s, uint64_t *out);
/* For --max-line-bytes and --max-input-bytes: parses arg into *out, or
 * says what is wrong and returns the usage status 2. */
int cmd_stack_limit_option(const char *option, const char *arg, uint64_t *out);
/* The user's message for a kiln_read() error on path; returns 1. */
int cmd_profile_error(const char *path, int rc);
/* Says that path's profile has no value type name, listing those it has;
 * returns 2 (a bad --value is a usage error). */
int cmd_no_value_error(const struct profile *p, const char *path, const char *name);
/* Symbolizes locations without frames, then names what is left. */
void cmd_symbolize_missing(struct profile *p);

/* Modules without symbols (the profile's "unsymbolized_modules"): notes
 * the Debian package of each in the profile ("unsymbolized_packages") for
 * the hint of render/symbols_hint.h. */
void cmd_note_debug_packages(struct profile *p);

/* For a std source path as rustc records it (/rustc/<commit>/library/...):
 * the same file in the rust-src component of the rustc on PATH, when that
 * toolchain was built from <commit> and the file is there. Returns a path
 * the caller frees, or NULL. */
char *cmd_rust_src_path(const char *recorded);

/* Says why perf_event_open refused to verb ("record", "count") process
 * pid (0: a command kiln starts), kernel when kernel samples were needed,
 * with the one fix that applies (capture/perm.h); returns 1. */
int cmd_perm_error(const char *verb, pid_t pid, bool kernel);
/* The one line kiln record says when perf_event_open refused with err
 * (-EPERM, -EACCES, -ENOSYS) and the agent engine samples instead: the
 * cause (seccomp, perf_event_paranoid, else) and what the agent cannot see. */
void cmd_perm_fallback_note(int err);

/* SIGINT, SIGTERM and SIGHUP call handler (without SA_RESTART); SIGPIPE
 * is ignored (signals.c). */
void cmd_catch_stop_signals(void (*handler)(int));
/* Colours on stdout: a terminal, unless NO_COLOR is set or TERM=dumb. */
bool cmd_stdout_color(void);

/* Loads a profile as cmd_load_profile() does and builds its hotspots for
 * the value type named value (NULL: the default); *vi is its index. NULL
 * after saying what went wrong (the profile freed); else the caller
 * releases h and frees the profile. */
struct hotspots;
struct profile *cmd_load_hotspots(const char *path, const char *doing, const char *value, bool *complete,
                                  struct hotspots *h, int *vi);
/* The same for a profile already loaded: 0, or after saying what went
 * wrong -ENOENT (no such value; *vi too) or -EINVAL (h is not built). */
int cmd_hotspots_of(struct profile *p, const char *path, const char *value, struct hotspots *h, int *vi);

/* The --pid, --tid and --comm filters of report, flame and annotate
 * (filter.c). cmd_filter_option adds arg, a comma list, to f for option
 * "pid", "tid" or "comm"; returns 0, or 2 after saying what is wrong.
 * cmd_filter_profile drops the samples of p (read from path) that f does
 * not keep, notes the filter in p's "filter" metadata for the headers,
 * warns when none is left, and returns how many are left. */
struct profile_filter;
int cmd_filter_option(struct profile_filter *f, const char *option, const char *arg);
size_t cmd_filter_profile(struct profile *p, const struct profile_filter *f, const char *path);

/* CLOCK_MONOTONIC in ns: the clock perf_event samples are stamped with. */
uint64_t cmd_now_ns(void);
/* CLOCK_REALTIME in ns: when a run started, for the profile's start_time. */
uint64_t cmd_wall_ns(void);

/* Says that command could not be run, err being the exec's -errno (from
 * target_start() or execvp), with fix after it when not NULL; returns the
 * exit status a shell gives: 127 for no such command, 126 for one that
 * cannot be executed. Every command that runs a program says it this way. */
int cmd_exec_error(const char *command, int err, const char *fix);
/* Sets what every recorded profile says of its run: the command line,
 * kiln_version, hostname, kernel and start_time (wall clock, ns). */
void cmd_set_run_meta(struct profile *p, const char *command, uint64_t start_time);

/* Prints "kiln: <message>\n" to stderr. Messages are lowercase, without a
 * full stop, quote the subject and say the fix. */
/* libkiln-agent.so: next to the kiln binary (build tree), in ../lib/kiln/
 * (installed), or KILN_AGENT. Returns its malloc'ed path, or NULL. */
char *cmd_agent_find(void);
/* The same search for any of kiln's libraries: the file named by the
 * environment variable env_name, else name beside kiln or in ../lib/kiln/
 * (libkiln-qemu.so: KILN_QEMU_PLUGIN). */
char *cmd_lib_find(const char *env_name, const char *name);
/* Sets the environment a command kiln launches next inherits: the agent
 * preloaded (before any LD_PRELOAD already there) in mode (channel_format.h
 * KH_ENV_MODE), its channel directory dir, kiln's pid and, when hz is
 * not 0, the cpu mode's sampling frequency. */
void cmd_agent_env(const char *agent, const char *dir, const char *mode, uint64_t hz);

void kiln_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kiln_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints `kiln-NAME`'s usage text to stdout (or stderr when to_stderr). */
void cmd_print_usage(const char *text, int to_stderr);

/* The heap summary (heap_view.c). cmd_alloc_fn adds a user's --alloc-fn
 * REGEX to *rule, made on first use (the caller frees it with
 * alloc_rule_free()); returns 0, or 2 after saying why it is not a regex.
 * cmd_heap_view renders the summary of heap profile p as text or JSON
 * into out, as `kiln heap` shows it; -EINVAL when p is no heap profile. */
struct alloc_rule;
struct heap_render_opts;
struct strbuf;
int cmd_alloc_fn(struct alloc_rule **rule, const char *regex);
int cmd_heap_view(struct strbuf *out, struct profile *p, const struct alloc_rule *rule,
                  const struct heap_render_opts *o, bool json);

#endif
