/* serve_close.c - the thread that finishes kiln serve's segments
 * (serve_close.h): symbolizes a closed segment's profile, writes its end
 * chunk and fsyncs it, away from the loop that answers HTTP requests. */
#include "cmd/serve_close.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/serve_symbolize.h"
#include "util/xalloc.h"

struct serve_close_job {
	struct serve_close_job *next;
	struct profile *p;
	struct kiln_writer *w;
	char *path;
	size_t bytes; /* p's, counted in the closer's pending_bytes */
};

void serve_gate_wait(const char **gate)
{
	if (!*gate)
		return;
	int fd = open(*gate, O_RDONLY | O_CLOEXEC);
	*gate = NULL;
	if (fd < 0)
		return;
	char buf[16];
	while (read(fd, buf, sizeof(buf)) < 0 && errno == EINTR)
		;
	close(fd);
}

static int close_one(struct serve_closer *c, struct serve_close_job *j)
{
	serve_symbols_resolve(c->symbols, j->p);
	profile_name_unsymbolized(j->p);
	size_t bytes = profile_bytes(j->p); /* symbols added frames and names */
	pthread_mutex_lock(&c->lock);
	c->pending_bytes = c->pending_bytes - j->bytes + bytes;
	j->bytes = bytes;
	pthread_mutex_unlock(&c->lock);
	serve_gate_wait(&c->gate); /* the first close */
	int rc = kiln_writer_finish(j->w, j->p);
	kiln_writer_free(j->w);
	profile_free(j->p);
	return rc;
}

static void *closer_main(void *arg)
{
	struct serve_closer *c = arg;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->head && !c->stop)
			pthread_cond_wait(&c->wake, &c->lock);
		struct serve_close_job *j = c->head;
		if (!j)
			break; /* stop, and nothing left */
		c->head = j->next;
		if (!c->head)
			c->tail = NULL;
		pthread_mutex_unlock(&c->lock);
		int rc = close_one(c, j);
		pthread_mutex_lock(&c->lock);
		c->pending--;
		c->pending_bytes -= j->bytes;
		if (rc) {
			c->errors++;
			c->last_err = rc;
			free(c->last_err_path);
			c->last_err_path = j->path;
			j->path = NULL;
		} else {
			c->closed++;
		}
		free(j->path);
		free(j);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int serve_closer_start(struct serve_closer *c, struct serve_symbols *symbols)
{
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	c->inited = true;
	c->symbols = symbols;
	const char *gate = getenv("KILN_TEST_SERVE_CLOSE_GATE");
	c->gate = gate && *gate ? gate : NULL;
	int rc = pthread_create(&c->thread, NULL, closer_main, c);
	if (rc)
		return -rc;
	c->started = true;
	return 0;
}

void serve_closer_submit(struct serve_closer *c, struct profile *p, struct kiln_writer *w, const char *path)
{
	struct serve_close_job *j = xcalloc(1, sizeof(*j));
	j->p = p;
	j->w = w;
	j->path = xstrdup(path);
	j->bytes = profile_bytes(p);
	pthread_mutex_lock(&c->lock);
	c->pending_bytes += j->bytes;
	if (c->tail)
		c->tail->next = j;
	else
		c->head = j;
	c->tail = j;
	c->pending++;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
}

size_t serve_closer_pending_bytes(struct serve_closer *c)
{
	if (!c->inited)
		return 0;
	pthread_mutex_lock(&c->lock);
	size_t n = c->pending_bytes;
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t serve_closer_pending(struct serve_closer *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->pending;
	pthread_mutex_unlock(&c->lock);
	return n;
}

uint64_t serve_closer_take_errors(struct serve_closer *c, int *err, char **path)
{
	pthread_mutex_lock(&c->lock);
	uint64_t n = c->errors;
	*err = c->last_err;
	*path = c->last_err_path;
	c->errors = 0;
	c->last_err_path = NULL;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void serve_closer_stop(struct serve_closer *c)
{
	if (!c->started)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	c->started = false;
}

void serve_closer_release(struct serve_closer *c)
{
	serve_closer_stop(c);
	if (!c->inited)
		return;
	free(c->last_err_path);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	c->inited = false;
}
