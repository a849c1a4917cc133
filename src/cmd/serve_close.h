/* serve_close.h - kiln serve's segment closer: a thread that finishes the
 * segments the loop hands it (symbols, end chunk, fsync), so that no HTTP
 * request waits behind that work. The loop hands over a segment's whole
 * profile and writer and never touches them again; the closer names what
 * the symbolizer thread has not yet with the caches it shares with that
 * thread (serve_symbolize.h). What it reports back (write errors, how many
 * are pending) is read under its lock. */
#ifndef KILN_CMD_SERVE_CLOSE_H
#define KILN_CMD_SERVE_CLOSE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/kiln_file.h"
#include "profile/profile.h"

struct serve_close_job;
struct serve_symbols;

struct serve_closer {
	pthread_t thread;
	bool inited, started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* under lock */
	struct serve_close_job *head, *tail;
	size_t pending;       /* queued or being closed */
	size_t pending_bytes; /* their profiles' bytes (profile_bytes()) */
	bool stop;
	uint64_t errors;     /* segments that failed to finish, not yet polled */
	int last_err;        /* the latest failure's -errno */
	char *last_err_path; /* and its segment (the poller frees it) */
	uint64_t closed;     /* segments finished whole */
	/* the closer thread's own */
	struct serve_symbols *symbols; /* shared with the loop's symbolizer thread */
	const char *gate; /* KILN_TEST_SERVE_CLOSE_GATE: a FIFO the first close reads one line from first */
};

/* The test hooks' gate (KILN_TEST_SERVE_*_GATE): when *gate names a FIFO,
 * waits for a line on it, once (*gate is cleared), so a test holds a close
 * or a symbolization open while it sends requests. */
void serve_gate_wait(const char **gate);

/* Starts the thread, which names locations with symbols' caches (it must
 * outlive the closer); 0 or -errno. */
int serve_closer_start(struct serve_closer *c, struct serve_symbols *symbols);
/* Hands over a segment: p (its whole profile, samples included) and w
 * become the closer's, which finishes w with p's symbols and frees both;
 * path is copied. */
void serve_closer_submit(struct serve_closer *c, struct profile *p, struct kiln_writer *w, const char *path);
/* Segments handed over and not finished yet. */
size_t serve_closer_pending(struct serve_closer *c);
/* The bytes of the profiles handed over and not freed yet. */
size_t serve_closer_pending_bytes(struct serve_closer *c);
/* The failures since the last call: returns how many, with the latest's
 * -errno and path (*path is the caller's to free; NULL when none). */
uint64_t serve_closer_take_errors(struct serve_closer *c, int *err, char **path);
/* Finishes every segment handed over, then ends the thread (its errors
 * can still be taken). Accepts a closer that never started. */
void serve_closer_stop(struct serve_closer *c);
/* Stops it when running and frees what it holds. */
void serve_closer_release(struct serve_closer *c);

#endif
