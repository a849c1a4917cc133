/* dbgsym.c - the once-only hint about modules without symbols: which
 * Debian package holds each file (so the user can install its -dbgsym
 * package), kept in the profile so that kiln report can repeat it. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "profile/profile.h"
#include "util/strbuf.h"

#define DPKG_INFO "/var/lib/dpkg/info"

/* Whether the dpkg file list at path has a line equal to file or alt.
 * The list is read whole (a few KiB, rarely a few MiB) in one call: a
 * report of a perf.data file asks this of hundreds of lists. */
static bool list_has(const char *path, const char *file, const char *alt)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool found = false;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > (64 << 20))
		goto out_close;
	size_t size = (size_t)st.st_size, got = 0;
	buf = malloc(size + 2);
	if (!buf)
		goto out_close;
	buf[0] = '\n'; /* every line, the first too, follows a newline */
	while (got < size) {
		ssize_t k = read(fd, buf + 1 + got, size - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	buf[1 + got] = '\0';
	const char *want[2] = {file, alt};
	for (int i = 0; i < 2 && !found; i++) {
		size_t n = strlen(want[i]);
		for (const char *at = buf; !found && (at = memmem(at, got + 1 - (size_t)(at - buf), want[i], n)); at++)
			found = at > buf && at[-1] == '\n' && (at[n] == '\n' || at[n] == '\0');
	}
out_close:
	free(buf);
	close(fd);
	return found;
}

/* Sets out to the package name in dpkg list file name (without ".list"
 * and ":arch"). */
static void package_name(const char *list, size_t len, char *out, size_t size)
{
	size_t keep = len - 5;
	const char *colon = memchr(list, ':', keep);
	if (colon)
		keep = (size_t)(colon - list);
	snprintf(out, size, "%.*s", (int)keep, list);
}

/* The Debian package that installed file (its name without ":arch"), or
 * "" when none did; with /usr merged, /lib/x and /usr/lib/x are one file.
 * A package named like the file (zstd, sqlite3) is tried first. */
static void package_of(const char *file, char *out, size_t size)
{
	out[0] = '\0';
	char alt[4096], path[4096];
	if (!strncmp(file, "/usr/", 5))
		snprintf(alt, sizeof(alt), "%s", file + 4);
	else
		snprintf(alt, sizeof(alt), "/usr%s", file);
	const char *base = strrchr(file, '/');
	base = base ? base + 1 : file;
	snprintf(path, sizeof(path), DPKG_INFO "/%s.list", base);
	if (list_has(path, file, alt)) {
		snprintf(out, size, "%s", base);
		return;
	}
	DIR *d = opendir(DPKG_INFO);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".list"))
			continue;
		snprintf(path, sizeof(path), DPKG_INFO "/%s", e->d_name);
		if (!list_has(path, file, alt))
			continue;
		package_name(e->d_name, len, out, size);
		break;
	}
	closedir(d);
}

void cmd_note_debug_packages(struct profile *p)
{
	const char *list = profile_get_meta(p, "unsymbolized_modules");
	if (!list || !*list || profile_get_meta(p, "unsymbolized_packages"))
		return;
	struct strbuf pkgs = STRBUF_INIT;
	char *copy = strdup(list);
	if (!copy)
		return;
	size_t i = 0;
	for (char *s = copy, *end; s; s = end ? end + 1 : NULL, i++) {
		end = strchr(s, ',');
		if (end)
			*end = '\0';
		char pkg[256];
		package_of(s, pkg, sizeof(pkg));
		if (pkg[0]) {
			if (pkgs.len)
				strbuf_addch(&pkgs, ' ');
			strbuf_addf(&pkgs, "%s-dbgsym", pkg);
		}
	}
	free(copy);
	profile_set_meta(p, "unsymbolized_packages", strbuf_str(&pkgs));
	strbuf_release(&pkgs);
}
