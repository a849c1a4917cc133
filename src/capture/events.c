/* events.c - event names to perf_event_attr type/config. */
#include "capture/events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HW_CACHE(id, op, res)                                                                                          \
	((uint64_t)PERF_COUNT_HW_CACHE_##id | ((uint64_t)PERF_COUNT_HW_CACHE_OP_##op << 8) |                           \
	 ((uint64_t)PERF_COUNT_HW_CACHE_RESULT_##res << 16))

static const struct event_desc known_events[] = {
    {"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, true, false},
    {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, true, false},
    {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, false, false},
    {"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN, false, false},
    {"major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, false, false},
    {"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, false, false},
    {"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, false, false},
    {"alignment-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS, false, false},
    {"emulation-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS, false, false},
    {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, false, false},
    {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, false, false},
    {"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, false, false},
    {"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, false, false},
    {"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, false, false},
    {"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, false, false},
    {"bus-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES, false, false},
    {"ref-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES, false, false},
    /* Cache events: id | op << 8 | result << 16, spelled as perf spells them. */
    {"L1-dcache-loads", PERF_TYPE_HW_CACHE, HW_CACHE(L1D, READ, ACCESS), false, false},
    {"L1-dcache-load-misses", PERF_TYPE_HW_CACHE, HW_CACHE(L1D, READ, MISS), false, false},
    {"L1-dcache-stores", PERF_TYPE_HW_CACHE, HW_CACHE(L1D, WRITE, ACCESS), false, false},
    {"L1-icache-load-misses", PERF_TYPE_HW_CACHE, HW_CACHE(L1I, READ, MISS), false, false},
    {"LLC-loads", PERF_TYPE_HW_CACHE, HW_CACHE(LL, READ, ACCESS), false, false},
    {"LLC-load-misses", PERF_TYPE_HW_CACHE, HW_CACHE(LL, READ, MISS), false, false},
    {"dTLB-loads", PERF_TYPE_HW_CACHE, HW_CACHE(DTLB, READ, ACCESS), false, false},
    {"dTLB-load-misses", PERF_TYPE_HW_CACHE, HW_CACHE(DTLB, READ, MISS), false, false},
    {"iTLB-load-misses", PERF_TYPE_HW_CACHE, HW_CACHE(ITLB, READ, MISS), false, false},
    {"branch-loads", PERF_TYPE_HW_CACHE, HW_CACHE(BPU, READ, ACCESS), false, false},
    {"branch-load-misses", PERF_TYPE_HW_CACHE, HW_CACHE(BPU, READ, MISS), false, false},
};

static const struct {
	const char *alias, *name;
} aliases[] = {
    {"cpu-cycles", "cycles"},         {"cs", "context-switches"},          {"faults", "page-faults"},
    {"migrations", "cpu-migrations"}, {"branch-instructions", "branches"},
};

#define N_KNOWN (sizeof(known_events) / sizeof(known_events[0]))

static const struct event_desc *find_known(const char *name)
{
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(name, aliases[i].alias))
			name = aliases[i].name;
	for (size_t i = 0; i < N_KNOWN; i++)
		if (!strcmp(name, known_events[i].name))
			return &known_events[i];
	return NULL;
}

int event_tracefs_mount(void)
{
	struct stat st;
	if (!stat("/sys/kernel/tracing/events", &st) || !stat("/sys/kernel/debug/tracing/events", &st))
		return 0;
	/* Debian boots some VMs and containers without tracefs mounted; as root
	 * kiln mounts it where the kernel documents it, as `mount -t tracefs`
	 * would, rather than failing on every tracepoint. */
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		return -errno;
	return 0;
}

static int tracepoint_id(const char *sys, const char *ev, uint64_t *id)
{
	static const char *const roots[] = {"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"};
	(void)event_tracefs_mount();
	int err = -ENOENT;
	for (size_t i = 0; i < 2; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s/%s/id", roots[i], sys, ev);
		FILE *f = fopen(path, "r");
		if (!f) {
			if (errno == EACCES || errno == EPERM)
				err = -EACCES;
			continue;
		}
		unsigned long long v;
		int ok = fscanf(f, "%llu", &v) == 1;
		fclose(f);
		if (ok) {
			*id = v;
			return 0;
		}
	}
	return err;
}

int event_format_fields(const char *text, const char *const *names, uint32_t *offs, uint32_t *sizes, size_t n)
{
	int found = 0;
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *f = strstr(line, "field:");
		const char *nl = strchr(line, '\n');
		if (!f || (nl && f > nl))
			continue;
		const char *semi = strchr(f, ';');
		const char *o = strstr(f, "offset:");
		if (!semi || !o || (nl && (semi > nl || o > nl)))
			continue;
		const char *z = strstr(o, "size:");
		/* the name is the last word before the ';' ("u32 * uaddr") */
		const char *e = semi;
		while (e > f && e[-1] == ' ')
			e--;
		const char *b = e;
		while (b > f && b[-1] != ' ' && b[-1] != '*' && b[-1] != ':')
			b--;
		for (size_t i = 0; i < n; i++) {
			if (strlen(names[i]) == (size_t)(e - b) && !strncmp(b, names[i], (size_t)(e - b))) {
				offs[i] = (uint32_t)strtoul(o + 7, NULL, 10);
				if (sizes)
					sizes[i] = z && (!nl || z < nl) ? (uint32_t)strtoul(z + 5, NULL, 10) : 0;
				found++;
			}
		}
	}
	return found;
}

int event_tracepoint_field(const char *name, const char *field, uint32_t *offset)
{
	static const char *const roots[] = {"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"};
	const char *colon = strchr(name, ':');
	if (!colon || strchr(name, '/'))
		return -ENOENT;
	int err = -ENOENT;
	for (size_t i = 0; i < 2; i++) {
		char path[512], text[8192];
		snprintf(path, sizeof(path), "%s/%.*s/%s/format", roots[i], (int)(colon - name), name, colon + 1);
		FILE *f = fopen(path, "r");
		if (!f) {
			if (errno == EACCES || errno == EPERM)
				err = -EACCES;
			continue;
		}
		size_t len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[len] = '\0';
		uint32_t size = 0;
		if (event_format_fields(text, &field, offset, &size, 1) > 0)
			return size == 4 ? 0 : -ENOENT;
	}
	return err;
}

int event_parse(const char *name, struct event_desc *out)
{
	const char *plain = name;
	if (!strncmp(name, "sw:", 3) || !strncmp(name, "hw:", 3))
		plain = name + 3;
	const struct event_desc *e = find_known(plain);
	if (e) {
		if ((name != plain) && ((name[0] == 's') != (e->type == PERF_TYPE_SOFTWARE)))
			return -ENOENT;
		*out = *e;
		return 0;
	}
	const char *colon = strchr(name, ':');
	if (!colon || colon == name || !colon[1] || strchr(colon + 1, ':') || strchr(name, '/'))
		return -ENOENT;
	char sys[256];
	size_t n = (size_t)(colon - name);
	if (n >= sizeof(sys))
		return -ENOENT;
	memcpy(sys, name, n);
	sys[n] = '\0';
	uint64_t id;
	int rc = tracepoint_id(sys, colon + 1, &id);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	out->name = name;
	out->type = PERF_TYPE_TRACEPOINT;
	out->config = id;
	out->is_tracepoint = true;
	return 0;
}

void event_list(void (*fn)(void *ctx, const struct event_desc *e), void *ctx)
{
	for (size_t i = 0; i < N_KNOWN; i++)
		fn(ctx, &known_events[i]);
}

int event_open(struct perf_event_attr *attr, int pid, int cpu, int group_fd, unsigned long flags)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}

long event_read_sysctl(const char *path, long dflt)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return dflt;
	long v;
	if (fscanf(f, "%ld", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

int event_probe(const struct event_desc *e)
{
	return event_probe_format(e, 0);
}

int event_probe_format(const struct event_desc *e, uint64_t read_format)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = e->type;
	attr.config = e->config;
	attr.read_format = read_format;
	attr.disabled = 1;
	int fd = event_open(&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM)) {
		/* perf_event_paranoid may allow user-space counting only */
		attr.exclude_kernel = 1;
		attr.exclude_hv = 1;
		fd = event_open(&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

const char *event_kind(const struct event_desc *e)
{
	switch (e->type) {
	case PERF_TYPE_SOFTWARE:
		return "software";
	case PERF_TYPE_HARDWARE:
		return "hardware";
	case PERF_TYPE_HW_CACHE:
		return "cache";
	case PERF_TYPE_TRACEPOINT:
		return "tracepoint";
	default:
		return "raw";
	}
}
