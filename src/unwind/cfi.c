/* cfi.c - per-module CFI through libdw, compiled into flat rules, plus the
 * DWARF expression evaluator used when a rule is more than reg + offset.
 *
 * libdw answers "what are the rules at this address" slowly (it finds the
 * FDE and replays its instructions); unwind.c caches our compiled rows per
 * address so that cost is paid once per distinct pc.
 */
#include "unwind/cfi.h"

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unwind/cfi_check.h"
#include "util/vdso.h"
#include "util/xalloc.h"

/* Whether the .eh_frame dwarf_getcfi_elf chose is safe to replay (see
 * cfi_check.h). Found as libdw finds it: the first section named .eh_frame
 * (with an .eh_frame_hdr named before it), else what PT_GNU_EH_FRAME points
 * at, up to the end of the file. */
static bool eh_frame_safe(Elf *elf)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	struct cfi_check_hdr hdr = {0};
	Elf_Scn *scn = NULL, *hdr_scn = NULL;
	GElf_Shdr sh;
	GElf_Phdr ph;
	size_t shstrndx, nph, filesize;
	uint64_t vaddr;

	if (!ident || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	while (shstrndx != 0 && (scn = elf_nextscn(elf, scn)) != NULL) {
		const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (name && strcmp(name, ".eh_frame_hdr") == 0) {
			hdr_scn = scn;
			hdr.vaddr = sh.sh_addr;
		} else if (name && strcmp(name, ".eh_frame") == 0) {
			Elf_Data *data = sh.sh_type != SHT_NOBITS ? elf_rawdata(scn, NULL) : NULL;
			Elf_Data *hdr_data = hdr_scn ? elf_rawdata(hdr_scn, NULL) : NULL;
			if (!data || !data->d_buf)
				return false;
			if (hdr_data && hdr_data->d_buf) {
				hdr.bytes = hdr_data->d_buf;
				hdr.size = hdr_data->d_size;
			}
			return cfi_check_section(ident, data, true, sh.sh_addr, hdr.bytes ? &hdr : NULL);
		}
	}
	if (elf_getphdrnum(elf, &nph) != 0 || !elf_rawfile(elf, &filesize))
		return false;
	for (size_t i = 0; i < nph; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph))
			return false;
		if (ph.p_type != PT_GNU_EH_FRAME)
			continue;
		Elf_Data *hdr_data = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_BYTE);
		if (!hdr_data || !hdr_data->d_buf)
			return false;
		hdr = (struct cfi_check_hdr){hdr_data->d_buf, ph.p_filesz, ph.p_vaddr};
		if (cfi_check_hdr_eh_frame(ident, &hdr, &vaddr) != 0)
			return false;
		uint64_t off = vaddr - ph.p_vaddr + ph.p_offset;
		if (off >= filesize)
			return false;
		Elf_Data *data = elf_getdata_rawchunk(elf, (int64_t)off, filesize - off, ELF_T_BYTE);
		return data && data->d_buf && cfi_check_section(ident, data, true, vaddr, &hdr);
	}
	return false;
}

/* Whether every section libdw may take as .debug_frame is safe to replay:
 * its (possibly compressed, .dwo or LTO) names, skipping what
 * dwarf_begin_elf skips. After dwarf_begin_elf, so that the data is what it
 * decompressed. */
static bool debug_frame_safe(Elf *elf)
{
	static const char *const names[] = {".debug_frame", ".zdebug_frame", ".debug_frame.dwo", ".zdebug_frame.dwo",
	                                    ".gnu.debuglto_.debug_frame"};
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;

	if (!ident || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		const char *name;
		size_t i;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || (sh.sh_flags & SHF_COMPRESSED))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		for (i = 0; name && i < sizeof(names) / sizeof(names[0]) && strcmp(name, names[i]) != 0; i++)
			;
		if (!name || i == sizeof(names) / sizeof(names[0]))
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (data && data->d_buf && data->d_size && !cfi_check_section(ident, data, false, 0, NULL))
			return false;
	}
	return true;
}

static int module_setup(struct cfi_module *m)
{
	GElf_Ehdr ehdr;
	size_t nph;

	if (elf_kind(m->elf) != ELF_K_ELF || !gelf_getehdr(m->elf, &ehdr))
		return -ENOEXEC;
	if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_machine != ARCH_ELF_MACHINE)
		return -ENOEXEC;
	if (elf_getphdrnum(m->elf, &nph) == 0) {
		for (size_t i = 0; i < nph && m->nloads < CFI_MAX_LOADS; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(m->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			struct cfi_load *l = &m->loads[m->nloads++];
			l->offset = ph.p_offset;
			l->vaddr = ph.p_vaddr;
			l->size = ph.p_memsz > ph.p_filesz ? ph.p_memsz : ph.p_filesz;
		}
	}
	m->eh_cfi = dwarf_getcfi_elf(m->elf);
	/* Hostile CFI would make libdw allocate gigabytes: then none at all. */
	if (m->eh_cfi && !eh_frame_safe(m->elf)) {
		dwarf_cfi_end(m->eh_cfi);
		m->eh_cfi = NULL;
		m->refused = true;
	}
	return 0;
}

/* Takes elf (NULL when libelf refused the bytes) and reads its CFI; on
 * failure the module is closed but stays marked opened, so it is not retried. */
static int module_attach_elf(struct cfi_module *m, Elf *elf)
{
	m->elf = elf;
	int err = elf ? module_setup(m) : -ENOEXEC;
	GElf_Ehdr eh;
	if (!err && gelf_getehdr(elf, &eh))
		m->entry = eh.e_entry;
	if (err) {
		cfi_module_close(m);
		m->opened = true;
	}
	return err;
}

int cfi_module_open(struct cfi_module *m)
{
	struct stat st;
	int err;

	m->opened = true;
	m->fd = -1;
	if (!m->path)
		return -ENOENT;
	if (strcmp(m->path, "[vdso]") == 0) {
		const void *image;
		size_t size;
		err = vdso_image(&image, &size); /* ours stands in for the sampled process's */
		if (err)
			return err;
		return cfi_module_open_memory(m, image, size);
	}
	if (m->path[0] != '/')
		return -ENOENT;
	m->fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	if (fstat(m->fd, &st) < 0) {
		err = -errno;
		cfi_module_close(m);
		m->opened = true;
		return err;
	}
	m->from_file = true;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->mtime = st.st_mtim;
	return module_attach_elf(m, elf_begin(m->fd, ELF_C_READ_MMAP, NULL));
}

int cfi_module_open_memory(struct cfi_module *m, const void *image, size_t size)
{
	m->opened = true;
	m->fd = -1;
	if (size == 0)
		return -ENOEXEC;
	/* libelf may convert in place and needs the image for the module's life. */
	m->image = xmalloc(size);
	memcpy(m->image, image, size);
	return module_attach_elf(m, elf_memory(m->image, size));
}

void cfi_module_close(struct cfi_module *m)
{
	if (m->eh_cfi)
		dwarf_cfi_end(m->eh_cfi);
	if (m->dwarf)
		dwarf_end(m->dwarf);
	if (m->elf)
		elf_end(m->elf);
	if (m->fd >= 0)
		close(m->fd);
	free(m->image);
	m->eh_cfi = NULL;
	m->dwarf = NULL;
	m->debug_cfi = NULL;
	m->debug_tried = false;
	m->elf = NULL;
	m->fd = -1;
	m->image = NULL;
	m->nloads = 0;
	m->entry = 0;
	m->opened = false;
	m->from_file = false;
}

bool cfi_module_changed(const struct cfi_module *m)
{
	struct stat st;

	if (!m->from_file)
		return false;
	if (stat(m->path, &st) < 0)
		return true;
	return st.st_dev != m->dev || st.st_ino != m->ino || st.st_mtim.tv_sec != m->mtime.tv_sec ||
	       st.st_mtim.tv_nsec != m->mtime.tv_nsec;
}

bool cfi_module_vaddr(const struct cfi_module *m, uint64_t offset, uint64_t *vaddr)
{
	for (int i = 0; i < m->nloads; i++) {
		const struct cfi_load *l = &m->loads[i];
		if (offset >= l->offset && offset - l->offset < l->size) {
			*vaddr = offset - l->offset + l->vaddr;
			return true;
		}
	}
	/* No program headers (or a gap): offsets are the best guess. */
	*vaddr = offset;
	return m->nloads == 0;
}

/* ---- compiling libdw's answer ---- */

static bool fits_i32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static bool is_breg(const Dwarf_Op *op, unsigned *reg, int64_t *off)
{
	if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		*reg = op->atom - DW_OP_breg0;
		*off = (int64_t)op->number;
		return true;
	}
	if (op->atom == DW_OP_bregx) {
		*reg = op->number > 255 ? 255 : (unsigned)op->number;
		*off = (int64_t)op->number2;
		return true;
	}
	return false;
}

static void rule_expr(struct cfi_rule *r, const Dwarf_Op *ops, size_t nops, struct cfi_op_pool *pool)
{
	if (nops == 0 || nops > UINT16_MAX || pool->ops.n + nops > INT32_MAX) {
		r->kind = CFI_BAD;
		return;
	}
	r->kind = CFI_EXPR;
	r->nops = (uint16_t)nops;
	r->arg = (int32_t)pool->ops.n;
	vec_reserve(&pool->ops, pool->ops.n + nops);
	memcpy(&pool->ops.v[pool->ops.n], ops, nops * sizeof(*ops));
	pool->ops.n += nops;
}

static void compile_cfa(struct cfi_rule *r, const Dwarf_Op *ops, size_t nops, struct cfi_op_pool *pool)
{
	unsigned reg;
	int64_t off;

	if (nops == 0) {
		r->kind = CFI_BAD;
		return;
	}
	if (nops == 1 && is_breg(&ops[0], &reg, &off) && reg < ARCH_DWARF_NREGS && fits_i32(off)) {
		r->kind = CFI_REG_OFF;
		r->reg = (uint8_t)reg;
		r->arg = (int32_t)off;
		return;
	}
	rule_expr(r, ops, nops, pool);
}

static void compile_reg(struct cfi_rule *r, const Dwarf_Op *ops, size_t nops, struct cfi_op_pool *pool)
{
	unsigned reg;
	int64_t off = 0;
	bool value = nops > 0 && ops[nops - 1].atom == DW_OP_stack_value;
	size_t n = value ? nops - 1 : nops;

	if (nops == 0) {
		/* libdw: a NULL *ops means same_value, its ops_mem means undefined. */
		r->kind = ops == NULL ? CFI_SAME : CFI_UNDEF;
		return;
	}
	if (ops[0].atom == DW_OP_call_frame_cfa && (n == 1 || (n == 2 && ops[1].atom == DW_OP_plus_uconst))) {
		if (n == 2)
			off = (int64_t)ops[1].number;
		if (fits_i32(off)) {
			r->kind = value ? CFI_VAL_OFFSET : CFI_OFFSET;
			r->arg = (int32_t)off;
			return;
		}
	}
	if (!value && n == 1) {
		if (ops[0].atom >= DW_OP_reg0 && ops[0].atom <= DW_OP_reg31)
			reg = ops[0].atom - DW_OP_reg0;
		else if (ops[0].atom == DW_OP_regx)
			reg = ops[0].number > 255 ? 255 : (unsigned)ops[0].number;
		else
			reg = 255;
		if (reg < ARCH_DWARF_NREGS) {
			r->kind = CFI_REG_OFF;
			r->reg = (uint8_t)reg;
			r->arg = 0;
			return;
		}
	}
	if (value && n == 1 && is_breg(&ops[0], &reg, &off) && reg < ARCH_DWARF_NREGS && fits_i32(off)) {
		r->kind = CFI_REG_OFF;
		r->reg = (uint8_t)reg;
		r->arg = (int32_t)off;
		return;
	}
	rule_expr(r, ops, nops, pool);
}

static bool frame_at(struct cfi_module *m, uint64_t vaddr, Dwarf_Frame **frame)
{
	if (m->eh_cfi && dwarf_cfi_addrframe(m->eh_cfi, vaddr, frame) == 0)
		return true;
	if (!m->debug_tried) {
		m->debug_tried = true;
		if (m->elf)
			m->dwarf = dwarf_begin_elf(m->elf, DWARF_C_READ, NULL);
		if (m->dwarf)
			m->debug_cfi = dwarf_getcfi(m->dwarf);
		if (m->debug_cfi && !debug_frame_safe(m->elf)) {
			m->debug_cfi = NULL;
			m->refused = true;
		}
	}
	return m->debug_cfi && dwarf_cfi_addrframe(m->debug_cfi, vaddr, frame) == 0;
}

void cfi_module_compile(struct cfi_module *m, uint64_t vaddr, struct cfi_row *row, struct cfi_op_pool *pool)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_Op ops_mem[3], *ops;
	size_t nops;
	bool signalp = false;

	memset(row, 0, sizeof(*row));
	row->vaddr = vaddr;
	row->module = m->id;
	if (!frame_at(m, vaddr, &frame))
		return;
	row->flags = CFI_ROW_FOUND;
	if (dwarf_frame_info(frame, NULL, NULL, &signalp) >= 0 && signalp)
		row->flags |= CFI_ROW_SIGNAL;
	if (dwarf_frame_cfa(frame, &ops, &nops) == 0)
		compile_cfa(&row->cfa, ops, nops, pool);
	else
		row->cfa.kind = CFI_BAD;
	for (int reg = 0; reg < ARCH_DWARF_NREGS; reg++) {
		struct cfi_rule *r = &row->regs[reg];
		if (reg == ARCH_DWARF_IP && ARCH_DWARF_IP != ARCH_DWARF_RA)
			continue; /* no CFI names aarch64's pc: cfi_row_apply takes lr */
		if (dwarf_frame_register(frame, reg, ops_mem, &ops, &nops) == 0)
			compile_reg(r, ops, nops, pool);
		else
			r->kind = CFI_BAD;
		if (r->kind == CFI_SAME)
			row->same |= 1ULL << reg;
		else if (reg == ARCH_DWARF_SP && r->kind == CFI_VAL_OFFSET && r->arg == 0)
			; /* the default, applied without a rule */
		else if (r->kind != CFI_UNDEF)
			row->other |= 1ULL << reg;
	}
	free(frame);
}

/* ---- evaluation ---- */

int cfi_stack_read(const struct cfi_stack *st, uint64_t addr, unsigned size, uint64_t *out)
{
	uint64_t off = addr - st->addr;

	if (addr < st->addr)
		return UNWIND_BAD_FRAME;
	if (st->size < size || off > st->size - size)
		return UNWIND_TRUNCATED;
	*out = 0;
	memcpy(out, st->bytes + off, size); /* both architectures are little-endian */
	return 0;
}

#define EVAL_STACK 64

/* A register a rule needs; one lost to the end of the copy makes the
 * unwind truncated rather than bad. */
static inline int reg_get(const struct cfi_regs *regs, unsigned reg, uint64_t *out)
{
	if (reg < ARCH_DWARF_NREGS && (regs->valid & (1ULL << reg))) {
		*out = regs->r[reg];
		return 0;
	}
	if (reg < ARCH_DWARF_NREGS && (regs->truncated & (1ULL << reg)))
		return UNWIND_TRUNCATED;
	return UNWIND_BAD_FRAME;
}

int cfi_eval(const Dwarf_Op *ops, size_t nops, const struct cfi_regs *regs, bool has_cfa, uint64_t cfa,
             const struct cfi_stack *st, uint64_t *out, bool *is_value)
{
	uint64_t s[EVAL_STACK], a, b;
	size_t sp = 0;
	unsigned reg;
	int err;

	*is_value = false;
#define NEED(k)                                                                                                        \
	do {                                                                                                           \
		if (sp < (k))                                                                                          \
			return UNWIND_BAD_FRAME;                                                                       \
	} while (0)
#define PUSH(v)                                                                                                        \
	do {                                                                                                           \
		uint64_t v_ = (v);                                                                                     \
		if (sp >= EVAL_STACK)                                                                                  \
			return UNWIND_BAD_FRAME;                                                                       \
		s[sp] = v_;                                                                                            \
		sp++;                                                                                                  \
	} while (0)
#define REG(rn, dst)                                                                                                   \
	do {                                                                                                           \
		err = reg_get(regs, (rn), &(dst));                                                                     \
		if (err)                                                                                               \
			return err;                                                                                    \
	} while (0)

	for (size_t i = 0; i < nops; i++) {
		const Dwarf_Op *op = &ops[i];
		uint8_t at = op->atom;

		if (at >= DW_OP_lit0 && at <= DW_OP_lit31) {
			PUSH((uint64_t)(at - DW_OP_lit0));
			continue;
		}
		if (at >= DW_OP_breg0 && at <= DW_OP_breg31) {
			reg = at - DW_OP_breg0;
			REG(reg, a);
			PUSH(a + op->number);
			continue;
		}
		if ((at >= DW_OP_reg0 && at <= DW_OP_reg31) || at == DW_OP_regx) {
			/* A register location names the value itself; it must stand alone. */
			reg = at == DW_OP_regx ? (op->number > 255 ? 255 : (unsigned)op->number)
			                       : (unsigned)(at - DW_OP_reg0);
			if (nops != 1)
				return UNWIND_BAD_FRAME;
			REG(reg, a);
			PUSH(a);
			*is_value = true;
			continue;
		}
		switch (at) {
		case DW_OP_bregx:
			reg = op->number > 255 ? 255 : (unsigned)op->number;
			REG(reg, a);
			PUSH(a + op->number2);
			break;
		case DW_OP_addr:
		case DW_OP_const1u:
		case DW_OP_const1s:
		case DW_OP_const2u:
		case DW_OP_const2s:
		case DW_OP_const4u:
		case DW_OP_const4s:
		case DW_OP_const8u:
		case DW_OP_const8s:
		case DW_OP_constu:
		case DW_OP_consts:
			PUSH(op->number);
			break;
		case DW_OP_call_frame_cfa:
			if (!has_cfa)
				return UNWIND_BAD_FRAME;
			PUSH(cfa);
			break;
		case DW_OP_dup:
			NEED(1);
			PUSH(s[sp - 1]);
			break;
		case DW_OP_drop:
			NEED(1);
			sp--;
			break;
		case DW_OP_over:
			NEED(2);
			PUSH(s[sp - 2]);
			break;
		case DW_OP_pick:
			if (op->number >= sp)
				return UNWIND_BAD_FRAME;
			PUSH(s[sp - 1 - op->number]);
			break;
		case DW_OP_swap:
			NEED(2);
			a = s[sp - 1];
			s[sp - 1] = s[sp - 2];
			s[sp - 2] = a;
			break;
		case DW_OP_rot:
			NEED(3);
			a = s[sp - 1];
			s[sp - 1] = s[sp - 2];
			s[sp - 2] = s[sp - 3];
			s[sp - 3] = a;
			break;
		case DW_OP_deref:
		case DW_OP_deref_size: {
			unsigned size = at == DW_OP_deref ? 8 : (unsigned)op->number;
			NEED(1);
			if (size == 0 || size > 8)
				return UNWIND_BAD_FRAME;
			err = cfi_stack_read(st, s[sp - 1], size, &s[sp - 1]);
			if (err)
				return err;
			break;
		}
		case DW_OP_abs:
			NEED(1);
			if ((int64_t)s[sp - 1] < 0)
				s[sp - 1] = -s[sp - 1];
			break;
		case DW_OP_neg:
			NEED(1);
			s[sp - 1] = -s[sp - 1];
			break;
		case DW_OP_not:
			NEED(1);
			s[sp - 1] = ~s[sp - 1];
			break;
		case DW_OP_plus_uconst:
			NEED(1);
			s[sp - 1] += op->number;
			break;
		case DW_OP_and:
		case DW_OP_or:
		case DW_OP_xor:
		case DW_OP_plus:
		case DW_OP_minus:
		case DW_OP_mul:
		case DW_OP_div:
		case DW_OP_mod:
		case DW_OP_shl:
		case DW_OP_shr:
		case DW_OP_shra:
		case DW_OP_eq:
		case DW_OP_ne:
		case DW_OP_lt:
		case DW_OP_le:
		case DW_OP_gt:
		case DW_OP_ge:
			NEED(2);
			b = s[--sp]; /* top */
			a = s[sp - 1];
			switch (at) {
			case DW_OP_and:
				a &= b;
				break;
			case DW_OP_or:
				a |= b;
				break;
			case DW_OP_xor:
				a ^= b;
				break;
			case DW_OP_plus:
				a += b;
				break;
			case DW_OP_minus:
				a -= b;
				break;
			case DW_OP_mul:
				a *= b;
				break;
			case DW_OP_div:
				if (b == 0 || ((int64_t)a == INT64_MIN && (int64_t)b == -1))
					return UNWIND_BAD_FRAME;
				a = (uint64_t)((int64_t)a / (int64_t)b);
				break;
			case DW_OP_mod:
				if (b == 0)
					return UNWIND_BAD_FRAME;
				a %= b;
				break;
			case DW_OP_shl:
				a = b >= 64 ? 0 : a << b;
				break;
			case DW_OP_shr:
				a = b >= 64 ? 0 : a >> b;
				break;
			case DW_OP_shra:
				if (b >= 64)
					a = (int64_t)a < 0 ? UINT64_MAX : 0;
				else if ((int64_t)a < 0)
					a = ~(~a >> b);
				else
					a >>= b;
				break;
			case DW_OP_eq:
				a = a == b;
				break;
			case DW_OP_ne:
				a = a != b;
				break;
			case DW_OP_lt:
				a = (int64_t)a < (int64_t)b;
				break;
			case DW_OP_le:
				a = (int64_t)a <= (int64_t)b;
				break;
			case DW_OP_gt:
				a = (int64_t)a > (int64_t)b;
				break;
			default:
				a = (int64_t)a >= (int64_t)b;
				break;
			}
			s[sp - 1] = a;
			break;
		case DW_OP_nop:
			break;
		case DW_OP_stack_value:
			if (i != nops - 1)
				return UNWIND_BAD_FRAME;
			*is_value = true;
			break;
		default:
			/* skip/bra and the rest never appear in x86_64 CFI in practice. */
			return UNWIND_BAD_FRAME;
		}
	}
#undef NEED
#undef PUSH
#undef REG
	if (sp == 0)
		return UNWIND_BAD_FRAME;
	*out = s[sp - 1];
	return 0;
}

static int rule_value(const struct cfi_rule *r, const struct cfi_op_pool *pool, const struct cfi_regs *in,
                      const struct cfi_stack *st, uint64_t cfa, uint64_t *out)
{
	uint64_t v;
	bool is_value;
	int err;

	switch (r->kind) {
	case CFI_OFFSET:
		return cfi_stack_read(st, cfa + (int64_t)r->arg, 8, out);
	case CFI_VAL_OFFSET:
		*out = cfa + (int64_t)r->arg;
		return 0;
	case CFI_REG_OFF:
		err = reg_get(in, r->reg, &v);
		if (err)
			return err;
		*out = v + (int64_t)r->arg;
		return 0;
	case CFI_EXPR:
		err = cfi_eval(&pool->ops.v[r->arg], r->nops, in, true, cfa, st, &v, &is_value);
		if (err)
			return err;
		if (is_value) {
			*out = v;
			return 0;
		}
		return cfi_stack_read(st, v, 8, out);
	default:
		return UNWIND_BAD_FRAME;
	}
}

int cfi_row_apply(const struct cfi_row *row, const struct cfi_op_pool *pool, struct cfi_regs *regs,
                  const struct cfi_stack *st, uint64_t *cfa)
{
	uint64_t c, vals[ARCH_DWARF_NREGS];
	uint64_t got = 0, lost = 0;
	bool is_value;
	int err;

	if (row->cfa.kind == CFI_REG_OFF) {
		err = reg_get(regs, row->cfa.reg, &c);
		if (err)
			return err;
		c += (int64_t)row->cfa.arg;
	} else if (row->cfa.kind == CFI_EXPR) {
		err = cfi_eval(&pool->ops.v[row->cfa.arg], row->cfa.nops, regs, false, 0, st, &c, &is_value);
		if (err)
			return err;
	} else {
		return UNWIND_BAD_FRAME;
	}

	/* Rules read the callee's registers, so compute all before writing any. */
	for (uint64_t todo = row->other; todo; todo &= todo - 1) {
		int reg = __builtin_ctzll(todo);
		err = rule_value(&row->regs[reg], pool, regs, st, c, &vals[reg]);
		if (!err) {
			got |= 1ULL << reg;
			continue;
		}
		/* A callee-saved register we cannot recover only matters if a
		 * later rule reads it; the return address always does. */
		if (reg == ARCH_DWARF_RA)
			return err;
		if (err == UNWIND_TRUNCATED)
			lost |= 1ULL << reg;
	}
	for (uint64_t m = got; m; m &= m - 1) {
		int reg = __builtin_ctzll(m);
		regs->r[reg] = vals[reg];
	}
	regs->valid = (regs->valid & row->same) | got;
	regs->truncated = (regs->truncated & row->same) | lost;
	/* Unless a rule recovered it, the caller's sp is the CFA, by definition. */
	if (!(got & (1ULL << ARCH_DWARF_SP))) {
		regs->r[ARCH_DWARF_SP] = c;
		regs->valid |= 1ULL << ARCH_DWARF_SP;
	}
	/* The caller resumes at the return address column's value: the same
	 * slot on x86-64, lr (x30) on aarch64, whose pc no CFI names. */
	if (ARCH_DWARF_RA != ARCH_DWARF_IP) {
		regs->r[ARCH_DWARF_IP] = regs->r[ARCH_DWARF_RA];
		regs->valid = (regs->valid & ~(1ULL << ARCH_DWARF_IP)) | ((regs->valid >> ARCH_DWARF_RA) & 1)
		                                                             << ARCH_DWARF_IP;
		regs->truncated = (regs->truncated & ~(1ULL << ARCH_DWARF_IP)) |
		                  ((regs->truncated >> ARCH_DWARF_RA) & 1) << ARCH_DWARF_IP;
	}
	*cfa = c;
	return 0;
}
