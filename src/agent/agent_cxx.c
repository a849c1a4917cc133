/* agent_cxx.c - C++'s operator new and delete in the agent (the mangled
 * names, as libstdc++ and libc++ export them): in a mode with its own
 * allocator (memcheck) they allocate and free through it with their
 * family (new, new[]), so that a block freed by another family's call
 * (new + free, malloc + delete, new[] + delete) is reported; in any
 * other mode they hand the call to the next definition (libstdc++'s,
 * which calls malloc and free) without a frame of their own in between.
 *
 * Sized and aligned variants are covered; the size a sized delete gives
 * is not checked. A throwing new whose block the mode cannot serve asks
 * the real operator, which runs the new_handler and throws bad_alloc.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "agent/agent_mode.h"
#include "agent/channel_format.h"

#define EXPORT __attribute__((visibility("default")))

#define CALLER()                                                                                                       \
	((struct agent_caller){(uintptr_t)__builtin_return_address(0), (uintptr_t)__builtin_frame_address(0) + 16,     \
	                       *(const uintptr_t *)__builtin_frame_address(0)})

/* The next definition of name, looked up once (NULL: none loaded). */
static void *next_sym(void **slot, const char *name)
{
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!f) {
		f = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	}
	return f;
}

/* With the mode's allocator entered (agent_heap_enter()): a block of the
 * family, or NULL. */
static void *mode_new(const struct agent_heap *mh, size_t size, size_t align, int family,
                      const struct agent_caller *from)
{
	void *p;
	if (align < 16)
		align = 16;
	if (mh->alloc_as)
		p = mh->alloc_as(size, align, family, from);
	else
		p = mh->alloc(size, align, false, from);
	agent_heap_leave();
	return p;
}

static void mode_delete(const struct agent_heap *mh, void *p, int family, const struct agent_caller *from)
{
	int r = mh->free_as ? mh->free_as(p, family, from) : mh->free(p, from);
	agent_heap_leave();
	if (r == AGENT_HEAP_NOT_MINE)
		free(p); /* the real allocator's (interposed free hands it on) */
}

/* The news: plain, nothrow (NULL when there is no memory), aligned
 * (C++17: std::align_val_t is a size_t). A throwing new the mode cannot
 * serve hands the call on with its own arguments. */
#define NEW_FN(sym, family, params, args, align, nothrow, fallback)                                                    \
	static void *next_##sym;                                                                                       \
	EXPORT void *sym params                                                                                        \
	{                                                                                                              \
		const struct agent_heap *mh = agent_heap_enter();                                                      \
		if (mh) {                                                                                              \
			struct agent_caller from = CALLER();                                                           \
			void *p = mode_new(mh, size, align, family, &from);                                            \
			if (p || nothrow)                                                                              \
				return p;                                                                              \
		}                                                                                                      \
		void *(*f)params = (void *(*)params)next_sym(&next_##sym, #sym);                                       \
		return f ? f args : fallback;                                                                          \
	}

NEW_FN(_Znwm, KH_MEM_FAMILY_NEW, (size_t size), (size), 16, false, malloc(size))
NEW_FN(_Znam, KH_MEM_FAMILY_NEW_ARRAY, (size_t size), (size), 16, false, malloc(size))
NEW_FN(_ZnwmRKSt9nothrow_t, KH_MEM_FAMILY_NEW, (size_t size, const void *nt), (size, nt), 16, true, malloc(size))
NEW_FN(_ZnamRKSt9nothrow_t, KH_MEM_FAMILY_NEW_ARRAY, (size_t size, const void *nt), (size, nt), 16, true, malloc(size))
NEW_FN(_ZnwmSt11align_val_t, KH_MEM_FAMILY_NEW, (size_t size, size_t al), (size, al), al, false,
       aligned_alloc(al, (size + al - 1) & ~(al - 1)))
NEW_FN(_ZnamSt11align_val_t, KH_MEM_FAMILY_NEW_ARRAY, (size_t size, size_t al), (size, al), al, false,
       aligned_alloc(al, (size + al - 1) & ~(al - 1)))

/* The deletes: plain, sized, aligned, sized and aligned, nothrow. Each
 * hands the call on with its own arguments when the mode has no
 * allocator of its own. */
#define DELETE_FN(sym, family, params, args)                                                                           \
	static void *next_##sym;                                                                                       \
	EXPORT void sym params                                                                                         \
	{                                                                                                              \
		if (p && agent_heap_bypassed(p)) {                                                                     \
			free(p); /* memcheck --sample passed it over: the real allocator's */                          \
			return;                                                                                        \
		}                                                                                                      \
		const struct agent_heap *mh = agent_heap_enter();                                                      \
		if (mh) {                                                                                              \
			struct agent_caller from = CALLER();                                                           \
			if (p)                                                                                         \
				mode_delete(mh, p, family, &from);                                                     \
			else                                                                                           \
				agent_heap_leave();                                                                    \
			return;                                                                                        \
		}                                                                                                      \
		void(*f) params = (void(*) params)next_sym(&next_##sym, #sym);                                         \
		if (f)                                                                                                 \
			f args;                                                                                        \
		else                                                                                                   \
			free(p);                                                                                       \
	}

DELETE_FN(_ZdlPv, KH_MEM_FAMILY_NEW, (void *p), (p))
DELETE_FN(_ZdaPv, KH_MEM_FAMILY_NEW_ARRAY, (void *p), (p))
DELETE_FN(_ZdlPvm, KH_MEM_FAMILY_NEW, (void *p, size_t n), (p, n))
DELETE_FN(_ZdaPvm, KH_MEM_FAMILY_NEW_ARRAY, (void *p, size_t n), (p, n))
DELETE_FN(_ZdlPvSt11align_val_t, KH_MEM_FAMILY_NEW, (void *p, size_t al), (p, al))
DELETE_FN(_ZdaPvSt11align_val_t, KH_MEM_FAMILY_NEW_ARRAY, (void *p, size_t al), (p, al))
DELETE_FN(_ZdlPvmSt11align_val_t, KH_MEM_FAMILY_NEW, (void *p, size_t n, size_t al), (p, n, al))
DELETE_FN(_ZdaPvmSt11align_val_t, KH_MEM_FAMILY_NEW_ARRAY, (void *p, size_t n, size_t al), (p, n, al))
DELETE_FN(_ZdlPvRKSt9nothrow_t, KH_MEM_FAMILY_NEW, (void *p, const void *nt), (p, nt))
DELETE_FN(_ZdaPvRKSt9nothrow_t, KH_MEM_FAMILY_NEW_ARRAY, (void *p, const void *nt), (p, nt))
