/* debug_find.c - whether a separate debug file could be found locally for
 * a module, checked before libdwfl's own search. When its local search
 * finds nothing, libdwfl (0.188) asks debuginfod, and to do so loads
 * libdebuginfod and with it libcurl and some 25 other libraries (a few ms
 * of every start), even when no debuginfod server is set. So a module with
 * no candidate file in any place libdwfl looks is answered "none" here,
 * without libdwfl; the check may say "maybe" for more places than libdwfl
 * searches (it then searches as before), never fewer. */
#include "symbols/symbols_int.h"

#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/num.h"

/* libdwfl's search path when none is given (the default of
 * Dwfl_Callbacks.debuginfo_path) */
#define DEFAULT_DEBUG_PATH ":.debug:/usr/lib/debug"

/* Whether the file a b c d e (parts joined as they are) exists. */
static bool exists(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s%s%s%s%s", a, b, c, d, e);
	if (n < 0 || (size_t)n >= sizeof(path))
		return true; /* cannot tell: let libdwfl look */
	return access(path, F_OK) == 0;
}

/* A file named name in the places entry (len bytes) of the search path
 * stands for, for a main file in directory dir: the file's own directory
 * (""), a subdirectory of it (".debug") or a tree mirroring absolute paths
 * ("/usr/lib/debug", also searched flat). */
static bool entry_has(const char *entry, size_t len, const char *dir, const char *name)
{
	char e[PATH_MAX];
	if (len >= sizeof(e))
		return true;
	memcpy(e, entry, len);
	e[len] = '\0';
	if (!*e)
		return exists(dir, "/", name, "", "");
	if (*e == '/')
		return exists(e, *dir == '/' ? "" : "/", dir, "/", name) || exists(e, "/", name, "", "");
	return exists(dir, "/", e, "/", name);
}

/* The build-id file's path without ".debug", .build-id/xx/rest under the
 * absolute entry (len bytes), into path; false when it does not fit. */
static bool build_id_path(const char *entry, size_t len, const unsigned char *bits, int n, char path[PATH_MAX])
{
	if (len == 0 || *entry != '/' || n <= 1 || len + 2 * (size_t)n + 32 >= PATH_MAX)
		return false;
	size_t at = (size_t)snprintf(path, PATH_MAX, "%.*s/.build-id/", (int)len, entry);
	num_hex_bytes(bits, 1, path + at);
	path[at + 2] = '/';
	num_hex_bytes(bits + 1, (size_t)n - 1, path + at + 3);
	return true;
}

/* Whether a build-id file .build-id/xx/rest(.debug) exists under an
 * absolute entry. */
static bool entry_has_build_id(const char *entry, size_t len, const unsigned char *bits, int n)
{
	char path[PATH_MAX];
	if (!build_id_path(entry, len, bits, n, path))
		return len > 0 && *entry == '/' && n > 1; /* too long to build: let libdwfl look */
	return exists(path, "", "", "", "") || exists(path, ".debug", "", "", "");
}

/* The directory and base name of path into dir and base (dir "." for a
 * bare name). */
static void split_path(const char *path, char *dir, size_t dsize, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!slash)
		snprintf(dir, dsize, ".");
	else
		snprintf(dir, dsize, "%.*s", slash == path ? 1 : (int)(slash - path), path);
}

/* The entry of the colon-separated search path at *at into *entry (len
 * bytes), *at moved past it; false when none is left. */
static bool search_next(const char **at, const char **entry, size_t *len)
{
	if (!*at)
		return false;
	const char *e = *at, *end = strchr(e, ':');
	size_t n = end ? (size_t)(end - e) : strlen(e);
	/* a leading '+' or '-' turns libdwfl's CRC check on or off */
	if (n && (*e == '+' || *e == '-')) {
		e++;
		n--;
	}
	*entry = e;
	*len = n;
	*at = end ? end + 1 : NULL;
	return true;
}

/* Names the debug file may have, for a main file with base name base:
 * its .gnu_debuglink and base.debug (libdwfl's guess without one). */
static bool dir_has_any(const char *search, const char *dir, const char *base, const char *link)
{
	char guess[NAME_MAX + 8];
	snprintf(guess, sizeof(guess), "%s.debug", base);
	const char *names[] = {link, guess};
	const char *entry;
	size_t len;
	while (search_next(&search, &entry, &len))
		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
			if (names[i] && *names[i] && entry_has(entry, len, dir, names[i]))
				return true;
	return false;
}

bool debug_file_may_exist(Dwfl_Module *mod, const char *search, const char *file_name, const char *debuglink_file)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (urls && *urls)
		return true; /* the user asked for debuginfod: libdwfl's search goes there */
	if (!file_name || !*file_name)
		return true;
	if (!search)
		search = DEFAULT_DEBUG_PATH;
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	GElf_Word crc;
	const char *own_link = elf ? dwelf_elf_gnu_debuglink(elf, &crc) : NULL;
	/* a name that is not the file's .gnu_debuglink is a dwz file's
	 * .gnu_debugaltlink, looked for by rules not mirrored here */
	if (debuglink_file && (!own_link || strcmp(own_link, debuglink_file) != 0))
		return true;
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	const char *at = search, *entry;
	size_t len;
	while (n > 0 && search_next(&at, &entry, &len))
		if (entry_has_build_id(entry, len, bits, n))
			return true;
	char dir[PATH_MAX];
	const char *base;
	split_path(file_name, dir, sizeof(dir), &base);
	if (dir_has_any(search, dir, base, debuglink_file))
		return true;
	/* libdwfl also looks beside a symlink's target */
	char real[PATH_MAX];
	if (!realpath(file_name, real) || strcmp(real, file_name) == 0)
		return false;
	split_path(real, dir, sizeof(dir), &base);
	return dir_has_any(search, dir, base, debuglink_file);
}

int debug_find_build_id_file(const char *search, const unsigned char *bits, int n)
{
	const char *at = search ? search : DEFAULT_DEBUG_PATH, *entry;
	size_t len;
	while (search_next(&at, &entry, &len)) {
		char p[PATH_MAX];
		size_t plen;
		if (!build_id_path(entry, len, bits, n, p) || (plen = strlen(p)) + sizeof(".debug") > sizeof(p))
			continue;
		memcpy(p + plen, ".debug", sizeof(".debug"));
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	return -ENOENT;
}
