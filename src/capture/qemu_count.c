/* qemu_count.c - the reader of libkiln-qemu.so's files (see qemu_count.h). */
#include "capture/qemu_count.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile.h"
#include "util/num.h"
#include "util/vec.h"
#include "util/xalloc.h"

#define MAX_INSNS 512

struct qc_tb {
	uint64_t vaddr;
	uint32_t n;
	size_t first; /* into the addresses vector */
};

struct qc_node {
	uint32_t parent;
	uint64_t site;
	uint32_t stack; /* profile stack node, UINT32_MAX until made */
};

struct qc_map {
	uint64_t start, end;
	uint32_t id;
};

struct qc_reader {
	struct profile *p;
	int pid;
	VEC(struct qc_tb) tbs;
	VEC(uint64_t) addrs;
	VEC(uint32_t) locs;        /* addrs' profile locations, UINT32_MAX until made */
	VEC(struct qc_node) nodes; /* [0] is the root */
	VEC(struct qc_map) maps;
	VEC(uint32_t) pending; /* qc_stack()'s walk */
	/* the last "e" line's path and block, and its first instruction's
	 * sample, which the "c" line after it adds its calls to */
	uint64_t e_node, e_tb;
	size_t e_sample; /* SIZE_MAX: no "e" line yet */
};

static uint32_t qc_location(struct qc_reader *r, uint64_t addr)
{
	uint32_t m = PROFILE_NO_MAPPING;
	for (size_t i = 0; i < r->maps.n; i++)
		if (addr >= r->maps.v[i].start && addr < r->maps.v[i].end) {
			m = r->maps.v[i].id;
			break;
		}
	return profile_location(r->p, m, addr, PROFILE_LOC_USER);
}

/* The profile stack node of call path id, made (with its callers) when
 * new. Ids only point to earlier ones, so the walk up ends; it is a loop,
 * not a recursion, as a file may chain any number of them. */
static uint32_t qc_stack(struct qc_reader *r, uint32_t id)
{
	size_t base = r->pending.n;
	while (id != 0 && r->nodes.v[id].stack == UINT32_MAX) {
		vec_push(&r->pending, id);
		id = r->nodes.v[id].parent;
	}
	uint32_t stack = id == 0 ? 0 : r->nodes.v[id].stack;
	while (r->pending.n > base) {
		struct qc_node *n = &r->nodes.v[r->pending.v[--r->pending.n]];
		stack = profile_stack_child(r->p, stack, qc_location(r, n->site));
		n->stack = stack;
	}
	return stack;
}

/* A number in base 10 or 16 after any spaces (num_scan_u64); *s moves
 * past it. By hand rather than strtoull(): the reader parses every number
 * of the file twice (qc_presize), 70,000 of them for a 40 ms Rust
 * program, and strtoull's locale and errno handling were 4% of kiln
 * count's own instructions. */
static int parse_u64(char **s, uint64_t *out, int base)
{
	const char *p = *s;
	while (*p == ' ')
		p++;
	p = num_scan_u64(p, NULL, (unsigned)base, out);
	if (!p)
		return -EPROTO;
	*s = (char *)p;
	return 0;
}

static int qc_line(struct qc_reader *r, char *line, const int *value_of, struct qemu_count_info *info)
{
	uint64_t a, b, c, d;
	char *s = line;
	if (!strncmp(s, "pid ", 4)) {
		s += 4;
		if (parse_u64(&s, &a, 10))
			return -EPROTO;
		info->pid = (int)a;
		r->pid = (int)a;
	} else if (!strncmp(s, "ppid ", 5)) {
		s += 5;
		if (parse_u64(&s, &a, 10))
			return -EPROTO;
		info->ppid = (int)a;
	} else if (!strncmp(s, "cache ", 6)) {
		s += 6;
		for (int i = 0; i < 9; i++) {
			if (parse_u64(&s, &a, 10) || a > UINT32_MAX)
				return -EPROTO;
			info->geometry[i] = (unsigned)a;
		}
		info->cache = true;
	} else if (!strncmp(s, "map ", 4)) {
		s += 4;
		if (parse_u64(&s, &a, 16) || parse_u64(&s, &b, 16) || parse_u64(&s, &c, 16) || *s != ' ' || b <= a)
			return -EPROTO;
		struct profile_mapping m = {.pid = (uint32_t)r->pid, .start = a, .end = b, .pgoff = c};
		m.path = profile_intern(r->p, s + 1);
		struct qc_map qm = {a, b, profile_add_mapping(r->p, &m)};
		vec_push(&r->maps, qm);
	} else if (!strncmp(s, "tb ", 3)) {
		s += 3;
		if (parse_u64(&s, &a, 10) || a != r->tbs.n || parse_u64(&s, &b, 16) || parse_u64(&s, &c, 10) ||
		    c == 0 || c > MAX_INSNS)
			return -EPROTO;
		struct qc_tb t = {b, (uint32_t)c, r->addrs.n};
		uint64_t pc = b;
		for (uint64_t i = 0; i < c; i++) {
			if (parse_u64(&s, &d, 10) || d == 0 || d > 15)
				return -EPROTO;
			vec_push(&r->addrs, pc);
			vec_push(&r->locs, UINT32_MAX);
			pc += d;
		}
		vec_push(&r->tbs, t);
	} else if (!strncmp(s, "node ", 5)) {
		s += 5;
		if (parse_u64(&s, &a, 10) || a != r->nodes.n || parse_u64(&s, &b, 10) || b >= a ||
		    parse_u64(&s, &c, 16))
			return -EPROTO;
		struct qc_node n = {(uint32_t)b, c, UINT32_MAX};
		vec_push(&r->nodes, n);
	} else if (!strncmp(s, "e ", 2)) {
		s += 2;
		if (parse_u64(&s, &a, 10) || a >= r->nodes.n || parse_u64(&s, &b, 10) || b >= r->tbs.n ||
		    parse_u64(&s, &c, 10))
			return -EPROTO;
		uint32_t parent = qc_stack(r, (uint32_t)a);
		const struct qc_tb *t = &r->tbs.v[b];
		r->e_node = a;
		r->e_tb = b;
		r->e_sample = r->p->samples.n;
		for (uint32_t i = 0; i < t->n; i++) {
			uint64_t ev[QEMU_COUNT_EVENTS] = {c};
			if (info->cache)
				for (int k = 0; k < KQ_CACHE_EVENTS; k++)
					if (parse_u64(&s, &ev[1 + k], 10))
						return -EPROTO;
			struct profile_sample smp = {.tid = (uint32_t)r->pid, .pid = (uint32_t)r->pid};
			for (int k = 0; k < QEMU_COUNT_EVENTS; k++) {
				info->totals[k] += ev[k];
				if (value_of[k] >= 0 && value_of[k] < PROFILE_MAX_VALUES)
					smp.values[value_of[k]] += (int64_t)ev[k];
			}
			/* a block runs under many call paths: its locations once */
			uint32_t *loc = &r->locs.v[t->first + i];
			if (*loc == UINT32_MAX)
				*loc = qc_location(r, r->addrs.v[t->first + i]);
			smp.stack = profile_stack_child(r->p, parent, *loc);
			profile_add_sample(r->p, &smp);
		}
	} else if (!strncmp(s, "c ", 2)) {
		s += 2;
		if (parse_u64(&s, &a, 10) || parse_u64(&s, &b, 10) || parse_u64(&s, &c, 10) ||
		    r->e_sample == SIZE_MAX || a != r->e_node || b != r->e_tb || c > INT64_MAX)
			return -EPROTO;
		info->totals[QEMU_COUNT_CALLS] += c;
		int v = value_of[QEMU_COUNT_CALLS];
		if (v >= 0 && v < PROFILE_MAX_VALUES)
			r->p->samples.v[r->e_sample].values[v] += (int64_t)c;
		r->e_sample = SIZE_MAX; /* one "c" line per "e" line: a second would count twice */
	} else if (!strncmp(s, "exec ", 5)) {
		snprintf(info->exec_path, sizeof(info->exec_path), "%s", s + 5);
	} else if (!strcmp(s, "end")) {
		info->complete = true;
	} else {
		return -EPROTO;
	}
	return 0;
}

/* Makes room in p for what f adds at most: a sample per instruction of
 * each block a path line runs, a stack node per sample and per call path
 * node, a location per instruction and node. A first pass over the file
 * (a fraction of the reading's cost) instead of the tables doubling as
 * they fill, each doubling a copy into pages touched for the first time
 * (kiln count -- /bin/true: 270 fewer page faults of 3,520). The counts
 * are of lines the file holds, which the reading adds anyway; the pass
 * stops at the first it cannot parse. */
static void qc_presize(struct profile *p, FILE *f)
{
	VEC(uint16_t) sizes = {0};
	size_t samples = 0, insns = 0, nodes = 0;
	char *line = NULL;
	size_t cap = 0;
	uint64_t id, a, b;
	while (getline(&line, &cap, f) >= 0) {
		char *s = line + 2;
		if (!strncmp(line, "e ", 2)) {
			if (parse_u64(&s, &a, 10) || parse_u64(&s, &b, 10) || b >= sizes.n)
				break;
			samples += sizes.v[b];
		} else if (!strncmp(line, "tb ", 3)) {
			s++;
			if (parse_u64(&s, &id, 10) || id != sizes.n || parse_u64(&s, &a, 16) || parse_u64(&s, &b, 10) ||
			    b == 0 || b > MAX_INSNS)
				break;
			vec_push(&sizes, (uint16_t)b);
			insns += b;
		} else if (!strncmp(line, "node ", 5)) {
			nodes++;
		}
	}
	free(line);
	vec_free(&sizes);
	profile_reserve(p, p->stacks.n + samples + nodes, p->samples.n + samples, p->locations.n + insns + nodes);
	profile_reserve_stack_index(p, p->stacks.n + samples + nodes);
}

int qemu_count_add(struct profile *p, const char *path, const int value_of[QEMU_COUNT_EVENTS],
                   struct qemu_count_info *info)
{
	memset(info, 0, sizeof(*info));
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	qc_presize(p, f);
	rewind(f);
	int rc = qemu_count_add_stream(p, f, value_of, info);
	fclose(f);
	return rc;
}

int qemu_count_add_stream(struct profile *p, FILE *f, const int value_of[QEMU_COUNT_EVENTS],
                          struct qemu_count_info *info)
{
	memset(info, 0, sizeof(*info));
	struct qc_reader r = {.p = p, .e_sample = SIZE_MAX};
	struct qc_node root = {0, 0, 0};
	vec_push(&r.nodes, root);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;
	bool first = true;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (first) {
			first = false;
			if (strcmp(line, KQ_MAGIC)) {
				rc = -EPROTO;
				break;
			}
			continue;
		}
		rc = qc_line(&r, line, value_of, info);
		if (rc)
			break;
	}
	if (first && !rc)
		rc = -EPROTO;
	if (info->pid)
		profile_thread(p, (uint32_t)info->pid, (uint32_t)info->pid);
	free(line);
	vec_free(&r.tbs);
	vec_free(&r.addrs);
	vec_free(&r.locs);
	vec_free(&r.nodes);
	vec_free(&r.maps);
	vec_free(&r.pending);
	return rc;
}

/* A number in base at *s, which must be followed by a space; *s moves
 * past both. */
static int feed_num(const char **s, const char *end, int base, uint64_t *out)
{
	const char *p = num_scan_u64(*s, end, (unsigned)base, out);
	if (!p || p == end || *p != ' ')
		return -EPROTO;
	*s = p + 1;
	return 0;
}

int qemu_feed_parse(const char *line, size_t len, struct qemu_feed_block *b)
{
	const char *s = line, *end = line + len;
	uint64_t off, n, size;
	if (len < 2 || s[0] != 't' || s[1] != ' ')
		return -EPROTO;
	s += 2;
	if (feed_num(&s, end, 16, &off) || feed_num(&s, end, 10, &n) || n == 0 || n > MAX_INSNS)
		return -EPROTO;
	for (uint64_t i = 0; i < n; i++) {
		if (feed_num(&s, end, 10, &size) || size == 0 || size > 15)
			return -EPROTO;
		b->offset[i] = off;
		off += size;
	}
	if (s >= end)
		return -EPROTO;
	b->n = (uint32_t)n;
	b->path = s;
	b->path_len = (size_t)(end - s);
	return 0;
}

int qemu_count_last(const char *path, uint64_t *pcs, size_t max)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = 0;
	unsigned char line[64];
	while (n < max && fread(line, 1, sizeof(line), f) == sizeof(line)) {
		uint64_t pc;
		memcpy(&pc, line, sizeof(pc));
		if (pc)
			pcs[n++] = pc;
	}
	fclose(f);
	return (int)n;
}
