/* prefetch.c - symbolizes addresses on a thread of its own while the
 * profiled program still runs (symbols.h): opening a module's debug
 * information and indexing its compile units is most of the cost of
 * naming a few hundred addresses, and the program's run is time kiln
 * otherwise spends waiting. The symbolizer's caches keep the results for
 * the pass at the end, which then costs little. */
#include "symbols/symbols_int.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdbool.h>
#include <string.h>

#include "util/vec.h"
#include "util/xalloc.h"

struct prefetch_req {
	uint32_t path; /* index into paths */
	uint64_t file_offset;
};

struct prefetch_queue {
	VEC(struct prefetch_req) r;
};

struct symbols_prefetch {
	struct symbolizer *s;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	struct prefetch_queue queue; /* lock held */
	VEC(char *) paths;           /* only grows; read by the thread under the lock */
};

static void *prefetch_main(void *arg)
{
	struct symbols_prefetch *pf = arg;
	/* the lowest priority: the profiled program and kiln's reading of its
	 * events come first; this is work done early only to be done sooner */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	struct prefetch_queue work = {0};
	pthread_mutex_lock(&pf->lock);
	for (;;) {
		while (!pf->queue.r.n && !pf->stop)
			pthread_cond_wait(&pf->wake, &pf->lock);
		if (pf->stop)
			break;
		/* take the whole queue: the producer never waits on the lookups */
		struct prefetch_queue t = pf->queue;
		pf->queue = work;
		work = t;
		for (size_t i = 0; i < work.r.n && !pf->stop; i++) {
			const char *path = pf->paths.v[work.r.v[i].path];
			pthread_mutex_unlock(&pf->lock);
			int id = symbolizer_module(pf->s, path);
			const struct sym_frame *f;
			if (id >= 0)
				symbolizer_lookup_ids(pf->s, id, work.r.v[i].file_offset, &f);
			pthread_mutex_lock(&pf->lock);
		}
		vec_clear(&work.r);
	}
	pthread_mutex_unlock(&pf->lock);
	vec_free(&work.r);
	return NULL;
}

struct symbols_prefetch *symbols_prefetch_start(void)
{
	struct symbols_prefetch *pf = xcalloc(1, sizeof(*pf));
	pf->s = symbolizer_new();
	pthread_mutex_init(&pf->lock, NULL);
	pthread_cond_init(&pf->wake, NULL);
	/* without a thread, addresses are simply named at the end */
	pf->started = pthread_create(&pf->thread, NULL, prefetch_main, pf) == 0;
	return pf;
}

void symbols_prefetch_add(struct symbols_prefetch *pf, const char *path, uint64_t file_offset)
{
	if (!pf || !pf->started)
		return;
	pthread_mutex_lock(&pf->lock);
	/* a process maps a few dozen files: a scan, latest first, is enough */
	size_t k = pf->paths.n;
	while (k > 0 && strcmp(pf->paths.v[k - 1], path))
		k--;
	if (!k) {
		vec_push(&pf->paths, xstrdup(path));
		k = pf->paths.n;
	}
	struct prefetch_req r = {(uint32_t)(k - 1), file_offset};
	vec_push(&pf->queue.r, r);
	pthread_cond_signal(&pf->wake);
	pthread_mutex_unlock(&pf->lock);
}

struct symbolizer *symbols_prefetch_finish(struct symbols_prefetch *pf)
{
	if (!pf)
		return NULL;
	if (pf->started) {
		pthread_mutex_lock(&pf->lock);
		pf->stop = true;
		pthread_cond_signal(&pf->wake);
		pthread_mutex_unlock(&pf->lock);
		pthread_join(pf->thread, NULL);
	}
	struct symbolizer *s = pf->s;
	for (size_t i = 0; i < pf->paths.n; i++)
		free(pf->paths.v[i]);
	vec_free(&pf->paths);
	vec_free(&pf->queue.r);
	pthread_mutex_destroy(&pf->lock);
	pthread_cond_destroy(&pf->wake);
	free(pf);
	return s;
}
