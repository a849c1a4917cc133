/* qemu_run.c - runs a command under qemu-user with libkiln-qemu.so and
 * turns what the plugin wrote into one profile (qemu_run.h); shared by
 * kiln count and kiln cache. */
#include "cmd/qemu_run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/host_cache.h"
#include "cmd/cmd.h"
#include "cmd/output.h"
#include "cmd/qemu_feed.h"
#include "profile/kiln_file.h"
#include "profile/profile.h"
#include "render/callgrind.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define QEMU_PLUGIN_NAME "libkiln-qemu.so"

int cmd_qemu_option(struct qemu_run_args *a, int c, uint64_t *top)
{
	switch (c) {
	case 'o':
		a->output = optarg;
		return 1;
	case QEMU_OPT_FORCE:
		a->force = true;
		return 1;
	case 'n':
		if (cmd_parse_u64(optarg, top)) {
			kiln_error("--top '%s' is not a whole number", optarg);
			return 2;
		}
		return 1;
	case 'q':
		a->quiet = true;
		return 1;
	default:
		return 0;
	}
}

void cmd_qemu_put_count(FILE *f, int width, uint64_t v)
{
	char buf[32], out[48];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	size_t n = strlen(buf), k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			out[k++] = ',';
		out[k++] = buf[i];
	}
	out[k] = 0;
	fprintf(f, "%*s", width, out);
}

/* name searched in PATH (a name with a slash is taken as it is); malloc'ed
 * or NULL. */
static char *path_search(const char *name)
{
	if (strchr(name, '/'))
		return access(name, F_OK) == 0 ? xstrdup(name) : NULL;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%.*s/%s", (int)n, n ? path : ".", name);
		if (access(strbuf_str(&sb), X_OK) == 0)
			return strbuf_detach(&sb);
		strbuf_release(&sb);
		path += n;
		if (*path == ':')
			path++;
	}
	return NULL;
}

/* What qemu-x86_64 can run: an x86-64 ELF file. Says what is wrong and
 * returns the exit status, or -1. */
static int check_program(const char *verb, const char *name, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cmd_exec_error(name, -errno, NULL);
	unsigned char h[20] = {0};
	ssize_t n = read(fd, h, sizeof(h));
	struct stat st;
	int have_st = fstat(fd, &st) == 0;
	close(fd);
	if (n >= 2 && h[0] == '#' && h[1] == '!') {
		kiln_error("cannot %s '%s': it is a script, and qemu-user runs only x86-64 programs; name its "
		           "interpreter: kiln %s -- sh %s (or python3, bash...)",
		           verb, name, verb, name);
		return 126;
	}
	if (n < 20 || memcmp(h, "\177ELF", 4)) {
		kiln_error("cannot %s '%s': not an ELF program", verb, name);
		return 126;
	}
	if (h[4] != 2 || (h[18] | h[19] << 8) != 62) {
		kiln_error("cannot %s '%s': not an x86-64 program (kiln %s runs it under qemu-x86_64)", verb, name,
		           verb);
		return 126;
	}
	if (have_st && (st.st_mode & (S_ISUID | S_ISGID)))
		kiln_warn("'%s' is set-user-ID or set-group-ID: under qemu-user it runs with your own privileges",
		          name);
	return -1;
}

static bool parse_geometry(const char *s, char out[64])
{
	unsigned a, b, c;
	char end;
	if (sscanf(s, "%u,%u,%u%c", &a, &b, &c, &end) != 3 || !a || !b || !c || (c & (c - 1)) || a % (b * c))
		return false;
	snprintf(out, 64, "%u:%u:%u", a, b, c);
	return true;
}

static int geometry_arg(const char *option, const char *value, const struct host_cache_level *host, char out[64])
{
	if (value) {
		if (!parse_geometry(value, out)) {
			kiln_error("%s '%s' is not SIZE,ASSOC,LINE in bytes (a size that is a multiple of ASSOC*LINE, "
			           "LINE a power of two), e.g. %s 32768,8,64",
			           option, value, option);
			return 2;
		}
	} else if (host->size) {
		snprintf(out, 64, "%u:%u:%u", host->size, host->assoc, host->line);
	} else {
		out[0] = 0; /* the plugin's fallback */
	}
	return -1;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Reads every process's file from dir into p, the first process first. */
static int read_counts(const struct qemu_run_args *a, const char *dir, pid_t first, struct qemu_run_result *r)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	VEC(int) pids = {0};
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid;
		char tail[8];
		if (sscanf(de->d_name, "%d.q%7s", &pid, tail) == 2 && !strcmp(tail, "c"))
			vec_push(&pids, pid);
	}
	closedir(d);
	if (pids.n)
		qsort(pids.v, pids.n, sizeof(int), cmp_int);
	int value_of[QEMU_COUNT_EVENTS];
	for (int i = 0; i < QEMU_COUNT_EVENTS; i++)
		value_of[i] = -1;
	value_of[0] = 0;
	if (a->cache) {
		value_of[1 + KQ_D1MR] = 1;
		value_of[1 + KQ_D1MW] = 2;
		value_of[1 + KQ_I1MR] = 3;
		value_of[1 + KQ_ILMR] = 4;
		value_of[1 + KQ_DLMR] = 4;
		value_of[1 + KQ_DLMW] = 5;
	}
	value_of[QEMU_COUNT_CALLS] = a->cache ? 6 : 1;
	struct strbuf execs = STRBUF_INIT, cut = STRBUF_INIT;
	int rc = 0;
	for (size_t k = 0; k <= pids.n && !rc; k++) {
		/* the first process first, then its children by pid */
		int pid = k == 0 ? first : pids.v[k - 1];
		if (k > 0 && pid == first)
			continue;
		struct strbuf path = STRBUF_INIT;
		strbuf_addf(&path, "%s/%d.qc", dir, pid);
		struct qemu_count_info info;
		rc = qemu_count_add(r->p, strbuf_str(&path), value_of, &info);
		strbuf_release(&path);
		if (rc == -ENOENT && k == 0) {
			rc = 0; /* exec'ed before it ran anything, or never started */
			continue;
		}
		if (rc)
			break;
		r->processes++;
		for (int i = 0; i < QEMU_COUNT_EVENTS; i++)
			r->totals[i] += info.totals[i];
		if (info.cache)
			memcpy(r->geometry, info.geometry, sizeof(r->geometry));
		if (info.exec_path[0]) {
			strbuf_addf(&execs, "%s%d:%s", execs.len ? "," : "", info.pid, info.exec_path);
			if (!a->quiet)
				kiln_warn(
				    "process %d exec'ed '%s', which ran natively, outside qemu: its instructions are "
				    "not counted (run kiln %s on that command itself)",
				    info.pid, info.exec_path, a->verb);
		} else if (!info.complete) {
			strbuf_addf(&cut, "%s%d", cut.len ? "," : "", info.pid);
		}
	}
	if (execs.len)
		profile_set_meta(r->p, "exec_outside_qemu", strbuf_str(&execs));
	if (cut.len) {
		profile_set_meta(r->p, "cut_processes", strbuf_str(&cut));
		if (!a->quiet)
			kiln_warn("process %s ended without exiting (killed by a signal): its counts stop at its "
			          "last flush (at most a second earlier)",
			          strbuf_str(&cut));
	}
	strbuf_release(&execs);
	strbuf_release(&cut);
	vec_free(&pids);
	return rc;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			struct strbuf p = STRBUF_INIT;
			strbuf_addf(&p, "%s/%s", dir, de->d_name);
			unlink(strbuf_str(&p));
			strbuf_release(&p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static int write_profile(const struct qemu_run_args *a, struct profile *p)
{
	if (ends_with(a->output, ".callgrind")) {
		struct output o = {0};
		int rc = output_open_text(&o, a->output);
		if (!rc) {
			rc = callgrind_write(o.f, p);
			int crc = output_commit(&o);
			if (!rc)
				rc = crc;
		}
		output_release(&o);
		return rc;
	}
	struct output o = {0};
	struct kiln_writer *w = NULL;
	int rc = output_open_profile(&o, a->output, a->force);
	if (rc)
		return rc;
	rc = kiln_writer_open(&w, output_name(&o));
	if (!rc)
		rc = output_place(&o);
	if (!rc)
		rc = kiln_writer_finish(w, p);
	if (rc)
		output_discard(&o);
	kiln_writer_free(w);
	output_release(&o);
	return rc;
}

/* Starts qemu with argv, SIGINT and SIGQUIT as they were before kiln
 * ignored them (old_*); the pid, or -errno. posix_spawn rather than fork:
 * the parent is not copied (kiln's page tables, and copy-on-write faults
 * while it names blocks until the child has exec'ed). */
static pid_t spawn_qemu(const char *qemu, char **argv, const struct sigaction *old_int,
                        const struct sigaction *old_quit)
{
	posix_spawnattr_t attr;
	int rc = posix_spawnattr_init(&attr);
	if (rc)
		return -rc;
	sigset_t dflt;
	sigemptyset(&dflt);
	if (old_int->sa_handler != SIG_IGN)
		sigaddset(&dflt, SIGINT);
	if (old_quit->sa_handler != SIG_IGN)
		sigaddset(&dflt, SIGQUIT);
	pid_t pid;
	rc = posix_spawnattr_setsigdefault(&attr, &dflt);
	if (!rc)
		rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	if (!rc)
		rc = posix_spawn(&pid, qemu, NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	return rc ? -rc : pid;
}

/* "vpaddd %zmm2, %zmm1, %zmm0 at 0x112d in main (avx.c:3)" for the
 * instruction at pc of process pid, from the mappings the plugin wrote
 * to DIR/PID.maps; NULL when it cannot be named. */
static char *describe_insn(const char *dir, int pid, uint64_t pc)
{
	struct strbuf sb = STRBUF_INIT, path = STRBUF_INIT;
	struct profile *p = profile_new();
	int none[QEMU_COUNT_EVENTS];
	for (int i = 0; i < QEMU_COUNT_EVENTS; i++)
		none[i] = -1;
	struct qemu_count_info info;
	strbuf_addf(&path, "%s/%d.maps", dir, pid);
	qemu_count_add(p, strbuf_str(&path), none, &info);
	uint32_t m = PROFILE_NO_MAPPING;
	for (size_t i = 0; i < p->mappings.n; i++)
		if (pc >= p->mappings.v[i].start && pc < p->mappings.v[i].end)
			m = (uint32_t)i;
	if (m == PROFILE_NO_MAPPING)
		goto out;
	uint32_t loc = profile_location(p, m, pc, PROFILE_LOC_USER);
	struct symbols_stats st;
	symbols_resolve_profile(p, &st);
	const struct profile_location *l = &p->locations.v[loc];
	const char *file = profile_str(p, p->mappings.v[m].path);
	if (l->has_vaddr) {
		struct disasm d;
		uint64_t va = l->vaddr;
		if (!symbols_disasm(file, NULL, &va, 1, &d)) {
			const struct disasm_insn *in = disasm_find(&d, va);
			if (in)
				strbuf_addf(&sb, "'%s%s%s' ", strtab_get(&d.strings, in->mnemonic),
				            in->operands ? " " : "",
				            in->operands ? strtab_get(&d.strings, in->operands) : "");
		}
		disasm_release(&d);
	}
	strbuf_addf(&sb, "at 0x%llx", (unsigned long long)(l->has_vaddr ? l->vaddr : pc));
	if (l->nframes) {
		const struct profile_frame *fr = &p->frames.v[l->first_frame];
		strbuf_addf(&sb, " in %s", profile_str(p, fr->function));
		if (fr->file)
			strbuf_addf(&sb, " (%s:%u)", profile_module_name(profile_str(p, fr->file)), fr->line);
	}
	strbuf_addf(&sb, " of %s", file);
out:
	profile_free(p);
	strbuf_release(&path);
	if (!sb.len) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

/* Says why a run under qemu failed, when its status shows that it did:
 * for SIGILL, the instruction QEMU 7.2 could not decode. */
static void explain_status(const struct qemu_run_args *a, const char *dir, int pid, int status)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGILL)
		return;
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "%s/%d.last", dir, pid);
	uint64_t pcs[KQ_LAST_SLOTS];
	int n = qemu_count_last(strbuf_str(&path), pcs, KQ_LAST_SLOTS);
	strbuf_release(&path);
	char *what = NULL;
	/* the thread that died is one of them; the first that names an
	 * instruction is the main thread's, usually the one */
	for (int i = 0; i < n && !what; i++)
		what = describe_insn(dir, pid, pcs[i]);
	kiln_error("'%s' died of an illegal instruction under qemu-x86_64%s%s: an instruction QEMU 7.2 does not "
	           "emulate (AVX-512, AMX and some newer extensions); build it for an older CPU (e.g. "
	           "RUSTFLAGS=-Ctarget-cpu=x86-64-v3, gcc -march=x86-64-v3)",
	           a->argv[0], what ? ": " : "", what ? what : "");
	free(what);
}

/* What cmd_qemu_leave() keeps, until exit. */
static struct qemu_run_result left;

int cmd_qemu_leave(struct qemu_run_result *r)
{
	profile_free(left.p); /* a second run's (tests) */
	symbolizer_free(left.sym);
	left = *r;
	memset(r, 0, sizeof(*r));
	return left.exit_code;
}

int cmd_qemu_run(const struct qemu_run_args *a, struct qemu_run_result *r)
{
	memset(r, 0, sizeof(*r));
	int status = 1;
	char dir[] = "/tmp/kiln-qemu.XXXXXX";
	bool have_dir = false;
	char *qemu = NULL, *plugin = NULL, *prog = NULL;
	struct strbuf plugarg = STRBUF_INIT, cmdline = STRBUF_INIT;
	char **argv = NULL;
	struct qemu_feed *feed = NULL;
	struct symbolizer *sym = symbolizer_new();

	qemu = getenv("KILN_QEMU") && *getenv("KILN_QEMU") ? xstrdup(getenv("KILN_QEMU")) : path_search("qemu-x86_64");
	if (!qemu || access(qemu, X_OK)) {
		kiln_error("kiln %s needs qemu-user, and '%s' cannot be run; install it: make deps (or apt install "
		           "qemu-user)",
		           a->verb, qemu ? qemu : "qemu-x86_64");
		goto out;
	}
	plugin = cmd_lib_find("KILN_QEMU_PLUGIN", QEMU_PLUGIN_NAME);
	if (!plugin) {
		kiln_error("cannot find %s beside kiln or in ../lib/kiln/; build it (make) or set KILN_QEMU_PLUGIN",
		           QEMU_PLUGIN_NAME);
		goto out;
	}
	prog = path_search(a->argv[0]);
	if (!prog) {
		status = cmd_exec_error(a->argv[0], -ENOENT, NULL);
		goto out;
	}
	status = check_program(a->verb, a->argv[0], prog);
	if (status >= 0)
		goto out;
	status = 1;

	if (!mkdtemp(dir)) {
		kiln_error("cannot create a directory in /tmp: %s", strerror(errno));
		goto out;
	}
	have_dir = true;
	strbuf_addf(&plugarg, "%s,dir=%s", plugin, dir);
	feed = qemu_feed_open(dir);
	if (feed)
		strbuf_addf(&plugarg, ",feed=%s", qemu_feed_path(feed));
	if (a->cache) {
		struct host_cache_level hi1, hd1, hll;
		host_cache_read(NULL, &hi1, &hd1, &hll);
		char gi1[64], gd1[64], gll[64];
		int rc;
		if ((rc = geometry_arg("--I1", a->i1, &hi1, gi1)) >= 0 ||
		    (rc = geometry_arg("--D1", a->d1, &hd1, gd1)) >= 0 ||
		    (rc = geometry_arg("--LL", a->ll, &hll, gll)) >= 0) {
			status = rc;
			goto out;
		}
		strbuf_addstr(&plugarg, ",cache=1");
		if (gi1[0])
			strbuf_addf(&plugarg, ",i1=%s", gi1);
		if (gd1[0])
			strbuf_addf(&plugarg, ",d1=%s", gd1);
		if (gll[0])
			strbuf_addf(&plugarg, ",ll=%s", gll);
	}

	size_t argc = 0;
	while (a->argv[argc])
		argc++;
	argv = xcalloc(argc + 5, sizeof(*argv));
	argv[0] = qemu;
	argv[1] = "-plugin";
	argv[2] = (char *)strbuf_str(&plugarg);
	argv[3] = prog;
	for (size_t i = 1; i < argc; i++)
		argv[3 + i] = a->argv[i];
	for (size_t i = 0; i < argc; i++)
		strbuf_addf(&cmdline, "%s%s", i ? " " : "", a->argv[i]);

	uint64_t start = cmd_wall_ns(), t0 = cmd_now_ns();
	/* Ctrl-C goes to the command; kiln keeps what it counted */
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid_t pid = spawn_qemu(qemu, argv, &old_int, &old_quit);
	int wst = 0;
	if (pid > 0)
		qemu_feed_wait(feed, pid, sym, &wst);
	qemu_feed_free(feed);
	feed = NULL;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (pid < 0) {
		kiln_error("cannot start '%s': %s", qemu, strerror(-pid));
		goto out;
	}
	uint64_t t1 = cmd_now_ns();
	r->exit_code = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
	explain_status(a, dir, pid, wst);

	r->p = profile_new();
	profile_add_value_type(r->p, "instructions", "count");
	if (a->cache) {
		profile_add_value_type(r->p, "d1_read_misses", "count");
		profile_add_value_type(r->p, "d1_write_misses", "count");
		profile_add_value_type(r->p, "i1_misses", "count");
		profile_add_value_type(r->p, "ll_read_misses", "count");
		profile_add_value_type(r->p, "ll_write_misses", "count");
	}
	/* last, so that the cache events keep their places */
	profile_add_value_type(r->p, "calls", "count");
	cmd_set_run_meta(r->p, strbuf_str(&cmdline), start);
	profile_set_meta(r->p, "event", "instructions");
	/* what report, flame and annotate show unless told (Ir, as
	 * callgrind_annotate and cg_annotate do) */
	profile_set_meta(r->p, "default_value", "instructions");
	profile_set_meta(r->p, "collector", a->cache ? "qemu cache simulation" : "qemu instruction count");
	profile_set_meta_u64(r->p, "duration_ns", t1 - t0);
	profile_set_meta_u64(r->p, "exit_status", (uint64_t)r->exit_code);
	int rc = read_counts(a, dir, pid, r);
	if (rc) {
		kiln_error("cannot read what libkiln-qemu.so wrote in '%s': %s", dir,
		           rc == -EPROTO ? "malformed (plugin and kiln from different builds?)" : strerror(-rc));
		goto out;
	}
	if (!r->processes) {
		if (r->exit_code > 128)
			kiln_error("'%s' died of signal %d before its counts were first written (they are, each "
			           "second); nothing was written",
			           a->argv[0], r->exit_code - 128);
		else
			kiln_error("'%s' ran nothing under qemu (%s); nothing was written", a->argv[0],
			           r->exit_code == 127 ? "qemu could not start it" : "no counts were written");
		status = r->exit_code ? r->exit_code : 1;
		goto out;
	}
	profile_set_meta_u64(r->p, "instructions", r->totals[0]);
	if (a->cache) {
		static const char *names[KQ_CACHE_EVENTS] = {"I1mr", "ILmr", "Dr",   "Dw",
		                                             "D1mr", "D1mw", "DLmr", "DLmw"};
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "Ir=%llu", (unsigned long long)r->totals[0]);
		for (int i = 0; i < KQ_CACHE_EVENTS; i++)
			strbuf_addf(&sb, ",%s=%llu", names[i], (unsigned long long)r->totals[1 + i]);
		profile_set_meta(r->p, "cache_totals", strbuf_str(&sb));
		strbuf_reset(&sb);
		strbuf_addf(&sb, "I1=%u,%u,%u D1=%u,%u,%u LL=%u,%u,%u", r->geometry[0], r->geometry[1], r->geometry[2],
		            r->geometry[3], r->geometry[4], r->geometry[5], r->geometry[6], r->geometry[7],
		            r->geometry[8]);
		profile_set_meta(r->p, "cache_geometry", strbuf_str(&sb));
		strbuf_release(&sb);
	}
	struct symbols_stats ss = {0};
	symbols_resolve_profile_with(r->p, sym, &ss);
	symbolizer_save_names(sym); /* the symbolizer is left to exit, never freed */
	if (getenv("KILN_NAME_CACHE_STATS")) {
		struct symbolizer_stats sst;
		symbolizer_get_stats(sym, &sst);
		fprintf(stderr, "kiln: name cache: %" PRIu64 " results read, %" PRIu64 " files written\n",
		        sst.names_read, sst.names_written);
	}
	profile_name_unsymbolized(r->p);
	cmd_note_debug_packages(r->p);
	rc = write_profile(a, r->p);
	if (rc) {
		kiln_error("cannot write '%s': %s", a->output,
		           rc == -EEXIST ? "it exists and is not a kiln profile; remove it or use --force"
		                         : strerror(-rc));
		goto out;
	}
	if (!a->quiet)
		fprintf(stderr, "kiln: %s %u process%s into '%s'\n", a->cache ? "simulated" : "counted", r->processes,
		        r->processes == 1 ? "" : "es", a->output);
	status = -1;
out:
	if (status >= 0) {
		profile_free(r->p);
		r->p = NULL;
		symbolizer_free(sym);
	} else {
		r->sym = sym;
	}
	qemu_feed_free(feed);
	if (have_dir)
		remove_dir(dir);
	free(argv);
	free(qemu);
	free(plugin);
	free(prog);
	strbuf_release(&plugarg);
	strbuf_release(&cmdline);
	return status;
}
