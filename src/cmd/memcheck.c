/* memcheck.c - `kiln memcheck`: runs a command with the agent's memcheck
 * mode (a guard-page allocator, src/agent/agent_memcheck.c) and reports
 * its heap errors like a sanitizer, with symbolized stacks, on stderr.
 * The command's own output and exit status are left alone when it has no
 * error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/agent_channel.h"
#include "capture/memcheck_errors.h"
#include "capture/target.h"
#include "cmd/cmd.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define MC_EXIT_DEFAULT 99            /* the agent's default too (agent_memcheck.c) */
#define MC_LINGER_NS    2000000000ull /* after the command exits: its children's last words */
#define MC_INLINE_MAX   8

static const char memcheck_usage[] = "usage: kiln memcheck [options] -- CMD [ARGS...]\n"
                                     "\n"
                                     "Runs CMD with a guard-page allocator and reports heap errors: overflows\n"
                                     "past a block's end, uses after free, double and invalid frees, realloc\n"
                                     "of freed memory, and writes into a block's slack (found at free). No\n"
                                     "recompile: the agent is preloaded. Leaks are not checked yet.\n"
                                     "\n"
                                     "  --keep-going          go on after an error where it is safe (not after\n"
                                     "                        a write fault); default: stop at the first error\n"
                                     "  --error-exitcode N    the exit status when errors were found (default 99;\n"
                                     "                        0: CMD's own)\n"
                                     "  --quarantine BYTES    freed memory kept inaccessible to catch uses after\n"
                                     "                        free, K/M/G suffixes (default 256M)\n"
                                     "  --sample N            guard about one allocation in N, the others served\n"
                                     "                        by the real allocator unchecked (cheap enough to\n"
                                     "                        leave on); default: all\n"
                                     "  --underflow           blocks start right after their guard page, so\n"
                                     "                        accesses before a block fault (overflows past its\n"
                                     "                        end are then found at free)\n"
                                     "  --max-guarded N       live guarded blocks at most; beyond, blocks are not\n"
                                     "                        checked (default 65536, less where each costs\n"
                                     "                        mappings: see vm.max_map_count)\n"
                                     "  -h, --help            this help\n";

struct memcheck_args {
	bool keep_going;
	int exitcode;
	uint64_t quarantine;
	uint64_t sample, max_guarded;
	bool underflow;
	char **argv;
};

enum { OPT_KEEP_GOING = 256, OPT_EXITCODE, OPT_QUARANTINE, OPT_SAMPLE, OPT_UNDERFLOW, OPT_MAX_GUARDED };

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1; /* the command got it too: wait for it */
}

static int memcheck_parse(int argc, char **argv, struct memcheck_args *a)
{
	static const struct option opts[] = {
	    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
	    {"error-exitcode", required_argument, NULL, OPT_EXITCODE},
	    {"quarantine", required_argument, NULL, OPT_QUARANTINE},
	    {"sample", required_argument, NULL, OPT_SAMPLE},
	    {"underflow", no_argument, NULL, OPT_UNDERFLOW},
	    {"max-guarded", required_argument, NULL, OPT_MAX_GUARDED},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	a->exitcode = MC_EXIT_DEFAULT;
	a->quarantine = 256ull << 20;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		uint64_t v;
		switch (c) {
		case OPT_KEEP_GOING:
			a->keep_going = true;
			break;
		case OPT_EXITCODE:
			if (cmd_parse_u64(optarg, &v) || v > 255) {
				kiln_error(
				    "--error-exitcode takes a status from 0 to 255, like --error-exitcode 1; got '%s'",
				    optarg);
				return 2;
			}
			a->exitcode = (int)v;
			break;
		case OPT_QUARANTINE:
			if (cmd_parse_bytes(optarg, &v)) {
				kiln_error("--quarantine takes a size in bytes, like --quarantine 64M; got '%s'",
				           optarg);
				return 2;
			}
			a->quarantine = v;
			break;
		case OPT_SAMPLE:
			if (cmd_parse_u64(optarg, &v) || v < 1 || v > (1u << 30)) {
				kiln_error("--sample takes a count from 1 to 1073741824, like --sample 1000; got '%s'",
				           optarg);
				return 2;
			}
			a->sample = v;
			break;
		case OPT_UNDERFLOW:
			a->underflow = true;
			break;
		case OPT_MAX_GUARDED:
			if (cmd_parse_u64(optarg, &v) || v < 1) {
				kiln_error("--max-guarded takes a count of blocks, like --max-guarded 100000; got '%s'",
				           optarg);
				return 2;
			}
			a->max_guarded = v;
			break;
		case 'h':
			cmd_print_usage(memcheck_usage, 0);
			return 0;
		default: /* ':' and '?' */
			return cmd_bad_option("memcheck", c, argv);
		}
	}
	a->argv = argv + optind;
	if (!a->argv[0]) {
		kiln_error("nothing to run: give a command, as in 'kiln memcheck -- ./my-program'");
		return 2;
	}
	return -1;
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case KH_MEM_OVERFLOW:
		return "heap overflow";
	case KH_MEM_USE_AFTER_FREE:
		return "use after free";
	case KH_MEM_DOUBLE_FREE:
		return "double free";
	case KH_MEM_INVALID_FREE:
		return "invalid free";
	case KH_MEM_REALLOC_FREED:
		return "realloc of freed memory";
	case KH_MEM_SLACK_DAMAGE:
		return "heap overflow found at free";
	case KH_MEM_MISMATCHED_FREE:
		return "mismatched free";
	default:
		return "heap error";
	}
}

static const char *kind_plural(uint32_t kind)
{
	switch (kind) {
	case KH_MEM_OVERFLOW:
		return "heap overflows";
	case KH_MEM_USE_AFTER_FREE:
		return "uses after free";
	case KH_MEM_DOUBLE_FREE:
		return "double frees";
	case KH_MEM_INVALID_FREE:
		return "invalid frees";
	case KH_MEM_REALLOC_FREED:
		return "reallocs of freed memory";
	case KH_MEM_SLACK_DAMAGE:
		return "heap overflows found at free";
	case KH_MEM_MISMATCHED_FREE:
		return "mismatched frees";
	default:
		return "heap errors";
	}
}

/* The calls of each allocator family (enum kh_mem_family), as a
 * mismatched free names them. */
static const char *const family_alloc[4] = {"malloc", "new", "new[]", "?"};
static const char *const family_free[4] = {"free", "delete", "delete[]", "?"};

/* One stack, each frame with its inlined callers. */
static void say_stack(struct strbuf *out, struct symbolizer *sym, const struct mc_frame *f, unsigned n)
{
	if (!n) {
		strbuf_addstr(out, "    (no stack)\n");
		return;
	}
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		struct symbol_frame sf[MC_INLINE_MAX];
		int got = f[i].path ? symbolizer_lookup_file(sym, f[i].path, f[i].file_offset, sf, MC_INLINE_MAX) : 0;
		if (got <= 0) {
			strbuf_addf(out, "    #%u 0x%" PRIx64 " in %s+0x%" PRIx64 "\n", k++, f[i].addr,
			            f[i].path ? f[i].path : "??", f[i].path ? f[i].file_offset : 0);
			continue;
		}
		for (int j = 0; j < got; j++) {
			strbuf_addf(out, "    #%u 0x%" PRIx64 " in %s", k++, f[i].addr,
			            sf[j].function ? sf[j].function : "??");
			if (sf[j].file)
				strbuf_addf(out, " %s:%u", sf[j].file, sf[j].line);
			else
				strbuf_addf(out, " (%s+0x%" PRIx64 ")", f[i].path, f[i].file_offset);
			strbuf_addch(out, '\n');
		}
	}
}

/* Where addr lies relative to the block, as sanitizers say it. */
static void say_where(struct strbuf *out, const struct kh_rec_mem_error *r)
{
	if (!(r->flags & KH_MEM_IN_BLOCK)) {
		if (r->flags & KH_MEM_ON_STACK)
			strbuf_addf(out, "  0x%" PRIx64 " is on a thread's stack: malloc never returned it\n", r->addr);
		else if (r->flags & KH_MEM_STATIC)
			strbuf_addf(out, "  0x%" PRIx64 " is in a module's static data: malloc never returned it\n",
			            r->addr);
		else
			strbuf_addf(out, "  0x%" PRIx64 " is no heap block's: malloc never returned it\n", r->addr);
		return;
	}
	const char *state = r->n_free ? "freed " : "";
	if (r->addr == r->block && r->n_free && r->kind != KH_MEM_USE_AFTER_FREE) {
		strbuf_addf(out, "  0x%" PRIx64 " is a %" PRIu64 "-byte block freed before\n", r->addr, r->block_size);
		return;
	}
	uint64_t end = r->block + r->block_size;
	if (r->addr >= end && (r->addr > r->block || r->block_size))
		strbuf_addf(out,
		            "  0x%" PRIx64 " is %" PRIu64 " bytes past the end of a %s%" PRIu64
		            "-byte block at 0x%" PRIx64 "\n",
		            r->addr, r->addr - end, state, r->block_size, r->block);
	else if (r->addr < r->block)
		strbuf_addf(out,
		            "  0x%" PRIx64 " is %" PRIu64 " bytes before a %s%" PRIu64 "-byte block at 0x%" PRIx64 "\n",
		            r->addr, r->block - r->addr, state, r->block_size, r->block);
	else
		strbuf_addf(out,
		            "  0x%" PRIx64 " is %" PRIu64 " bytes inside a %s%" PRIu64 "-byte block at 0x%" PRIx64 "\n",
		            r->addr, r->addr - r->block, state, r->block_size, r->block);
}

static void say_error(struct strbuf *out, struct symbolizer *sym, const struct mc_error *e, int exitcode)
{
	const struct kh_rec_mem_error *r = &e->rec;
	bool fault = r->kind == KH_MEM_OVERFLOW || r->kind == KH_MEM_USE_AFTER_FREE;
	const char *access = r->flags & KH_MEM_WRITE ? "write" : r->flags & KH_MEM_READ ? "read" : "access";
	strbuf_addf(out, "kiln memcheck: %s", kind_name(r->kind));
	if (fault)
		strbuf_addf(out, ": %s at 0x%" PRIx64, access, r->addr);
	else if (r->kind == KH_MEM_SLACK_DAMAGE)
		strbuf_addf(out, ": a write at 0x%" PRIx64, r->addr);
	else if (r->kind == KH_MEM_MISMATCHED_FREE)
		strbuf_addf(out, ": %s(0x%" PRIx64 ") of a block from %s", family_free[KH_MEM_FREE_FAMILY(r->flags)],
		            r->addr, family_alloc[KH_MEM_ALLOC_FAMILY(r->flags)]);
	else
		strbuf_addf(out, ": %s(0x%" PRIx64 ")", r->kind == KH_MEM_REALLOC_FREED ? "realloc" : "free", r->addr);
	strbuf_addf(out, " by thread %" PRIu32 " of pid %" PRIu32 "\n", r->tid, e->pid);
	say_where(out, r);
	const char *what = fault                             ? access
	                   : r->kind == KH_MEM_REALLOC_FREED ? "realloc"
	                   : r->kind == KH_MEM_SLACK_DAMAGE  ? "free that found it"
	                                                     : "free";
	strbuf_addf(out, "  the %s:\n", what);
	say_stack(out, sym, e->frames, r->n_access);
	if (r->flags & KH_MEM_IN_BLOCK) {
		strbuf_addf(out, "  the block was allocated by thread %" PRIu32 ":\n", r->alloc_tid);
		say_stack(out, sym, e->frames + r->n_access, r->n_alloc);
		if (r->n_free) {
			strbuf_addf(out, "  and freed by thread %" PRIu32 ":\n", r->free_tid);
			say_stack(out, sym, e->frames + r->n_access + r->n_alloc, r->n_free);
		}
	}
	if (r->flags & KH_MEM_STOPPED)
		strbuf_addf(out, "  the program was stopped here (exit status %d)%s\n", exitcode,
		            fault && (r->flags & KH_MEM_WRITE) ? ": a write fault always stops it, --keep-going or not"
		                                               : "");
	strbuf_addch(out, '\n');
}

/* The blocks that fell back to the real allocator unchecked, and why. */
static void say_unguarded(struct strbuf *out, const struct mc_stats *st)
{
	if (st->over_limit)
		strbuf_addf(out, ", %" PRIu64 " not checked (%" PRIu64 " guarded blocks were live: --max-guarded)",
		            st->over_limit, st->max_guarded);
	if (st->no_room)
		strbuf_addf(out, ", %" PRIu64 " not checked (no address space or mapping left: vm.max_map_count)",
		            st->no_room);
}

static void say_summary(struct strbuf *out, const struct memcheck_errors *m)
{
	size_t n = memcheck_errors_count(m);
	uint64_t by_kind[KH_MEM_MISMATCHED_FREE + 1] = {0};
	for (size_t i = 0; i < n; i++) {
		uint32_t k = memcheck_errors_get(m, i)->rec.kind;
		by_kind[k <= KH_MEM_MISMATCHED_FREE ? k : 0]++;
	}
	strbuf_addf(out, "kiln memcheck: %zu error%s (", n, n == 1 ? "" : "s");
	const char *sep = "";
	for (uint32_t k = 1; k <= KH_MEM_MISMATCHED_FREE; k++) {
		if (!by_kind[k])
			continue;
		strbuf_addf(out, "%s%" PRIu64 " %s", sep, by_kind[k], by_kind[k] == 1 ? kind_name(k) : kind_plural(k));
		sep = ", ";
	}
	struct mc_stats st;
	memcheck_errors_stats(m, &st);
	strbuf_addf(out, ") in %u process%s; %" PRIu64 " block%s guarded", st.processes, st.processes == 1 ? "" : "es",
	            st.guarded, st.guarded == 1 ? "" : "s");
	if (st.sample > 1)
		strbuf_addf(out, " (about 1 in %" PRIu32 ", --sample)", st.sample);
	say_unguarded(out, &st);
	strbuf_addstr(out, "; leaks are not checked yet\n");
}

/* Reads the rings until the command exits, then what its processes
 * wrote last (not waiting long for those that still run). */
static void memcheck_collect(struct target *t, struct agent_channel *ch, struct memcheck_errors *m)
{
	const struct agent_channel_ops *ops = memcheck_errors_ops(m);
	while (!target_poll_exit(t)) {
		if (!agent_channel_poll(ch, ops)) {
			struct timespec ts = {0, 5000000};
			nanosleep(&ts, NULL);
		}
	}
	uint64_t exited = cmd_now_ns();
	for (;;) {
		uint64_t n = agent_channel_poll(ch, ops);
		if (agent_channel_done(ch))
			break;
		size_t running;
		size_t pending = agent_channel_pending(ch, &running, NULL, 0);
		if (cmd_now_ns() - exited > MC_LINGER_NS || (pending == running && interrupted))
			break;
		if (!n) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
}

static void memcheck_env(const struct memcheck_args *a)
{
	char num[32];
	snprintf(num, sizeof(num), "%" PRIu64, a->quarantine);
	setenv(KH_ENV_MC_QUARANTINE, num, 1);
	setenv(KH_ENV_MC_KEEP_GOING, a->keep_going ? "1" : "0", 1);
	/* the agent stops the process with this status; 0 would look like
	 * success to kiln's caller: the agent then uses the default, and kiln
	 * passes the command's status on */
	snprintf(num, sizeof(num), "%d", a->exitcode ? a->exitcode : MC_EXIT_DEFAULT);
	setenv(KH_ENV_MC_EXITCODE, num, 1);
	snprintf(num, sizeof(num), "%" PRIu64, a->sample);
	setenv(KH_ENV_MC_SAMPLE, num, 1);
	setenv(KH_ENV_MC_UNDERFLOW, a->underflow ? "1" : "0", 1);
	snprintf(num, sizeof(num), "%" PRIu64, a->max_guarded);
	setenv(KH_ENV_MC_MAX_GUARDED, num, 1);
}

static int memcheck_run(const struct memcheck_args *a)
{
	int status = 1;
	struct target t;
	target_init(&t);
	struct agent_channel *ch = NULL;
	struct memcheck_errors *m = NULL;
	struct symbolizer *sym = NULL;
	struct strbuf out = STRBUF_INIT;
	char *agent = cmd_agent_find();
	if (!agent) {
		kiln_error("cannot find 'libkiln-agent.so' next to kiln or in ../lib/kiln/; reinstall kiln or set "
		           "KILN_AGENT");
		goto out;
	}
	int rc = agent_channel_new(&ch);
	if (rc) {
		kiln_error("cannot create the agent's channel in /dev/shm or /tmp: %s", strerror(-rc));
		goto out;
	}
	cmd_agent_env(agent, agent_channel_dir(ch), "memcheck", 0);
	memcheck_env(a);
	rc = target_launch(&t, a->argv);
	if (rc) {
		kiln_error("cannot start '%s': %s", a->argv[0], strerror(-rc));
		goto out;
	}
	rc = target_start(&t);
	if (rc) {
		status = cmd_exec_error(a->argv[0], rc, NULL);
		goto out;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	m = memcheck_errors_new();
	memcheck_collect(&t, ch, m);
	status = target_exit_code(&t);
	if (!agent_channel_rings(ch)) {
		kiln_warn("the agent did not start in '%s' (a static or setuid binary, or LD_PRELOAD removed): "
		          "nothing was checked",
		          a->argv[0]);
		goto out;
	}
	size_t n = memcheck_errors_count(m);
	if (!n) {
		/* no error, but not everything was checked: say so, once */
		struct mc_stats st;
		memcheck_errors_stats(m, &st);
		if (st.over_limit || st.no_room) {
			strbuf_addf(&out, "kiln memcheck: no errors in %" PRIu64 " guarded blocks", st.guarded);
			say_unguarded(&out, &st);
			strbuf_addch(&out, '\n');
			fflush(stdout);
			fputs(strbuf_str(&out), stderr);
		}
		goto out;
	}
	sym = symbolizer_new();
	for (size_t i = 0; i < n; i++)
		say_error(&out, sym, memcheck_errors_get(m, i), a->exitcode ? a->exitcode : MC_EXIT_DEFAULT);
	say_summary(&out, m);
	fflush(stdout);
	fputs(strbuf_str(&out), stderr);
	if (a->exitcode)
		status = a->exitcode;
out:
	strbuf_release(&out);
	symbolizer_free(sym);
	memcheck_errors_free(m);
	target_release(&t);
	agent_channel_free(ch);
	free(agent);
	return status;
}

int cmd_memcheck(int argc, char **argv)
{
	struct memcheck_args a = {0};
	int rc = memcheck_parse(argc, argv, &a);
	if (rc >= 0)
		return rc;
	return memcheck_run(&a);
}
