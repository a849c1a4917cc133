/* clock.c - the monotonic clock the commands time runs with. */
#include <time.h>

#include "cmd/cmd.h"

uint64_t cmd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
