# gtr — two commands: `make run` and `make test`.
SHELL := /bin/bash
APT_PACKAGES := libedit-dev libopenblas-dev libsqlite3-dev libcurl4-openssl-dev tmux python3
SWIFT_RELEASE := swift build -c release
# Tests run in release (numeric code is 10-100x slower in debug) with @testable imports enabled.
SWIFT_TEST := swift test -c release -Xswiftc -enable-testing
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: run test bench setup build clean

setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

build: setup
	$(SWIFT_RELEASE) --product gtr

run: build
	@.build/release/gtr

test: setup
	$(SWIFT_TEST)

bench: setup
	$(SWIFT_RELEASE) --product gtr-bench --product gtr
	@.build/release/gtr-bench

clean:
	rm -rf .build
