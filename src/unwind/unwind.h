/* unwind.h - turns a captured user stack (registers + a copy of the stack
 * bytes above sp) into a list of return addresses, using each module's CFI
 * (.eh_frame, .debug_frame) through libdw, with results cached per module
 * and per address so each distinct pc is looked up once.
 */
#ifndef KILN_UNWIND_UNWIND_H
#define KILN_UNWIND_UNWIND_H

#include <stdint.h>

#include "arch/arch.h"
#include "util/strbuf.h"

/* How an unwind ended. */
enum unwind_status {
	UNWIND_COMPLETE = 0, /* reached the outermost frame (return address undefined) */
	UNWIND_TRUNCATED,    /* needed stack bytes beyond the captured copy */
	UNWIND_NO_MODULE,    /* a pc outside any known mapping */
	UNWIND_NO_CFI,       /* a pc in a module with no CFI for it */
	UNWIND_BAD_FRAME,    /* CFI gave an impossible result (loop, null cfa, ...) */
	UNWIND_MAX_DEPTH,    /* stopped at the caller's limit */
};

/* The module containing a pc, as the caller's mapping tracker knows it. */
struct unwind_module {
	const char *path; /* file to read CFI from; NULL or "[...]" for anonymous */
	uint64_t start;   /* mapping start address */
	uint64_t pgoff;   /* file offset mapped at start */
	uint64_t end;
};

/* Returns 0 and fills *out when pc lies in a file-backed mapping of the
 * sampled process; -1 otherwise. */
typedef int (*unwind_find_module_fn)(void *ctx, uint64_t pc, struct unwind_module *out);

/* One sample's user state. regs are indexed by DWARF register number
 * (arch/arch.h); stack holds stack_size bytes copied from regs[SP]. */
struct unwind_input {
	uint64_t regs[ARCH_DWARF_NREGS];
	uint64_t regs_valid; /* bit i set when regs[i] was captured */
	const uint8_t *stack;
	uint64_t stack_size;
};

struct unwinder;

struct unwinder *unwinder_new(void);
/* Frees the unwinder and every cached module. Accepts NULL. */
void unwinder_free(struct unwinder *u);

/* Unwinds one sample. Writes at most max pcs, leaf first: pcs[0] is the
 * sampled ip, each later entry a return address (not adjusted). Returns the
 * number written and sets *status to how it ended. */
int unwinder_unwind(struct unwinder *u, const struct unwind_input *in, unwind_find_module_fn find, void *ctx,
                    uint64_t *pcs, int max, enum unwind_status *status);

/* The stack bytes above sp the last unwinder_unwind() used: from the
 * sampled sp to the canonical frame address of the outermost frame it
 * unwound (0 when it unwound none). A copy this long would have done. */
uint64_t unwinder_last_reach(const struct unwinder *u);

/* Forgets the cached rules of path's module when the file at path is no
 * longer the one opened (rebuilt or replaced: device, inode or mtime
 * differ), and retries a module that failed to open. The recorder calls it
 * for every new file mapping, so a long `record -p` session unwinds a
 * binary rebuilt at the same path with its new CFI. NULL checks every
 * module. */
void unwinder_flush(struct unwinder *u, const char *path);

struct unwind_stats {
	uint64_t cfi_lookups; /* libdw CFI queries (cache misses) */
	uint64_t cache_hits;
	uint64_t modules; /* modules opened */
};
void unwinder_get_stats(const struct unwinder *u, struct unwind_stats *st);

/* Appends to out the paths of the modules whose call frame information
 * was refused (it names registers this architecture does not have), ", " between. */
void unwinder_refused(const struct unwinder *u, struct strbuf *out);

#endif
