# Thin wrapper over CMake for the README's commands.
#   make deps    install every Debian package the build and tests need
#   make         build ./build/kiln
#   make check   unit + end-to-end tests, then both again under ASan+UBSan, then a short fuzz run
#   make demo    profile the bundled Rust demo and print the report
#   make bench   benchmarks against perf (bench/)
#   make fuzz    run the fuzzers for longer (FUZZ_SECONDS=300)
#   make soak    the agent's host-safety tests (tests/e2e/test_agent_*.sh) in a
#                loop, KILN_AGENT_RUNS=50 each, for SOAK_MINUTES (default 30)

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 20
SOAK_MINUTES ?= 30
PREFIX     ?= /usr/local

# rustup's toolchain, where the machine has one, before Debian's older rustc
# (HOME may be unset under CI: ask the password database then)
USER_HOME  := $(or $(HOME),$(shell getent passwd $$(id -u) | cut -d: -f6))
export HOME := $(USER_HOME)
export PATH := $(USER_HOME)/.cargo/bin:$(PATH)

DEB_PACKAGES = build-essential cmake pkg-config clang libclang-rt-14-dev \
	libdw-dev libelf-dev libiberty-dev libzstd-dev zlib1g-dev libcmocka-dev libunwind-dev \
	linux-perf libxml2-utils python3 rustc chromium nodejs npm

.PHONY: all build deps check unit e2e asan fuzz fuzz-build soak demo bench install clean format

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Idempotent: installs only what is missing. rustc comes from the image's
# rustup when present, else from Debian.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
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
	@# playwright-core drives Debian's chromium in the flame graph browser test
	@[ -d tests/e2e/browser/node_modules/playwright-core ] || npm ci --prefix tests/e2e/browser --no-audit --no-fund

check: deps build
	@cd $(BUILD) && ctest --output-on-failure -j 2
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

unit: build
	@cd $(BUILD) && ctest --output-on-failure -L unit

e2e: build
	@cd $(BUILD) && ctest --output-on-failure -L e2e

asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j 2 -E browser

fuzz-build:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKILN_SANITIZE=ON -DKILN_FUZZ=ON \
	  -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Each fuzzer starts from its seed corpus (tests/fuzz/corpus/NAME) and runs
# FUZZ_SECONDS; any crash fails the run and leaves the input in $(FUZZ_BUILD).
fuzz: fuzz-build
	@for f in $(FUZZ_BUILD)/tests/fuzz_*; do \
	  name=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=0 \
	      -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus/$$name tests/fuzz/corpus/$$name \
	      >$(FUZZ_BUILD)/$$name.log 2>&1 || { tail -40 $(FUZZ_BUILD)/$$name.log; exit 1; }; \
	  echo "fuzz: $$name: $$(grep -c . $(FUZZ_BUILD)/$$name.log >/dev/null; grep -o 'stat::number_of_executed_units: [0-9]*' $(FUZZ_BUILD)/$$name.log || grep -o '#[0-9]*.*DONE.*' $(FUZZ_BUILD)/$$name.log | tail -1) no crash"; \
	done

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
	@rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
