/* offcpu_view.c - wires pools analysis and the off-CPU renderers for
 * kiln offcpu and kiln report --pools. */
#include "cmd/offcpu_view.h"

#include <regex.h>
#include <string.h>

#include "analysis/pools.h"
#include "cmd/cmd.h"
#include "cmd/output.h"
#include "render/timeline.h"
#include "render/offcpu.h"

int offcpu_view_park_option(struct offcpu_view_args *v, const char *regex)
{
	regex_t re;
	if (regcomp(&re, regex, REG_EXTENDED | REG_NOSUB)) {
		kiln_error("--park-frame takes a POSIX extended regex of a function name; got '%s'", regex);
		return 2;
	}
	regfree(&re);
	if (v->npark == OFFCPU_MAX_PARK) {
		kiln_error("--park-frame: at most %d patterns; join them with '|'", OFFCPU_MAX_PARK);
		return 2;
	}
	v->park[v->npark++] = regex;
	return 0;
}

/* The pools of p with v's --park-frame patterns (checked when parsed);
 * as pools_build(). */
static int build_pools(const struct offcpu_view_args *v, const struct profile *p, struct pools *ps)
{
	pools_init(ps);
	for (size_t i = 0; i < v->npark; i++)
		pools_add_park(ps, v->park[i]);
	return pools_build(ps, p);
}

int offcpu_view(const struct offcpu_view_args *v, const struct profile *p, const char *path, struct strbuf *out)
{
	struct pools ps;
	int rc = build_pools(v, p, &ps);
	if (rc) {
		kiln_error("'%s' has no off-CPU time; record it with 'kiln offcpu', 'kiln record --wall' or "
		           "'kiln record --off-cpu'",
		           path);
		pools_release(&ps);
		return 2;
	}
	if (v->json) {
		render_pools_json(out, p, &ps, v->limit);
	} else {
		if (v->reasons) {
			render_offcpu_text(out, p, v->limit);
			strbuf_addch(out, '\n');
		}
		render_pools_text(out, p, &ps, v->limit);
	}
	pools_release(&ps);
	return 0;
}

int offcpu_write_timeline(const struct offcpu_view_args *v, const struct profile *p, const char *src, const char *path)
{
	struct pools ps;
	build_pools(v, p, &ps); /* without off-CPU values render_timeline_svg says so */
	struct strbuf sb = STRBUF_INIT;
	int rc = render_timeline_svg(&sb, p, &ps);
	pools_release(&ps);
	if (rc) {
		kiln_error("'%s' has no off-CPU time to draw; record it with 'kiln offcpu' or 'kiln record --wall'",
		           src);
		strbuf_release(&sb);
		return 2;
	}
	struct output o = {0};
	rc = output_open_text(&o, path);
	if (rc == 0) {
		fwrite(sb.buf, 1, sb.len, o.f);
		rc = output_commit(&o);
	}
	output_release(&o);
	strbuf_release(&sb);
	if (rc) {
		kiln_error("cannot write the timeline '%s': %s", path, strerror(-rc));
		return 1;
	}
	return 0;
}
