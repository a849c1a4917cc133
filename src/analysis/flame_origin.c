/* flame_origin.c - which language, and whose code, a frame is: what the
 * lang palette colours by (see flame_origin_guess() in flame_tree.h).
 *
 * What the profile knows decides first: the kernel flag, the source file's
 * extension and place (cargo's registry, the toolchain's /rustc/), the
 * module. Names come last, with the rules flamegraph.pl's palettes use for
 * folded input (Java's "java/lang/Thread.run", "_[k]", "_[j]") and the
 * marks each demangler leaves (Rust's "{{closure}}" and "<T as Trait>",
 * C++'s parameter lists and reserved "_M_" names). A name such as
 * "myapp::Server::run" could be either language: it stays "scoped" until
 * flame_tree_resolve_origins() has seen the whole tree.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/flame_tree.h"
#include "util/xalloc.h"

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

static bool has_any_suffix(const char *s, const char *const *sufs)
{
	for (; *sufs; sufs++)
		if (has_suffix(s, *sufs))
			return true;
	return false;
}

/* The language of a source file by its extension; UNKNOWN when it says none. */
static enum flame_origin origin_of_file(const char *file)
{
	static const char *const cpp[] = {".cc", ".cpp", ".cxx", ".c++", ".C", ".hpp",
	                                  ".hh", ".hxx", ".h++", ".tcc", NULL};
	static const char *const java[] = {".java", ".kt", ".scala", ".groovy", ".clj", NULL};
	if (!*file)
		return FLAME_ORIGIN_UNKNOWN; /* folded input: every frame, so say it at once */
	if (has_suffix(file, ".rs")) {
		if (strstr(file, "/rustc/") || strstr(file, "library/std/") || strstr(file, "library/core/") ||
		    strstr(file, "library/alloc/") || strstr(file, "/.rustup/toolchains/"))
			return FLAME_ORIGIN_RUST_STD;
		if (strstr(file, "/.cargo/registry/") || strstr(file, "/.cargo/git/") ||
		    strstr(file, "/cargo/registry/"))
			return FLAME_ORIGIN_RUST_DEP;
		return FLAME_ORIGIN_RUST;
	}
	if (has_any_suffix(file, cpp))
		return FLAME_ORIGIN_CPP;
	if (has_suffix(file, ".c") || has_suffix(file, ".h") || has_suffix(file, ".S") || has_suffix(file, ".s"))
		return FLAME_ORIGIN_C;
	if (has_suffix(file, ".go") || has_suffix(file, ".s.go"))
		return FLAME_ORIGIN_GO;
	if (has_any_suffix(file, java))
		return FLAME_ORIGIN_JAVA;
	if (has_suffix(file, ".py") || has_suffix(file, ".pyx"))
		return FLAME_ORIGIN_PYTHON;
	return FLAME_ORIGIN_UNKNOWN;
}

/* Marks only C++'s demangler leaves: a parameter list at the end, const
 * methods, operators, anonymous namespaces, destructors, the standard
 * library's reserved names and old-style "> >". */
static bool cpp_marks(const char *name)
{
	static const char *const std_marks[] = {"_",           "basic_string", "allocator<", "vector<", "map<",
	                                        "unique_ptr<", "shared_ptr<",  "function<",  NULL};
	size_t n = strlen(name);
	if (n && name[n - 1] == ')' && !strstr(name, "{{closure}}") && strchr(name, '('))
		return true;
	/* one pass over the "::" of the name, not a search of it per mark:
	 * this runs for every distinct name of a folded file */
	for (const char *q = strstr(name, "::"); q; q = strstr(q + 1, "::")) {
		const char *after = q + 2;
		if (*after == '~' || has_prefix(after, "operator") || has_prefix(after, "_M_") ||
		    (q - name >= 9 && !memcmp(q - 9, "__gnu_cxx", 9)))
			return true;
		if (q - name >= 3 && !memcmp(q - 3, "std", 3))
			for (const char *const *m = std_marks; *m; m++)
				if (has_prefix(after, *m))
					return true;
	}
	return strstr(name, ") const") || strstr(name, "(anonymous namespace)") || strstr(name, "> >");
}

/* Marks only Rust's demanglers leave. */
static bool rust_marks(const char *name)
{
	if (strstr(name, "{{closure}}") || strstr(name, "{closure#") || strstr(name, "{shim:") ||
	    strstr(name, "<impl ") || strstr(name, "__rust") || strstr(name, "{{vtable") || strstr(name, "::{{"))
		return true;
	/* "<T as Trait>::f" */
	const char *lt = strchr(name, '<');
	if (lt && strstr(lt, " as ") && strstr(name, ">::"))
		return true;
	/* a legacy mangling hash left on: "::h0123456789abcdef" */
	size_t n = strlen(name);
	if (n > 19 && name[n - 19] == ':' && name[n - 17] == 'h') {
		for (size_t i = n - 16; i < n; i++)
			if (!isxdigit((unsigned char)name[i]))
				return false;
		return true;
	}
	return false;
}

/* std::, core:: and alloc:: paths of Rust's standard library; C++'s std::
 * is told apart by its own marks first. */
static bool rust_std_name(const char *name)
{
	static const char *const std_mods[] = {
	    "rt::",    "sys::",         "sys_common::", "thread::",    "io::",           "panicking::", "panic::",
	    "sync::",  "collections::", "fs::",         "net::",       "process::",      "env::",       "time::",
	    "ffi::",   "os::",          "alloc::",      "backtrace::", "backtrace_rs::", "path::",      "hash::",
	    "error::", "f64::",         "f32::",        "fmt::",       "ptr::",          "mem::",       "num::",
	    "ops::",   "iter::",        "slice::",      "str::",       "string::",       "vec::",       "boxed::",
	    "rc::",    "cell::",        "hint::",       "option::",    "result::",       NULL};
	while (*name == '<' || *name == '&' || *name == '*')
		name++;
	if (has_prefix(name, "dyn "))
		name += 4;
	if (has_prefix(name, "core::") || has_prefix(name, "alloc::") || has_prefix(name, "hashbrown::") ||
	    has_prefix(name, "std[") || has_prefix(name, "core[") || has_prefix(name, "alloc[") ||
	    has_prefix(name, "__rust") || has_prefix(name, "__rdl_") || has_prefix(name, "rust_"))
		return true;
	if (!has_prefix(name, "std::"))
		return false;
	for (const char *const *m = std_mods; *m; m++)
		if (has_prefix(name + 5, *m))
			return true;
	return false;
}

static bool is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* Java by flamegraph.pl's rules: "java/lang/Thread.run" (an uppercase
 * class after the last '/') or "java.util.HashMap.get", or a JIT mark. */
static bool java_name(const char *name)
{
	static const char *const roots[] = {"java", "javax", "jdk",   "sun",    "com", "org",
	                                    "net",  "io",    "scala", "kotlin", NULL};
	if (has_suffix(name, "_[j]") || has_suffix(name, "_[i]") || !strcmp(name, "Interpreter"))
		return true;
	const char *s = name[0] == 'L' && islower((unsigned char)name[1]) ? name + 1 : name;
	for (const char *const *r = roots; *r; r++) {
		if (s[0] != (*r)[0])
			continue;
		size_t n = strlen(*r);
		if (strncmp(s, *r, n) || (s[n] != '/' && s[n] != '.'))
			continue;
		const char *last = strrchr(s, s[n]);
		if (s[n] == '/')
			return last && isupper((unsigned char)last[1]);
		/* dotted: some segment is a class, "java.util.HashMap.get" */
		for (const char *q = s; (q = strchr(q, '.')) != NULL; q++)
			if (isupper((unsigned char)q[1]))
				return true;
	}
	return false;
}

/* Go: "main.main", "runtime.mallocgc", "sync.(*Mutex).Lock",
 * "net/http.(*conn).serve", "github.com/x/y.F": a lowercase package path,
 * a dot, then the function; never "::" or spaces. */
static bool go_name(const char *name)
{
	if (strstr(name, "::") || strchr(name, ' ') || !islower((unsigned char)name[0]))
		return false;
	const char *slash = strrchr(name, '/');
	const char *pkg = slash ? slash + 1 : name;
	const char *dot = strchr(pkg, '.');
	if (!dot || dot == pkg || !dot[1])
		return false;
	for (const char *q = pkg; q < dot; q++)
		if (!is_ident(*q) && *q != '-')
			return false;
	if (strstr(name, ".(*") || slash)
		return true;
	static const char *const pkgs[] = {"main.",    "runtime.", "sync.", "syscall.",  "os.",      "fmt.",
	                                   "reflect.", "time.",    "net.",  "io.",       "strings.", "bufio.",
	                                   "bytes.",   "strconv.", "sort.", "encoding.", "context.", NULL};
	for (const char *const *p = pkgs; *p; p++)
		if (has_prefix(name, *p))
			return true;
	return false;
}

/* Python as py-spy and austin write it: "compute (app.py:10)". */
static bool python_name(const char *name)
{
	return strstr(name, ".py:") || has_suffix(name, ".py)") || has_prefix(name, "<module>");
}

enum flame_origin flame_origin_guess(const char *name, const char *module, const char *file, bool kernel)
{
	if (!name)
		name = "";
	if (!module)
		module = "";
	if (!file)
		file = "";
	if (kernel || has_prefix(module, "[kernel") || has_suffix(name, "_[k]"))
		return FLAME_ORIGIN_KERNEL;
	if (!*name || has_prefix(name, "0x") || strstr(name, "+0x") || !strcmp(name, "[unknown]") ||
	    !strcmp(name, "[truncated]") || !strcmp(name, "[stack not copied]") || !strcmp(name, "[cut by exec]"))
		return FLAME_ORIGIN_UNKNOWN;
	enum flame_origin by_file = origin_of_file(file);
	if (by_file == FLAME_ORIGIN_RUST && rust_std_name(name) && !cpp_marks(name))
		return FLAME_ORIGIN_RUST_STD; /* std's generics instantiated in the program's own files */
	if (by_file == FLAME_ORIGIN_C && cpp_marks(name))
		return FLAME_ORIGIN_CPP; /* a C++ header ending in .h */
	if (by_file != FLAME_ORIGIN_UNKNOWN)
		return by_file;
	if (*module) {
		if (has_prefix(module, "libstd-"))
			return FLAME_ORIGIN_RUST_STD;
		if (has_prefix(module, "libstdc++") || has_prefix(module, "libc++") || has_prefix(module, "libjvm"))
			return FLAME_ORIGIN_CPP;
		if (has_prefix(module, "libc.so") || has_prefix(module, "libc-") || has_prefix(module, "ld-linux") ||
		    has_prefix(module, "libm.so") || has_prefix(module, "libpthread") ||
		    has_prefix(module, "libpython"))
			return FLAME_ORIGIN_C;
	}
	/* the name alone */
	if (java_name(name))
		return FLAME_ORIGIN_JAVA;
	if (python_name(name))
		return FLAME_ORIGIN_PYTHON;
	if (go_name(name))
		return FLAME_ORIGIN_GO;
	if (cpp_marks(name))
		return FLAME_ORIGIN_CPP;
	if (rust_std_name(name))
		return FLAME_ORIGIN_RUST_STD;
	if (rust_marks(name))
		return FLAME_ORIGIN_RUST;
	if (strstr(name, "::"))
		return FLAME_ORIGIN_SCOPED;
	return FLAME_ORIGIN_C; /* a plain symbol: C, or code that looks like it */
}

/* The crate of a Rust name, "calltree" of "<calltree::Foo as Bar>::f",
 * as [*start, *start + *len); false when it has none. */
static bool crate_of(const char *name, const char **start, size_t *len)
{
	while (*name == '<' || *name == '&' || *name == '*' || *name == ' ')
		name++;
	if (has_prefix(name, "dyn "))
		name += 4;
	if (has_prefix(name, "mut "))
		name += 4;
	const char *e = name;
	while (is_ident(*e))
		e++;
	if (e == name || e[0] != ':' || e[1] != ':')
		return false;
	*start = name;
	*len = (size_t)(e - name);
	return true;
}

/* What decides an undecided "a::b" name and a Rust name's crate is a
 * struct flame_census, gathered over the names of a profile:
 * flame_tree_resolve_origins() counts the tree's nodes, the census of a
 * folded file (below) every frame. */

static void rules_count(struct flame_census *r, uint8_t origin, bool nofile)
{
	switch (origin) {
	case FLAME_ORIGIN_RUST:
		r->rust_nofile |= nofile;
		/* fall through */
	case FLAME_ORIGIN_RUST_STD:
	case FLAME_ORIGIN_RUST_DEP:
		r->rust = true;
		break;
	case FLAME_ORIGIN_CPP:
		r->cpp = true;
		break;
	case FLAME_ORIGIN_SCOPED:
		r->scoped = true;
		break;
	}
}

/* "a::b" is Rust in a Rust program, C++ in a C++ one, unknown in both or neither */
static uint8_t rules_scoped_origin(const struct flame_census *r)
{
	return r->rust && !r->cpp ? FLAME_ORIGIN_RUST : r->cpp && !r->rust ? FLAME_ORIGIN_CPP : FLAME_ORIGIN_UNKNOWN;
}

/* Notes (a copy of) the crate of a "crate::main" name. */
static void rules_add_main(struct flame_census *r, const char *name)
{
	const char *c;
	size_t len;
	if (r->nmains == FLAME_CENSUS_MAINS || !has_suffix(name, "::main") || !crate_of(name, &c, &len) ||
	    strcmp(c + len, "::main"))
		return;
	for (size_t k = 0; k < r->nmains; k++)
		if (r->main_len[k] == len && !memcmp(r->mains[k], c, len))
			return;
	char *copy = xmalloc(len + 1);
	memcpy(copy, c, len);
	copy[len] = '\0';
	r->mains[r->nmains] = copy;
	r->main_len[r->nmains++] = len;
}

/* True when a Rust name without a file is a dependency's: it has a crate,
 * and no main() of that crate ran. */
static bool rules_is_dep(const struct flame_census *r, const char *name)
{
	const char *c;
	size_t len;
	if (!r->nmains || !crate_of(name, &c, &len))
		return false;
	for (size_t k = 0; k < r->nmains; k++)
		if (r->main_len[k] == len && !memcmp(r->mains[k], c, len))
			return false;
	return true;
}

void flame_tree_resolve_origins(struct flame_tree *t)
{
	size_t n = t->nodes.n;
	struct flame_census r = {0};
	for (size_t i = 1; i < n; i++)
		rules_count(&r, t->nodes.v[i].origin, flame_tree_src(t, (uint32_t)i).file == 0);
	if (!r.scoped && !r.rust_nofile)
		return;
	uint8_t resolved = rules_scoped_origin(&r);
	uint32_t nstr = strtab_count(&t->strings);
	uint8_t *yours = xcalloc((size_t)nstr + 1, 1); /* per name: 0 not decided, 1 yours, 2 a dependency's */
	for (size_t i = 1; i < n && resolved == FLAME_ORIGIN_RUST; i++) {
		const struct flame_node *nd = &t->nodes.v[i];
		if ((nd->origin != FLAME_ORIGIN_RUST && nd->origin != FLAME_ORIGIN_SCOPED) || nd->name >= nstr ||
		    yours[nd->name])
			continue;
		yours[nd->name] = 3; /* looked at: each name once, not once per node */
		rules_add_main(&r, strtab_get(&t->strings, nd->name));
	}
	if (resolved == FLAME_ORIGIN_RUST)
		memset(yours, 0, (size_t)nstr + 1);
	for (size_t i = 1; i < n; i++) {
		struct flame_node *nd = &t->nodes.v[i];
		if (nd->origin == FLAME_ORIGIN_SCOPED)
			nd->origin = resolved;
		if (nd->origin != FLAME_ORIGIN_RUST || flame_tree_src(t, (uint32_t)i).file || !r.nmains ||
		    nd->name >= nstr)
			continue;
		if (!yours[nd->name])
			yours[nd->name] = rules_is_dep(&r, strtab_get(&t->strings, nd->name)) ? 2 : 1;
		if (yours[nd->name] == 2)
			nd->origin = FLAME_ORIGIN_RUST_DEP;
	}
	free(yours);
	flame_census_release(&r);
}

/* --- the census of a folded file's names ---------------------------------
 * flame_tree_resolve_origins()' rules, gathered as the builder meets each
 * name (the first time, or again: the flags are ORs and the crates of
 * main() are kept in the order first met, so counting a name twice
 * changes nothing). A name is guessed only when it could change what the
 * census has found so far (most cannot: in a Rust program only a C++
 * mark or a "crate::main" could), which a byte scan tells; the origins of
 * the names themselves are decided only for the frames drawn. */

/* Whether s (n bytes) contains the NUL-terminated pat. */
static bool has_sub(const char *s, size_t n, const char *pat)
{
	return memmem(s, n, pat, strlen(pat)) != NULL;
}

static bool starts(const char *s, size_t n, const char *pat)
{
	size_t m = strlen(pat);
	return n >= m && !memcmp(s, pat, m);
}

/* The bytes of w equal to c, as their top bits. */
static uint64_t bytes_equal(uint64_t w, unsigned char c)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
	uint64_t x = w ^ (0x0101010101010101ULL * c); /* a zero byte where w has c */
	return ~(((x & low7) + low7) | x) & ~low7;
}

bool flame_name_may_be_cpp(const char *name, size_t len)
{
	static const char *const std_marks[] = {"_",           "basic_string", "allocator<", "vector<", "map<",
	                                        "unique_ptr<", "shared_ptr<",  "function<",  NULL};
	/* cpp_marks() in one pass: ')' (a parameter list at the end, ") const",
	 * "(anonymous namespace)"), "> >", and the marks around each "::"; only
	 * the places of ')', '>' and ':' are looked at, found 8 bytes at a time */
	for (size_t base = 0; base + 1 < len; base += 8) {
		uint64_t w = 0;
		if (len - base >= 8) {
			/* one load: a copy of a variable length would go through
			 * the stack, and the load of w wait for it (a store
			 * not forwarded: 40% of this scan) */
			memcpy(&w, name + base, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
			w = __builtin_bswap64(w); /* the first byte lowest */
#endif
		} else {
			for (size_t k = base; k < len; k++)
				w |= (uint64_t)(unsigned char)name[k] << (8 * (k - base));
		}
		uint64_t at = bytes_equal(w, ')') | bytes_equal(w, '>') | bytes_equal(w, ':');
		for (; at; at &= at - 1) {
			size_t i = base + (size_t)(__builtin_ctzll(at) >> 3);
			if (i + 1 >= len)
				break; /* the last byte: only a ')' counts, below */
			char ch = name[i];
			if (ch == ')' || (ch == '>' && name[i + 1] == ' ' && i + 2 < len && name[i + 2] == '>'))
				return true;
			if (ch != ':' || name[i + 1] != ':')
				continue;
			const char *after = name + i + 2;
			size_t rest = len - i - 2;
			if (starts(after, rest, "~") || starts(after, rest, "operator") || starts(after, rest, "_M_") ||
			    (i >= 9 && !memcmp(name + i - 9, "__gnu_cxx", 9)))
				return true;
			if (i >= 3 && !memcmp(name + i - 3, "std", 3))
				for (const char *const *m = std_marks; *m; m++)
					if (starts(after, rest, *m))
						return true;
		}
	}
	return len && name[len - 1] == ')';
}

bool flame_name_may_be_rust(const char *name, size_t len)
{
	/* rust_marks(): braces, "__rust", "<impl ", "<T as Trait>", a legacy hash */
	if (memchr(name, '{', len) || has_sub(name, len, "__r") || has_sub(name, len, "rust_"))
		return true;
	if (memchr(name, '<', len) && (has_sub(name, len, " as ") || has_sub(name, len, "<impl ")))
		return true;
	if (len > 19 && name[len - 19] == ':' && name[len - 17] == 'h')
		return true;
	/* rust_std_name(): its prefixes, after what it skips */
	while (len && (*name == '<' || *name == '&' || *name == '*')) {
		name++;
		len--;
	}
	if (starts(name, len, "dyn ")) {
		name += 4;
		len -= 4;
	}
	return starts(name, len, "core") || starts(name, len, "alloc") || starts(name, len, "hashbrown::") ||
	       starts(name, len, "std");
}

/* Whether guessing name could change what c has found. */
static bool census_may_change(const struct flame_census *c, const char *name, size_t len)
{
	if (c->rust && c->cpp)
		return false; /* "a::b" is unknown whatever comes; no crate is looked for */
	if (len >= 6 && !memcmp(name + len - 6, "::main", 6) && c->nmains < FLAME_CENSUS_MAINS)
		return true;
	if (!c->cpp && flame_name_may_be_cpp(name, len))
		return true;
	/* scoped needs "::"; rust (and rust_nofile, which only matters
	 * while nothing is scoped) needs a Rust mark or prefix */
	if (!c->scoped && memchr(name, ':', len))
		return true;
	return !c->rust && flame_name_may_be_rust(name, len);
}

void flame_census_add(struct flame_census *c, const char *name, size_t len)
{
	if (!census_may_change(c, name, len))
		return;
	char small[256];
	char *s = len < sizeof(small) ? small : xmalloc(len + 1);
	memcpy(s, name, len);
	s[len] = '\0';
	uint8_t o = (uint8_t)flame_origin_guess(s, NULL, NULL, false);
	rules_count(c, o, true); /* folded names have no file */
	if (o == FLAME_ORIGIN_RUST || o == FLAME_ORIGIN_SCOPED)
		rules_add_main(c, s); /* kept whatever the rest decides; used only when "a::b" is Rust */
	if (s != small)
		free(s);
}

uint8_t flame_census_origin(const struct flame_census *c, const char *name, uint8_t guess)
{
	if (!c->scoped && !c->rust_nofile)
		return guess;
	uint8_t resolved = rules_scoped_origin(c);
	uint8_t o = guess == FLAME_ORIGIN_SCOPED ? resolved : guess;
	/* the crates count only when "a::b" is Rust, as in the tree's rules */
	if (o == FLAME_ORIGIN_RUST && resolved == FLAME_ORIGIN_RUST && rules_is_dep(c, name))
		o = FLAME_ORIGIN_RUST_DEP;
	return o;
}

void flame_census_release(struct flame_census *c)
{
	if (!c)
		return;
	for (size_t k = 0; k < c->nmains; k++)
		free(c->mains[k]);
	memset(c, 0, sizeof(*c));
}
