/* name_cache.c - what the symbolizer named for a module's file offsets,
 * kept across runs: every run of every program names the same dynamic
 * loader and libc start-up code again (kiln count of /bin/true spent 21 ms
 * doing so). One file per module in the debug cache directory,
 * <build-id>.names.
 *
 * A file is only ever used for exactly the answers it was made from: its
 * key holds kiln's own build (version and its executable's build-id),
 * libdw's version, the module's build-id, its base name
 * (unnamed code is named "sub_X@name"), its file's size, mtime and inode,
 * and the separate debug file libdwfl chose (path, size, mtime, inode,
 * build-id) or "none"; the debug directories and the debug cache act only
 * through that choice. A module without a build-id has no file. A file
 * whose key differs, or that is cut or garbled (a checksum over all of it),
 * is ignored and written anew.
 *
 * Layout, native byte order: "KILNNAMS", u32 version, u32 key length, the
 * key; u32 strings, u64 their bytes, the strings each ended by a NUL; u64
 * entries, each u64 file offset, u32 frames, then per frame u32 function,
 * file, line, alias, flags (strings as 1-based indexes, 0 for none); u64
 * hash_bytes() of everything before it.
 */
#include "symbols/symbols_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiln_version.h"
#include "util/fs.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define NAME_CACHE_MAGIC       "KILNNAMS"
#define NAME_CACHE_VERSION     1u
#define NAME_CACHE_MAX_FILE    (64u << 20)    /* a module's file; larger ones are not written */
#define NAME_CACHE_MAX_BYTES   (256ull << 20) /* all .names files of the directory */
#define NAME_CACHE_MAX_ENTRIES (1u << 22)

/* ---- kiln's own build: the build-id of its executable (kiln_core, which
 * holds this code, is linked into it statically) */

static char self_id[2 * 64 + 1];
static char *self_override;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void self_find(void)
{
	if (symbols_file_build_id("/proc/self/exe", self_id, sizeof(self_id)) != 1)
		self_id[0] = '\0';
}

void symbols_set_name_cache_build(const char *id)
{
	free(self_override);
	self_override = id ? xstrdup(id) : NULL;
}

/* kiln's build-id, "" when its binary has none (then no file is used). */
static const char *self_build_id(void)
{
	if (self_override)
		return self_override;
	pthread_once(&self_once, self_find);
	return self_id;
}

/* ---- the key */

static char *make_key(struct sym_module *m)
{
	const char *self = self_build_id();
	/* /proc/self/fd/N: resolve.c's copy of the vdso, a new file each run */
	if (!*self || strncmp(m->key, "b:", 2) != 0 || strncmp(m->path, "/proc/", 6) == 0)
		return NULL;
	struct stat st;
	if (stat(m->path, &st) != 0)
		return NULL;
	const char *base = strrchr(m->path, '/');
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "kiln %s %s; frames %d; module %s %s %" PRIu64 " %" PRIu64 ".%09ld %" PRIu64 "; ",
	            KILN_VERSION, self, SYM_MAX_FRAMES, m->key + 2, base ? base + 1 : m->path, (uint64_t)st.st_size,
	            (uint64_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (uint64_t)st.st_ino);
	elf_module_debug_identity(m->elf, &sb);
	return strbuf_detach(&sb);
}

static char *file_path(const char *dir, const struct sym_module *m, const char *suffix)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s.names%s", dir, m->key + 2, suffix);
	return strbuf_detach(&sb);
}

/* ---- reading */

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static const void *take(struct cursor *c, size_t n)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return NULL;
	}
	const void *at = c->p;
	c->p += n;
	return at;
}

static uint32_t take_u32(struct cursor *c)
{
	const void *p = take(c, 4);
	uint32_t v = 0;
	if (p)
		memcpy(&v, p, 4);
	return v;
}

static uint64_t take_u64(struct cursor *c)
{
	const void *p = take(c, 8);
	uint64_t v = 0;
	if (p)
		memcpy(&v, p, 8);
	return v;
}

void name_cache_file_release(struct name_cache_file *f)
{
	vec_free(&f->entries);
	vec_free(&f->frames);
}

int name_cache_parse(const void *buf, size_t len, const char *key, struct strtab *strs, struct name_cache_file *f)
{
	vec_clear(&f->entries);
	vec_clear(&f->frames);
	uint64_t sum;
	if (len < 8 + 4 + 4 + 8 || memcmp(buf, NAME_CACHE_MAGIC, 8) != 0)
		return -EBADMSG;
	memcpy(&sum, (const uint8_t *)buf + len - 8, 8);
	if (hash_bytes(buf, len - 8) != sum)
		return -EBADMSG;
	struct cursor c = {(const uint8_t *)buf + 8, (const uint8_t *)buf + len - 8, false};
	if (take_u32(&c) != NAME_CACHE_VERSION)
		return -EBADMSG;
	uint32_t klen = take_u32(&c);
	const char *k = take(&c, klen);
	if (!k)
		return -EBADMSG;
	if (klen != strlen(key) || memcmp(k, key, klen) != 0)
		return -ESTALE;
	int rc = -EBADMSG;
	uint32_t nstr = take_u32(&c);
	uint64_t sbytes = take_u64(&c);
	const char *sp = take(&c, sbytes);
	if (!sp || nstr > sbytes || (sbytes && sp[sbytes - 1] != '\0'))
		return -EBADMSG;
	uint32_t *ids = xmalloc(((size_t)nstr + 1) * sizeof(*ids));
	ids[0] = 0;
	const char *p = sp, *send = sp + sbytes;
	for (uint32_t i = 1; i <= nstr; i++) {
		const char *nul = p < send ? memchr(p, '\0', (size_t)(send - p)) : NULL;
		if (!nul)
			goto out_free;
		ids[i] = strtab_intern_n(strs, p, (size_t)(nul - p));
		p = nul + 1;
	}
	if (p != send)
		goto out_free;
	uint64_t n = take_u64(&c);
	if (n > NAME_CACHE_MAX_ENTRIES || n > (uint64_t)(c.end - c.p) / 12)
		goto out_free;
	for (uint64_t i = 0; i < n; i++) {
		struct name_cache_entry e = {.offset = take_u64(&c), .first = (uint32_t)f->frames.n};
		e.n = take_u32(&c);
		if (c.bad || e.n > SYM_MAX_FRAMES)
			goto out_free;
		for (uint32_t j = 0; j < e.n; j++) {
			uint32_t v[5];
			for (int w = 0; w < 5; w++)
				v[w] = take_u32(&c);
			if (c.bad || v[0] > nstr || v[1] > nstr || v[3] > nstr || (v[4] & ~SYM_FRAME_UNNAMED))
				goto out_free;
			struct sym_frame fr = {ids[v[0]], ids[v[1]], v[2], ids[v[3]], v[4]};
			vec_push(&f->frames, fr);
		}
		vec_push(&f->entries, e);
	}
	rc = c.p == c.end ? 0 : -EBADMSG;
out_free:
	free(ids);
	if (rc < 0) {
		vec_clear(&f->entries);
		vec_clear(&f->frames);
	}
	return rc;
}

static bool names_enabled(void)
{
	const char *env = getenv("KILN_NAME_CACHE");
	return !env || (strcmp(env, "off") && strcmp(env, "0"));
}

static int read_whole(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)NAME_CACHE_MAX_FILE)
		return -EBADMSG;
	size_t n = (size_t)st.st_size, got = 0;
	uint8_t *buf = xmalloc(n ? n : 1);
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
		if (r <= 0) {
			free(buf);
			return r < 0 ? -errno : -EBADMSG;
		}
		got += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

void name_cache_load(struct symbolizer *s, int module)
{
	struct sym_module *m = &s->modules.v[module];
	m->names = -1;
	const char *dir = symbols_debug_cache_dir();
	if (!dir || !m->elf || !names_enabled())
		return;
	char *key = make_key(m);
	if (!key)
		return;
	m->names = 1;
	m->names_key = key;
	char *path = file_path(dir, m, "");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct name_cache_file f = {0};
	if (read_whole(fd, &buf, &len) == 0 && name_cache_parse(buf, len, key, &s->strs, &f) == 0) {
		for (size_t i = 0; i < f.entries.n; i++) {
			const struct name_cache_entry *e = &f.entries.v[i];
			if (!symbolizer_cache_put(s, module, e->offset, &f.frames.v[e->first], (int)e->n))
				break;
		}
		s->stats.names_read += f.entries.n;
		futimens(fd, NULL); /* the mtime says when it was last used, for trimming */
	} else {
		m->names_added = 1; /* another key, or damaged: written anew */
	}
	name_cache_file_release(&f);
	free(buf);
	close(fd);
}

/* ---- writing */

static void put_u32(struct strbuf *sb, uint32_t v)
{
	strbuf_add(sb, &v, 4);
}

static void put_u64(struct strbuf *sb, uint64_t v)
{
	strbuf_add(sb, &v, 8);
}

/* The file's bytes for module m: its results, strings renumbered. */
static int encode(const struct symbolizer *s, const struct sym_module *m, struct strbuf *out)
{
	struct hashmap index; /* symbolizer string id -> 1-based index in the file */
	hashmap_init(&index);
	struct strbuf strs = STRBUF_INIT, body = STRBUF_INIT;
	uint32_t nstr = 0;
	uint64_t entries = 0;
	int rc = 0;
	for (size_t r = 0; r < m->runs.n; r++) {
		for (int j = 0; j < SYM_CACHE_RUN; j++) {
			uint32_t v = m->runs.v[r].v[j];
			if (v == SYM_CACHE_NONE)
				continue;
			uint32_t n;
			const struct sym_frame *f = sym_cache_frames(m, v, &n);
			put_u64(&body, m->run_keys.v[r] * SYM_CACHE_RUN + (uint64_t)j);
			put_u32(&body, n);
			for (uint32_t i = 0; i < n; i++) {
				uint32_t ids[3] = {f[i].function, f[i].file, f[i].alias}, out_ids[3];
				for (int k = 0; k < 3; k++) {
					uint64_t ix = 0;
					if (ids[k] && !hashmap_get(&index, ids[k], &ix)) {
						ix = ++nstr;
						hashmap_put(&index, ids[k], ix);
						const char *str = strtab_get(&s->strs, ids[k]);
						strbuf_add(&strs, str, strlen(str) + 1);
					}
					out_ids[k] = (uint32_t)ix;
				}
				put_u32(&body, out_ids[0]);
				put_u32(&body, out_ids[1]);
				put_u32(&body, f[i].line);
				put_u32(&body, out_ids[2]);
				put_u32(&body, f[i].flags);
			}
			entries++;
		}
		if (body.len + strs.len > NAME_CACHE_MAX_FILE || entries > NAME_CACHE_MAX_ENTRIES) {
			rc = -EFBIG;
			goto out;
		}
	}
	strbuf_add(out, NAME_CACHE_MAGIC, 8);
	put_u32(out, NAME_CACHE_VERSION);
	put_u32(out, (uint32_t)strlen(m->names_key));
	strbuf_addstr(out, m->names_key);
	put_u32(out, nstr);
	put_u64(out, strs.len);
	strbuf_add(out, strs.buf, strs.len);
	put_u64(out, entries);
	strbuf_add(out, body.buf, body.len);
	put_u64(out, hash_bytes(out->buf, out->len));
out:
	strbuf_release(&strs);
	strbuf_release(&body);
	hashmap_release(&index);
	return rc;
}

int name_cache_store(struct symbolizer *s, int module)
{
	struct sym_module *m = &s->modules.v[module];
	if (m->names != 1 || !m->names_added)
		return 0;
	const char *dir = symbols_debug_cache_dir();
	if (!dir)
		return 0;
	m->names_added = 0;
	struct strbuf data = STRBUF_INIT;
	char *path = NULL;
	int rc = encode(s, m, &data);
	if (rc < 0)
		goto out_free;
	if ((rc = debug_cache_mkdir()) < 0)
		goto out_free;
	path = file_path(dir, m, "");
	if ((rc = fs_write_atomic(path, data.buf, data.len)) < 0)
		goto out_free;
	s->stats.names_written++;
	debug_cache_trim(dir, ".names", NAME_CACHE_MAX_BYTES, NULL);
out_free:
	free(path);
	strbuf_release(&data);
	return rc;
}
