/* fs.h - file-system helpers for the layers that keep files of their own
 * (the debug cache, the package cache). No printing: errors are returned. */
#ifndef KILN_UTIL_FS_H
#define KILN_UTIL_FS_H

#include <sys/types.h>

/* Creates dir and its missing parents, each made with mode (directories
 * that exist are left as they are). 0, or a negative errno: -EINVAL for
 * "", -ENAMETOOLONG past PATH_MAX, else mkdir(2)'s. */
int fs_make_dirs(const char *dir, mode_t mode);

#endif
