/* heap.h - turns the agent's allocation events into heap findings: totals,
 * peak and when, temporary allocations (heaptrack's definition), leaks at
 * exit with memcheck's reachability classes, heap size over time, and per
 * call site values for the profile (alloc_space, alloc_objects, peak_space,
 * leaked_space).
 *
 * Feed it decoded events in each process's order (heap_on_*: no wire
 * format here; capture/agent_decode.h decodes the agent's records), then
 * call heap_finish() once (or heap_finish_sites() and heap_samples_add()
 * batches): it builds stacks, samples and mappings in the profile it was
 * given. Everything here belongs to the heap_analysis and is freed by
 * heap_free(); the profile stays the caller's. The analysis is opaque
 * outside analysis/ (analysis/heap_int.h is its inside).
 */
#ifndef KILN_ANALYSIS_HEAP_H
#define KILN_ANALYSIS_HEAP_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis/alloc_site.h"
#include "profile/profile.h"
#include "util/strbuf.h"
#include "util/vec.h"

/* Where a block not freed at exit stands, memcheck's leak kinds, as the
 * leak scan classes it (the values the agent's class bytes carry). */
enum heap_leak_class {
	HEAP_LEAK_UNKNOWN = 0, /* not scanned */
	HEAP_LEAK_REACHABLE = 1,
	HEAP_LEAK_POSSIBLE = 2,
	HEAP_LEAK_INDIRECT = 3,
	HEAP_LEAK_DEFINITE = 4,
};
#define HEAP_LEAK_CLASSES 5

/* A live block, as the leak scan is given them. */
struct heap_block {
	uint64_t addr, size;
};

/* An executable file mapping of a process; path valid during the call. */
struct heap_mapping {
	uint64_t start, end, pgoff;
	const char *path;
};

/* Value types a heap profile carries, in this order. */
#define HEAP_VALUE_ALLOC_SPACE    0
#define HEAP_VALUE_ALLOC_OBJECTS  1
#define HEAP_VALUE_PEAK_SPACE     2
#define HEAP_VALUE_LEAKED_SPACE   3
#define HEAP_VALUE_LEAKED_OBJECTS 4
#define HEAP_VALUE_TEMPORARY      5
#define HEAP_NVALUES              6

/* A heap profile's samples: one per call site (and process), and one more
 * per further leak class of its blocks not freed at exit. A sample's cpu
 * field holds the leak class (enum heap_leak_class) of its leaked_space and
 * leaked_objects; the other values are on the site's first sample only,
 * so every view that adds up samples sees the site's totals. */

/* Where a site's blocks not freed at exit stand, by enum heap_leak_class.
 * Kept apart from the sites: few sites leak, and a run with a million
 * distinct stacks should not carry eighty idle bytes in each. */
struct heap_leaks {
	uint64_t bytes[HEAP_LEAK_CLASSES], blocks[HEAP_LEAK_CLASSES];
};

/* One call site: a stack in one process image, or (after heap_finish) the
 * merge of all with the same profile stack node, or (after heap_group) a
 * group of those. A run with a million distinct stacks has a million
 * sites: 64 bytes each. The fields an allocation or a free touches come
 * first, in one cache line. */
struct heap_site {
	uint64_t alloc_bytes, allocs, temporary;
	int64_t live_bytes;
	uint64_t peak_bytes; /* live at the moment of the peak */
	/* the peak (heap_analysis.peak_gen) peak_bytes belongs to; a site
	 * untouched across exactly 2^32 new peaks would keep a stale one */
	uint32_t snap_gen;
	uint32_t proc : 30;
	uint32_t dirty : 1;
	uint32_t runtime : 1; /* groups: no frame of the user's code */
	uint32_t node;        /* profile stack node, set by heap_finish() */
	uint32_t leaks;       /* its entry in heap_analysis.leaks; 0 = none (nothing leaked) */
	union {
		uint32_t agent_node; /* raw and merged sites: the agent's stack-trie node in that process */
		uint32_t nstacks;    /* groups: how many distinct stacks */
	};
	/* Raw sites (when not the merged ones): their entry in merged.
	 * Merged sites: their entry in groups, after heap_group(). Groups:
	 * the merged site whose stack they show. heap_site_view() follows it. */
	uint32_t link;
};
_Static_assert(sizeof(struct heap_site) == 64, "a site grew: a million of them are 64 MB");

/* Which way the agents saw the heap (agent_rustshim.c): the path of the
 * process that tells the most (a refusal or a missing shim over a
 * diverted shim over malloc), the global allocator, and start_rss_kb,
 * the first process's peak RSS when its agent started. */
enum heap_alloc_path {
	HEAP_PATH_LIBC = 0,    /* the malloc family (not Rust, or Rust on System) */
	HEAP_PATH_SHIM = 1,    /* the Rust allocator shim and the allocator's methods diverted */
	HEAP_PATH_MISSING = 2, /* a Rust program without a symbol table */
	HEAP_PATH_REFUSED = 3, /* the shim found, not diverted (reason) */
};
enum heap_global_alloc {
	HEAP_GA_NONE,
	HEAP_GA_SYSTEM,
	HEAP_GA_JEMALLOC,
	HEAP_GA_MIMALLOC,
	HEAP_GA_CUSTOM,
	HEAP_GA_UNKNOWN
};
struct heap_allocator {
	uint32_t known;                     /* 0: no agent said (an older file) */
	uint32_t path, global;              /* enum heap_alloc_path, enum heap_global_alloc */
	uint32_t shim, methods, candidates; /* candidates: methods in the symbol table */
	int32_t reason;
	uint64_t start_rss_kb;
};

/* Counted-only processes named by pid (the agent's pool names as many). */
#define HEAP_COUNTED_PIDS 32

struct heap_totals {
	uint64_t allocs, frees, alloc_bytes, temporary, reallocs;
	uint64_t peak_bytes, peak_time; /* peak_time: ns after start */
	uint64_t peak_event, events;    /* allocation events before the peak, in all */
	uint64_t max_rss_kb;
	uint64_t leaked_bytes, leaked_blocks;
	uint64_t class_bytes[HEAP_LEAK_CLASSES], class_blocks[HEAP_LEAK_CLASSES];
	uint64_t unknown_frees;               /* frees of blocks allocated before tracing (e.g. across fork) */
	uint64_t double_frees;                /* frees of a block already freed and not allocated again */
	uint64_t exec_bytes, exec_blocks;     /* live when the process exec'd: gone, not leaked */
	uint32_t processes, scanned, unclean; /* unclean: ended without the agent's exit (killed, _exit) */
	uint64_t start_ns, end_ns;
	uint64_t untracked; /* calls the agents saw and could not record (heap_on_exit()) */
	/* fork children of a sandboxed host that found no spare ring: counted,
	 * not recorded (heap_on_counted()); the first pids by name */
	uint32_t counted_processes, counted_npids;
	uint64_t counted_allocs, counted_frees, counted_bytes;
	uint32_t counted_pids[HEAP_COUNTED_PIDS];
	struct heap_allocator alloc_path; /* heap_on_allocator() */
};

/* One process image, a process or its image before an exec, with its own
 * totals: the summary's per-process table and the JSON's "per_process".
 * Its heap and peak are its own, whatever the other processes hold. */
struct heap_process {
	uint32_t pid, ppid;
	char *command; /* the executable's path from its maps ("" when unknown); owned */
	uint64_t allocs, frees, alloc_bytes, temporary;
	uint64_t peak_bytes; /* its largest heap */
	int64_t heap_now;    /* while it runs */
	uint64_t leaked_bytes, leaked_blocks;
	uint64_t class_bytes[HEAP_LEAK_CLASSES], class_blocks[HEAP_LEAK_CLASSES]; /* by enum heap_leak_class */
	bool exec;    /* replaced by exec: its blocks were released, not leaked */
	bool scanned; /* its leak scan ran */
};

/* The heap series holds at most this many points: when full, neighbouring
 * points merge (keeping the larger heap) and points come half as often. */
#define HEAP_SERIES_MAX 4096

struct heap_point {
	uint64_t t;     /* ns after start */
	uint64_t ev;    /* allocation events (allocations and frees) before it */
	uint64_t bytes; /* heap size then */
};

struct heap_delta {
	uint32_t point; /* by this point... */
	uint32_t site;  /* ...this site's live bytes changed by */
	int64_t bytes;
};

/* Where heap_delta_next() is in the deltas; start from {0}. */
struct heap_delta_cursor {
	size_t at;
	uint32_t point;
};

/* Double frees of one allocation site. The agent's free records carry no
 * stack: the site is the freed block's allocation. */
struct heap_double_free {
	uint32_t site; /* raw site (h->sites) */
	uint32_t pid;
	uint64_t addr; /* the first one's address */
	uint64_t count;
};

/* Double frees listed by site; the others are only counted. */
#define HEAP_DOUBLE_FREE_SITES 64

/* Opaque outside analysis/ (its inside: analysis/heap_int.h). */
struct heap_analysis;

struct heap_analysis *heap_new(struct profile *p);
void heap_free(struct heap_analysis *h);

/* ---- what a finished analysis holds, for the command and the views ---- */

struct profile *heap_analysis_profile(const struct heap_analysis *h);
/* The rule naming sites (heap_set_alloc_rule()); NULL: the default table. */
const struct alloc_rule *heap_alloc_rule(const struct heap_analysis *h);
const struct heap_totals *heap_get_totals(const struct heap_analysis *h);
/* Raises the peak RSS the totals show (kiln's own view of its children). */
void heap_note_max_rss(struct heap_analysis *h, uint64_t max_rss_kb);
/* True when some process sent a stack (the agent could unwind). */
bool heap_has_stacks(const struct heap_analysis *h);
/* The process images, in the order kiln met them; *n their count (n may
 * be NULL). */
const struct heap_process *heap_processes(const struct heap_analysis *h, size_t *n);
/* Distinct pids among them, after heap_group(). */
uint32_t heap_npids(const struct heap_analysis *h);
/* The sites of the run, one per stack and process image ("raw" sites:
 * what a double free or a delta names); none for a profile read from a
 * file. */
size_t heap_raw_site_count(const struct heap_analysis *h);
const struct heap_site *heap_raw_site(const struct heap_analysis *h, uint32_t i);
/* One site per profile stack, after heap_finish(). */
size_t heap_merged_count(const struct heap_analysis *h);
/* The heap size over time (at most HEAP_SERIES_MAX points). */
const struct heap_point *heap_series(const struct heap_analysis *h, size_t *n);
/* Double frees by site (at most HEAP_DOUBLE_FREE_SITES of them). */
const struct heap_double_free *heap_double_frees(const struct heap_analysis *h, size_t *n);
/* Told each distinct code address of a stack as it first arrives, as an
 * offset in a mapped file, so the caller can start naming addresses
 * while the program runs. Set before the first event. */
void heap_set_address_hook(struct heap_analysis *h, void (*fn)(void *ctx, const char *path, uint64_t file_offset),
                           void *ctx);

/* True for a profile `kiln heap` wrote (or a snapshot of one). */
bool heap_profile_is(const struct profile *p);
/* What a heap profile keeps, as an analysis for the summary: its merged
 * sites (one per stack, in sample order), their leaks by class and the
 * totals; no processes, series or raw sites (heap_load.c). Call
 * heap_group() and render it as a finished analysis. NULL when p is not a
 * heap profile. p stays the caller's and must outlive the analysis. */
struct heap_analysis *heap_from_profile(struct profile *p);

/* ---- events, decoded (capture/agent_decode.h makes them from the
 * agent's records; cmd/heap.c hands them on). A ring is one process
 * image, numbered from 0; its events come in the order it wrote them.
 * Times are ns, CLOCK_MONOTONIC. ---- */

/* A new process image: its pid, its parent's, and when its ring began. */
void heap_on_process(struct heap_analysis *h, uint32_t ring, uint32_t pid, uint32_t ppid, uint64_t start_ns);
/* New stack-trie nodes: node first has parent `parent` and address
 * frames[0], node first+1 has parent first and address frames[1], and so
 * on (n of them, outermost first); node 0 is the root. Nodes out of order
 * are ignored. */
void heap_on_stack(struct heap_analysis *h, uint32_t ring, uint32_t first, uint32_t parent, const uint64_t *frames,
                   uint32_t n);
/* A block allocated at the stack whose leaf is trie node `stack` (0: none). */
void heap_on_alloc(struct heap_analysis *h, uint32_t ring, uint64_t time, uint64_t addr, uint64_t size, uint32_t stack);
void heap_on_free(struct heap_analysis *h, uint32_t ring, uint64_t time, uint64_t addr);
/* As heaptrack counts it: old_addr freed, addr allocated. */
void heap_on_realloc(struct heap_analysis *h, uint32_t ring, uint64_t time, uint64_t old_addr, uint64_t addr,
                     uint64_t size, uint32_t stack);
/* A complete copy of the process's executable file mappings; every copy
 * is kept (libraries mapped later are in later copies). */
void heap_on_mappings(struct heap_analysis *h, uint32_t ring, const struct heap_mapping *m, size_t n);
/* The process is about to exec: what it holds then is released, not leaked. */
void heap_on_exec(struct heap_analysis *h, uint32_t ring);
/* At exit libc frees its caches next: blocks the loader made before the
 * agent among them, whose frees are not counted as frees of unknown blocks. */
void heap_on_freeres(struct heap_analysis *h, uint32_t ring);
/* The process reached exit (last: its final event) with this peak RSS;
 * on its final event, untracked: the calls its agent saw and could not
 * record. */
void heap_on_exit(struct heap_analysis *h, uint32_t ring, uint64_t time, uint64_t max_rss_kb, bool last,
                  uint64_t untracked);
/* How the process's agent sees its heap (its KH_REC_ALLOCATOR). */
void heap_on_allocator(struct heap_analysis *h, uint32_t ring, const struct heap_allocator *a);
/* The global allocator's name ("jemalloc", "custom", ...), or NULL. */
const char *heap_global_alloc_name(uint32_t global);
/* Whether the heap grew far more than the allocations seen explain (a
 * custom allocator on mmap or brk the agent does not see): the growth in
 * KiB of the peak RSS over its value at the start when so, else 0. */
uint64_t heap_unseen_growth_kb(const struct heap_analysis *h);
/* Processes that only counted (fork children of a sandboxed host that
 * found no spare ring): how many, their allocations, frees and bytes, and
 * the first of their pids (at most HEAP_COUNTED_PIDS kept). Adds to what
 * an earlier call told. */
void heap_on_counted(struct heap_analysis *h, uint32_t processes, uint64_t allocs, uint64_t frees, uint64_t bytes,
                     const uint32_t *pids, uint32_t npids);
/* Live blocks of a ring sorted by address, in a malloc'ed array. */
int heap_live_blocks(struct heap_analysis *h, uint32_t ring, struct heap_block **out, uint64_t *n);
/* The leak scan's answer: cls[i] (enum heap_leak_class) for b[i]. */
void heap_on_classes(struct heap_analysis *h, uint32_t ring, const struct heap_block *b, const uint8_t *cls,
                     uint64_t n);
void heap_on_ring_end(struct heap_analysis *h, uint32_t ring, bool clean);

/* Builds stacks, mappings and samples in the profile and the merged sites;
 * stores the totals in the profile's metadata. Call once, after the last
 * record. Symbolize the profile afterwards. */
void heap_finish(struct heap_analysis *h);
/* heap_finish() but for the samples: then heap_samples_add() makes them
 * a batch at a time, so that a writer streams them to the file
 * (kiln_writer_stream()) without the whole set ever in memory beside the
 * sites: 72 bytes a site, tens of megabytes after a million stacks. */
void heap_finish_sites(struct heap_analysis *h);
/* Appends to the profile the samples of the next (at most) max sites
 * from *at (start at 0), and moves *at past them; false when no site was
 * left. Reads the sites only: it may run on another thread while the
 * views (heap_group() done) are rendered. */
bool heap_samples_add(struct heap_analysis *h, size_t *at, size_t max);
/* Builds in out (a new profile with the heap value types) what the run
 * shows so far, leaving h as it is: stacks, mappings and samples, with
 * the blocks still live counted as leaked_space, the totals and the heap
 * series. For a file that survives kiln being killed. Symbolize nothing:
 * a reader names the addresses from the binaries. flush (if not NULL) is
 * called whenever out holds batch samples, to write them and take them
 * out (kiln_writer_stream()): a snapshot of a million sites need not hold
 * their samples at once. Returns 0 or flush's first error (the samples
 * go on into out then). */
int heap_snapshot(const struct heap_analysis *h, struct profile *out, size_t batch,
                  int (*flush)(void *ctx, struct profile *out), void *ctx);

/* The next of the sites' changes by point, in point order (heap_finish()
 * made the last); false after the last. */
bool heap_delta_next(const struct heap_analysis *h, struct heap_delta_cursor *c, struct heap_delta *out);

/* Stores the heap size over time in the profile as series "heap" (bytes),
 * so the .kiln file keeps it for later views. */
void heap_save_series(struct heap_analysis *h);

/* The rule that names allocation sites (analysis/alloc_site.h), kept by
 * reference: it must outlive h. NULL (the default) is the default table. */
void heap_set_alloc_rule(struct heap_analysis *h, const struct alloc_rule *rule);

/* The frame that names a stack's allocation site (alloc_rule_site()):
 * the first one, leaf first, the rule does not skip; failing that
 * (*runtime set) the first past the allocator itself. Needs a symbolized
 * profile. Returns false for an empty stack. */
bool heap_site_frame(const struct profile *p, const struct alloc_rule *rule, uint32_t node, struct profile_frame *out,
                     bool *runtime);

/* Groups the merged sites by their site frame (function, file, line,
 * module) and process (pid): the lists a user reads. Call after the
 * profile is symbolized. Each group's node is the stack of its largest
 * member; its proc is the entry of processes it ran in (of the images of
 * its pid, the one whose executable is the site's module, else the last). */
void heap_group(struct heap_analysis *h);

/* The sites the lists rank: the groups once heap_group() ran, else merged. */
const struct heap_site *heap_sites(const struct heap_analysis *h, size_t *n);

/* Ranks heap_sites() by a key, largest first; writes the indexes of the
 * non-zero ones (at most max) to out and returns how many. */
enum heap_rank { HEAP_BY_PEAK, HEAP_BY_LEAKED, HEAP_BY_ALLOCS, HEAP_BY_TEMPORARY, HEAP_BY_DEFINITE };
uint32_t heap_top_sites(const struct heap_analysis *h, enum heap_rank by, uint32_t *out, uint32_t max);

/* A site's blocks not freed at exit, by class (all zero when none). */
const struct heap_leaks *heap_site_leaks(const struct heap_analysis *h, const struct heap_site *s);
/* A site's blocks not freed at exit, all classes: bytes and blocks. */
uint64_t heap_site_leaked_bytes(const struct heap_analysis *h, const struct heap_site *s);
uint64_t heap_site_leaked_blocks(const struct heap_analysis *h, const struct heap_site *s);
/* The entry of heap_sites() that raw site i (of sites, e.g. a double
 * free's) counts in: its group once heap_group() ran, else its merged site. */
uint32_t heap_site_view(const struct heap_analysis *h, uint32_t i);

/* Allocations of the program's own code: after heap_group(), those of the
 * sites not labelled [runtime]; before, all. None, in a program that ran,
 * hints that it has an allocator of its own (mmap, a Rust
 * #[global_allocator]) that the agent does not see. */
uint64_t heap_program_allocs(const struct heap_analysis *h);

/* The process (an entry of processes) of a site of heap_sites(), or NULL. */
const struct heap_process *heap_site_process(const struct heap_analysis *h, const struct heap_site *s);

/* ---- the per-process table (heap_process.c) ---- */

/* Stores the process table in p's metadata (heap_process_N, N from 0). */
void heap_processes_meta(struct profile *p, const struct heap_process *v, size_t n);
/* Reads the table heap_processes_meta() stored into h->processes; false
 * when p has none (a file from before the table). */
bool heap_processes_from_meta(struct heap_analysis *h);
/* Releases the table's strings and empties it. */
void heap_processes_clear(struct heap_analysis *h);
/* The entry a site of pid with its site frame in module belongs to:
 * of the images of pid, the one whose executable's basename is module,
 * else the last; UINT32_MAX when pid has none. */
uint32_t heap_process_find(const struct heap_analysis *h, uint32_t pid, const char *module);

/* The class names memcheck prints: "definitely lost", ... */
const char *heap_class_name(int cls);

#endif
