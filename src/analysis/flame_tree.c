/* flame_tree.c - merges a profile's stacks into the tree a flame graph draws
 * (see flame_tree.h). Samples are first summed per distinct (stack, thread),
 * so the work is proportional to distinct stacks, not to samples; flame
 * charts keep samples apart and merge only neighbours in time. Folded
 * stacks can skip the profile altogether (flame_folded_*): for a million
 * lines that is most of the time and memory kiln flame would spend.
 */
#include "analysis/flame_tree.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/word_ring.h"
#include "util/xalloc.h"

void flame_tree_init(struct flame_tree *t)
{
	memset(t, 0, sizeof(*t));
	strtab_init(&t->strings);
	keymap_init(&t->index);
	struct flame_node *root = vec_grow(&t->nodes);
	root->first_child = root->next_sibling = FLAME_NONE;
	root->origin = FLAME_ORIGIN_UNKNOWN;
	root->name = strtab_intern(&t->strings, "all");
}

void flame_tree_release(struct flame_tree *t)
{
	if (!t)
		return;
	strtab_release(&t->strings);
	vec_free(&t->nodes);
	vec_free(&t->srcs);
	vec_free(&t->bases);
	vec_free(&t->spans);
	vec_free(&t->packed);
	vec_free(&t->opened);
	vec_free(&t->name_origin);
	flame_census_release(t->census);
	free(t->census);
	t->census = NULL;
	keymap_release(&t->index);
}

/* One frame of the stack being inserted, already in the tree's strings. */
struct path_frame {
	uint32_t name, module, file, line;
	uint8_t origin;
	uint8_t inlined;
};

static uint32_t node_new(struct flame_tree *t, uint32_t parent, const struct path_frame *f)
{
	uint32_t depth = t->nodes.v[parent].depth + 1;
	if (f->module || f->file || f->line || t->srcs.n) {
		/* the first node with a place gives every node one */
		while (t->srcs.n < t->nodes.n)
			vec_push(&t->srcs, ((struct flame_src){0, 0, 0}));
		vec_push(&t->srcs, ((struct flame_src){f->module, f->file, f->line}));
	}
	struct flame_node *n = vec_grow(&t->nodes);
	n->name = f->name;
	n->parent = parent;
	n->depth = depth;
	n->origin = f->origin;
	n->inlined = f->inlined;
	n->first_child = n->next_sibling = FLAME_NONE;
	return (uint32_t)(t->nodes.n - 1);
}

/* A child as looked for under its parent. */
struct node_key {
	uint32_t parent, name;
};

static bool node_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct flame_tree *t = ctx;
	if (id >= t->nodes.n)
		return false; /* a packed node's, left in a folded builder's map */
	const struct flame_node *n = &t->nodes.v[id];
	const struct node_key *k = key;
	return n->parent == k->parent && n->name == k->name;
}

static uint64_t node_hash(uint32_t parent, uint32_t name)
{
	return hash_mix(parent, name);
}

static uint32_t child_of(struct flame_tree *t, uint32_t parent, const struct path_frame *f)
{
	if (t->chart) {
		/* time order: only the latest child (first on the list until
		 * flame_tree_finish() puts it last) may continue */
		uint32_t last = t->nodes.v[parent].first_child;
		if (last != FLAME_NONE && t->nodes.v[last].name == f->name)
			return last;
		uint32_t id = node_new(t, parent, f);
		t->nodes.v[id].next_sibling = last;
		t->nodes.v[parent].first_child = id;
		return id;
	}
	struct node_key k = {parent, f->name};
	uint64_t h = node_hash(parent, f->name);
	uint32_t id = keymap_find(&t->index, h, node_eq, t, &k);
	if (id != KEYMAP_NONE)
		return id;
	id = node_new(t, parent, f);
	keymap_add(&t->index, h, id);
	return id;
}

/* Adds v to the self value of the path's last node; flame_tree_finish()
 * sums the totals once, which is cheaper than adding along every path. */
static void insert_path(struct flame_tree *t, const struct path_frame *path, uint32_t n, int64_t v)
{
	uint32_t at = 0;
	for (uint32_t i = 0; i < n; i++)
		at = child_of(t, at, &path[i]);
	t->nodes.v[at].self += v;
}

static void folded_link(struct flame_tree *t);

#define FOLDED_WIDE 8 /* children of nodes with more than this many are found through the map */

void flame_folded_init(struct flame_folded *b, struct flame_tree *t)
{
	memset(b, 0, sizeof(*b));
	b->t = t;
	keymap_init(&b->kids);
	keymap_init(&b->names);
	/* the same string order as flame_tree_build() */
	t->value_type = strtab_intern(&t->strings, "samples");
	t->value_unit = strtab_intern(&t->strings, "count");
	t->no_index = true;
	b->preset = strtab_count(&t->strings);
	b->next_sid = b->preset;
	b->next_fresh = b->preset;
	b->threads = 1;
}

/* A name as found in the line. */
struct name_key {
	const char *s;
	size_t len;
};

/* Entries of b->name_blocks: a word (length << 32 | string id), then the
 * name's bytes and at least one NUL byte, padded to whole words. Comparing
 * a name there costs one cache miss; through the string table it would
 * cost three. The bytes are the tree's string too (strtab_append_stored()):
 * names are stored once. An entry's id is its block << NAME_BLOCK_BITS |
 * its word in the block; blocks do not move, and a name longer than a
 * block has one of its own. */
#define NAME_HEAD       1
#define NAME_BLOCK_BITS 18 /* 2 MiB blocks, on huge pages where the system has them */
#define NAME_BLOCK_MAX  (((size_t)KEYMAP_NONE >> NAME_BLOCK_BITS) - 1) /* ids stay below KEYMAP_NONE */

static const uint64_t *name_entry(const struct flame_folded *b, uint32_t at)
{
	return b->name_blocks.v[at >> NAME_BLOCK_BITS] + (at & (((uint32_t)1 << NAME_BLOCK_BITS) - 1));
}

static bool name_eq(const void *ctx, const void *key, uint32_t at)
{
	const uint64_t *w = name_entry(ctx, at);
	const struct name_key *k = key;
	return w[0] >> 32 == k->len && !memcmp(w + NAME_HEAD, k->s, k->len);
}

/* Room for an entry of words words; returns its id, or KEYMAP_NONE when
 * the ids are used up. */
static uint32_t name_room(struct flame_folded *b, size_t words)
{
	size_t block_words = (size_t)1 << NAME_BLOCK_BITS;
	if (b->name_blocks.n && b->block_used + words <= block_words) {
		uint32_t at = (uint32_t)((b->name_blocks.n - 1) << NAME_BLOCK_BITS | b->block_used);
		b->block_used += words;
		return at;
	}
	if (b->name_blocks.n >= NAME_BLOCK_MAX)
		return KEYMAP_NONE;
	if (b->name_blocks.n)
		vec_push(&b->block_ends, (uint32_t)b->block_used);
	size_t size = words > block_words ? words : block_words;
	/* the first block as small pages: a small file keeps to the pages it touches */
	uint64_t *block = b->name_blocks.n ? xmalloc_huge(size * sizeof(*block)) : xmalloc(size * sizeof(*block));
	strtab_adopt(&b->t->strings, block);
	vec_push(&b->name_blocks, block);
	b->block_used = words;
	return (uint32_t)((b->name_blocks.n - 1) << NAME_BLOCK_BITS);
}

/* Puts the names met so far in the tree's string table, in the order of
 * their ids: new names get their ids as they come, and their entries are
 * listed once at the end (or before a name goes to the table directly),
 * so that the table's arrays are sized once instead of growing by copies
 * into new pages. From then on new names go to the table as they come. */
static void folded_list_names(struct flame_folded *b)
{
	if (b->listed)
		return;
	b->listed = true;
	struct strtab *st = &b->t->strings;
	strtab_reserve(st, b->next_sid);
	for (size_t k = 0; k < b->name_blocks.n; k++) {
		const uint64_t *w = b->name_blocks.v[k];
		size_t end = k + 1 < b->name_blocks.n ? b->block_ends.v[k] : b->block_used;
		for (size_t i = 0; i < end;) {
			size_t len = (size_t)(w[i] >> 32);
			if ((uint32_t)w[i] >= b->preset) /* else one of the table's first strings */
				strtab_append_stored(st, (const char *)(w + i + NAME_HEAD), len);
			i += NAME_HEAD + (len + 8) / 8;
		}
	}
	assert(strtab_count(st) == b->next_sid);
	vec_free(&b->block_ends);
}

/* Counts name (stored for good: in a name block or the string table) in
 * the census; with two threads (not direct), the nodes' half does, in the
 * same order, so that the names' half has less to do. */
static inline __attribute__((always_inline)) void folded_census(struct flame_folded *b, const char *name, size_t len,
                                                                bool direct)
{
	if (direct)
		flame_census_add(&b->census, name, len);
	else
		vec_push(&b->line_census, ((struct flame_folded_census){name, len}));
}

/* The tree's string id of name: a private map in front of the string table
 * (whose byte-wise hash would cost more than the rest of a frame). A name
 * new to the tree gets the next id (b->next_sid), which the nodes' half
 * tells by its id alone (see folded_nodes_frame()). The census counts a
 * name first met (direct: at once, else on the nodes' half). */
static inline __attribute__((always_inline)) uint32_t folded_intern(struct flame_folded *b, const char *name,
                                                                    size_t len, uint64_t h, bool direct)
{
	struct name_key k = {name, len};
	uint32_t at = keymap_find(&b->names, h, name_eq, b, &k);
	if (at != KEYMAP_NONE)
		return (uint32_t)name_entry(b, at)[0];
	struct strtab *st = &b->t->strings;
	/* not in the map: new to the table, unless one of the strings the
	 * tree began with ("", "all" and the value type's); the table's own
	 * index is made once, at the end */
	uint32_t sid = UINT32_MAX;
	for (uint32_t i = 0; i < b->preset && sid == UINT32_MAX; i++)
		if (st->lens.v[i] == len && !memcmp(st->strs.v[i], name, len))
			sid = i;
	size_t words = NAME_HEAD + (len + 8) / 8; /* a NUL byte at least */
	at = name_room(b, words);
	if (at == KEYMAP_NONE) {
		/* 32 GiB of names: the string table alone goes on */
		folded_list_names(b);
		uint32_t id = strtab_intern_n(st, name, len);      /* the table hashes its own way */
		folded_census(b, strtab_get(st, id), len, direct); /* maybe again: counting is idempotent */
		return id;
	}
	uint64_t *w = (uint64_t *)name_entry(b, at);
	if (sid == UINT32_MAX)
		sid = b->listed ? strtab_append_stored(st, (const char *)(w + NAME_HEAD), len) : b->next_sid++;
	/* whole before the bytes are read: a read cut short (a file truncated
	 * under its map) leaves an entry folded_list_names() can pass over */
	w[0] = (uint64_t)len << 32 | sid;
	w[words - 1] = 0; /* the padding after the name's last bytes */
	memcpy(w + NAME_HEAD, name, len);
	folded_census(b, (const char *)(w + NAME_HEAD), len, direct); /* first met: the census's order */
	keymap_add(&b->names, h, at);
	return sid;
}

/* The child of parent named name, made when new (at once when the name is
 * fresh: no node has it yet). While the tree is built, a node's first_child
 * is its newest child, next_sibling the next older one and value the number
 * of children (folded_link() sorts the lists and sums the values): most
 * nodes have a few children, found on that list without the cache miss of
 * a hash lookup, and only the children of wide nodes go into the map. */
static void unpack_building(struct flame_folded *b, uint32_t node);

static inline __attribute__((always_inline)) uint32_t folded_child(struct flame_folded *b, uint32_t parent,
                                                                   uint32_t sid, bool fresh)
{
	struct flame_tree *t = b->t;
	if (t->nodes.v[parent].packed)
		unpack_building(b, parent); /* unsorted input came back to a packed subtree */
	struct flame_node *nv = t->nodes.v;
	struct node_key k = {parent, sid};
	if (fresh) {
		/* nothing to look for */
	} else if (nv[parent].value <= FOLDED_WIDE) {
		for (uint32_t c = nv[parent].first_child; c != FLAME_NONE; c = nv[c].next_sibling)
			if (nv[c].name == sid)
				return c;
	} else {
		uint32_t c = keymap_find(&b->kids, node_hash(parent, sid), node_eq, t, &k);
		if (c != KEYMAP_NONE)
			return c;
	}
	struct path_frame pf = {.name = sid};
	uint32_t id = node_new(t, parent, &pf);
	nv = t->nodes.v;
	nv[id].undecided = 1; /* flame_tree_origin() decides, if it is ever drawn */
	nv[id].next_sibling = nv[parent].first_child;
	nv[parent].first_child = id;
	int64_t nchild = ++nv[parent].value;
	if (nchild == FOLDED_WIDE + 1) {
		for (uint32_t c = id; c != FLAME_NONE; c = nv[c].next_sibling)
			keymap_add(&b->kids, node_hash(parent, nv[c].name), c);
	} else if (nchild > FOLDED_WIDE + 1) {
		keymap_add(&b->kids, node_hash(parent, sid), id);
	}
	return id;
}

#define FRAME_MUL 0xff51afd7ed558ccdULL

/* Folds the word w of a name into the hash h. */
static uint64_t frame_hash_word(uint64_t h, uint64_t w)
{
	h = (h ^ w) * FRAME_MUL;
	return h ^ (h >> 29);
}

/* Where the frame starting at pos of stack (len bytes) ends (at the next
 * ';', or len), and in *hash the hash of its name: the builder's own,
 * found in the same pass a word at a time, where memchr() and then
 * hash_bytes() read every name twice. The name's whole words are hashed
 * in turn, then its last bytes as a word padded with zeros, then its
 * length, so a name hashes the same wherever it is. */
static inline __attribute__((always_inline)) size_t frame_end_hash(const char *stack, size_t pos, size_t len,
                                                                   uint64_t *hash)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL, w = 0;
	size_t i = pos, end;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL, semis = ones * ';';
	for (; len - i >= 8; i += 8) {
		memcpy(&w, stack + i, 8);
		uint64_t x = w ^ semis; /* a zero byte where w has a ';' */
		uint64_t z = (x - ones) & ~x & (ones << 7);
		if (z) {
			/* the lowest flag is the first ';' (flags above it may be false) */
			size_t k = (size_t)__builtin_ctzll(z) >> 3;
			end = i + k;
			if (k)
				h = frame_hash_word(h, w & (~0ULL >> (64 - 8 * k)));
			goto out;
		}
		h = frame_hash_word(h, w);
	}
#else
	for (; len - i >= 8 && !memchr(stack + i, ';', 8); i += 8) {
		memcpy(&w, stack + i, 8);
		h = frame_hash_word(h, w);
	}
#endif
	/* fewer than 8 bytes of the line left, or a ';' among the next 8 */
	end = i;
	w = 0;
	while (end < len && stack[end] != ';') {
		w |= (uint64_t)(unsigned char)stack[end] << (8 * (end - i));
		end++;
	}
	if (end > i)
		h = frame_hash_word(h, w);
out:
	*hash = hash_u64(h ^ (uint64_t)(end - pos) * 0x9e3779b97f4a7c15ULL);
	return end;
}

/* The length of the common prefix of a and b (n bytes each), a word at a time. */
static size_t common_prefix(const char *a, const char *b, size_t n)
{
	size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return i + (size_t)(__builtin_ctzll(x ^ y) >> 3);
	}
#endif
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* --- packed subtrees ------------------------------------------------------
 * A packed node's callees are bytes in t->packed at the offset its
 * first_child holds: a head of three numbers, the sum of their self
 * values, the bytes of their records and how many children it has, then
 * the children's records, each a name, a self value and then its own
 * callees the same way (unsigned LEB128 numbers). A packed node met while
 * packing its caller is copied in as it is; opening one makes nodes of its
 * children only, each packed with the part of the bytes that is its
 * callees, so that the cost is that of the nodes looked at. */

static size_t var_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Appends v to b->rec, which pack_node() sized for all it writes. */
static void put_var(struct flame_folded *b, uint64_t v)
{
	uint8_t *p = b->rec.v + b->rec.n;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	b->rec.n = (size_t)(p - b->rec.v);
}

static uint64_t get_var(const uint8_t *p, size_t *at)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t c = p[(*at)++];
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
	}
	return v;
}

/* The head of the callees at *at, which it moves past. */
struct callees {
	int64_t inside; /* the sum of their self values */
	uint64_t bytes; /* of their records, after the head */
	uint64_t kids;
};

static struct callees get_callees(const uint8_t *p, size_t *at)
{
	struct callees c;
	c.inside = (int64_t)get_var(p, at);
	c.bytes = get_var(p, at);
	c.kids = get_var(p, at);
	return c;
}

void flame_folded_narrow(struct flame_folded *b, double fraction)
{
	b->narrow = fraction > 0 ? fraction : 0;
}

void flame_folded_input_size(struct flame_folded *b, uint64_t bytes)
{
	b->size = bytes;
	/* The packs come to about a fifth of the text of mostly distinct
	 * stacks (8.6 of 38 MB; 18 of 624 MB for shared prefixes): reserved
	 * once on huge pages, they fault in 2 MiB at a time instead of 4 KiB
	 * as doubling grows them (a third of the run's page faults), and are
	 * never moved. Only what is written becomes resident; past 256 MiB
	 * (a 1 GiB file) doubling takes over, not to ask for address space
	 * that a strict overcommit would refuse. */
	struct flame_tree *t = b->t;
	uint64_t want = bytes / 4 < ((uint64_t)256 << 20) ? bytes / 4 : (uint64_t)256 << 20;
	if (t->packed.cap || want < ((uint64_t)2 << 20))
		return;
	t->packed.v = xmalloc_huge(want);
	t->packed.cap = want;
	/* the nodes not packed yet grow and shrink as the lines go by: room
	 * for an eighth of the text's bytes in nodes, on huge pages too */
	size_t nodes = (size_t)(want / 2 / sizeof(*t->nodes.v));
	if (t->nodes.cap >= nodes)
		return;
	t->nodes.v = xgrowarray(t->nodes.v, t->nodes.n, nodes, sizeof(*t->nodes.v));
	t->nodes.cap = nodes;
}

/* What packing needs of each node after the one packed. */
struct pack_info {
	int64_t sub;    /* the sum of the self values of its subtree */
	uint64_t bytes; /* of its children's records */
	uint64_t kids;
	uint64_t copy; /* packed: the bytes of its callees, head included */
};

/* Packs the callees of node x, which came on the stack at prev: only when
 * they are exactly the nodes and packed bytes made since (always so for
 * sorted input); else leaves them as they are. */
static void pack_node(struct flame_folded *b, const struct flame_folded_prev *prev)
{
	struct flame_tree *t = b->t;
	uint32_t x = prev->node;
	struct flame_node *nv = t->nodes.v;
	size_t n = t->nodes.n;
	if (!prev->made || nv[x].packed || nv[x].first_child == FLAME_NONE)
		return; /* found, not made: older nodes may be x's (unsorted input) */
	/* sizes and sums, children after their parents: x was made when it
	 * came on the stack and every line since went through it, so the
	 * nodes after it are its subtree (checked all the same: each one's
	 * parent is x or after it) */
	vec_reserve(&b->sub, n - x);
	memset(b->sub.v, 0, (n - x) * sizeof(*b->sub.v));
	b->sub.n = n - x;
	struct pack_info *pi = b->sub.v;
	for (size_t i = n; i-- > (size_t)x + 1;) {
		struct pack_info *me = &pi[i - x];
		if (nv[i].parent < x)
			return;
		uint64_t callees;
		if (nv[i].packed) {
			if (nv[i].first_child < prev->byte_mark)
				return; /* packed before x came on the stack: not only x's */
			size_t at = nv[i].first_child;
			struct callees c = get_callees(t->packed.v, &at);
			me->copy = at - nv[i].first_child + c.bytes;
			me->sub += c.inside;
			callees = me->copy;
		} else {
			callees = var_size((uint64_t)me->sub) + var_size(me->bytes) + var_size(me->kids) + me->bytes;
		}
		me->sub += nv[i].self;
		struct pack_info *up = &pi[nv[i].parent - x];
		up->sub += me->sub;
		up->bytes += var_size(nv[i].name) + var_size((uint64_t)nv[i].self) + callees;
		up->kids++;
	}
	vec_clear(&b->rec);
	vec_clear(&b->walk);
	/* the sizes above are those of the records: one reservation */
	size_t size = var_size((uint64_t)pi[0].sub) + var_size(pi[0].bytes) + var_size(pi[0].kids) + pi[0].bytes;
	vec_reserve(&b->rec, size);
	/* x's head: its self value is not in the sum */
	put_var(b, (uint64_t)pi[0].sub);
	put_var(b, pi[0].bytes);
	put_var(b, pi[0].kids);
	for (uint32_t c = nv[x].first_child; c != FLAME_NONE; c = nv[c].next_sibling)
		vec_push(&b->walk, c);
	while (b->walk.n) {
		uint32_t c = b->walk.v[--b->walk.n];
		const struct pack_info *me = &pi[c - x];
		put_var(b, nv[c].name);
		put_var(b, (uint64_t)nv[c].self);
		if (nv[c].packed) {
			memcpy(b->rec.v + b->rec.n, t->packed.v + nv[c].first_child, me->copy);
			b->rec.n += me->copy;
			continue;
		}
		put_var(b, (uint64_t)(me->sub - nv[c].self));
		put_var(b, me->bytes);
		put_var(b, me->kids);
		for (uint32_t k = nv[c].first_child; k != FLAME_NONE; k = nv[k].next_sibling)
			vec_push(&b->walk, k);
	}
	assert(b->rec.n == size);
	if (prev->byte_mark + b->rec.n > UINT32_MAX)
		return;          /* offsets are 32 bits: 4 GiB of packed bytes at most */
	t->npacked += n - x - 1; /* the nodes after x; those packed in them are counted already */
	t->nodes.n = x + 1;
	t->packed.n = prev->byte_mark;
	vec_reserve(&t->packed, t->packed.n + b->rec.n);
	memcpy(t->packed.v + t->packed.n, b->rec.v, b->rec.n);
	nv[x].packed = 1;
	nv[x].first_child = (uint32_t)t->packed.n;
	nv[x].value = 0; /* no children while building */
	t->packed.n += b->rec.n;
}

/* The stack's frames from keep on end: packs the outermost of them that is
 * narrow (its callers are wider, its callees narrower). */
static void pop_frames(struct flame_folded *b, size_t keep)
{
	double total = (double)b->total;
	if (b->size > b->bytes && b->bytes)
		total *= (double)b->size / (double)b->bytes; /* what the rest will likely add */
	if (b->narrow > 0)
		for (size_t i = keep; i < b->prev.n; i++)
			if ((double)(b->total - b->prev.v[i].total_before) < b->narrow * total) {
				pack_node(b, &b->prev.v[i]);
				break;
			}
	b->prev.n = keep;
}

/* Unsorted input came back to a packed node: makes nodes of all its
 * callees again, through folded_child() as if their lines came again. */
static void unpack_building(struct flame_folded *b, uint32_t node)
{
	struct flame_tree *t = b->t;
	size_t at = t->nodes.v[node].first_child;
	t->nodes.v[node].packed = 0;
	t->nodes.v[node].first_child = FLAME_NONE;
	struct level {
		uint32_t parent;
		uint64_t left;
	};
	VEC(struct level) stack = {0};
	struct level top = {node, get_callees(t->packed.v, &at).kids};
	vec_push(&stack, top); /* t->packed does not change below */
	while (stack.n) {
		struct level *l = &stack.v[stack.n - 1];
		if (!l->left) {
			stack.n--;
			continue;
		}
		l->left--;
		uint32_t parent = l->parent;
		uint32_t name = (uint32_t)get_var(t->packed.v, &at);
		int64_t self = (int64_t)get_var(t->packed.v, &at);
		uint32_t id = folded_child(b, parent, name, false);
		t->nodes.v[id].self += self;
		t->npacked--;
		struct level kids = {id, get_callees(t->packed.v, &at).kids};
		vec_push(&stack, kids);
	}
	vec_free(&stack);
}

/* The nodes' half of a line, in three steps: keeps the first keep frames
 * of the previous line and returns the node the next frame goes under. */
static uint32_t folded_nodes_begin(struct flame_folded *b, size_t keep)
{
	uint32_t node = keep ? b->prev.v[keep - 1].node : 0;
	pop_frames(b, keep);
	return node;
}

/* Puts the frame named sid under node; returns its node. A name new to
 * the tree comes with the next id folded_intern() gives (ids are given in
 * the order names are first met, and the ids before it came already), so
 * no node has it yet and none is looked for. */
static inline __attribute__((always_inline)) uint32_t folded_nodes_frame(struct flame_folded *b, uint32_t node,
                                                                         uint32_t sid)
{
	bool fresh = sid == b->next_fresh;
	b->next_fresh += fresh;
	size_t before = b->t->nodes.n;
	node = folded_child(b, node, sid, fresh);
	struct flame_folded_prev pf = {node, b->total, b->t->packed.n, node >= before};
	vec_push(&b->prev, pf);
	return node;
}

/* Ends a line of len bytes and value v whose last frame is node. */
static void folded_nodes_end(struct flame_folded *b, uint32_t node, int64_t v, size_t len)
{
	b->t->nodes.v[node].self += v;
	b->total += (uint64_t)v;
	b->bytes += len + 4; /* and the count, a blank, the line end: about */
}

/* The names' half of a line: false when the line adds nothing (a value of
 * 0 or less, a stack of 2 GiB or more); else *keep is how many frames of
 * the previous line it shares, and b->line_names the string ids of its
 * other frames. With direct (one thread), the nodes' half is done too,
 * each frame's node right after its name, as before there were two. */
static inline __attribute__((always_inline)) bool folded_names_line(struct flame_folded *b, const char *stack,
                                                                    size_t len, int64_t v, size_t *keep, bool direct)
{
	if (v <= 0 || len > UINT32_MAX / 2)
		return false;
	/* reuse the nodes of the whole frames this stack shares with the previous one */
	size_t common = common_prefix(stack, b->prev_stack.buf, len < b->prev_stack.len ? len : b->prev_stack.len);
	size_t k = 0;
	while (len > 0 && k < b->ends.n &&
	       (b->ends.v[k] < common || (b->ends.v[k] == common && (common == len || stack[common] == ';'))))
		k++;
	size_t pos = k ? b->ends.v[k - 1] + 1 : 0;
	b->ends.n = k;
	*keep = k;
	uint32_t node = direct ? folded_nodes_begin(b, k) : 0;
	vec_clear(&b->line_names);
	vec_clear(&b->line_census);
	if (len > 0) {
		/* the new frames' names are hashed first and their map slots
		 * fetched ahead, so that their cache misses overlap instead of
		 * each waiting for the one before */
		vec_clear(&b->todo);
		while (pos <= len) {
			uint64_t hash;
			size_t end = frame_end_hash(stack, pos, len, &hash);
			struct flame_folded_frame f = {(uint32_t)pos, (uint32_t)end, hash};
			keymap_prefetch(&b->names, f.hash);
			vec_push(&b->todo, f);
			pos = end + 1;
		}
		for (size_t i = 0; i < b->todo.n; i++) {
			uint32_t at = keymap_guess(&b->names, b->todo.v[i].hash);
			if (at != KEYMAP_NONE) {
				/* most entries cross a cache line (they are not
				 * aligned): the comparison would wait for the second */
				const uint64_t *w = name_entry(b, at);
				__builtin_prefetch(w);
				__builtin_prefetch(w + 8); /* a prefetch never faults */
			}
		}
		for (size_t i = 0; i < b->todo.n; i++) {
			const struct flame_folded_frame *f = &b->todo.v[i];
			uint32_t sid = folded_intern(b, stack + f->start, f->end - f->start, f->hash, direct);
			if (direct)
				node = folded_nodes_frame(b, node, sid);
			else
				vec_push(&b->line_names, sid);
			vec_push(&b->ends, f->end);
		}
	}
	/* keep the shared prefix, copy only the rest */
	if (b->prev_stack.buf)
		b->prev_stack.len = common;
	strbuf_add(&b->prev_stack, stack + common, len - common);
	if (direct)
		folded_nodes_end(b, node, v, len);
	return true;
}

/* --- two threads ----------------------------------------------------------
 * The names' half runs where the lines are read; the nodes' half on a
 * thread of its own, fed through a ring of words. Per line: its new
 * frames' count, its names new to the census, the frames it keeps, its
 * value (two words) and its length; then the new frames' string ids; then
 * per name new to the census, where its bytes are (two words) and its
 * length. Only copies cross, and the bytes of a name the census is
 * handed are stored for good and never written again. */
#define PIPE_HEAD  6
#define PIPE_SLOTS ((size_t)1 << 16) /* 256 KiB: a few thousand lines ahead (4 MiB measured no better) */
#define PIPE_BATCH 1024              /* words published at once: one store the other side sees */

struct flame_folded_pipe {
	struct word_ring ring;
	pthread_t thread;
	VEC(uint32_t) sids; /* the nodes' half's copy of a line's */
};

/* The next word of the ring: a line is written whole before it closes. */
static uint32_t pipe_word(struct flame_folded_pipe *p)
{
	uint32_t w = 0;
	word_ring_get(&p->ring, &w);
	return w;
}

static void *folded_nodes_run(void *arg)
{
	struct flame_folded *b = arg;
	struct flame_folded_pipe *p = b->pipe;
	uint32_t h[PIPE_HEAD];
	for (;;) {
		for (size_t i = 0; i < PIPE_HEAD; i++)
			if (!word_ring_get(&p->ring, &h[i]))
				return NULL; /* closed between lines */
		vec_clear(&p->sids);
		vec_reserve(&p->sids, h[0]);
		for (uint32_t i = 0; i < h[0]; i++)
			p->sids.v[i] = pipe_word(p);
		p->sids.n = h[0];
		for (uint32_t i = 0; i < h[1]; i++) {
			uintptr_t at = pipe_word(p);
			at |= (uintptr_t)((uint64_t)pipe_word(p) << 32);
			size_t len = pipe_word(p);
			flame_census_add(&b->census, (const char *)at, len);
		}
		uint32_t node = folded_nodes_begin(b, h[2]);
		for (size_t i = 0; i < p->sids.n; i++)
			node = folded_nodes_frame(b, node, p->sids.v[i]);
		folded_nodes_end(b, node, (int64_t)((uint64_t)h[4] << 32 | h[3]), h[5]);
	}
}

void flame_folded_threads(struct flame_folded *b, int threads)
{
	b->threads = threads;
}

/* Starts the nodes' half's thread; false when it cannot be (the caller's
 * thread then does both). */
static bool folded_pipe_start(struct flame_folded *b)
{
	struct flame_folded_pipe *p = xcalloc(1, sizeof(*p));
	if (word_ring_init(&p->ring, PIPE_SLOTS))
		goto out_free;
	b->pipe = p;
	if (pthread_create(&p->thread, NULL, folded_nodes_run, b))
		goto out_release;
	return true;
out_release:
	b->pipe = NULL;
	word_ring_release(&p->ring);
out_free:
	free(p);
	return false;
}

/* Waits for the nodes' half to put every line handed to it. */
static void folded_pipe_stop(struct flame_folded *b)
{
	struct flame_folded_pipe *p = b->pipe;
	if (!p)
		return;
	word_ring_close(&p->ring);
	pthread_join(p->thread, NULL);
	word_ring_release(&p->ring);
	vec_free(&p->sids);
	free(p);
	b->pipe = NULL;
}

/* flame_folded_add() with the nodes' half on its thread; not inlined, so
 * that the one-thread path is compiled as it was before there were two
 * (the helpers both use are inlined in each: as functions of their own
 * they cost the one-thread path 5% more instructions). */
static __attribute__((noinline)) void folded_add_piped(struct flame_folded *b, const char *stack, size_t len, int64_t v)
{
	size_t keep;
	if (!folded_names_line(b, stack, len, v, &keep, false))
		return;
	struct word_ring *r = &b->pipe->ring;
	word_ring_put(r, (uint32_t)b->line_names.n);
	word_ring_put(r, (uint32_t)b->line_census.n);
	word_ring_put(r, (uint32_t)keep);
	word_ring_put(r, (uint32_t)(uint64_t)v);
	word_ring_put(r, (uint32_t)((uint64_t)v >> 32));
	word_ring_put(r, (uint32_t)len);
	for (size_t i = 0; i < b->line_names.n; i++)
		word_ring_put(r, b->line_names.v[i]);
	for (size_t i = 0; i < b->line_census.n; i++) {
		uint64_t at = (uintptr_t)b->line_census.v[i].name;
		word_ring_put(r, (uint32_t)at);
		word_ring_put(r, (uint32_t)(at >> 32));
		word_ring_put(r, (uint32_t)b->line_census.v[i].len);
	}
	if (word_ring_pending(r) >= PIPE_BATCH)
		word_ring_publish(r);
}

void flame_folded_add(struct flame_folded *b, const char *stack, size_t len, int64_t v)
{
	if (b->threads > 1) {
		if (b->pipe || folded_pipe_start(b)) {
			folded_add_piped(b, stack, len, v);
			return;
		}
		b->threads = 1;
	}
	size_t keep;
	folded_names_line(b, stack, len, v, &keep, true);
}

void flame_folded_finish(struct flame_folded *b)
{
	struct flame_tree *t = b->t;
	folded_pipe_stop(b);
	pop_frames(b, 0);
	folded_list_names(b);
	keymap_release(&b->kids);
	keymap_release(&b->names);
	vec_free(&b->name_blocks); /* the blocks are the tree's strings' */
	/* the origins are decided per name when asked for, by the census of
	 * every name (packed nodes' too) */
	t->census = xmalloc(sizeof(*t->census));
	*t->census = b->census;
	/* a packed tree is only drawn: nothing looks its strings up by text
	 * (flame_tree_set_base() does, on trees of --diff, never packed) */
	if (b->narrow <= 0)
		strtab_reindex(&t->strings);
	vec_free(&b->prev);
	vec_free(&b->ends);
	vec_free(&b->todo);
	vec_free(&b->line_names);
	vec_free(&b->line_census);
	strbuf_release(&b->prev_stack);
	vec_free(&b->rec);
	vec_free(&b->walk);
	vec_free(&b->sub);
	folded_link(b->t);
	memset(b, 0, sizeof(*b));
}

/* Working state of one flame_tree_build(). */
struct builder {
	struct flame_tree *t;
	const struct profile *p;
	const struct flame_options *o;
	uint32_t *strmap;   /* profile string id -> tree string id, FLAME_NONE until needed */
	uint8_t *focus_hit; /* per profile string id: 0 unknown, 1 match, 2 no match */
	uint8_t *excl_hit;
	uint8_t *origin_of; /* per profile frame index: origin + 1, 0 until needed */
	uint32_t *fnode_of; /* plain trees: profile stack node -> tree node, FLAME_NONE until mapped */
	bool direct;        /* every location is one frame with a name no other has: the profile's
	                     * trie already is the tree, so new nodes need no lookup */
	VEC(struct path_frame) path;
	bool focused, excluded;
	struct flame_span span; /* charts with times: the sample being added covers this */
	bool cut;               /* and its thread was not sampled for a while before it */
};

static uint32_t map_str(struct builder *b, uint32_t id)
{
	if (id >= strtab_count(&b->p->strings))
		id = 0;
	if (b->strmap[id] == FLAME_NONE)
		b->strmap[id] = strtab_intern(&b->t->strings, profile_str(b->p, id));
	return b->strmap[id];
}

static bool regex_hit(struct builder *b, const regex_t *re, uint8_t *cache, uint32_t id)
{
	if (id >= strtab_count(&b->p->strings))
		id = 0;
	if (!cache[id])
		cache[id] = regexec(re, profile_str(b->p, id), 0, NULL, 0) == 0 ? 1 : 2;
	return cache[id] == 1;
}

/* Fills pf from a profile frame; the origin is guessed once per frame. */
static void frame_to_path(struct builder *b, const struct profile_frame *f, uint32_t location, struct path_frame *pf)
{
	const struct profile *p = b->p;
	bool kernel = location < p->locations.n && p->locations.v[location].kind == PROFILE_LOC_KERNEL;
	pf->name = map_str(b, f->function);
	pf->module = map_str(b, f->module);
	pf->file = map_str(b, f->file);
	pf->line = f->line;
	pf->inlined = f->inlined;
	size_t fi = (size_t)(f - p->frames.v);
	bool cached = f >= p->frames.v && fi < p->frames.n;
	if (cached && b->origin_of[fi]) {
		pf->origin = (uint8_t)(b->origin_of[fi] - 1);
		return;
	}
	pf->origin = (uint8_t)flame_origin_guess(profile_str(p, f->function), profile_str(p, f->module),
	                                         profile_str(p, f->file), kernel);
	if (cached)
		b->origin_of[fi] = (uint8_t)(pf->origin + 1);
}

static int collect_frame(void *ctx, const struct profile_frame *f, uint32_t location)
{
	struct builder *b = ctx;
	struct path_frame *pf = vec_grow(&b->path);
	frame_to_path(b, f, location, pf);
	if (b->o->focus && !b->focused && regex_hit(b, b->o->focus, b->focus_hit, f->function))
		b->focused = true;
	if (b->o->exclude && regex_hit(b, b->o->exclude, b->excl_hit, f->function)) {
		b->excluded = true;
		return 1; /* the stack is dropped: stop walking */
	}
	return 0;
}

static void thread_frame(struct builder *b, uint32_t tid, struct path_frame *pf)
{
	const struct profile_thread *th = profile_find_thread(b->p, tid);
	char buf[320];
	const char *name = th ? profile_str(b->p, th->name) : "";
	snprintf(buf, sizeof(buf), "%.256s%stid %u", name, *name ? " " : "", tid);
	memset(pf, 0, sizeof(*pf));
	pf->name = strtab_intern(&b->t->strings, buf);
	pf->origin = FLAME_ORIGIN_THREAD;
}

static bool thread_selected(struct builder *b, uint32_t tid)
{
	if (!b->o->thread)
		return true;
	const struct profile_thread *th = profile_find_thread(b->p, tid);
	if (th && !strcmp(profile_str(b->p, th->name), b->o->thread))
		return true;
	char buf[16];
	snprintf(buf, sizeof(buf), "%u", tid);
	return !strcmp(buf, b->o->thread);
}

/* Inserts a flame chart's sample at b->span: below the thread frame a
 * frame continues the thread's latest one of the same name unless the
 * thread was not sampled for a while before (b->cut), and every node's
 * span grows to the sample's end. As in child_of(), a node's latest child
 * is the first on its list until flame_tree_finish() links them in time
 * order, so the node needs no pointer to its last child. */
static void chart_insert(struct builder *b, const struct path_frame *path, uint32_t n, int64_t v)
{
	struct flame_tree *t = b->t;
	uint32_t at = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t last = t->nodes.v[at].first_child;
		if (last != FLAME_NONE && t->nodes.v[last].name == path[i].name && !(b->cut && i > 0)) {
			at = last;
		} else {
			uint32_t id = node_new(t, at, &path[i]);
			t->nodes.v[id].next_sibling = last;
			t->nodes.v[at].first_child = id;
			at = id;
		}
		while (t->spans.n < t->nodes.n) {
			struct flame_span *sp = vec_grow(&t->spans);
			*sp = b->span;
		}
		struct flame_span *sp = &t->spans.v[at];
		if (b->span.end > sp->end)
			sp->end = b->span.end;
	}
	t->nodes.v[at].self += v;
}

static int u64_order(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* The sampling period of a chart: the median gap between consecutive
 * samples of a thread (order sorts them by thread, then time); 0 when the
 * samples have no times. */
static uint64_t chart_period(const struct profile *p, const uint32_t *order, size_t n)
{
	VEC(uint64_t) gaps = {0};
	for (size_t i = 1; i < n; i++) {
		const struct profile_sample *a = &p->samples.v[order[i - 1]], *s = &p->samples.v[order[i]];
		if (a->tid == s->tid && a->time && s->time > a->time)
			vec_push(&gaps, s->time - a->time);
	}
	uint64_t period = 0;
	if (gaps.n) {
		qsort(gaps.v, gaps.n, sizeof(*gaps.v), u64_order);
		period = gaps.v[gaps.n / 2];
	}
	vec_free(&gaps);
	return period;
}

/* Expands one stack into b->path (thread frame first when asked), applies
 * the filters and inserts it. */
static void add_stack(struct builder *b, uint32_t stack, uint32_t tid, int64_t v)
{
	vec_clear(&b->path);
	b->focused = b->excluded = false;
	if (stack >= b->p->stacks.n)
		stack = 0;
	profile_walk_stack(b->p, stack, collect_frame, b);
	if (b->excluded || (b->o->focus && !b->focused))
		return;
	struct path_frame *path = b->path.v;
	uint32_t n = (uint32_t)b->path.n;
	if (b->o->reverse)
		for (uint32_t i = 0; i < n / 2; i++) {
			struct path_frame tmp = path[i];
			path[i] = path[n - 1 - i];
			path[n - 1 - i] = tmp;
		}
	if (b->o->threads || b->o->chart) {
		vec_reserve(&b->path, b->path.n + 1);
		path = b->path.v;
		memmove(path + 1, path, n * sizeof(*path));
		thread_frame(b, tid, &path[0]);
		n++;
	}
	if (b->o->chart && b->t->period)
		chart_insert(b, path, n, v);
	else
		insert_path(b->t, path, n, v);
}

/* Plain trees (no filter, no reversal, no thread frames) follow the
 * profile's own trie: each stack node is mapped once, memoised, so the work
 * is proportional to the trie, not to stacks times depth. */
static uint32_t map_node(struct builder *b, uint32_t node)
{
	const struct profile *p = b->p;
	if (b->fnode_of[node] != FLAME_NONE)
		return b->fnode_of[node];
	VEC(uint32_t) up = {0};
	uint32_t i = node;
	while (b->fnode_of[i] == FLAME_NONE && up.n <= p->stacks.n) {
		vec_push(&up, i);
		uint32_t parent = p->stacks.v[i].parent;
		i = parent < p->stacks.n ? parent : 0; /* a damaged link hangs off the root */
	}
	uint32_t at = b->fnode_of[i] == FLAME_NONE ? 0 : b->fnode_of[i];
	for (size_t k = up.n; k-- > 0;) {
		uint32_t loc = p->stacks.v[up.v[k]].location;
		struct path_frame pf;
		if (loc < p->locations.n && p->locations.v[loc].nframes &&
		    (uint64_t)p->locations.v[loc].first_frame + p->locations.v[loc].nframes <= p->frames.n) {
			const struct profile_location *l = &p->locations.v[loc];
			for (uint32_t j = l->nframes; j-- > 0;) { /* innermost is stored first */
				frame_to_path(b, &p->frames.v[l->first_frame + j], loc, &pf);
				at = b->direct ? node_new(b->t, at, &pf) : child_of(b->t, at, &pf);
			}
		} else {
			struct profile_frame unknown = {0};
			frame_to_path(b, &unknown, loc, &pf);
			at = child_of(b->t, at, &pf);
		}
		b->fnode_of[up.v[k]] = at;
	}
	vec_free(&up);
	return b->fnode_of[node];
}

struct agg {
	uint32_t stack, tid;
	int64_t value;
};

static bool agg_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct agg *a = (const struct agg *)ctx + id, *k = key;
	return a->stack == k->stack && a->tid == k->tid;
}

static int sample_time_cmp(const void *x, const void *y, void *ctx)
{
	const struct profile *p = ctx;
	const struct profile_sample *a = &p->samples.v[*(const uint32_t *)x];
	const struct profile_sample *b = &p->samples.v[*(const uint32_t *)y];
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

int flame_tree_build(struct flame_tree *t, const struct profile *p, const struct flame_options *o)
{
	if (o->value < 0 || (size_t)o->value >= p->value_types.n)
		return -EINVAL;
	int vi = o->value;
	/* every sum in the tree is at most the sum of the positive values:
	 * check that once, so that no node's value can wrap */
	int64_t total = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		int64_t v = p->samples.v[i].values[vi];
		if (v > 0 && v > INT64_MAX - total)
			return -EOVERFLOW;
		if (v > 0)
			total += v;
	}
	t->chart = o->chart;
	t->value_type = strtab_intern(&t->strings, profile_str(p, p->value_types.v[vi].type));
	t->value_unit = strtab_intern(&t->strings, profile_str(p, p->value_types.v[vi].unit));

	struct builder b = {.t = t, .p = p, .o = o};
	uint32_t nstr = strtab_count(&p->strings) + 1;
	b.strmap = xmalloc(nstr * sizeof(*b.strmap));
	memset(b.strmap, 0xff, nstr * sizeof(*b.strmap));
	b.focus_hit = xcalloc(nstr, 1);
	b.excl_hit = xcalloc(nstr, 1);
	b.origin_of = xcalloc(p->frames.n + 1, 1);
	bool plain = !o->chart && !o->reverse && !o->threads && !o->focus && !o->exclude;
	if (plain) {
		b.fnode_of = xmalloc((p->stacks.n + 1) * sizeof(*b.fnode_of));
		memset(b.fnode_of, 0xff, (p->stacks.n + 1) * sizeof(*b.fnode_of));
		b.fnode_of[0] = 0;
		/* folded input has one location per name: skip the by-name merge */
		uint8_t *seen = xcalloc(nstr, 1);
		b.direct = true;
		for (size_t i = 0; i < p->locations.n && b.direct; i++) {
			const struct profile_location *l = &p->locations.v[i];
			uint32_t fn = l->nframes == 1 && l->first_frame < p->frames.n
			                  ? p->frames.v[l->first_frame].function
			                  : UINT32_MAX;
			if (fn >= nstr || seen[fn])
				b.direct = false;
			else
				seen[fn] = 1;
		}
		free(seen);
		t->no_index = b.direct;
	}

	if (o->chart) {
		uint32_t *order = xmalloc((p->samples.n + 1) * sizeof(*order));
		for (size_t i = 0; i < p->samples.n; i++)
			order[i] = (uint32_t)i;
		qsort_r(order, p->samples.n, sizeof(*order), sample_time_cmp, (void *)p);
		t->period = chart_period(p, order, p->samples.n);
		const struct profile_sample *prev = NULL;
		for (size_t i = 0; i < p->samples.n; i++) {
			const struct profile_sample *s = &p->samples.v[order[i]];
			if (s->values[vi] <= 0 || !thread_selected(&b, s->tid))
				continue;
			if (t->period) {
				/* a sample stands for the period before it; a gap of more
				 * than two and a half periods is time the thread did not run */
				uint64_t since =
				    prev && prev->tid == s->tid && s->time > prev->time ? s->time - prev->time : 0;
				uint64_t len = since && since < t->period ? since : t->period;
				b.cut = !prev || prev->tid != s->tid || since > t->period * 5 / 2;
				b.span.start = s->time > len ? s->time - len : 0;
				b.span.end = s->time;
			}
			add_stack(&b, s->stack, s->tid, s->values[vi]);
			prev = s;
		}
		free(order);
		if (t->period && t->spans.n == t->nodes.n && t->nodes.n > 1) {
			struct flame_span *root = &t->spans.v[0];
			*root = t->spans.v[1];
			for (size_t i = 2; i < t->nodes.n; i++)
				if (t->nodes.v[i].depth == 1) {
					if (t->spans.v[i].start < root->start)
						root->start = t->spans.v[i].start;
					if (t->spans.v[i].end > root->end)
						root->end = t->spans.v[i].end;
				}
		} else {
			vec_free(&t->spans);
			t->period = 0;
		}
	} else if (plain) {
		/* the memo merges repeated stacks already: no need to sum them first */
		for (size_t i = 0; i < p->samples.n; i++) {
			const struct profile_sample *s = &p->samples.v[i];
			if (s->values[vi] <= 0 || !thread_selected(&b, s->tid))
				continue;
			uint32_t leaf = map_node(&b, s->stack < p->stacks.n ? s->stack : 0); /* may move t->nodes.v */
			t->nodes.v[leaf].self += s->values[vi];
		}
	} else {
		bool per_thread = o->threads;
		VEC(struct agg) aggs = {0};
		struct keymap index;
		keymap_init(&index);
		for (size_t i = 0; i < p->samples.n; i++) {
			const struct profile_sample *s = &p->samples.v[i];
			if (s->values[vi] <= 0 || !thread_selected(&b, s->tid))
				continue;
			struct agg k = {.stack = s->stack, .tid = per_thread ? s->tid : 0};
			uint64_t h = hash_mix(k.stack, k.tid);
			uint32_t id = keymap_find(&index, h, agg_eq, aggs.v, &k);
			if (id == KEYMAP_NONE) {
				vec_push(&aggs, k);
				id = (uint32_t)aggs.n - 1;
				keymap_add(&index, h, id);
			}
			aggs.v[id].value += s->values[vi];
		}
		for (size_t i = 0; i < aggs.n; i++) {
			uint32_t stack = aggs.v[i].stack < p->stacks.n ? aggs.v[i].stack : 0;
			add_stack(&b, stack, aggs.v[i].tid, aggs.v[i].value);
		}
		keymap_release(&index);
		vec_free(&aggs);
	}
	vec_free(&b.path);
	free(b.strmap);
	free(b.focus_hit);
	free(b.excl_hit);
	free(b.origin_of);
	free(b.fnode_of);
	flame_tree_finish(t);
	return 0;
}

/* A string to sort: its first 16 bytes as two big-endian numbers (bytes
 * after its end 0), so most comparisons need not read the string at all. */
struct name_sort_key {
	uint64_t prefix[2];
	const char *s;
	uint32_t id;
};

/* The next 8 bytes of *s as a number; *s stops at the string's end. */
static uint64_t name_prefix(const char **s)
{
	uint64_t p = 0;
	for (int i = 0; i < 8; i++) {
		p = p << 8 | (unsigned char)**s;
		*s += **s != '\0';
	}
	return p;
}

/* strcmp() order (equal prefixes mean equal first 16 bytes, so the rest
 * decides), then id order, as a stable sort of ids would leave them. */
static int name_cmp(const void *x, const void *y)
{
	const struct name_sort_key *a = x, *b = y;
	for (int i = 0; i < 2; i++)
		if (a->prefix[i] != b->prefix[i])
			return a->prefix[i] < b->prefix[i] ? -1 : 1;
	int c = (a->prefix[1] & 0xff) ? strcmp(a->s + 16, b->s + 16) : 0; /* a 0 byte: both ended */
	if (c)
		return c;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Each string id's place in name order; the caller frees it. */
static uint32_t *name_ranks(const struct flame_tree *t)
{
	uint32_t nstr = strtab_count(&t->strings);
	struct name_sort_key *by_name = xmalloc(((size_t)nstr + 1) * sizeof(*by_name));
	uint32_t *rank = xmalloc(((size_t)nstr + 1) * sizeof(*rank));
	for (uint32_t i = 0; i < nstr; i++) {
		const char *str = strtab_get(&t->strings, i), *at = str;
		by_name[i].prefix[0] = name_prefix(&at);
		by_name[i].prefix[1] = name_prefix(&at);
		by_name[i].s = str;
		by_name[i].id = i;
	}
	qsort(by_name, nstr, sizeof(*by_name), name_cmp);
	for (uint32_t r = 0; r < nstr; r++)
		rank[by_name[r].id] = r;
	free(by_name);
	return rank;
}

static uint32_t rank_of(const uint32_t *rank, uint32_t nstr, uint32_t name)
{
	return rank[name < nstr ? name : 0]; /* an id out of range reads as "", id 0 */
}

/* Adds every node's value into its parent's, once each value is the
 * node's self value. */
static void add_up_values(struct flame_tree *t)
{
	/* children always come after their parent in t->nodes */
	for (size_t i = t->nodes.n; i-- > 1;)
		t->nodes.v[t->nodes.v[i].parent].value += t->nodes.v[i].value;
}

/* Sums every node's value from the self values. */
static void sum_values(struct flame_tree *t)
{
	for (size_t i = 0; i < t->nodes.n; i++)
		t->nodes.v[i].value = t->nodes.v[i].self;
	add_up_values(t);
}

/* Links every node to its parent, ahead of the children linked before:
 * nodes taken in reverse of the order wanted end up in that order. */
static void link_reversed(struct flame_tree *t, const uint32_t *order, size_t n)
{
	struct flame_node *nv = t->nodes.v;
	for (size_t i = n; i-- > 0;) {
		uint32_t c = order ? order[i] : (uint32_t)(i + 1); /* no order: every node but the root, by id */
		nv[c].next_sibling = nv[nv[c].parent].first_child;
		nv[nv[c].parent].first_child = c;
	}
}

void flame_tree_finish(struct flame_tree *t)
{
	size_t n = t->nodes.n;
	sum_values(t);
	flame_tree_resolve_origins(t);
	for (size_t i = 0; i < n; i++)
		t->nodes.v[i].first_child = t->nodes.v[i].next_sibling = FLAME_NONE;
	if (n < 2)
		return;
	if (t->chart) {
		link_reversed(t, NULL, n - 1); /* in time order: a later child has a larger id */
		return;
	}
	/* children in name order: the names are ranked once, then the nodes are
	 * counting-sorted by rank and linked to their parents in that order;
	 * far cheaper than comparing names for every node */
	uint32_t nstr = strtab_count(&t->strings);
	uint32_t *rank = name_ranks(t);
	uint32_t *start = xcalloc((size_t)nstr + 1, sizeof(*start)); /* of each rank in order */
	for (size_t i = 1; i < n; i++)
		start[rank_of(rank, nstr, t->nodes.v[i].name) + 1]++;
	for (uint32_t r = 0; r < nstr; r++)
		start[r + 1] += start[r];
	uint32_t *order = xmalloc((n - 1) * sizeof(*order));
	for (size_t i = 1; i < n; i++)
		order[start[rank_of(rank, nstr, t->nodes.v[i].name)]++] = (uint32_t)i;
	link_reversed(t, order, n - 1);
	free(order);
	free(start);
	free(rank);
}

static int kid_cmp(const void *x, const void *y, void *ctx)
{
	const struct flame_tree *t = ctx;
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return strcmp(strtab_get(&t->strings, t->nodes.v[a].name), strtab_get(&t->strings, t->nodes.v[b].name));
}

/* Links the children on p's list (newest first, names distinct) in name
 * order; kids is scratch space. Folded files are usually sorted, so most
 * lists were made in name order and are only checked. */
static void sort_kids(struct flame_tree *t, uint32_t p, void *scratch)
{
	VEC(uint32_t) *kids = scratch;
	struct flame_node *nv = t->nodes.v;
	vec_clear(kids);
	for (uint32_t c = nv[p].first_child; c != FLAME_NONE; c = nv[c].next_sibling)
		vec_push(kids, c);
	if (kids->n < 2)
		return;
	bool sorted = true; /* oldest first: made in name order? */
	const char *prev = strtab_get(&t->strings, nv[kids->v[kids->n - 1]].name);
	for (size_t i = kids->n - 1; i-- > 0 && sorted;) {
		const char *name = strtab_get(&t->strings, nv[kids->v[i]].name);
		sorted = strcmp(prev, name) < 0;
		prev = name;
	}
	if (sorted) {
		for (size_t i = 0, j = kids->n - 1; i < j; i++, j--) {
			uint32_t tmp = kids->v[i];
			kids->v[i] = kids->v[j];
			kids->v[j] = tmp;
		}
	} else {
		qsort_r(kids->v, kids->n, sizeof(*kids->v), kid_cmp, t);
	}
	nv[p].first_child = kids->v[0];
	for (size_t i = 0; i + 1 < kids->n; i++)
		nv[kids->v[i]].next_sibling = kids->v[i + 1];
	nv[kids->v[kids->n - 1]].next_sibling = FLAME_NONE;
}

/* The origin of names[sid] in a folded tree, decided once per name. */
static uint8_t folded_origin(struct flame_tree *t, uint32_t sid)
{
	if (!t->census || sid >= strtab_count(&t->strings))
		return FLAME_ORIGIN_UNKNOWN;
	if (sid >= t->name_origin.n) {
		size_t n = t->name_origin.n;
		vec_reserve(&t->name_origin, (size_t)sid + 1);
		memset(t->name_origin.v + n, 0xff, (size_t)sid + 1 - n);
		t->name_origin.n = (size_t)sid + 1;
	}
	if (t->name_origin.v[sid] == 0xff) {
		const char *name = strtab_get(&t->strings, sid);
		uint8_t guess = (uint8_t)flame_origin_guess(name, NULL, NULL, false);
		t->name_origin.v[sid] = flame_census_origin(t->census, name, guess);
	}
	return t->name_origin.v[sid];
}

uint8_t flame_tree_origin(struct flame_tree *t, uint32_t node)
{
	struct flame_node *n = &t->nodes.v[node];
	if (n->undecided) {
		n->origin = folded_origin(t, n->name);
		n->undecided = 0;
	}
	return n->origin;
}

/* flame_tree_finish() for a tree built by flame_folded_add(): the children
 * lists are already there (newest first), so each is only put in name
 * order, touching nodes that are only children not at all; the values
 * (child counts until now) are summed on the way. No ranking of every
 * name, which cost a sixth of the time of a file of mostly distinct names. */
static void folded_link(struct flame_tree *t)
{
	VEC(uint32_t) kids = {0};
	struct flame_node *nv = t->nodes.v;
	for (size_t p = 0; p < t->nodes.n; p++) {
		int64_t count = nv[p].value;
		/* summed below, in add_up_values(); a packed node's callees are in its pack */
		size_t at = nv[p].first_child;
		nv[p].value = nv[p].self + (nv[p].packed ? get_callees(t->packed.v, &at).inside : 0);
		if (count >= 2)
			sort_kids(t, (uint32_t)p, &kids);
	}
	vec_free(&kids);
	add_up_values(t);
}

uint32_t flame_tree_open(struct flame_tree *t, uint32_t node)
{
	if (!t->nodes.v[node].packed)
		return t->nodes.v[node].first_child;
	size_t at = t->nodes.v[node].first_child;
	if (t->log_opens)
		vec_push(&t->opened, ((struct flame_opened){node, (uint32_t)at}));
	t->nodes.v[node].packed = 0;
	t->nodes.v[node].first_child = FLAME_NONE;
	const uint8_t *p = t->packed.v;
	for (uint64_t kids = get_callees(p, &at).kids; kids > 0; kids--) {
		struct path_frame pf = {.name = (uint32_t)get_var(p, &at)};
		int64_t self = (int64_t)get_var(p, &at);
		size_t callees = at;
		struct callees c = get_callees(p, &at);
		at += c.bytes;
		uint32_t id = node_new(t, node, &pf);
		struct flame_node *nv = t->nodes.v;
		nv[id].self = self;
		nv[id].undecided = 1;
		nv[id].value = self + c.inside;
		nv[id].next_sibling = nv[node].first_child;
		nv[node].first_child = id;
		t->npacked--;
		if (c.kids) {
			nv[id].packed = 1;
			nv[id].first_child = (uint32_t)callees;
		}
	}
	VEC(uint32_t) kids = {0};
	sort_kids(t, node, &kids);
	vec_free(&kids);
	return t->nodes.v[node].first_child;
}

void flame_tree_mark_opens(struct flame_tree *t, struct flame_open_mark *m)
{
	t->log_opens = true;
	m->nodes = t->nodes.n;
	m->opened = t->opened.n;
	m->npacked = t->npacked;
}

void flame_tree_close_opens(struct flame_tree *t, const struct flame_open_mark *m)
{
	if (!m) {
		t->log_opens = false;
		vec_clear(&t->opened);
		return;
	}
	/* the nodes older than the mark are packed again (in reverse, though
	 * a node is opened once: its callees' offset was taken when opened);
	 * the newer ones go */
	for (size_t i = t->opened.n; i-- > m->opened;) {
		const struct flame_opened *o = &t->opened.v[i];
		if (o->node < m->nodes) {
			t->nodes.v[o->node].packed = 1;
			t->nodes.v[o->node].first_child = o->callees;
		}
	}
	t->opened.n = m->opened;
	t->nodes.n = m->nodes;
	if (t->srcs.n > m->nodes)
		t->srcs.n = m->nodes;
	if (t->bases.n > m->nodes)
		t->bases.n = m->nodes;
	t->npacked = m->npacked;
}

void flame_tree_set_base(struct flame_tree *t, const struct flame_tree *base)
{
	size_t n = t->nodes.n;
	uint32_t *match = xmalloc(n * sizeof(*match));
	vec_reserve(&t->bases, n);
	t->bases.n = n;
	uint32_t nstr = strtab_count(&t->strings);
	uint32_t *names = xmalloc((nstr + 1) * sizeof(*names));
	for (uint32_t i = 0; i < nstr; i++)
		names[i] = strtab_find(&base->strings, strtab_get(&t->strings, i));
	match[0] = 0;
	t->bases.v[0] = base->nodes.v[0].value;
	const struct keymap *index = &base->index;
	struct keymap built;
	keymap_init(&built);
	if (base->no_index && !base->chart) {
		keymap_reserve(&built, base->nodes.n);
		for (size_t i = 1; i < base->nodes.n; i++)
			keymap_add(&built, node_hash(base->nodes.v[i].parent, base->nodes.v[i].name), (uint32_t)i);
		index = &built;
	}
	/* parents precede their children in t->nodes */
	for (size_t i = 1; i < n; i++) {
		struct flame_node *nd = &t->nodes.v[i];
		uint32_t bp = match[nd->parent], bname = names[nd->name];
		match[i] = FLAME_NONE;
		t->bases.v[i] = 0;
		if (bp == FLAME_NONE || bname == UINT32_MAX)
			continue;
		if (base->chart) {
			for (uint32_t c = base->nodes.v[bp].first_child; c != FLAME_NONE;
			     c = base->nodes.v[c].next_sibling)
				if (base->nodes.v[c].name == bname) {
					match[i] = c;
					break;
				}
		} else {
			struct node_key k = {bp, bname};
			match[i] = keymap_find(index, node_hash(bp, bname), node_eq, base, &k);
		}
		if (match[i] != FLAME_NONE)
			t->bases.v[i] = base->nodes.v[match[i]].value;
	}
	t->base_total = base->nodes.v[0].value;
	t->has_base = true;
	keymap_release(&built);
	free(names);
	free(match);
}
