/* perf_data_load.c - a perf.data file for a view (report, annotate, flame,
 * collapse): read through capture/perf_data.c, named from the binaries
 * present, with what the user should know about it said once. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "capture/perf_data.h"
#include "cmd/cmd.h"
#include "profile/profile.h"
#include "symbols/symbols.h"

static void perf_data_error(const char *path, int rc, const struct perf_data_info *in)
{
	switch (rc) {
	case -EBADMSG:
		if (in->error[0])
			kiln_error("cannot read '%s': corrupt perf.data file: %s (at byte %" PRIu64 ")", path,
			           in->error, in->error_offset);
		else
			kiln_error("cannot read '%s': the perf.data file changed while it was read", path);
		break;
	case -EPROTONOSUPPORT:
		kiln_error("cannot read '%s': %s", path, in->error);
		break;
	case -ESPIPE:
		kiln_error("cannot read a perf.data file from a pipe ('%s'): kiln reads it by offset; give its file "
		           "name, as in 'kiln report perf.data'",
		           path);
		break;
	default:
		kiln_error("cannot read '%s': %s", path, strerror(-rc));
		break;
	}
}

static void perf_data_warnings(const char *path, const struct profile *p, const struct perf_data_info *in,
                               const char *doing)
{
	const struct recorder_stats *st = &in->st;
	if (in->cut_short)
		kiln_warn("'%s' was not finished by perf record (it was killed?); %s the %" PRIu64 " samples it holds",
		          path, doing, st->samples);
	if (in->other_samples)
		kiln_warn("'%s' holds %" PRIu32 " events; %s '%s' only (%" PRIu64 " samples of the others left out)",
		          path, in->events, doing, in->event, in->other_samples);
	if (in->skipped)
		kiln_warn("'%s': skipped %" PRIu64 " malformed record%s", path, in->skipped,
		          in->skipped == 1 ? "" : "s");
	if (in->kernel_moved) {
		kiln_warn("'%s' was recorded on this machine before its last boot (the kernel has moved since): "
		          "kernel frames keep their addresses",
		          path);
	} else if (!in->same_machine) {
		const char *host = profile_get_meta(p, "hostname"), *kernel = profile_get_meta(p, "kernel");
		kiln_warn("'%s' was recorded on %s%s%s%s, not this machine: kernel frames keep their addresses", path,
		          host ? "host " : "another machine", host ? host : "", kernel ? ", kernel " : "",
		          kernel ? kernel : "");
	}
	if (!st->samples)
		kiln_warn("'%s' holds no samples of '%s'", path, in->event);
}

struct profile *cmd_load_perf_data(const char *path, int fd, const char *doing)
{
	struct perf_data_info in;
	struct profile *p = NULL;
	bool own = fd < 0;
	if (own && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		cmd_profile_error(path, -errno);
		return NULL;
	}
	int rc = perf_data_read_fd(fd, &p, &in);
	if (own)
		close(fd);
	if (rc) {
		perf_data_error(path, rc, &in);
		return NULL;
	}
	perf_data_warnings(path, p, &in, doing);
	if (in.kallsyms[0]) {
		struct symbolizer *s = symbolizer_new();
		struct symbols_stats st = {0};
		symbolizer_set_kallsyms_path(s, in.kallsyms);
		symbols_resolve_profile_with(p, s, &st);
		symbolizer_free(s);
	}
	cmd_symbolize_missing(p);
	cmd_note_debug_packages(p);
	return p;
}
