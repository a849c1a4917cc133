/* debug_packages.c - which Debian package installed each module without
 * symbols, so that the hint can name its -dbgsym package
 * (symbols_packages_of(); cmd/dbgsym.c keeps the answer in the profile).
 *
 * Finding the package means reading dpkg's file lists (about 1,000 files,
 * 9 MB here: most of the CPU of reading a small perf.data file), so the
 * answers are kept in a small cache file beside the debug cache
 * (<debug cache>/packages), valid while /var/lib/dpkg/info is unchanged:
 * dpkg creates, renames or removes a list there for every package it
 * installs, upgrades or removes, which moves the directory's mtime.
 *
 * The cache is a property of the machine, not of one profile: a pass over
 * the lists that builds it also keeps every listed file shaped like a
 * module (a shared object, or a file in a bin/, sbin/, libexec/ or
 * lib/gcc/ directory; 8,000 of the 170,000 lines here), so that a new
 * perf.data file's modules met for the first time (a program not profiled
 * before) are answered from the cache too, a module-shaped file it does
 * not hold by "no package", instead of a new 10 ms pass over the lists. */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "util/fs.h"
#include "util/strbuf.h"

/* the cache file's first line: its format and the lists' state */
#define PKG_CACHE_MAGIC "kiln-packages 2"
/* the cache's last line: a file without it was cut, and would say "no
 * package" for the module-shaped files it lost */
#define PKG_CACHE_END ".\n"
/* past this the cache starts over rather than grow without end */
#define PKG_CACHE_MAX (4u << 20)

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

/* Whether the segment [s, s + n) of a path names a directory whose files
 * are programs: bin, sbin, libexec. */
static bool program_dir(const char *s, size_t n)
{
	return (n == 3 && !memcmp(s, "bin", 3)) || (n == 4 && !memcmp(s, "sbin", 4)) ||
	       (n == 7 && !memcmp(s, "libexec", 7));
}

/* Whether the path [path, path + len) is shaped like a module a profile
 * names: a shared object (its name ends in ".so", then maybe a version:
 * libc.so.6), a file in a bin, sbin or libexec directory, or one under
 * /usr/libexec or /usr/lib/gcc (cc1, collect2), /usr or not. The cache
 * holds every listed file of this shape, so its absence there means no
 * package has it. Cheap: it is asked of every line of dpkg's lists. */
static bool module_shaped(const char *path, size_t len)
{
	static const char *const trees[] = {"/usr/libexec/", "/libexec/", "/usr/lib/gcc/", "/lib/gcc/"};
	if (!len || path[0] != '/')
		return false;
	const char *slash = memrchr(path, '/', len), *base = slash + 1, *end = path + len;
	while (end > base && ((end[-1] >= '0' && end[-1] <= '9') || end[-1] == '.'))
		end--;
	if (end - base > 3 && !memcmp(end - 3, ".so", 3))
		return true;
	if (slash > path) {
		const char *up = (const char *)memrchr(path, '/', (size_t)(slash - path)) + 1;
		if (program_dir(up, (size_t)(slash - up)))
			return true;
	}
	for (size_t i = 0; i < sizeof(trees) / sizeof(*trees); i++)
		if (len > strlen(trees[i]) && !memcmp(path, trees[i], strlen(trees[i])))
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

static void query_init(struct pkg_query *q, const char *file)
{
	q->file = file;
	if (!strncmp(file, "/usr/", 5))
		snprintf(q->alt, sizeof(q->alt), "%s", file + 4);
	else
		snprintf(q->alt, sizeof(q->alt), "/usr%s", file);
}

/* Whether the list text (from read_list) has a line equal to the file or
 * its other name: one pass for the name without /usr, each occurrence
 * checked for a whole line, "/usr" before it or not. */
static bool list_has(const char *buf, size_t len, const struct pkg_query *q)
{
	const char *name = strncmp(q->file, "/usr/", 5) ? q->file : q->alt;
	size_t n = strlen(name);
	for (const char *at = buf; (at = memmem(at, len - (size_t)(at - buf), name, n)); at++)
		if (at > buf && (at[n] == '\n' || at[n] == '\0') &&
		    (at[-1] == '\n' || (at - buf >= 5 && !memcmp(at - 5, "\n/usr", 5))))
			return true;
	return false;
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

static const char *base_of(const char *file)
{
	const char *slash = strrchr(file, '/');
	return slash ? slash + 1 : file;
}

/* Appends to out a "file\tpackage" line for each module-shaped line of
 * the list text buf (from read_list) of package pkg. */
static void harvest(struct strbuf *out, const char *buf, size_t len, const char *pkg)
{
	const char *end = buf + len;
	for (const char *line = buf + 1, *nl; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		size_t n = (size_t)(nl - line);
		if (module_shaped(line, n) && !memchr(line, '\t', n))
			strbuf_addf(out, "%.*s\t%s\n", (int)n, line, pkg);
	}
}

/* The Debian package that installed each file not yet answered (its name
 * without ":arch"), or "" when none did. A package named like the file
 * (zstd, sqlite3) is tried first; the others share one pass over dpkg's
 * lists, each read once (a perf.data file of gcc has several such
 * modules, and the lists are megabytes). With out, every list is read
 * and its module-shaped files are appended to out (see harvest). */
static void packages_scan(const char *info, struct pkg_query *q, size_t nq, struct strbuf *out)
{
	size_t left = 0;
	char path[4096], pkg[256];
	for (size_t i = 0; i < nq; i++) {
		if (q[i].done)
			continue;
		q[i].fresh = true;
		const char *base = base_of(q[i].file);
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
	DIR *d = left || out ? opendir(info) : NULL;
	struct dirent *e;
	while (d && (left || out) && (e = readdir(d)) != NULL) {
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
		if (buf && out) {
			package_name(e->d_name, len, pkg, sizeof(pkg));
			harvest(out, buf, blen, pkg);
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

/* The package of file in the cache text (from read_list: a newline first,
 * then the state line, then "file\tpackage" lines) into pkg; false when
 * the text has no whole line for it. */
static bool cache_line(const char *text, size_t len, const char *file, char *pkg, size_t size, struct strbuf *key)
{
	strbuf_reset(key);
	strbuf_addf(key, "\n%s\t", file);
	const char *at = memmem(text, len, strbuf_str(key), key->len);
	if (!at)
		return false;
	at += key->len;
	const char *nl = memchr(at, '\n', len - (size_t)(at - text));
	if (!nl || (size_t)(nl - at) >= size)
		return false; /* a cut or damaged line: ask the lists */
	snprintf(pkg, size, "%.*s", (int)(nl - at), at);
	return true;
}

/* Answers the queries the cache text holds, under the file's name or its
 * other name with /usr merged; a module-shaped file it does not hold has
 * no package (the cache holds all of those). */
static void cache_answer(const char *text, size_t len, struct pkg_query *q, size_t nq)
{
	struct strbuf key = STRBUF_INIT;
	for (size_t i = 0; i < nq; i++) {
		if (!cacheable(q[i].file))
			continue;
		q[i].done = cache_line(text, len, q[i].file, q[i].pkg, sizeof(q[i].pkg), &key) ||
		            cache_line(text, len, q[i].alt, q[i].pkg, sizeof(q[i].pkg), &key) ||
		            module_shaped(q[i].file, strlen(q[i].file));
	}
	strbuf_release(&key);
}

/* Writes the cache: the state line, the lines of old (still valid, without
 * its leading newline, state line and end line; NULL for none), the fresh
 * answers, the module-shaped files of every list (mods, when old is NULL)
 * and the end line; under a temporary name, renamed over the old file.
 * Past PKG_CACHE_MAX the old file is removed instead, and the next pass
 * over the lists starts over: dropping lines would make the cache say "no
 * package" for module-shaped files it lost. */
static void cache_store(const char *cache, const char *state, const char *old, struct pkg_query *q, size_t nq,
                        const struct strbuf *mods)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, state);
	if (old)
		strbuf_addstr(&sb, old);
	for (size_t i = 0; i < nq; i++)
		if (q[i].fresh && cacheable(q[i].file))
			strbuf_addf(&sb, "%s\t%s\n", q[i].file, q[i].pkg);
	if (!old)
		strbuf_addstr(&sb, strbuf_str(mods));
	strbuf_addstr(&sb, PKG_CACHE_END);
	if (sb.len > PKG_CACHE_MAX) {
		unlink(cache);
		goto out_free;
	}
	char *dir = strdup(cache);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash && slash != dir) {
		*slash = '\0';
		fs_make_dirs(dir, 0755);
	}
	free(dir);
	fs_write_atomic(cache, sb.buf, sb.len); /* a cache: not written is only slower next time */
out_free:
	strbuf_release(&sb);
}

void symbols_packages_of(const char *info, const char *cache, const char *const *files, size_t n, char (*pkg)[256])
{
	struct pkg_query *q = calloc(n ? n : 1, sizeof(*q));
	if (!q) {
		for (size_t i = 0; i < n; i++)
			pkg[i][0] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++)
		query_init(&q[i], files[i]);
	char state[4096 + 64];
	bool settled = false;
	bool use_cache = cache && *cache && lists_state(info, state, sizeof(state), &settled);
	size_t len = 0, state_len = use_cache ? strlen(state) : 0;
	char *text = use_cache ? read_list(cache, &len) : NULL;
	/* read_list puts a newline first: the state line follows it */
	size_t end_len = strlen(PKG_CACHE_END);
	bool valid = text && len >= 1 + state_len + end_len && !memcmp(text + 1, state, state_len) &&
	             !memcmp(text + len - end_len, PKG_CACHE_END, end_len) && text[len - end_len - 1] == '\n';
	if (valid) {
		len -= end_len;
		text[len] = '\0'; /* the old lines for cache_store */
		cache_answer(text, len, q, n);
	}
	size_t asked = 0;
	for (size_t i = 0; i < n; i++)
		asked += !q[i].done;
	if (asked) {
		/* a new cache gets every list's module-shaped files */
		struct strbuf mods = STRBUF_INIT;
		bool store = use_cache && settled;
		packages_scan(info, q, n, store && !valid ? &mods : NULL);
		if (store)
			cache_store(cache, state, valid ? text + 1 + state_len : NULL, q, n, &mods);
		strbuf_release(&mods);
	}
	for (size_t i = 0; i < n; i++)
		snprintf(pkg[i], sizeof(pkg[i]), "%s", q[i].pkg);
	free(text);
	free(q);
}

void symbols_dbgsym_list(const char (*pkg)[256], size_t n, struct strbuf *out)
{
	for (size_t k = 0; k < n; k++) {
		bool seen = !pkg[k][0];
		for (size_t j = 0; j < k && !seen; j++)
			seen = !strcmp(pkg[j], pkg[k]);
		if (seen)
			continue;
		if (out->len)
			strbuf_addch(out, ' ');
		strbuf_addf(out, "%s-dbgsym", pkg[k]);
	}
}
