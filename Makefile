# depthsolve: MiDaS depth estimation in C/CUDA.
#
#   make              build/depthsolve, build/libdepthsolve.{a,so}
#   make test         every test, plain and under ASan+UBSan (build/asan)
#   make check-layers the include rules between folders (part of make test)
#   make test-gpu     the CUDA kernel and backend tests on a GPU (skipped without one)
#   make fuzz         libFuzzer targets (clang), FUZZ_SECONDS each
#   make blender-extension  build/depthsolve-blender.zip (Blender 4.2+; python/ is the binding)
#   make clean
#
# Knobs: DEBUG=1 (-O0), SANITIZE=1 (ASan+UBSan), CUDA=0 (ignore CUDA even if found).

BUILD    ?= build
CC       ?= cc
CLANG    ?= clang
FUZZ_SECONDS ?= 60

# Two include roots: runtime/ ("graph/graph.h") and the repository
# ("weights_tools/convert.h", "src/io/image.h", "kernels/kernels.h").
# Which folder may include which: scripts/check-layers (make check-layers).
INCLUDES := -Iruntime -I.

# OpenBLAS's OpenMP build, kept single-threaded (runtime/cpu/blas.c): it starts
# no thread of its own, and runs on ours. Every parallel loop of the library is
# on our own pool (runtime/base/pool.h), none on OpenMP: no -fopenmp, so an
# `#pragma omp` left anywhere is an error (-Wunknown-pragmas, -Werror).
OPENBLAS ?= /usr/lib/x86_64-linux-gnu/openblas-openmp
OPENBLAS_INC ?= /usr/include/x86_64-linux-gnu/openblas-openmp

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wvla -Wstrict-prototypes
# Hidden visibility: libdepthsolve.so exports the DS_API functions of depthsolve.h alone.
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -g -ffp-contract=off $(WARN) $(INCLUDES) \
                 -I$(OPENBLAS_INC) -MMD -MP
LDLIBS   := -lzip -ldeflate -lcjson -lpng -ljpeg -lcurl -lcrypto -L$(OPENBLAS) -Wl,-rpath,$(OPENBLAS) -lopenblas -lm \
            -lpthread

ifeq ($(DEBUG),1)
  OPT := -O0
else
  OPT := -O2
endif
ifeq ($(SANITIZE),1)
  OPT := -O1
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
CFLAGS  += $(OPT) $(SANFLAGS) $(CFLAGS_COMMON)
LDFLAGS += $(SANFLAGS)

# ---- what is there --------------------------------------------------------
CUDA_HOME ?= /usr/local/cuda
ifneq ($(CUDA),0)
  NVCC     := $(shell command -v nvcc 2>/dev/null)
  CUDNN_H  := $(firstword $(wildcard $(CUDA_HOME)/include/cudnn_version.h /usr/include/cudnn_version.h))
endif
ifeq ($(MAKELEVEL),0)
  ifneq ($(NVCC),)
    $(info nvcc   ✓ $(shell $(NVCC) --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') ($(NVCC)))
  else
    $(info nvcc   ✗ (CUDA parts skipped))
  endif
  ifneq ($(CUDNN_H),)
    $(info cuDNN  ✓ $(shell awk '/define CUDNN_(MAJOR|MINOR|PATCHLEVEL) /{printf "%s%s", sep, $$3; sep="."}' $(CUDNN_H)))
  else
    $(info cuDNN  ✗)
  endif
endif

# ---- sources ----------------------------------------------------------------
# Every C file of runtime/ but the CUDA folder's stubs (chosen below), and of weights_tools/.
LIB_SRC  := $(filter-out runtime/cuda/%,$(shell find runtime weights_tools -name '*.c' | sort))
CLI_SRC  := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
TEST_SRC := $(wildcard tests/test_*.c)
TEST_SRC := $(filter-out tests/test_harness.c,$(TEST_SRC))
TEST_SUPPORT := $(filter-out $(TEST_SRC),$(wildcard tests/*.c))
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_OBJ  := $(call obj,$(LIB_SRC))
CLI_OBJ  := $(call obj,$(CLI_SRC))
MAIN_OBJ := $(call obj,src/main.c)
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
FUZZ_REPLAY_BIN := $(patsubst fuzz/%.c,$(BUILD)/fuzz-replay/%,$(FUZZ_SRC))

.PHONY: all lib test test-bin models fuzz clean check-layers
all: $(BUILD)/depthsolve $(BUILD)/libdepthsolve.a $(BUILD)/libdepthsolve.so

# V=1 shows full command lines.
Q := $(if $(filter 1,$(V)),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Vector kernels: files named *_avx2.c are built for AVX2+FMA and must only be
# called after a runtime check (__builtin_cpu_supports), with a portable path beside.
$(BUILD)/obj/%_avx2.o: %_avx2.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (avx2)")
	$(Q)$(CC) $(CFLAGS) -O3 -mavx2 -mfma -c $< -o $@

# *_avx512.c: AVX-512 F/BW/DQ/VL, called only when the engine picked DS_ISA_AVX512.
$(BUILD)/obj/%_avx512.o: %_avx512.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (avx512)")
	$(Q)$(CC) $(CFLAGS) -O3 -mavx2 -mfma -mavx512f -mavx512bw -mavx512dq -mavx512vl -c $< -o $@

# ---- the CUDA backends inside the library -------------------------------------
# The CUDA backend (runtime/cuda/backend*.cu, dispatch.cu) is built
# twice, as kernels/ are (see the CUDA section): by g++ against the emulator
# for --device cuda-emu (with the emulator and the g++ kernels), whenever the
# CUDA headers are there; and by nvcc for --device cuda, when nvcc is there
# and this is not the sanitizer build. A build without one says so through
# a stub backend (runtime/cuda/backend_cuda*_none.c).
CUDA_H        := $(wildcard $(CUDA_HOME)/include/cuda_runtime.h)
NVCC_BUILD    := $(if $(NVCC),$(CUDA_H))
ifeq ($(SANITIZE),1)
  NVCC_LIB :=
else
  NVCC_LIB := $(NVCC_BUILD)
endif
KERNEL_SRC    := $(shell find kernels -name '*.cu' | sort)
EMU_SRC       := $(wildcard runtime/gpu/emu/*.cc) runtime/cuda/gpu_libs_emu.cc
BACKEND_CU    := runtime/cuda/backend.cu runtime/cuda/backend_prepare.cu runtime/cuda/backend_run.cu \
                 runtime/cuda/backend_photo.cu runtime/cuda/dispatch.cu
# The cuDNN + cuBLASLt seam when cuDNN's headers are there, else one that says it is missing
CUDNN_SRC     := runtime/cuda/gpu_libs_cudnn.cu runtime/cuda/cudnn_conv.cu runtime/cuda/tune_cache.cu \
                 runtime/cuda/cublaslt_load.cu
GPU_LIBS_CU   := $(if $(CUDNN_H),$(CUDNN_SRC),runtime/cuda/gpu_libs_stub.cu)
EMU_OBJ       := $(patsubst %,$(BUILD)/emu/%.o,$(basename $(EMU_SRC) $(KERNEL_SRC)))
CUDA_OBJ      := $(patsubst %.cu,$(BUILD)/cuda/%.o,$(KERNEL_SRC) runtime/cuda/gpu_rt_cuda.cu)
ifneq ($(CUDA_H),)
  LIB_CUDA_OBJ := $(EMU_OBJ) $(patsubst %.cu,$(BUILD)/emu/%.o,$(BACKEND_CU))
else
  LIB_CUDA_OBJ := $(call obj,runtime/cuda/backend_cuda_emu_none.c)
endif
ifneq ($(NVCC_LIB),)
  LIB_CUDA_OBJ += $(CUDA_OBJ) $(patsubst %.cu,$(BUILD)/cuda/%.o,$(BACKEND_CU) $(GPU_LIBS_CU))
  # cuBLASLt is opened on first use (runtime/cuda/cublaslt_load.cu), not linked
  LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcudart
else
  LIB_CUDA_OBJ += $(call obj,runtime/cuda/backend_cuda_none.c)
endif
LDLIBS += -lstdc++
LIB_ALL_OBJ := $(LIB_OBJ) $(LIB_CUDA_OBJ)

# q, not r: the emulated and the nvcc objects share file names (add.o, ...).
$(BUILD)/libdepthsolve.a: $(LIB_ALL_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar qcs $@ $^

$(BUILD)/libdepthsolve.so: $(LIB_ALL_OBJ) runtime/exports.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-z,defs -Wl,--version-script=runtime/exports.map $(LDFLAGS) -o $@ $(LIB_ALL_OBJ) $(LDLIBS)

$(BUILD)/libcli.a: $(CLI_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/depthsolve: $(MAIN_OBJ) $(BUILD)/libcli.a $(BUILD)/libdepthsolve.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(call obj,$(TEST_SUPPORT)) $(BUILD)/libcli.a $(BUILD)/libdepthsolve.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets built as plain programs that replay the corpus and the
# regression files: every crash ever found stays a test in `make test`.
$(BUILD)/fuzz-replay/%: $(BUILD)/obj/fuzz/%.o $(BUILD)/obj/fuzz/replay_main.o $(BUILD)/libcli.a $(BUILD)/libdepthsolve.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

test-bin: all $(TEST_BIN) $(FUZZ_REPLAY_BIN)

# Synthetic-weight models the tests run (the plain build's, shared with build/asan).
ARCHS  := midas_v21_small_256 midas_v21_384 dpt_hybrid_384 dpt_large_384 \
          dpt_swin2_large_384 dpt_swin2_base_384 dpt_swin2_tiny_256 dpt_swin_large_384 \
          dpt_levit_224
ARCHS  += depth_anything_v2_vits depth_anything_v2_vitb depth_anything_v2_vitl \
          depth_anything_v2_metric_hypersim_vits depth_anything_v2_metric_vkitti_vitl
ARCHS  += da3_small da3mono_large da3metric_large
ARCHS  += dpt_beit_large_512 dpt_beit_large_384 dpt_beit_base_384
MODELS_DIR := build/models
MODELS := $(ARCHS:%=$(MODELS_DIR)/%.gguf)
$(MODELS_DIR)/%.gguf: $(BUILD)/depthsolve
	@mkdir -p $(dir $@)
	@echo "  SYNTH   $@"
	$(Q)$(BUILD)/depthsolve synth -q --arch $* -o $@
models: $(MODELS)

# Which folder may include which (README, "Code map"): fails on an include
# outside scripts/check-layers' table.
check-layers:
	@scripts/check-layers

# OPENBLAS_CORETYPE=Haswell: the environment's choice for this CPU; kept in tests.
test: check-layers
	$(MAKE) test-bin models blender-extension
	$(MAKE) BUILD=$(BUILD)/asan SANITIZE=1 test-bin
	DS_MODELS=$(MODELS_DIR) OPENBLAS_CORETYPE=$${OPENBLAS_CORETYPE:-Haswell} \
	    tests/run.sh $(BUILD) $(BUILD)/asan

# ---- the Python binding and the Blender extension -------------------------------
# python/depthsolve (ctypes over libdepthsolve.so) and blender/ (the extension),
# packed with the library by scripts/blender-extension. binding_ref is the C
# side of their tests (tests/cli_python.sh, tests/cli_blender.sh).
BINDING_REF := $(BUILD)/tests/python/binding_ref
$(BINDING_REF): $(call obj,tests/python/binding_ref.c) $(BUILD)/libcli.a $(BUILD)/libdepthsolve.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
test-bin: $(BINDING_REF)

.PHONY: blender-extension
blender-extension: $(BUILD)/depthsolve-blender.zip
$(BUILD)/depthsolve-blender.zip: $(BUILD)/libdepthsolve.so scripts/blender-extension \
                                 $(wildcard blender/*.py blender/*.toml python/depthsolve/*.py)
	$(Q)scripts/blender-extension $(BUILD)/libdepthsolve.so $@

# ---- CUDA ---------------------------------------------------------------------
# kernels/**/*.cu are compiled twice from the same source:
#  - by nvcc, for the GPUs of CUDA_ARCHS (SASS, and PTX of the newest for the
#    ones to come), with register spills and local memory as errors; ptxas's
#    per-kernel resources go to $(BUILD)/cuda/resources.txt. Skipped with
#    CUDA=0, without nvcc, and in the sanitizer build.
#  - by g++ against the CPU emulator (runtime/gpu/emu), linked into the
#    tests/test_cuda_*.cu binaries that `make test` runs, plain and under
#    ASan. This needs only the CUDA headers.
# `make test-gpu` runs the device-capable tests (GPU_TESTS) built by nvcc on
# the GPU; they say so and pass when there is none.
CUDA_ARCHS ?= 75 80 86 89 90 100 120
GPU_TESTS  := test_cuda_nn_conv test_cuda_nn_attention test_cuda_nn_tokens test_cuda_photo \
              test_cuda_semantics test_cuda_mesh test_cuda_render test_cuda_half

CUDA_TEST_SRC := $(wildcard tests/test_cuda_*.cu)
CUDA_INCLUDES := $(INCLUDES) -isystem $(CUDA_HOME)/include

EMU_CXXFLAGS := -std=c++17 -D_GNU_SOURCE -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -g -ffp-contract=off -Wall -Wextra -Werror -Wformat=2 -Wvla \
                $(OPT) $(SANFLAGS) $(CUDA_INCLUDES) -MMD -MP
EMU_TEST_BIN := $(patsubst tests/%.cu,$(BUILD)/tests/%,$(CUDA_TEST_SRC))

NVCC_GENCODE := $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a)) \
                -gencode arch=compute_$(lastword $(CUDA_ARCHS)),code=compute_$(lastword $(CUDA_ARCHS))
NVCC_FLAGS   := -std=c++17 -O3 -Werror all-warnings -Xcompiler -fPIC,-fvisibility=hidden,-Wall,-Wextra,-Werror \
                -Xptxas -v,-warn-spills,-warn-lmem-usage,-Werror $(CUDA_INCLUDES) -MMD -MP
GPU_TEST_BIN := $(GPU_TESTS:%=$(BUILD)/gpu/%)

ifeq ($(MAKELEVEL),0)
  ifeq ($(CUDA_H),)
    $(info cu-emu ✗ (no $(CUDA_HOME)/include/cuda_runtime.h: emulated CUDA tests skipped))
  else
    $(info cu-emu ✓ (kernels/**/*.cu on the CPU emulator, g++))
  endif
endif

.PHONY: cuda test-gpu
# Kept, not deleted as intermediates: else every make relinks the CUDA tests.
.SECONDARY: $(EMU_OBJ) $(CUDA_OBJ) $(patsubst tests/%.cu,$(BUILD)/emu/tests/%.o,$(CUDA_TEST_SRC)) \
            $(GPU_TESTS:%=$(BUILD)/gpu/%.o) $(call obj,$(TEST_SUPPORT))
ifneq ($(CUDA_H),)
test-bin: $(EMU_TEST_BIN)
endif
ifneq ($(NVCC_BUILD),)
ifneq ($(SANITIZE),1)
all: cuda
endif
endif

$(BUILD)/emu/%.o: %.cc
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $< (emu)")
	$(Q)$(CXX) $(EMU_CXXFLAGS) -c $< -o $@

$(BUILD)/emu/%.o: %.cu
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $< (emu)")
	$(Q)$(CXX) -x c++ $(EMU_CXXFLAGS) -c $< -o $@

# The emulator and the g++ kernels come from the library (LIB_CUDA_OBJ).
$(BUILD)/tests/test_cuda_%: $(BUILD)/emu/tests/test_cuda_%.o $(call obj,$(TEST_SUPPORT)) \
                            $(BUILD)/libcli.a $(BUILD)/libdepthsolve.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ptxas's report goes to a .ptxas file next to the object, shown on failure.
$(BUILD)/cuda/%.o: %.cu
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NVCC    $<")
	$(Q)$(NVCC) $(NVCC_GENCODE) $(NVCC_FLAGS) -c $< -o $@ 2> $(@:.o=.ptxas) || { cat $(@:.o=.ptxas); rm -f $@; exit 1; }

$(BUILD)/cuda/resources.txt: $(CUDA_OBJ) scripts/ptxas-report
	@$(if $(Q),echo "  REPORT  $@")
	$(Q)scripts/ptxas-report $(patsubst %.cu,$(BUILD)/cuda/%.ptxas,$(KERNEL_SRC)) > $@

# Tests for the GPU: PTX only (compiled for the device at load), the kernels as built above.
$(BUILD)/gpu/%.o: tests/%.cu
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NVCC    $<")
	$(Q)$(NVCC) -gencode arch=compute_75,code=compute_75 $(NVCC_FLAGS) -c $< -o $@ 2> $(@:.o=.ptxas) || { cat $(@:.o=.ptxas); rm -f $@; exit 1; }

# The nvcc kernels and the CUDA libraries come from the library (LIB_CUDA_OBJ, LDLIBS).
$(BUILD)/gpu/%: $(BUILD)/gpu/%.o $(call obj,$(TEST_SUPPORT)) $(BUILD)/libcli.a $(BUILD)/libdepthsolve.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# cuDNN + cuBLASLt (runtime/cuda/gpu_libs_cudnn.cu and its helpers), built by
# nvcc when cuDNN's headers are there. tests/test_cudnn_graphs.cu builds every
# convolution's cuDNN graph and plans for an H100 without a device; it runs in
# `make test` (plain build). Without nvcc or cuDNN a script says SKIP instead.
# The seam's objects are in the library (GPU_LIBS_CU), and its libraries in LDLIBS.
CUDNN_TEST := $(BUILD)/tests/test_cudnn_graphs
CUDNN_BUILD := $(if $(CUDNN_H),$(NVCC_BUILD))
.SECONDARY: $(BUILD)/gpu/test_cudnn_graphs.o
ifneq ($(SANITIZE),1)
test-bin: $(CUDNN_TEST)
ifneq ($(CUDNN_BUILD),)
$(CUDNN_TEST): $(BUILD)/gpu/test_cudnn_graphs.o $(call obj,$(TEST_SUPPORT)) \
               $(BUILD)/libcli.a $(BUILD)/libdepthsolve.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CXX) $(LDFLAGS) -o $@ $^ $(LDLIBS)
else
$(CUDNN_TEST):
	@mkdir -p $(dir $@)
	$(Q)printf '#!/bin/sh\necho "SKIP test_cudnn_graphs: no nvcc or no cuDNN headers"\n' > $@ && chmod +x $@
endif
endif

# FLOPs, bytes and the H100 floor of each network (bench/RESULTS.md); plain C.
$(BUILD)/net_floor: $(call obj,bench/net_floor.c) $(BUILD)/libdepthsolve.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ds_mesh_build's time on the CPU (bench/RESULTS.md, bench/mesh_bench.sh); plain C.
$(BUILD)/mesh_bench: $(call obj,bench/mesh_bench.c) $(BUILD)/libdepthsolve.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Frames per second of the animate renderer (bench/RESULTS.md), optionally into MP4.
$(BUILD)/render_bench: $(call obj,bench/render_bench.c) $(BUILD)/libcli.a $(BUILD)/libdepthsolve.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

ifneq ($(NVCC_BUILD),)
cuda: $(BUILD)/cuda/resources.txt $(GPU_TEST_BIN)
# ... and the backend test on the device (the four networks, fp16, replay, leaks).
test-gpu: $(GPU_TEST_BIN) $(BUILD)/tests/test_backend_cuda $(BUILD)/tests/test_backend_cuda_engine \
          $(BUILD)/tests/test_dav2_backend $(BUILD)/tests/test_da3 models
	@for t in $(GPU_TEST_BIN); do echo "--- $$t"; $$t || exit 1; done
	@echo "--- $(BUILD)/tests/test_backend_cuda (DS_TEST_DEVICE=cuda)"
	@DS_TEST_DEVICE=cuda DS_MODELS=$(MODELS_DIR) $(BUILD)/tests/test_backend_cuda
	@echo "--- $(BUILD)/tests/test_backend_cuda_engine (DS_TEST_DEVICE=cuda)"
	@DS_TEST_DEVICE=cuda DS_MODELS=$(MODELS_DIR) $(BUILD)/tests/test_backend_cuda_engine
	@echo "--- $(BUILD)/tests/test_dav2_backend (DS_TEST_DEVICE=cuda)"
	@DS_TEST_DEVICE=cuda DS_MODELS=$(MODELS_DIR) $(BUILD)/tests/test_dav2_backend
	@echo "--- $(BUILD)/tests/test_da3 (DS_TEST_DEVICE=cuda)"
	@DS_TEST_DEVICE=cuda DS_MODELS=$(MODELS_DIR) $(BUILD)/tests/test_da3
else
cuda test-gpu:
	@echo "$@: skipped: no nvcc or no $(CUDA_HOME)/include (CUDA=0, or no CUDA toolkit)"
endif

# ---- fuzzing (clang + libFuzzer) ---------------------------------------------
# One clang command over every source: the *_avx2.c files need their ISA, so
# the fuzzers (run on the machine that builds them) take it for all.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) $(INCLUDES) -I$(OPENBLAS_INC) -mavx2 -mfma \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_BIN := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

# The fuzzers test the readers: the engine gets the no-CUDA backends.
FUZZ_LIB_SRC := $(LIB_SRC) runtime/cuda/backend_cuda_none.c runtime/cuda/backend_cuda_emu_none.c
$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_LIB_SRC) $(CLI_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_SRC) $(CLI_SRC) $(LDLIBS)

fuzz: $(FUZZ_BIN)
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(BUILD)/fuzz

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
