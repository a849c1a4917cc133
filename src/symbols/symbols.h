/* symbols.h - names program counters: ELF symtab/dynsym, separate debug
 * files (build-id, .gnu_debuglink), DWARF file:line and inline chains,
 * demangled Rust (legacy, v0) and C++ names, kernel symbols from
 * /proc/kallsyms. Modules are opened once and cached.
 */
#ifndef KILN_SYMBOLS_SYMBOLS_H
#define KILN_SYMBOLS_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

struct symbols_stats {
	uint64_t locations;       /* locations symbolized by this call */
	uint64_t named;           /* given a function name from symbols or DWARF */
	uint64_t with_lines;      /* given file:line */
	uint64_t inlined;         /* extra frames from inline chains */
	uint64_t unknown;         /* left as module+offset */
	uint64_t missing_modules; /* distinct module files that could not be opened */
};

/* Symbolizes every location of p that has no frames yet, storing the frames
 * in p. Addresses are resolved through p's mappings (pid, start, pgoff,
 * path); kernel locations through /proc/kallsyms. A location that cannot be
 * named gets one frame "module+0xoffset", never dropped. Modules that cannot
 * be opened are counted, and their names added to p's metadata under
 * "missing_modules" (comma separated). Returns 0 or -errno. */
int symbols_resolve_profile(struct profile *p, struct symbols_stats *st);

/* Demangles a Rust (legacy or v0) or C++ symbol; returns a new string the
 * caller frees, or NULL when name is not mangled. Rust legacy hashes
 * (::h0123456789abcdef) are dropped. */
char *symbols_demangle(const char *name);

/* One frame of a lookup, innermost (inlined) first. Strings point into the
 * symbolizer's caches and stay valid until symbolizer_free(). */
struct symbol_frame {
	const char *function; /* demangled; NULL when unknown */
	const char *file;     /* NULL when unknown */
	unsigned line;
};

struct symbolizer;
struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *s);
/* Looks up a file offset in the ELF file at path (as a mapping would map
 * it: address - start + pgoff). Writes up to max frames, innermost first,
 * and returns how many (0 = nothing known), or -errno when the file cannot
 * be used. */
int symbolizer_lookup_file(struct symbolizer *s, const char *path, uint64_t file_offset, struct symbol_frame *out,
                           int max);
/* Looks up a kernel address in /proc/kallsyms. Returns 1 and sets *out, 0
 * when unknown, -errno when kallsyms cannot be read or is hidden. */
int symbolizer_lookup_kernel(struct symbolizer *s, uint64_t address, struct symbol_frame *out);

#endif
