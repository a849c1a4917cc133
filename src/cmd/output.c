/* output.c - temporary file beside the target, then rename; a previous
 * profile kept as FILE.old (see output.h for the rules). */
#include "cmd/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile/kiln_file.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* Creates an empty temporary file beside path with the mode a plain
 * creat() would give (mkstemp's 0600 would hide profiles from the group). */
static int make_tmp(struct output *o)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s.tmp.XXXXXX", o->path);
	char *name = strbuf_detach(&sb);
	int fd = mkostemp(name, O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		free(name);
		return rc;
	}
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask)) {
		/* not fatal: the file is still the user's */
	}
	o->tmp = name;
	return fd;
}

/* Is path something to write in place (a device, a pipe, a socket)? */
static bool write_in_place(const char *path, struct stat *st, bool *exists)
{
	*exists = stat(path, st) == 0;
	return *exists && !S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode);
}

static void output_init(struct output *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->path = xstrdup(path);
}

/* A regular file with data that kiln did not write is the user's. */
static bool is_foreign(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode) || st->st_size == 0)
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false; /* unreadable: the rename will tell */
	char head[16];
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return !kiln_has_magic(head, n > 0 ? (size_t)n : 0);
}

int output_open_profile(struct output *o, const char *path, bool force)
{
	struct stat st;
	bool exists;
	output_init(o, path);
	if (write_in_place(path, &st, &exists)) {
		o->direct = true;
		return 0;
	}
	int rc = 0;
	if (exists && S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out_release;
	}
	if (exists && !force && is_foreign(path, &st)) {
		rc = -EEXIST;
		goto out_release;
	}
	int fd = make_tmp(o);
	if (fd < 0) {
		rc = fd;
		goto out_release;
	}
	close(fd); /* the profile writer opens it by name */
	return 0;
out_release:
	output_release(o);
	return rc;
}

const char *output_name(const struct output *o)
{
	return o->tmp ? o->tmp : o->path;
}

int output_place(struct output *o)
{
	if (o->direct || o->placed)
		return 0;
	struct stat st;
	if (lstat(o->path, &st) == 0 && st.st_size > 0) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%s.old", o->path);
		o->old = strbuf_detach(&sb);
		if (rename(o->path, o->old)) {
			int rc = -errno;
			free(o->old);
			o->old = NULL;
			return rc;
		}
	}
	if (rename(o->tmp, o->path)) {
		int rc = -errno;
		if (o->old && rename(o->old, o->path) == 0) {
			free(o->old);
			o->old = NULL;
		}
		return rc;
	}
	free(o->tmp);
	o->tmp = NULL;
	o->placed = true;
	return 0;
}

void output_discard(struct output *o)
{
	if (o->direct)
		return;
	if (o->tmp) {
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
	if (o->placed) {
		if (o->old)
			rename(o->old, o->path); /* replaces the new file at once */
		else
			unlink(o->path);
		o->placed = false;
	}
	free(o->old);
	o->old = NULL;
}

/* stdio over the descriptor, remembering the first write error exactly:
 * stdio itself keeps only an error flag, and a later call may change errno
 * (a full disk must read "No space left on device", not a guess). */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
	struct output *o = cookie;
	if (o->err) {
		errno = o->err;
		return -1;
	}
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(o->fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			o->err = w < 0 ? errno : EIO;
			errno = o->err;
			return -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)n;
}

static int cookie_close(void *cookie)
{
	(void)cookie; /* the descriptor is closed by output_commit/release */
	return 0;
}

int output_open_text(struct output *o, const char *path)
{
	struct stat st;
	bool exists;
	output_init(o, path);
	int rc;
	if (!strcmp(path, "-")) {
		o->direct = o->is_stdout = true;
		fflush(stdout);
		o->fd = STDOUT_FILENO;
	} else if (write_in_place(path, &st, &exists)) {
		o->direct = true;
		o->fd = open(path, O_WRONLY | O_CLOEXEC);
	} else if (exists && S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out_release;
	} else {
		o->fd = make_tmp(o);
	}
	if (o->fd < 0) {
		rc = o->fd == -1 ? -errno : o->fd;
		o->fd = -1;
		goto out_release;
	}
	cookie_io_functions_t io = {.write = cookie_write, .close = cookie_close};
	o->f = fopencookie(o, "w", io);
	if (!o->f) {
		rc = -ENOMEM;
		goto out_release;
	}
	return 0;
out_release:
	output_release(o);
	return rc;
}

int output_commit(struct output *o)
{
	int rc = 0;
	if (fclose(o->f) && !o->err)
		o->err = EIO;
	o->f = NULL;
	if (!o->err && !o->is_stdout && !o->direct && fsync(o->fd) && errno != EINVAL)
		o->err = errno;
	if (!o->is_stdout && close(o->fd) && !o->err)
		o->err = errno; /* NFS and the like report the write here */
	o->fd = -1;
	if (o->err) {
		rc = -o->err;
		goto out_discard;
	}
	if (o->tmp && rename(o->tmp, o->path)) {
		rc = -errno;
		goto out_discard;
	}
	free(o->tmp);
	o->tmp = NULL;
	return 0;
out_discard:
	if (o->tmp) {
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
	return rc;
}

int output_write_text(const char *path, const struct strbuf *sb)
{
	struct output o;
	int rc = output_open_text(&o, path);
	if (rc)
		return rc;
	fwrite(strbuf_str(sb), 1, sb->len, o.f);
	rc = output_commit(&o);
	output_release(&o);
	return rc;
}

void output_release(struct output *o)
{
	if (o->f)
		fclose(o->f);
	o->f = NULL;
	if (o->fd >= 0 && !o->is_stdout)
		close(o->fd);
	o->fd = -1;
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->old);
	free(o->path);
	memset(o, 0, sizeof(*o));
	o->fd = -1;
}
