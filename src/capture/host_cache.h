/* host_cache.h - the host's cache geometry from sysfs, for kiln cache's
 * defaults (cachegrind's choice: the first-level instruction and data
 * caches and the last level). */
#ifndef KILN_CAPTURE_HOST_CACHE_H
#define KILN_CAPTURE_HOST_CACHE_H

struct host_cache_level {
	unsigned size, assoc, line; /* bytes, ways, bytes; 0 when unknown */
};

/* Reads cpu0's caches under root (NULL: /sys/devices/system/cpu/cpu0/cache).
 * Returns 0 when I1, D1 and a last level were all found, else -ENOENT
 * (what was found is filled). */
int host_cache_read(const char *root, struct host_cache_level *i1, struct host_cache_level *d1,
                    struct host_cache_level *ll);

#endif
