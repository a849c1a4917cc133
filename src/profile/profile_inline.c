/* profile_inline.c - folding inlined frames into their physical function
 * (profile.h), as `perf report --no-inline` shows a profile. */
#include "profile/profile.h"

void profile_fold_inlined(struct profile *p)
{
	/* a location's frames are innermost first and the real function
	 * last: pointing it at that frame alone drops the inlined ones, and
	 * the line left is where the real function called them */
	for (size_t i = 0; i < p->locations.n; i++) {
		struct profile_location *loc = &p->locations.v[i];
		if (loc->nframes <= 1)
			continue;
		loc->first_frame += loc->nframes - 1;
		loc->nframes = 1;
		p->frames.v[loc->first_frame].inlined = false;
	}
}
