# Quick start: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
TF_REQ := tensorflow-cpu==2.21.0
# Test-time and example dependencies (TensorFlow itself is a prerequisite of
# the package, not a requirement of it: see setup.py). scikit-learn and
# matplotlib are optional extras of two examples; installed here so that the
# tests exercise them.
DEV_REQS := numpy absl-py pytest scikit-learn matplotlib

.PHONY: all setup demo test bench clean native-checks resampler-cpu resampler-cuda resampler-asan resampler-bazel

all: test

$(VENV)/.deps:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q $(TF_REQ) $(DEV_REQS)
	touch $@

# Reinstall the package whenever its build inputs change.
$(VENV)/.installed: $(VENV)/.deps setup.py $(shell find sonnet -name '*.cc' -o -name '*.h' -o -name '*.proto' 2>/dev/null)
	$(PIP) install -q --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed

# A short DNC repeat-copy run: the falling cost and one decoded example.
# (examples/demo.py is the smaller first demo: a module on synthetic data.)
demo: setup
	$(PY) examples/dnc_demo.py

test: setup native-checks
	$(PY) -m pytest -q tests

bench: setup build/native/resampler_cpu_bench
	@for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done
	@echo "== resampler CPU loops outside TensorFlow (sonnet/cc/tests/resampler_cpu_check.cc --bench)"
	build/native/resampler_cpu_bench --bench

build/native/resampler_cpu_bench: sonnet/cc/tests/resampler_cpu_check.cc $(RESAMPLER_HDRS)
	@mkdir -p build/native
	g++ -std=c++17 -O3 -ffp-contract=off -I. -pthread $< -o $@

clean:
	rm -rf $(VENV) build *.egg-info
	-bazel --batch clean 2>/dev/null

# --- native builds of the Resampler op (issue 5) ---------------------------
# Checks of the C++/CUDA sources beyond the setup.py build that `setup` does:
# the CUDA kernels and their standalone harness compile with nvcc (no GPU
# here: compile only), an AddressSanitizer build of the op survives a fuzz
# run of forward and backward kernels, and the bazel build produces a wheel
# that installs into a fresh venv and passes tests/test_resampler.py.
native-checks: resampler-cpu resampler-cuda resampler-asan resampler-bazel

RESAMPLER_SRCS := sonnet/cc/ops/resampler_ops.cc sonnet/cc/kernels/resampler_op.cc
RESAMPLER_HDRS := sonnet/cc/kernels/resampler_cpu.h sonnet/cc/kernels/resampler_math.h sonnet/cc/kernels/resampler_op.h
NVCC ?= $(shell command -v nvcc || echo /usr/local/cuda/bin/nvcc)
CUDA_INCLUDE ?= $(firstword $(wildcard /usr/local/cuda/include /usr/local/cuda-*/include))
TF_CFLAGS = $(shell $(PY) -c 'import tensorflow as tf; print(" ".join(tf.sysconfig.get_compile_flags()))' 2>/dev/null)
TF_LFLAGS = $(shell $(PY) -c 'import tensorflow as tf; print(" ".join(tf.sysconfig.get_link_flags()))' 2>/dev/null)
TF_VERSION = $(shell $(PY) -c 'import tensorflow as tf; print(tf.__version__)' 2>/dev/null)
CXX_QUIET := -Wno-deprecated-declarations -Wno-interference-size

build/native/resampler_cuda_check: sonnet/cc/tests/resampler_cuda_check.cu.cc sonnet/cc/kernels/resampler_op_gpu.cu.cc $(RESAMPLER_SRCS) $(RESAMPLER_HDRS) | $(VENV)/.deps
	@mkdir -p build/native
	g++ -fsyntax-only -std=c++17 $(CXX_QUIET) -I. $(TF_CFLAGS) -I$(CUDA_INCLUDE) -DGOOGLE_CUDA=1 -DSONNET_TF_VERSION='"$(TF_VERSION)"' sonnet/cc/kernels/resampler_op.cc
	$(NVCC) -std=c++17 -x cu -I. -c sonnet/cc/kernels/resampler_op_gpu.cu.cc -o build/native/resampler_op_gpu.o
	$(NVCC) -std=c++17 -x cu -I. sonnet/cc/tests/resampler_cuda_check.cu.cc sonnet/cc/kernels/resampler_op_gpu.cu.cc -o $@

# The CPU loops outside TensorFlow: every instruction set against the
# reference, under ASan and UBSan, with gather indices checked.
build/native/resampler_cpu_check: sonnet/cc/tests/resampler_cpu_check.cc $(RESAMPLER_HDRS)
	@mkdir -p build/native
	g++ -std=c++17 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	  -ffp-contract=off -DSONNET_RESAMPLER_CHECK_GATHERS -I. -pthread $< -o $@

resampler-cpu: build/native/resampler_cpu_check
	ASAN_OPTIONS=detect_leaks=0 $< 3000

resampler-cuda:
	@if command -v $(NVCC) >/dev/null; then \
	  $(MAKE) --no-print-directory build/native/resampler_cuda_check && \
	  echo "resampler CUDA: kernels, harness and GPU kernel registration compiled (compile only, no GPU here);" \
	    "on a GPU machine run build/native/resampler_cuda_check"; \
	else echo "resampler CUDA: SKIPPED, no nvcc found (set NVCC=/path/to/nvcc)"; fi

build/asan/_resampler.so: $(RESAMPLER_SRCS) $(RESAMPLER_HDRS) | $(VENV)/.deps
	@mkdir -p build/asan
	g++ -shared -fPIC -O1 -g -fsanitize=address -fno-omit-frame-pointer -ffp-contract=off -std=c++17 $(CXX_QUIET) -I. $(TF_CFLAGS) \
	  -DSONNET_TF_VERSION='"$(TF_VERSION)"' $(RESAMPLER_SRCS) -o $@ $(TF_LFLAGS)

resampler-asan: build/asan/_resampler.so
	LD_PRELOAD="$$(g++ -print-file-name=libasan.so) $$(g++ -print-file-name=libstdc++.so.6)" \
	  ASAN_OPTIONS=detect_leaks=0 TF_CPP_MIN_LOG_LEVEL=3 $(PY) tests/resampler_fuzz.py $< 3000

resampler-bazel: setup
	@command -v bazel >/dev/null || { apt-get update -q && apt-get install -y -q bazel-bootstrap; }
	./configure $(PY)
	@mkdir -p build
	bazel --batch build --spawn_strategy=standalone --noshow_progress :install > build/bazel.log 2>&1 \
	  || { tail -50 build/bazel.log; exit 1; }
	rm -rf build/wheel build/wheel-venv
	./bazel-bin/install build/wheel
	$(PY) -m venv build/wheel-venv
	$(PY) -c 'import site; print(site.getsitepackages()[0])' > "$$(build/wheel-venv/bin/python -c 'import site; print(site.getsitepackages()[0])')/dev-deps.pth"
	build/wheel-venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-index build/wheel/*.whl
	cd build && wheel-venv/bin/python -c 'import sonnet, sonnet.python.ops.resampler as r; \
	  assert "wheel-venv" in sonnet.__file__ and r.resampler_is_available(), (sonnet.__file__, r._load_error)'
	cd build && wheel-venv/bin/python -m pytest -q -p no:cacheprovider ../tests/test_resampler.py ../tests/test_resampler_e2e.py
