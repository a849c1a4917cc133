/* agent_maps.c - the agent's mapping table (see agent_maps.h). */
#include "agent/agent_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/maps_line.h"

static char *snap;      /* the snapshot's text */
static size_t snap_len; /* bytes of it */

/* The modules of the snapshot, by their program headers' address. */
#define KNOWN_MAX 1024
static const void *known[KNOWN_MAX];
static unsigned known_n;

static int note_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	(void)ctx;
	if (known_n < KNOWN_MAX)
		known[known_n++] = info->dlpi_phdr;
	return 0;
}

/* The whole file into a buffer that doubles until it fits. */
static int read_maps(void)
{
	for (size_t cap = 64 * 1024; cap <= (64u << 20); cap *= 2) {
		char *buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (buf == MAP_FAILED)
			return -ENOMEM;
		int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int rc = -errno;
			munmap(buf, cap);
			return rc;
		}
		size_t have = 0;
		ssize_t n;
		while (have < cap && (n = read(fd, buf + have, cap - have)) > 0)
			have += (size_t)n;
		close(fd);
		if (have < cap) {
			snap = buf;
			snap_len = have;
			return 0;
		}
		munmap(buf, cap);
	}
	return -EFBIG;
}

int agent_maps_snapshot(void)
{
	int rc = read_maps();
	if (rc == 0)
		dl_iterate_phdr(note_module, NULL);
	return rc;
}

bool agent_maps_find(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, uintptr_t *gap_lo)
{
	uintptr_t prev_hi = 0;
	struct maps_line l;
	for (size_t i = 0; i < snap_len; i += l.next) {
		if (!maps_line_parse(snap + i, snap_len - i, &l))
			continue;
		if (addr >= l.start && addr < l.end) {
			*lo = (uintptr_t)l.start;
			*hi = (uintptr_t)l.end;
			*gap_lo = prev_hi;
			return true;
		}
		prev_hi = (uintptr_t)l.end;
	}
	return false;
}

static char *put_hex(char *p, uint64_t v, int min_digits)
{
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v || n < min_digits);
	while (n)
		*p++ = tmp[--n];
	return p;
}

struct emit_ctx {
	void (*emit)(void *ctx, const char *text, size_t len);
	void *ctx;
};

/* Lines for a module the snapshot does not have, as the kernel writes
 * them (the device and inode are unknown: 00:00 0). */
static int emit_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	const struct emit_ctx *ec = arg;
	for (unsigned i = 0; i < known_n; i++)
		if (known[i] == info->dlpi_phdr)
			return 0;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	if (!*name)
		return 0; /* the program or the vDSO: in the snapshot, unless it failed */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		uint64_t page = 4096, lo = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
		uint64_t hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) & ~(page - 1);
		char line[4096 + 128], *p = line;
		p = put_hex(p, lo, 1);
		*p++ = '-';
		p = put_hex(p, hi, 1);
		*p++ = ' ';
		*p++ = ph->p_flags & PF_R ? 'r' : '-';
		*p++ = ph->p_flags & PF_W ? 'w' : '-';
		*p++ = ph->p_flags & PF_X ? 'x' : '-';
		*p++ = 'p';
		*p++ = ' ';
		p = put_hex(p, ph->p_offset & ~(page - 1), 8);
		memcpy(p, " 00:00 0 ", 9);
		p += 9;
		size_t nl = strnlen(name, 4096);
		memcpy(p, name, nl);
		p += nl;
		*p++ = '\n';
		ec->emit(ec->ctx, line, (size_t)(p - line));
	}
	return 0;
}

void agent_maps_emit_since(void (*emit)(void *ctx, const char *text, size_t len), void *ctx)
{
	struct emit_ctx ec = {emit, ctx};
	dl_iterate_phdr(emit_module, &ec);
}

void agent_maps_emit(void (*emit)(void *ctx, const char *text, size_t len), void *ctx, size_t piece)
{
	for (size_t off = 0; off < snap_len; off += piece)
		emit(ctx, snap + off, snap_len - off < piece ? snap_len - off : piece);
	agent_maps_emit_since(emit, ctx);
}
