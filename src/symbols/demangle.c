/* demangle.c - Rust (legacy and v0) and C++ names through libiberty's
 * cplus_demangle, with the suffixes compilers append to clones. */
#include "symbols/symbols_int.h"

#include <libiberty/demangle.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static bool looks_mangled(const char *name)
{
	/* _Z: C++ and Rust legacy; _R: Rust v0. Everything else is a plain C
	 * name, and libiberty would only waste time on it. */
	return name[0] == '_' && (name[1] == 'Z' || name[1] == 'R') && name[2] != '\0';
}

char *symbols_demangle(const char *name)
{
	if (!name || !looks_mangled(name))
		return NULL;
	char *out = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	if (out)
		return out;
	/* LLVM's ThinLTO renames local symbols "<mangled>.llvm.<digits>";
	 * libiberty only knows some of those suffixes, so retry without it. */
	const char *suffix = strstr(name, ".llvm.");
	if (!suffix || suffix == name)
		return NULL;
	char *base = xstrndup(name, (size_t)(suffix - name));
	out = cplus_demangle(base, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	free(base);
	return out;
}

uint32_t sym_intern_name(struct strtab *strs, const char *name)
{
	char *d = symbols_demangle(name);
	if (!d)
		return strtab_intern(strs, name);
	uint32_t id = strtab_intern(strs, d);
	free(d);
	return id;
}
