/* host_cache.c - reads the host's cache geometry from sysfs (host_cache.h). */
#include "capture/host_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_line(const char *dir, const char *name, char *buf, size_t n)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int rc = fgets(buf, (int)n, f) ? 0 : -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return rc;
}

static unsigned read_num(const char *dir, const char *name)
{
	char buf[64];
	if (read_line(dir, name, buf, sizeof(buf)))
		return 0;
	char *end;
	unsigned long v = strtoul(buf, &end, 10);
	if (*end == 'K')
		v *= 1024;
	else if (*end == 'M')
		v *= 1024 * 1024;
	return (unsigned)v;
}

int host_cache_read(const char *root, struct host_cache_level *i1, struct host_cache_level *d1,
                    struct host_cache_level *ll)
{
	if (!root)
		root = "/sys/devices/system/cpu/cpu0/cache";
	memset(i1, 0, sizeof(*i1));
	memset(d1, 0, sizeof(*d1));
	memset(ll, 0, sizeof(*ll));
	unsigned ll_level = 0;
	for (int i = 0; i < 16; i++) {
		char dir[4096], type[32];
		snprintf(dir, sizeof(dir), "%s/index%d", root, i);
		if (read_line(dir, "type", type, sizeof(type)))
			continue;
		unsigned level = read_num(dir, "level");
		struct host_cache_level c = {read_num(dir, "size"), read_num(dir, "ways_of_associativity"),
		                             read_num(dir, "coherency_line_size")};
		if (!c.size || !c.assoc || !c.line)
			continue;
		if (level == 1 && !strcmp(type, "Instruction"))
			*i1 = c;
		else if (level == 1 && !strcmp(type, "Data"))
			*d1 = c;
		if (level >= 2 && level > ll_level && strcmp(type, "Instruction")) {
			*ll = c;
			ll_level = level;
		}
	}
	return i1->size && d1->size && ll->size ? 0 : -ENOENT;
}
