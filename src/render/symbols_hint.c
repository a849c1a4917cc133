/* symbols_hint.c - words the hint about modules without symbols. */
#include "render/symbols_hint.h"

void render_symbols_hint(const struct profile *p, struct strbuf *out)
{
	const char *list = profile_get_meta(p, "unsymbolized_modules");
	if (!list || !*list)
		return;
	const char *pkgs = profile_get_meta(p, "unsymbolized_packages");
	strbuf_addf(out,
	            "no symbols in %s (stripped): their functions show as sub_ADDRESS@module, after the unwind "
	            "tables; ",
	            list);
	if (pkgs && *pkgs)
		strbuf_addf(out,
		            "install the debug symbols (apt install %s; on Debian enable the debian-debug "
		            "archive) or ",
		            pkgs);
	else
		strbuf_addstr(out, "install the file's debug symbols (Debian: apt install PACKAGE-dbgsym) or ");
	strbuf_addstr(out, "record with --debug-dir DIR (/usr/lib/debug/.build-id was searched)");
}
