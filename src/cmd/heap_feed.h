/* heap_feed.h - the agent's decoded events into a heap analysis. */
#ifndef KILN_CMD_HEAP_FEED_H
#define KILN_CMD_HEAP_FEED_H

#include <stdint.h>

#include "capture/agent_decode.h"

/* An agent_decoder's callback: ctx is the struct heap_analysis fed. */
void heap_feed_event(void *ctx, uint32_t ring, const struct agent_event *ev);

#endif
