/* lock_text.c - kiln lock's table: contention first, by total wait. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "render/lock.h"
#include "render/units.h"

static void add_ns(struct strbuf *out, uint64_t ns)
{
	render_duration_w(out, ns, 10);
}

static void add_row(struct strbuf *out, const struct lock_stat *l)
{
	add_ns(out, l->total_ns);
	strbuf_addf(out, " %6.1f%% %8" PRIu64, l->share * 100.0, l->waits);
	add_ns(out, l->mean_ns);
	add_ns(out, l->p99_ns);
	add_ns(out, l->max_ns);
	strbuf_addf(out, " %4u  %-9s %s\n", l->threads, lock_kind_name(l->kind), l->name);
	if (!strstr(l->name, l->site))
		strbuf_addf(out, "%*s at %s\n", 72, "", l->site);
	if (l->has_hold) {
		strbuf_addf(out, "%*s held %" PRIu64 " times: total ", 72, "", l->acquisitions);
		render_duration(out, l->hold_ns);
		strbuf_addstr(out, ", mean ");
		render_duration(out, l->hold_mean_ns);
		strbuf_addstr(out, ", max ");
		render_duration(out, l->hold_max_ns);
		strbuf_addf(out, "; %.1f%% uncontended\n",
		            l->acquisitions ? 100.0 * (double)l->uncontended / (double)l->acquisitions : 0.0);
	}
}

static const char header[] = "     TOTAL   SHARE    WAITS      MEAN       P99       MAX  THR  KIND      LOCK\n";

void render_lock_text(struct strbuf *out, const struct lock_report *r, const struct lock_render_info *info)
{
	size_t contended = 0, signal = 0;
	for (size_t i = 0; i < r->locks.n; i++)
		*(lock_kind_is_signal(r->locks.v[i].kind) ? &signal : &contended) += 1;
	strbuf_addf(out, "kiln lock: %s engine (%s); %.2f s, %zu thread%s, %" PRIu64 " wait%s\n", info->engine,
	            info->sees, (double)info->duration_ns / 1e9, info->threads, info->threads == 1 ? "" : "s", r->waits,
	            r->waits == 1 ? "" : "s");
	strbuf_addf(out, "  cannot see: %s\n", info->blind);
	strbuf_addf(out, "\nlock contention: %zu lock%s, ", contended, contended == 1 ? "" : "s");
	render_duration(out, r->contention_ns);
	strbuf_addf(out, " waited, %.1f%% of the threads' time\n",
	            r->thread_ns ? 100.0 * (double)r->contention_ns / (double)r->thread_ns : 0.0);
	if (contended) {
		strbuf_addstr(out, header);
		size_t shown = 0;
		for (size_t i = 0; i < r->locks.n; i++) {
			if (lock_kind_is_signal(r->locks.v[i].kind))
				continue;
			if (info->limit && shown++ >= info->limit)
				break;
			add_row(out, &r->locks.v[i]);
		}
	} else {
		strbuf_addstr(out, "  no thread waited for a lock\n");
	}
	if (signal) {
		strbuf_addstr(out, "\nsignal waits (condition variables, joins, channels: waiting for an event, not "
		                   "for a lock)\n");
		strbuf_addstr(out, header);
		size_t shown = 0;
		for (size_t i = 0; i < r->locks.n; i++) {
			if (!lock_kind_is_signal(r->locks.v[i].kind))
				continue;
			if (info->limit && shown++ >= info->limit)
				break;
			add_row(out, &r->locks.v[i]);
		}
	}
	if (info->lost || info->unpaired)
		strbuf_addf(out, "\n%" PRIu64 " events lost, %" PRIu64 " futex calls without their other half\n",
		            info->lost, info->unpaired);
}
