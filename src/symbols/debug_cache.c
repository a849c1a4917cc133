/* debug_cache.c - a persistent cache of separate debug files with their
 * compressed DWARF sections (SHF_COMPRESSED, as Debian's -dbg and -dbgsym
 * packages ship them) already decompressed, keyed by build-id:
 * ~/.cache/kiln/debug/<build-id>.debug. libdw inflates every compressed
 * debug section whole each time a file is opened, which was most of the
 * CPU of reading a small profile; a decompressed copy is mapped instead.
 *
 * A cached file is used only when it parses as ELF, carries the build-id
 * it is filed under, has no compressed section left and no section past
 * its end; anything else (a cut or garbled file) is ignored and rebuilt.
 * Files are written under a temporary name and renamed, so readers never
 * see half a file, and the directory is trimmed to DEBUG_CACHE_MAX_BYTES,
 * least recently used first.
 */
#include "symbols/symbols_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/num.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define DEBUG_CACHE_MAX_BYTES (2ULL << 30)

static char *cache_dir; /* the directory, NULL when off */
static bool cache_set;  /* cache_dir is resolved */

void symbols_set_debug_cache(const char *dir)
{
	free(cache_dir);
	cache_dir = dir && *dir ? xstrdup(dir) : NULL;
	cache_set = dir != NULL;
}

/* KILN_DEBUG_CACHE: unset for the default place, "off" (or "0", empty) for
 * none, or the directory to use. */
static const char *debug_cache_dir(void)
{
	if (cache_set)
		return cache_dir;
	cache_set = true;
	const char *env = getenv("KILN_DEBUG_CACHE");
	struct strbuf sb = STRBUF_INIT;
	if (env) {
		if (*env && strcmp(env, "off") && strcmp(env, "0"))
			strbuf_addstr(&sb, env);
	} else {
		const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
		if (xdg && xdg[0] == '/')
			strbuf_addf(&sb, "%s/kiln/debug", xdg);
		else if (home && home[0] == '/')
			strbuf_addf(&sb, "%s/.cache/kiln/debug", home);
	}
	cache_dir = sb.len ? strbuf_detach(&sb) : NULL;
	strbuf_release(&sb);
	return cache_dir;
}

const char *symbols_debug_cache_dir(void)
{
	return debug_cache_dir();
}

/* The GNU build-id note of elf equals bits[0..n). */
static bool has_build_id(Elf *elf, const unsigned char *bits, int n)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((const char *)d->d_buf + name_off, "GNU", 4) == 0)
				return nh.n_descsz == (GElf_Word)n &&
				       memcmp((const char *)d->d_buf + desc_off, bits, (size_t)n) == 0;
		}
	}
	return false;
}

/* What a usable debug file of ours looks like (see the top comment). */
static bool cached_file_ok(int fd, const unsigned char *bits, int n)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	bool ok = false;
	GElf_Ehdr eh;
	size_t shnum;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) || elf_getshdrnum(elf, &shnum) != 0 ||
	    eh.e_shoff > (uint64_t)st.st_size || shnum * (uint64_t)eh.e_shentsize > (uint64_t)st.st_size - eh.e_shoff)
		goto out_end;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_flags & SHF_COMPRESSED))
			goto out_end;
		if (sh.sh_type != SHT_NOBITS &&
		    (sh.sh_offset > (uint64_t)st.st_size || sh.sh_size > (uint64_t)st.st_size - sh.sh_offset))
			goto out_end;
	}
	ok = has_build_id(elf, bits, n);
out_end:
	elf_end(elf);
	return ok;
}

int debug_cache_open(const unsigned char *bits, int n, char **path)
{
	const char *dir = debug_cache_dir();
	if (!dir || n <= 0 || n > 64)
		return -ENOENT;
	char hex[2 * 64 + 1];
	num_hex_bytes(bits, n, hex);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s.debug", dir, hex);
	int fd = open(strbuf_str(&sb), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		strbuf_release(&sb);
		return rc;
	}
	if (!cached_file_ok(fd, bits, n)) {
		close(fd);
		unlink(strbuf_str(&sb)); /* rebuilt by the caller's store */
		strbuf_release(&sb);
		return -EBADMSG;
	}
	/* the mtime says when it was last used, for trimming */
	futimens(fd, NULL);
	*path = strbuf_detach(&sb);
	return fd;
}

/* Whether the debug file at fd has compressed sections worth caching, and
 * none we cannot cache: GNU .zdebug sections (libelf keeps their names)
 * or a .gnu_debugaltlink (dwz), which libdwfl finds relative to the
 * debug file's own directory. */
static bool worth_caching(int fd)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t shstrndx;
	bool compressed = false, unsafe = false;
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) != 0)
		unsafe = true;
	Elf_Scn *scn = NULL;
	while (!unsafe && (scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_flags & SHF_COMPRESSED)
			compressed = true;
		if (name && (!strncmp(name, ".zdebug", 7) || !strcmp(name, ".gnu_debugaltlink")))
			unsafe = true;
	}
	elf_end(elf);
	return compressed && !unsafe;
}

/* Whether scn is inflated by debug_inflate: a compressed SHT_PROGBITS
 * section (every one in Debian's debug files). libelf would give its
 * inflated data the type ELF_T_BYTE, which is what is written for it;
 * other types keep libelf's elf_compress, which knows their data types. */
static bool inflated_here(const GElf_Shdr *sh)
{
	return (sh->sh_flags & SHF_COMPRESSED) && sh->sh_type == SHT_PROGBITS;
}

/* The zlib stream of the compressed section scn, its Elf_Chdr checked as
 * libelf checks it: zlib, a power-of-two alignment. */
static int inflate_job_of(Elf_Scn *scn, int cls, struct inflate_job *job, GElf_Xword *align)
{
	GElf_Chdr ch;
	Elf_Data *d;
	size_t hsize = cls == ELFCLASS32 ? sizeof(Elf32_Chdr) : sizeof(Elf64_Chdr);
	if (!gelf_getchdr(scn, &ch) || ch.ch_type != ELFCOMPRESS_ZLIB || ch.ch_addralign == 0 ||
	    (ch.ch_addralign & (ch.ch_addralign - 1)) || ch.ch_size > SIZE_MAX || !(d = elf_getdata(scn, NULL)) ||
	    d->d_size < hsize)
		return -EBADMSG;
	job->in = (const char *)d->d_buf + hsize;
	job->in_len = d->d_size - hsize;
	job->out_len = (size_t)ch.ch_size;
	*align = ch.ch_addralign;
	return 0;
}

/* Writes src with its compressed sections decompressed as a new ELF file
 * to fd; libelf lays the sections out. The inflated sections' headers
 * and data are what libelf's elf_compress(scn, 0, 0) leaves, so the file
 * is the one libelf alone would write. */
static int write_decompressed(Elf *src, int fd)
{
	int rc = -EBADMSG;
	Elf *out = elf_begin(fd, ELF_C_WRITE, NULL);
	GElf_Ehdr eh;
	size_t phnum, shstrndx, shnum = 0, njobs = 0;
	int cls = gelf_getclass(src);
	struct inflate_job *jobs = NULL;
	GElf_Xword *aligns = NULL;
	/* extended section numbering would need section 0 copied too */
	if (!out || !gelf_getehdr(src, &eh) || elf_getphdrnum(src, &phnum) != 0 ||
	    elf_getshdrstrndx(src, &shstrndx) != 0 || shstrndx >= SHN_LORESERVE || eh.e_shnum == 0 ||
	    elf_getshdrnum(src, &shnum) != 0 || !gelf_newehdr(out, cls))
		goto out_end;
	/* every section inflated first (on two threads when it pays), then
	 * written in order */
	jobs = xcalloc(shnum, sizeof(*jobs));
	aligns = xcalloc(shnum, sizeof(*aligns));
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(src, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || njobs >= shnum)
			goto out_end;
		if (inflated_here(&sh) && inflate_job_of(scn, cls, &jobs[njobs], &aligns[njobs]) < 0)
			goto out_end;
		njobs += inflated_here(&sh);
	}
	if ((rc = debug_inflate(jobs, njobs, 2)) < 0)
		goto out_end;
	rc = -EBADMSG;
	eh.e_shstrndx = (GElf_Half)shstrndx;
	if (!gelf_update_ehdr(out, &eh))
		goto out_end;
	if (phnum) {
		if (!gelf_newphdr(out, phnum))
			goto out_end;
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(src, (int)i, &ph) || !gelf_update_phdr(out, (int)i, &ph))
				goto out_end;
		}
	}
	size_t job = 0;
	while ((scn = elf_nextscn(src, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d = NULL;
		if (!gelf_getshdr(scn, &sh))
			goto out_end;
		struct inflate_job *j = inflated_here(&sh) && job < njobs ? &jobs[job] : NULL;
		GElf_Xword align = j ? aligns[job++] : 0;
		if (j) {
			sh.sh_size = j->out_len;
			sh.sh_addralign = align;
			sh.sh_flags &= ~(GElf_Xword)SHF_COMPRESSED;
		} else {
			if ((sh.sh_flags & SHF_COMPRESSED) && (elf_compress(scn, 0, 0) < 0 || !gelf_getshdr(scn, &sh)))
				goto out_end;
			d = elf_getdata(scn, NULL);
			if (!d && sh.sh_type != SHT_NOBITS && sh.sh_size)
				goto out_end;
		}
		Elf_Scn *o = elf_newscn(out);
		if (!o)
			goto out_end;
		if (j || d) {
			Elf_Data *od = elf_newdata(o);
			if (!od)
				goto out_end;
			od->d_buf = j ? j->out : d->d_buf;
			od->d_type = j ? ELF_T_BYTE : d->d_type;
			od->d_size = j ? j->out_len : d->d_size;
			od->d_off = 0;
			od->d_align = j ? align : d->d_align;
			od->d_version = j ? EV_CURRENT : d->d_version;
		}
		if (!gelf_update_shdr(o, &sh))
			goto out_end;
	}
	/* libelf lays the file out first: a garbled file's alignments or
	 * sizes could make a copy far larger than any deflate stream gives
	 * (written as gigabytes of padding), which is refused unwritten */
	size_t in_size = 0;
	(void)elf_rawfile(src, &in_size);
	off_t laid = elf_update(out, ELF_C_NULL);
	if (laid < 0 || (uint64_t)laid > DEBUG_CACHE_MAX_BYTES || (uint64_t)laid / INFLATE_MAX_RATIO > in_size)
		goto out_end;
	if (elf_update(out, ELF_C_WRITE) < 0)
		goto out_end;
	rc = 0;
out_end:
	elf_end(out);
	if (jobs)
		debug_inflate_release(jobs, njobs);
	free(jobs);
	free(aligns);
	return rc;
}

struct cache_entry {
	char *name;
	time_t mtime;
	uint64_t size;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct cache_entry *x = a, *y = b;
	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

void debug_cache_trim(const char *dir, const char *suffix, uint64_t max_bytes, const char *keep)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	VEC(struct cache_entry) all = {0};
	uint64_t total = 0;
	size_t slen = strlen(suffix);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct stat st;
		if (len <= slen || strcmp(de->d_name + len - slen, suffix) ||
		    fstatat(dirfd(d), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
			continue;
		struct cache_entry e = {xstrdup(de->d_name), st.st_mtime, (uint64_t)st.st_blocks * 512};
		vec_push(&all, e);
		total += e.size;
	}
	if (total > max_bytes && all.n)
		qsort(all.v, all.n, sizeof(*all.v), entry_cmp);
	for (size_t i = 0; i < all.n && total > max_bytes; i++) {
		if (keep && strcmp(all.v[i].name, keep) == 0)
			continue;
		if (unlinkat(dirfd(d), all.v[i].name, 0) == 0)
			total -= all.v[i].size;
	}
	for (size_t i = 0; i < all.n; i++)
		free(all.v[i].name);
	vec_free(&all);
	closedir(d);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

bool debug_cache_wanted(int fd)
{
	return debug_cache_dir() && worth_caching(fd);
}

int debug_cache_store(Elf *src, const unsigned char *bits, int n)
{
	const char *dir = debug_cache_dir();
	if (!dir || n <= 0 || n > 64)
		return -ENOENT;
	int rc = debug_cache_mkdir();
	if (rc < 0)
		return rc;
	char hex[2 * 64 + 1];
	num_hex_bytes(bits, n, hex);
	struct strbuf tmp = STRBUF_INIT, final = STRBUF_INIT;
	/* by thread: two of one process (kiln serve's) may meet one build-id at once */
	strbuf_addf(&tmp, "%s/%s.debug.tmp.%d.%d", dir, hex, (int)getpid(), (int)gettid());
	strbuf_addf(&final, "%s/%s.debug", dir, hex);
	int fd = open(strbuf_str(&tmp), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	if ((rc = write_decompressed(src, fd)) < 0)
		goto out_unlink;
	if (!cached_file_ok(fd, bits, n)) {
		rc = -EBADMSG;
		goto out_unlink;
	}
	if (rename(strbuf_str(&tmp), strbuf_str(&final)) != 0) {
		rc = -errno;
		goto out_unlink;
	}
	close(fd);
	debug_cache_trim(dir, ".debug", DEBUG_CACHE_MAX_BYTES, base_name(strbuf_str(&final)));
	rc = 0;
	goto out_free;
out_unlink:
	close(fd);
	unlink(strbuf_str(&tmp));
out_free:
	strbuf_release(&tmp);
	strbuf_release(&final);
	return rc;
}

int debug_cache_build(int fd, const unsigned char *bits, int n, char **path)
{
	Elf *src = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!src)
		return -EBADMSG;
	int rc = elf_kind(src) == ELF_K_ELF ? debug_cache_store(src, bits, n) : -EBADMSG;
	elf_end(src);
	return rc < 0 ? rc : debug_cache_open(bits, n, path);
}

int debug_cache_mkdir(void)
{
	const char *dir = debug_cache_dir();
	return dir ? fs_make_dirs(dir, 0700) : -ENOENT; /* private: 0700 for the parts made */
}
