/* cfi.h - private to src/unwind: one module's CFI tables (.eh_frame, then
 * .debug_frame) opened through libdw, compiled into compact per-address rows,
 * and the small evaluator that applies a row to a captured stack. Split from
 * unwind.c so the fuzz target and tests can reach modules built from memory.
 */
#ifndef KILN_UNWIND_CFI_H
#define KILN_UNWIND_CFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <elfutils/libdw.h>
#include <libelf.h>

#include "arch/arch.h"
#include "unwind/unwind.h"
#include "util/vec.h"

/* How one register (or the CFA) is recovered in the caller's frame. */
enum cfi_rule_kind {
	CFI_UNDEF = 0,  /* cannot be recovered */
	CFI_SAME,       /* unchanged by this frame */
	CFI_OFFSET,     /* saved at [CFA + arg] */
	CFI_VAL_OFFSET, /* is CFA + arg */
	CFI_REG_OFF,    /* is register `reg` + arg (the CFA's usual rule) */
	CFI_EXPR,       /* evaluate pool ops [arg, arg + nops) */
	CFI_BAD,        /* libdw could not describe it */
};

struct cfi_rule {
	uint8_t kind;
	uint8_t reg;
	uint16_t nops;
	int32_t arg;
};

enum {
	CFI_ROW_FOUND = 1,  /* some CFI covers the address */
	CFI_ROW_SIGNAL = 2, /* signal trampoline: the caller's pc is exact */
};

/* Everything needed to step over one frame at one address. */
struct cfi_row {
	uint64_t vaddr;
	uint32_t module;
	uint16_t flags;
	uint16_t pad;
	uint64_t same;  /* registers with CFI_SAME, as a bit mask */
	uint64_t other; /* registers with a rule to evaluate (not SAME, not UNDEF) */
	struct cfi_rule cfa;
	struct cfi_rule regs[ARCH_DWARF_NREGS];
};

/* Expression ops shared by all rows; rows refer to them by index. */
struct cfi_op_pool {
	VEC(Dwarf_Op) ops;
};

struct cfi_load {
	uint64_t offset, vaddr, size;
};

#define CFI_MAX_LOADS 16

struct cfi_module {
	char *path;
	uint32_t id;
	bool opened;    /* an open was attempted; elf may still be NULL */
	bool from_file; /* dev/ino/mtime are meaningful */
	int fd;
	void *image; /* owned copy for in-memory modules */
	Elf *elf;
	Dwarf_CFI *eh_cfi;    /* from dwarf_getcfi_elf; ended with dwarf_cfi_end */
	Dwarf *dwarf;         /* opened lazily for .debug_frame */
	Dwarf_CFI *debug_cfi; /* owned by dwarf */
	bool debug_tried;
	bool refused;   /* its CFI names registers the architecture lacks (cfi_check.h): unused */
	uint64_t entry; /* ELF entry point (vaddr), 0 when none */
	int nloads;
	struct cfi_load loads[CFI_MAX_LOADS];
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
};

/* Opens the ELF at m->path (or the running kernel's vdso for "[vdso]").
 * Failure leaves the module usable with no CFI; returns 0 or -errno. */
int cfi_module_open(struct cfi_module *m);
/* Opens a module from an ELF image, which is copied. Returns 0 or -errno. */
int cfi_module_open_memory(struct cfi_module *m, const void *image, size_t size);
/* Closes everything the module holds except path and id. */
void cfi_module_close(struct cfi_module *m);
/* True when the file at m->path is no longer the one opened. */
bool cfi_module_changed(const struct cfi_module *m);

/* Maps a file offset to the ELF virtual address through PT_LOAD headers. */
bool cfi_module_vaddr(const struct cfi_module *m, uint64_t offset, uint64_t *vaddr);

/* Queries libdw for vaddr and compiles the result into *row (slow path). */
void cfi_module_compile(struct cfi_module *m, uint64_t vaddr, struct cfi_row *row, struct cfi_op_pool *pool);

/* Register state of one frame. */
struct cfi_regs {
	uint64_t r[ARCH_DWARF_NREGS];
	uint64_t valid;
	uint64_t truncated; /* not valid because the stack copy ended first */
};

/* The captured stack: bytes copied from addr. */
struct cfi_stack {
	const uint8_t *bytes;
	uint64_t addr;
	uint64_t size;
};

/* Reads size (1..8) bytes at addr. Returns 0, UNWIND_TRUNCATED (above the
 * copy) or UNWIND_BAD_FRAME (below it). */
int cfi_stack_read(const struct cfi_stack *st, uint64_t addr, unsigned size, uint64_t *out);

/* Evaluates a DWARF expression. has_cfa says whether DW_OP_call_frame_cfa
 * may be used. *is_value is set when the result is a value (stack_value or
 * a register location) rather than an address. Returns 0 or a status. */
int cfi_eval(const Dwarf_Op *ops, size_t nops, const struct cfi_regs *regs, bool has_cfa, uint64_t cfa,
             const struct cfi_stack *st, uint64_t *out, bool *is_value);

/* Steps over one frame: computes the CFA and replaces *regs with the
 * caller's registers. Returns 0 or a status (UNWIND_TRUNCATED,
 * UNWIND_BAD_FRAME); on error *regs may be partly updated. */
int cfi_row_apply(const struct cfi_row *row, const struct cfi_op_pool *pool, struct cfi_regs *regs,
                  const struct cfi_stack *st, uint64_t *cfa);

/* Registers an in-memory ELF image (copied) as the module for `path`, so
 * find callbacks returning that path use it. For fuzzing and tests.
 * Returns 0 or -errno. */
int unwinder_add_memory_module(struct unwinder *u, const char *path, const void *image, size_t size);

#endif
