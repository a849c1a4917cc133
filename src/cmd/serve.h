/* serve.h - kiln serve's state, shared by its files: serve.c (options,
 * the recorders, segments and the main loop), serve_budget.c (what keeps
 * its memory bounded) and serve_http.c (what each URL answers). */
#ifndef KILN_CMD_SERVE_H
#define KILN_CMD_SERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/http_server.h"
#include "capture/recorder.h"
#include "cmd/serve_close.h"
#include "cmd/serve_symbolize.h"
#include "profile/profile.h"
#include "profile/profile_compact.h"
#include "profile/sample_window.h"
#include "profile/segment.h"
#include "util/hashmap.h"
#include "util/vec.h"

struct serve_proc {
	pid_t pid;
	char comm[64];
	struct recorder *r; /* NULL once it exited and was drained */
	bool exited;
	bool refused;      /* --all: kiln may not profile it; not listed */
	uint64_t attached; /* when its recorder started, in clock ticks since boot (/proc/PID/stat's starttime unit) */
	uint64_t samples;  /* kept: in the window and the segments */
	uint64_t cpu_ns;   /* their CPU time */
	uint64_t dropped_memory;  /* refused by the window, full at its share of the budget */
	uint64_t dropped_stacks;  /* refused for a new stack past --max-stacks */
	struct recorder_stats st; /* the recorder's, last read */
};

struct serve_args {
	const char *listen;
	VEC(pid_t) pids;
	bool all;
	uint64_t freq;
	uint64_t retention_ns, segment_ns, window_ns;
	const char *dir;
	uint64_t max_memory, max_disk, max_stacks;
	enum call_graph_mode call_graph;
	uint32_t stack_size;
	bool kernel;
	bool quiet;
};

/* The bytes serve holds, as serve_budget_measure() counts them. */
struct serve_memory {
	size_t window;    /* the window's ring */
	size_t profile;   /* the profile's tables, strings and indexes */
	size_t recorders; /* their address maps, per-thread state, record buffers and rings */
	size_t closing;   /* closed segments' profiles the closer thread still holds */
	size_t total;
};

struct serve {
	struct serve_args a;
	struct profile *p;
	VEC(struct serve_proc) procs;
	struct sample_window win;
	struct segment_dir sd;
	struct segment_dir_stats sds;
	struct kiln_writer *w; /* the open segment; NULL while the disk refuses */
	char *seg_path;
	uint64_t seg_start, seg_wall, seg_seq, seg_samples;
	uint64_t last_flush, last_scan;
	struct serve_symbols symbols; /* names new locations off the loop */
	struct serve_memory mem;      /* as last measured, before a poll */
	uint64_t mem_full_ticks;      /* polls with the budget spent */
	struct serve_closer closer;   /* finishes closed segments off the loop */
	struct http_server *http;
	uint64_t stack_cap_dropped; /* samples whose stack was past the cap */
	uint64_t trie_resets;
	/* what each segment's compaction dropped of the profile's tables, and
	 * the address maps of followed children that exited */
	struct profile_compact_stats compact_dropped;
	uint64_t compactions, maps_forgotten;
	uint64_t threads_forgotten;   /* the recorders' per-thread state of threads gone */
	uint64_t segments_unfinished; /* closed without their end: the closer too far behind */
	uint64_t write_errors;
	int last_write_err;
	uint64_t start_wall;
	char host[256];
};

/* serve_http.c: the handler of every request (http_handler_fn). */
void serve_handle(void *ctx, const struct http_request *req, bool again, struct http_response *res);

/* serve_budget.c */
/* Counts the bytes serve holds into m. */
void serve_budget_measure(struct serve *s, struct serve_memory *m);
/* Before a poll: measures (into s->mem) and, while the total is at
 * --max-memory, has the recorders refuse samples; the window's ring may
 * grow only into what is left. */
void serve_budget_apply(struct serve *s);
/* At a segment's end (after serve_budget_compact()): whether the closer
 * thread may take the closed segment's profile old. Not while it is still
 * busy with earlier ones and what serve holds with old would pass
 * --max-memory (a disk that stalls fsync would pile them up): then the
 * segment stays as written, cut short, without symbols; counted. */
bool serve_budget_close_whole(struct serve *s, const struct profile *old);
/* At a segment's start: the profile keeps only what the window's samples,
 * the recorders' address maps and the running threads still name (the
 * segments on disk have the rest), the recorders forget exited children
 * and threads, the window's ring and the build-id table shrink. Returns
 * the whole profile as it was, for the closer to finish. */
struct profile *serve_budget_compact(struct serve *s);

#endif
