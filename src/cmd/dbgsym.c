/* dbgsym.c - the once-only hint about modules without symbols: which
 * Debian package holds each file (so the user can install its -dbgsym
 * package), kept in the profile so that kiln report can repeat it.
 *
 * Finding the package means reading dpkg's file lists (about 1,000 files,
 * 9 MB here: most of the CPU of reading a small perf.data file), so the
 * answers are kept in a small cache file beside the debug cache
 * (<debug cache>/packages), valid while /var/lib/dpkg/info is unchanged:
 * dpkg creates, renames or removes a list there for every package it
 * installs, upgrades or removes, which moves the directory's mtime. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "profile/profile.h"
#include "symbols/symbols.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define DPKG_INFO "/var/lib/dpkg/info"
/* the cache file's first line: its format and the lists' state */
#define PKG_CACHE_MAGIC "kiln-packages 1"
/* past this the cache starts over rather than grow without end */
#define PKG_CACHE_MAX (1u << 20)

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
	bool done;     /* answered (pkg "" when no package has the file) */
	bool fresh;    /* answered by the lists, not the cache */
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

/* The Debian package that installed each file not yet answered (its name
 * without ":arch"), or "" when none did. A package named like the file
 * (zstd, sqlite3) is tried first; the others share one pass over dpkg's
 * lists, each read once (a perf.data file of gcc has several such
 * modules, and the lists are megabytes). */
static void packages_scan(const char *info, struct pkg_query *q, size_t nq)
{
	size_t left = 0;
	char path[4096];
	for (size_t i = 0; i < nq; i++) {
		if (q[i].done)
			continue;
		q[i].fresh = true;
		const char *file = q[i].file;
		if (!strncmp(file, "/usr/", 5))
			snprintf(q[i].alt, sizeof(q[i].alt), "%s", file + 4);
		else
			snprintf(q[i].alt, sizeof(q[i].alt), "/usr%s", file);
		const char *base = strrchr(file, '/');
		base = base ? base + 1 : file;
		snprintf(path, sizeof(path), "%s/%s.list", info, base);
		size_t len;
		char *buf = read_list(path, &len);
		if (buf && list_has(buf, len, &q[i])) {
			snprintf(q[i].pkg, sizeof(q[i].pkg), "%s", base);
			q[i].done = true;
		} else {
			left++;
		}
		free(buf);
	}
	DIR *d = left ? opendir(info) : NULL;
	struct dirent *e;
	while (d && left && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name), blen;
		if (len < 6 || strcmp(e->d_name + len - 5, ".list"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", info, e->d_name);
		char *buf = read_list(path, &blen);
		for (size_t i = 0; buf && i < nq; i++) {
			if (q[i].done || !list_has(buf, blen, &q[i]))
				continue;
			package_name(e->d_name, len, q[i].pkg, sizeof(q[i].pkg));
			q[i].done = true;
			left--;
		}
		free(buf);
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < nq; i++)
		q[i].done = true; /* the rest: no package has them */
}

/* The cache's first line for the lists in info as they are now, false
 * when info cannot be read; *settled is false while the directory changed
 * within the last seconds (its mtime ticks coarsely: a change in the same
 * tick would go unseen), when answers are not stored. */
static bool lists_state(const char *info, char *out, size_t size, bool *settled)
{
	struct stat st;
	if (stat(info, &st) != 0)
		return false;
	*settled = st.st_mtim.tv_sec < time(NULL) - 2;
	snprintf(out, size, PKG_CACHE_MAGIC " %s %" PRId64 ".%09ld\n", info, (int64_t)st.st_mtim.tv_sec,
	         (long)st.st_mtim.tv_nsec);
	return true;
}

/* A file name the cache can hold on one line. */
static bool cacheable(const char *file)
{
	return *file && !strpbrk(file, "\t\n");
}

/* Answers the queries the cache text (from read_list: a newline first,
 * then the state line, then "file\tpackage" lines) holds. */
static void cache_answer(const char *text, size_t len, struct pkg_query *q, size_t nq)
{
	struct strbuf key = STRBUF_INIT;
	for (size_t i = 0; i < nq; i++) {
		if (!cacheable(q[i].file))
			continue;
		strbuf_reset(&key);
		strbuf_addf(&key, "\n%s\t", q[i].file);
		const char *at = memmem(text, len, strbuf_str(&key), key.len);
		if (!at)
			continue;
		at += key.len;
		const char *nl = memchr(at, '\n', len - (size_t)(at - text));
		if (!nl || (size_t)(nl - at) >= sizeof(q[i].pkg))
			continue; /* a cut or damaged line: ask the lists */
		snprintf(q[i].pkg, sizeof(q[i].pkg), "%.*s", (int)(nl - at), at);
		q[i].done = true;
	}
	strbuf_release(&key);
}

/* Writes the cache: the state line, the lines of old (still valid, without
 * its leading newline and state line; NULL for none) and the fresh
 * answers; under a temporary name, renamed over the old file. */
static void cache_store(const char *cache, const char *state, const char *old, struct pkg_query *q, size_t nq)
{
	struct strbuf sb = STRBUF_INIT, tmp = STRBUF_INIT;
	strbuf_addstr(&sb, state);
	if (old && strlen(old) + sb.len < PKG_CACHE_MAX)
		strbuf_addstr(&sb, old);
	for (size_t i = 0; i < nq; i++)
		if (q[i].fresh && cacheable(q[i].file))
			strbuf_addf(&sb, "%s\t%s\n", q[i].file, q[i].pkg);
	char *dir = strdup(cache);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash && slash != dir) {
		*slash = '\0';
		fs_make_dirs(dir, 0755);
	}
	free(dir);
	strbuf_addf(&tmp, "%s.%d.tmp", cache, (int)getpid());
	int fd = open(strbuf_str(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		bool ok = write(fd, sb.buf, sb.len) == (ssize_t)sb.len;
		ok = close(fd) == 0 && ok;
		if (!ok || rename(strbuf_str(&tmp), cache) != 0)
			unlink(strbuf_str(&tmp));
	}
	strbuf_release(&tmp);
	strbuf_release(&sb);
}

void cmd_packages_of(const char *info, const char *cache, const char *const *files, size_t n, char (*pkg)[256])
{
	struct pkg_query *q = calloc(n ? n : 1, sizeof(*q));
	if (!q) {
		for (size_t i = 0; i < n; i++)
			pkg[i][0] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++)
		q[i].file = files[i];
	char state[4096 + 64];
	bool settled = false;
	bool use_cache = cache && *cache && lists_state(info, state, sizeof(state), &settled);
	size_t len = 0, state_len = use_cache ? strlen(state) : 0;
	char *text = use_cache ? read_list(cache, &len) : NULL;
	/* read_list puts a newline first: the state line follows it */
	bool valid = text && len > state_len && !memcmp(text + 1, state, state_len);
	if (valid)
		cache_answer(text, len, q, n);
	size_t asked = 0;
	for (size_t i = 0; i < n; i++)
		asked += !q[i].done;
	if (asked) {
		packages_scan(info, q, n);
		if (use_cache && settled)
			cache_store(cache, state, valid ? text + 1 + state_len : NULL, q, n);
	}
	for (size_t i = 0; i < n; i++)
		snprintf(pkg[i], sizeof(pkg[i]), "%s", q[i].pkg);
	free(text);
	free(q);
}

void cmd_note_debug_packages(struct profile *p)
{
	const char *list = profile_get_meta(p, "unsymbolized_modules");
	if (!list || !*list || profile_get_meta(p, "unsymbolized_packages"))
		return;
	struct strbuf pkgs = STRBUF_INIT, cache = STRBUF_INIT;
	char *copy = strdup(list);
	if (!copy)
		return;
	size_t nq = 1;
	for (const char *c = copy; *c; c++)
		nq += *c == ',';
	const char **files = calloc(nq, sizeof(*files));
	char(*pkg)[256] = calloc(nq, sizeof(*pkg));
	if (!files || !pkg)
		goto out_free;
	size_t i = 0;
	for (char *s = copy, *end; s && i < nq; s = end ? end + 1 : NULL, i++) {
		end = strchr(s, ',');
		if (end)
			*end = '\0';
		files[i] = s;
	}
	const char *dir = symbols_debug_cache_dir();
	if (dir)
		strbuf_addf(&cache, "%s/packages", dir);
	cmd_packages_of(DPKG_INFO, strbuf_str(&cache), files, i, pkg);
	for (size_t k = 0; k < i; k++) {
		if (!pkg[k][0])
			continue;
		if (pkgs.len)
			strbuf_addch(&pkgs, ' ');
		strbuf_addf(&pkgs, "%s-dbgsym", pkg[k]);
	}
	profile_set_meta(p, "unsymbolized_packages", strbuf_str(&pkgs));
out_free:
	free(files);
	free(pkg);
	free(copy);
	strbuf_release(&cache);
	strbuf_release(&pkgs);
}
