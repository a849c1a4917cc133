/* heap_process.c - the per-process table of a heap analysis (heap.h):
 * which program each process image ran, and the table kept in a heap
 * profile's metadata so that `kiln report FILE` shows what `kiln heap`
 * showed (docs/file-format.md, "Heap profiles"). */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/heap_int.h"
#include "util/xalloc.h"

#define PROCESS_KEY "heap_process_"

/* The class names as the metadata and the JSON spell them, by enum kh_leak_class. */
static const char *const class_keys[5] = {"not_scanned", "still_reachable", "possibly_lost", "indirectly_lost",
                                          "definitely_lost"};

/* The totals' metadata keys, one table for writing and reading them. */
struct totals_field {
	const char *key;
	size_t off;
	bool u32;     /* else uint64_t */
	bool counted; /* only in runs with counted-only processes */
};

#define T64(key, field)                                                                                                \
	{                                                                                                              \
		key, offsetof(struct heap_totals, field), false, false                                                 \
	}
#define C64(key, field)                                                                                                \
	{                                                                                                              \
		key, offsetof(struct heap_totals, field), false, true                                                  \
	}
#define T32(key, field)                                                                                                \
	{                                                                                                              \
		key, offsetof(struct heap_totals, field), true, false                                                  \
	}
static const struct totals_field totals_fields[] = {
    T64("heap_allocations", allocs),
    T64("heap_frees", frees),
    T64("heap_reallocs", reallocs),
    T64("heap_allocated_bytes", alloc_bytes),
    T64("heap_temporary", temporary),
    T64("heap_double_frees", double_frees),
    T64("heap_peak_bytes", peak_bytes),
    T64("heap_peak_time_ns", peak_time),
    T64("heap_peak_rss_kb", max_rss_kb),
    T64("heap_leaked_bytes", leaked_bytes),
    T64("heap_leaked_blocks", leaked_blocks),
    T64("heap_definitely_lost_bytes", class_bytes[HEAP_LEAK_DEFINITE]),
    T64("heap_indirectly_lost_bytes", class_bytes[HEAP_LEAK_INDIRECT]),
    T64("heap_possibly_lost_bytes", class_bytes[HEAP_LEAK_POSSIBLE]),
    T64("heap_still_reachable_bytes", class_bytes[HEAP_LEAK_REACHABLE]),
    T64("heap_not_scanned_bytes", class_bytes[HEAP_LEAK_UNKNOWN]),
    T64("heap_definitely_lost_blocks", class_blocks[HEAP_LEAK_DEFINITE]),
    T64("heap_indirectly_lost_blocks", class_blocks[HEAP_LEAK_INDIRECT]),
    T64("heap_possibly_lost_blocks", class_blocks[HEAP_LEAK_POSSIBLE]),
    T64("heap_still_reachable_blocks", class_blocks[HEAP_LEAK_REACHABLE]),
    T64("heap_not_scanned_blocks", class_blocks[HEAP_LEAK_UNKNOWN]),
    T32("heap_scanned_processes", scanned),
    T32("heap_unclean_processes", unclean),
    T64("heap_exec_bytes", exec_bytes),
    T64("heap_exec_blocks", exec_blocks),
    T64("heap_unknown_frees", unknown_frees),
    T64("heap_untracked", untracked),
    {"heap_counted_processes", offsetof(struct heap_totals, counted_processes), true, true},
    C64("heap_counted_allocations", counted_allocs),
    C64("heap_counted_frees", counted_frees),
    C64("heap_counted_bytes", counted_bytes),
    T64("heap_events", events),
    T64("heap_peak_event", peak_event),
    T32("heap_processes", processes),
    T64("duration_ns", end_ns),
    T32("heap_alloc_known", alloc_path.known),
    T32("heap_alloc_path", alloc_path.path),
    T32("heap_alloc_global", alloc_path.global),
    T32("heap_alloc_shim", alloc_path.shim),
    T32("heap_alloc_methods", alloc_path.methods),
    T32("heap_alloc_candidates", alloc_path.candidates),
    T32("heap_alloc_reason", alloc_path.reason),
    T64("heap_alloc_start_rss_kb", alloc_path.start_rss_kb),
};
#undef T64
#undef C64
#undef T32

/* The counted-only processes' pids, space-separated. */
#define COUNTED_PIDS_KEY "heap_counted_pids"

void heap_totals_meta(struct profile *p, const struct heap_totals *t)
{
	for (size_t i = 0; i < sizeof(totals_fields) / sizeof(totals_fields[0]); i++) {
		const struct totals_field *f = &totals_fields[i];
		const char *at = (const char *)t + f->off;
		if (f->counted && !t->counted_processes)
			continue;
		profile_set_meta_u64(p, f->key, f->u32 ? *(const uint32_t *)at : *(const uint64_t *)at);
	}
	if (!t->counted_processes)
		return;
	struct strbuf pids = STRBUF_INIT;
	for (uint32_t i = 0; i < t->counted_npids && i < HEAP_COUNTED_PIDS; i++)
		strbuf_addf(&pids, "%s%u", i ? " " : "", t->counted_pids[i]);
	profile_set_meta(p, COUNTED_PIDS_KEY, strbuf_str(&pids));
	strbuf_release(&pids);
}

void heap_totals_from_meta(const struct profile *p, struct heap_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < sizeof(totals_fields) / sizeof(totals_fields[0]); i++) {
		const struct totals_field *f = &totals_fields[i];
		char *at = (char *)t + f->off;
		uint64_t v = profile_get_meta_u64(p, f->key, 0);
		if (f->u32)
			*(uint32_t *)at = (uint32_t)v;
		else
			*(uint64_t *)at = v;
	}
	/* files before the count was kept: a class was found, so a scan ran */
	const char *scanned = profile_get_meta(p, "heap_scanned_processes");
	uint64_t classified = t->class_bytes[1] + t->class_bytes[2] + t->class_bytes[3] + t->class_bytes[4];
	if (!scanned && classified)
		t->scanned = 1;
	const char *pids = profile_get_meta(p, COUNTED_PIDS_KEY);
	for (char *end; pids && *pids && t->counted_npids < HEAP_COUNTED_PIDS; pids = end) {
		unsigned long v = strtoul(pids, &end, 10);
		if (end == pids)
			break;
		t->counted_pids[t->counted_npids++] = (uint32_t)v;
	}
}

/* One process as "key=value ..." with the command last: it may hold spaces. */
void heap_processes_meta(struct profile *p, const struct heap_process *v, size_t n)
{
	struct strbuf val = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const struct heap_process *pr = &v[i];
		strbuf_reset(&val);
		strbuf_addf(&val,
		            "pid=%u ppid=%u allocations=%" PRIu64 " frees=%" PRIu64 " allocated_bytes=%" PRIu64
		            " temporary=%" PRIu64 " peak_bytes=%" PRIu64 " leaked_bytes=%" PRIu64
		            " leaked_blocks=%" PRIu64,
		            pr->pid, pr->ppid, pr->allocs, pr->frees, pr->alloc_bytes, pr->temporary, pr->peak_bytes,
		            pr->leaked_bytes, pr->leaked_blocks);
		for (int c = 0; c < 5; c++)
			strbuf_addf(&val, " %s_bytes=%" PRIu64 " %s_blocks=%" PRIu64, class_keys[c], pr->class_bytes[c],
			            class_keys[c], pr->class_blocks[c]);
		strbuf_addf(&val, " exec=%d scanned=%d command=%s", pr->exec, pr->scanned,
		            pr->command ? pr->command : "");
		char key[64];
		snprintf(key, sizeof(key), PROCESS_KEY "%zu", i);
		profile_set_meta(p, key, strbuf_str(&val));
	}
	strbuf_release(&val);
}

/* Sets the field named by key (its length klen) of pr from text. */
static void process_field(struct heap_process *pr, const char *key, size_t klen, const char *text)
{
	uint64_t v = strtoull(text, NULL, 10);
#define IS(name) (klen == sizeof(name) - 1 && !memcmp(key, name, klen))
	if (IS("pid"))
		pr->pid = (uint32_t)v;
	else if (IS("ppid"))
		pr->ppid = (uint32_t)v;
	else if (IS("allocations"))
		pr->allocs = v;
	else if (IS("frees"))
		pr->frees = v;
	else if (IS("allocated_bytes"))
		pr->alloc_bytes = v;
	else if (IS("temporary"))
		pr->temporary = v;
	else if (IS("peak_bytes"))
		pr->peak_bytes = v;
	else if (IS("leaked_bytes"))
		pr->leaked_bytes = v;
	else if (IS("leaked_blocks"))
		pr->leaked_blocks = v;
	else if (IS("exec"))
		pr->exec = v != 0;
	else if (IS("scanned"))
		pr->scanned = v != 0;
#undef IS
	for (int c = 0; c < 5; c++) {
		size_t cl = strlen(class_keys[c]);
		if (klen > cl && !memcmp(key, class_keys[c], cl)) {
			if (klen == cl + 6 && !memcmp(key + cl, "_bytes", 6))
				pr->class_bytes[c] = v;
			else if (klen == cl + 7 && !memcmp(key + cl, "_blocks", 7))
				pr->class_blocks[c] = v;
		}
	}
}

static void process_parse(struct heap_process *pr, const char *s)
{
	while (*s) {
		while (*s == ' ')
			s++;
		const char *eq = strchr(s, '=');
		if (!eq)
			break;
		if ((size_t)(eq - s) == 7 && !memcmp(s, "command", 7)) {
			pr->command = xstrdup(eq + 1);
			return;
		}
		process_field(pr, s, (size_t)(eq - s), eq + 1);
		const char *sp = strchr(eq, ' ');
		if (!sp)
			break;
		s = sp;
	}
}

bool heap_processes_from_meta(struct heap_analysis *h)
{
	const struct profile *p = h->p;
	const size_t klen = strlen(PROCESS_KEY);
	/* keys in any order: entry N goes to index N */
	for (size_t i = 0; i < p->meta.n; i++) {
		const char *key = profile_str(p, p->meta.v[i].key);
		if (strncmp(key, PROCESS_KEY, klen))
			continue;
		char *end;
		unsigned long n = strtoul(key + klen, &end, 10);
		if (end == key + klen || *end || n > (1ul << 24))
			continue;
		while (h->processes.n <= n)
			vec_grow(&h->processes);
		struct heap_process *pr = &h->processes.v[n];
		free(pr->command);
		memset(pr, 0, sizeof(*pr));
		process_parse(pr, profile_str(p, p->meta.v[i].value));
	}
	for (size_t i = 0; i < h->processes.n; i++)
		if (!h->processes.v[i].command)
			h->processes.v[i].command = xstrdup("");
	return h->processes.n > 0;
}

void heap_processes_clear(struct heap_analysis *h)
{
	for (size_t i = 0; i < h->processes.n; i++)
		free(h->processes.v[i].command);
	vec_free(&h->processes);
}

uint32_t heap_process_find(const struct heap_analysis *h, uint32_t pid, const char *module)
{
	uint32_t last = UINT32_MAX;
	for (size_t i = h->processes.n; i-- > 0;) {
		const struct heap_process *pr = &h->processes.v[i];
		if (pr->pid != pid)
			continue;
		if (last == UINT32_MAX)
			last = (uint32_t)i;
		const char *cmd = pr->command ? pr->command : "";
		const char *base = strrchr(cmd, '/');
		base = base ? base + 1 : cmd;
		if (module && *module && !strcmp(base, module))
			return (uint32_t)i;
	}
	return last;
}
