/* load.c - reading a profile for a view (report, annotate, flame): the
 * errors a user sees, the cut-short warning, and names for every frame. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/hotspots.h"
#include "capture/pprof_read.h"
#include "cmd/cmd.h"
#include "profile/kiln_file.h"
#include "profile/stack_input.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"

int cmd_profile_error(const char *path, int rc)
{
	switch (rc) {
	case -ENOENT:
		kiln_error("cannot open '%s': %s; record one with 'kiln record -- CMD'", path, strerror(-rc));
		break;
	case -EACCES:
	case -EPERM:
	case -EISDIR:
	case -ENOTDIR:
	case -ELOOP:
	case -ENAMETOOLONG:
		kiln_error("cannot open '%s': %s", path, strerror(-rc));
		break;
	default:
		kiln_error("cannot read '%s': %s", path, kiln_read_strerror(rc));
		break;
	}
	return 1;
}

void cmd_symbolize_missing(struct profile *p)
{
	/* A file cut short before its symbols has locations without frames:
	 * name them now from the binaries, if they are still here. */
	bool need = false;
	for (size_t i = 0; i < p->locations.n && !need; i++)
		need = !p->locations.v[i].nframes && p->locations.v[i].kind != PROFILE_LOC_TRUNCATED;
	if (need) {
		struct symbols_stats st = {0};
		symbols_resolve_profile(p, &st);
	}
	profile_name_unsymbolized(p);
}

/* What every view says about a .kiln profile it has read, and the names
 * it gives its frames. */
static void loaded_kiln(struct profile *p, const struct kiln_read_info *info, const char *doing, bool *complete)
{
	if (complete)
		*complete = !info->truncated && info->complete;
	if (info->truncated || !info->complete)
		kiln_warn("file was cut short; %s the %zu samples before the cut", doing, p->samples.n);
	if (profile_get_meta(p, "heap_snapshot"))
		kiln_warn("this heap profile is a snapshot taken while the command ran (kiln was stopped before "
		          "it ended): blocks still live then count as leaked_space");
	cmd_symbolize_missing(p);
}

/* Does the file at path start like a pprof profile? */
static bool is_pprof(const char *path)
{
	unsigned char head[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return n > 0 && pprof_sniff(head, (size_t)n);
}

/* Reads a pprof profile (Go's, Pyroscope's, kiln export's) for a view, of
 * at most max_bytes once uncompressed (0: the reader's default). */
static struct profile *load_pprof(const char *path, uint64_t max_bytes)
{
	struct profile *p = NULL;
	struct pprof_read_info info;
	int rc = pprof_read_file(path, max_bytes, &p, &info);
	if (rc == -EBADMSG)
		kiln_error("'%s' is not a pprof profile: %s", path, info.error);
	else if (rc == -EFBIG)
		kiln_error("cannot read pprof profile '%s': %s%s", path, info.error,
		           max_bytes ? " (--max-input-bytes); raise the limit or drop it" : "");
	else if (rc)
		cmd_profile_error(path, rc);
	if (rc)
		return NULL;
	cmd_symbolize_missing(p);
	return p;
}

struct profile *cmd_load_profile(const char *path, const char *doing, bool *complete)
{
	if (is_pprof(path)) {
		if (complete)
			*complete = true;
		return load_pprof(path, 0);
	}
	struct profile *p = NULL;
	struct kiln_read_info info = {0};
	int rc = kiln_read(path, &p, &info);
	if (rc == -EPROTONOSUPPORT) { /* perf.data's magic */
		if (complete)
			*complete = true;
		return cmd_load_perf_data(path, -1, doing);
	}
	if (rc) {
		cmd_profile_error(path, rc);
		return NULL;
	}
	loaded_kiln(p, &info, doing, complete);
	return p;
}

/* The user's message for a stack_input_read() error; returns 1. */
static int stack_input_error(const char *path, int rc, const struct stack_input_info *in,
                             const struct stack_input_limits *lim)
{
	if (!strcmp(path, "-"))
		path = "stdin";
	uint64_t max_line = lim->max_line_bytes ? lim->max_line_bytes : STACK_INPUT_DEFAULT_MAX_LINE;
	switch (rc) {
	case -ENOMSG:
		if (!in->bytes) /* nothing recorded is not a strange format */
			kiln_error("'%s' is empty: no samples", path);
		else
			kiln_error("'%s' is not a .kiln profile, folded stacks or perf script output", path);
		break;
	case -E2BIG:
		kiln_error("cannot read '%s:%" PRIu64 "': the line is longer than %" PRIu64
		           " bytes (--max-line-bytes); raise it, as in --max-line-bytes 64M",
		           path, in->error_line, max_line);
		break;
	case -EFBIG:
		kiln_error("cannot read '%s': more than %" PRIu64
		           " bytes (--max-input-bytes); raise the limit or drop it",
		           path, lim->max_input_bytes);
		break;
	case -ESTALE:
		kiln_error("'%s' changed while it was read (truncated); read a copy that no other program writes to",
		           path);
		break;
	case -EOVERFLOW:
		kiln_error("cannot read '%s:%" PRIu64 "': count %s does not fit in 64 bits (the largest is %" PRId64
		           ")",
		           path, in->error_line, in->error_count, (int64_t)FOLDED_MAX_COUNT);
		break;
	case -ERANGE:
		kiln_error("cannot read '%s:%" PRIu64 "': with count %s the counts add up to more than %" PRId64
		           " (64 bits); split the input",
		           path, in->error_line, in->error_count, (int64_t)FOLDED_MAX_COUNT);
		break;
	default:
		if (in->format == STACK_FORMAT_KILN)
			return cmd_profile_error(path, rc);
		size_t n = strlen(path);
		if (rc == -ENOENT && n > 5 && !strcmp(path + n - 5, ".kiln"))
			return cmd_profile_error(path, rc);
		kiln_error("cannot %s '%s': %s", in->format ? "read" : "open", path, strerror(-rc));
		break;
	}
	return 1;
}

int cmd_load_stacks(const char *path, const struct stack_input_limits *lim,
                    void (*fn)(void *, const char *, size_t, int64_t), void *ctx, const char *doing,
                    struct profile **out, bool *complete)
{
	struct stack_input_info in;
	struct stack_input_limits none = {0};
	if (!lim)
		lim = &none;
	if (complete)
		*complete = true;
	if (strcmp(path, "-") && is_pprof(path)) {
		*out = load_pprof(path, lim->max_input_bytes); /* --max-input-bytes */
		return *out ? 0 : 1;
	}
	int rc = stack_input_read(path, lim, fn, ctx, out, &in);
	if (rc == -EPROTONOSUPPORT) { /* perf.data's magic */
		bool std_in = !strcmp(path, "-");
		*out = cmd_load_perf_data(std_in ? "stdin" : path, std_in ? 0 : -1, doing);
		return *out ? 0 : 1;
	}
	if (rc)
		return stack_input_error(path, rc, &in, lim);
	if (!strcmp(path, "-"))
		path = "stdin";
	if (in.skipped && in.format == STACK_FORMAT_FOLDED)
		kiln_warn("'%s': skipped %" PRIu64 " line%s that %s not 'STACK COUNT'; the first, line %" PRIu64
		          ": '%s'",
		          path, in.skipped, in.skipped == 1 ? "" : "s", in.skipped == 1 ? "is" : "are",
		          in.first_skipped_line, in.first_skipped);
	else if (in.skipped)
		kiln_warn("'%s': skipped %" PRIu64
		          " line%s that %s neither an event header nor a stack frame; the first, "
		          "line %" PRIu64 ": '%s'",
		          path, in.skipped, in.skipped == 1 ? "" : "s", in.skipped == 1 ? "is" : "are",
		          in.first_skipped_line, in.first_skipped);
	if (!*out)
		return 0;
	if (in.format == STACK_FORMAT_KILN)
		loaded_kiln(*out, &in.kiln, doing, complete);
	else
		cmd_symbolize_missing(*out);
	return 0;
}

int cmd_parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	if (end != s && *end && !end[1])
		shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : *end == 'T' ? 40 : 64;
	if (errno || end == s || (*end && shift == 64) || (*end && end[1]) || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int cmd_stack_limit_option(const char *option, const char *arg, uint64_t *out)
{
	if (cmd_parse_bytes(arg, out) || !*out) {
		kiln_error("%s takes a size in bytes (K, M, G suffixes allowed), like %s 64M; got '%s'", option, option,
		           arg);
		return 2;
	}
	return 0;
}

struct profile *cmd_load_hotspots(const char *path, const char *doing, const char *value, bool *complete,
                                  struct hotspots *h, int *vi)
{
	struct profile *p = cmd_load_profile(path, doing, complete);
	if (!p)
		return NULL;
	if (!cmd_hotspots_of(p, path, value, h, vi))
		return p;
	profile_free(p);
	return NULL;
}

int cmd_hotspots_of(struct profile *p, const char *path, const char *value, struct hotspots *h, int *vi)
{
	*vi = hotspots_value_index(p, value);
	if (*vi == -ENOENT) {
		cmd_no_value_error(p, path, value);
		return -ENOENT;
	}
	int rc = hotspots_build(h, p, *vi);
	if (rc == -EOVERFLOW)
		kiln_error("cannot analyse '%s': its values add up to more than %" PRId64 " (64 bits)", path,
		           INT64_MAX);
	else if (rc)
		kiln_error("cannot analyse '%s': bad value type", path);
	return rc;
}

int cmd_no_value_error(const struct profile *p, const char *path, const char *name)
{
	struct strbuf have = STRBUF_INIT;
	for (size_t i = 0; i < p->value_types.n; i++)
		strbuf_addf(&have, "%s%s", i ? ", " : "", profile_str(p, p->value_types.v[i].type));
	kiln_error("'%s' has no value '%s'; it has: %s", path, name, p->value_types.n ? strbuf_str(&have) : "samples");
	strbuf_release(&have);
	return 2; /* a bad --value is a usage error */
}
