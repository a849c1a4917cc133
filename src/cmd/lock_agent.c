/* lock_agent.c - kiln lock's agent engine (not built yet). */
#include "cmd/cmd.h"
#include "cmd/lock_engine.h"

int lock_agent_run(struct lock_session *s)
{
	(void)s;
	kiln_error("the agent lock engine is not available in this build; run as root with --engine kernel");
	return 1;
}
