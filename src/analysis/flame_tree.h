/* flame_tree.h - the merged call tree a flame graph draws.
 *
 * A profile's stacks are merged by function name into one tree: node 0 is
 * the root (all samples), every other node is one frame in one calling
 * context. Options turn it into the other views: reversed (leaves at the
 * root, callers above), filtered (--focus, --exclude, one thread), per
 * thread (thread names as the first frame), a flame chart (per thread,
 * samples in time order, only adjacent identical frames merged) and a
 * differential tree (each node also knows its value in a base profile).
 *
 * The tree has its own string table, so trees of different profiles can be
 * compared and the profile may be freed once the tree is built.
 */
#ifndef KILN_ANALYSIS_FLAME_TREE_H
#define KILN_ANALYSIS_FLAME_TREE_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/hashmap.h"
#include "util/keymap.h"
#include "util/strbuf.h"
#include "util/strtab.h"
#include "util/vec.h"

#define FLAME_NONE UINT32_MAX

/* Where a frame's code comes from; decides its colour in the lang palette. */
enum flame_origin {
	FLAME_ORIGIN_UNKNOWN = 0,
	FLAME_ORIGIN_RUST = 1,     /* Rust code of the program itself (its workspace or binary crate) */
	FLAME_ORIGIN_RUST_STD = 2, /* Rust std, core, alloc and the runtime */
	FLAME_ORIGIN_C = 3,        /* C */
	FLAME_ORIGIN_KERNEL = 4,
	FLAME_ORIGIN_THREAD = 5,   /* a thread pseudo-frame (--threads, flame charts) */
	FLAME_ORIGIN_RUST_DEP = 6, /* Rust crates the program depends on (cargo's registry, git) */
	FLAME_ORIGIN_CPP = 7,      /* C++ */
	FLAME_ORIGIN_GO = 8,
	FLAME_ORIGIN_JAVA = 9, /* Java and other JVM languages */
	FLAME_ORIGIN_PYTHON = 10,
	FLAME_ORIGIN_SCOPED = 11, /* "a::b" that could be Rust or C++; flame_tree_finish() decides
	                           * from the rest of the tree, and leaves none */
};

/* A node is 40 bytes: trees of folded stacks reach tens of millions of
 * them. What only some trees have (source places, base values) is kept
 * beside the nodes, read through flame_tree_src() and flame_tree_base(). */
struct flame_node {
	uint32_t name;                      /* string id in tree->strings */
	uint32_t parent;                    /* the root is its own parent */
	uint32_t depth;                     /* root = 0 */
	uint32_t first_child, next_sibling; /* FLAME_NONE ends */
	uint8_t origin;                     /* enum flame_origin */
	uint8_t inlined;                    /* the first frame seen here was inlined */
	uint8_t packed;                     /* its callees are packed (see flame_tree_open()):
	                                     * first_child is then their offset in t->packed */
	uint8_t undecided;                  /* folded trees: origin not decided yet (flame_tree_origin()) */
	int64_t value;                      /* this node and everything it calls */
	int64_t self;                       /* samples whose leaf is this node */
};
_Static_assert(sizeof(struct flame_node) <= 40, "flame nodes grew past 40 bytes");

/* Where a node's code is; all 0 when unknown. */
struct flame_src {
	uint32_t module; /* string id */
	uint32_t file;   /* string id */
	uint32_t line;   /* first line seen */
};

/* When a flame chart's node ran: [start, end) in the profile's clock (ns). */
struct flame_span {
	uint64_t start, end;
};

/* A node flame_tree_open() opened, as flame_tree_close_opens() needs it. */
struct flame_opened {
	uint32_t node, callees;
};

struct flame_tree {
	struct strtab strings;
	VEC(struct flame_node) nodes; /* 0 is the root */
	VEC(struct flame_src) srcs;   /* per node; empty while no node has a place (folded input) */
	VEC(int64_t) bases;           /* differential trees: per node, the value of its path in the base */
	struct keymap index;          /* (parent, name) -> node; unused for charts */
	int64_t base_total;           /* differential trees: the base's root value */
	bool chart;                   /* children in time order, adjacent merge only */
	bool no_index;                /* built without filling index (names were unique per location) */
	bool has_base;
	uint32_t value_type, value_unit; /* string ids, e.g. "samples" / "count" */
	/* flame charts of samples with times: per node, when it ran (a sample
	 * covers the period before its time; a thread's run of a frame ends
	 * where it stopped being sampled, so the gaps are when it did not
	 * run); empty otherwise */
	VEC(struct flame_span) spans;
	uint64_t period; /* the sampling period they assume (ns): the median gap between a thread's samples */
	/* folded trees: the subtrees packed while building, opened on demand */
	VEC(uint8_t) packed; /* their records */
	uint64_t npacked;    /* nodes in packs not opened */
	/* while a renderer may take opens back (flame_tree_mark_opens()):
	 * each node opened, and where its callees are in packed */
	VEC(struct flame_opened) opened;
	bool log_opens;
	/* folded trees: origins are decided per name when first asked for */
	VEC(uint8_t) name_origin;    /* per string id: its origin, 0xff while not decided */
	struct flame_census *census; /* what decides them, counted over every name */
};

struct flame_options {
	int value;              /* index of the profile value type to use */
	bool reverse;           /* leaves first: callers of hot functions merged */
	bool threads;           /* thread names as the outermost frame */
	bool chart;             /* flame chart: per thread, time order (implies threads) */
	const char *thread;     /* only samples of threads with this name (or tid), NULL for all */
	const regex_t *focus;   /* keep only stacks with a frame matching this */
	const regex_t *exclude; /* drop stacks with a frame matching this */
};

/* The module, file and line of node (all 0 when unknown). */
static inline struct flame_src flame_tree_src(const struct flame_tree *t, uint32_t node)
{
	return node < t->srcs.n ? t->srcs.v[node] : (struct flame_src){0, 0, 0};
}

/* Differential trees: the value of node's path in the base (0 when none). */
static inline int64_t flame_tree_base(const struct flame_tree *t, uint32_t node)
{
	return node < t->bases.n ? t->bases.v[node] : 0;
}

void flame_tree_init(struct flame_tree *t);
void flame_tree_release(struct flame_tree *t);

/* Builds t (freshly initialised) from p's samples. Returns 0, -EINVAL when
 * o->value is not one of p's value types, or -EOVERFLOW when the positive
 * values add up to more than INT64_MAX (nothing is built). t->nodes.v[0].value is the total
 * kept after filtering. Children are sorted by name unless o->chart. */
int flame_tree_build(struct flame_tree *t, const struct profile *p, const struct flame_options *o);

/* Sums every node's value from the self values below it, then links
 * (and, unless a chart, sorts by name) the children; idempotent. */
void flame_tree_finish(struct flame_tree *t);

/* What decides the origins of a folded file's "a::b" names and Rust
 * names without a source file (see flame_tree_resolve_origins()), counted
 * over its distinct names in the order first met: flame_census_add()
 * guesses a name only when it could change the outcome (in a Rust
 * program, only a C++ mark or a "crate::main" can), so most names are
 * never guessed, and the others only once asked for (flame_tree_origin()). */
#define FLAME_CENSUS_MAINS 8
struct flame_census {
	bool rust, cpp, scoped, rust_nofile;
	size_t nmains;
	char *mains[FLAME_CENSUS_MAINS]; /* the crates whose main() ran, first met first (owned) */
	size_t main_len[FLAME_CENSUS_MAINS];
};

/* Counts the name (len bytes, no NUL byte) of a folded frame. */
void flame_census_add(struct flame_census *c, const char *name, size_t len);
/* The origin of a folded frame named name whose own guess
 * (flame_origin_guess(name, NULL, NULL, false)) is guess, once every name
 * is counted: what flame_tree_resolve_origins() would decide. */
uint8_t flame_census_origin(const struct flame_census *c, const char *name, uint8_t guess);
void flame_census_release(struct flame_census *c);
/* The byte scans flame_census_add() trusts: false only when
 * flame_origin_guess(name, NULL, NULL, false) cannot say C++ (resp. Rust,
 * Rust std or a dependency). */
bool flame_name_may_be_cpp(const char *name, size_t len);
bool flame_name_may_be_rust(const char *name, size_t len);

/* Builds a plain tree (default options) straight from folded stack lines,
 * without a profile in between: the same tree flame_tree_build() makes of
 * the profile folded_read_*() would give for them. Names are interned once
 * in a map of their own; a node's children are found on its list, or in a
 * map keyed by (parent, name) once it has many; a line reuses the nodes of
 * the frames it shares with the previous line, so sorted input (the usual
 * case) costs one lookup per new frame. */
struct flame_folded_prev {
	uint32_t node;         /* a frame of the previous stack: its node */
	uint64_t total_before; /* the builder's total when it came on the stack: the lines
	                        * added since went through it */
	uint64_t byte_mark;    /* t->packed's length when it came on the stack: the
	                        * bytes packed since are its subtree's (sorted input) */
	bool made;             /* the node was made then, not found: only such are packed */
};

struct flame_folded_frame {
	uint32_t start, end; /* of the name in the line */
	uint64_t hash;       /* of the name */
};

/* A name for the census, stored for good. */
struct flame_folded_census {
	const char *name;
	size_t len;
};

struct pack_info;
struct flame_folded_pipe;

/* Two halves, which may run on two threads (flame_folded_threads()): the
 * names' (splitting a line into frames, interning their names: the map of
 * names, the census, the strings) and the nodes' (finding or making each
 * frame's node, packing: the tree's nodes), each on cache lines of its
 * own. The names' half hands the nodes' the string ids of a line's new
 * frames, in input order, so the tree is the same either way. */
struct flame_folded {
	/* both halves read these, set before the first line: a cache line
	 * neither half writes to while the lines go by (sharing one with the
	 * names' map cost the nodes' half a miss on every frame) */
	struct flame_tree *t;
	uint32_t preset;                /* strings the tree had before the first line */
	int threads;                    /* flame_folded_threads()'s */
	struct flame_folded_pipe *pipe; /* the nodes' half's thread, once started */
	/* the names' half, run by the caller of flame_folded_add() */
	_Alignas(64) struct keymap names; /* name -> its entry in name_blocks */
	VEC(uint64_t *)
	name_blocks;                                 /* entries: (length << 32 | string id), the bytes;
	                                              * the tree's strings, which own the blocks */
	size_t block_used;                           /* words used in the last block */
	VEC(uint32_t) block_ends;                    /* words used in each block before it */
	uint32_t next_sid;                           /* the string id of the next new name */
	bool listed;                                 /* the names are in the string table (see folded_list_names()) */
	VEC(uint32_t) ends;                          /* where the previous line's frames end in it */
	VEC(struct flame_folded_frame) todo;         /* the new frames of the line being added */
	VEC(uint32_t) line_names;                    /* their string ids */
	VEC(struct flame_folded_census) line_census; /* with two threads: the line's names new to the census */
	struct strbuf prev_stack;                    /* the previous line's stack */
	/* the nodes' half */
	_Alignas(64) struct keymap kids;    /* (parent, name) -> node, for children of wide nodes */
	VEC(struct flame_folded_prev) prev; /* the previous line's frames */
	uint32_t next_fresh;                /* the string id a name new to the tree comes with next */
	struct flame_census census;         /* of every name, in the order first met (with one
	                                     * thread, counted by the names' half) */
	double narrow;                      /* flame_folded_narrow()'s fraction; 0: pack nothing */
	uint64_t total;                     /* of the lines added so far (wraps: only a hint) */
	uint64_t size;                      /* flame_folded_input_size()'s, 0 when unknown */
	uint64_t bytes;                     /* of the lines added so far, about */
	VEC(uint8_t) rec;                   /* the records of the pack being made */
	VEC(uint32_t) walk;                 /* nodes still to pack */
	VEC(struct pack_info) sub;          /* per node after the one packed (flame_tree.c) */
};

/* t must be freshly initialised and is only used through b until
 * flame_folded_finish(). */
void flame_folded_init(struct flame_folded *b, struct flame_tree *t);
/* Packs the subtrees below fraction of the total (counted so far) as the
 * lines stream by: they cannot be drawn (a frame narrower than min_width
 * of the usable width is not), so their callees are kept as a few bytes
 * each instead of 40-byte nodes, and flame_tree_open() makes nodes of
 * them only when a renderer needs them (the data of "[N small frames]"
 * boxes). Meant for sorted input (what stackcollapse writes); unsorted
 * input opens what it comes back to. Only for trees drawn as SVG: other
 * readers of the tree see packed nodes as leaves. */
void flame_folded_narrow(struct flame_folded *b, double fraction);
/* The size of the input in bytes when known (a file): the total to come
 * is then guessed from the values and bytes of the lines so far, so that
 * the narrow subtrees among the first lines are packed too, and room for
 * the packs and the nodes is reserved from it at once (2 MiB or more: on
 * huge pages, resident only as written). A wrong guess costs time or
 * memory, never a wrong tree. Called before the first line. */
void flame_folded_input_size(struct flame_folded *b, uint64_t bytes);
/* With threads >= 2, the nodes' half runs on a thread of its own from the
 * first line on, fed through a bounded ring, while the caller's thread
 * reads and interns the next lines: the same tree (the same SVG, byte for
 * byte) in less wall time when a second cpu is free, and a tenth more cpu
 * time (kiln flame asks for it for files over 1 MiB when it may run on two
 * cpus). If the thread cannot be started, the caller's thread does both.
 * Called before the first line. */
void flame_folded_threads(struct flame_folded *b, int threads);
/* Adds one stack line ("a;b;c", len bytes, no count) with value v; values
 * of 0 or less add nothing, as in flame_tree_build(), and neither do stacks
 * of 2 GiB or more (the folded readers skip those lines). */
void flame_folded_add(struct flame_folded *b, const char *stack, size_t len, int64_t v);
/* Frees b's working state and finishes the tree (value type samples/count);
 * call it once, instead of flame_tree_finish(). */
void flame_folded_finish(struct flame_folded *b);

/* Returns node's first child (FLAME_NONE when none), making nodes of its
 * children first when they are packed: linked in name order with their
 * values, as flame_folded_finish() leaves nodes; their own callees stay
 * packed until opened in turn. Every reader of a packed tree's children
 * goes through it. May move t->nodes.v. */
uint32_t flame_tree_open(struct flame_tree *t, uint32_t node);

/* The state of t's opened packs, for flame_tree_close_opens(). */
struct flame_open_mark {
	size_t nodes, opened;
	uint64_t npacked;
};

/* Marks the tree as it is now, and has flame_tree_open() log what it
 * opens from now on (until flame_tree_close_opens() with a NULL mark). */
void flame_tree_mark_opens(struct flame_tree *t, struct flame_open_mark *m);
/* Packs again every node opened since m and drops the nodes made since
 * (their ids are then unused: no one may hold them), so the tree is as it
 * was at m: a renderer that opened packs to try a box it then does not
 * keep gives their memory back to the next box (a graph of 100,000
 * distinct lines opened 220,000 nodes for 15,000 frames kept). With m NULL,
 * stops logging and keeps everything. */
void flame_tree_close_opens(struct flame_tree *t, const struct flame_open_mark *m);

/* Returns node's origin. A folded tree decides it the first time it is
 * asked for (most nodes are never drawn): every reader of a folded tree's
 * origins goes through it. */
uint8_t flame_tree_origin(struct flame_tree *t, uint32_t node);

/* Makes t a differential tree: every node's base (flame_tree_base()) is
 * the value of the node with the same path of names in base (0 when base
 * has none). */
void flame_tree_set_base(struct flame_tree *t, const struct flame_tree *base);

/* Guesses where a function comes from by what the profile knows of it: its
 * source file's extension and place, its module, and last its name (the
 * name-only rules of flamegraph.pl's palettes, for folded input). May say
 * FLAME_ORIGIN_SCOPED, for flame_tree_resolve_origins() to decide. */
enum flame_origin flame_origin_guess(const char *name, const char *module, const char *file, bool kernel);

/* Decides what only the whole tree can tell (flame_tree_finish() and
 * flame_folded_finish() call it): "a::b" names are Rust or C++ by the
 * other frames of the profile (unknown when they say both or neither), and
 * Rust frames without a source file are the program's own when their crate
 * is the one whose main() ran, else a dependency's (all stay the
 * program's when no main() is seen). */
void flame_tree_resolve_origins(struct flame_tree *t);

#endif
