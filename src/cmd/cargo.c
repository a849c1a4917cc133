/* cargo.c - `cargo kiln` (the cargo-kiln executable, a link to kiln):
 * build a cargo project with debug info kept in release, find the built
 * binary in cargo's JSON messages, then record and draw it through
 * `kiln flame`'s own one-shot path, like cargo flamegraph.
 *
 * Debug info comes from CARGO_PROFILE_<PROFILE>_DEBUG=true in cargo's
 * environment, never from an edit of Cargo.toml. The small JSON scanner
 * below reads only what it needs from cargo's compiler-artifact lines.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define JSON_MAX_DEPTH 64

static const char cargo_usage[] = "usage: cargo kiln [options] [-- ARGS...]\n"
                                  "\n"
                                  "Builds the cargo project here (release, with debug info kept, Cargo.toml\n"
                                  "untouched), runs the built binary with ARGS under kiln and writes\n"
                                  "flamegraph.svg and the recording flamegraph.kiln.\n"
                                  "\n"
                                  "Target (one at most; default: the package's only binary):\n"
                                  "      --bin NAME            --example NAME   --test NAME   --bench NAME\n"
                                  "Build:\n"
                                  "      --release             release profile (default)\n"
                                  "      --dev                 dev profile (unoptimised)\n"
                                  "      --profile NAME        a custom cargo profile\n"
                                  "      --manifest-path PATH  the Cargo.toml to build\n"
                                  "  -p, --package SPEC        the package of a workspace\n"
                                  "      --features LIST       --all-features   --no-default-features\n"
                                  "      --target-dir DIR      -j, --jobs N     --offline  --frozen  --locked\n"
                                  "Output, recording and drawing (as kiln flame; see kiln-flame(1)):\n"
                                  "  -o, --output FILE         the SVG (default flamegraph.svg)\n"
                                  "      --record-output FILE  the recording (default flamegraph.kiln)\n"
                                  "  -F HZ, -c N, -e EVENT, -g, --call-graph MODE, --no-inherit, --engine E,\n"
                                  "  --duration S,\n"
                                  "  --title, --reverse, --icicle, --palette, --width, ... and -q\n"
                                  "  -h, --help                show this help\n"
                                  "See cargo-kiln(1).\n";

enum target_kind {
	KIND_BIN = 1 << 0,
	KIND_EXAMPLE = 1 << 1,
	KIND_TEST = 1 << 2,
	KIND_BENCH = 1 << 3,
	KIND_OTHER = 1 << 4,
};

struct cargo_args {
	const char *select_name; /* --bin/--example/--test/--bench NAME */
	unsigned select_kind;    /* enum target_kind, 0 for none */
	const char *profile;     /* "release", "dev" or --profile's */
	const char *manifest;
	bool quiet;
	VEC(const char *) cargo_opts; /* passed to cargo build */
	VEC(const char *) flame_opts; /* passed to kiln flame */
	char **command_args;          /* after "--" */
};

/* ---- a minimal JSON scanner for cargo's messages ---- */

struct json_in {
	const char *s;
	size_t i, n;
};

static void json_ws(struct json_in *j)
{
	while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
		j->i++;
}

static bool json_eat(struct json_in *j, char c)
{
	json_ws(j);
	if (j->i < j->n && j->s[j->i] == c) {
		j->i++;
		return true;
	}
	return false;
}

static void utf8_put(struct strbuf *sb, unsigned cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, (char)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, (char)(0xc0 | cp >> 6));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, (char)(0xe0 | cp >> 12));
		strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(sb, (char)(0xf0 | cp >> 18));
		strbuf_addch(sb, (char)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
	}
}

static int json_hex4(struct json_in *j, unsigned *out)
{
	if (j->i + 4 > j->n)
		return -1;
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		char c = j->s[j->i++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Reads a string (escapes decoded) into sb when not NULL. 0 or -1. */
static int json_string(struct json_in *j, struct strbuf *sb)
{
	if (!json_eat(j, '"'))
		return -1;
	while (j->i < j->n) {
		char c = j->s[j->i++];
		if (c == '"')
			return 0;
		if (c != '\\') {
			if (sb)
				strbuf_addch(sb, c);
			continue;
		}
		if (j->i >= j->n)
			return -1;
		char e = j->s[j->i++];
		unsigned cp;
		switch (e) {
		case 'n':
			cp = '\n';
			break;
		case 't':
			cp = '\t';
			break;
		case 'r':
			cp = '\r';
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'u':
			if (json_hex4(j, &cp))
				return -1;
			if (cp >= 0xd800 && cp < 0xdc00 && j->i + 6 <= j->n && j->s[j->i] == '\\' &&
			    j->s[j->i + 1] == 'u') {
				unsigned lo;
				j->i += 2;
				if (json_hex4(j, &lo) || lo < 0xdc00 || lo >= 0xe000)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			break;
		default: /* '"', '\\', '/' */
			cp = (unsigned char)e;
			break;
		}
		if (sb)
			utf8_put(sb, cp);
	}
	return -1;
}

static int json_skip(struct json_in *j, int depth);

/* Calls fn for each member of an object; fn reads (or skips) the value. */
typedef int (*json_member_fn)(struct json_in *j, const char *key, void *ctx, int depth);

static int json_object(struct json_in *j, json_member_fn fn, void *ctx, int depth)
{
	if (depth > JSON_MAX_DEPTH || !json_eat(j, '{'))
		return -1;
	if (json_eat(j, '}'))
		return 0;
	struct strbuf key = STRBUF_INIT;
	int rc = -1;
	do {
		strbuf_reset(&key);
		if (json_string(j, &key) || !json_eat(j, ':'))
			goto out;
		if (fn ? fn(j, strbuf_str(&key), ctx, depth + 1) : json_skip(j, depth + 1))
			goto out;
	} while (json_eat(j, ','));
	if (json_eat(j, '}'))
		rc = 0;
out:
	strbuf_release(&key);
	return rc;
}

static int json_skip(struct json_in *j, int depth)
{
	json_ws(j);
	if (depth > JSON_MAX_DEPTH || j->i >= j->n)
		return -1;
	char c = j->s[j->i];
	if (c == '"')
		return json_string(j, NULL);
	if (c == '{')
		return json_object(j, NULL, NULL, depth);
	if (c == '[') {
		j->i++;
		if (json_eat(j, ']'))
			return 0;
		do {
			if (json_skip(j, depth + 1))
				return -1;
		} while (json_eat(j, ','));
		return json_eat(j, ']') ? 0 : -1;
	}
	/* a number, true, false or null */
	size_t start = j->i;
	while (j->i < j->n && strchr("+-.0123456789eEtrufalsn", j->s[j->i]))
		j->i++;
	return j->i > start ? 0 : -1;
}

static bool json_literal(struct json_in *j, const char *word)
{
	json_ws(j);
	size_t n = strlen(word);
	if (j->i + n <= j->n && !memcmp(j->s + j->i, word, n)) {
		j->i += n;
		return true;
	}
	return false;
}

/* What a cargo message says, of what cargo kiln needs. */
struct cargo_msg {
	struct strbuf reason, executable, name;
	bool has_executable;
	unsigned kinds;
};

static unsigned kind_of(const char *k)
{
	if (!strcmp(k, "bin"))
		return KIND_BIN;
	if (!strcmp(k, "example"))
		return KIND_EXAMPLE;
	if (!strcmp(k, "test"))
		return KIND_TEST;
	if (!strcmp(k, "bench"))
		return KIND_BENCH;
	return KIND_OTHER;
}

static int target_member(struct json_in *j, const char *key, void *ctx, int depth)
{
	struct cargo_msg *m = ctx;
	if (!strcmp(key, "name"))
		return json_string(j, &m->name);
	if (!strcmp(key, "kind")) {
		if (!json_eat(j, '['))
			return -1;
		if (json_eat(j, ']'))
			return 0;
		struct strbuf k = STRBUF_INIT;
		int rc = 0;
		do {
			strbuf_reset(&k);
			if (json_string(j, &k)) {
				rc = -1;
				break;
			}
			m->kinds |= kind_of(strbuf_str(&k));
		} while (json_eat(j, ','));
		strbuf_release(&k);
		return rc || !json_eat(j, ']') ? -1 : 0;
	}
	return json_skip(j, depth);
}

static int msg_member(struct json_in *j, const char *key, void *ctx, int depth)
{
	struct cargo_msg *m = ctx;
	if (!strcmp(key, "reason"))
		return json_string(j, &m->reason);
	if (!strcmp(key, "executable")) {
		if (json_literal(j, "null"))
			return 0;
		m->has_executable = true;
		return json_string(j, &m->executable);
	}
	if (!strcmp(key, "target"))
		return json_object(j, target_member, m, depth);
	return json_skip(j, depth);
}

/* Parses one line of cargo's JSON output. 0, or -1 when it is not JSON
 * (cargo's own lines never are not, but a build script may print). */
static int cargo_msg_parse(struct cargo_msg *m, const char *line, size_t len)
{
	struct json_in j = {line, 0, len};
	strbuf_reset(&m->reason);
	strbuf_reset(&m->executable);
	strbuf_reset(&m->name);
	m->has_executable = false;
	m->kinds = 0;
	return json_object(&j, msg_member, m, 0);
}

/* ---- the command ---- */

struct artifact {
	char *name, *executable;
	unsigned kinds;
};

/* a VEC(struct artifact) with a name, to pass around */
struct artifacts {
	struct artifact *v;
	size_t n, cap;
};

static const char *kind_flag(unsigned kind)
{
	switch (kind) {
	case KIND_BIN:
		return "--bin";
	case KIND_EXAMPLE:
		return "--example";
	case KIND_TEST:
		return "--test";
	case KIND_BENCH:
		return "--bench";
	}
	return "";
}

/* "--opt VALUE" or "--opt=VALUE": sets *value and advances *i. 1 when argv[*i]
 * is that option, 0 when not, -1 when its value is missing. */
static int take_value(int argc, char **argv, int *i, const char *opt, const char **value)
{
	size_t n = strlen(opt);
	const char *arg = argv[*i];
	if (strncmp(arg, opt, n))
		return 0;
	if (arg[n] == '=') {
		*value = arg + n + 1;
		return 1;
	}
	if (arg[n])
		return 0;
	if (*i + 1 >= argc || !strcmp(argv[*i + 1], "--")) {
		kiln_error("option '%s' needs a value; see 'cargo kiln --help'", opt);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

static int parse_args(int argc, char **argv, struct cargo_args *a)
{
	static const struct {
		const char *opt;
		unsigned kind;
	} selects[] = {
	    {"--bin", KIND_BIN}, {"--example", KIND_EXAMPLE}, {"--test", KIND_TEST}, {"--bench", KIND_BENCH}};
	/* cargo build options that take a value / that do not */
	static const char *const cargo_valued[] = {"--package", "-p", "--features", "--target-dir", "--jobs", "-j"};
	static const char *const cargo_flags[] = {"--all-features", "--no-default-features", "--offline", "--frozen",
	                                          "--locked"};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *value = NULL;
		int r;
		if (!strcmp(arg, "--")) {
			a->command_args = argv + i + 1;
			break;
		}
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			cmd_print_usage(cargo_usage, 0);
			return 0;
		}
		bool done = false;
		for (size_t k = 0; k < sizeof(selects) / sizeof(selects[0]) && !done; k++) {
			r = take_value(argc, argv, &i, selects[k].opt, &value);
			if (r < 0)
				return 2;
			if (!r)
				continue;
			if (a->select_kind) {
				kiln_error("name one target: '%s %s' and '%s %s' were both given",
				           kind_flag(a->select_kind), a->select_name, selects[k].opt, value);
				return 2;
			}
			a->select_kind = selects[k].kind;
			a->select_name = value;
			done = true;
		}
		if (done)
			continue;
		if (!strcmp(arg, "--release") || !strcmp(arg, "--dev")) {
			a->profile = arg + 2;
			continue;
		}
		if ((r = take_value(argc, argv, &i, "--profile", &value)) != 0) {
			if (r < 0)
				return 2;
			a->profile = value;
			continue;
		}
		if ((r = take_value(argc, argv, &i, "--manifest-path", &value)) != 0) {
			if (r < 0)
				return 2;
			a->manifest = value;
			continue;
		}
		for (size_t k = 0; k < sizeof(cargo_valued) / sizeof(cargo_valued[0]) && !done; k++) {
			r = take_value(argc, argv, &i, cargo_valued[k], &value);
			if (r < 0)
				return 2;
			if (r) {
				vec_push(&a->cargo_opts, cargo_valued[k]);
				vec_push(&a->cargo_opts, value);
				done = true;
			}
		}
		for (size_t k = 0; k < sizeof(cargo_flags) / sizeof(cargo_flags[0]) && !done; k++) {
			if (!strcmp(arg, cargo_flags[k])) {
				vec_push(&a->cargo_opts, arg);
				done = true;
			}
		}
		if (done)
			continue;
		/* everything else is kiln flame's (values follow their option) */
		if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet"))
			a->quiet = true;
		vec_push(&a->flame_opts, arg);
	}
	if (!a->profile)
		a->profile = "release";
	/* every option kiln flame is to get is checked now, before a build
	 * that may take minutes (the binary is not known yet: any name will do) */
	VEC(char *) check = {0};
	vec_push(&check, "cargo");
	for (size_t i = 0; i < a->flame_opts.n; i++)
		vec_push(&check, (char *)a->flame_opts.v[i]);
	vec_push(&check, "--");
	vec_push(&check, "cargo-built-binary");
	vec_push(&check, NULL);
	int status = cmd_flame_check((int)check.n - 1, check.v);
	vec_free(&check);
	if (status >= 0)
		return status;
	return -1;
}

/* Is there a Cargo.toml here or in a parent directory? */
static bool in_cargo_project(void)
{
	char *dir = getcwd(NULL, 0);
	bool found = false;
	if (!dir)
		return true; /* let cargo decide */
	for (;;) {
		struct strbuf path = STRBUF_INIT;
		struct stat st;
		strbuf_addf(&path, "%s/Cargo.toml", strcmp(dir, "/") ? dir : "");
		found = !stat(strbuf_str(&path), &st);
		strbuf_release(&path);
		char *slash = strrchr(dir, '/');
		if (found || !slash || slash == dir)
			break;
		*slash = '\0';
	}
	if (!found) {
		struct stat st;
		found = !stat("/Cargo.toml", &st);
	}
	free(dir);
	return found;
}

/* Sets name=value in the environment unless the user set it already. */
static void env_default(const char *name, const char *value)
{
	if (!getenv(name))
		setenv(name, value, 1);
}

/* CARGO_PROFILE_<NAME>_<KEY> for a profile name ("release", "my-prof"). */
static void profile_env(const char *profile, const char *key, const char *value)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, "CARGO_PROFILE_");
	for (const char *s = profile; *s; s++)
		strbuf_addch(&sb, *s == '-' ? '_' : (*s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s);
	strbuf_addf(&sb, "_%s", key);
	env_default(strbuf_str(&sb), value);
	strbuf_release(&sb);
}

static void artifacts_free(struct artifacts *arts)
{
	for (size_t i = 0; i < arts->n; i++) {
		free(arts->v[i].name);
		free(arts->v[i].executable);
	}
	vec_free(arts);
}

/* Runs cargo build, collecting the executables it reports into arts.
 * Returns 0 or the exit status to return (cargo's messages pass through). */
static int cargo_build(const struct cargo_args *a, struct artifacts *arts)
{
	const char *cargo = getenv("CARGO"); /* set by cargo for its subcommands */
	if (!cargo || !*cargo)
		cargo = "cargo";
	VEC(const char *) argv = {0};
	vec_push(&argv, cargo);
	vec_push(&argv, "build");
	vec_push(&argv, "--message-format=json-render-diagnostics");
	if (!strcmp(a->profile, "release")) {
		vec_push(&argv, "--release");
	} else if (strcmp(a->profile, "dev")) {
		vec_push(&argv, "--profile");
		vec_push(&argv, a->profile);
	}
	if (a->select_kind) {
		vec_push(&argv, kind_flag(a->select_kind));
		vec_push(&argv, a->select_name);
	}
	if (a->manifest) {
		vec_push(&argv, "--manifest-path");
		vec_push(&argv, a->manifest);
	}
	for (size_t i = 0; i < a->cargo_opts.n; i++)
		vec_push(&argv, a->cargo_opts.v[i]);
	vec_push(&argv, NULL);

	/* debug info for file:line and inlined frames; symbols kept even when
	 * the profile strips them. Benches build with the bench profile. */
	profile_env(a->profile, "DEBUG", "true");
	profile_env(a->profile, "STRIP", "false");
	if (!strcmp(a->profile, "release")) {
		profile_env("bench", "DEBUG", "true");
		profile_env("bench", "STRIP", "false");
	}

	int status = 1, fds[2];
	struct cargo_msg m = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, false, 0};
	FILE *in = NULL;
	char *line = NULL;
	size_t cap = 0;
	if (pipe(fds)) {
		kiln_error("cannot make a pipe for cargo: %s", strerror(errno));
		goto out;
	}
	pid_t pid = fork();
	if (pid < 0) {
		kiln_error("cannot start cargo: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto out;
	}
	if (!pid) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(argv.v[0], (char *const *)argv.v);
		_exit(cmd_exec_error(argv.v[0], -errno, "install Rust's cargo (https://rustup.rs)"));
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	if (!in) {
		close(fds[0]);
	} else {
		ssize_t n;
		while ((n = getline(&line, &cap, in)) > 0) {
			if (cargo_msg_parse(&m, line, (size_t)n))
				continue;
			if (strcmp(strbuf_str(&m.reason), "compiler-artifact") || !m.has_executable)
				continue;
			struct artifact *art = vec_grow(arts);
			art->name = xstrdup(strbuf_str(&m.name));
			art->executable = xstrdup(strbuf_str(&m.executable));
			art->kinds = m.kinds;
		}
		fclose(in);
	}
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(ws) && (WEXITSTATUS(ws) == 127 || WEXITSTATUS(ws) == 126)) {
		status = WEXITSTATUS(ws); /* cargo could not be run: said in the child */
	} else if (!WIFEXITED(ws) || WEXITSTATUS(ws)) {
		kiln_error("'cargo build' failed (%s %d); its messages are above",
		           WIFEXITED(ws) ? "exit status" : "signal", WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
		status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 1;
	} else {
		status = 0;
	}
out:
	free(line);
	strbuf_release(&m.reason);
	strbuf_release(&m.executable);
	strbuf_release(&m.name);
	vec_free(&argv);
	return status;
}

/* The artifact to profile, or NULL after saying why. */
static const struct artifact *pick_artifact(const struct cargo_args *a, const struct artifacts *arts)
{
	unsigned want = a->select_kind ? a->select_kind : KIND_BIN;
	const struct artifact *pick = NULL;
	struct strbuf names = STRBUF_INIT;
	size_t n = 0;
	for (size_t i = 0; i < arts->n; i++) {
		const struct artifact *art = &arts->v[i];
		if (!(art->kinds & want) || (a->select_name && strcmp(art->name, a->select_name)))
			continue;
		bool dup = false; /* one binary may be reported twice (a workspace member and the root) */
		for (size_t k = 0; k < i && !dup; k++)
			dup = (arts->v[k].kinds & want) && !strcmp(arts->v[k].executable, art->executable);
		if (dup)
			continue;
		strbuf_addf(&names, "%s%s", n ? ", " : "", art->name);
		if (!pick)
			pick = art;
		n++;
	}
	if (n == 1)
		goto out;
	pick = NULL;
	if (!n && a->select_kind)
		kiln_error("cargo built no executable for '%s %s'", kind_flag(a->select_kind), a->select_name);
	else if (!n)
		kiln_error("the package has no binary target to profile; choose one with --example, --test or --bench");
	else
		kiln_error("the package has %zu binaries (%s); choose one with --bin NAME", n, strbuf_str(&names));
out:
	strbuf_release(&names);
	return pick;
}

int cmd_cargo(int argc, char **argv)
{
	struct cargo_args a;
	memset(&a, 0, sizeof(a));
	struct artifacts arts = {0};
	VEC(char *) fargv = {0};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		goto out;
	status = 1;
	if (!a.manifest && !in_cargo_project()) {
		char *cwd = getcwd(NULL, 0);
		kiln_error("no Cargo.toml in '%s' or any parent directory; run cargo kiln inside a cargo project "
		           "or name one with --manifest-path",
		           cwd ? cwd : ".");
		free(cwd);
		goto out;
	}
	status = cargo_build(&a, &arts);
	if (status)
		goto out;
	const struct artifact *art = pick_artifact(&a, &arts);
	if (!art) {
		status = 1;
		goto out;
	}
	if (!a.quiet)
		fprintf(stderr, "kiln: profiling '%s'\n", art->executable);

	/* the same path as `kiln flame [options] -- BIN ARGS` */
	vec_push(&fargv, "flame");
	for (size_t i = 0; i < a.flame_opts.n; i++)
		vec_push(&fargv, (char *)a.flame_opts.v[i]);
	vec_push(&fargv, "--");
	vec_push(&fargv, art->executable);
	if (a.select_kind == KIND_BENCH)
		vec_push(&fargv, "--bench"); /* as cargo bench runs them */
	for (char **s = a.command_args; s && *s; s++)
		vec_push(&fargv, *s);
	vec_push(&fargv, NULL);
	status = cmd_flame((int)fargv.n - 1, fargv.v);
out:
	vec_free(&fargv);
	artifacts_free(&arts);
	vec_free(&a.cargo_opts);
	vec_free(&a.flame_opts);
	return status;
}
