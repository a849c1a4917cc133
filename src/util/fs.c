/* fs.c - file-system helpers (fs.h). */
#include "util/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

int fs_make_dirs(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];
	int n = snprintf(buf, sizeof(buf), "%s", dir);
	if (n <= 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	/* each prefix that ends at a '/', then the whole */
	for (char *c = buf + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char was = *c;
		*c = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -errno;
		if (!was)
			return 0;
		*c = was;
	}
}
