/* filter.c - the --pid, --tid and --comm options kiln report, flame and
 * annotate share: parsing them, and applying profile/profile_filter to the
 * profile a command loaded, with what the header says about it. */
#include <inttypes.h>
#include <string.h>

#include "cmd/cmd.h"
#include "profile/profile.h"
#include "profile/profile_filter.h"
#include "util/strbuf.h"

int cmd_filter_option(struct profile_filter *f, const char *option, const char *arg)
{
	int rc;
	if (!strcmp(option, "comm"))
		rc = profile_filter_add_comms(f, arg);
	else if (!strcmp(option, "tid"))
		rc = profile_filter_add_tids(f, arg);
	else
		rc = profile_filter_add_pids(f, arg);
	if (!rc)
		return 0;
	if (!strcmp(option, "comm"))
		kiln_error("--comm takes command names separated by commas, like --comm cc1,as; got '%s'", arg);
	else
		kiln_error("--%s takes %ss separated by commas, like --%s 1234,1240; got '%s'", option, option, option,
		           arg);
	return 2;
}

size_t cmd_filter_profile(struct profile *p, const struct profile_filter *f, const char *path)
{
	if (!profile_filter_active(f))
		return p->samples.n;
	size_t before = p->samples.n, kept = profile_filter_apply(p, f);
	struct strbuf sb = STRBUF_INIT;
	profile_filter_describe(f, &sb);
	strbuf_addf(&sb, " (%zu of %zu samples)", kept, before);
	profile_set_meta(p, "filter", strbuf_str(&sb));
	if (!kept) {
		strbuf_reset(&sb);
		profile_filter_describe(f, &sb);
		kiln_warn("no sample of '%s' matches %s; 'kiln report --processes %s' lists its commands and pids",
		          path, strbuf_str(&sb), path);
	}
	strbuf_release(&sb);
	return kept;
}
