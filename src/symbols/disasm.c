/* disasm.c - decodes the functions that hold some addresses with Capstone,
 * reading the code bytes from the ELF file the profile names, so kiln
 * annotate can show instructions where there is no line info (stripped
 * code, libc's assembly) or beside the source (--asm). The machine's
 * Capstone arch, mode and syntax come from src/arch/.
 *
 * Capstone is loaded (dlopen) when a disassembly is first asked for, not
 * linked: its 77,000 relocations cost every kiln start about 1 ms and 370
 * page faults, a tenth of reading a small perf.data file, and only
 * annotate uses it. The library of the major version whose header this
 * file is built with is loaded (libcapstone.so.CS_API_MAJOR). */
#include "symbols/symbols_int.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "util/xalloc.h"

#define MAX_FUNCTION_BYTES (1u << 20) /* a bigger extent is no function: decode around the address */
#define ALONE_BYTES        16         /* room for one instruction of any length */
#define MAX_INSNS          (1u << 20)

/* The Capstone functions used, from the loaded library. */
struct capstone_api {
	cs_err (*open)(cs_arch arch, cs_mode mode, csh *handle);
	cs_err (*option)(csh handle, cs_opt_type type, size_t value);
	cs_insn *(*malloc)(csh handle);
	bool (*disasm_iter)(csh handle, const uint8_t **code, size_t *size, uint64_t *address, cs_insn *insn);
	void (*free)(cs_insn *insn, size_t count);
	cs_err (*close)(csh *handle);
};

static struct capstone_api cs_api;
static bool cs_loaded;
static pthread_once_t cs_once = PTHREAD_ONCE_INIT;

static void capstone_load(void)
{
	char name[64];
	snprintf(name, sizeof(name), "libcapstone.so.%d", CS_API_MAJOR);
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	/* through a void * each: ISO C has no cast from object to function pointer */
	void *f[6] = {dlsym(h, "cs_open"),        dlsym(h, "cs_option"), dlsym(h, "cs_malloc"),
	              dlsym(h, "cs_disasm_iter"), dlsym(h, "cs_free"),   dlsym(h, "cs_close")};
	for (size_t i = 0; i < sizeof(f) / sizeof(*f); i++)
		if (!f[i])
			return; /* kept loaded: harmless, and it may be in use elsewhere */
	memcpy(&cs_api.open, &f[0], sizeof(f[0]));
	memcpy(&cs_api.option, &f[1], sizeof(f[1]));
	memcpy(&cs_api.malloc, &f[2], sizeof(f[2]));
	memcpy(&cs_api.disasm_iter, &f[3], sizeof(f[3]));
	memcpy(&cs_api.free, &f[4], sizeof(f[4]));
	memcpy(&cs_api.close, &f[5], sizeof(f[5]));
	cs_loaded = true;
}

/* Capstone's functions, or NULL when the library cannot be loaded. */
static const struct capstone_api *capstone(void)
{
	pthread_once(&cs_once, capstone_load);
	return cs_loaded ? &cs_api : NULL;
}

struct extent {
	uint64_t lo, hi;
	bool alone; /* no function known: one instruction at lo */
};

struct extents {
	VEC(struct extent) v;
};

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

static void add_insn(struct disasm *d, struct elf_module *m, const cs_insn *insn)
{
	struct disasm_insn *out = vec_grow(&d->insns);
	out->vaddr = insn->address;
	out->size = insn->size;
	out->mnemonic = strtab_intern(&d->strings, insn->mnemonic);
	out->operands = insn->op_str[0] ? strtab_intern(&d->strings, insn->op_str) : 0;
	if (!elf_module_line(m, insn->address, &d->strings, &out->file, &out->line))
		out->file = out->line = 0;
}

/* Decodes [e->lo, e->hi) into d; 0 or -errno from reading the file. */
static int decode(csh cs, struct elf_module *m, const char *path, const struct extent *e, struct disasm *d)
{
	size_t len = (size_t)(e->hi - e->lo);
	uint8_t *buf = xmalloc(len);
	cs_insn *insn = NULL;
	int rc = elf_module_read_code(m, path, e->lo, buf, len);
	/* near the end of a segment fewer than ALONE_BYTES may be left */
	while (rc == -ERANGE && e->alone && len > 1)
		rc = elf_module_read_code(m, path, e->lo, buf, --len);
	if (rc)
		goto out_free;
	insn = capstone()->malloc(cs);
	if (!insn) {
		rc = -ENOMEM;
		goto out_free;
	}
	const uint8_t *code = buf;
	size_t left = len;
	uint64_t at = e->lo;
	while (left && d->insns.n < MAX_INSNS) {
		if (!capstone()->disasm_iter(cs, &code, &left, &at, insn)) {
			if (e->alone)
				break;
			/* a byte Capstone cannot decode (data in code): step over it */
			code++;
			left--;
			at++;
			continue;
		}
		add_insn(d, m, insn);
		if (e->alone)
			break;
	}
out_free:
	if (insn)
		capstone()->free(insn, 1);
	free(buf);
	return rc;
}

/* The extents to decode for the sorted, distinct addresses: each
 * function once, in address order, with an address no function holds
 * decoded alone. */
static void extents_of(struct elf_module *m, const uint64_t *v, size_t n, struct extents *ex, struct disasm *d)
{
	__typeof__(ex->v) *out = &ex->v;
	for (size_t i = 0; i < n; i++) {
		if (out->n && v[i] >= out->v[out->n - 1].lo && v[i] < out->v[out->n - 1].hi)
			continue;
		struct extent e = {0};
		if (!elf_module_function_range(m, v[i], &e.lo, &e.hi) || e.hi - e.lo > MAX_FUNCTION_BYTES ||
		    v[i] < e.lo || v[i] >= e.hi) {
			e = (struct extent){v[i], v[i] + ALONE_BYTES, true};
			d->guessed++;
		} else {
			d->functions++;
		}
		/* extents that overlap the last one start where it ends */
		if (out->n && e.lo < out->v[out->n - 1].hi)
			e.lo = out->v[out->n - 1].hi;
		if (e.lo < e.hi)
			vec_push(out, e);
	}
}

int symbols_disasm(const char *path, const char *build_id, const uint64_t *vaddrs, size_t n, struct disasm *d)
{
	memset(d, 0, sizeof(*d));
	strtab_init(&d->strings);
	d->syntax = ARCH_OBJDUMP_SYNTAX;
	struct elf_module *m = NULL;
	uint64_t *v = NULL;
	struct extents ex = {0};
	csh cs;
	bool have_cs = false;
	int rc = elf_module_open(path, &m);
	if (rc)
		goto out;
	if (build_id && *build_id && strcmp(build_id, elf_module_build_id(m))) {
		rc = -ESTALE;
		goto out;
	}
	const struct capstone_api *api = capstone();
	if (!api) {
		rc = -ELIBACC;
		goto out;
	}
	if (api->open(ARCH_CAPSTONE_ARCH, ARCH_CAPSTONE_MODE, &cs) != CS_ERR_OK) {
		rc = -ENOTSUP;
		goto out;
	}
	have_cs = true;
	if (ARCH_CAPSTONE_SYNTAX != CS_OPT_SYNTAX_DEFAULT)
		api->option(cs, CS_OPT_SYNTAX, ARCH_CAPSTONE_SYNTAX);
	v = xmalloc((n ? n : 1) * sizeof(*v));
	if (n)
		memcpy(v, vaddrs, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_u64);
	size_t distinct = 0;
	for (size_t i = 0; i < n; i++)
		if (!distinct || v[i] != v[distinct - 1])
			v[distinct++] = v[i];
	extents_of(m, v, distinct, &ex, d);
	rc = -ERANGE;
	for (size_t i = 0; i < ex.v.n; i++) {
		int e = decode(cs, m, path, &ex.v.v[i], d);
		if (!e)
			rc = 0;
		else if (e != -ERANGE) {
			rc = e;
			goto out;
		}
	}
	if (!d->insns.n)
		rc = -ERANGE;
out:
	if (have_cs)
		capstone()->close(&cs);
	vec_free(&ex.v);
	free(v);
	elf_module_free(m);
	return rc;
}

void disasm_release(struct disasm *d)
{
	if (!d)
		return;
	strtab_release(&d->strings);
	vec_free(&d->insns);
}

const struct disasm_insn *disasm_find(const struct disasm *d, uint64_t vaddr)
{
	size_t lo = 0, hi = d->insns.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->insns.v[mid].vaddr == vaddr)
			return &d->insns.v[mid];
		if (d->insns.v[mid].vaddr < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
