#!/bin/bash
# test_cli.sh - `kiln --help`, `kiln record --help` and `kiln report --help`
# exit 0 and mention every option of the CLI contract; an unknown command or
# option is a usage error (status 2); the man pages docs/man/kiln-record.1 and
# kiln-report.1 exist, document the same options and render without warnings.
source "$(dirname "$0")/lib.sh"
[ -x "$KILN" ] || die "kiln binary '$KILN' not found"

RECORD_OPTS="--output -o --freq -F --event -e -g --call-graph --no-inherit --pid -p --duration --quiet -q"
REPORT_OPTS="--tree --threads --sort --limit --value --min-percent --json -i"

krun help --help
check_eq "kiln --help: status" "$RC" 0
check_grep "kiln --help lists record" "$T/help.out" "record"
check_grep "kiln --help lists report" "$T/help.out" "report"

krun noargs
check_ne "kiln with no command: status" "$RC" 0
check_no_crash noargs
krun unknown nosuchcommand
check_eq "kiln nosuchcommand: status (usage error)" "$RC" 2
check_grep "kiln nosuchcommand: says so" "$T/unknown.err" "nosuchcommand"

# has_opt FILE OPT: OPT appears as a whole option word.
has_opt() { grep -Eq -- "(^|[^-A-Za-z])$(sed 's/[-]/\\-/g' <<<"$2")([^-A-Za-z]|$)" "$1"; }

for cmd in record report; do
	krun "$cmd-help" "$cmd" --help
	check_eq "kiln $cmd --help: status" "$RC" 0
	[ "$cmd" = record ] && opts=$RECORD_OPTS || opts=$REPORT_OPTS
	missing=""
	for o in $opts; do has_opt "$T/$cmd-help.out" "$o" || missing="$missing $o"; done
	check_eq "kiln $cmd --help: options of the contract missing" "${missing# }" ""
	krun "$cmd-badopt" "$cmd" --no-such-option
	check_eq "kiln $cmd --no-such-option: status (usage error)" "$RC" 2
	check_grep "kiln $cmd --no-such-option: names it" "$T/$cmd-badopt.err" "no-such-option"

	page=$KILN_SRC/docs/man/kiln-$cmd.1
	if [ ! -f "$page" ]; then
		fail "man page $page missing"
		continue
	fi
	ok "man page kiln-$cmd.1 exists"
	# Options in the page source (roff escapes hyphens as \-).
	sed 's/\\-/-/g; s/\\f[BIRP]//g' "$page" >"$T/$cmd.1.txt"
	missing=""
	for o in $opts; do has_opt "$T/$cmd.1.txt" "$o" || missing="$missing $o"; done
	check_eq "kiln-$cmd.1: options of the contract missing" "${missing# }" ""
	if command -v man >/dev/null 2>&1; then
		MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$page" >"$T/$cmd.man" 2>"$T/$cmd.manerr"
		check_eq "man -l kiln-$cmd.1: status" "$?" 0
		if [ -s "$T/$cmd.manerr" ]; then
			fail "man -l kiln-$cmd.1 warns:"
			sed 's/^/    | /' "$T/$cmd.manerr" | head -10
		else ok "man -l kiln-$cmd.1: no warnings"; fi
		check_grep "man -l kiln-$cmd.1 renders a NAME section" "$T/$cmd.man" "^NAME"
	else
		say "man not installed: rendering not checked"
	fi
done
# A wrong option is one line that names it and where help is, exit 2.
for cmd in record report flame collapse stat heap annotate; do
	krun bad_$cmd $cmd --no-such-option
	check_eq "kiln $cmd --no-such-option: exit status" "$RC" 2
	check_grep "kiln $cmd --no-such-option: names it" "$T/bad_$cmd.err" \
		"^kiln: unknown option '--no-such-option'; see 'kiln $cmd --help'$"
done
# cargo kiln checks every option (its own, kiln flame's and kiln record's)
# before it looks for Cargo.toml or builds: a usage error is 2 anywhere.
mkdir -p "$T/nocargo"
if (cd "$T/nocargo" && while [ "$PWD" != / ] && [ ! -e Cargo.toml ]; do cd ..; done; [ ! -e Cargo.toml ]); then
	(cd "$T/nocargo" && "$(dirname "$KILN")/cargo-kiln" kiln --bogus >"$T/cargo_bogus.out" 2>"$T/cargo_bogus.err")
	check_eq "cargo kiln --bogus outside a project: status (usage error)" "$?" 2
	check_grep "cargo kiln --bogus: names it" "$T/cargo_bogus.err" "^kiln: unknown option '--bogus'"
	for bad in "--call-graph x" "-F 0" "--width 5" "--palette nosuch" "--debug-dir relative"; do
		# shellcheck disable=SC2086 # each case is an option and its value
		(cd "$T/nocargo" && "$KILN" cargo $bad >"$T/cargo_bad.out" 2>"$T/cargo_bad.err")
		check_eq "kiln cargo $bad outside a project: status (usage error)" "$?" 2
	done
	(cd "$T/nocargo" && "$KILN" cargo -F 499 --title t >"$T/cargo_good.out" 2>"$T/cargo_good.err")
	check_eq "kiln cargo with good options outside a project: status" "$?" 1
	check_grep "kiln cargo outside a project: says so" "$T/cargo_good.err" "no Cargo.toml"
else
	say "a Cargo.toml above $T: cargo kiln outside a project not checked"
fi
# kiln flame takes every kiln record option (one table), --debug-dir too
krun flame_rec_opt flame --debug-dir /nonexistent -F 10
check_grep "kiln flame -F without a command: record options need one" "$T/flame_rec_opt.err" "record options need a command"
check_eq "kiln flame --debug-dir: a record option, status" "$RC" 2

# The version comes from one place, project() in CMakeLists.txt: kiln
# --version and the man pages the build makes (BUILD/man/) say it.
version=$(sed -n 's/^project(kiln VERSION \([0-9.]*\).*/\1/p' "$KILN_SRC/CMakeLists.txt")
krun version --version
check_eq "kiln --version: status" "$RC" 0
check_eq "kiln --version prints project()'s version" "$(cat "$T/version.out")" "kiln $version"
check_grep "the built man page kiln.1 carries the version" "$(dirname "$KILN")/man/kiln.1" "^\.TH KILN 1 .*\"kiln $version\""
krun missing_value record -F
check_grep "an option without its value" "$T/missing_value.err" "^kiln: option '-F' needs a value; see 'kiln record --help'$"
finish
