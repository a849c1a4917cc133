/* export.c - `kiln export`: a profile in the formats other viewers read
 * (pprof for go tool pprof, Parca, Pyroscope and Grafana; folded stacks
 * for flamegraph.pl, inferno and speedscope). One row per format in
 * export_formats below: a name, the default file suffix, how to recognise
 * a file that format wrote (so that an older export is replaced but
 * nothing else is, without --force), and the writer. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/pprof_read.h"
#include "analysis/flame_tree.h"
#include "cmd/cmd.h"
#include "cmd/output.h"
#include "kiln_version.h"
#include "profile/profile.h"
#include "render/flame.h"
#include "render/chrome_trace.h"
#include "render/pprof.h"
#include "render/callgrind.h"
#include "render/speedscope.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct export_args {
	const char *input;
	const char *output;
	const char *value; /* --value: the value type folded stacks count; NULL: the default */
	bool force;
};

struct export_format {
	const char *name;
	const char *suffix; /* of the default output, which replaces the input's ".kiln" */
	/* Does head (n bytes, the start of an existing file) look like a
	 * file this format writes? Such a file is replaced without --force. */
	bool (*sniff)(const unsigned char *head, size_t n);
	/* Writes p to out; 0 or -errno (-ENOENT: no such --value, said). */
	int (*write)(FILE *out, struct profile *p, const struct export_args *a);
};

static bool sniff_pprof(const unsigned char *head, size_t n)
{
	return pprof_sniff(head, n);
}

static int write_pprof(FILE *out, struct profile *p, const struct export_args *a)
{
	(void)a;
	struct strbuf sb = STRBUF_INIT;
	int rc = pprof_write(p, &sb);
	if (!rc && fwrite(sb.buf, 1, sb.len, out) != sb.len)
		rc = -EIO;
	strbuf_release(&sb);
	return rc;
}

/* Folded stacks are text lines "frame;frame;... COUNT": every whole line
 * at the start of such a file ends in a space and digits (a source file
 * has a line like "x = 5" now and then, not on every line). */
static bool sniff_folded(const unsigned char *head, size_t n)
{
	size_t lines = 0;
	for (const unsigned char *at = head, *nl; (nl = memchr(at, '\n', n - (size_t)(at - head))); at = nl + 1) {
		const unsigned char *q = nl;
		while (q > at && q[-1] >= '0' && q[-1] <= '9')
			q--;
		if (q == nl || q == at || q[-1] != ' ')
			return false;
		lines++;
	}
	return lines > 0;
}

/* The value type folded stacks count: --value, else the profile's
 * default_value, else the first (as kiln flame draws). */
static int folded_value(struct profile *p, const struct export_args *a)
{
	const char *name = a->value ? a->value : profile_get_meta(p, "default_value");
	if (!name || !*name)
		return 0;
	for (size_t i = 0; i < p->value_types.n; i++)
		if (!strcmp(profile_str(p, p->value_types.v[i].type), name))
			return (int)i;
	if (!a->value)
		return 0;
	cmd_no_value_error(p, a->input, name);
	return -ENOENT;
}

static int write_folded(FILE *out, struct profile *p, const struct export_args *a)
{
	struct flame_options fo = {0};
	fo.value = folded_value(p, a);
	if (fo.value < 0)
		return fo.value;
	struct flame_tree t;
	flame_tree_init(&t);
	int rc = flame_tree_build(&t, p, &fo);
	if (!rc)
		rc = flame_render_folded(out, &t);
	flame_tree_release(&t);
	return rc;
}

/* Does head start as the JSON documents kiln writes in a format do? */
static bool head_starts(const unsigned char *head, size_t n, const char *start)
{
	size_t len = strlen(start);
	return n >= len && !memcmp(head, start, len);
}

static bool sniff_speedscope(const unsigned char *head, size_t n)
{
	return head_starts(head, n, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\"");
}

static int write_speedscope(FILE *out, struct profile *p, const struct export_args *a)
{
	int value = folded_value(p, a); /* the same choice as folded stacks' */
	if (value < 0)
		return value;
	const char *slash = strrchr(a->input, '/');
	struct speedscope_options o = {
	    .value = (size_t)value, .name = slash ? slash + 1 : a->input, .exporter = "kiln " KILN_VERSION};
	return speedscope_write(out, p, &o);
}

static bool sniff_chrome(const unsigned char *head, size_t n)
{
	return head_starts(head, n, "{\"traceEvents\":[");
}

static int write_chrome(FILE *out, struct profile *p, const struct export_args *a)
{
	(void)a;
	return chrome_trace_write(out, p);
}

static bool sniff_callgrind(const unsigned char *head, size_t n)
{
	return head_starts(head, n, "# callgrind format\n");
}

static int write_callgrind(FILE *out, struct profile *p, const struct export_args *a)
{
	(void)a;
	return callgrind_write(out, p);
}

/* Add a format here: its row, a writer in src/render/, the man page's
 * FORMATS section and a test. */
static const struct export_format export_formats[] = {
    {"pprof", ".pb.gz", sniff_pprof, write_pprof},
    {"folded", ".folded", sniff_folded, write_folded},
    {"speedscope", ".speedscope.json", sniff_speedscope, write_speedscope},
    {"chrome", ".trace.json", sniff_chrome, write_chrome},
    {"callgrind", ".callgrind", sniff_callgrind, write_callgrind},
};
#define NFORMATS (sizeof(export_formats) / sizeof(export_formats[0]))

static const char export_usage[] = "usage: kiln export --format FORMAT [-o FILE] [options] [PROFILE]\n"
                                   "\n"
                                   "Writes a profile in a format other tools read. PROFILE (a .kiln profile,\n"
                                   "a perf.data file or a pprof profile) defaults to profile.kiln.\n"
                                   "\n"
                                   "  kiln export --format pprof run.kiln         # writes run.pb.gz\n"
                                   "  go tool pprof -top run.pb.gz\n"
                                   "\n"
                                   "      --format FORMAT   pprof: gzip-compressed profile.proto, every value type\n"
                                   "                        (go tool pprof, Parca, Pyroscope, Grafana)\n"
                                   "                        folded: 'outer;...;leaf COUNT' lines (flamegraph.pl,\n"
                                   "                        inferno, speedscope)\n"
                                   "                        speedscope: speedscope's JSON, a profile per thread\n"
                                   "                        and its timeline (speedscope.app)\n"
                                   "                        chrome: Trace Event JSON, a lane per thread over time\n"
                                   "                        (ui.perfetto.dev, chrome://tracing)\n"
                                   "                        callgrind: callgrind's format, self cost per line and\n"
                                   "                        inclusive cost and calls per call (callgrind_annotate,\n"
                                   "                        KCachegrind)\n"
                                   "  -o, --output FILE     write to FILE ('-' for stdout); default: PROFILE with\n"
                                   "                        its .kiln replaced by .pb.gz, .folded,\n"
                                   "                        .speedscope.json, .trace.json or .callgrind, beside it\n"
                                   "      --value TYPE      the value type folded stacks and speedscope's\n"
                                   "                        profiles count (default: the\n"
                                   "                        profile's default, else the first: samples)\n"
                                   "  -f, --force           replace FILE even if it is not an export of this format\n"
                                   "  -h, --help            show this help\n"
                                   "See kiln-export(1).\n";

static const struct export_format *find_format(const char *name)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (!strcmp(export_formats[i].name, name))
			return &export_formats[i];
	return NULL;
}

static void format_names(struct strbuf *sb)
{
	for (size_t i = 0; i < NFORMATS; i++)
		strbuf_addf(sb, "%s%s", i ? (i + 1 == NFORMATS ? " or " : ", ") : "", export_formats[i].name);
}

/* PROFILE.kiln -> PROFILE.<suffix>, beside it; malloc'ed. */
static char *default_output(const char *input, const char *suffix)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(input);
	if (n > 5 && !strcmp(input + n - 5, ".kiln"))
		n -= 5;
	strbuf_add(&sb, input, n);
	strbuf_addstr(&sb, suffix);
	return strbuf_detach(&sb);
}

/* May path be written? Not when it is a regular file with data that this
 * format did not write, unless --force: 0, or 1 after saying why not. */
static int check_target(const char *path, const struct export_format *f, bool force)
{
	struct stat st;
	if (force || !strcmp(path, "-") || stat(path, &st) || !S_ISREG(st.st_mode) || !st.st_size)
		return 0;
	unsigned char head[4096];
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, head, sizeof(head));
		close(fd);
	}
	if (n > 0 && f->sniff(head, (size_t)n))
		return 0;
	kiln_error("'%s' exists and is not a %s export; use --force to replace it, or -o to write elsewhere", path,
	           f->name);
	return 1;
}

static int parse_args(int argc, char **argv, struct export_args *a, const struct export_format **fmt)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'T'}, {"output", required_argument, NULL, 'o'},
	    {"value", required_argument, NULL, 'v'},  {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},         {0},
	};
	const char *format = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":fo:h", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			format = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'v':
			a->value = optarg;
			break;
		case 'f':
			a->force = true;
			break;
		case 'h':
			cmd_print_usage(export_usage, 0);
			return 0;
		default: /* ':' and '?' */
			return cmd_bad_option("export", c, argv);
		}
	}
	struct strbuf names = STRBUF_INIT;
	format_names(&names);
	int status = 2;
	if (!format) {
		kiln_error("say which format to write with --format: %s", strbuf_str(&names));
		goto out;
	}
	*fmt = find_format(format);
	if (!*fmt) {
		kiln_error("'%s' is not an export format; use %s", format, strbuf_str(&names));
		goto out;
	}
	if (argc - optind > 1) {
		kiln_error("export reads one profile; got more than one file (see 'kiln export --help')");
		goto out;
	}
	a->input = optind < argc ? argv[optind] : "profile.kiln";
	status = -1;
out:
	strbuf_release(&names);
	return status;
}

int cmd_export(int argc, char **argv)
{
	struct export_args a = {0};
	const struct export_format *fmt = NULL;
	int status = parse_args(argc, argv, &a, &fmt);
	if (status >= 0)
		return status;
	status = 1;
	char *path = a.output ? xstrdup(a.output) : default_output(a.input, fmt->suffix);
	const char *shown = strcmp(path, "-") ? path : "stdout";
	struct output out = {0};
	struct profile *p = NULL;
	if (check_target(path, fmt, a.force))
		goto out;
	p = cmd_load_profile(a.input, "exporting", NULL);
	if (!p)
		goto out;
	int rc = output_open_text(&out, path);
	if (rc) {
		kiln_error("cannot write '%s': %s", shown, strerror(-rc));
		goto out;
	}
	rc = fmt->write(out.f, p, &a);
	if (rc == -ENOENT) /* no such --value, said */
		goto out;
	if (rc == -ENODATA) { /* a timeline format, and no sample has a time */
		kiln_error("cannot export '%s' as %s: its samples have no times, so there is no timeline to lay out "
		           "(pprof, folded and heap profiles have none); use --format speedscope or pprof",
		           a.input, fmt->name);
		goto out;
	}
	if (rc == -EOVERFLOW) {
		kiln_error("cannot export '%s': its values add up to more than %" PRId64 " (64 bits)", a.input,
		           INT64_MAX);
		goto out;
	}
	if (rc && rc != -EIO) {
		kiln_error("cannot export '%s': %s", a.input, strerror(-rc));
		goto out;
	}
	/* a write error (-EIO) is output's to report, exactly */
	rc = output_commit(&out);
	if (rc) {
		kiln_error("cannot write '%s': %s", shown, strerror(-rc));
		goto out;
	}
	if (strcmp(path, "-"))
		fprintf(stderr, "kiln: wrote '%s' (%s, %zu samples)\n", path, fmt->name, p->samples.n);
	status = 0;
out:
	output_release(&out);
	profile_free(p);
	free(path);
	return status;
}
