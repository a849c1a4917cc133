/* agent_mc_pages.h - the memcheck mode's page protection (agent_memcheck.c).
 *
 * Two ways, chosen once at the reservation:
 *  - guard markers (MADV_GUARD_INSTALL, Linux 6.13 and later): the
 *    reservation is one read-write mapping and an inaccessible page is a
 *    marker in its page table, so a guarded block costs no mapping of its
 *    own (vm.max_map_count does not bound them) and many ranges change in
 *    one process_madvise(2);
 *  - mprotect: the reservation is PROT_NONE and each block's pages are
 *    opened and closed with mprotect and mmap, each split costing
 *    mappings.
 * Every call is async-signal-safe and allocation-free.
 */
#ifndef KILN_AGENT_AGENT_MC_PAGES_H
#define KILN_AGENT_AGENT_MC_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MC_PAGE 4096ull

/* A range of pages, for the batched calls. */
struct mc_range {
	uintptr_t lo;
	size_t len;
};

/* Reserves len bytes of address space with no memory behind it, every
 * page of it accessible with markers (they are guarded one by one) or
 * inaccessible without (or with no_markers); NULL when it cannot. */
void *mc_pages_reserve(size_t len, bool no_markers);
/* Whether the reservation uses guard markers. */
bool mc_pages_markers(void);
/* Makes fresh pages of the reservation guard pages (with markers; without,
 * they are inaccessible already): n ranges at once. 0 or -1. */
int mc_pages_guard_fresh(const struct mc_range *r, int n);
/* Makes fresh pages of the reservation a block's data pages (without
 * markers; with them they are accessible already). 0 or -1. */
int mc_pages_data_fresh(uintptr_t lo, size_t len);
/* A freed block's data pages: emptied (no memory) and inaccessible, in one
 * system call. 0 or -1. */
int mc_pages_close(uintptr_t lo, size_t len);
/* Closed pages made accessible again, reading zeros: n ranges at once
 * (with markers: one call for all of them). 0 or -1. */
int mc_pages_open(const struct mc_range *r, int n);
/* A slot of --sample's pool (agent_memcheck.c): its data pages a mapping
 * of their own, whose memory stays when it is closed, so a slot reused
 * costs two mprotect calls and no page fault, zeroing or marker. fresh
 * maps them (read-write) over the reservation, close makes them
 * inaccessible, open accessible again with their old bytes. 0 or -1. */
int mc_pages_slot_fresh(uintptr_t lo, size_t len);
int mc_pages_slot_close(uintptr_t lo, size_t len);
int mc_pages_slot_open(uintptr_t lo, size_t len);
/* After a read fault with --keep-going: the page answers reads (writes
 * still fault); and back to what it was, data (read-write) or guard. */
int mc_pages_disarm(uintptr_t lo, size_t len);
int mc_pages_rearm(uintptr_t lo, size_t len, bool guard);

#endif
