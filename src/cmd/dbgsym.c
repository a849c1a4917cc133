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

/* Reads the dpkg file list at path whole (a few KiB, rarely a few MiB)
 * into a new buffer that starts with a newline, as every line follows
 * one; NULL when it cannot be read. */
static char *read_list(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > (64 << 20))
		goto out_close;
	size_t size = (size_t)st.st_size, got = 0;
	buf = malloc(size + 2);
	if (!buf)
		goto out_close;
	buf[0] = '\n';
	while (got < size) {
		ssize_t k = read(fd, buf + 1 + got, size - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	buf[1 + got] = '\0';
	*len = got + 1;
out_close:
	close(fd);
	return buf;
}

/* Whether the list text (from read_list) has a line equal to file. */
static bool list_has_line(const char *buf, size_t len, const char *file)
{
	size_t n = strlen(file);
	for (const char *at = buf; (at = memmem(at, len - (size_t)(at - buf), file, n)); at++)
		if (at > buf && at[-1] == '\n' && (at[n] == '\n' || at[n] == '\0'))
			return true;
	return false;
}

/* One module whose package is looked for: with /usr merged, /lib/x and
 * /usr/lib/x are one file. */
struct pkg_query {
	const char *file;
	char alt[4096];
	char pkg[256]; /* "" until found */
};

static bool list_has(const char *buf, size_t len, const struct pkg_query *q)
{
	return list_has_line(buf, len, q->file) || list_has_line(buf, len, q->alt);
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

/* The Debian package that installed each file (its name without ":arch"),
 * or "" when none did. A package named like the file (zstd, sqlite3) is
 * tried first; the others share one pass over dpkg's lists, each read
 * once (a perf.data file of gcc has several such modules, and the lists
 * are megabytes). */
static void packages_of(struct pkg_query *q, size_t nq)
{
	size_t left = 0;
	char path[4096];
	for (size_t i = 0; i < nq; i++) {
		const char *file = q[i].file;
		if (!strncmp(file, "/usr/", 5))
			snprintf(q[i].alt, sizeof(q[i].alt), "%s", file + 4);
		else
			snprintf(q[i].alt, sizeof(q[i].alt), "/usr%s", file);
		const char *base = strrchr(file, '/');
		base = base ? base + 1 : file;
		snprintf(path, sizeof(path), DPKG_INFO "/%s.list", base);
		size_t len;
		char *buf = read_list(path, &len);
		if (buf && list_has(buf, len, &q[i]))
			snprintf(q[i].pkg, sizeof(q[i].pkg), "%s", base);
		else
			left++;
		free(buf);
	}
	DIR *d = left ? opendir(DPKG_INFO) : NULL;
	if (!d)
		return;
	struct dirent *e;
	while (left && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name), blen;
		if (len < 6 || strcmp(e->d_name + len - 5, ".list"))
			continue;
		snprintf(path, sizeof(path), DPKG_INFO "/%s", e->d_name);
		char *buf = read_list(path, &blen);
		for (size_t i = 0; buf && i < nq; i++) {
			if (q[i].pkg[0] || !list_has(buf, blen, &q[i]))
				continue;
			package_name(e->d_name, len, q[i].pkg, sizeof(q[i].pkg));
			left--;
		}
		free(buf);
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
	size_t nq = 1;
	for (const char *c = copy; *c; c++)
		nq += *c == ',';
	struct pkg_query *q = calloc(nq, sizeof(*q));
	if (!q) {
		free(copy);
		return;
	}
	size_t i = 0;
	for (char *s = copy, *end; s && i < nq; s = end ? end + 1 : NULL, i++) {
		end = strchr(s, ',');
		if (end)
			*end = '\0';
		q[i].file = s;
	}
	packages_of(q, i);
	for (size_t k = 0; k < i; k++) {
		if (!q[k].pkg[0])
			continue;
		if (pkgs.len)
			strbuf_addch(&pkgs, ' ');
		strbuf_addf(&pkgs, "%s-dbgsym", q[k].pkg);
	}
	free(q);
	free(copy);
	profile_set_meta(p, "unsymbolized_packages", strbuf_str(&pkgs));
	strbuf_release(&pkgs);
}
