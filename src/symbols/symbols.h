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
#include "util/strtab.h"
#include "util/vec.h"

struct symbols_stats {
	uint64_t locations;            /* locations symbolized by this call */
	uint64_t named;                /* given a function name from symbols or DWARF */
	uint64_t with_lines;           /* given file:line */
	uint64_t inlined;              /* extra frames from inline chains */
	uint64_t unknown;              /* left as module+offset */
	uint64_t missing_modules;      /* distinct module files that could not be opened */
	uint64_t unsymbolized_modules; /* distinct files read but without symbols (stripped) */
};

/* Symbolizes every location of p that has no frames yet, storing the frames
 * in p and each location's ELF virtual address. Addresses are resolved
 * through p's mappings (pid, start, pgoff, path); kernel locations through
 * /proc/kallsyms. PLT stubs are named "X@plt"; code no symbol names is
 * named after the start of its FDE, "sub_97210@zstd"; a location that
 * cannot be named at all gets one frame "module+0xvaddr" (the file offset
 * when the file is missing), never dropped. Modules that cannot be opened
 * are counted, and their paths added to p's metadata under
 * "missing_modules" (comma separated); stripped ones that had to be named
 * that way under "unsymbolized_modules". Returns 0, or the -errno of the
 * first module that could not be opened when no user location at all
 * could be named (every file the program ran is gone or unreadable). */
int symbols_resolve_profile(struct profile *p, struct symbols_stats *st);

/* Separate debug files are looked up by build-id (DIR/.build-id/xx/rest.debug)
 * and .gnu_debuglink (DIR/<the file's directory>/NAME) in dirs, a
 * colon-separated list of absolute directories, before the default places
 * (beside the file, its .debug/ and /usr/lib/debug). NULL restores the
 * defaults. Call before opening modules; not thread-safe. */
void symbols_set_debug_dirs(const char *dirs);

/* Separate debug files whose DWARF is compressed (Debian's -dbg and
 * -dbgsym packages) are kept decompressed in dir, by build-id, so later
 * reads skip inflating them (debug_cache.c). "" turns the cache off; NULL
 * (and no call) goes back to what $KILN_DEBUG_CACHE says: unset for
 * $XDG_CACHE_HOME/kiln/debug or ~/.cache/kiln/debug, "off" or "0" for
 * none, else the directory. Call before opening modules; not thread-safe. */
void symbols_set_debug_cache(const char *dir);
/* The debug cache's directory as set or from the environment (it may not
 * exist yet), NULL when the cache is off; kiln's other caches live there
 * too. Valid until the next symbols_set_debug_cache(). */
const char *symbols_debug_cache_dir(void);

/* dpkg's lists of the files each package installed. */
#define SYMBOLS_DPKG_INFO "/var/lib/dpkg/info"
/* The Debian package (name without ":arch") that installed each of the n
 * files, into pkg[i], "" when none did: from dpkg's lists in info
 * (SYMBOLS_DPKG_INFO), through the cache file at cache (NULL or "" for
 * none), which is read, and rewritten when the lists had to be read. */
void symbols_packages_of(const char *info, const char *cache, const char *const *files, size_t n, char (*pkg)[256]);
struct strbuf;
/* Appends the -dbgsym package of each of the n answers of
 * symbols_packages_of() that named one, space-separated, each once (the
 * modules of one package ask for it once: dd, md5sum and sleep are all
 * coreutils). */
void symbols_dbgsym_list(const char (*pkg)[256], size_t n, struct strbuf *out);

/* The GNU build-id of the ELF file at path as lowercase hex into hex (n
 * bytes, 41 hold a SHA-1 one). Returns 1 when found, 0 when the file has
 * none, -errno when it cannot be opened, -ENOEXEC when it is not ELF. */
int symbols_file_build_id(const char *path, char *hex, size_t n);

/* The running kernel's _text address from /proc/kallsyms (where KASLR put
 * it this boot): 0 and *addr set, -EACCES when kallsyms hides addresses
 * (kernel.kptr_restrict), -ENOENT or -errno when it cannot be found. */
int symbols_kernel_text(uint64_t *addr);

/* The data object (a static) holding address addr of process pid, from
 * the ELF symbol tables of the files p's mappings show that process
 * mapped: its demangled name into buf (size bytes, cut to fit). Returns 1
 * when found, 0 when no mapped file's object symbol covers addr (files
 * that cannot be read are passed over). */
int symbols_data_symbol(const struct profile *p, uint32_t pid, uint64_t addr, char *buf, size_t size);

struct symbolizer;
/* The same with a symbolizer whose caches may already hold the answers
 * (symbols_prefetch_finish()); it stays the caller's. */
int symbols_resolve_profile_with(struct profile *p, struct symbolizer *s, struct symbols_stats *st);

/* A symbolizer working on a thread of its own while a program runs: feed
 * it the file offsets of addresses as they turn up, and take its warm
 * caches at the end. Never blocks the caller on a lookup. */
struct symbols_prefetch;
struct symbols_prefetch *symbols_prefetch_start(void);
/* path: the mapped file (copied); file_offset = address - start + pgoff.
 * Accepts a NULL pf. */
void symbols_prefetch_add(struct symbols_prefetch *pf, const char *path, uint64_t file_offset);
/* Stops the thread (pending lookups are dropped: the final pass does
 * them) and returns its symbolizer, for symbols_resolve_profile_with()
 * and then symbolizer_free(). */
struct symbolizer *symbols_prefetch_finish(struct symbols_prefetch *pf);

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

struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *s);

/* The module cache: modules are keyed by build-id (by device, inode, size
 * and mtime for a file without one), so one binary under two paths, or
 * run again by a restarted process, is read once. */
struct symbolizer_stats {
	uint64_t modules;   /* modules held (files read, or that failed to open) */
	uint64_t loads;     /* module files read (symbol tables, debug info) */
	uint64_t hits;      /* module lookups answered by a module already held */
	uint64_t evictions; /* modules freed by the bound */
	/* the name cache (name_cache.c): results read from its files, files written */
	uint64_t names_read;
	uint64_t names_written;
};
void symbolizer_get_stats(const struct symbolizer *s, struct symbolizer_stats *st);
/* Holds at most n modules (0: no bound, the default): after each
 * symbols_resolve_profile_with() pass the least recently used ones beyond
 * n are freed, with their cached lookups. Names already copied into
 * profiles stay valid; symbol_frame strings stay valid too (they are
 * interned for the symbolizer's life). */
void symbolizer_set_max_modules(struct symbolizer *s, size_t n);
/* Writes the name cache files (<build-id>.names in the debug cache
 * directory) of the modules that named something not yet in them; also
 * done by symbolizer_free() and when the bound frees a module. Lookups
 * read a module's file when it is first looked up; $KILN_NAME_CACHE "off"
 * (or "0") keeps them from being read or written. */
void symbolizer_save_names(struct symbolizer *s);
/* Tests: name cache files are keyed by id instead of kiln's own build-id;
 * NULL goes back to it. */
void symbols_set_name_cache_build(const char *id);
/* The build-id (lowercase hex into hex, n bytes) of the file at path now,
 * through the module cache: a file already held is not read again.
 * Returns 1 when found, 0 when the file has none, or -errno. */
int symbolizer_file_build_id(struct symbolizer *s, const char *path, char *hex, size_t n);
/* Kernel addresses are looked up in path, a file in /proc/kallsyms' format
 * (perf's cached copy; tests' fixed tables), not /proc/kallsyms; NULL goes
 * back to /proc/kallsyms. */
void symbolizer_set_kallsyms_path(struct symbolizer *s, const char *path);
/* Looks up a file offset in the ELF file at path (as a mapping would map
 * it: address - start + pgoff). Writes up to max frames, innermost first,
 * and returns how many (0 = nothing known), or -errno when the file cannot
 * be used. */
int symbolizer_lookup_file(struct symbolizer *s, const char *path, uint64_t file_offset, struct symbol_frame *out,
                           int max);
/* Looks up a kernel address in /proc/kallsyms. Returns 1 and sets *out, 0
 * when unknown, -errno when kallsyms cannot be read or is hidden. */
int symbolizer_lookup_kernel(struct symbolizer *s, uint64_t address, struct symbol_frame *out);

/* ---- disasm.c: the instructions of the functions that hold some
 * addresses, for kiln annotate (Capstone, in the syntax objdump -d uses). */

/* One decoded instruction. Strings are ids in the disasm's strtab. */
struct disasm_insn {
	uint64_t vaddr; /* ELF virtual address */
	uint32_t size;
	uint32_t mnemonic; /* "mov" */
	uint32_t operands; /* "%rax, %rdx"; 0 when none */
	uint32_t file;     /* the line table's file, 0 when the code has no line info */
	uint32_t line;
};

struct disasm {
	struct strtab strings;
	VEC(struct disasm_insn) insns; /* by address; functions one after the other */
	uint32_t functions;            /* how many function extents were decoded */
	uint32_t guessed;              /* addresses with no known function: decoded alone */
	const char *syntax;            /* the objdump command that shows the same syntax (static) */
};

/* Decodes the functions (extent from the symbol, else the FDE) holding the
 * n ELF virtual addresses vaddrs of the ELF file at path. build_id (hex,
 * NULL or "" to skip the check) is what the profile recorded: a file with
 * another build-id is not the code that ran. An address no function holds
 * is decoded alone. d is overwritten; release it with disasm_release(),
 * also after an error. Returns 0, -ENOENT/-EACCES (no such file), -ENOEXEC
 * (not ELF), -ESTALE (another build-id), -ENOTSUP (Capstone cannot decode
 * this machine), -ELIBACC (libcapstone cannot be loaded), or -ERANGE when
 * no address lies in the file's code. */
int symbols_disasm(const char *path, const char *build_id, const uint64_t *vaddrs, size_t n, struct disasm *d);
void disasm_release(struct disasm *d);
/* The instruction starting at vaddr, or NULL. */
const struct disasm_insn *disasm_find(const struct disasm *d, uint64_t vaddr);

#endif
