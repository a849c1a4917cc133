/* live_compact.c - the marks a long-running command's compaction keeps
 * beside its samples' stacks (live_compact.h). */
#include "cmd/live_compact.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "capture/proc_stat.h"
#include "util/xalloc.h"

void live_keep_init(struct live_keep *k, const struct profile *p)
{
	k->ks = xcalloc(p->stacks.n + 1, 1);
	k->km = xcalloc(p->mappings.n + 1, 1);
	k->kt = xcalloc(p->threads.n + 1, 1);
	k->smap = xmalloc((p->stacks.n + 1) * sizeof(*k->smap));
	k->mmap = xmalloc((p->mappings.n + 1) * sizeof(*k->mmap));
}

void live_keep_release(struct live_keep *k)
{
	free(k->ks);
	free(k->km);
	free(k->kt);
	free(k->smap);
	free(k->mmap);
}

bool live_proc_gone(pid_t pid)
{
	struct proc_stat st;
	return proc_stat_read(pid, 0, &st) || st.state == 'Z' || st.state == 'X';
}

static bool pid_gone(void *ctx, uint32_t pid)
{
	(void)ctx;
	return live_proc_gone((pid_t)pid);
}

/* Any thread id resolves under /proc, listed there or not. */
static bool tid_gone(void *ctx, uint32_t tid)
{
	(void)ctx;
	char path[32];
	snprintf(path, sizeof(path), "/proc/%u", tid);
	return access(path, F_OK) != 0;
}

void live_compact_recorder(struct recorder *r, uint8_t *km, uint64_t *procs, uint64_t *threads)
{
	*procs += recorder_forget_processes(r, pid_gone, NULL);
	*threads += recorder_forget_threads(r, tid_gone, NULL);
	recorder_mark_mappings(r, km);
}

static bool thread_alive(const struct profile_thread *t)
{
	char path[80];
	if (t->end)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/task/%u", t->pid, t->tid);
	return access(path, F_OK) == 0;
}

void live_compact_threads(const struct profile *p, const struct hashmap *tids, uint8_t *kt)
{
	for (size_t i = 0; i < p->threads.n; i++) {
		uint64_t v;
		kt[i] = hashmap_get(tids, p->threads.v[i].tid, &v) || thread_alive(&p->threads.v[i]);
	}
}
