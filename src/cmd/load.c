/* load.c - reading a profile for a view (report, annotate, flame): the
 * errors a user sees, the cut-short warning, and names for every frame. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "analysis/hotspots.h"
#include "cmd/cmd.h"
#include "profile/kiln_file.h"
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

struct profile *cmd_load_profile(const char *path, const char *doing, bool *complete)
{
	struct profile *p = NULL;
	struct kiln_read_info info = {0};
	int rc = kiln_read(path, &p, &info);
	if (rc) {
		cmd_profile_error(path, rc);
		return NULL;
	}
	if (complete)
		*complete = !info.truncated && info.complete;
	if (info.truncated || !info.complete)
		kiln_warn("file was cut short; %s the %zu samples before the cut", doing, p->samples.n);
	if (profile_get_meta(p, "heap_snapshot"))
		kiln_warn("this heap profile is a snapshot taken while the command ran (kiln was stopped before "
		          "it ended): blocks still live then count as leaked_space");
	cmd_symbolize_missing(p);
	return p;
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
	if (hotspots_build(h, p, *vi)) {
		kiln_error("cannot analyse '%s': bad value type", path);
		return -EINVAL;
	}
	return 0;
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
