/* profile.h - the profile model: what every collector fills and every view reads.
 *
 * A profile is pprof-shaped:
 *   value types  what each sample measures ("samples"/"count", "cpu"/"nanoseconds")
 *   samples      leaf stack node, thread, time, one value per value type
 *   stacks       a trie of locations; node 0 is the root (the empty stack),
 *                every other node has a parent and a location
 *   locations    one program counter in one mapping (deduplicated); after
 *                symbolization it expands into one or more frames: the
 *                inlined functions first, the real (outermost) function last
 *   frames       function, file, line
 *   threads, mappings, metadata (string key/value pairs)
 *
 * All strings are interned in p->strings and named by id; id 0 is "".
 * Ids index the vectors directly. Everything belongs to the profile and is
 * freed by profile_free().
 */
#ifndef KILN_PROFILE_PROFILE_H
#define KILN_PROFILE_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/hashmap.h"
#include "util/keymap.h"
#include "util/strtab.h"
#include "util/vec.h"

/* A heap profile has six value types (alloc_space, alloc_objects,
 * peak_space, leaked_space, leaked_objects, temporary_objects), kiln
 * cache's seven (instructions, five kinds of misses, calls). Files with
 * more than four need a reader of format 2, more than six of format 3
 * (docs/file-format.md). */
#define PROFILE_MAX_VALUES 8
#define PROFILE_NO_MAPPING UINT32_MAX

struct profile_value_type {
	uint32_t type; /* string id, e.g. "cpu", "samples", "alloc_space" */
	uint32_t unit; /* string id, e.g. "nanoseconds", "count", "bytes" */
};

struct profile_mapping {
	uint32_t pid;
	uint64_t start, end; /* address range in that process */
	uint64_t pgoff;      /* file offset mapped at start */
	uint32_t path;       /* string id: file path, "[vdso]", "[kernel.kallsyms]", ... */
	uint32_t build_id;   /* string id: lowercase hex build-id, 0 when unknown */
	uint64_t time;       /* when it was mapped (ns), 0 when it predates the recording */
};

/* A location's kind decides how it is symbolized and coloured. */
enum profile_location_kind {
	PROFILE_LOC_USER = 0,
	PROFILE_LOC_KERNEL = 1,
	PROFILE_LOC_TRUNCATED = 2, /* stands at the root of a stack cut short; its address says why */
};

/* Why a stack stops early: the address of its PROFILE_LOC_TRUNCATED root. */
enum profile_cut {
	PROFILE_CUT_DEPTH = 0,      /* "[truncated]": deeper than the stack copy (or depth limit) */
	PROFILE_CUT_NOT_COPIED = 1, /* "[stack not copied]": the kernel copied less than was there */
	PROFILE_CUT_EXEC = 2,       /* "[cut by exec]": taken inside execve, the old stack gone */
};

/* A module's name as frames show it: its path's last component, or the
 * whole path when that is empty (a path ending in '/'; "[vdso]" stays
 * itself). Points into path. */
const char *profile_module_name(const char *path);
/* Writes "module+0xOFF", the name of code no symbol names, to buf (size
 * bytes, cut to fit). Returns buf. */
char *profile_addr_name(char *buf, size_t size, const char *module, uint64_t off);

/* The frame name of a cut marker with this address ("[truncated]" for
 * addresses it does not know, as older files only have that one). */
const char *profile_cut_name(uint64_t address);

struct profile_location {
	uint64_t address;     /* absolute address in its process (or kernel) */
	uint32_t mapping;     /* mapping id, or PROFILE_NO_MAPPING */
	uint8_t kind;         /* enum profile_location_kind */
	uint32_t first_frame; /* index into frames */
	uint32_t nframes;     /* 0 until symbolized; then >= 1 */
	uint64_t vaddr;       /* the ELF virtual address in its module (what nm, objdump, addr2line take) */
	bool has_vaddr;       /* vaddr is known: set by symbolization when the module's file was read */
};

struct profile_frame {
	uint32_t function; /* string id: demangled name, or "module+0xoff" when unknown */
	uint32_t file;     /* string id: source file, 0 when unknown */
	uint32_t line;     /* 0 when unknown */
	uint32_t module;   /* string id: basename of the mapping's file */
	bool inlined;      /* true when this frame was inlined into the next one */
	uint32_t alias;    /* string id: an internal name of the same function (__GI___libc_malloc for
	                    * malloc), 0 when none; only on the real (outermost) frame */
};

struct profile_stack_node {
	uint32_t parent;   /* node id; the root (0) is its own parent */
	uint32_t location; /* location id; unused for the root */
	uint32_t depth;    /* number of locations from the root, root = 0 */
};

struct profile_sample {
	uint32_t stack; /* leaf node id (0 = empty stack) */
	uint32_t tid;
	uint32_t pid;
	uint32_t cpu;
	uint64_t time; /* ns, CLOCK_MONOTONIC */
	int64_t values[PROFILE_MAX_VALUES];
};

struct profile_thread {
	uint32_t tid, pid;
	uint32_t name;       /* string id: the last comm seen */
	uint64_t start, end; /* ns; 0 when unknown */
};

/* A time series along the run (heap size, RSS, ...): points in time order. */
struct profile_series_point {
	uint64_t time; /* ns after the start of the recording */
	int64_t value;
};

struct profile_series {
	uint32_t name; /* string id, e.g. "heap" */
	uint32_t unit; /* string id, e.g. "bytes" */
	VEC(struct profile_series_point) points;
};

struct profile_meta {
	uint32_t key, value; /* string ids */
};

struct profile {
	struct strtab strings;
	VEC(struct profile_value_type) value_types;
	VEC(struct profile_sample) samples;
	VEC(struct profile_stack_node) stacks;
	VEC(struct profile_location) locations;
	VEC(struct profile_frame) frames;
	VEC(struct profile_thread) threads;
	VEC(struct profile_mapping) mappings;
	VEC(struct profile_meta) meta;
	VEC(struct profile_series) series;

	/* indexes for deduplication */
	struct hashmap stack_index;   /* (parent, location) -> node */
	struct keymap location_index; /* (mapping, address, kind) -> location */
	struct hashmap thread_index;  /* tid -> thread id */
	/* stack nodes [1, stacks_indexed) are in stack_index; the rest (nodes a
	 * reader appended directly) are added by the next profile_stack_child(),
	 * so that views, which only read the trie, never pay for hashing it */
	size_t stacks_indexed;
};

struct profile *profile_new(void);
void profile_free(struct profile *p);
/* The bytes p holds on the heap (its arrays' capacity, its strings and
 * indexes): what a long-running caller counts against a memory budget. */
size_t profile_bytes(const struct profile *p);

/* Interns a string in the profile's table. */
uint32_t profile_intern(struct profile *p, const char *s);
const char *profile_str(const struct profile *p, uint32_t id);

/* Adds a value type; returns its index (at most PROFILE_MAX_VALUES). */
int profile_add_value_type(struct profile *p, const char *type, const char *unit);

/* Adds a mapping and returns its id. */
uint32_t profile_add_mapping(struct profile *p, const struct profile_mapping *m);

/* Returns the location id for (mapping, address, kind), adding it when new. */
uint32_t profile_location(struct profile *p, uint32_t mapping, uint64_t address, enum profile_location_kind kind);

/* Returns the node id of `location` called from `parent`, adding it when new. */
uint32_t profile_stack_child(struct profile *p, uint32_t parent, uint32_t location);
/* The same for a caller that knows (parent, location) is not in the trie
 * yet, e.g. while copying a trie whose nodes are distinct: no hashing now
 * (the node is indexed by the next profile_stack_child()). Adding a node
 * that exists would break the trie's uniqueness. */
uint32_t profile_stack_append(struct profile *p, uint32_t parent, uint32_t location);

/* Interns a whole stack given leaf first (as unwinders produce it):
 * locs[0] is the leaf, locs[n-1] the outermost caller. Returns the leaf node. */
uint32_t profile_stack_from_leaf(struct profile *p, const uint32_t *locs, uint32_t n);

/* Appends a sample; values beyond the profile's value types are ignored. */
void profile_add_sample(struct profile *p, const struct profile_sample *s);
/* Empties the samples (the rest of the profile stays): for a recorder that
 * has streamed them to a file and keeps only what grows with distinct
 * stacks. */
void profile_clear_samples(struct profile *p);
/* Empties the stack trie (the root stays) and the samples: for a
 * long-running recorder that has written its stacks out and must not
 * grow with every distinct stack it ever saw (kiln serve's cap). */
void profile_clear_stacks(struct profile *p);

/* Returns the thread record for tid, creating it when new. The pointer is
 * valid until the next call that adds a thread. */
struct profile_thread *profile_thread(struct profile *p, uint32_t tid, uint32_t pid);
/* Returns the thread record for tid, or NULL. */
const struct profile_thread *profile_find_thread(const struct profile *p, uint32_t tid);

/* Sets frames for a location (replacing any it had). frames[0] is the
 * innermost (most inlined) frame, frames[n-1] the real function. */
void profile_set_location_frames(struct profile *p, uint32_t location, const struct profile_frame *frames, uint32_t n);
/* String id in from (0: none) as an id of to's. */
uint32_t profile_copy_str(struct profile *to, const struct profile *from, uint32_t id);
/* Gives location to_loc of to the frames (names copied) and the vaddr of
 * location from_loc of another profile, from. */
void profile_copy_location_frames(struct profile *to, uint32_t to_loc, const struct profile *from, uint32_t from_loc);

/* Adds a time series and returns its index; profile_series_add() appends a
 * point (times must not go backwards). */
uint32_t profile_add_series(struct profile *p, const char *name, const char *unit);
void profile_series_add(struct profile *p, uint32_t series, uint64_t time, int64_t value);
/* The series named name, or NULL. */
const struct profile_series *profile_find_series(const struct profile *p, const char *name);

/* Metadata: string key/value pairs; set replaces an existing key. */
void profile_set_meta(struct profile *p, const char *key, const char *value);
void profile_set_meta_u64(struct profile *p, const char *key, uint64_t value);
const char *profile_get_meta(const struct profile *p, const char *key); /* NULL when absent */
uint64_t profile_get_meta_u64(const struct profile *p, const char *key, uint64_t dflt);

/* The frames of a stack, root first, each location expanded into its
 * frames (outermost function first, then what was inlined into it). A
 * location without frames yields one frame with function 0 (""); call
 * profile_name_unsymbolized() first so that none is left. Calls fn for each
 * frame; stops early when fn returns non-zero and returns that value. */
typedef int (*profile_frame_fn)(void *ctx, const struct profile_frame *f, uint32_t location);
int profile_walk_stack(const struct profile *p, uint32_t node, profile_frame_fn fn, void *ctx);
/* The same frames in an array, outermost first: *out is malloc'ed (NULL
 * when there are none) and the caller frees it. Returns how many. */
size_t profile_stack_frames(const struct profile *p, uint32_t node, struct profile_frame **out);

/* Gives every location that has no frames yet one frame named
 * "module+0xoffset" (or "0xaddress" without a mapping), so nothing is dropped. */
void profile_name_unsymbolized(struct profile *p);

/* Folds every inlined frame into the function it was inlined into: each
 * location keeps only its real (outermost) frame, at the line of the
 * call. The frames table keeps the rest, unreferenced (profile_inline.c). */
void profile_fold_inlined(struct profile *p);

/* Rebuilds the dedup indexes after the vectors were filled directly. The
 * stack index is rebuilt lazily, on the next profile_stack_child(). */
void profile_reindex(struct profile *p);

/* Makes room for at least this many records in all in each table (and
 * the location index), so that filling them does not reallocate; 0 leaves
 * a table as it is. Callers bound the counts by what they can hold: a
 * reader by the bytes left, never by a count a file states. */
void profile_reserve(struct profile *p, size_t stacks, size_t samples, size_t locations);
/* The same for the index of (parent, location) -> stack node, for a
 * caller about to add that many nodes in all through
 * profile_stack_child(): the index is not made for views, which never
 * look nodes up, so profile_reserve() leaves it. */
void profile_reserve_stack_index(struct profile *p, size_t stacks);

#endif
