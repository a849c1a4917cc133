/* maps.c - per-process address-space tracking for the recorder. */
#include "capture/maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void maps_init(struct maps *m, struct profile *p)
{
	memset(m, 0, sizeof(*m));
	m->profile = p;
	hashmap_init(&m->index);
}

void maps_release(struct maps *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->procs.n; i++) {
		vec_free(&m->procs.v[i]->entries);
		vec_free(&m->procs.v[i]->execs);
		free(m->procs.v[i]);
	}
	vec_free(&m->procs);
	hashmap_release(&m->index);
}

void maps_mark(const struct maps *m, uint8_t *live)
{
	for (size_t i = 0; i < m->procs.n; i++) {
		const struct process_maps *pm = m->procs.v[i];
		for (size_t k = 0; k < pm->entries.n; k++)
			live[pm->entries.v[k].mapping] = 1;
	}
}

void maps_remap(struct maps *m, const uint32_t *map)
{
	for (size_t i = 0; i < m->procs.n; i++) {
		struct process_maps *pm = m->procs.v[i];
		size_t kept = 0;
		for (size_t k = 0; k < pm->entries.n; k++) {
			struct maps_entry e = pm->entries.v[k];
			e.mapping = map[e.mapping];
			if (e.mapping != UINT32_MAX)
				pm->entries.v[kept++] = e;
		}
		pm->entries.n = kept;
		pm->last_hit = 0;
	}
}

size_t maps_forget(struct maps *m, bool (*gone)(void *ctx, uint32_t pid), void *ctx)
{
	size_t kept = 0, n = m->procs.n;
	for (size_t i = 0; i < n; i++) {
		struct process_maps *pm = m->procs.v[i];
		if (gone(ctx, pm->pid)) {
			vec_free(&pm->entries);
			vec_free(&pm->execs);
			free(pm);
			continue;
		}
		m->procs.v[kept++] = pm;
	}
	m->procs.n = kept;
	if (kept != n) {
		hashmap_clear(&m->index);
		for (size_t i = 0; i < kept; i++)
			hashmap_put(&m->index, m->procs.v[i]->pid, i);
	}
	return n - kept;
}

static struct process_maps *proc_get(struct maps *m, uint32_t pid, int create)
{
	uint64_t id;
	if (hashmap_get(&m->index, pid, &id))
		return m->procs.v[id];
	if (!create)
		return NULL;
	struct process_maps *pm = xcalloc(1, sizeof(*pm));
	pm->pid = pid;
	vec_push(&m->procs, pm);
	hashmap_put(&m->index, pid, m->procs.n - 1);
	return pm;
}

static void insert_entry(struct process_maps *pm, const struct maps_entry *e)
{
	/* A new mapping over live ones ends them (mmap replaces what it covers). */
	for (size_t i = 0; i < pm->entries.n; i++) {
		struct maps_entry *o = &pm->entries.v[i];
		if (o->t_end > e->t_start && o->start < e->end && e->start < o->end && o->t_start <= e->t_start)
			o->t_end = e->t_start;
	}
	size_t i = pm->entries.n;
	vec_reserve(&pm->entries, pm->entries.n + 1);
	while (i > 0 && pm->entries.v[i - 1].start > e->start) {
		pm->entries.v[i] = pm->entries.v[i - 1];
		i--;
	}
	pm->entries.v[i] = *e;
	pm->entries.n++;
}

void maps_add(struct maps *m, uint32_t pid, uint64_t t, uint64_t start, uint64_t len, uint64_t pgoff, const char *path,
              const char *build_id)
{
	struct profile_mapping pmap = {0};
	pmap.pid = pid;
	pmap.start = start;
	pmap.end = start + len;
	pmap.pgoff = pgoff;
	pmap.path = profile_intern(m->profile, path);
	pmap.build_id = build_id ? profile_intern(m->profile, build_id) : 0;
	pmap.time = t;
	struct maps_entry e = {start, start + len, t, UINT64_MAX, profile_add_mapping(m->profile, &pmap)};
	insert_entry(proc_get(m, pid, 1), &e);
}

void maps_fork(struct maps *m, uint32_t ppid, uint32_t pid, uint64_t t)
{
	struct process_maps *parent = proc_get(m, ppid, 0);
	if (!parent || ppid == pid)
		return;
	struct process_maps *child = proc_get(m, pid, 1);
	parent = proc_get(m, ppid, 0); /* proc_get may have moved the vector */
	for (size_t i = 0; i < parent->entries.n; i++) {
		struct maps_entry e = parent->entries.v[i];
		if (e.t_end <= t)
			continue;
		/* The child shares the parent's mapping records: same file, same place. */
		const struct profile_mapping *src = &m->profile->mappings.v[e.mapping];
		struct profile_mapping copy = *src;
		copy.pid = pid;
		copy.time = t;
		e.mapping = profile_add_mapping(m->profile, &copy);
		e.t_start = t;
		e.t_end = UINT64_MAX;
		insert_entry(child, &e);
	}
}

void maps_exec(struct maps *m, uint32_t pid, uint64_t t)
{
	struct process_maps *pm = proc_get(m, pid, 1);
	vec_push(&pm->execs, t);
	/* Only what was mapped before: the new image's mappings may come
	 * first, read from another cpu's ring than the exec's own record. */
	for (size_t i = 0; i < pm->entries.n; i++)
		if (pm->entries.v[i].t_start < t && pm->entries.v[i].t_end > t)
			pm->entries.v[i].t_end = t;
}

uint64_t maps_exec_before(struct maps *m, uint32_t pid, uint64_t t)
{
	const struct process_maps *pm = proc_get(m, pid, 0);
	uint64_t best = 0;
	for (size_t i = 0; pm && i < pm->execs.n; i++)
		if (pm->execs.v[i] <= t && pm->execs.v[i] > best)
			best = pm->execs.v[i];
	return best;
}

uint64_t maps_exec_after(struct maps *m, uint32_t pid, uint64_t t)
{
	const struct process_maps *pm = proc_get(m, pid, 0);
	uint64_t best = 0;
	for (size_t i = 0; pm && i < pm->execs.n; i++)
		if (pm->execs.v[i] > t && (!best || pm->execs.v[i] < best))
			best = pm->execs.v[i];
	return best;
}

bool maps_parse_line(const char *line, struct maps_line *out)
{
	return maps_line_parse(line, strlen(line), out) && maps_line_exec(out);
}

int maps_load_proc(struct maps *m, uint32_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/maps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		struct maps_line ml;
		if (!maps_parse_line(line, &ml))
			continue;
		char *name = line + ml.path_at;
		name[ml.path_len] = '\0';
		maps_add(m, pid, 0, ml.start, ml.end - ml.start, ml.pgoff, ml.path_at ? name : "[anon]", NULL);
	}
	fclose(f);
	return 0;
}

int maps_known(const struct maps *m, uint32_t pid)
{
	uint64_t id;
	/* an exec alone (maps_exec) records its time, not a mapping */
	return hashmap_get(&m->index, pid, &id) && m->procs.v[id]->entries.n;
}

const struct maps_entry *maps_find(struct maps *m, uint32_t pid, uint64_t t, uint64_t addr)
{
	struct process_maps *pm = proc_get(m, pid, 0);
	if (!pm || !pm->entries.n)
		return NULL;
	if (pm->last_hit < pm->entries.n) {
		const struct maps_entry *e = &pm->entries.v[pm->last_hit];
		if (addr >= e->start && addr < e->end && t >= e->t_start && t < e->t_end)
			return e;
	}
	/* last entry with start <= addr, then back over overlapping older ones */
	size_t lo = 0, hi = pm->entries.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (pm->entries.v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0;) {
		const struct maps_entry *e = &pm->entries.v[i];
		if (addr < e->end && t >= e->t_start && t < e->t_end) {
			pm->last_hit = (uint32_t)i;
			return e;
		}
		if (lo - i > 64)
			break;
	}
	return NULL;
}

size_t maps_bytes(const struct maps *m)
{
	size_t n = m->procs.cap * sizeof(*m->procs.v) + hashmap_bytes(&m->index);
	for (size_t i = 0; i < m->procs.n; i++) {
		const struct process_maps *pm = m->procs.v[i];
		n += sizeof(*pm) + pm->entries.cap * sizeof(*pm->entries.v) + pm->execs.cap * sizeof(*pm->execs.v);
	}
	return n;
}
