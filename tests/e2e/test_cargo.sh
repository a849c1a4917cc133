#!/bin/bash
# test_cargo.sh - `cargo kiln` on a real cargo project written here (std
# only, offline, its own CARGO_HOME): the default binary and an example are
# built in release with debug info (Cargo.toml untouched), profiled, and
# drawn; the hot function is in the SVG and the hottest in the recording.
# Also: several binaries without --bin, a build failure, no Cargo.toml.
source "$(dirname "$0")/lib.sh"
command -v cargo >/dev/null 2>&1 || skip "cargo is not installed (rustup.rs installs it)"
command -v xmllint >/dev/null || skip "xmllint is missing (make deps installs libxml2-utils)"
setup

BIN=$(dirname "$KILN")
if [ -x "$BIN/cargo-kiln" ]; then
	ok "cargo-kiln is built next to kiln"
else
	fail "no cargo-kiln next to $KILN (CMakeLists.txt links it)"
	mkdir -p "$T/bin" && ln -sf "$KILN" "$T/bin/cargo-kiln" && BIN=$T/bin
fi
export PATH="$BIN:$PATH"
export CARGO_HOME="$T/cargo-home" CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never
unset CARGO_TARGET_DIR CARGO_PROFILE_RELEASE_DEBUG CARGO_BUILD_TARGET

# --- a project, as `cargo new` lays it out ---------------------------------
P=$T/hotproj
mkdir -p "$P/src" "$P/examples"
cat >"$P/Cargo.toml" <<'EOF'
[package]
name = "hotproj"
version = "0.1.0"
edition = "2021"

[dependencies]
EOF
# hot_spin is almost all of the run; ARGS gives the rounds (~1 ms each)
hot_source() {
	cat <<EOF
use std::hint::black_box;

#[inline(never)]
fn $1(n: u64) -> u64 {
    let mut x = black_box(n) | 1;
    let mut i = 0;
    while i < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        i += 1;
    }
    x
}

fn main() {
    let rounds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let mut acc = 0;
    for r in 0..rounds {
        acc ^= $1(black_box(1_000_000 + r));
    }
    println!("{}", acc);
}
EOF
}
hot_source hot_spin >"$P/src/main.rs"
hot_source ex_spin >"$P/examples/ex.rs"
toml_sum=$(md5sum <"$P/Cargo.toml")

cd "$P" || die "cannot cd to $P"

# crun NAME ARGS...: `cargo ARGS...` with output kept like krun
crun() {
	local name=$1
	shift
	cargo "$@" >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
	echo "$RC" >"$T/$name.rc"
}

# hottest KILN: "name self_pct" of the function with the most self time
hottest() {
	report_json "$1" "$T/$(basename "$1").json"
	jq_ "$T/$(basename "$1").json" '"%s %.1f" % (j["functions"][0]["name"], j["functions"][0]["self_pct"])'
}

# --- the default binary -------------------------------------------------------
crun bin kiln --offline -F 499 -- 300
check_eq "cargo kiln status" "$RC" 0
check_no_crash bin
check_grep "cargo's own output passes through" "$T/bin.err" 'Finished .release. profile \[optimized \+ debuginfo\]'
[ -s "$P/flamegraph.svg" ] || die "cargo kiln wrote no flamegraph.svg: $(tail -5 "$T/bin.err")"
[ -s "$P/flamegraph.kiln" ] || fail "cargo kiln kept no flamegraph.kiln"
if xmllint --noout "$P/flamegraph.svg" 2>"$T/xmllint.err"; then ok "flamegraph.svg is valid XML"; else
	fail "xmllint rejects flamegraph.svg: $(head -3 "$T/xmllint.err")"
fi
check_grep "the SVG has the hot function, demangled" "$P/flamegraph.svg" 'hotproj::hot_spin'
read -r name self <<<"$(hottest "$P/flamegraph.kiln")"
check_eq "hottest function" "$name" "hotproj::hot_spin"
check_ge "hot_spin self%" "$self" 50
check_eq "hot_spin has a source line (debug info kept in release)" \
	"$(jq_ "$T/flamegraph.kiln.json" 'fn("hotproj::hot_spin")["file"].endswith("main.rs")')" "true"
check_eq "Cargo.toml is untouched" "$(md5sum <"$P/Cargo.toml")" "$toml_sum"

# --- an example, with its own outputs -----------------------------------------
crun ex kiln --offline --example ex -o ex.svg --record-output ex.kiln -- 300
check_eq "cargo kiln --example status" "$RC" 0
[ -s "$P/ex.svg" ] || die "cargo kiln --example wrote no ex.svg: $(tail -5 "$T/ex.err")"
if xmllint --noout "$P/ex.svg" 2>"$T/xmllint.err"; then ok "ex.svg is valid XML"; else
	fail "xmllint rejects ex.svg: $(head -3 "$T/xmllint.err")"
fi
check_grep "ex.svg has the example's hot function" "$P/ex.svg" 'ex::ex_spin'
read -r name self <<<"$(hottest "$P/ex.kiln")"
check_eq "hottest function of the example" "$name" "ex::ex_spin"
check_ge "ex_spin self%" "$self" 50

# --- errors ---------------------------------------------------------------------
echo 'fn main() {}' >"$P/examples/other.rs"
mkdir -p "$P/src/bin" && echo 'fn main() {}' >"$P/src/bin/second.rs"
crun two kiln --offline -q
check_ne "several binaries without --bin fails" "$RC" 0
check_grep "the error lists the binaries" "$T/two.err" 'hotproj.*second|second.*hotproj'
check_grep "the error says --bin" "$T/two.err" '\-\-bin'
crun second kiln --offline -q --bin second -o second.svg
check_eq "--bin picks one" "$RC" 0
rm -r "$P/src/bin"

echo 'fn main() { let x: u32 = "not a number"; }' >"$P/examples/broken.rs"
crun broken kiln --offline --example broken
check_ne "a build failure fails" "$RC" 0
check_grep "rustc's error passes through" "$T/broken.err" 'mismatched types'
check_grep "kiln says the build failed" "$T/broken.err" "cargo build' failed"
rm "$P/examples/broken.rs"

# a directory with no Cargo.toml above it (the test tree may sit inside one)
NP=$(mktemp -d "${TMPDIR:-/tmp}/kiln-noproj.XXXXXX") || die "mktemp failed"
cd "$NP" || die "cannot cd to $NP"
crun noproj kiln --offline
check_ne "outside a cargo project fails" "$RC" 0
check_grep "and says why" "$T/noproj.err" 'no Cargo.toml'
cd "$T" && rmdir "$NP"

# --- called directly as kiln cargo, with --manifest-path --------------------------
"$KILN" cargo --offline -q --manifest-path "$P/Cargo.toml" -o "$T/direct.svg" \
	--record-output "$T/direct.kiln" -- 100 >"$T/direct.out" 2>"$T/direct.err"
check_eq "kiln cargo --manifest-path status" "$?" 0
check_grep "kiln cargo draws the hot function" "$T/direct.svg" 'hotproj::hot_spin'

finish
