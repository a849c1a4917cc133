/* rust_src.c - where std's sources are on this machine. Rust binaries
 * record std's files as /rustc/<commit>/library/...; the toolchain's
 * rust-src component (rustup component add rust-src) has the same tree
 * under $(rustc --print sysroot)/lib/rustlib/src/rust/, and it is the
 * right one when the toolchain's commit is the binary's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "util/strbuf.h"

/* The first line of a command's output, "" when it fails. */
static void first_line(const char *cmd, char *out, size_t size)
{
	out[0] = '\0';
	FILE *f = popen(cmd, "re");
	if (!f)
		return;
	if (!fgets(out, (int)size, f))
		out[0] = '\0';
	pclose(f);
	out[strcspn(out, "\n")] = '\0';
}

/* The line of `rustc -vV` that starts with key, "" when none. */
static void rustc_version_field(const char *key, char *out, size_t size)
{
	out[0] = '\0';
	FILE *f = popen("rustc -vV 2>/dev/null", "re");
	if (!f)
		return;
	char line[512];
	size_t n = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n)) {
			snprintf(out, size, "%.127s", line + n);
			out[strcspn(out, "\n")] = '\0';
		}
	pclose(f);
}

char *cmd_rust_src_path(const char *recorded)
{
	static const char prefix[] = "/rustc/";
	if (strncmp(recorded, prefix, sizeof(prefix) - 1))
		return NULL;
	const char *commit = recorded + sizeof(prefix) - 1;
	const char *rest = strchr(commit, '/');
	if (!rest || rest == commit)
		return NULL;
	/* asked once per run: annotate shows one function */
	static char sysroot[4096], have_commit[128]; /* a commit hash is 40 hex digits */
	static bool asked;
	if (!asked) {
		asked = true;
		first_line("rustc --print sysroot 2>/dev/null", sysroot, sizeof(sysroot));
		rustc_version_field("commit-hash: ", have_commit, sizeof(have_commit));
	}
	if (!sysroot[0] || sysroot[0] != '/')
		return NULL;
	/* another toolchain's std has other lines */
	if (have_commit[0] &&
	    ((size_t)(rest - commit) != strlen(have_commit) || strncmp(commit, have_commit, (size_t)(rest - commit))))
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/lib/rustlib/src/rust%s", sysroot, rest);
	struct stat st;
	if (stat(sb.buf, &st) != 0 || !S_ISREG(st.st_mode)) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}
