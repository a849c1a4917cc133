/* annotate.h - where inside one function the samples fall: its value per
 * source line and per address, for `kiln annotate` (like perf annotate and
 * callgrind_annotate).
 *
 * A sample belongs to a line of function F when F is in the frames of the
 * sample's leaf location:
 *   self     F is the innermost frame: the line is F's own frame line;
 *   inlined  F is an outer frame of the leaf location (code of a callee
 *            inlined into F): the line is F's frame line there, i.e. the
 *            call site of the inlined callee, which is named per line;
 *   calls    F is further up the stack (a real call): the line of F's
 *            innermost frame on the stack, the call site. Counted apart,
 *            never in the line's share, recursion counted once.
 * Strings are ids into the profile's string table: the profile must outlive
 * the annotation.
 */
#ifndef KILN_ANALYSIS_ANNOTATE_H
#define KILN_ANALYSIS_ANNOTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis/hotspots.h"
#include "profile/profile.h"
#include "util/vec.h"

/* One program counter of the function that had samples. */
struct annotate_addr {
	uint64_t address; /* absolute, in its process */
	uint64_t offset;  /* in the module file (address - start + pgoff); the address without a mapping */
	uint64_t vaddr;   /* the ELF virtual address nm/objdump/addr2line/gdb take; offset when unknown */
	bool has_vaddr;   /* vaddr is known (a profile symbolized by kiln 2 or later, its file read) */
	uint32_t mapping; /* the profile's mapping id, PROFILE_NO_MAPPING when none */
	int64_t value;
	uint64_t samples;
};

struct annotate_line {
	uint32_t file, line; /* string id and line; line 0: no line information */
	int64_t self;        /* value with the function innermost at this line */
	int64_t inlined;     /* value in callees inlined at this line */
	int64_t calls;       /* value in functions really called from this line */
	uint64_t samples;    /* samples counted in self + inlined */
	uint32_t callee;     /* string id: the inlined callee with the most value here, 0 when none */
	uint32_t first_addr; /* into annotate.addrs: this line's addresses, by value, largest first */
	uint32_t naddrs;
};

/* One instruction of the function, decoded by the command (kiln annotate
 * reads the binary); strings stay the caller's and must outlive the
 * annotation. */
struct annotate_insn {
	uint64_t vaddr;       /* ELF virtual address */
	const char *mnemonic; /* "mov" */
	const char *operands; /* "%rax, %rdx"; "" when none */
	const char *file;     /* the line table's file; NULL when the code has no line info */
	uint32_t line;
	int64_t value; /* filled by annotate_set_insns(): the function's own value here */
	uint64_t samples;
};

struct annotate {
	const struct profile *profile;
	int value_index;        /* as for hotspots_build() */
	const char *value_type; /* e.g. "cpu"; points into the profile or a literal */
	const char *value_unit;
	uint32_t function, module; /* string ids of the annotated function */
	int64_t total;             /* the profile's whole value */
	uint64_t total_samples;
	int64_t self, inlined, calls;    /* sums over the lines */
	uint64_t samples;                /* samples in self + inlined */
	VEC(struct annotate_line) lines; /* by file id, then line */
	VEC(struct annotate_addr) addrs;
	uint32_t file;                   /* the source file with the most value (else the most lines), 0 when none */
	uint32_t first_line, last_line;  /* the function's lines seen in that file; 0 when none */
	VEC(struct annotate_insn) insns; /* by address; empty unless annotate_set_insns() was called */
	int64_t insns_value;             /* the part of self + inlined at the instructions' addresses */
};

/* Annotates function (name id, module id) of p with value type value_index
 * (see hotspots_value_index()). a is overwritten; release it with
 * annotate_release(). Returns 0 or -EINVAL for a bad value index. */
int annotate_build(struct annotate *a, const struct profile *p, int value_index, uint32_t function, uint32_t module);
void annotate_release(struct annotate *a);

/* Takes n decoded instructions (by address, strings still the caller's)
 * and gives each the function's own value and samples at its address:
 * the addresses whose vaddr is known, of mapping ids for which
 * in_module(ctx, mapping) is true (the one binary that was decoded). */
void annotate_set_insns(struct annotate *a, const struct annotate_insn *insns, size_t n,
                        bool (*in_module)(void *ctx, uint32_t mapping), void *ctx);

/* The value counted in a line's share: self + inlined. */
static inline int64_t annotate_line_value(const struct annotate_line *l)
{
	return l->self + l->inlined;
}

/* Fills order (room for a->lines.n) with line indexes, hottest first (ties:
 * file, then line); lines without self or inlined value are left out.
 * Returns how many it wrote. */
size_t annotate_hottest(const struct annotate *a, uint32_t *order);

/* The line entry for (file, line), or NULL. */
const struct annotate_line *annotate_find_line(const struct annotate *a, uint32_t file, uint32_t line);

/* v as a percentage of the function's own value (self + inlined); 0 when that is 0. */
double annotate_pct(const struct annotate *a, int64_t v);

/* Finds the functions of h named by query, at the best of three levels:
 * the exact name; names ending in "::query"; names containing query.
 * Writes up to max indexes into h->funcs (in h->funcs order) and returns
 * how many matched at that level (which may exceed max); 0 when none. */
size_t annotate_match_functions(const struct hotspots *h, const char *query, uint32_t *out, size_t max);

#endif
