/* lost_hint.c - the sentence about lost samples (see lost_hint.h). */
#include "render/lost_hint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHOWN 4 /* intervals or threads named; the rest are counted */

static void add_intervals(const char *s, struct strbuf *out)
{
	size_t shown = 0, more = 0;
	uint64_t more_lost = 0;
	while (s && *s) {
		char *end;
		unsigned long cpu = strtoul(s, &end, 10);
		uint64_t v[3] = {0};
		for (int i = 0; i < 3 && *end == ':'; i++)
			v[i] = strtoull(end + 1, &end, 10);
		if (shown < MAX_SHOWN) {
			strbuf_addf(out, "%scpu %lu from %.2f s to %.2f s (%" PRIu64 ")", shown ? ", " : "", cpu,
			            (double)v[0] / 1e9, (double)v[1] / 1e9, v[2]);
			shown++;
		} else {
			more++;
			more_lost += v[2];
		}
		s = *end == ',' ? end + 1 : NULL;
	}
	if (more)
		strbuf_addf(out, " and %zu more interval%s (%" PRIu64 ")", more, more == 1 ? "" : "s", more_lost);
}

static void add_threads(const struct profile *p, const char *s, struct strbuf *out)
{
	size_t shown = 0, more = 0;
	while (s && *s) {
		char *end;
		unsigned long tid = strtoul(s, &end, 10);
		uint64_t n = *end == ':' ? strtoull(end + 1, &end, 10) : 0;
		if (shown < MAX_SHOWN) {
			const struct profile_thread *t = profile_find_thread(p, (uint32_t)tid);
			const char *name = t && t->name ? profile_str(p, t->name) : "";
			strbuf_addf(out, "%s%s%stid %lu (%" PRIu64 ")", shown ? ", " : "", name, *name ? " " : "", tid,
			            n);
			shown++;
		} else {
			more++;
		}
		s = *end == ',' ? end + 1 : NULL;
	}
	if (more)
		strbuf_addf(out, " and %zu more thread%s", more, more == 1 ? "" : "s");
}

void render_lost_hint(const struct profile *p, uint64_t kept, struct strbuf *out)
{
	uint64_t lost = profile_get_meta_u64(p, "lost_samples", 0);
	if (!lost)
		return;
	uint64_t all = kept + lost;
	strbuf_addf(out, "%" PRIu64 " of %" PRIu64 " samples (%.1f%%) were lost because a ring buffer was full", lost,
	            all, 100.0 * (double)lost / (double)all);
	const char *iv = profile_get_meta(p, "lost_intervals");
	if (iv && *iv) {
		strbuf_addstr(out, ": ");
		add_intervals(iv, out);
		strbuf_addstr(out, "; the profile under-counts what ran on those cpus then");
	}
	const char *th = profile_get_meta(p, "lost_threads");
	if (th && *th) {
		strbuf_addstr(out, "; by thread (estimated from what each one's counters counted): ");
		add_threads(p, th, out);
	}
	uint64_t unreported = profile_get_meta_u64(p, "lost_threads_unreported", 0);
	if (unreported)
		strbuf_addf(out, "; %" PRIu64 " thread%s exit count%s lost with the samples, so %s under-estimated",
		            unreported, unreported == 1 ? "'s" : "s'", unreported == 1 ? " was" : "s were",
		            unreported == 1 ? "its loss may be" : "their losses may be");
	const char *prio = profile_get_meta(p, "reader_priority");
	if (prio && !strcmp(prio, "normal"))
		strbuf_addstr(out,
		              ". kiln's reader ran at normal priority: run kiln as root (or with CAP_SYS_NICE) so it "
		              "runs at real-time priority, or lower -F");
	else
		strbuf_addstr(out, ". Lower -F, or copy less stack with --call-graph dwarf,16384");
}
