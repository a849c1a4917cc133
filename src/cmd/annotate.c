/* annotate.c - `kiln annotate`: the hottest source lines of one function
 * of a profile (the hottest by self value unless named), printed beside
 * the source when the file is here, like perf annotate and
 * callgrind_annotate --auto=yes; addresses and line numbers otherwise.
 * Parses options, finds the function and its source, and wires the reader,
 * analysis/annotate and render/annotate together.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/annotate.h"
#include "analysis/hotspots.h"
#include "cmd/cmd.h"
#include "profile/profile.h"
#include "profile/profile_filter.h"
#include "render/annotate.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define DEFAULT_FILE    "profile.kiln"
#define DEFAULT_LIMIT   10
#define DEFAULT_CONTEXT 3
#define MAX_SOURCE      (64u << 20) /* a source file bigger than this is not one */
#define MAX_LISTED      12

static const char annotate_usage[] =
    "usage: kiln annotate [options] [FILE] [SYMBOL]\n"
    "\n"
    "Shows where inside one function a profile's samples fall: the hottest\n"
    "source lines with their share of the function, then the source around\n"
    "them (when the file is here) with a share column, hot lines highlighted.\n"
    "FILE defaults to profile.kiln (a perf.data file is read too); SYMBOL to the\n"
    "function with the most self time. SYMBOL is a function name, its last path\n"
    "segment (leaf_a for crate::leaf_a) or a unique part of it.\n"
    "\n"
    "  -i, --input FILE          read FILE (the same as naming it first)\n"
    "  -n, --limit N             show the N hottest lines (default 10; 0 shows all)\n"
    "  -C, --context N           source lines around each annotated line (default 3)\n"
    "  -S, --source-dir DIR      look for source files under DIR too\n"
    "      --value TYPE          which value to add up, e.g. cpu or samples\n"
    "      --pid PIDS            only samples of these processes (comma list)\n"
    "      --tid TIDS            only samples of these threads (comma list)\n"
    "      --comm NAMES          only samples of these commands or thread names\n"
    "      --asm                 show the instructions (read from the binary) with\n"
    "                            their shares, beside the source lines; the default\n"
    "                            where the function has no line info\n"
    "      --json                machine-readable output (schema in kiln-annotate(1))\n"
    "  -h, --help                show this help\n"
    "\n"
    "Share is of the function's own samples: those with it innermost, plus\n"
    "those in callees inlined into it, shown at the call site and marked '*'.\n"
    "Calls% (of all samples) is the time in functions called from a line.\n"
    "Colours follow the terminal; set NO_COLOR to turn them off.\n"
    "See kiln-annotate(1).\n";

struct annotate_args {
	const char *file;
	const char *symbol;
	const char *value;
	const char *source_dir;
	bool json, asm_view;
	struct profile_filter filter; /* --pid, --tid, --comm */
	size_t limit;
	unsigned context;
};

static bool looks_like_profile(const char *arg)
{
	struct stat st;
	size_t n = strlen(arg);
	if (n > 5 && !strcmp(arg + n - 5, ".kiln"))
		return true;
	return !stat(arg, &st) && S_ISREG(st.st_mode);
}

static int parse_args(int argc, char **argv, struct annotate_args *a)
{
	enum { OPT_VALUE = 256, OPT_JSON, OPT_PID, OPT_TID, OPT_COMM, OPT_ASM };
	static const struct option opts[] = {
	    {"input", required_argument, NULL, 'i'},
	    {"limit", required_argument, NULL, 'n'},
	    {"context", required_argument, NULL, 'C'},
	    {"source-dir", required_argument, NULL, 'S'},
	    {"value", required_argument, NULL, OPT_VALUE},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"asm", no_argument, NULL, OPT_ASM},
	    {"pid", required_argument, NULL, OPT_PID},
	    {"tid", required_argument, NULL, OPT_TID},
	    {"comm", required_argument, NULL, OPT_COMM},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;
	uint64_t v;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:n:C:S:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			a->file = optarg;
			break;
		case 'n':
			if (cmd_parse_u64(optarg, &v)) {
				kiln_error("--limit takes a number of lines (0 for all); got '%s'", optarg);
				return 2;
			}
			a->limit = (size_t)v;
			break;
		case 'C':
			if (cmd_parse_u64(optarg, &v) || v > 10000) {
				kiln_error("--context takes a number of lines, like --context 5; got '%s'", optarg);
				return 2;
			}
			a->context = (unsigned)v;
			break;
		case 'S':
			a->source_dir = optarg;
			break;
		case OPT_VALUE:
			a->value = optarg;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_ASM:
			a->asm_view = true;
			break;
		case OPT_PID:
		case OPT_TID:
		case OPT_COMM:
			if (cmd_filter_option(&a->filter, c == OPT_PID ? "pid" : c == OPT_TID ? "tid" : "comm", optarg))
				return 2;
			break;
		case 'h':
			cmd_print_usage(annotate_usage, 0);
			return 0;
		default: /* ':' and '?' */
			return cmd_bad_option("annotate", c, argv);
		}
	}
	int rest = argc - optind;
	char **pos = argv + optind;
	if (rest > 2 || (rest == 2 && a->file)) {
		kiln_error("annotate takes one profile and one symbol, as in 'kiln annotate run.kiln leaf_a'");
		return 2;
	}
	if (rest == 2) {
		a->file = pos[0];
		a->symbol = pos[1];
	} else if (rest == 1) {
		/* one word: a profile when it looks like one, else a symbol */
		if (!a->file && looks_like_profile(pos[0]))
			a->file = pos[0];
		else
			a->symbol = pos[0];
	}
	if (!a->file)
		a->file = DEFAULT_FILE;
	return -1;
}

/* Reads path into src (lines split, without newlines). 0 or -errno. */
static int source_read(struct annotate_source *src, const char *path, char **text)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	int rc = 0;
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		strbuf_add(&sb, buf, n);
		if (sb.len > MAX_SOURCE) {
			rc = -EFBIG;
			goto out_close;
		}
	}
	if (ferror(f)) {
		rc = -EIO;
		goto out_close;
	}
	*text = strbuf_detach(&sb);
	VEC(char *) lines = {0};
	for (char *s = *text; *s;) {
		char *nl = strchr(s, '\n');
		vec_push(&lines, s);
		if (!nl)
			break;
		*nl = '\0';
		if (nl > s && nl[-1] == '\r')
			nl[-1] = '\0';
		s = nl + 1;
	}
	src->path = path;
	src->lines = lines.v;
	src->nlines = lines.n;
out_close:
	strbuf_release(&sb);
	fclose(f);
	return rc;
}

/* The function's source: its path as recorded, std's /rustc/<commit>/
 * paths in the toolchain's rust-src, else under --source-dir
 * (the path joined to it, then its basename). Fills src or leaves it
 * empty; *found_path gets the path used (caller frees). */
static void source_find(struct annotate_source *src, const char *recorded, const char *dir, char **found_path,
                        char **text)
{
	VEC(char *) tries = {0};
	vec_push(&tries, xstrdup(recorded));
	char *rust_src = cmd_rust_src_path(recorded);
	if (rust_src)
		vec_push(&tries, rust_src);
	if (dir) {
		struct strbuf sb = STRBUF_INIT;
		const char *rel = recorded;
		while (*rel == '/')
			rel++;
		strbuf_addf(&sb, "%s/%s", dir, rel);
		vec_push(&tries, strbuf_detach(&sb));
		const char *slash = strrchr(recorded, '/');
		if (slash) {
			strbuf_addf(&sb, "%s/%s", dir, slash + 1);
			vec_push(&tries, strbuf_detach(&sb));
		}
	}
	for (size_t i = 0; i < tries.n; i++) {
		if (!*found_path && !source_read(src, tries.v[i], text)) {
			*found_path = tries.v[i];
			src->path = *found_path;
			continue;
		}
		free(tries.v[i]);
	}
	vec_free(&tries);
}

/* The instruction view: the binary the hottest address ran in. */
struct asm_view {
	const struct profile *p;
	uint32_t path;           /* string id of the binary's path */
	struct disasm d;         /* what was decoded */
	struct annotate_insn *v; /* d's instructions for the annotation */
	char *note;              /* why there are none, for the header */
};

static bool asm_in_module(void *ctx, uint32_t mapping)
{
	const struct asm_view *av = ctx;
	return mapping < av->p->mappings.n && av->p->mappings.v[mapping].path == av->path;
}

/* Decodes the function's code from the binary of its hottest address
 * and hands the instructions to an; on failure av->note says why. */
static void asm_decode(struct asm_view *av, struct annotate *an)
{
	const struct profile *p = av->p;
	const struct annotate_addr *hot = NULL;
	for (size_t i = 0; i < an->addrs.n; i++) {
		const struct annotate_addr *ad = &an->addrs.v[i];
		if (ad->has_vaddr && ad->mapping < p->mappings.n && (!hot || ad->value > hot->value))
			hot = ad;
	}
	struct strbuf note = STRBUF_INIT;
	if (!hot) {
		strbuf_addstr(&note, an->addrs.n ? "no instructions: the binary was not read when the profile was "
		                                   "symbolized; showing addresses"
		                                 : "no instructions: the function has no samples of its own");
		goto out;
	}
	const struct profile_mapping *m = &p->mappings.v[hot->mapping];
	av->path = m->path;
	const char *path = profile_str(p, m->path);
	VEC(uint64_t) vaddrs = {0};
	for (size_t i = 0; i < an->addrs.n; i++)
		if (an->addrs.v[i].has_vaddr && asm_in_module(av, an->addrs.v[i].mapping))
			vec_push(&vaddrs, an->addrs.v[i].vaddr);
	int rc = symbols_disasm(path, m->build_id ? profile_str(p, m->build_id) : NULL, vaddrs.v, vaddrs.n, &av->d);
	vec_free(&vaddrs);
	if (rc == -ENOENT)
		strbuf_addf(&note,
		            "no instructions: binary '%s' is not here (moved or deleted since recording); "
		            "showing addresses",
		            path);
	else if (rc == -ESTALE)
		strbuf_addf(&note,
		            "no instructions: '%s' is not the binary that ran (another build-id); "
		            "showing addresses",
		            path);
	else if (rc == -ERANGE)
		strbuf_addf(&note, "no instructions: the addresses are not in the code of '%s'", path);
	else if (rc == -ELIBACC)
		strbuf_addstr(&note, "no instructions: the Capstone library (libcapstone) cannot be loaded; install "
		                     "it (on Debian: apt install libcapstone4); showing addresses");
	else if (rc)
		strbuf_addf(&note, "no instructions: cannot decode '%s': %s", path, strerror(-rc));
	if (rc)
		goto out;
	av->v = xcalloc(av->d.insns.n ? av->d.insns.n : 1, sizeof(*av->v));
	for (size_t i = 0; i < av->d.insns.n; i++) {
		const struct disasm_insn *in = &av->d.insns.v[i];
		av->v[i] = (struct annotate_insn){
		    .vaddr = in->vaddr,
		    .mnemonic = strtab_get(&av->d.strings, in->mnemonic),
		    .operands = strtab_get(&av->d.strings, in->operands),
		    .file = in->file ? strtab_get(&av->d.strings, in->file) : NULL,
		    .line = in->line,
		};
	}
	annotate_set_insns(an, av->v, av->d.insns.n, asm_in_module, av);
out:
	if (note.len)
		av->note = strbuf_detach(&note);
	strbuf_release(&note);
}

/* Picks the function to annotate; NULL after printing why not. */
static const struct hotspot_func *pick_function(const struct hotspots *h, const struct annotate_args *a)
{
	if (!a->symbol) {
		if (!h->funcs.n || !h->funcs.v[0].self) {
			kiln_error("'%s' has no samples to annotate", a->file);
			return NULL;
		}
		return &h->funcs.v[0]; /* sorted by self */
	}
	uint32_t found[MAX_LISTED];
	size_t n = annotate_match_functions(h, a->symbol, found, MAX_LISTED);
	if (n == 1)
		return &h->funcs.v[found[0]];
	if (!n) {
		kiln_error("no function in '%s' matches '%s'; 'kiln report %s' lists them", a->file, a->symbol,
		           a->file);
		return NULL;
	}
	/* the same name in several modules, or several names: make the user pick */
	struct strbuf list = STRBUF_INIT;
	for (size_t i = 0; i < n && i < MAX_LISTED; i++) {
		const struct hotspot_func *f = &h->funcs.v[found[i]];
		strbuf_addf(&list, "\n  %s [%s]", profile_str(h->profile, f->name), profile_str(h->profile, f->module));
	}
	if (n > MAX_LISTED)
		strbuf_addf(&list, "\n  ... and %zu more", n - MAX_LISTED);
	kiln_error("'%s' matches %zu functions; name one exactly:%s", a->symbol, n, strbuf_str(&list));
	strbuf_release(&list);
	return NULL;
}

int cmd_annotate(int argc, char **argv)
{
	struct annotate_args a = {.limit = DEFAULT_LIMIT, .context = DEFAULT_CONTEXT};
	profile_filter_init(&a.filter);
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		goto out_release_filter;

	bool complete;
	struct hotspots h;
	int vi = 0;
	rc = 1;
	struct profile *p = cmd_load_profile(a.file, "annotating", &complete);
	if (!p)
		goto out_release_filter;
	cmd_filter_profile(p, &a.filter, a.file);
	if (cmd_hotspots_of(p, a.file, a.value, &h, &vi)) {
		rc = vi == -ENOENT ? 2 : 1; /* no such --value: a usage error */
		profile_free(p);
		goto out_release_filter;
	}
	const struct hotspot_func *f = pick_function(&h, &a);
	if (!f)
		goto out_release_hotspots;
	struct annotate an;
	if (annotate_build(&an, p, vi, f->name, f->module)) {
		kiln_error("cannot annotate '%s' in '%s'", profile_str(p, f->name), a.file);
		goto out_release_hotspots;
	}

	struct annotate_source src = {0};
	char *src_path = NULL, *src_text = NULL;
	if (an.file)
		source_find(&src, profile_str(p, an.file), a.source_dir, &src_path, &src_text);
	/* instructions when asked for, and where there is no line to show */
	struct asm_view av = {.p = p};
	bool want_asm = a.asm_view || !an.file;
	if (want_asm)
		asm_decode(&av, &an);
	struct annotate_options o = {
	    .file = a.file,
	    .complete = complete,
	    .limit = a.limit,
	    .context = a.context,
	    .color = !a.json && cmd_stdout_color(),
	    .asm_view = want_asm,
	    .asm_binary = av.v ? profile_str(p, av.path) : NULL,
	    .asm_syntax = av.d.syntax,
	    .asm_note = av.note,
	};
	struct strbuf out = STRBUF_INIT;
	(a.json ? &annotate_json_ops : &annotate_text_ops)->render(&out, &an, &src, &o);
	if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout))
		kiln_error("cannot write the annotation: %s", strerror(errno));
	else
		rc = 0;
	strbuf_release(&out);
	free(src.lines);
	free(src_text);
	free(src_path);
	annotate_release(&an);
	free(av.v);
	free(av.note);
	disasm_release(&av.d);
out_release_hotspots:
	hotspots_release(&h);
	profile_free(p);
out_release_filter:
	profile_filter_release(&a.filter);
	return rc;
}
