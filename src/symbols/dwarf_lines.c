/* dwarf_lines.c - a compile unit's line table decoded in one pass into a
 * compact array of rows (address, file, line), see dwarf_lines.h.
 *
 * Rows come out of the program sequence by sequence. Compilers emit each
 * sequence with rising addresses, and sequences that do not overlap, so
 * ordering the rows by address means ordering the sequences by their
 * first address: a few thousand for std instead of 41,000 rows. Anything
 * else (addresses that go back, sequences that overlap) takes a stable
 * sort of all rows, which gives the same order.
 */
#include "symbols/dwarf_lines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/dwarf_bytes.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define ROW_END         0x80000000u /* in row.line: the row ends a sequence */
#define MAX_FORMS       32          /* entry formats of a version 5 table: 5 are defined */
#define MAX_TABLE_FILES (1u << 20)  /* directories or files: hostile counts end here */

/* DWARF constants (dwarf.h is libdw's; this file reads bytes only) */
enum {
	LNS_COPY = 1,
	LNS_ADVANCE_PC,
	LNS_ADVANCE_LINE,
	LNS_SET_FILE,
	LNS_SET_COLUMN,
	LNS_NEGATE_STMT,
	LNS_SET_BASIC_BLOCK,
	LNS_CONST_ADD_PC,
	LNS_FIXED_ADVANCE_PC,
	LNS_SET_PROLOGUE_END,
	LNS_SET_EPILOGUE_BEGIN,
	LNS_SET_ISA,
	LNE_END_SEQUENCE = 1,
	LNE_SET_ADDRESS,
	LNE_DEFINE_FILE,
	LNE_SET_DISCRIMINATOR,
	LNCT_PATH = 1,
	LNCT_DIRECTORY_INDEX,
};

struct row {
	uint64_t addr;
	uint32_t file;
	uint32_t line; /* 0 for none or below 1; ROW_END marks a sequence's end */
};

struct sequence {
	size_t first, n; /* rows in the program's order */
	uint64_t lo;
};

/* named, to pass them to functions; the VEC macros work on them */
struct row_vec {
	struct row *v;
	size_t n, cap;
};
struct sequence_vec {
	struct sequence *v;
	size_t n, cap;
};

/* Rows of sequences that do not overlap others, or of several that do,
 * by address (at one address in the program's order). */
struct cluster {
	uint64_t lo;
	size_t first, n; /* in dwarf_lines.rows */
	bool sorted;     /* a copy is sorted when a lookup first lands in it */
};

struct dwarf_lines {
	struct row *rows;         /* the program's rows as it made them, then clusters' sorted copies */
	size_t nrows;             /* the program's */
	struct cluster *clusters; /* by address, none overlapping: their concatenation is libdw's order */
	size_t nclusters;
	VEC(size_t) files; /* offsets into names */
	struct strbuf names;
};

/* The NUL-terminated string at off in a string section, or NULL. */
static const char *section_str(const uint8_t *sec, size_t size, uint64_t off)
{
	if (!sec || off >= size || !memchr(sec + off, 0, size - off))
		return NULL;
	return (const char *)sec + off;
}

/* A version 5 entry's field: a string (*s) for a path's forms, a number
 * (*v) for an index's; false for a form not read (strx needs the CU's
 * string offsets) or bytes that end too soon. */
static bool read_form(struct dwarf_cursor *c, const struct dwarf_line_sections *sec, unsigned form,
                      unsigned offset_size, const char **s, uint64_t *v, bool *is_num)
{
	*s = NULL;
	*is_num = false;
	switch (form) {
	case FORM_STRING:
		*s = dwc_cstr(c);
		return *s != NULL;
	case FORM_STRP:
		*s = section_str(sec->str, sec->str_size, dwc_fixed(c, offset_size));
		return !c->bad && *s;
	case FORM_LINE_STRP:
		*s = section_str(sec->line_str, sec->line_str_size, dwc_fixed(c, offset_size));
		return !c->bad && *s;
	case FORM_DATA1:
	case FORM_DATA2:
	case FORM_DATA4:
	case FORM_DATA8: {
		static const unsigned width[] = {
		    [FORM_DATA1] = 1, [FORM_DATA2] = 2, [FORM_DATA4] = 4, [FORM_DATA8] = 8};
		*v = dwc_fixed(c, width[form]);
		*is_num = true;
		return !c->bad;
	}
	case FORM_UDATA:
		*v = dwc_uleb(c);
		*is_num = true;
		return !c->bad;
	case FORM_DATA16:
		dwc_fixed(c, 8);
		dwc_fixed(c, 8);
		return !c->bad;
	case FORM_BLOCK:
	case FORM_BLOCK1:
	case FORM_BLOCK2:
	case FORM_BLOCK4: {
		uint64_t len = form == FORM_BLOCK    ? dwc_uleb(c)
		               : form == FORM_BLOCK1 ? dwc_fixed(c, 1)
		               : form == FORM_BLOCK2 ? dwc_fixed(c, 2)
		                                     : dwc_fixed(c, 4);
		if (c->bad || len > (uint64_t)(c->end - c->p))
			return false;
		c->p += len;
		return true;
	}
	default:
		return false;
	}
}

static const char no_dir[] = ""; /* for libdw's "???", which has none */

/* Appends dir "/" name (name alone when absolute), as libdw names files. */
static void add_file(struct dwarf_lines *t, const char *dir, const char *name)
{
	vec_push(&t->files, t->names.len);
	if (name[0] != '/' && dir != no_dir) {
		if (dir)
			strbuf_add(&t->names, dir, strlen(dir));
		strbuf_addch(&t->names, '/');
	}
	strbuf_add(&t->names, name, strlen(name) + 1); /* with its NUL */
}

struct header {
	unsigned version, address_size, offset_size;
	uint8_t min_insn_len, max_ops, default_is_stmt, line_range, opcode_base;
	int8_t line_base;
	const uint8_t *std_lengths; /* [opcode - 1] */
	VEC(const char *) dirs;
};

/* A version 5 directory or file table: its entry formats, then entries. */
static bool read_v5_table(struct dwarf_cursor *c, const struct dwarf_line_sections *sec, struct header *h,
                          struct dwarf_lines *t, bool files)
{
	unsigned nforms = dwc_u8(c), forms[MAX_FORMS];
	if (c->bad || nforms > MAX_FORMS)
		return false;
	int path = -1, index = -1; /* the last format of each, as libdw takes them */
	for (unsigned i = 0; i < nforms; i++) {
		uint64_t type = dwc_uleb(c), form = dwc_uleb(c);
		if (c->bad || form > 0xffff)
			return false;
		forms[i] = (unsigned)form;
		if (type == LNCT_PATH)
			path = (int)i;
		else if (type == LNCT_DIRECTORY_INDEX)
			index = (int)i;
	}
	uint64_t n = dwc_uleb(c);
	if (c->bad || n > MAX_TABLE_FILES || (n && (path < 0 || (files && index < 0))))
		return false;
	for (uint64_t e = 0; e < n; e++) {
		const char *name = NULL;
		uint64_t dir = 0;
		for (unsigned i = 0; i < nforms; i++) {
			const char *s;
			uint64_t v = 0;
			bool is_num;
			if (!read_form(c, sec, forms[i], h->offset_size, &s, &v, &is_num))
				return false;
			if ((int)i == path) {
				if (!s)
					return false;
				name = s;
			} else if ((int)i == index) {
				if (!is_num)
					return false;
				dir = v;
			}
		}
		if (!files) {
			vec_push(&h->dirs, name);
			continue;
		}
		if (dir >= h->dirs.n)
			return false;
		add_file(t, h->dirs.v[dir], name);
	}
	if (files && n == 0)
		add_file(t, no_dir, "???"); /* libdw's file 0 when the table has none */
	return true;
}

/* Versions 2-4: NUL-terminated directory names, then files (name, then
 * directory, time and size as ULEB128), each list ended by an empty name.
 * Directory 0 is the CU's, file 0 is "???". */
static bool read_v4_tables(struct dwarf_cursor *c, struct header *h, struct dwarf_lines *t, const char *comp_dir)
{
	vec_push(&h->dirs, comp_dir);
	for (;;) {
		if (c->p >= c->end)
			return false;
		if (!*c->p) {
			c->p++;
			break;
		}
		const char *d = dwc_cstr(c);
		if (!d || h->dirs.n >= MAX_TABLE_FILES)
			return false;
		vec_push(&h->dirs, d);
	}
	add_file(t, no_dir, "???");
	for (;;) {
		if (c->p >= c->end)
			return false;
		if (!*c->p) {
			c->p++;
			return true;
		}
		const char *name = dwc_cstr(c);
		uint64_t dir = dwc_uleb(c);
		dwc_uleb(c); /* time */
		dwc_uleb(c); /* size */
		if (!name || c->bad || dir >= h->dirs.n || t->files.n >= MAX_TABLE_FILES)
			return false;
		add_file(t, h->dirs.v[dir], name);
	}
}

static bool read_header(struct dwarf_cursor *c, const struct dwarf_line_sections *sec, struct header *h,
                        struct dwarf_lines *t, unsigned cu_address_size, const char *comp_dir)
{
	uint64_t unit_length = dwc_fixed(c, 4);
	h->offset_size = 4;
	if (unit_length == 0xffffffffu) {
		unit_length = dwc_fixed(c, 8);
		h->offset_size = 8;
	}
	if (c->bad || unit_length > (uint64_t)(c->end - c->p) || unit_length < 2 + h->offset_size + 5)
		return false;
	c->end = c->p + unit_length;
	h->version = (unsigned)dwc_fixed(c, 2);
	if (h->version < 2 || h->version > 5)
		return false;
	h->address_size = cu_address_size;
	if (h->version >= 5) {
		h->address_size = dwc_u8(c);
		if (dwc_u8(c) != 0) /* segment selectors: none on Linux */
			return false;
	}
	if (h->address_size != 4 && h->address_size != 8)
		return false;
	uint64_t header_length = dwc_fixed(c, h->offset_size);
	if (c->bad || header_length > (uint64_t)(c->end - c->p))
		return false;
	const uint8_t *program = c->p + header_length;
	h->min_insn_len = dwc_u8(c);
	h->max_ops = h->version >= 4 ? dwc_u8(c) : 1;
	h->default_is_stmt = dwc_u8(c);
	h->line_base = (int8_t)dwc_u8(c);
	h->line_range = dwc_u8(c);
	h->opcode_base = dwc_u8(c);
	/* libdw's row keeps is_stmt in one bit; a line_range of 0 divides */
	if (c->bad || h->max_ops == 0 || h->default_is_stmt > 1 || h->line_range == 0 || h->opcode_base == 0 ||
	    (size_t)(c->end - c->p) < h->opcode_base - 1u)
		return false;
	h->std_lengths = c->p;
	c->p += h->opcode_base - 1;
	bool ok = h->version >= 5 ? read_v5_table(c, sec, h, t, false) && read_v5_table(c, sec, h, t, true)
	                          : read_v4_tables(c, h, t, comp_dir);
	if (!ok || c->bad || c->p != program)
		return false;
	return true;
}

/* libdw checks a standard opcode's operand count; an opcode past the
 * table reads the header bytes after it, as libdw's does. */
static bool std_length_is(const struct header *h, const struct dwarf_cursor *c, unsigned opcode, unsigned want)
{
	const uint8_t *at = h->std_lengths + opcode - 1;
	return at < c->end && *at == want;
}

struct state {
	uint64_t addr;
	uint64_t file, column, isa, discriminator;
	int64_t line;
	unsigned op_index, is_stmt;
};

static void state_reset(struct state *s, const struct header *h)
{
	memset(s, 0, sizeof(*s));
	s->file = 1;
	s->line = 1;
	s->is_stmt = h->default_is_stmt;
}

/* A row from the registers; false when a value would not fit libdw's row
 * (it then refuses the whole table). */
static bool emit(struct row_vec *rows, const struct state *s, bool end)
{
	if (s->file > UINT32_MAX || s->line > INT32_MAX || s->line < INT32_MIN || s->column > 0xffff ||
	    s->op_index > 0xff || s->isa > 0xff || s->discriminator > 0xffffff)
		return false;
	struct row r = {s->addr, (uint32_t)s->file, s->line > 0 ? (uint32_t)s->line : 0};
	if (end)
		r.line |= ROW_END;
	vec_push(rows, r);
	return true;
}

/* In 32 bits, as libdw computes it. */
static void advance_pc(struct state *s, const struct header *h, uint32_t adv)
{
	uint32_t ops = s->op_index + adv;
	s->addr += (uint32_t)(h->min_insn_len * (ops / h->max_ops));
	s->op_index = ops % h->max_ops;
}

/* Runs the line program, appending rows and noting where sequences
 * start; false on bytes libdw would refuse. */
static bool run_program(struct dwarf_cursor *c, struct header *h, struct dwarf_lines *t, struct row_vec *rows,
                        struct sequence_vec *seqs)
{
	struct state s;
	state_reset(&s, h);
	size_t seq_first = 0;
	while (c->p < c->end && !c->bad) {
		unsigned op = *c->p++;
		if (op >= h->opcode_base) {
			unsigned adj = op - h->opcode_base;
			s.line += h->line_base + (int)(adj % h->line_range);
			advance_pc(&s, h, adj / h->line_range);
			if (!emit(rows, &s, false))
				return false;
			s.discriminator = 0;
		} else if (op == 0) {
			if (c->end - c->p < 2)
				return false;
			unsigned len = *c->p++;
			if ((size_t)(c->end - c->p) < len)
				return false;
			unsigned sub = *c->p++;
			switch (sub) {
			case LNE_END_SEQUENCE:
				if (!emit(rows, &s, true))
					return false;
				if (rows->n > seq_first) {
					struct sequence q = {seq_first, rows->n - seq_first, rows->v[seq_first].addr};
					vec_push(seqs, q);
				}
				seq_first = rows->n;
				state_reset(&s, h);
				break;
			case LNE_SET_ADDRESS:
				s.op_index = 0;
				s.addr = dwc_fixed(c, h->address_size);
				break;
			case LNE_DEFINE_FILE: {
				const char *name = dwc_cstr(c);
				uint64_t dir = dwc_uleb(c);
				dwc_uleb(c);
				dwc_uleb(c);
				if (!name || c->bad || dir >= h->dirs.n || t->files.n >= MAX_TABLE_FILES)
					return false;
				add_file(t, h->dirs.v[dir], name);
				break;
			}
			case LNE_SET_DISCRIMINATOR:
				if (!std_length_is(h, c, LNE_SET_DISCRIMINATOR, 1))
					return false;
				s.discriminator = dwc_uleb(c);
				break;
			default:
				if (len == 0)
					return false;
				c->p += len - 1;
				break;
			}
		} else if (op <= LNS_SET_ISA) {
			static const uint8_t operands[] = {
			    [LNS_ADVANCE_PC] = 1, [LNS_ADVANCE_LINE] = 1,     [LNS_SET_FILE] = 1,
			    [LNS_SET_COLUMN] = 1, [LNS_FIXED_ADVANCE_PC] = 1, [LNS_SET_ISA] = 1};
			if (!std_length_is(h, c, op, operands[op]))
				return false;
			switch (op) {
			case LNS_COPY:
				if (!emit(rows, &s, false))
					return false;
				s.discriminator = 0;
				break;
			case LNS_ADVANCE_PC:
				advance_pc(&s, h, (uint32_t)dwc_uleb(c)); /* libdw keeps 32 bits */
				break;
			case LNS_ADVANCE_LINE:
				s.line += (int32_t)dwc_sleb(c);
				break;
			case LNS_SET_FILE:
				s.file = (uint32_t)dwc_uleb(c);
				break;
			case LNS_SET_COLUMN:
				s.column = (uint32_t)dwc_uleb(c);
				break;
			case LNS_NEGATE_STMT:
				s.is_stmt = 1 - s.is_stmt;
				break;
			case LNS_SET_BASIC_BLOCK:
			case LNS_SET_PROLOGUE_END:
			case LNS_SET_EPILOGUE_BEGIN:
				break;
			case LNS_CONST_ADD_PC:
				advance_pc(&s, h, (255u - h->opcode_base) / h->line_range);
				break;
			case LNS_FIXED_ADVANCE_PC:
				s.addr += dwc_fixed(c, 2);
				s.op_index = 0;
				break;
			case LNS_SET_ISA:
				s.isa = (uint32_t)dwc_uleb(c);
				break;
			}
		} else {
			/* an opcode this reader does not know: skip its operands */
			for (unsigned n = h->std_lengths[op - 1]; n > 0; n--)
				dwc_uleb(c);
		}
	}
	if (c->bad)
		return false;
	if (rows->n > seq_first) { /* rows after the last sequence's end */
		struct sequence q = {seq_first, rows->n - seq_first, rows->v[seq_first].addr};
		vec_push(seqs, q);
	}
	return true;
}

static int seq_cmp(const void *a, const void *b)
{
	const struct sequence *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first; /* the program's order */
}

/* Stable merge sort of rows by address. */
static void rows_sort(struct row *v, size_t n)
{
	struct row *tmp = xmalloc(n * sizeof(*tmp)), *src = v, *dst = tmp;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] = src[j].addr < src[i].addr ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		struct row *swap = src;
		src = dst;
		dst = swap;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
}

static int seq_first_cmp(const void *a, const void *b)
{
	const struct sequence *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* Orders the rows by address, ties in the program's order (libdw's order,
 * but for its putting ends first at one address, which the lookup does),
 * as clusters: sequences in address order that do not overlap stay where
 * the program put them, each a cluster; those that do (LLVM leaves the
 * sequences of functions the linker dropped at address 0) form a cluster
 * whose rows are copied after the program's and sorted together. Rows
 * whose addresses go back inside a sequence make one cluster of all. */
static void order_rows(struct dwarf_lines *t, struct row_vec *rows, struct sequence *seqs, size_t nseqs)
{
	size_t n = rows->n;
	t->nrows = n;
	t->clusters = xmalloc((nseqs ? nseqs : 1) * sizeof(*t->clusters));
	bool rising = true, sorted = true;
	for (size_t q = 0; q < nseqs && rising; q++) {
		for (size_t i = seqs[q].first + 1; i < seqs[q].first + seqs[q].n; i++)
			if (rows->v[i].addr < rows->v[i - 1].addr) {
				rising = false;
				break;
			}
		if (q > 0 && seq_cmp(&seqs[q - 1], &seqs[q]) > 0)
			sorted = false;
	}
	if (!rising) {
		vec_reserve(rows, 2 * n);
		memcpy(rows->v + n, rows->v, n * sizeof(*rows->v));
		rows->n = 2 * n;
		uint64_t lo = UINT64_MAX;
		for (size_t i = 0; i < n; i++)
			lo = rows->v[i].addr < lo ? rows->v[i].addr : lo;
		t->clusters[0] = (struct cluster){lo, n, n, false};
		t->nclusters = 1;
		t->rows = rows->v;
		rows->v = NULL;
		return;
	}
	if (!sorted)
		qsort(seqs, nseqs, sizeof(*seqs), seq_cmp);
	for (size_t q = 0; q < nseqs;) {
		/* a cluster: the sequences from c0 on that reach into the next;
		 * where one ends at the address the next starts, the next is
		 * apart only if it comes later in the program than all */
		size_t c0 = q;
		uint64_t end = rows->v[seqs[q].first + seqs[q].n - 1].addr;
		size_t last_first = seqs[q].first;
		for (q++; q < nseqs && (end > seqs[q].lo || (end == seqs[q].lo && last_first > seqs[q].first)); q++) {
			uint64_t e = rows->v[seqs[q].first + seqs[q].n - 1].addr;
			end = e > end ? e : end;
			last_first = seqs[q].first > last_first ? seqs[q].first : last_first;
		}
		struct cluster *c = &t->clusters[t->nclusters++];
		c->lo = seqs[c0].lo;
		if (q - c0 == 1) {
			c->first = seqs[c0].first;
			c->n = seqs[c0].n;
			c->sorted = true;
			continue;
		}
		/* the cluster's rows in the program's order, then by address */
		qsort(seqs + c0, q - c0, sizeof(*seqs), seq_first_cmp);
		c->first = rows->n;
		for (size_t p = c0; p < q; p++) {
			vec_reserve(rows, rows->n + seqs[p].n);
			memcpy(rows->v + rows->n, rows->v + seqs[p].first, seqs[p].n * sizeof(*rows->v));
			rows->n += seqs[p].n;
		}
		c->n = rows->n - c->first;
		c->sorted = false; /* sorted when first looked in: LLVM's are at 0, never run */
	}
	t->rows = rows->v;
	rows->v = NULL;
}

int dwarf_lines_new(const struct dwarf_line_sections *sec, uint64_t offset, unsigned address_size, const char *comp_dir,
                    struct dwarf_lines **out)
{
	if (!sec->line || offset >= sec->line_size)
		return -ERANGE;
	int rc = -EINVAL;
	struct dwarf_lines *t = xcalloc(1, sizeof(*t));
	struct header h = {0};
	struct row_vec rows = {0};
	struct sequence_vec seqs = {0};
	struct dwarf_cursor c = {sec->line + offset, sec->line + sec->line_size, false};
	if (!read_header(&c, sec, &h, t, address_size, comp_dir))
		goto out_free;
	/* every row takes at least a byte of the program: no growing copies */
	vec_reserve(&rows, (size_t)(c.end - c.p) + 1);
	if (!run_program(&c, &h, t, &rows, &seqs))
		goto out_free;
	order_rows(t, &rows, seqs.v, seqs.n);
	*out = t;
	t = NULL;
	rc = 0;
out_free:
	vec_free(&rows);
	vec_free(&seqs);
	vec_free(&h.dirs);
	dwarf_lines_free(t);
	return rc;
}

void dwarf_lines_free(struct dwarf_lines *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->clusters);
	vec_free(&t->files);
	strbuf_release(&t->names);
	free(t);
}

/* The rows of cluster ci, sorted first if they are a copy not sorted yet:
 * sorting the clusters of overlapping sequences (LLVM's dropped functions,
 * all at address 0) was a quarter of decoding a Rust program's line
 * tables, and no lookup of code that ran lands in them. */
static const struct row *cluster_rows(struct dwarf_lines *t, size_t ci)
{
	struct cluster *c = &t->clusters[ci];
	if (!c->sorted) {
		rows_sort(t->rows + c->first, c->n);
		c->sorted = true;
	}
	return t->rows + c->first;
}

bool dwarf_lines_find(struct dwarf_lines *t, uint64_t addr, uint32_t *file, uint32_t *line)
{
	/* the last cluster starting at or below addr, its last row at or
	 * below addr: the last such row of all */
	size_t lo = 0, hi = t->nclusters;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->clusters[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	size_t ci = lo - 1;
	const struct cluster *c = &t->clusters[ci];
	const struct row *r = cluster_rows(t, ci);
	lo = 0;
	hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* libdw marks the row last in its order an end (compilers may
	 * forget one): at the highest address there is none */
	if (ci + 1 == t->nclusters && lo == c->n)
		return false;
	/* libdw orders ends before other rows at one address: the last
	 * other row there, looking back into earlier clusters too */
	uint64_t at = r[lo - 1].addr;
	for (;;) {
		for (size_t i = lo; i-- > 0;) {
			if (r[i].addr != at)
				return false;
			if (!(r[i].line & ROW_END)) {
				*file = r[i].file;
				*line = r[i].line;
				return true;
			}
		}
		if (ci-- == 0)
			return false;
		c = &t->clusters[ci];
		r = cluster_rows(t, ci);
		lo = c->n;
	}
}

size_t dwarf_lines_file_count(const struct dwarf_lines *t)
{
	return t->files.n;
}

const char *dwarf_lines_file(const struct dwarf_lines *t, uint64_t i)
{
	return i < t->files.n ? t->names.buf + t->files.v[i] : NULL;
}

size_t dwarf_lines_row_count(const struct dwarf_lines *t)
{
	return t->nrows;
}
