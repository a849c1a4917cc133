/* dbgsym.c - the once-only hint about modules without symbols: the
 * Debian package of each (symbols_packages_of()), kept in the profile so
 * that kiln report can repeat it. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "profile/profile.h"
#include "symbols/symbols.h"
#include "util/strbuf.h"

void cmd_note_debug_packages(struct profile *p)
{
	const char *list = profile_get_meta(p, "unsymbolized_modules");
	if (!list || !*list || profile_get_meta(p, "unsymbolized_packages"))
		return;
	struct strbuf pkgs = STRBUF_INIT, cache = STRBUF_INIT;
	char *copy = strdup(list);
	if (!copy)
		return;
	size_t nq = 1;
	for (const char *c = copy; *c; c++)
		nq += *c == ',';
	const char **files = calloc(nq, sizeof(*files));
	char(*pkg)[256] = calloc(nq, sizeof(*pkg));
	if (!files || !pkg)
		goto out_free;
	size_t i = 0;
	for (char *s = copy, *end; s && i < nq; s = end ? end + 1 : NULL, i++) {
		end = strchr(s, ',');
		if (end)
			*end = '\0';
		files[i] = s;
	}
	const char *dir = symbols_debug_cache_dir();
	if (dir)
		strbuf_addf(&cache, "%s/packages", dir);
	symbols_packages_of(SYMBOLS_DPKG_INFO, strbuf_str(&cache), files, i, pkg);
	symbols_dbgsym_list((const char(*)[256])pkg, i, &pkgs);
	profile_set_meta(p, "unsymbolized_packages", strbuf_str(&pkgs));
out_free:
	free(files);
	free(pkg);
	free(copy);
	strbuf_release(&cache);
	strbuf_release(&pkgs);
}
