/* qemu_feed.h - symbolizing while the command runs under qemu: kiln
 * count and kiln cache wait for qemu on a FIFO that libkiln-qemu.so
 * writes each new block's instructions to (feed=FIFO, qemu_format.h), and
 * look them up meanwhile, so that the pass after the run finds most of
 * its answers cached. It only warms the symbolizer: what the profile
 * holds does not depend on it.
 */
#ifndef KILN_CMD_QEMU_FEED_H
#define KILN_CMD_QEMU_FEED_H

#include <sys/types.h>

struct qemu_feed;
struct symbolizer;

/* Makes the FIFO DIR/feed and opens it; NULL when it cannot (the run then
 * goes on without: feed_wait() only waits). */
struct qemu_feed *qemu_feed_open(const char *dir);
/* The FIFO's path, for the plugin's feed= argument. */
const char *qemu_feed_path(const struct qemu_feed *f);
/* Waits for process pid to end (its waitpid status in *wst), looking up
 * in s what the FIFO brings until then. f may be NULL. Returns 0, or
 * -errno when waitpid fails. */
int qemu_feed_wait(struct qemu_feed *f, pid_t pid, struct symbolizer *s, int *wst);
/* Closes and removes the FIFO (plugins still running then stop writing
 * to it); accepts NULL. */
void qemu_feed_free(struct qemu_feed *f);

#endif
