/* fs.h - file-system helpers for the layers that keep files of their own
 * (the debug cache, the package cache). No printing: errors are returned. */
#ifndef KILN_UTIL_FS_H
#define KILN_UTIL_FS_H

#include <sys/types.h>

/* Creates dir and its missing parents, each made with mode (directories
 * that exist are left as they are). 0, or a negative errno: -EINVAL for
 * "", -ENAMETOOLONG past PATH_MAX, else mkdir(2)'s. */
int fs_make_dirs(const char *dir, mode_t mode);

/* Replaces path with the len bytes at buf as one step: written whole to
 * "path.tmp.PID.TID" (by thread: two threads of one process may write one
 * path at once), closed, then renamed over path, so a reader sees the old
 * file or the new one, never part of one. 0, or a negative errno (the
 * temporary file removed). */
int fs_write_atomic(const char *path, const void *buf, size_t len);

#endif
