/* serve.h - kiln serve's state, shared by its two files: serve.c (options,
 * the recorders, segments and the main loop) and serve_http.c (what each
 * URL answers). */
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
	uint64_t dropped;  /* refused by back-pressure or the stack cap */
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
	struct serve_closer closer;   /* finishes closed segments off the loop */
	struct http_server *http;
	uint64_t stack_cap_dropped; /* samples whose stack was past the cap */
	uint64_t trie_resets;
	/* what each segment's compaction dropped of the profile's tables, and
	 * the address maps of followed children that exited */
	struct profile_compact_stats compact_dropped;
	uint64_t compactions, maps_forgotten;
	uint64_t write_errors;
	int last_write_err;
	uint64_t start_wall;
	char host[256];
};

/* serve_http.c: the handler of every request (http_handler_fn). */
void serve_handle(void *ctx, const struct http_request *req, bool again, struct http_response *res);

#endif
