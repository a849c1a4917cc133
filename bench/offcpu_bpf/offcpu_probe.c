/* offcpu_probe.c - the user half of offcpu_bpf.sh's cost probe: starts
 * CMD stopped on a pipe, loads offcpu_probe.bpf.c for its pid, lets it run
 * and drains the ring every 5 ms until it exits, counting the records (no
 * unwinding: the probe measures what the kernel side costs the program).
 * OFFCPU_PROBE_NO_USER / OFFCPU_PROBE_NO_KERNEL leave out the stack copies.
 *
 * usage: offcpu_probe CMD [ARG...] */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "offcpu_probe.skel.h"

static long records, bytes;

static int count(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	records++;
	bytes += (long)size;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: offcpu_probe CMD [ARG...]\n");
		return 2;
	}
	int go[2];
	if (pipe(go) != 0)
		return 1;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(126);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	close(go[0]);
	struct offcpu_probe_bpf *skel = offcpu_probe_bpf__open();
	if (!skel) {
		kill(pid, SIGKILL);
		return 1;
	}
	skel->rodata->target_tgid = (__u32)pid;
	skel->rodata->copy_user_stack = !getenv("OFFCPU_PROBE_NO_USER");
	skel->rodata->copy_kernel_stack = !getenv("OFFCPU_PROBE_NO_KERNEL");
	struct ring_buffer *rb = NULL;
	if (offcpu_probe_bpf__load(skel) || offcpu_probe_bpf__attach(skel) ||
	    !(rb = ring_buffer__new(bpf_map__fd(skel->maps.records), count, NULL, NULL))) {
		fprintf(stderr, "offcpu_probe: could not load or attach the BPF programs (root and BTF needed)\n");
		kill(pid, SIGKILL);
		offcpu_probe_bpf__destroy(skel);
		return 1;
	}
	if (write(go[1], "x", 1) != 1)
		kill(pid, SIGKILL);
	close(go[1]);
	int status = 0;
	struct timespec nap = {0, 5000000};
	while (waitpid(pid, &status, WNOHANG) != pid) {
		nanosleep(&nap, NULL);
		ring_buffer__consume(rb);
	}
	ring_buffer__consume(rb);
	fprintf(stderr, "offcpu_probe: %ld records, %ld bytes, %llu dropped\n", records, bytes,
	        (unsigned long long)skel->bss->dropped);
	ring_buffer__free(rb);
	offcpu_probe_bpf__destroy(skel);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
