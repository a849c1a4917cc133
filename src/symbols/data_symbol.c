/* data_symbol.c - the static variable an address falls in, for naming
 * locks by their static (kiln lock): the ELF symbol tables' data objects. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols/symbols.h"

/* The load bias of the module mapped at map_start from file offset
 * map_pgoff: where its PT_LOAD holding that offset landed, less its
 * p_vaddr. Also the span of its loaded image. */
static bool load_bias(Elf *elf, uint64_t map_start, uint64_t map_pgoff, uint64_t *bias, uint64_t *lo, uint64_t *hi)
{
	size_t n;
	if (elf_getphdrnum(elf, &n))
		return false;
	bool found = false;
	*lo = UINT64_MAX;
	*hi = 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_vaddr < *lo)
			*lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > *hi)
			*hi = ph.p_vaddr + ph.p_memsz;
		/* a mapping starts at the page of its segment's p_offset */
		if (!found && (ph.p_offset & ~4095ull) == map_pgoff) {
			*bias = map_start - (ph.p_vaddr & ~4095ull);
			found = true;
		}
	}
	return found;
}

static int find_object(Elf *elf, uint64_t vaddr, char *buf, size_t size)
{
	int best_type = -1;
	GElf_Sym best = {0};
	const char *best_name = NULL;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !sh.sh_entsize)
			continue;
		size_t count = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < count; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_OBJECT ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			uint64_t end = sym.st_value + (sym.st_size ? sym.st_size : 1);
			if (vaddr < sym.st_value || vaddr >= end)
				continue;
			/* .symtab first: it has the local statics */
			if (best_name && best_type == SHT_SYMTAB)
				continue;
			best = sym;
			best_type = (int)sh.sh_type;
			best_name = elf_strptr(elf, sh.sh_link, sym.st_name);
		}
	}
	(void)best;
	if (!best_name || !*best_name)
		return 0;
	char *dm = symbols_demangle(best_name);
	const char *name = dm ? dm : best_name;
	size_t len = strlen(name);
	if (len >= size)
		len = size - 1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	free(dm);
	return 1;
}

/* The object of the file at path, mapped from map_pgoff at map_start,
 * that holds addr: 1 and its name in buf, 0, or -errno when the file
 * cannot be read (-ENOEXEC: not ELF). */
static int file_data_symbol(const char *path, uint64_t map_start, uint64_t map_pgoff, uint64_t addr, char *buf,
                            size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	int rc = 0;
	uint64_t bias = 0, lo, hi;
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		rc = -ENOEXEC;
		goto out_close;
	}
	if (!load_bias(elf, map_start, map_pgoff, &bias, &lo, &hi) || addr < bias + lo || addr >= bias + hi)
		goto out_close;
	rc = find_object(elf, addr - bias, buf, size);
out_close:
	if (elf)
		elf_end(elf);
	close(fd);
	return rc;
}

int symbols_data_symbol(const struct profile *p, uint32_t pid, uint64_t addr, char *buf, size_t size)
{
	if (!size)
		return 0;
	for (size_t i = 0; i < p->mappings.n; i++) {
		const struct profile_mapping *m = &p->mappings.v[i];
		const char *path = profile_str(p, m->path);
		if (m->pid != pid || path[0] != '/')
			continue;
		/* one mapping per file does: the rest map the same image */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = p->mappings.v[j].pid == pid && p->mappings.v[j].path == m->path;
		if (seen)
			continue;
		if (file_data_symbol(path, m->start, m->pgoff, addr, buf, size) == 1)
			return 1;
	}
	return 0;
}
