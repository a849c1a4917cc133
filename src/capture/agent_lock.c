/* agent_lock.c - reading the lock mode's records back from raw data. */
#include "capture/agent_lock.h"

#include <string.h>

#include "agent/channel_format.h"

void agent_lock_decode(const uint8_t *raw, size_t n, struct agent_lock_event *out)
{
	memset(out, 0, sizeof(*out));
	struct kh_rec_header h;
	if (n < sizeof(h))
		return;
	memcpy(&h, raw, sizeof(h));
	if (h.type == KH_REC_LOCK_WAIT && n >= sizeof(struct kh_rec_lock_wait)) {
		struct kh_rec_lock_wait w;
		memcpy(&w, raw, sizeof(w));
		out->what = AGENT_LOCK_WAIT;
		out->time = w.time;
		out->ns = w.ns;
		out->addr = w.addr;
		out->tid = w.tid;
		out->kind = w.kind <= AGENT_LOCK_CONDVAR ? w.kind : AGENT_LOCK_FUTEX;
	} else if (h.type == KH_REC_LOCK_WAKE && n >= sizeof(struct kh_rec_lock_wake)) {
		struct kh_rec_lock_wake w;
		memcpy(&w, raw, sizeof(w));
		out->what = AGENT_LOCK_WAKE;
		out->addr = w.addr;
		out->tid = w.tid;
		out->wakes = w.wakes;
		out->several = (w.flags & KH_WAKE_SEVERAL) != 0;
	} else if (h.type == KH_REC_LOCK_HOLD && n >= sizeof(struct kh_rec_lock_hold)) {
		struct kh_rec_lock_hold l;
		memcpy(&l, raw, sizeof(l));
		out->what = AGENT_LOCK_HOLD;
		out->addr = l.addr;
		out->kind = l.kind <= AGENT_LOCK_CONDVAR ? l.kind : AGENT_LOCK_FUTEX;
		out->acquisitions = l.acquisitions;
		out->uncontended = l.uncontended;
		out->hold_ns = l.hold_ns;
		out->hold_max_ns = l.hold_max_ns;
		out->lost = l.lost;
	}
}
