# Thin wrapper over CMake for the README's commands.
#   make deps    install every Debian package the build and tests need
#   make         build ./build/kiln
#   make check   unit + end-to-end tests, then both again under ASan+UBSan, the threaded
#                commands under ThreadSanitizer, then a short fuzz run
#   make tsan    kiln under ThreadSanitizer: the unit tests and the e2e tests of its threads
#   make demo    profile the bundled Rust demo and print the report
#   make bench   benchmarks against perf (bench/)
#   make cross-aarch64  cross-build for aarch64 and run the unit tests that need no perf_event under qemu
#   make fuzz    run the fuzzers for longer (FUZZ_SECONDS=300)
#   make fuzz-long  every fuzzer for an hour (FUZZ_LONG_SECONDS), crashes kept; not in check
#   make soak    the agent's host-safety tests (tests/e2e/test_agent_*.sh) in a
#                loop, KILN_AGENT_RUNS=50 each, for SOAK_MINUTES (default 30)

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
CROSS_BUILD ?= build-aarch64
# The unit tests the aarch64 build runs under qemu-aarch64: none needs
# perf_event_open (qemu-user cannot pass it through) nor the agent.
CROSS_UNIT_TESTS = test_arch test_perf_ring test_cfi_check test_unwind test_profile test_kiln_file test_folded test_symbols test_debug_inflate \
	test_eh_frame test_eh_frame_agent test_maps_line test_maps_line_agent
# Under ThreadSanitizer: the e2e tests that run kiln's threads (kiln heap:
# the symbols prefetch and the file writer; record and flame --: the
# streaming writer and the recording path they share; serve: its segment
# closer and symbolizer threads beside the HTTP loop) and the unit tests
# but three: test_counters counts a forked child's page faults and
# test_unwind a thread's frames, both of which TSan's runtime changes, and
# test_recorder's threads are its profiled workload, not kiln's (80 s).
TSAN_E2E_TESTS ?= test_flame_threads|test_heap_c|test_heap_fork|test_heap_rust|test_record_stream|test_output_safety|test_serve|test_serve_symbols
TSAN_UNIT_SKIP = test_counters|test_unwind|test_recorder
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 20
FUZZ_LONG_SECONDS ?= 3600
FUZZ_LONG_JOBS ?= 1
SOAK_MINUTES ?= 30
PREFIX     ?= /usr/local

# rustup's toolchain, where the machine has one, before Debian's older rustc
# (HOME may be unset under CI: ask the password database then)
USER_HOME  := $(or $(HOME),$(shell getent passwd $$(id -u) | cut -d: -f6))
export HOME := $(USER_HOME)
export PATH := $(USER_HOME)/.cargo/bin:$(PATH)

DEB_PACKAGES = build-essential cmake pkg-config clang libclang-rt-14-dev \
	libdw-dev libelf-dev libiberty-dev libzstd-dev zlib1g-dev libdeflate-dev libcmocka-dev libunwind-dev libcapstone-dev \
	linux-perf libxml2-utils python3 rustc chromium nodejs npm \
	gcc-aarch64-linux-gnu qemu-user \
	zstd ripgrep fd-find sqlite3 \
	libncurses-dev tmux golang-go prometheus
# the aarch64 cross build's libraries, from Debian multiarch (make deps adds arm64)
DEB_ARM64_PACKAGES = libc6-dev:arm64 libdw-dev:arm64 libelf-dev:arm64 libzstd-dev:arm64 zlib1g-dev:arm64 libdeflate-dev:arm64 \
	libiberty-dev:arm64 libcmocka-dev:arm64 libcapstone-dev:arm64 libncurses-dev:arm64

.PHONY: all build deps check unit e2e asan tsan cross-aarch64 fuzz fuzz-long fuzz-build soak demo bench install clean format

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Idempotent: installs only what is missing. rustc comes from the image's
# rustup when present, else from Debian.
deps:
	@dpkg --print-foreign-architectures | grep -qx arm64 || { \
	  echo "make deps: adding the arm64 architecture (aarch64 cross build)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) dpkg --add-architecture arm64; }
	@missing=""; for p in $(DEB_PACKAGES) $(DEB_ARM64_PACKAGES); do \
	  case $$p in rustc) command -v rustc >/dev/null 2>&1 && continue;; \
	              linux-perf) command -v perf >/dev/null 2>&1 && continue;; \
	              nodejs) command -v node >/dev/null 2>&1 && continue;; \
	              npm) command -v npm >/dev/null 2>&1 && continue;; esac; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	else echo "make deps: all packages present"; fi
	@# playwright-core drives Debian's chromium in the browser tests; speedscope is
	@# the viewer test_speedscope_browser.sh opens kiln's speedscope export in
	@[ -d tests/e2e/browser/node_modules/playwright-core ] && [ -d tests/e2e/browser/node_modules/speedscope ] || \
	  npm ci --prefix tests/e2e/browser --no-audit --no-fund

check: deps build
	@cd $(BUILD) && ctest --output-on-failure -j 2
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory tsan
	@$(MAKE) --no-print-directory cross-aarch64
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

unit: build
	@cd $(BUILD) && ctest --output-on-failure -L unit

e2e: build
	@cd $(BUILD) && ctest --output-on-failure -L e2e

asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j 2 -E 'browser|^lint/'

# kiln (never the agent: it lives in the target) under ThreadSanitizer.
# Every report goes to $(TSAN_BUILD)/tsan/ as well as stderr, and any
# report fails the run, whatever the test that met it asserted.
tsan:
	@CC=clang cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKILN_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS)
	@rm -rf $(TSAN_BUILD)/tsan && mkdir -p $(TSAN_BUILD)/tsan
	@cd $(TSAN_BUILD) && { \
	  TSAN_OPTIONS="second_deadlock_stack=1 log_path=$(CURDIR)/$(TSAN_BUILD)/tsan/report" \
	    ctest --output-on-failure -j 2 -R 'unit/|e2e/($(TSAN_E2E_TESTS))$$' -E 'unit/($(TSAN_UNIT_SKIP))$$'; \
	  rc=$$?; \
	  if ls tsan/report.* >/dev/null 2>&1; then \
	    echo "tsan: ThreadSanitizer reports (also in $(TSAN_BUILD)/tsan/):"; cat tsan/report.*; exit 1; \
	  fi; \
	  [ $$rc = 0 ] && echo "tsan: no report"; exit $$rc; }

# Cross-builds kiln_core and CROSS_UNIT_TESTS for aarch64 (no agent, no
# kiln binary: only what the tests need) and runs them under qemu-aarch64.
cross-aarch64:
	@cmake -S . -B $(CROSS_BUILD) -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DKILN_UNIT_TESTS=$(shell echo $(CROSS_UNIT_TESTS) | tr ' ' ';')" >/dev/null
	@cmake --build $(CROSS_BUILD) -j $(JOBS) --target $(CROSS_UNIT_TESTS)
	@cd $(CROSS_BUILD) && ctest --output-on-failure -j 2 -L unit

fuzz-build:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON -DKILN_FUZZ=ON \
	  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers

# Each fuzzer starts from its seed corpus (tests/fuzz/corpus/NAME) and runs
# FUZZ_SECONDS, JOBS of them at once; any crash fails the run and leaves
# the input in $(FUZZ_BUILD).
fuzz: fuzz-build
	@ls $(FUZZ_BUILD)/tests/fuzz_* | xargs -P $(JOBS) -I{} bash tests/fuzz/run_one.sh {} $(FUZZ_SECONDS) $(FUZZ_BUILD)

# The long run, hours in all, never part of `make check`: each fuzzer runs
# FUZZ_LONG_SECONDS (FUZZ_LONG_JOBS processes) and carries on past a crash,
# timeout or out-of-memory; every such input is kept in
# $(FUZZ_BUILD)/crashes/NAME/ and listed at the end, and then the run fails.
# The corpus grown in $(FUZZ_BUILD)/corpus/NAME/ is kept for the next run.
fuzz-long: fuzz-build
	@found=0; for f in $(FUZZ_BUILD)/tests/fuzz_*; do \
	  name=$$(basename $$f); crashes=$(FUZZ_BUILD)/crashes/$$name; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$name $$crashes; \
	  echo "fuzz-long: $$name for $(FUZZ_LONG_SECONDS)s, log in $(FUZZ_BUILD)/$$name.long.log"; \
	  $$f -max_total_time=$(FUZZ_LONG_SECONDS) -max_len=65536 -fork=$(FUZZ_LONG_JOBS) \
	      -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -print_final_stats=1 \
	      -artifact_prefix=$$crashes/ $(FUZZ_BUILD)/corpus/$$name tests/fuzz/corpus/$$name \
	      >$(FUZZ_BUILD)/$$name.long.log 2>&1; \
	  n=$$(find $$crashes -type f | wc -l); found=$$((found + n)); \
	  echo "fuzz-long: $$name: $$(grep -oE '^#[0-9]+:.*time: [0-9]+s' $(FUZZ_BUILD)/$$name.long.log | tail -1), $$n crashing input(s) kept"; \
	done; \
	if [ $$found -gt 0 ]; then \
	  echo "fuzz-long: $$found crashing input(s) kept:"; find $(FUZZ_BUILD)/crashes -type f; exit 1; \
	fi; echo "fuzz-long: no crash"

# Not in check: races that a short run misses. Rounds over every
# test_agent_*.sh until SOAK_MINUTES have passed; a failing test's log is
# kept in $(BUILD)/soak/ and the summary says how many rounds and failures.
soak: build
	@mkdir -p $(BUILD)/soak; end=$$(( $$(date +%s) + $(SOAK_MINUTES) * 60 )); rounds=0; failures=0; \
	while [ $$(date +%s) -lt $$end ]; do \
	  rounds=$$((rounds + 1)); \
	  for t in tests/e2e/test_agent_*.sh; do \
	    name=$$(basename $$t .sh); \
	    if ! KILN=$(CURDIR)/$(BUILD)/kiln KILN_SRC=$(CURDIR) KILN_FIXTURES=$(CURDIR)/$(BUILD)/tests/fixtures \
	         KILN_TEST_TMP=$(CURDIR)/$(BUILD)/soak/tmp KILN_AGENT_RUNS=50 \
	         nice bash $$t >$(BUILD)/soak/$$name.log 2>&1; then \
	      failures=$$((failures + 1)); cp $(BUILD)/soak/$$name.log $(BUILD)/soak/$$name.round$$rounds.fail.log; \
	      echo "soak: round $$rounds: $$name failed ($(BUILD)/soak/$$name.round$$rounds.fail.log)"; \
	    fi; \
	  done; \
	  echo "soak: $$rounds rounds, $$failures failures"; \
	done; \
	echo "soak: done after $(SOAK_MINUTES) minutes: $$rounds rounds, $$failures failures"; [ $$failures -eq 0 ]

demo: deps build
	@bash tests/fixtures/demo.sh $(BUILD)/kiln
	@echo; echo "== kiln flame $(BUILD)/demo/demo.kiln -o $(BUILD)/demo/demo.svg"
	@$(BUILD)/kiln flame $(BUILD)/demo/demo.kiln -o $(BUILD)/demo/demo.svg --title "kiln demo" && \
	  echo "Open $(BUILD)/demo/demo.svg in a browser: hover, click to zoom, Ctrl-F to search."

bench: build
	@bash bench/run.sh $(BUILD)/kiln

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

format:
	@clang-format -i $$(find src tests bench -name '*.[ch]' -not -path '*/corpus/*' -not -path '*/node_modules/*')

clean:
	@rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(CROSS_BUILD)
