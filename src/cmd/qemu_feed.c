/* qemu_feed.c - symbolizing while qemu runs (qemu_feed.h). */
#include "cmd/qemu_feed.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/qemu_count.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"
#include "util/strtab.h"
#include "util/vec.h"
#include "util/xalloc.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* lookups between two looks at the FIFO and the process */
#define FEED_BATCH 64

struct feed_addr {
	uint32_t path; /* into paths */
	uint64_t offset;
};

struct qemu_feed {
	char *path;
	int fd;
	char buf[1 << 16];
	size_t len;          /* a line not yet whole */
	struct strtab paths; /* the files named, once each */
	VEC(struct feed_addr) todo;
	size_t next; /* into todo */
	struct qemu_feed_block block;
};

struct qemu_feed *qemu_feed_open(const char *dir)
{
	struct qemu_feed *f = xcalloc(1, sizeof(*f));
	strtab_init(&f->paths);
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/feed", dir);
	f->path = strbuf_detach(&sb);
	f->fd = -1;
	if (mkfifo(f->path, 0600) != 0)
		goto out_free;
	/* read and write: kiln stays a writer, so the FIFO never reads as
	 * ended (and polls as hung up) between two of the plugins' writes */
	f->fd = open(f->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (f->fd < 0) {
		unlink(f->path);
		goto out_free;
	}
	/* room for the burst of the dynamic loader's and libc's start-up
	 * blocks; a smaller pipe only drops more of them */
	fcntl(f->fd, F_SETPIPE_SZ, 1 << 20);
	return f;
out_free:
	free(f->path);
	free(f);
	return NULL;
}

const char *qemu_feed_path(const struct qemu_feed *f)
{
	return f->path;
}

/* Takes the whole lines in the buffer into todo. */
static void feed_take_lines(struct qemu_feed *f)
{
	struct qemu_feed_block *b = &f->block;
	char *line = f->buf, *end = f->buf + f->len, *nl;
	while ((nl = memchr(line, '\n', (size_t)(end - line)))) {
		if (!qemu_feed_parse(line, (size_t)(nl - line), b)) {
			uint32_t id = strtab_intern_n(&f->paths, b->path, b->path_len);
			for (uint32_t i = 0; i < b->n; i++) {
				struct feed_addr a = {id, b->offset[i]};
				vec_push(&f->todo, a);
			}
		}
		line = nl + 1;
	}
	f->len = (size_t)(end - line);
	memmove(f->buf, line, f->len);
	if (f->len == sizeof(f->buf))
		f->len = 0; /* no line is that long: not the plugin's */
}

static void feed_read(struct qemu_feed *f)
{
	ssize_t n;
	while ((n = read(f->fd, f->buf + f->len, sizeof(f->buf) - f->len)) > 0) {
		f->len += (size_t)n;
		feed_take_lines(f);
	}
}

static void feed_lookup(struct qemu_feed *f, struct symbolizer *s)
{
	struct symbol_frame out[8];
	for (int k = 0; k < FEED_BATCH && f->next < f->todo.n; k++, f->next++) {
		const struct feed_addr *a = &f->todo.v[f->next];
		symbolizer_lookup_file(s, strtab_get(&f->paths, a->path), a->offset, out, 8);
	}
	if (f->next == f->todo.n)
		f->next = f->todo.n = 0;
}

int qemu_feed_wait(struct qemu_feed *f, pid_t pid, struct symbolizer *s, int *wst)
{
	int pidfd = f ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	while (pidfd >= 0) {
		struct pollfd fds[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = f->fd, .events = POLLIN}};
		int n = poll(fds, 2, f->next < f->todo.n ? 0 : -1);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && fds[0].revents)
			break; /* it ended: what is left is named after the run */
		if (n > 0 && fds[1].revents & POLLIN)
			feed_read(f);
		feed_lookup(f, s);
	}
	if (pidfd >= 0)
		close(pidfd);
	while (waitpid(pid, wst, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

void qemu_feed_free(struct qemu_feed *f)
{
	if (!f)
		return;
	close(f->fd);
	unlink(f->path);
	strtab_release(&f->paths);
	vec_free(&f->todo);
	free(f->path);
	free(f);
}
