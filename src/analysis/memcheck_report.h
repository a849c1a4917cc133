/* memcheck_report.h - what `kiln memcheck` found, as views show it: the
 * errors and the leaks' loss records with symbolized stacks, suppressions
 * applied, and the counts of the summary. The command feeds it the
 * decoded records (cmd/memcheck_feed.c) and a symbolizing callback, so
 * this stage knows neither the channel nor ELF; the renderers
 * (render/memcheck.h) draw it as text or JSON. Leak classes are kiln
 * heap's (enum heap_leak_class): the same scan decides them.
 */
#ifndef KILN_ANALYSIS_MEMCHECK_REPORT_H
#define KILN_ANALYSIS_MEMCHECK_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/heap.h"

/* The kinds of error (the agent's KH_MEM_* numbers). */
enum mc_kind {
	MC_OVERFLOW = 1,       /* an access past a live block's end */
	MC_USE_AFTER_FREE = 2, /* an access to a freed block */
	MC_DOUBLE_FREE = 3,
	MC_INVALID_FREE = 4, /* a pointer malloc never returned, or the middle of a block */
	MC_REALLOC_FREED = 5,
	MC_SLACK_DAMAGE = 6,    /* bytes past the block's end written, found at free */
	MC_MISMATCHED_FREE = 7, /* freed by another family than allocated it (new + free); see MC_*_FAMILY */
};
#define MC_KIND_MAX 7
/* A mismatched free's families (0 malloc/free, 1 new/delete, 2 new[]/delete[]):
 * the block's and the free's, from mc_error_info.flags. */
#define MC_ALLOC_FAMILY(flags) (((flags) >> 8) & 3u)
#define MC_FREE_FAMILY(flags)  (((flags) >> 10) & 3u)

#define MC_READ     1u /* mc_error_info.flags: the access read */
#define MC_WRITE    2u /* ... wrote */
#define MC_STOPPED  4u /* the process was stopped after it */
#define MC_IN_BLOCK 8u /* block and block_size name a block */
#define MC_ON_STACK 16u
#define MC_STATIC   32u

/* An error's facts. */
struct mc_error_info {
	uint32_t kind; /* enum mc_kind */
	uint32_t flags;
	uint64_t addr, block, block_size;
	uint32_t tid, alloc_tid, free_tid;
	uint32_t n_free; /* frames of the free stack: 0 when the block is live */
};

/* An unsymbolized frame: an address and its place in a mapped file. */
struct mc_place {
	uint64_t addr;
	const char *module; /* NULL when no file was mapped there */
	uint64_t offset;
};

/* The agents' counts. */
struct mc_counts {
	uint64_t guarded, unguarded;
	uint64_t over_limit, no_room; /* of unguarded: --max-guarded reached; no room or mapping */
	uint64_t max_guarded;         /* the largest --max-guarded a process had */
	uint64_t foreign_frees;       /* frees of the real allocator's blocks the agents looked at */
	uint32_t sample;              /* --sample's N (0, 1: all guarded) */
	uint32_t processes, scanned;  /* processes seen; whose leak scan answered */
};

struct mc_suppressions;

/* One frame, inlined frames apart (innermost first). Strings are owned by
 * the report; NULL when unknown. */
struct mc_sframe {
	uint64_t addr;
	const char *function;
	const char *file;
	uint32_t line;
	const char *module; /* the mapped file's path */
	uint64_t offset;    /* the address's offset in module */
	bool inlined;       /* inlined into the next frame (same address) */
};

struct mc_stack {
	struct mc_sframe *f;
	uint32_t n;
};

/* An error as the agent reported it, its stacks symbolized. */
struct mc_report_error {
	struct mc_error_info rec;
	uint32_t pid;
	struct mc_stack access, alloc, free;
	const char *suppressed; /* the suppression's name that matched, or NULL */
};

/* Blocks of one leak class allocated by one stack ("loss record"). */
struct mc_loss {
	uint8_t cls;    /* enum heap_leak_class */
	uint32_t first; /* internal: the pending leak that names it */
	uint64_t bytes, blocks;
	uint32_t pid; /* of the first block */
	struct mc_stack alloc;
	const char *suppressed;
};

/* What a class adds up to in the summary. */
struct mc_leak_total {
	uint64_t bytes, blocks;
	uint64_t suppressed_bytes, suppressed_blocks;
};

struct mc_report {
	struct mc_report_error *errors;
	size_t n_errors;
	struct mc_loss *losses; /* sorted by class, then bytes ascending (valgrind's order) */
	size_t n_losses;
	struct mc_leak_total leaks[HEAP_LEAK_DEFINITE + 1]; /* by enum heap_leak_class */
	uint64_t suppressed_errors;
	struct mc_counts stats;
	bool leaks_checked; /* some process's leak scan answered */
	/* what the run was asked (kept in the profile, so a report of it is
	 * the same): loss records shown, leak classes counted as errors
	 * (1 << class), the status the agent stops a program with */
	unsigned show_leaks, error_leaks;
	int exitcode;
	char **strings; /* owned copies */
	size_t n_strings, cap_strings;
	struct mc_pending *pending; /* internal: what was added, until mc_report_finish() */
};

/* Looks up one address of a mapped file: up to max frames, innermost
 * (inlined) first; returns how many, 0 when nothing is known. */
typedef int (*mc_resolve_fn)(void *ctx, const char *path, uint64_t offset, struct mc_sframe *out, int max);

struct mc_report *mc_report_new(void);
/* An error with its frames: access, then alloc, then free
 * (n_access + n_alloc + e->n_free of them); copied, as for leaks. */
void mc_report_add_error(struct mc_report *r, const struct mc_error_info *e, uint32_t pid,
                         const struct mc_place *frames, uint32_t n_access, uint32_t n_alloc);
/* A block live at exit of class cls (HEAP_LEAK_UNKNOWN: not scanned,
 * left out) and its allocation stack; the frames are copied, their
 * module strings must stay valid until mc_report_finish(). */
void mc_report_add_leak(struct mc_report *r, uint8_t cls, uint64_t size, uint32_t pid, const struct mc_place *frames,
                        uint32_t n);
/* Groups the leaks into loss records, symbolizes every stack, applies
 * sup (may be NULL), and keeps counts. Once. */
void mc_report_finish(struct mc_report *r, const struct mc_suppressions *sup, const struct mc_counts *counts,
                      mc_resolve_fn resolve, void *ctx);
/* Accepts NULL. */
void mc_report_free(struct mc_report *r);

/* Adds loss record l to its class's total (r->leaks), suppressed or not:
 * the summary's numbers, kept as records are made or read back. */
void mc_report_count_loss(struct mc_report *r, const struct mc_loss *l);

/* Errors not suppressed, and leaks of the classes in mask (1 << class)
 * not suppressed: what --errors-for-leak-kinds counts. */
size_t mc_report_errors(const struct mc_report *r);
uint64_t mc_report_leak_blocks(const struct mc_report *r, unsigned mask);

/* Names: "heap-overflow", "use-after-free", ...; "definite", "indirect",
 * "possible", "reachable". NULL for an unknown value. */
const char *mc_kind_id(uint32_t kind);
const char *mc_leak_class_id(uint8_t cls);
/* "definite,possible", "all" or "none" to a mask of 1 << class; -EINVAL
 * when a word is unknown. */
int mc_leak_kinds_parse(const char *s, unsigned *mask);

#endif
