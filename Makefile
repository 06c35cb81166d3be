# Entry points for people and CI. Everything goes through CMake; this file only chains the
# steps so that each target works on a fresh machine.
#   make demo   install dependencies, build, inspect and analyze the bundled example
#   make test   install dependencies, build, run every test
#   make core-test   the torch-free core alone (no LibTorch needed)

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON ?= /usr/bin/python3
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo core-test format clean

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

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	@rm -rf $(BUILD) $(BUILD)-core
