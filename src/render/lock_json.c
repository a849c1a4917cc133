/* lock_json.c - kiln lock --json: the report as one JSON object. */
#include <inttypes.h>

#include "render/lock.h"

static void add_lock(struct strbuf *out, const struct lock_stat *l)
{
	strbuf_addstr(out, "{\"name\":");
	strbuf_add_json_string(out, l->name);
	strbuf_addstr(out, ",\"kind\":");
	strbuf_add_json_string(out, lock_kind_name(l->kind));
	strbuf_addf(out, ",\"signal\":%s,\"site\":", lock_kind_is_signal(l->kind) ? "true" : "false");
	strbuf_add_json_string(out, l->site);
	strbuf_addf(out,
	            ",\"address\":\"0x%" PRIx64 "\",\"pid\":%u,\"threads\":%u,\"waits\":%" PRIu64
	            ",\"total_ns\":%" PRIu64 ",\"mean_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64
	            ",\"wakes\":%" PRIu64 ",\"share\":%.6f",
	            l->uaddr, l->pid, l->threads, l->waits, l->total_ns, l->mean_ns, l->p99_ns, l->max_ns, l->wakes,
	            l->share);
	if (l->has_hold)
		strbuf_addf(out,
		            ",\"hold\":{\"acquisitions\":%" PRIu64 ",\"uncontended\":%" PRIu64 ",\"total_ns\":%" PRIu64
		            ",\"mean_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 "}",
		            l->acquisitions, l->uncontended, l->hold_ns, l->hold_mean_ns, l->hold_max_ns);
	strbuf_addch(out, '}');
}

void render_lock_json(struct strbuf *out, const struct lock_report *r, const struct lock_render_info *info)
{
	strbuf_addstr(out, "{\"engine\":");
	strbuf_add_json_string(out, info->engine);
	strbuf_addstr(out, ",\"cannot_see\":");
	strbuf_add_json_string(out, info->blind);
	strbuf_addstr(out, ",\"command\":");
	strbuf_add_json_string(out, info->command ? info->command : "");
	strbuf_addf(out,
	            ",\"duration_ns\":%" PRIu64 ",\"threads\":%zu,\"thread_ns\":%" PRIu64 ",\"waits\":%" PRIu64
	            ",\"contention_ns\":%" PRIu64 ",\"signal_ns\":%" PRIu64 ",\"lost\":%" PRIu64
	            ",\"unpaired\":%" PRIu64 ",\"locks\":[",
	            info->duration_ns, info->threads, r->thread_ns, r->waits, r->contention_ns, r->signal_ns,
	            info->lost, info->unpaired);
	for (size_t i = 0; i < r->locks.n; i++) {
		if (i)
			strbuf_addch(out, ',');
		add_lock(out, &r->locks.v[i]);
	}
	strbuf_addstr(out, "]}\n");
}
