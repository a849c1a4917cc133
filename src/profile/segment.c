/* segment.c - kiln serve's rotating directory of .kiln segments (segment.h). */
#include "profile/segment.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

int segment_dir_init(struct segment_dir *sd, const char *dir, uint64_t retention_ns, uint64_t max_bytes)
{
	memset(sd, 0, sizeof(*sd));
	int rc = fs_make_dirs(dir, 0755);
	if (rc)
		return rc;
	struct stat st; /* fs_make_dirs() leaves a file of that name be */
	if (stat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	sd->dir = xstrdup(dir);
	sd->retention_ns = retention_ns;
	sd->max_bytes = max_bytes;
	return 0;
}

void segment_dir_release(struct segment_dir *sd)
{
	free(sd->dir);
	sd->dir = NULL;
}

char *segment_dir_path(const struct segment_dir *sd, uint64_t wall_ns, uint64_t seq)
{
	time_t t = (time_t)(wall_ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s%s-%06llu%s", sd->dir, SEGMENT_PREFIX, stamp, (unsigned long long)seq, SEGMENT_SUFFIX);
	return strbuf_detach(&sb);
}

struct segment_file {
	char *name;
	uint64_t mtime_ns, size;
};

static bool is_segment(const char *name)
{
	size_t n = strlen(name), pl = strlen(SEGMENT_PREFIX), sl = strlen(SEGMENT_SUFFIX);
	return n > pl + sl && !strncmp(name, SEGMENT_PREFIX, pl) && !strcmp(name + n - sl, SEGMENT_SUFFIX);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct segment_file *)a)->name, ((const struct segment_file *)b)->name);
}

int segment_dir_prune(struct segment_dir *sd, uint64_t now_wall_ns, const char *keep, struct segment_dir_stats *st)
{
	DIR *d = opendir(sd->dir);
	if (!d)
		return -errno;
	VEC(struct segment_file) files = {0};
	const char *keep_name = keep ? strrchr(keep, '/') : NULL;
	keep_name = keep_name ? keep_name + 1 : keep;
	uint64_t total = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_segment(e->d_name))
			continue;
		struct stat sb;
		if (fstatat(dirfd(d), e->d_name, &sb, 0) < 0 || !S_ISREG(sb.st_mode))
			continue;
		struct segment_file f = {xstrdup(e->d_name),
		                         (uint64_t)sb.st_mtim.tv_sec * 1000000000ull + (uint64_t)sb.st_mtim.tv_nsec,
		                         (uint64_t)sb.st_size};
		vec_push(&files, f);
		total += f.size;
	}
	/* names sort by start time, oldest first */
	if (files.n)
		qsort(files.v, files.n, sizeof(*files.v), by_name);
	int removed = 0;
	uint64_t left = files.n;
	for (size_t i = 0; i < files.n; i++) {
		struct segment_file *f = &files.v[i];
		if (keep_name && !strcmp(f->name, keep_name))
			continue;
		bool old = sd->retention_ns && f->mtime_ns + sd->retention_ns < now_wall_ns;
		bool over = sd->max_bytes && total > sd->max_bytes;
		if ((old || over) && unlinkat(dirfd(d), f->name, 0) == 0) {
			total -= f->size;
			left--;
			removed++;
		}
	}
	closedir(d);
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i].name);
	vec_free(&files);
	sd->removed += (uint64_t)removed;
	if (st) {
		st->files = left;
		st->bytes = total;
		st->removed = sd->removed;
	}
	return removed;
}
