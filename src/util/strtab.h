/* strtab.h - interned strings, each stored once and named by a dense id.
 *
 * Id 0 is always the empty string, so a zeroed field means "unknown".
 * Strings live as long as the table; strtab_get() pointers stay valid
 * until strtab_release() (they are kept in stable chunks).
 */
#ifndef KILN_UTIL_STRTAB_H
#define KILN_UTIL_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#include "util/keymap.h"
#include "util/vec.h"

struct strtab {
	VEC(char *) strs; /* id -> NUL-terminated string */
	VEC(uint32_t) lens;
	VEC(char *) chunks; /* its own, then adopted blocks, freed on release */
	size_t chunk_left;
	size_t chunk_bytes; /* of its own chunks */
	char *chunk_pos;
	struct keymap index; /* string -> id */
	size_t indexed;      /* strings [0, indexed) are in index; see strtab_append() */
};

void strtab_init(struct strtab *t);
void strtab_release(struct strtab *t);

/* Returns the id of s (interning it when new). */
uint32_t strtab_intern(struct strtab *t, const char *s);
uint32_t strtab_intern_n(struct strtab *t, const char *s, size_t len);
/* As strtab_intern_n(), for a caller that has hash_bytes(s, len) at hand. */
uint32_t strtab_intern_hashed(struct strtab *t, const char *s, size_t len, uint64_t hash);
/* Adds s, which the caller knows is not in the table, without indexing
 * it: for a caller with a map of its own (the folded flame builder); the
 * lookups above then need strtab_reindex() first. Returns its id. */
uint32_t strtab_append(struct strtab *t, const char *s, size_t len);
/* As strtab_append(), for a string the caller stored, followed by a NUL
 * byte, in a block it gave the table with strtab_adopt(): not copied. */
uint32_t strtab_append_stored(struct strtab *t, const char *s, size_t len);
/* Makes room for n strings in all, so that appending up to n moves nothing. */
void strtab_reserve(struct strtab *t, size_t n);
/* Gives the table block (from malloc), which it frees when released. */
void strtab_adopt(struct strtab *t, void *block);
/* Indexes the strings strtab_append() added. */
void strtab_reindex(struct strtab *t);
/* Returns the id of s, or UINT32_MAX when it is not in the table. */
uint32_t strtab_find(const struct strtab *t, const char *s);
/* The string with this id; "" for an id out of range. */
const char *strtab_get(const struct strtab *t, uint32_t id);
/* The bytes t holds on the heap: its chunks, its arrays and its index
 * (blocks given with strtab_adopt() are not counted: their size is the
 * giver's). */
size_t strtab_bytes(const struct strtab *t);
static inline uint32_t strtab_count(const struct strtab *t)
{
	return (uint32_t)t->strs.n;
}

#endif
