/* dbgsym.c - the once-only hint about modules without symbols: which
 * Debian package holds each file (so the user can install its -dbgsym
 * package), kept in the profile so that kiln report can repeat it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "profile/profile.h"
#include "util/strbuf.h"

#define DPKG_INFO "/var/lib/dpkg/info"

/* Whether the dpkg file list at path has a line equal to file. */
static bool list_has(const char *path, const char *file)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char line[4096];
	size_t n = strlen(file);
	bool found = false;
	while (!found && fgets(line, sizeof(line), f))
		found = strncmp(line, file, n) == 0 && (line[n] == '\n' || line[n] == '\0');
	fclose(f);
	return found;
}

/* The Debian package that installed file (its name without ":arch"), or
 * "" when none did; with /usr merged, /lib/x and /usr/lib/x are one file. */
static void package_of(const char *file, char *out, size_t size)
{
	out[0] = '\0';
	char alt[4096];
	if (!strncmp(file, "/usr/", 5))
		snprintf(alt, sizeof(alt), "%s", file + 4);
	else
		snprintf(alt, sizeof(alt), "/usr%s", file);
	DIR *d = opendir(DPKG_INFO);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".list"))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), DPKG_INFO "/%s", e->d_name);
		if (!list_has(path, file) && !list_has(path, alt))
			continue;
		size_t keep = len - 5;
		const char *colon = memchr(e->d_name, ':', keep);
		if (colon)
			keep = (size_t)(colon - e->d_name);
		snprintf(out, size, "%.*s", (int)keep, e->d_name);
		break;
	}
	closedir(d);
}

void cmd_note_debug_packages(struct profile *p)
{
	const char *list = profile_get_meta(p, "unsymbolized_modules");
	if (!list || !*list || profile_get_meta(p, "unsymbolized_packages"))
		return;
	struct strbuf pkgs = STRBUF_INIT;
	char *copy = strdup(list);
	if (!copy)
		return;
	size_t i = 0;
	for (char *s = copy, *end; s; s = end ? end + 1 : NULL, i++) {
		end = strchr(s, ',');
		if (end)
			*end = '\0';
		char pkg[256];
		package_of(s, pkg, sizeof(pkg));
		if (pkg[0]) {
			if (pkgs.len)
				strbuf_addch(&pkgs, ' ');
			strbuf_addf(&pkgs, "%s-dbgsym", pkg);
		}
	}
	free(copy);
	profile_set_meta(p, "unsymbolized_packages", strbuf_str(&pkgs));
	strbuf_release(&pkgs);
}
