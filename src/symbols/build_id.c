/* build_id.c - the GNU build-id note of an ELF file, to tell whether the
 * file at a path is the one a recording saw (perf.data names its
 * binaries by path and build-id). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "util/num.h"

/* Looks for NT_GNU_BUILD_ID in the notes of data; 1 when found. */
static int note_build_id(Elf_Data *data, char *hex, size_t n)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;
	while (off < data->d_size && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((const char *)data->d_buf + name_off, "GNU", 4) != 0)
			continue;
		if (!nh.n_descsz || nh.n_descsz * 2 + 1 > n)
			return 0;
		num_hex_bytes((const char *)data->d_buf + desc_off, nh.n_descsz, hex);
		return 1;
	}
	return 0;
}

int symbols_file_build_id(const char *path, char *hex, size_t n)
{
	if (n)
		hex[0] = '\0';
	/* non-blocking: a FIFO at the path must not hang the caller */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	int rc = -ENOEXEC;
	struct stat st;
	Elf *e = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto out_end;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF)
		goto out_end;
	rc = 0;
	size_t nph = 0;
	if (elf_getphdrnum(e, &nph) != 0)
		goto out_end;
	for (size_t i = 0; i < nph && rc == 0; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (d)
			rc = note_build_id(d, hex, n);
	}
out_end:
	elf_end(e);
	close(fd);
	return rc;
}
