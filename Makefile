# Entry points for people and CI. Everything goes through CMake; this file only chains the
# steps so that each target works on a fresh machine.
#   make demo   install dependencies, build, inspect and analyze the bundled example
#   make test   install dependencies, build, run every test
#   make core-test   the torch-free core alone (no LibTorch needed)
#   make bench  qreport against plain inference and PyTorch's reference; writes bench/RESULTS.md

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON ?= /usr/bin/python3
CMAKE_FLAGS ?=
BENCH_BUILD ?= build-bench
BENCH_FLAGS ?=

.PHONY: all deps configure build test demo core-test bench format clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: CMakeLists.txt | deps
	@cmake -S . -B $(BUILD) -G Ninja -DQREPORT_PYTHON=$(PYTHON) $(CMAKE_FLAGS) >/dev/null

configure: $(BUILD)/build.ninja

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure

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

# A build of its own with the bench on and the tests off: only the driver is built, and a
# configured `build` keeps its options. About 8 minutes on 2 cores, most of it the reference.
bench: deps
	@cmake -S . -B $(BENCH_BUILD) -G Ninja -DQREPORT_PYTHON=$(PYTHON) -DQREPORT_BUILD_BENCH=ON \
		-DQREPORT_BUILD_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BENCH_BUILD) -j $(JOBS) --target qreport_model_report_bench
	@$(PYTHON) bench/run_bench.py --build-dir $(BENCH_BUILD) --out bench/RESULTS.md $(BENCH_FLAGS)

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	@rm -rf $(BUILD) $(BUILD)-core $(BENCH_BUILD)
