/* patch.c - x86-64 instruction lengths and entry relocation for
 * diverting a function (patch.h). The decoder knows the general-purpose
 * integer forms, the SSE moves and logic ops, and the branches that
 * rustc and C compilers put at a function's start (looked at with
 * objdump on rustc's allocator shim, release and debug builds); a form
 * outside that list is refused. */
#include "arch/x86_64/patch.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* The ModRM operand at p[0] (n bytes readable): its length (ModRM, SIB,
 * displacement), or -1. *rip: the operand is disp32(%rip) at offset 1. */
static int modrm_len(const uint8_t *p, size_t n, bool *rip)
{
	if (n < 1)
		return -1;
	uint8_t mod = p[0] >> 6, rm = p[0] & 7;
	int len = 1;
	*rip = false;
	if (mod == 3)
		return 1;
	if (rm == 4) {
		if (n < 2)
			return -1;
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4; /* no base: disp32 */
	} else if (mod == 0 && rm == 5) {
		*rip = true;
		len += 4;
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return (size_t)len <= n ? len : -1;
}

/* The one-byte opcodes with a ModRM operand and no immediate. */
static bool plain_modrm(uint8_t op)
{
	if (op < 0x40 && (op & 7) < 4)
		return true; /* add/or/adc/sbb/and/sub/xor/cmp r/m forms */
	switch (op) {
	case 0x63: /* movsxd */
	case 0x84: /* test */
	case 0x85:
	case 0x86: /* xchg */
	case 0x87:
	case 0x88: /* mov */
	case 0x89:
	case 0x8a:
	case 0x8b:
	case 0x8d: /* lea */
	case 0xd0: /* shifts by 1 or cl */
	case 0xd1:
	case 0xd2:
	case 0xd3:
	case 0xfe: /* inc/dec r/m8 */
		return true;
	default:
		return false;
	}
}

/* The 0x0f opcodes with a ModRM operand and no immediate. */
static bool plain_modrm_0f(uint8_t op)
{
	if ((op >= 0x40 && op <= 0x4f) || (op >= 0x90 && op <= 0x9f))
		return true; /* cmovcc, setcc */
	switch (op) {
	case 0x10: /* movups/movss/movupd/movsd */
	case 0x11:
	case 0x12:
	case 0x13:
	case 0x14:
	case 0x16:
	case 0x17:
	case 0x18: /* prefetch */
	case 0x1e: /* endbr64 (f3 0f 1e fa) and hint nops */
	case 0x1f: /* nop r/m */
	case 0x28: /* movaps */
	case 0x29:
	case 0x2e: /* ucomiss */
	case 0x2f:
	case 0x54: /* andps */
	case 0x55:
	case 0x56:
	case 0x57: /* xorps */
	case 0x6e: /* movd/movq */
	case 0x6f: /* movdqa/movdqu */
	case 0x74: /* pcmpeqb */
	case 0x7e:
	case 0x7f:
	case 0xa3: /* bt */
	case 0xab: /* bts */
	case 0xaf: /* imul */
	case 0xb0: /* cmpxchg */
	case 0xb1:
	case 0xb3: /* btr */
	case 0xb6: /* movzx */
	case 0xb7:
	case 0xbb: /* btc */
	case 0xbc: /* bsf/tzcnt */
	case 0xbd: /* bsr/lzcnt */
	case 0xbe: /* movsx */
	case 0xbf:
	case 0xc0: /* xadd */
	case 0xc1:
	case 0xd4: /* paddq */
	case 0xd6: /* movq */
	case 0xd7: /* pmovmskb */
	case 0xdb: /* pand */
	case 0xeb: /* por */
	case 0xef: /* pxor */
	case 0xfe: /* paddd */
		return true;
	default:
		return false;
	}
}

int arch_insn_decode(const uint8_t *code, size_t n, uint64_t pc, struct arch_insn *out)
{
	size_t i = 0;
	bool opsize16 = false, rexw = false;
	memset(out, 0, sizeof(*out));
	out->kind = ARCH_INSN_PLAIN;
	for (; i < n && i < 4; i++) { /* legacy prefixes */
		uint8_t b = code[i];
		if (b == 0x66)
			opsize16 = true;
		else if (b != 0xf0 && b != 0xf2 && b != 0xf3 && b != 0x2e && b != 0x3e && b != 0x64 && b != 0x65)
			break;
	}
	if (i < n && (code[i] & 0xf0) == 0x40) {
		rexw = code[i] & 8;
		out->rex = code[i];
		i++;
	}
	if (i >= n)
		return -ENOTSUP;
	uint8_t op = code[i++];
	out->opcode = op;
	int imm = 0, m = 0; /* immediate bytes; ModRM operand bytes */
	bool has_modrm = false, rip = false;
	size_t immz = opsize16 ? 2 : 4;
	if (op == 0x0f) {
		if (i >= n)
			return -ENOTSUP;
		uint8_t op2 = code[i++];
		out->opcode = (uint16_t)(0x0f00 | op2);
		if (op2 >= 0x80 && op2 <= 0x8f) { /* jcc rel32 */
			if (i + 4 > n)
				return -ENOTSUP;
			int32_t rel;
			memcpy(&rel, code + i, 4);
			out->len = (uint8_t)(i + 4);
			out->kind = ARCH_INSN_JCC;
			out->cond = op2 & 15;
			out->target = pc + out->len + (uint64_t)(int64_t)rel;
			return 0;
		}
		if (plain_modrm_0f(op2))
			has_modrm = true;
		else if (op2 == 0xba || op2 == 0x70 || op2 == 0x73 ||
		         op2 == 0xc6) { /* bt imm8, pshufd, psrlq, shufps */
			has_modrm = true;
			imm = 1;
		} else
			return -ENOTSUP;
	} else if (plain_modrm(op)) {
		has_modrm = true;
	} else if (op < 0x40 && (op & 7) == 4) {
		imm = 1; /* op al, imm8 */
	} else if (op < 0x40 && (op & 7) == 5) {
		imm = (int)immz; /* op eax, imm32 */
	} else if (op >= 0x50 && op <= 0x5f) {
		/* push/pop r64 */
	} else if (op == 0x68) {
		imm = 4;
	} else if (op == 0x6a) {
		imm = 1;
	} else if (op == 0x69 || op == 0x81 || op == 0xc7) {
		has_modrm = true;
		imm = (int)immz;
	} else if (op == 0x6b || op == 0x80 || op == 0x83 || op == 0xc0 || op == 0xc1 || op == 0xc6) {
		has_modrm = true;
		imm = 1;
	} else if (op == 0x90 || op == 0x98 || op == 0x99) {
		/* nop, cdqe, cqo */
	} else if (op == 0xa8) {
		imm = 1;
	} else if (op == 0xa9) {
		imm = (int)immz;
	} else if (op >= 0xb0 && op <= 0xb7) {
		imm = 1;
	} else if (op >= 0xb8 && op <= 0xbf) {
		imm = rexw ? 8 : (int)immz;
	} else if (op == 0xf6 || op == 0xf7) {
		has_modrm = true;
		if (i >= n)
			return -ENOTSUP;
		if (((code[i] >> 3) & 7) < 2) /* test r/m, imm */
			imm = op == 0xf6 ? 1 : (int)immz;
	} else if (op == 0xff) {
		if (i >= n)
			return -ENOTSUP;
		uint8_t reg = (code[i] >> 3) & 7;
		if (reg == 3 || reg == 5 || reg == 7)
			return -ENOTSUP; /* far call/jmp */
		has_modrm = true;
		out->has_modrm = true;
		out->modrm = code[i];
		if (reg == 4) {
			m = modrm_len(code + i, n - i, &rip);
			if (m < 0)
				return -ENOTSUP;
			out->len = (uint8_t)(i + (size_t)m);
			out->kind = rip ? ARCH_INSN_END_RIP : ARCH_INSN_END;
			out->disp_off = (uint8_t)(i + 1);
			return 0;
		}
	} else if (op == 0xc3) {
		out->len = (uint8_t)i;
		out->kind = ARCH_INSN_END;
		return 0;
	} else if (op == 0xe8 || op == 0xe9) {
		if (i + 4 > n)
			return -ENOTSUP;
		int32_t rel;
		memcpy(&rel, code + i, 4);
		out->len = (uint8_t)(i + 4);
		out->kind = op == 0xe8 ? ARCH_INSN_CALL : ARCH_INSN_JMP;
		out->target = pc + out->len + (uint64_t)(int64_t)rel;
		return 0;
	} else if (op == 0xeb || (op >= 0x70 && op <= 0x7f)) {
		if (i + 1 > n)
			return -ENOTSUP;
		out->len = (uint8_t)(i + 1);
		out->kind = op == 0xeb ? ARCH_INSN_JMP : ARCH_INSN_JCC;
		out->cond = op & 15;
		out->target = pc + out->len + (uint64_t)(int64_t)(int8_t)code[i];
		return 0;
	} else {
		return -ENOTSUP;
	}
	if (has_modrm) {
		out->has_modrm = true;
		out->modrm = i < n ? code[i] : 0;
		m = modrm_len(code + i, n - i, &rip);
		if (m < 0)
			return -ENOTSUP;
		if (rip) {
			out->kind = ARCH_INSN_RIPREL;
			out->disp_off = (uint8_t)(i + 1);
		}
	}
	size_t len = i + (size_t)m + (size_t)imm;
	if (len > n || len > 15)
		return -ENOTSUP;
	out->len = (uint8_t)len;
	return 0;
}

void arch_patch_abs_jump(uint8_t *out, uint64_t target)
{
	static const uint8_t jmp_rip[6] = {0xff, 0x25, 0, 0, 0, 0}; /* jmp *0(%rip) */
	memcpy(out, jmp_rip, sizeof(jmp_rip));
	memcpy(out + 6, &target, 8);
}

void arch_patch_hook_stub(uint8_t *out, uint64_t ctx, uint64_t target)
{
	out[0] = 0x49; /* movabs $ctx, %r9 */
	out[1] = 0xb9;
	memcpy(out + 2, &ctx, 8);
	arch_patch_abs_jump(out + 10, target);
}

int arch_patch_jump(uint8_t *out, uint64_t pc, uint64_t target)
{
	int64_t rel = (int64_t)(target - (pc + ARCH_PATCH_JUMP_LEN));
	if (rel != (int32_t)rel)
		return -ERANGE;
	int32_t r = (int32_t)rel;
	out[0] = 0xe9;
	memcpy(out + 1, &r, 4);
	return 0;
}

/* One decoded instruction of the entry, re-encoded to run at at (w:
 * where it is written, cap bytes). Bytes written, or a negative errno. */
static int relocate_one(const uint8_t *code, const struct arch_insn *in, uint64_t pc, uint8_t *w, uint64_t at,
                        size_t cap)
{
	switch (in->kind) {
	case ARCH_INSN_PLAIN:
	case ARCH_INSN_END:
		if (cap < in->len)
			return -ENOSPC;
		memcpy(w, code, in->len);
		return in->len;
	case ARCH_INSN_RIPREL:
	case ARCH_INSN_END_RIP: {
		if (cap < in->len)
			return -ENOSPC;
		int32_t disp;
		memcpy(&disp, code + in->disp_off, 4);
		uint64_t abs = pc + in->len + (uint64_t)(int64_t)disp;
		int64_t nd = (int64_t)(abs - (at + in->len));
		if (nd != (int32_t)nd)
			return -ERANGE;
		memcpy(w, code, in->len);
		int32_t d = (int32_t)nd;
		memcpy(w + in->disp_off, &d, 4);
		return in->len;
	}
	case ARCH_INSN_JMP:
		if (cap < ARCH_PATCH_ABS_LEN)
			return -ENOSPC;
		arch_patch_abs_jump(w, in->target);
		return ARCH_PATCH_ABS_LEN;
	case ARCH_INSN_JCC:
		/* the opposite condition skips an absolute jump to the target */
		if (cap < 2 + ARCH_PATCH_ABS_LEN)
			return -ENOSPC;
		w[0] = (uint8_t)(0x70 | (in->cond ^ 1));
		w[1] = ARCH_PATCH_ABS_LEN;
		arch_patch_abs_jump(w + 2, in->target);
		return 2 + ARCH_PATCH_ABS_LEN;
	case ARCH_INSN_CALL: {
		/* call *2(%rip); jmp over the address; the address */
		static const uint8_t call_rip[8] = {0xff, 0x15, 2, 0, 0, 0, 0xeb, 8};
		if (cap < 16)
			return -ENOSPC;
		memcpy(w, call_rip, sizeof(call_rip));
		memcpy(w + 8, &in->target, 8);
		return 16;
	}
	}
	return -ENOTSUP;
}

int arch_patch_relocate(const uint8_t *code, size_t n, uint64_t pc, uint8_t *tramp, uint64_t tramp_pc, size_t cap,
                        size_t *covered)
{
	struct arch_insn in[ARCH_PATCH_JUMP_LEN];
	size_t off = 0, w = 0, k = 0;
	bool ends = false;
	while (off < ARCH_PATCH_JUMP_LEN) {
		if (ends || arch_insn_decode(code + off, n - off, pc + off, &in[k]) < 0)
			return -ENOTSUP; /* unknown, or the function ends before the jump fits */
		ends = in[k].kind == ARCH_INSN_END || in[k].kind == ARCH_INSN_END_RIP || in[k].kind == ARCH_INSN_JMP;
		off += in[k++].len;
	}
	for (size_t j = 0; j < k; j++) /* a branch into the copied instructions cannot follow them */
		if (in[j].kind != ARCH_INSN_PLAIN && in[j].kind != ARCH_INSN_RIPREL && in[j].target > pc &&
		    in[j].target < pc + off)
			return -EBUSY;
	for (size_t j = 0, at = 0; j < k; at += in[j++].len) {
		int r = relocate_one(code + at, &in[j], pc + at, tramp + w, tramp_pc + w, cap - w);
		if (r < 0)
			return r;
		w += (size_t)r;
	}
	if (!ends) {
		if (cap - w < ARCH_PATCH_ABS_LEN)
			return -ENOSPC;
		arch_patch_abs_jump(tramp + w, pc + off);
		w += ARCH_PATCH_ABS_LEN;
	}
	*covered = off;
	return (int)w;
}

int arch_patch_check_body(const uint8_t *code, size_t n, uint64_t pc, size_t covered)
{
	for (size_t off = 0; off < n;) {
		struct arch_insn in;
		if (arch_insn_decode(code + off, n - off, pc + off, &in) < 0)
			return 0; /* a form it does not know: as far as it can tell */
		if ((in.kind == ARCH_INSN_JMP || in.kind == ARCH_INSN_JCC || in.kind == ARCH_INSN_CALL) &&
		    in.target > pc && in.target < pc + covered)
			return -EBUSY;
		off += in.len;
	}
	return 0;
}

/* The SysV integer argument registers, in order, by register number. */
static const uint8_t arg_regs[6] = {7 /* rdi */, 6 /* rsi */, 2 /* rdx */, 1 /* rcx */, 8, 9};

int arch_patch_call_args(const uint8_t *code, size_t n, uint64_t pc, uint64_t callee, int8_t map[6])
{
	int8_t val[16]; /* what each register holds: an argument's index, or -1 */
	memset(val, -1, sizeof(val));
	for (int i = 0; i < 6; i++)
		val[arg_regs[i]] = (int8_t)i;
	for (size_t off = 0; off < n;) {
		struct arch_insn in;
		if (arch_insn_decode(code + off, n - off, pc + off, &in) < 0)
			return -ENOTSUP;
		off += in.len;
		if (in.kind == ARCH_INSN_CALL || in.kind == ARCH_INSN_JMP) {
			if (in.target != callee)
				return -ENOENT; /* another call clobbers them, a jump leaves the straight line */
			for (int i = 0; i < 6; i++)
				map[i] = val[arg_regs[i]];
			return 0;
		}
		if (in.kind != ARCH_INSN_PLAIN && in.kind != ARCH_INSN_RIPREL)
			return -ENOENT;
		uint8_t reg = (uint8_t)(((in.modrm >> 3) & 7) | ((in.rex & 4) << 1));
		uint8_t rm = (uint8_t)((in.modrm & 7) | ((in.rex & 1) << 3));
		bool direct = in.has_modrm && (in.modrm >> 6) == 3;
		if ((in.rex & 8) && direct && in.opcode == 0x89) { /* mov %reg, %rm */
			val[rm] = val[reg];
			continue;
		}
		if ((in.rex & 8) && direct && in.opcode == 0x8b) { /* mov %rm, %reg */
			val[reg] = val[rm];
			continue;
		}
		bool reads_only = in.opcode == 0x39 || in.opcode == 0x3b || in.opcode == 0x85 || in.opcode == 0x84 ||
		                  in.opcode == 0x38 || in.opcode == 0x3a || (in.opcode >= 0x50 && in.opcode <= 0x57) ||
		                  in.opcode == 0x0f1e || in.opcode == 0x0f1f || in.opcode == 0x90;
		if (reads_only)
			continue;
		/* anything else: every register it names may be written */
		if (in.has_modrm) {
			val[reg] = -1;
			if (direct)
				val[rm] = -1;
		}
		if ((in.opcode >= 0x58 && in.opcode <= 0x5f) || (in.opcode >= 0xb0 && in.opcode <= 0xbf))
			val[(in.opcode & 7) | ((in.rex & 1) << 3)] = -1; /* pop, mov $imm */
		if (in.opcode == 0x99 || in.opcode == 0xf7 || in.opcode == 0xf6 || in.opcode == 0x0fb1 ||
		    in.opcode == 0x0fb0) {
			val[0] = val[2] = -1; /* cqo, mul/div, cmpxchg: rax and rdx */
		}
	}
	return -ENOENT;
}
