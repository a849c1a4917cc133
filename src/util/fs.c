/* fs.c - file-system helpers (fs.h). */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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

int fs_write_atomic(const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d.%d", path, (int)getpid(), (int)gettid());
	if (n <= 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = 0;
	for (size_t done = 0; done < len && !rc;) {
		ssize_t w = write(fd, (const char *)buf + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = w < 0 ? -errno : -EIO;
		else
			done += (size_t)w;
	}
	if (close(fd) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) != 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}
