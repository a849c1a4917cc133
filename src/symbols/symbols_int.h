/* symbols_int.h - private interfaces between the files of src/symbols/:
 * the per-module ELF/DWARF reader, the kallsyms table, and the symbolizer's
 * caches. Strings are ids in the symbolizer's string table, so a cached
 * result is a few integers and converting it for a profile is cheap.
 */
#ifndef KILN_SYMBOLS_SYMBOLS_INT_H
#define KILN_SYMBOLS_SYMBOLS_INT_H

#include <gelf.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdint.h>

#include "symbols/symbols.h"
#include "util/hashmap.h"
#include "util/keymap.h"
#include "util/strtab.h"
#include "util/vec.h"

/* Deepest inline chain kept; deeper ones keep their innermost frames. */
#define SYM_MAX_FRAMES 64

/* sym_frame.flags: the name is made up ("sub_97210@zstd", after the
 * function's FDE) because no symbol names the code. */
#define SYM_FRAME_UNNAMED 1u

/* One frame as cached: ids in the symbolizer's strtab (0 = unknown). */
struct sym_frame {
	uint32_t function;
	uint32_t file;
	uint32_t line;
	uint32_t alias; /* an internal name of the same function (__GI___libc_malloc), 0 when none */
	uint32_t flags; /* SYM_FRAME_* */
};

/* ---- elf_module.c: one ELF file and its debug info, opened through libdwfl */
struct elf_module;

/* Opens path; returns 0 and sets *out, or -errno (-ENOENT, -EACCES,
 * -ENOEXEC for a file that is not usable ELF). */
int elf_module_open(const char *path, struct elf_module **out);
void elf_module_free(struct elf_module *m);
/* Lowercase hex build-id of the file, "" when it has none. */
const char *elf_module_build_id(const struct elf_module *m);
/* The ELF virtual address (what nm, objdump, addr2line and gdb show) of a
 * file offset; false when no segment holds it. */
bool elf_module_vaddr(struct elf_module *m, uint64_t file_offset, uint64_t *vaddr);
/* False for a stripped file: no local function symbols and no DWARF, so
 * its code is named only by exports, PLT stubs and FDE starts. */
bool elf_module_has_symbols(struct elf_module *m);
struct strbuf;
/* Appends what identifies the DWARF lookups answer from: libdw's version and
 * the separate debug file libdwfl chose (path, size, mtime, inode,
 * build-id) or "none"; finds that file first, as the first lookup would. */
void elf_module_debug_identity(struct elf_module *m, struct strbuf *sb);
/* Resolves a file offset into at most max frames, innermost first, with
 * strings interned in strs. Returns the number of frames (0 = unknown). */
int elf_module_lookup(struct elf_module *m, uint64_t file_offset, struct strtab *strs, struct sym_frame *out, int max);

/* The extent [*lo, *hi) of the function holding ELF virtual address vaddr:
 * its sized symbol, else its FDE; false when neither is known. */
bool elf_module_function_range(struct elf_module *m, uint64_t vaddr, uint64_t *lo, uint64_t *hi);
/* Reads len bytes of the file at path (the module's own file) that a
 * PT_LOAD segment maps at vaddr: 0, -ERANGE when no segment holds them
 * all, or -errno. */
int elf_module_read_code(struct elf_module *m, const char *path, uint64_t vaddr, uint8_t *buf, size_t len);
/* The line table's file (interned in strs) and line for vaddr; false
 * when it has none. */
bool elf_module_line(struct elf_module *m, uint64_t vaddr, struct strtab *strs, uint32_t *file, uint32_t *line);

/* ---- debug_cache.c: separate debug files with their DWARF decompressed,
 * by build-id (bits, n bytes) */

/* Opens the cached copy: the fd, with *path (the caller frees) set; or
 * -ENOENT (none, or the cache is off), -EBADMSG (a damaged copy, removed). */
int debug_cache_open(const unsigned char *bits, int n, char **path);
/* Whether the debug file open at fd is worth a decompressed copy: the
 * cache is on and the file has compressed sections (and none of the kinds
 * not cached). */
bool debug_cache_wanted(int fd);
/* Writes the copy from src, the debug file as libdw opened it (the
 * sections libdw inflated are copied as they are, the others inflated
 * here). Returns 0, -ENOENT (cache off) or -errno. */
int debug_cache_store(Elf *src, const unsigned char *bits, int n);
/* Writes the copy of the debug file open at fd (read, never changed) and
 * opens it: the copy's fd, with *path (the caller frees) set; or -ENOENT
 * (cache off), -EBADMSG (a section we cannot inflate, a copy that fails
 * the checks) or -errno. */
int debug_cache_build(int fd, const unsigned char *bits, int n, char **path);

/* ---- debug_inflate.c: a compressed section's zlib stream, in[0..in_len),
 * inflated into out (malloc'ed, out_len bytes exactly, as its Elf_Chdr
 * says) */
/* deflate cannot expand a byte to more than 1032 (zlib's and libelf's
 * bound): a larger claimed size is a damaged header, not worth a malloc */
#define INFLATE_MAX_RATIO 1032
struct inflate_job {
	const void *in;
	size_t in_len;
	size_t out_len;
	void *out; /* set by debug_inflate; NULL when rc < 0 */
	int rc;    /* 0, -EBADMSG (a bad stream or size) or -ENOMEM */
};
/* Inflates jobs[0..n) on up to max_threads threads (at most 2: the
 * largest job alone on a second one, when they are big enough to pay);
 * 0 when every job succeeded, else the first failure. The caller frees
 * the buffers with debug_inflate_release, whatever the result. */
int debug_inflate(struct inflate_job *jobs, size_t n, int max_threads);
void debug_inflate_release(struct inflate_job *jobs, size_t n);

/* ---- debug_find.c */
struct Dwfl_Module;
/* False when no separate debug file for mod (main file file_name, its
 * .gnu_debuglink debuglink_file or NULL) exists in any place libdwfl's
 * local search looks (search: its colon-separated path, NULL for the
 * default), so that the search can be skipped and libdebuginfod is never
 * loaded; true when one may (also whenever $DEBUGINFOD_URLS is set). */
bool debug_file_may_exist(struct Dwfl_Module *mod, const char *search, const char *file_name,
                          const char *debuglink_file);

/* Opens the build-id debug file .build-id/xx/rest.debug under the first
 * absolute entry of search (NULL for libdwfl's default) that has it: the
 * fd, or -ENOENT. Its build-id is not checked (the debug cache's copy
 * checks it). */
int debug_find_build_id_file(const char *search, const unsigned char *bits, int n);

/* Creates the cache directory (for the other caches kept in it): 0,
 * -ENOENT when the cache is off, or -errno. */
int debug_cache_mkdir(void);

/* Removes dir's files ending in suffix, least recently used (mtime) first,
 * until they hold at most max_bytes; keep (a name, or NULL) stays. */
void debug_cache_trim(const char *dir, const char *suffix, uint64_t max_bytes, const char *keep);

/* ---- kallsyms_index.c: the text symbols of a kallsyms file (perf's copy)
 * sorted by address, kept in the debug cache */
struct ksym_ix {
	uint64_t addr;
	uint32_t line; /* the line's offset in the file */
	uint32_t zero;
};

/* The index of the kallsyms file at path (st: its fstat), mapped: *n
 * entries sorted by address then line; the caller unmaps *map (*map_len
 * bytes). NULL (and *map NULL) when there is none or it was made from
 * another file. */
const struct ksym_ix *kallsyms_index_map(const char *path, const struct stat *st, size_t *n, void **map,
                                         size_t *map_len);
/* Sorts the n entries e (by address, then line) and stores them as the
 * index of path; nothing when the cache is off or cannot be written. */
void kallsyms_index_store(const char *path, const struct stat *st, struct ksym_ix *e, size_t n);

/* ---- kallsyms.c: a sorted kernel symbol table */
struct ksym {
	uint64_t addr;
	uint32_t name_off; /* raw name in kallsyms.names */
	uint32_t name;     /* strtab id, demangled; UINT32_MAX until first asked */
	uint32_t module;   /* strtab id: "[kernel.kallsyms]" or "[module]" */
};

struct kallsyms {
	VEC(struct ksym) syms;
	VEC(char) names; /* the file's text, names cut out by NULs: only the few asked for are demangled and interned */
	VEC(uint64_t) asked; /* partial: the sorted addresses the table was loaded for */
	int err;             /* 0, or the -errno from loading */
	bool loaded;         /* tried once; err says how it went */
	bool partial;        /* only the symbols of asked (kallsyms_load_for) */
};

/* Reads a kallsyms-format file once; later calls return the first result.
 * Returns 0, -errno when unreadable, or -EACCES when every address is 0. */
int kallsyms_load(struct kallsyms *k, const char *path, struct strtab *strs);
/* As kallsyms_load(), keeping only the symbols that name the n sorted,
 * distinct addresses addrs: kallsyms_find() answers for those as from the
 * whole table (for others, kallsyms_covers() is false). */
int kallsyms_load_for(struct kallsyms *k, const char *path, struct strtab *strs, const uint64_t *addrs, size_t n);
/* Whether kallsyms_find() on the table as loaded answers for addr as the
 * whole table would. */
bool kallsyms_covers(const struct kallsyms *k, uint64_t addr);
/* The symbol containing addr, or NULL. */
struct ksym *kallsyms_find(const struct kallsyms *k, uint64_t addr);
/* The symbol's demangled name, interned in strs on first use. */
uint32_t kallsyms_name(struct kallsyms *k, struct ksym *s, struct strtab *strs);
void kallsyms_release(struct kallsyms *k);

/* ---- demangle.c */
/* Demangles name when it is mangled and interns the result (or name as it
 * is) in strs. */
uint32_t sym_intern_name(struct strtab *strs, const char *name);

/* ---- symbolizer.c: caches shared by the public lookups and resolve.c.
 * A module is one file's content, keyed by its build-id ("b:HEX"), or by
 * device, inode, size and mtime ("f:...") when it has none; paths point
 * at modules and are checked again (stat) once per resolve pass, so a
 * restarted program costs a stat per file, two paths of one build-id share
 * a module, and a binary rebuilt at its path gets a new one while the old
 * stays for the processes still running it (found by build-id). */
#define SYM_CACHE_RUN        16
#define SYM_CACHE_NONE       UINT32_MAX
#define SYM_CACHE_FRAME_BITS 7                /* nframes, up to SYM_MAX_FRAMES */
#define SYM_CACHE_FIRST_MAX  ((1u << 25) - 1) /* results past this many frames are not kept */
_Static_assert(SYM_MAX_FRAMES < (1 << SYM_CACHE_FRAME_BITS), "a result's frame count must fit its bits");
/* (first frame << SYM_CACHE_FRAME_BITS) | nframes in frames, per offset
 * of one run: a run is 64 bytes */
struct sym_cache_run {
	uint32_t v[SYM_CACHE_RUN];
};

struct sym_module {
	char *path;             /* the path it was opened by */
	char *key;              /* its identity, as above; NULL for a free slot */
	struct elf_module *elf; /* NULL when it could not be opened */
	int err;                /* -errno from opening, 0 when open */
	/* results by file offset in runs of SYM_CACHE_RUN offsets: a block's
	 * instructions are looked up one after the other, and a hash per
	 * offset sent each to another cache line (kiln count: 7% of its own
	 * CPU in the map) */
	struct hashmap cache;           /* file offset / SYM_CACHE_RUN -> index into runs */
	VEC(struct sym_cache_run) runs; /* their results, SYM_CACHE_NONE until looked up */
	VEC(struct sym_frame) frames;   /* cached results, ranges named by runs */
	VEC(uint64_t) run_keys;         /* file offset / SYM_CACHE_RUN of each run, to write them out */
	uint64_t used;                  /* the symbolizer's clock at its last use (LRU) */
	int names;                      /* the name cache file: 0 not read yet, 1 in use, -1 not used */
	char *names_key;                /* its key (name_cache.c), while names is 1 */
	uint64_t names_added;           /* results named since it was read, not in the file */
};

/* The frames of a run slot v (not SYM_CACHE_NONE) of m, *n of them. */
static inline const struct sym_frame *sym_cache_frames(const struct sym_module *m, uint32_t v, uint32_t *n)
{
	*n = v & ((1u << SYM_CACHE_FRAME_BITS) - 1);
	return *n ? &m->frames.v[v >> SYM_CACHE_FRAME_BITS] : NULL;
}

/* A path as last seen: which module its file was, and the file's stat
 * when checked, to see whether it changed. */
struct sym_path {
	char *path;
	int module; /* module id (symbolizer_trim() drops the path with its module) */
	uint64_t dev, ino, size, mtime_ns;
	uint64_t checked; /* the pass (symbolizer epoch) it was last checked in */
};

struct symbolizer {
	struct strtab strs; /* names of every lookup; they live as long as the symbolizer */
	VEC(struct sym_module) modules;
	struct keymap module_index; /* identity key -> module id */
	size_t live_modules;
	VEC(struct sym_path) paths;
	struct keymap path_index; /* path -> paths id */
	uint64_t epoch;           /* resolve passes begun: a path is checked once per pass */
	uint64_t clock;           /* module uses, for the LRU */
	size_t max_modules;       /* 0: no bound */
	struct symbolizer_stats stats;
	struct kallsyms kernel;
	char *kallsyms_path;
	struct sym_frame unkept[SYM_MAX_FRAMES]; /* a result past SYM_CACHE_FIRST_MAX, until the next lookup */
};

/* Returns the module id for path (opening it on first use), or -errno.
 * Files of one build-id share a module: a stripped first file gives way
 * to a later path's twin with symbols. */
int symbolizer_module(struct symbolizer *s, const char *path);
/* Loads the kernel's symbols for the n sorted, distinct addresses addrs
 * only, when none are loaded yet: the lookups of a whole profile. */
void symbolizer_prepare_kernel(struct symbolizer *s, const uint64_t *addrs, size_t n);
/* The module id of the module whose build-id is hex when it is cached,
 * else -ENOENT. No file is read, but for one case: when the module's file
 * has no symbols, path (the mapping's file, or NULL) is looked at, and
 * read from then on if it is the same build with symbols (see
 * symbolizer_module). */
int symbolizer_module_by_build_id(struct symbolizer *s, const char *hex, const char *path);
/* A resolve pass begins: every path is checked again on its next use. */
void symbolizer_begin_pass(struct symbolizer *s);
/* Frees the least recently used modules beyond the bound
 * (symbolizer_set_max_modules()); module ids stay valid until then. */
void symbolizer_trim(struct symbolizer *s);
/* Stores n frames f as the result for file_offset in module id's cache
 * (the name cache file's entries); false when there is no room. */
bool symbolizer_cache_put(struct symbolizer *s, int module, uint64_t file_offset, const struct sym_frame *f, int n);

/* ---- name_cache.c: what the symbolizer named for a module's file offsets,
 * kept across runs in the debug cache directory as <build-id>.names */

/* The entries of a name cache file, strings interned into a strtab. */
struct name_cache_entry {
	uint64_t offset;
	uint32_t first; /* index of its first frame in frames */
	uint32_t n;     /* frames, 0 for an offset nothing names */
};
struct name_cache_file {
	VEC(struct name_cache_entry) entries;
	VEC(struct sym_frame) frames;
};
/* Parses the len bytes of a name cache file into f (emptied first) when
 * they are whole and carry exactly key; strings are interned into strs.
 * Returns 0, -EBADMSG for a damaged file, -ESTALE for another key. */
int name_cache_parse(const void *buf, size_t len, const char *key, struct strtab *strs, struct name_cache_file *f);
void name_cache_file_release(struct name_cache_file *f);
/* Reads module id's file into its cache the first time the module is
 * looked up: sets m->names to 1 (file read, or none yet) or -1 (no
 * build-id, the cache off, a key that cannot be made). */
void name_cache_load(struct symbolizer *s, int module);
/* Writes module id's file when results were added since it was read:
 * atomically, bounded in size; the directory's .names files are trimmed
 * to NAME_CACHE_MAX_BYTES, least recently used first. Returns 0 (also
 * when nothing was to be written) or -errno. */
int name_cache_store(struct symbolizer *s, int module);

/* Cached lookup in module id; sets *frames (valid until the next lookup) and
 * returns how many. */
int symbolizer_lookup_ids(struct symbolizer *s, int module, uint64_t file_offset, const struct sym_frame **frames);

#endif
