/* heap_feed.c - the agent's decoded events (capture/agent_decode.h) into
 * the heap analysis's own calls: the one place that knows both, used by
 * kiln heap and by the unit tests and fuzz target that feed records by
 * hand (tests/CMakeLists.txt compiles it into them). */
#include "cmd/heap_feed.h"

#include "analysis/heap.h"

void heap_feed_event(void *ctx, uint32_t ring, const struct agent_event *ev)
{
	struct heap_analysis *h = ctx;
	switch (ev->kind) {
	case AGENT_EV_PROCESS:
		heap_on_process(h, ring, ev->pid, ev->ppid, ev->time);
		break;
	case AGENT_EV_STACK:
		heap_on_stack(h, ring, ev->first, ev->parent, ev->frames, ev->nframes);
		break;
	case AGENT_EV_ALLOC:
		heap_on_alloc(h, ring, ev->time, ev->addr, ev->size, ev->stack);
		break;
	case AGENT_EV_FREE:
		heap_on_free(h, ring, ev->time, ev->addr);
		break;
	case AGENT_EV_REALLOC:
		heap_on_realloc(h, ring, ev->time, ev->old_addr, ev->addr, ev->size, ev->stack);
		break;
	case AGENT_EV_MAPPINGS: {
		/* the same four fields: handed on one by one, not cast */
		struct heap_mapping m[64];
		for (size_t i = 0; i < ev->nmaps; i += 64) {
			size_t k = ev->nmaps - i < 64 ? ev->nmaps - i : 64;
			for (size_t j = 0; j < k; j++)
				m[j] = (struct heap_mapping){ev->maps[i + j].start, ev->maps[i + j].end,
				                             ev->maps[i + j].pgoff, ev->maps[i + j].path};
			heap_on_mappings(h, ring, m, k);
		}
		break;
	}
	case AGENT_EV_EXEC:
		heap_on_exec(h, ring);
		break;
	case AGENT_EV_FREERES:
		heap_on_freeres(h, ring);
		break;
	case AGENT_EV_ALLOCATOR: {
		const struct agent_allocator *a = &ev->allocator;
		struct heap_allocator ha = {.known = 1,
		                            .path = a->path,
		                            .global = a->global,
		                            .shim = a->shim,
		                            .methods = a->methods,
		                            .candidates = a->candidates,
		                            .reason = a->reason,
		                            .start_rss_kb = a->start_rss_kb};
		heap_on_allocator(h, ring, &ha);
		break;
	}
	case AGENT_EV_EXITING:
	case AGENT_EV_EXIT:
		heap_on_exit(h, ring, ev->time, ev->max_rss_kb, ev->kind == AGENT_EV_EXIT, ev->untracked);
		break;
	}
}
