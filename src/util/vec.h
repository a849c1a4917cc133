/* vec.h - typed growable arrays as plain structs.
 *
 * VEC(T) is { T *v; size_t n, cap; }. The owner frees .v with vec_free().
 * Pointers into .v are invalidated by any push. Out of memory aborts: the
 * CLI layers treat allocation failure as fatal (see STYLE.md); the agent
 * does not use this header.
 */
#ifndef KILN_UTIL_VEC_H
#define KILN_UTIL_VEC_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define VEC(T)                                                                                                         \
	struct {                                                                                                       \
		T *v;                                                                                                  \
		size_t n;                                                                                              \
		size_t cap;                                                                                            \
	}

/* Makes room for at least `want` elements in total. */
#define vec_reserve(vp, want)                                                                                          \
	do {                                                                                                           \
		if ((want) > (vp)->cap) {                                                                              \
			size_t c_ = (vp)->cap ? (vp)->cap * 2 : 8;                                                     \
			while (c_ < (want))                                                                            \
				c_ *= 2;                                                                               \
			(vp)->v = xgrowarray((vp)->v, (vp)->n, c_, sizeof(*(vp)->v));                                  \
			(vp)->cap = c_;                                                                                \
		}                                                                                                      \
	} while (0)

#define vec_push(vp, x)                                                                                                \
	do {                                                                                                           \
		vec_reserve((vp), (vp)->n + 1);                                                                        \
		(vp)->v[(vp)->n++] = (x);                                                                              \
	} while (0)

/* Appends one zeroed element and evaluates to a pointer to it. */
#define vec_grow(vp)                                                                                                   \
	({                                                                                                             \
		vec_reserve((vp), (vp)->n + 1);                                                                        \
		memset(&(vp)->v[(vp)->n], 0, sizeof(*(vp)->v));                                                        \
		&(vp)->v[(vp)->n++];                                                                                   \
	})

#define vec_free(vp)                                                                                                   \
	do {                                                                                                           \
		free((vp)->v);                                                                                         \
		(vp)->v = NULL;                                                                                        \
		(vp)->n = (vp)->cap = 0;                                                                               \
	} while (0)

#define vec_clear(vp) ((vp)->n = 0)

#endif
