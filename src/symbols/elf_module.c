/* elf_module.c - one ELF file opened through libdwfl (which finds separate
 * debug files by build-id and .gnu_debuglink), mapping file offsets to the
 * module's addresses through its PT_LOAD headers, and naming addresses from
 * DWARF (with inline chains) or, failing that, from symtab/dynsym.
 *
 * dwarf_getscopes() walks a CU's DIE tree on every call, too slow for tens
 * of thousands of addresses in big Rust CUs, so each CU is indexed once: a
 * tree of functions (subprograms and inlined instances) whose pc ranges are
 * sorted per level and searched by bisection.
 */
#include "symbols/symbols_int.h"

#include "symbols/dwarf_dies.h"
#include "symbols/dwarf_lines.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "profile/profile.h"
#include "util/num.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define NO_NODE            UINT32_MAX
#define MAX_DIE_DEPTH      128  /* hostile DWARF can nest without end */
#define MAX_RANGES_PER_DIE 4096 /* and list ranges without end */

struct segment {
	uint64_t offset, filesz, vaddr, memsz;
};

/* A function instance with pc ranges: a subprogram or an inlined copy. */
struct fn_node {
	Dwarf_Die die;
	uint32_t parent;               /* enclosing function node, NO_NODE at the top */
	uint32_t kids_first, kids_n;   /* its children's ranges in cu_index.ranges */
	uint32_t name;                 /* strtab id once named */
	const char *raw_name;          /* die_name() once named: libdw's string, NULL when none */
	uint32_t depth;                /* of its DIE below the CU's */
	uint32_t call_file, call_line; /* an inlined copy's call site, once sited */
	bool named;
	bool sited;
	bool inlined;  /* DW_TAG_inlined_subroutine */
	bool expanded; /* its children are indexed (kids_first, kids_n) */
};

struct fn_range {
	uint64_t lo, hi;
	uint32_t node;
	uint32_t parent; /* only while building: sort key */
	uint64_t maxhi;  /* the largest hi among the slice up to here */
};

struct cu_index {
	Dwarf_Die cudie;
	VEC(struct fn_node) nodes;
	VEC(struct fn_range) ranges;
	uint32_t top_first, top_n;
	struct dwarf_lines *lines; /* kiln's own decoding of its line table; NULL: libdw's */
	uint32_t *file_ids;        /* lines' file i interned (intern_path) + 1, 0 until first named */
	Dwarf_Files *files;        /* libdw's file table when lines is NULL, for DW_AT_call_file; NULL when absent */
	size_t nfiles;
	const char *comp_dir;          /* NULL when absent */
	const unsigned char *info_end; /* the end of the CU's DIEs; NULL when unknown */
	struct dwarf_abbrevs *abbrevs; /* to step over DIEs; NULL: dwarf_siblingof() */
	bool own_pc;                   /* abbrevs read pc ranges (not in a relocatable file: libdwfl relocates) */
	struct dwarf_unit_shape shape;
};

/* A function symbol from symtab/dynsym; libdwfl's own address lookup scans
 * the whole table each time, so the module keeps them sorted. */
struct elf_sym {
	uint64_t addr, size; /* dwfl addresses */
	const char *name;    /* libelf's string (or the module's, for X@plt), valid while the module lives */
	uint32_t id;         /* strtab id once interned */
	uint32_t index;      /* order in the symbol table: the first of equals wins */
	uint8_t kind;        /* sized function 2, sized other 1, label 0 */
	uint8_t bind;        /* global 2, weak 1, local 0 */
	uint8_t underscores; /* leading '_': internal names have more */
	uint8_t versioned;   /* unversioned or default (@@) 1, an old version (name@VER) 0 */
	bool interned;
};

struct elf_module {
	Dwfl *dwfl;
	Dwfl_Module *mod;
	GElf_Addr bias; /* main ELF vaddr + bias = dwfl address */
	VEC(struct segment) segments;
	bool is_rel; /* ET_REL: sections, not segments, say where bytes go */
	char build_id[2 * 64 + 1];
	struct hashmap cu_map; /* CU DIE offset -> index into cus */
	struct hashmap names;  /* a DWARF name string's address -> its strtab id (dwarf_name_id) */
	VEC(struct cu_index *) cus;
	VEC(struct elf_sym) syms;
	VEC(char *) plt_names; /* "X@plt" strings the syms point to */
	bool syms_loaded;
	bool has_symtab;    /* local function symbols or DWARF: not a stripped file */
	char *name;         /* the file's basename, for names of unnamed code */
	bool cache_pending; /* the debug file is to be copied into the debug cache */
	int line_sections;  /* 0 not yet looked up, 1 found, -1 none: line tables through libdw */
	struct dwarf_line_sections line_secs;
	int abbrev_section; /* as line_sections, for .debug_abbrev */
	const uint8_t *abbrev;
	size_t abbrev_size;
};

static char *debuginfo_path; /* NULL: libdwfl's default search path */

/* libdwfl's search for the separate debug file, the decompressed copy in
 * the debug cache first. A build-id file (Debian's -dbg and -dbgsym
 * layout) worth a copy is copied into the cache before libdw opens it,
 * and libdw is given the copy: it then inflates nothing (libdwfl's own
 * build-id search would keep its Elf of the compressed file, which libdw
 * inflates with zlib). A file found otherwise that is worth a copy is
 * marked, and copied once libdw has inflated its sections (cache_store). */
static int find_debuginfo_cached(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                                 const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                                 char **debuginfo_file_name)
{
	const unsigned char *bits = NULL;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	char *cached = NULL;
	int fd = n > 0 ? debug_cache_open(bits, n, &cached) : -ENOENT;
	if (fd >= 0) {
		*debuginfo_file_name = cached;
		return fd;
	}
	int dfd = n > 0 ? debug_find_build_id_file(debuginfo_path, bits, n) : -ENOENT;
	if (dfd >= 0) {
		fd = debug_cache_wanted(dfd) ? debug_cache_build(dfd, bits, n, &cached) : -ENOENT;
		close(dfd);
		if (fd >= 0) {
			*debuginfo_file_name = cached;
			return fd;
		}
	}
	/* libdwfl asks debuginfod when it finds nothing: never load it in vain */
	if (!debug_file_may_exist(mod, debuginfo_path, file_name, debuglink_file))
		return -1;
	fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
	                                  debuginfo_file_name);
	struct elf_module *m = *userdata;
	if (fd >= 0 && n > 0 && m && debug_cache_wanted(fd))
		m->cache_pending = true;
	return fd;
}

static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = find_debuginfo_cached,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

void symbols_set_debug_dirs(const char *dirs)
{
	free(debuginfo_path);
	debuginfo_path = NULL;
	if (!dirs || !*dirs)
		return;
	/* libdwfl's path: absolute entries are searched for .build-id/xx/rest.debug
	 * and for the file's own directory below them; the defaults follow */
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s:.debug:/usr/lib/debug", dirs);
	debuginfo_path = strbuf_detach(&sb);
}

static void read_segments(struct elf_module *m)
{
	Elf *elf = dwfl_module_getelf(m->mod, &m->bias);
	if (!elf)
		return;
	GElf_Ehdr ehdr;
	if (gelf_getehdr(elf, &ehdr) && ehdr.e_type == ET_REL)
		m->is_rel = true;
	size_t n;
	if (elf_getphdrnum(elf, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		struct segment s = {ph.p_offset, ph.p_filesz, ph.p_vaddr, ph.p_memsz};
		vec_push(&m->segments, s);
	}
}

static void read_build_id(struct elf_module *m)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(m->mod, &bits, &vaddr);
	if (n <= 0 || n > 64)
		return;
	num_hex_bytes(bits, (size_t)n, m->build_id);
}

int elf_module_open(const char *path, struct elf_module **out)
{
	/* stat first: libdwfl reports every failure as "not ELF", and opening a
	 * FIFO or device found in a mapping list could block. */
	struct stat st;
	if (stat(path, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC;
	if (access(path, R_OK) != 0)
		return -errno;
	int rc = -ENOEXEC;
	struct elf_module *m = xcalloc(1, sizeof(*m));
	hashmap_init(&m->cu_map);
	hashmap_init(&m->names);
	m->dwfl = dwfl_begin(&offline_callbacks);
	if (!m->dwfl) {
		rc = -ENOMEM;
		goto out_free;
	}
	const char *base = profile_module_name(path);
	dwfl_report_begin(m->dwfl);
	/* base 0, add_p_vaddr false: the module sits at its own link-time
	 * addresses, so the bias is 0 for executables and libraries alike. */
	m->mod = dwfl_report_elf(m->dwfl, base, path, -1, 0, false);
	if (dwfl_report_end(m->dwfl, NULL, NULL) != 0 || !m->mod)
		goto out_free;
	void **userdata = NULL;
	dwfl_module_info(m->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	if (userdata)
		*userdata = m; /* for find_debuginfo_cached */
	read_segments(m);
	read_build_id(m);
	m->name = xstrdup(base);
	*out = m;
	return 0;
out_free:
	elf_module_free(m);
	return rc;
}

void elf_module_free(struct elf_module *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->cus.n; i++) {
		dwarf_lines_free(m->cus.v[i]->lines);
		free(m->cus.v[i]->file_ids);
		dwarf_abbrevs_free(m->cus.v[i]->abbrevs);
		vec_free(&m->cus.v[i]->nodes);
		vec_free(&m->cus.v[i]->ranges);
		free(m->cus.v[i]);
	}
	vec_free(&m->cus);
	hashmap_release(&m->cu_map);
	hashmap_release(&m->names);
	vec_free(&m->segments);
	vec_free(&m->syms);
	for (size_t i = 0; i < m->plt_names.n; i++)
		free(m->plt_names.v[i]);
	vec_free(&m->plt_names);
	free(m->name);
	if (m->dwfl)
		dwfl_end(m->dwfl);
	free(m);
}

const char *elf_module_build_id(const struct elf_module *m)
{
	return m->build_id;
}

/* File offset -> address in the module as linked (before the dwfl bias). */
static bool offset_to_vaddr(struct elf_module *m, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < m->segments.n; i++) {
		const struct segment *s = &m->segments.v[i];
		if (off >= s->offset && off - s->offset < s->filesz) {
			*vaddr = s->vaddr + (off - s->offset);
			return true;
		}
	}
	/* A mapping starts on a page boundary, so offsets in the page before a
	 * segment's first byte still belong to it. */
	for (size_t i = 0; i < m->segments.n; i++) {
		const struct segment *s = &m->segments.v[i];
		uint64_t start = s->offset & ~(uint64_t)0xfff;
		if (off >= start && off < s->offset + s->memsz) {
			*vaddr = s->vaddr + off - s->offset; /* wraps consistently below s->offset */
			return true;
		}
	}
	if (m->segments.n)
		return false;
	if (m->is_rel) {
		/* An object file: libdwfl laid its sections out; find the one
		 * holding the offset and use the address libdwfl gave it. */
		GElf_Addr bias;
		Elf *elf = dwfl_module_getelf(m->mod, &bias);
		Elf_Scn *scn = NULL;
		while (elf && (scn = elf_nextscn(elf, scn)) != NULL) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NOBITS)
				continue;
			if (off >= sh.sh_offset && off - sh.sh_offset < sh.sh_size) {
				*vaddr = sh.sh_addr + (off - sh.sh_offset);
				return true;
			}
		}
		return false;
	}
	*vaddr = off; /* no program headers: take the offset as the address */
	return true;
}

/* ---- the per-CU function index */

static bool is_function_tag(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_entry_point;
}

/* Tags whose children may hold functions: everything else (types' members,
 * parameters, variables, enumerators) is skipped to keep indexing cheap. */
static bool may_contain_functions(int tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_entry_point:
	case DW_TAG_lexical_block:
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_compile_unit:
	case DW_TAG_partial_unit:
		return true;
	default:
		return false;
	}
}

/* Adds [lo, hi) to cu's ranges for node id (below parent) unless empty;
 * returns how many were added. */
static int range_add(struct cu_index *cu, uint64_t lo, uint64_t hi, uint32_t id, uint32_t parent)
{
	if (hi <= lo)
		return 0;
	struct fn_range *r = vec_grow(&cu->ranges);
	r->lo = lo;
	r->hi = hi;
	r->node = id;
	r->parent = parent;
	return 1;
}

/* Adds the pc ranges of the function DIE die (node id, below parent);
 * returns how many. A low_pc/high_pc pair is read by kiln (libdw's
 * dwarf_ranges() looks each attribute up through its abbreviation cache:
 * 7% of kiln count's instructions on a Rust program), a range list and
 * whatever kiln does not read by libdw. */
static int add_ranges(struct cu_index *cu, Dwarf_Die *die, uint32_t id, uint32_t parent)
{
	Dwarf_Addr base, lo, hi;
	int own = cu->own_pc ? dwarf_die_pc_range(cu->abbrevs, &cu->shape, die->addr, cu->info_end, &lo, &hi) : -1;
	if (own >= 0)
		return own ? range_add(cu, lo, hi, id, parent) : 0;
	ptrdiff_t off = 0;
	int n = 0;
	while (n < MAX_RANGES_PER_DIE && (off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0)
		n += range_add(cu, lo, hi, id, parent);
	return n;
}

/* dwarf_child() of die, through kiln's abbreviations when it has them
 * (libdw's parses the DIE's attributes through its abbreviation cache
 * and lock). */
static int die_child(struct cu_index *cu, Dwarf_Die *die, Dwarf_Die *child)
{
	const uint8_t *first;
	int rc = cu->abbrevs && cu->info_end ? dwarf_die_child(cu->abbrevs, &cu->shape, die->addr, cu->info_end, &first)
	                                     : -1;
	if (rc < 0)
		return dwarf_child(die, child);
	if (rc == 0) {
		memset(child, 0, sizeof(*child));
		child->addr = (void *)first;
		child->cu = die->cu;
	}
	return rc;
}

/* Indexes the functions directly below parent_die (through blocks,
 * namespaces and types, not through other functions: their children are
 * indexed when a lookup first enters them, so the bodies of the many
 * functions no sample hit are never walked).
 *
 * Returns where the list of parent_die's children ends (its null entry),
 * or NULL when that is not known. Without DW_AT_sibling (LLVM, so Rust,
 * emits none) dwarf_siblingof() finds a DIE's sibling by parsing its whole
 * subtree: stepping past a namespace that was just walked would parse it
 * again, once per level of nesting (std's one big CU took 28 ms). The end
 * of the walk says where the sibling starts instead. */
static const unsigned char *index_die_children(struct cu_index *cu, Dwarf_Die *parent_die, uint32_t parent, int depth)
{
	Dwarf_Die child, next;
	if (depth > MAX_DIE_DEPTH || die_child(cu, parent_die, &child) != 0)
		return NULL;
	for (;;) {
		/* the tag from kiln's abbreviations: libdw's takes a lock */
		bool kids = false;
		int tag =
		    cu->abbrevs && cu->info_end ? dwarf_die_tag(cu->abbrevs, child.addr, cu->info_end, &kids) : -1;
		if (tag < 0) {
			tag = dwarf_tag(&child);
			kids = dwarf_haschildren(&child) > 0;
		}
		const unsigned char *end = NULL; /* of child's children, when walked */
		bool walked = false;
		if (is_function_tag(tag)) {
			uint32_t id = (uint32_t)cu->nodes.n;
			int nranges = add_ranges(cu, &child, id, parent);
			if (nranges) {
				struct fn_node *n = vec_grow(&cu->nodes);
				memset(n, 0, sizeof(*n));
				n->die = child;
				n->parent = parent;
				n->depth = (uint32_t)depth;
				n->inlined = tag == DW_TAG_inlined_subroutine;
				walked = true; /* its children when first needed */
			}
		}
		if (!walked && may_contain_functions(tag) && kids)
			end = index_die_children(cu, &child, parent, depth + 1);
		if (!end && cu->abbrevs && cu->info_end) {
			/* not walked: step over it and its children by their
			 * forms' sizes (end is the byte before the sibling) */
			const unsigned char *after = dwarf_die_skip(cu->abbrevs, &cu->shape, child.addr, cu->info_end);
			if (after)
				end = after - 1;
		}
		if (end && cu->info_end && end + 1 < cu->info_end) {
			/* the sibling starts after the children's null entry;
			 * another null entry there ends this list too */
			if (end[1] == 0)
				return end + 1;
			memset(&next, 0, sizeof(next));
			next.addr = (void *)(end + 1);
			next.cu = child.cu;
			child = next;
			continue;
		}
		next.addr = NULL;
		int rc = dwarf_siblingof(&child, &next);
		if (rc != 0) /* libdw leaves next at the null entry that ended the list */
			return rc == 1 && next.addr ? next.addr : NULL;
		child = next;
	}
}

static int range_build_cmp(const void *a, const void *b)
{
	const struct fn_range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

/* Sorts the ranges appended from first on (one parent's) and gives each
 * the running maximum of hi. */
static void slice_finish(struct cu_index *cu, size_t first)
{
	size_t n = cu->ranges.n - first;
	if (n > 1)
		qsort(cu->ranges.v + first, n, sizeof(*cu->ranges.v), range_build_cmp);
	uint64_t maxhi = 0;
	for (size_t j = first; j < cu->ranges.n; j++) {
		if (cu->ranges.v[j].hi > maxhi)
			maxhi = cu->ranges.v[j].hi;
		cu->ranges.v[j].maxhi = maxhi;
	}
}

/* Indexes the children of node id once. */
static void node_expand(struct cu_index *cu, uint32_t id)
{
	if (cu->nodes.v[id].expanded)
		return;
	cu->nodes.v[id].expanded = true;
	size_t first = cu->ranges.n;
	Dwarf_Die die = cu->nodes.v[id].die; /* nodes may move as children are added */
	index_die_children(cu, &die, id, (int)cu->nodes.v[id].depth + 1);
	slice_finish(cu, first);
	cu->nodes.v[id].kids_first = (uint32_t)first;
	cu->nodes.v[id].kids_n = (uint32_t)(cu->ranges.n - first);
}

static Elf_Scn *section_named(Elf *elf, size_t shstrndx, const char *want, GElf_Shdr *sh);

/* The bytes of section name of elf: 1, 0 when absent, -1 when they
 * cannot be read as they are (no bits, still compressed). */
static int section_bytes(Elf *elf, size_t shstrndx, const char *name, const uint8_t **bytes, size_t *size)
{
	GElf_Shdr sh;
	Elf_Scn *scn = section_named(elf, shstrndx, name, &sh);
	if (!scn)
		return 0;
	if (sh.sh_type == SHT_NOBITS || (sh.sh_flags & SHF_COMPRESSED))
		return -1;
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf)
		return -1;
	*bytes = d->d_buf;
	*size = d->d_size;
	return 1;
}

/* The bytes of section name of the file libdw reads DWARF from; false
 * when absent or still compressed. */
static bool dwarf_section(Dwarf *dbg, const char *name, const uint8_t **bytes, size_t *size)
{
	Elf *elf = dbg ? dwarf_getelf(dbg) : NULL;
	size_t shstrndx;
	return elf && elf_getshdrstrndx(elf, &shstrndx) == 0 && section_bytes(elf, shstrndx, name, bytes, size) > 0;
}

/* Where the CU's DIEs end in memory (the next unit's header), and its
 * abbreviations to step over DIEs with; info_end NULL when unknown. */
static void cu_read_unit(struct elf_module *m, struct cu_index *cu, Dwarf_Die *cudie)
{
	Dwarf_Off die_off = dwarf_dieoffset(cudie), in_cu = dwarf_cuoffset(cudie), next, abbrev_off;
	Dwarf_Half version;
	uint8_t address_size, offset_size;
	Dwarf *dbg = dwarf_cu_getdwarf(cudie->cu);
	if (!dbg || die_off == (Dwarf_Off)-1 || in_cu == (Dwarf_Off)-1 || in_cu > die_off ||
	    dwarf_next_unit(dbg, die_off - in_cu, &next, NULL, &version, &abbrev_off, &address_size, &offset_size, NULL,
	                    NULL) != 0 ||
	    next <= die_off)
		return;
	cu->info_end = (const unsigned char *)cudie->addr + (next - die_off);
	if (!m->abbrev_section)
		m->abbrev_section = dwarf_section(dbg, ".debug_abbrev", &m->abbrev, &m->abbrev_size) ? 1 : -1;
	cu->shape.version = version;
	cu->shape.address_size = address_size;
	cu->shape.offset_size = offset_size;
	if (m->abbrev_section < 0 || version < 2 || version > 5 ||
	    dwarf_abbrevs_new(m->abbrev, m->abbrev_size, abbrev_off, &cu->shape, &cu->abbrevs) != 0)
		cu->abbrevs = NULL;
	cu->own_pc = cu->abbrevs && !m->is_rel;
}

/* The sections line tables read, from the file libdw reads DWARF from;
 * false when kiln's own decoding is not to be used for this module: a
 * relocatable file (libdwfl relocates its sections), or sections still
 * compressed. */
static bool line_sections(struct elf_module *m, Dwarf *dbg)
{
	if (m->line_sections)
		return m->line_sections > 0;
	m->line_sections = -1;
	Elf *elf = dbg && !m->is_rel ? dwarf_getelf(dbg) : NULL;
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	static const char *const names[] = {".debug_line", ".debug_line_str", ".debug_str"};
	const uint8_t **bytes[] = {&m->line_secs.line, &m->line_secs.line_str, &m->line_secs.str};
	size_t *sizes[] = {&m->line_secs.line_size, &m->line_secs.line_str_size, &m->line_secs.str_size};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (section_bytes(elf, shstrndx, names[i], bytes[i], sizes[i]) < 0)
			return false; /* absent is fine but for .debug_line, unreadable is not */
	if (!m->line_secs.line)
		return false;
	m->line_sections = 1;
	return true;
}

/* The CU's line table, decoded by kiln; NULL when libdw is to read it. */
static struct dwarf_lines *cu_lines(struct elf_module *m, Dwarf_Die *cudie, const char *comp_dir)
{
	Dwarf_Attribute a;
	Dwarf_Word off;
	Dwarf_Die same;
	uint8_t address_size;
	if (!dwarf_attr(cudie, DW_AT_stmt_list, &a) || dwarf_formudata(&a, &off) != 0 ||
	    dwarf_diecu(cudie, &same, &address_size, NULL) == NULL || !line_sections(m, dwarf_cu_getdwarf(cudie->cu)))
		return NULL;
	struct dwarf_lines *t;
	return dwarf_lines_new(&m->line_secs, off, address_size, comp_dir, &t) == 0 ? t : NULL;
}

static struct cu_index *cu_index_build(struct elf_module *m, Dwarf_Die *cudie)
{
	struct cu_index *cu = xcalloc(1, sizeof(*cu));
	cu->cudie = *cudie;
	cu_read_unit(m, cu, cudie);
	index_die_children(cu, cudie, NO_NODE, 0);
	slice_finish(cu, 0);
	cu->top_first = 0;
	cu->top_n = (uint32_t)cu->ranges.n;
	Dwarf_Attribute a;
	cu->comp_dir = dwarf_attr(cudie, DW_AT_comp_dir, &a) ? dwarf_formstring(&a) : NULL;
	cu->lines = cu_lines(m, cudie, cu->comp_dir);
	if (cu->lines) {
		cu->file_ids = xcalloc(dwarf_lines_file_count(cu->lines) + 1, sizeof(*cu->file_ids));
		return cu;
	}
	size_t nfiles = 0;
	if (dwarf_getsrcfiles(cudie, &cu->files, &nfiles) != 0)
		cu->files = NULL;
	cu->nfiles = cu->files ? nfiles : 0;
	return cu;
}

/* The node whose range in ranges[first, first + n) holds addr (the one that
 * starts last when several do), or NO_NODE. */
static uint32_t slice_find(const struct cu_index *cu, uint32_t first, uint32_t n, uint64_t addr)
{
	if (!n)
		return NO_NODE;
	const struct fn_range *r = cu->ranges.v + first;
	if (addr < r[0].lo)
		return NO_NODE;
	uint32_t lo = 0, hi = n;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r[mid].lo <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* Ranges may overlap (discarded functions left at address 0): walk
	 * back while some earlier range could still reach addr. */
	for (uint32_t i = lo + 1; i-- > 0 && r[i].maxhi > addr;)
		if (addr < r[i].hi)
			return r[i].node;
	return NO_NODE;
}

static struct cu_index *cu_for(struct elf_module *m, Dwarf_Die *cudie)
{
	uint64_t key = dwarf_dieoffset(cudie), id;
	if (key == UINT64_MAX)
		return NULL;
	if (hashmap_get(&m->cu_map, key, &id))
		return m->cus.v[id];
	struct cu_index *cu = cu_index_build(m, cudie);
	vec_push(&m->cus, cu);
	hashmap_put(&m->cu_map, key, m->cus.n - 1);
	return cu;
}

/* Interns a source path, made absolute with the CU's directory so that
 * paths from line tables and from call sites agree. */
static uint32_t intern_path(struct strtab *strs, const char *comp_dir, const char *file)
{
	if (file[0] == '/' || !comp_dir || comp_dir[0] != '/')
		return strtab_intern(strs, file);
	while (file[0] == '.' && file[1] == '/')
		file += 2;
	char buf[4096];
	size_t dl = strlen(comp_dir);
	while (dl > 1 && comp_dir[dl - 1] == '/')
		dl--;
	int n = snprintf(buf, sizeof(buf), "%.*s/%s", (int)dl, comp_dir, file);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return strtab_intern(strs, file);
	return strtab_intern(strs, buf);
}

/* File i of cu's own line table, interned (intern_path) once per CU:
 * every address named asks for its file, and building the absolute path
 * and hashing it each time was 2.5% of kiln count's instructions on a
 * Rust program. False when i is not one of the table's files. */
static bool cu_file(struct cu_index *cu, uint64_t i, struct strtab *strs, uint32_t *id)
{
	if (i >= dwarf_lines_file_count(cu->lines))
		return false;
	if (!cu->file_ids[i]) {
		const char *src = dwarf_lines_file(cu->lines, i);
		if (!src)
			return false;
		cu->file_ids[i] = intern_path(strs, cu->comp_dir, src) + 1;
	}
	*id = cu->file_ids[i] - 1;
	return true;
}

static const char *die_name(Dwarf_Die *die)
{
	/* The linkage name carries the full path (Rust, C++); integrate
	 * follows abstract_origin and specification to the declaration. */
	static const int attrs[] = {DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name};
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		Dwarf_Attribute a;
		if (dwarf_attr_integrate(die, attrs[i], &a)) {
			const char *s = dwarf_formstring(&a);
			if (s && *s)
				return s;
		}
	}
	return NULL;
}

/* The demangled, interned name of DWARF string s, demangled once per
 * module: the copies of a function inlined in many places name it with
 * one string of .debug_str (demangling again was 2% of kiln count's
 * instructions on Rust compute). */
static uint32_t dwarf_name_id(struct elf_module *m, const char *s, struct strtab *strs)
{
	uint64_t id;
	if (hashmap_get(&m->names, (uint64_t)(uintptr_t)s, &id))
		return (uint32_t)id;
	id = sym_intern_name(strs, s);
	hashmap_put(&m->names, (uint64_t)(uintptr_t)s, id);
	return (uint32_t)id;
}

static uint32_t node_name(struct elf_module *m, struct fn_node *n, struct strtab *strs)
{
	if (!n->named) {
		const char *s = die_name(&n->die);
		n->raw_name = s;
		n->name = s ? dwarf_name_id(m, s, strs) : 0;
		n->named = true;
	}
	return n->name;
}

/* The call site (file, line) of an inlined node, read from its DIE once:
 * every address inside an inlined copy asks for it. */
static void node_call_site(struct cu_index *cu, struct fn_node *n, struct strtab *strs, struct sym_frame *f)
{
	if (!n->sited) {
		Dwarf_Attribute a;
		Dwarf_Word w;
		n->call_file = 0;
		n->call_line = 0;
		if (dwarf_attr(&n->die, DW_AT_call_line, &a) && dwarf_formudata(&a, &w) == 0)
			n->call_line = w > UINT32_MAX ? 0 : (uint32_t)w;
		if ((cu->lines || cu->files) && dwarf_attr(&n->die, DW_AT_call_file, &a) &&
		    dwarf_formudata(&a, &w) == 0) {
			const char *file =
			    !cu->lines && w < cu->nfiles ? dwarf_filesrc(cu->files, w, NULL, NULL) : NULL;
			uint32_t id;
			if (cu->lines && cu_file(cu, w, strs, &id))
				n->call_file = id;
			else if (file)
				n->call_file = intern_path(strs, cu->comp_dir, file);
		}
		n->sited = true;
	}
	f->file = n->call_file;
	f->line = n->call_line;
}

/* Frames from the DWARF function tree; returns how many (0 = none). */
static int lookup_dwarf(struct elf_module *m, struct cu_index *cu, uint64_t a, struct strtab *strs,
                        struct sym_frame *out, int max, const char **outer_name)
{
	uint32_t node = slice_find(cu, cu->top_first, cu->top_n, a), inner = NO_NODE;
	for (int depth = 0; node != NO_NODE && depth <= MAX_DIE_DEPTH; depth++) {
		inner = node;
		node_expand(cu, node);
		const struct fn_node *n = &cu->nodes.v[node];
		node = slice_find(cu, n->kids_first, n->kids_n, a);
	}
	if (inner == NO_NODE)
		return 0;
	/* innermost first: frame k names node k's function; its file:line is
	 * the call site recorded on node k-1, the copy inlined into it */
	uint32_t chain[SYM_MAX_FRAMES];
	int k = 0;
	for (uint32_t id = inner; id != NO_NODE && k < max && k < SYM_MAX_FRAMES; id = cu->nodes.v[id].parent) {
		chain[k++] = id;
		if (!cu->nodes.v[id].inlined)
			break;
	}
	for (int i = 0; i < k; i++) {
		out[i].function = node_name(m, &cu->nodes.v[chain[i]], strs);
		out[i].file = 0;
		out[i].line = 0;
		if (i > 0)
			node_call_site(cu, &cu->nodes.v[chain[i - 1]], strs, &out[i]);
	}
	/* named above: the DIE's attributes are not looked up again */
	if (k > 0 && !cu->nodes.v[chain[k - 1]].inlined)
		*outer_name = cu->nodes.v[chain[k - 1]].raw_name;
	return k;
}

/* The line table's file (interned) and line (0 when below 1) for dwfl
 * address addr, from kiln's decoding of cu's table, or libdwfl's when cu
 * has none (or is NULL); false when no row covers addr. */
static bool module_line(struct elf_module *m, struct cu_index *cu, Dwarf_Addr addr, Dwarf_Addr dwbias,
                        struct strtab *strs, uint32_t *file, uint32_t *line)
{
	if (cu && cu->lines) {
		uint32_t fi;
		return dwarf_lines_find(cu->lines, addr - dwbias, &fi, line) && cu_file(cu, fi, strs, file);
	}
	Dwfl_Line *l = dwfl_module_getsrc(m->mod, addr);
	int lineno = 0;
	const char *src;
	if (!l || !(src = dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL)))
		return false;
	*file = intern_path(strs, dwfl_line_comp_dir(l), src);
	*line = lineno > 0 ? (uint32_t)lineno : 0;
	return true;
}

/* Orders symbols by address, and at one address the preferred last (the
 * lookup walks back from the end): sized functions over labels, then the
 * public name over internal aliases - exported over local, the default
 * version over an old one, fewer leading underscores, global over weak,
 * among exported names the shorter - and among equals the one the table
 * lists first, the definition its aliases follow. So malloc wins over
 * __libc_malloc and __GI___libc_malloc, pwrite over __libc_pwrite, and
 * the local __memmove_avx512_unaligned_erms over its alias __memcpy_...,
 * as users and perf call them. */
static int sym_cmp(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (!x->bind != !y->bind) /* exported (global or weak) over local */
		return !x->bind ? -1 : 1;
	if (x->versioned != y->versioned)
		return x->versioned < y->versioned ? -1 : 1;
	if (x->underscores != y->underscores)
		return x->underscores > y->underscores ? -1 : 1;
	if (x->bind != y->bind)
		return x->bind < y->bind ? -1 : 1;
	size_t lx = strlen(x->name), ly = strlen(y->name);
	if (x->bind && lx != ly)
		return lx > ly ? -1 : 1;
	if (x->index != y->index)
		return x->index > y->index ? -1 : 1;
	return 0;
}

static uint8_t leading_underscores(const char *name)
{
	/* glibc's internal aliases (__GI_x beside x, both local) hide their
	 * underscores behind the prefix: rank them below every other name */
	if (!strncmp(name, "__GI_", 5))
		return 255;
	uint8_t n = 0;
	while (name[n] == '_' && n < 255)
		n++;
	return n;
}

static void add_symbol(struct elf_module *m, uint64_t addr, uint64_t size, const char *name, uint8_t kind, uint8_t bind)
{
	struct elf_sym *e = vec_grow(&m->syms);
	memset(e, 0, sizeof(*e));
	e->addr = addr;
	e->size = size;
	e->name = name;
	e->index = (uint32_t)(m->syms.n - 1);
	e->kind = kind;
	e->bind = bind;
	e->underscores = leading_underscores(name);
	const char *at = strchr(name, '@');
	e->versioned = !at || at[1] == '@' || !strcmp(at, "@plt");
}

static Elf_Scn *section_named(Elf *elf, size_t shstrndx, const char *want, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		if (!gelf_getshdr(scn, sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh->sh_name);
		if (name && strcmp(name, want) == 0)
			return scn;
	}
	return NULL;
}

/* The dynamic symbol names of a relocation section, by GOT slot (r_offset)
 * and by index; "" where a relocation names no symbol. */
struct plt_relocs {
	VEC(uint64_t) slot;
	VEC(const char *) name;
};

static void read_relocs(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct plt_relocs *r)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	Elf_Scn *symscn = elf_getscn(elf, sh->sh_link);
	GElf_Shdr symsh;
	Elf_Data *syms = symscn ? elf_getdata(symscn, NULL) : NULL;
	if (!data || !syms || !gelf_getshdr(symscn, &symsh) || !sh->sh_entsize)
		return;
	size_t n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Rela rela;
		GElf_Rel rel;
		uint64_t off, info;
		if (sh->sh_type == SHT_RELA) {
			if (!gelf_getrela(data, (int)i, &rela))
				break;
			off = rela.r_offset;
			info = rela.r_info;
		} else {
			if (!gelf_getrel(data, (int)i, &rel))
				break;
			off = rel.r_offset;
			info = rel.r_info;
		}
		GElf_Sym sym;
		const char *name = "";
		if (GELF_R_SYM(info) && gelf_getsym(syms, (int)GELF_R_SYM(info), &sym)) {
			const char *s = elf_strptr(elf, symsh.sh_link, sym.st_name);
			if (s)
				name = s;
		}
		vec_push(&r->slot, off);
		vec_push(&r->name, name);
	}
}

/* Names each entry of one PLT section "X@plt" from the relocation of the
 * GOT slot it jumps through (or the index it pushes). */
static void name_plt_section(struct elf_module *m, Elf *elf, size_t shstrndx, const char *secname,
                             const struct plt_relocs *jump, const struct plt_relocs *dyn)
{
	GElf_Shdr sh;
	Elf_Scn *scn = section_named(elf, shstrndx, secname, &sh);
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	if (!data || sh.sh_type != SHT_PROGBITS || data->d_size < sh.sh_size)
		return;
	uint64_t step = sh.sh_entsize ? sh.sh_entsize : ARCH_PLT_ENTRY_SIZE;
	/* .plt opens with the resolver's own entry, which names nothing */
	for (uint64_t at = strcmp(secname, ".plt") == 0 ? step : 0; at + step <= sh.sh_size; at += step) {
		uint64_t got = 0;
		uint32_t idx = 0;
		const char *name = NULL;
		int kind = arch_plt_decode((const uint8_t *)data->d_buf + at, step, sh.sh_addr + at, &got, &idx);
		if (kind == 2 && idx < jump->name.n)
			name = jump->name.v[idx];
		for (int t = 0; kind == 1 && t < 2 && !name; t++) {
			const struct plt_relocs *r = t ? dyn : jump;
			for (size_t i = 0; i < r->slot.n; i++)
				if (r->slot.v[i] == got) {
					name = r->name.v[i];
					break;
				}
		}
		if (!name || !*name)
			continue;
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s@plt", name);
		char *owned = strbuf_detach(&sb);
		vec_push(&m->plt_names, owned);
		add_symbol(m, sh.sh_addr + at + m->bias, step, owned, 2, 2);
	}
}

/* Names the .init and .fini sections' code _init and _fini, as objdump and
 * gdb do, when no symbol starts there (a stripped library's .dynsym has
 * neither); sized to the section, so the PLT after .init is never theirs. */
static void name_init_fini(struct elf_module *m, Elf *elf, size_t shstrndx)
{
	static const char *const secs[][2] = {{".init", "_init"}, {".fini", "_fini"}};
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		GElf_Shdr sh;
		if (!section_named(elf, shstrndx, secs[i][0], &sh) || sh.sh_type != SHT_PROGBITS || !sh.sh_size)
			continue;
		uint64_t at = sh.sh_addr + m->bias;
		bool named = false;
		for (size_t k = 0; k < m->syms.n && !named; k++)
			named = m->syms.v[k].addr == at;
		if (!named)
			add_symbol(m, at, sh.sh_size, secs[i][1], 2, 1);
	}
}

/* PLT stubs have no symbols: make them from .rela.plt (and .rela.dyn for
 * .plt.got, whose slots are GLOB_DAT) as objdump shows them. */
static void load_plt(struct elf_module *m)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(m->mod, &bias);
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return;
	struct plt_relocs jump = {0}, dyn = {0};
	GElf_Shdr sh;
	Elf_Scn *scn = section_named(elf, shstrndx, ".rela.plt", &sh);
	if (!scn)
		scn = section_named(elf, shstrndx, ".rel.plt", &sh);
	if (scn)
		read_relocs(elf, scn, &sh, &jump);
	scn = section_named(elf, shstrndx, ".rela.dyn", &sh);
	if (scn)
		read_relocs(elf, scn, &sh, &dyn);
	static const char *const sections[] = {".plt", ".plt.sec", ".plt.got"};
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		name_plt_section(m, elf, shstrndx, sections[i], &jump, &dyn);
	name_init_fini(m, elf, shstrndx);
	vec_free(&jump.slot);
	vec_free(&jump.name);
	vec_free(&dyn.slot);
	vec_free(&dyn.name);
}

/* Copies a debug file marked by find_debuginfo_cached into the debug
 * cache, once libdw has opened (and inflated) it. A failure only means
 * the next read inflates it again. */
static void cache_store(struct elf_module *m)
{
	if (!m->cache_pending)
		return;
	m->cache_pending = false;
	Dwarf_Addr bias;
	Dwarf *dw = dwfl_module_getdwarf(m->mod, &bias);
	Elf *debug = dw ? dwarf_getelf(dw) : NULL;
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(m->mod, &bits, &vaddr);
	if (debug && n > 0 && debug != dwfl_module_getelf(m->mod, &bias))
		debug_cache_store(debug, bits, n);
}

static void load_symbols(struct elf_module *m)
{
	m->syms_loaded = true;
	Dwarf_Addr dwbias;
	if (dwfl_module_getdwarf(m->mod, &dwbias))
		m->has_symtab = true;
	cache_store(m);
	int n = dwfl_module_getsymtab(m->mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(m->mod, i, &sym, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !*name || name[0] == '$' || shndx == SHN_UNDEF || !addr ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE))
			continue;
		int bind = GELF_ST_BIND(sym.st_info);
		bool func = type == STT_FUNC || type == STT_GNU_IFUNC;
		/* dynsym holds no local symbols: a local function means symtab */
		if (func && bind == STB_LOCAL)
			m->has_symtab = true;
		add_symbol(m, addr, sym.st_size, name, (uint8_t)(sym.st_size ? (func ? 2 : 1) : 0),
		           (uint8_t)(bind == STB_GLOBAL ? 2
		                     : bind == STB_WEAK ? 1
		                                        : 0));
	}
	load_plt(m);
	if (m->syms.n)
		qsort(m->syms.v, m->syms.n, sizeof(*m->syms.v), sym_cmp);
}

/* The symbol naming addr, or NULL: one whose extent holds it, else a
 * sizeless one just below with no sized symbol ending in between. */
static struct elf_sym *find_symbol(struct elf_module *m, uint64_t addr)
{
	if (!m->syms_loaded)
		load_symbols(m);
	size_t lo = 0, hi = m->syms.n;
	if (!hi || addr < m->syms.v[0].addr)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms.v[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	struct elf_sym *sizeless = NULL;
	/* a few steps back cover nested and aliased symbols */
	for (size_t i = lo + 1, steps = 0; i-- > 0 && steps < 32; steps++) {
		struct elf_sym *e = &m->syms.v[i];
		if (e->size && addr - e->addr < e->size)
			return e;
		if (e->size)
			break; /* a sized symbol ended before addr */
		if (!sizeless)
			sizeless = e;
	}
	return sizeless;
}

/* A symbol's name without the version a symtab may spell into it
 * (__libc_start_main@@GLIBC_2.34): users and perf call it by the name. */
static uint32_t intern_unversioned(struct strtab *strs, const char *name)
{
	const char *at = strchr(name, '@');
	if (!at || !strcmp(at, "@plt") || at == name)
		return sym_intern_name(strs, name);
	char buf[1024];
	snprintf(buf, sizeof(buf), "%.*s", (int)(at - name), name);
	return sym_intern_name(strs, buf);
}

/* glibc calls a function's internal alias __GI_NAME (hidden_proto): when
 * no public symbol stands beside it (ld.so's __GI___tunables_init, in
 * .symtab and as DWARF's linkage name), NAME is the one users know.
 * Returns it, or NULL for any other name. */
static const char *gi_public_name(const char *name)
{
	return name && !strncmp(name, "__GI_", 5) && name[5] ? name + 5 : NULL;
}

static uint32_t intern_symbol(struct elf_sym *e, struct strtab *strs)
{
	if (!e->interned) {
		e->id = intern_unversioned(strs, e->name);
		e->interned = true;
	}
	return e->id;
}

/* When name (as DWARF or a weaker symbol spells it) is one of several
 * symbols at e's address, returns the alias group's least public other
 * name - the internal one kept beside the public name - or NULL. */
static const char *alias_of(struct elf_module *m, struct elf_sym *e, const char *name)
{
	size_t at = (size_t)(e - m->syms.v), first = at, last = at;
	while (first > 0 && m->syms.v[first - 1].addr == e->addr)
		first--;
	while (last + 1 < m->syms.n && m->syms.v[last + 1].addr == e->addr)
		last++;
	if (name) {
		for (size_t i = first; i <= last; i++)
			if (strcmp(m->syms.v[i].name, name) == 0)
				return strcmp(name, e->name) ? m->syms.v[i].name : NULL;
		return NULL;
	}
	/* no DWARF name: the worst-ranked function at the same address */
	for (size_t i = first; i <= last; i++)
		if (&m->syms.v[i] != e && m->syms.v[i].kind == e->kind && m->syms.v[i].size == e->size)
			return m->syms.v[i].name;
	return NULL;
}

/* The range [lo, hi) of the call frame information's FDE that covers addr
 * (both in the module's addresses, before the load bias), from .eh_frame
 * or else .debug_frame; with nonempty, an empty FDE does not count. */
static bool fde_range(struct elf_module *m, uint64_t addr, bool nonempty, uint64_t *lo, uint64_t *hi)
{
	for (int t = 0; t < 2; t++) {
		Dwarf_Addr cbias;
		Dwarf_CFI *cfi = t ? dwfl_module_dwarf_cfi(m->mod, &cbias) : dwfl_module_eh_cfi(m->mod, &cbias);
		Dwarf_Frame *frame = NULL;
		if (!cfi || dwarf_cfi_addrframe(cfi, addr - cbias, &frame) != 0)
			continue;
		Dwarf_Addr flo, fhi;
		bool ok = dwarf_frame_info(frame, &flo, &fhi, NULL) >= 0;
		free(frame);
		if (ok && (!nonempty || fhi > flo)) {
			*lo = flo + cbias;
			*hi = fhi + cbias;
			return true;
		}
	}
	return false;
}

/* Code no symbol names: the start of the FDE that covers addr (every
 * function the unwinder can step through has one), so the samples of one
 * unnamed function add up in one row. */
static bool fde_start(struct elf_module *m, uint64_t addr, uint64_t *start)
{
	uint64_t hi;
	return fde_range(m, addr, false, start, &hi);
}

bool elf_module_vaddr(struct elf_module *m, uint64_t file_offset, uint64_t *vaddr)
{
	return offset_to_vaddr(m, file_offset, vaddr);
}

void elf_module_debug_identity(struct elf_module *m, struct strbuf *sb)
{
	Dwarf_Addr dwbias;
	Dwarf *dw = dwfl_module_getdwarf(m->mod, &dwbias); /* finds the debug file, as a lookup would */
	cache_store(m); /* and copies it as a lookup would: the names read may leave none to do it */
	const char *debugfile = NULL;
	dwfl_module_info(m->mod, NULL, NULL, NULL, NULL, NULL, NULL, &debugfile);
	strbuf_addf(sb, "libdw %s; dwarf %s", dwfl_version(m->dwfl), dw ? "yes" : "no");
	struct stat st;
	if (!dw || !debugfile || stat(debugfile, &st) != 0) {
		strbuf_addstr(sb, "; debug none");
		return;
	}
	/* kiln's decompressed copies are touched on each use (their mtime is
	 * the cache's LRU clock), but only ever replaced by a rename: a new
	 * inode */
	const char *dir = symbols_debug_cache_dir();
	size_t dl = dir ? strlen(dir) : 0;
	bool ours = dir && strncmp(debugfile, dir, dl) == 0 && debugfile[dl] == '/' && !strchr(debugfile + dl + 1, '/');
	strbuf_addf(sb, "; debug %s %" PRIu64 " %" PRIu64 ".%09ld %" PRIu64 " ", debugfile, (uint64_t)st.st_size,
	            ours ? 0 : (uint64_t)st.st_mtim.tv_sec, ours ? 0 : st.st_mtim.tv_nsec, (uint64_t)st.st_ino);
	const void *bits = NULL;
	Elf *elf = dwarf_getelf(dw);
	ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &bits) : -1;
	char hex[2 * 64 + 1];
	num_hex_bytes(bits, n > 0 ? (n < 64 ? (size_t)n : 64) : 0, hex);
	strbuf_addstr(sb, n > 0 ? hex : "no-build-id");
}

bool elf_module_has_symbols(struct elf_module *m)
{
	if (!m->syms_loaded)
		load_symbols(m);
	return m->has_symtab;
}

/* Names unnamed code "sub_<vaddr>@module" after its FDE's start; returns
 * the strtab id, 0 when no FDE covers it. */
static uint32_t unnamed_function(struct elf_module *m, Dwarf_Addr addr, struct strtab *strs)
{
	uint64_t start;
	if (!fde_start(m, addr, &start))
		return 0;
	char buf[512];
	snprintf(buf, sizeof(buf), "sub_%" PRIx64 "@%s", (uint64_t)(start - m->bias), m->name);
	return strtab_intern(strs, buf);
}

int elf_module_lookup(struct elf_module *m, uint64_t file_offset, struct strtab *strs, struct sym_frame *out, int max)
{
	uint64_t vaddr;
	if (max <= 0 || !offset_to_vaddr(m, file_offset, &vaddr))
		return 0;
	memset(out, 0, (size_t)max * sizeof(*out));
	Dwarf_Addr addr = vaddr + m->bias, dwbias = 0;
	const char *dwarf_name = NULL;
	Dwarf_Die *cudie = dwfl_module_addrdie(m->mod, addr, &dwbias);
	struct cu_index *cu = cudie ? cu_for(m, cudie) : NULL;
	int n = cu ? lookup_dwarf(m, cu, addr - dwbias, strs, out, max, &dwarf_name) : 0;
	cache_store(m);
	/* the innermost frame's file:line comes from the line table */
	uint32_t file = 0, line = 0;
	if (!module_line(m, cu, addr, dwbias, strs, &file, &line))
		file = line = 0;
	if (n > 0) {
		out[0].file = file;
		out[0].line = line;
	}
	struct elf_sym *e = find_symbol(m, addr);
	if (n > 0 && out[n - 1].function != 0) {
		/* DWARF may name an internal alias (glibc's __GI___libc_malloc):
		 * the public symbol at the same address names it for users, or
		 * without one, the name after __GI_ */
		const char *alias = e && dwarf_name ? alias_of(m, e, dwarf_name) : NULL;
		const char *gi = alias ? NULL : gi_public_name(dwarf_name);
		if (alias || gi) {
			uint32_t internal = out[n - 1].function;
			out[n - 1].alias = intern_unversioned(strs, alias ? alias : dwarf_name);
			out[n - 1].function = alias ? intern_symbol(e, strs) : intern_unversioned(strs, gi);
			/* a copy of the function inlined into itself (glibc's read
			 * holds one of __GI___libc_read) takes the public name too */
			for (int i = 0; i < n - 1; i++)
				if (out[i].function == internal)
					out[i].function = out[n - 1].function;
		}
		return n;
	}
	/* No DWARF function, or an unnamed outermost one: symtab/dynsym, and
	 * failing that the FDE. A label below the FDE's start (_init before
	 * the PLT) names nothing of it. */
	uint32_t name = 0, alias = 0;
	uint8_t flags = 0;
	uint64_t start;
	if (e && !e->size && fde_start(m, addr, &start) && start > e->addr)
		e = NULL;
	if (e) {
		const char *a = alias_of(m, e, NULL), *gi = gi_public_name(e->name);
		if (!a && gi) { /* the internal alias alone */
			name = intern_unversioned(strs, gi);
			alias = intern_unversioned(strs, e->name);
		} else {
			name = intern_symbol(e, strs);
			alias = a ? intern_unversioned(strs, a) : 0;
		}
	} else if ((name = unnamed_function(m, addr, strs)) != 0) {
		flags = SYM_FRAME_UNNAMED;
	}
	if (n > 0) {
		out[n - 1].function = name;
		out[n - 1].alias = alias;
		out[n - 1].flags = flags;
		return n;
	}
	if (!name && !file)
		return 0;
	out[0].function = name;
	out[0].alias = alias;
	out[0].flags = flags;
	out[0].file = file;
	out[0].line = line;
	return 1;
}

bool elf_module_function_range(struct elf_module *m, uint64_t vaddr, uint64_t *lo, uint64_t *hi)
{
	Dwarf_Addr addr = vaddr + m->bias;
	struct elf_sym *e = find_symbol(m, addr);
	if (e && e->size && addr - e->addr < e->size) {
		*lo = e->addr - m->bias;
		*hi = e->addr + e->size - m->bias;
		return true;
	}
	/* no sized symbol (a stripped file, hand-written assembly): the FDE */
	uint64_t flo, fhi;
	if (!fde_range(m, addr, true, &flo, &fhi))
		return false;
	*lo = flo - m->bias;
	*hi = fhi - m->bias;
	return true;
}

int elf_module_read_code(struct elf_module *m, const char *path, uint64_t vaddr, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < m->segments.n; i++) {
		const struct segment *s = &m->segments.v[i];
		if (vaddr < s->vaddr || vaddr - s->vaddr >= s->filesz || len > s->filesz - (vaddr - s->vaddr))
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ssize_t n = pread(fd, buf, len, (off_t)(s->offset + (vaddr - s->vaddr)));
		int rc = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
		close(fd);
		return rc;
	}
	return -ERANGE;
}

bool elf_module_line(struct elf_module *m, uint64_t vaddr, struct strtab *strs, uint32_t *file, uint32_t *line)
{
	Dwarf_Addr addr = vaddr + m->bias, dwbias = 0;
	Dwarf_Die *cudie = dwfl_module_addrdie(m->mod, addr, &dwbias);
	struct cu_index *cu = cudie ? cu_for(m, cudie) : NULL;
	uint32_t f, l;
	if (!module_line(m, cu, addr, dwbias, strs, &f, &l) || l == 0)
		return false;
	*file = f;
	*line = l;
	return true;
}
