# Entry points for people and CI. Everything goes through CMake; this file only chains the
# steps so that each target works on a fresh machine.
#   make demo        install dependencies, build, inspect and analyze the bundled example
#   make test        install dependencies; build and test against Debian's LibTorch, then
#                    against the LibTorch inside .venv's torch wheel; then check that both
#                    builds give the same layers and decisions
#                    and the Python package, under .venv's torch and Debian's
#   make test-debian / make test-wheel / make test-builds-agree / make test-python   one step
#   make core-test   the torch-free core alone (no LibTorch needed)
#   make test-sanitize  the torch-free core's tests built with AddressSanitizer and
#                    UndefinedBehaviorSanitizer (build-sanitize/); the front-end's tests are not
#                    in it: LibTorch is not instrumented, and an instrumented front-end build
#                    takes longer than the whole of CI's other builds (see README, Sanitizers)
#   make fuzz        build the libFuzzer harnesses with clang (build-fuzz/) and run each for
#                    FUZZ_SECONDS (default 60), FUZZ_RUNS executions at most (default no limit);
#                    FUZZERS="npy state" runs only those
#   make bench       qreport against plain inference and PyTorch's reference; writes bench/RESULTS.md,
#                    and the Python package's rows (eager models) to bench/RESULTS_PYTHON.md

BUILD ?= build
WHEEL_BUILD ?= build-wheel
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# Debian's Python: its python3-torch matches Debian's LibTorch and holds the reference.
PYTHON ?= /usr/bin/python3
VENV ?= .venv
VENV_PYTHON = $(VENV)/bin/python
SYSTEM_VENV ?= .venv-system
SYSTEM_VENV_PYTHON = $(SYSTEM_VENV)/bin/python
VISION_VENV ?= .venv-vision
VISION_VENV_PYTHON = $(VISION_VENV)/bin/python
CMAKE_FLAGS ?=
BENCH_BUILD ?= build-bench
BENCH_FLAGS ?=
SANITIZE_BUILD ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= -1
FUZZERS ?=

.PHONY: all deps configure build test test-debian test-wheel test-builds-agree test-python \
	python-install demo core-test test-sanitize fuzz \
	bench format clean

all: build

deps:
	@scripts/install-deps
	@scripts/setup-venv
	@scripts/setup-venv --system

$(BUILD)/build.ninja: CMakeLists.txt | deps
	@cmake -S . -B $(BUILD) -G Ninja -DQREPORT_FIXTURE_PYTHON=$(PYTHON) \
		-DQREPORT_REFERENCE_PYTHON=$(PYTHON) $(CMAKE_FLAGS) >/dev/null

configure: $(BUILD)/build.ninja

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: test-debian test-wheel test-builds-agree test-python

test-debian: build
	@echo "== Debian's LibTorch ($(BUILD)/)"
	@ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure

# The wheel's LibTorch: fixtures from .venv's torch, torchvision's models and the reference
# from Debian's Python (the .venv holds no torchvision).
$(WHEEL_BUILD)/build.ninja: CMakeLists.txt | deps
	@cmake -S . -B $(WHEEL_BUILD) -G Ninja \
		-DCMAKE_PREFIX_PATH="$$($(VENV_PYTHON) -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')" \
		-DQREPORT_FIXTURE_PYTHON=$(abspath $(VENV_PYTHON)) -DQREPORT_VISION_PYTHON=$(PYTHON) \
		-DQREPORT_REFERENCE_PYTHON=$(PYTHON) $(CMAKE_FLAGS) >/dev/null

test-wheel: $(WHEEL_BUILD)/build.ninja
	@cmake --build $(WHEEL_BUILD) -j $(JOBS)
	@echo "== the torch wheel's LibTorch ($(WHEEL_BUILD)/)"
	@ctest --test-dir $(WHEEL_BUILD) -j $(JOBS) --output-on-failure

test-builds-agree: build $(WHEEL_BUILD)/build.ninja
	@cmake --build $(WHEEL_BUILD) -j $(JOBS) --target qreport_cli
	@echo "== both builds on the same models"
	@QREPORT_BUILDS="$(abspath $(BUILD)):$(abspath $(WHEEL_BUILD))" QREPORT_EXPORT_PYTHON=$(PYTHON) \
		$(VENV_PYTHON) -m pytest -q tests/platform

# The Python package, built by pip (scikit-build-core, nanobind) into each environment: .venv
# (torch 2.13 from the index), .venv-system (Debian's python3-torch) and .venv-vision (torch
# 2.14.1 with torchvision). Build directories persist in build-python/, so a second install
# recompiles only what changed; .venv and .venv-vision share one (the same Python).
python-install: deps
	@scripts/setup-venv --vision
	@echo "== the Python package: installing into $(VENV), $(SYSTEM_VENV) and $(VISION_VENV)"
	@for env in $(VENV):venv $(SYSTEM_VENV):system $(VISION_VENV):venv; do \
		dir=$${env%%:*}; build=$${env##*:}; \
		$$dir/bin/python -m pip install -q --disable-pip-version-check --no-build-isolation \
			--config-settings=build-dir=build-python/$$build . >build-python-$$build.log 2>&1 || \
			{ tail -n 40 build-python-$$build.log; exit 1; }; \
		rm -f build-python-$$build.log; \
	done

# Each environment's tests compare with the CLI built against the same torch version
# (QREPORT_CLI) and run the reference that torch ships.
test-python: python-install build $(WHEEL_BUILD)/build.ninja
	@cmake --build $(WHEEL_BUILD) -j $(JOBS) --target qreport_cli
	@echo "== the Python package under .venv's torch"
	@cd tests/python && QREPORT_CLI=$(abspath $(WHEEL_BUILD))/qreport \
		$(abspath $(VENV_PYTHON)) -m pytest -q -p no:cacheprovider .
	@echo "== the Python package under Debian's torch"
	@cd tests/python && QREPORT_CLI=$(abspath $(BUILD))/qreport \
		$(abspath $(SYSTEM_VENV_PYTHON)) -m pytest -q -p no:cacheprovider .
	@echo "== the README's Python example (torch 2.14.1, torchvision, torchao)"
	@cd tests/python && $(abspath $(VISION_VENV_PYTHON)) -m pytest -q -p no:cacheprovider \
		test_readme_example.py

demo: build
	@$(PYTHON) examples/export_example.py $(BUILD)/demo
	@echo "\$$ qreport inspect $(BUILD)/demo/small_cnn.pt"
	@$(BUILD)/qreport inspect $(BUILD)/demo/small_cnn.pt
	@echo "\$$ qreport analyze $(BUILD)/demo/small_cnn.pt --input-shape 8,3,32,32 --batches 16 --out $(BUILD)/demo/report"
	@$(BUILD)/qreport analyze $(BUILD)/demo/small_cnn.pt --input-shape 8,3,32,32 --batches 16 --out $(BUILD)/demo/report

core-test:
	@scripts/install-deps --core
	@cmake -S . -B $(BUILD)-core -G Ninja -DQREPORT_WITH_TORCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD)-core -j $(JOBS)
	@ctest --test-dir $(BUILD)-core -j $(JOBS) -L core --output-on-failure

# The core and its tests (the fuzz regression inputs among them) with ASan and UBSan, in a
# build of their own. halt_on_error: the first report fails the test.
test-sanitize:
	@scripts/install-deps --core
	@cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DQREPORT_WITH_TORCH=OFF -DQREPORT_SANITIZE=ON \
		$(CMAKE_FLAGS) >/dev/null
	@cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	@echo "== the core under AddressSanitizer and UndefinedBehaviorSanitizer ($(SANITIZE_BUILD)/)"
	@ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:$(ASAN_OPTIONS) \
		UBSAN_OPTIONS=print_stacktrace=1:$(UBSAN_OPTIONS) \
		ctest --test-dir $(SANITIZE_BUILD) -j $(JOBS) -L core --output-on-failure

# clang for libFuzzer; tests off: only the harnesses and the seed writer are built.
fuzz:
	@scripts/install-deps
	@cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DQREPORT_FUZZ=ON \
		-DQREPORT_BUILD_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target qreport_fuzzers
	@fuzz/run_fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_RUNS) $(FUZZERS)

# A build of its own with the bench on and the tests off: only the driver is built, and a
# configured `build` keeps its options. About 8 minutes on 2 cores, most of it the reference.
bench: deps
	@cmake -S . -B $(BENCH_BUILD) -G Ninja -DQREPORT_FIXTURE_PYTHON=$(PYTHON) \
		-DQREPORT_REFERENCE_PYTHON=$(PYTHON) -DQREPORT_BUILD_BENCH=ON \
		-DQREPORT_BUILD_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BENCH_BUILD) -j $(JOBS) --target qreport_model_report_bench qreport_cli
	@$(PYTHON) bench/run_bench.py --build-dir $(BENCH_BUILD) --out bench/RESULTS.md $(BENCH_FLAGS)
	@$(MAKE) --no-print-directory python-install
	@$(VISION_VENV_PYTHON) bench/python_bench.py --out bench/RESULTS_PYTHON.md

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	@rm -rf $(BUILD) $(BUILD)-core $(BENCH_BUILD) $(WHEEL_BUILD) $(SANITIZE_BUILD) $(FUZZ_BUILD)
