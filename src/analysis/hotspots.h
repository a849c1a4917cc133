/* hotspots.h - where the value of a profile goes: per-function self and
 * total, the call tree, the split by thread and the list of distinct stacks.
 *
 * Everything `kiln report` shows is computed here once; renderers only
 * format it. Functions are identified by (name, module), so the same name
 * in two modules stays two functions. Strings are ids into the profile's
 * string table: the profile must outlive the hotspots, unchanged (the
 * stacks are listed from it on demand).
 *
 *   self   value of the samples whose innermost frame is the function
 *   total  value of the samples whose stack contains the function anywhere,
 *          counted once per sample even when it recurses
 */
#ifndef KILN_ANALYSIS_HOTSPOTS_H
#define KILN_ANALYSIS_HOTSPOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/vec.h"

/* value_index meaning "count samples" (a profile without value types). */
#define HOTSPOTS_VALUE_SAMPLES (-1)

struct hotspot_func {
	uint32_t name, module; /* string ids */
	uint32_t alias;        /* string id: an internal name of it (__GI___libc_malloc), 0 when none */
	uint32_t file, line;   /* where most of its self value is, else its first frame's */
	int64_t self, total;
	uint64_t self_samples, total_samples;
};

/* One node of the call tree. Node 0 is the root ("all"): its total is the
 * profile's total and its self the value of samples with an empty stack. */
struct hotspot_node {
	uint32_t name, module; /* string ids; 0 for the root */
	uint32_t parent;       /* the root is its own parent */
	uint32_t depth;        /* root = 0 */
	int64_t self, total;
	uint64_t samples;     /* samples through this node */
	uint32_t first_child; /* index into hotspots.tree_children */
	uint32_t nchildren;   /* children sorted by total, largest first */
};

struct hotspot_thread {
	uint32_t tid, pid;
	uint32_t name; /* string id; 0 when the profile has no name for it */
	uint64_t samples;
	int64_t value;
};

/* A distinct stack: a sequence of frames (root first, leaf last, inlined
 * frames expanded) together with the samples that had exactly it. Get its
 * frames with hotspots_stack_frames(). */
struct hotspot_stack {
	uint32_t node;             /* its leaf in the trie of frames the stacks share */
	uint32_t nframes;          /* 0 for the empty stack */
	uint32_t first_tid, ntids; /* into hotspot_stack_list.tids, ascending */
	uint64_t samples;
	int64_t value;
};

/* The distinct stacks, by value, largest first. */
struct hotspot_stack_list {
	const struct hotspot_stack *v;
	size_t n;
	const uint32_t *tids; /* the threads of each stack */
};

enum hotspot_sort {
	HOTSPOT_SORT_SELF = 0,
	HOTSPOT_SORT_TOTAL,
	HOTSPOT_SORT_NAME,
};

struct hotspots {
	const struct profile *profile;
	int value_index;                    /* index into value types, or HOTSPOTS_VALUE_SAMPLES */
	const char *value_type;             /* e.g. "cpu"; points into the profile or a literal */
	const char *value_unit;             /* e.g. "nanoseconds" */
	uint64_t samples;                   /* all samples */
	int64_t total;                      /* sum of the value over all samples */
	VEC(struct hotspot_func) funcs;     /* sorted by hotspots_sort_functions(); self by default */
	VEC(struct hotspot_thread) threads; /* by value, largest first */
	VEC(struct profile_frame) frames;   /* the distinct frames, copied from the profile */
	VEC(struct hotspot_node) tree;
	VEC(uint32_t) tree_children;
	/* what hotspots_stacks() lists the stacks from, and its list */
	struct hotspot_stack_data *stack_data;
};

/* Picks a value type by name: NULL or "" picks the default (the second
 * type when there are two or more, e.g. "cpu", else the first). Returns
 * the index, HOTSPOTS_VALUE_SAMPLES for a profile without value types, or
 * -ENOENT when no type has that name. */
int hotspots_value_index(const struct profile *p, const char *type);

/* Computes everything for p using value type value_index (as returned by
 * hotspots_value_index()). h is overwritten; release it with
 * hotspots_release(). Locations without frames count as one unnamed frame.
 * Returns 0, -EINVAL for a value index the profile does not have, or
 * -EOVERFLOW when the values add up to more than 64 bits hold (nothing is
 * built then). */
int hotspots_build(struct hotspots *h, const struct profile *p, int value_index);
void hotspots_release(struct hotspots *h);

/* The distinct stacks. Listed on the first call, not by hotspots_build():
 * a profile can have millions and most views never show them. That call
 * fills in h (not from two threads at once); the list stays valid until
 * hotspots_release(). */
struct hotspot_stack_list hotspots_stacks(const struct hotspots *h);

/* Stores pointers to the s->nframes frames of s in out, root first; they
 * point into h->frames. */
void hotspots_stack_frames(const struct hotspots *h, const struct hotspot_stack *s, const struct profile_frame **out);

/* Reorders h->funcs: self or total largest first (ties: the other value,
 * then name), or by name (then module). */
void hotspots_sort_functions(struct hotspots *h, enum hotspot_sort sort);

/* Returns the function with this name (and module, unless NULL), or NULL. */
const struct hotspot_func *hotspots_find_function(const struct hotspots *h, const char *name, const char *module);

/* Returns the child of tree node `parent` named `name` (any module), or
 * UINT32_MAX. */
uint32_t hotspots_tree_find_child(const struct hotspots *h, uint32_t parent, const char *name);

/* v as a percentage of the total; 0 when the total is 0. */
double hotspots_pct(const struct hotspots *h, int64_t v);

#endif
