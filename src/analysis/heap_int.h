/* heap_int.h - the inside of a heap analysis (analysis/heap.h), for the
 * analysis's own files and its unit tests only: everyone else reads it
 * through heap.h's functions. */
#ifndef KILN_ANALYSIS_HEAP_INT_H
#define KILN_ANALYSIS_HEAP_INT_H

#include "analysis/heap.h"
#include "util/hashmap.h"
#include "util/keymap.h"
#include "util/strbuf.h"
#include "util/vec.h"

typedef VEC(uint8_t) heap_byte_vec;

/* A site changed since the last point, and its live bytes before. */
struct heap_dirty {
	uint32_t site;
	int64_t before;
};

struct heap_live {
	uint64_t addr, size;
	uint32_t site;
	uint8_t cls;
};

/* A block freed lately, to tell a double free from a free of a block made
 * before tracking began. */
struct heap_freed {
	uint64_t addr;
	uint32_t site;
};

/* The blocks freed lately per process: a direct-mapped table, so that its
 * memory is bounded; a double free after this many other frees may be
 * counted as a free of an unknown block, never the other way round. */
#define HEAP_FREED_SLOTS 4096

/* An executable mapping of a process, its path at path_off in paths. */
struct heap_xmap {
	uint64_t start, end, pgoff;
	size_t path_off;
};

struct heap_proc {
	uint32_t pid, ppid;
	/* The agent's stack trie, node 0 the root: nnodes of them. The
	 * process copied as it runs keeps none here: its node k is the
	 * profile's stack node k (the profile was empty, and its nodes are
	 * appended in the agent's order), with the address loc_ips[location].
	 * The others keep each node's address and parent, [0] unused. */
	uint32_t nnodes;
	VEC(uint64_t) node_ips;
	VEC(uint32_t) node_parents;
	VEC(uint32_t) stack_sites; /* agent stack node -> site, UINT32_MAX when none */
	struct heap_live *live;    /* open addressing on addr, addr 0 = empty */
	struct heap_freed *freed;  /* HEAP_FREED_SLOTS, made at the first free */
	uint64_t live_cap, live_n;
	uint64_t last_alloc;
	/* Its executable file mappings, each distinct one once, in the order
	 * the copies of its maps brought them (a later copy's win where
	 * ranges were reused); their paths, NUL-separated, in paths; seen
	 * finds a mapping already kept. */
	VEC(struct heap_xmap) xmaps;
	struct strbuf paths;
	struct keymap seen;
	/* for on_address: the code addresses told already */
	struct hashmap told;
	bool exec, exited, scanned;
	bool freeres; /* libc is freeing its caches at exit */
	/* The first process's trie goes into the profile as its nodes arrive,
	 * so heap_finish() has no copy to make. Its locations are made then,
	 * once the maps are complete, in the order of loc_ips: a node's
	 * location is the index of its address in it (told maps it there). */
	bool live_copy;
	uint32_t loc_unknown; /* the location of address UINT64_MAX, +1; 0 = none yet */
	VEC(uint64_t) loc_ips;
};

struct heap_analysis {
	struct profile *p;
	VEC(struct heap_site) sites;
	VEC(struct heap_proc) procs;
	/* one per process image (ring), in the order kiln met them; for a
	 * profile read from a file, as heap_finish() stored them */
	VEC(struct heap_process) processes;
	uint32_t npids; /* after heap_group(): distinct pids among them */
	VEC(struct heap_point) series;
	/* The sites' changes by point (struct heap_delta), in point order,
	 * packed: per delta, varints of the point's advance, the site and the
	 * bytes (zigzag), about 5 bytes rather than 16, for the millions a
	 * run with as many distinct stacks makes. Read with heap_delta_next(). */
	heap_byte_vec deltas;
	size_t ndeltas;
	uint32_t deltas_point; /* the last one's point */
	VEC(struct heap_dirty) dirty;
	VEC(struct heap_leaks) leaks; /* [0] stays all zero: the sites without leaks */
	VEC(struct heap_double_free) double_frees;
	struct heap_totals tot;
	int64_t heap_now;
	uint32_t peak_gen; /* counts new peaks (heap_site.snap_gen) */
	uint64_t last_t;
	uint64_t series_step, series_events; /* a new point after this many ns or events */
	bool live_copy_taken;                /* a process is copied as it runs */
	uint64_t other_sites;                /* sites of the processes that are not */
	/* after heap_finish(): one site per profile stack node; the very
	 * vector of sites when they already are (merged_is_sites) */
	VEC(struct heap_site) merged;
	bool merged_is_sites;
	/* after heap_group(): one site per allocating line of code */
	VEC(struct heap_site) groups;
	/* Optional: told each distinct code address of a stack as it first
	 * arrives, as an offset in a mapped file, so the caller can start
	 * naming addresses while the program runs. */
	void (*on_address)(void *ctx, const char *path, uint64_t file_offset);
	void *on_address_ctx;
	const struct alloc_rule *rule; /* names sites; NULL: the default table */
};

/* The totals in a profile's metadata (heap_*, duration_ns; the table in
 * heap_process.c), and back: a field a file lacks reads as 0. */
void heap_totals_meta(struct profile *p, const struct heap_totals *t);
void heap_totals_from_meta(const struct profile *p, struct heap_totals *t);

#endif
