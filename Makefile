# vmemscope developer entry points.  See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
VPY         := $(VENV)/bin/python
PIP         := $(VPY) -m pip --disable-pip-version-check
PORT        ?= 8000
PYTEST_ARGS ?=
CHROMIUM    := /usr/bin/chromium

export VMEMSCOPE_TEST_OUTPUT := test-output

# Stamps live inside the venv, so deleting .venv resets everything.
VENV_STAMP := $(VENV)/.stamp-install
TEST_STAMP := $(VENV)/.stamp-test-deps
EXT_STAMP  := $(VENV)/.stamp-ext
ENGINE_SRC := $(wildcard engine/*.pyx engine/*.pxd)

.PHONY: help venv run test test-deps lock bench load docs validate-kernel kernel-deps postgres-deps build-ext chromium plotly-bundle clean distclean

help:
	@echo "make run        build the engine and start the dashboard on http://127.0.0.1:$(PORT)"
	@echo "make test       install every test dependency (pip extras; Debian chromium, qemu, kernel,"
	@echo "                busybox, PostgreSQL when root) and run the test suite"
	@echo "make bench      run the engine and API benchmarks (prints figures, asserts nothing)"
	@echo "make validate-kernel  boot Debian's kernel under QEMU and compare it with the engine"
	@echo "make load       60 s load test: 50 simulated trainees on 127.0.0.1 (prints latencies)"
	@echo "make docs       regenerate the figures and screenshots in docs/ (needs chromium)"
	@echo "make build-ext  rebuild the Cython extension in place (dev loop)"
	@echo "make image-replay  build the Dockerfile's image without Docker (chroots; root, ~10 min) and start it"
	@echo "make plotly-bundle  rebuild static/vendor/plotly-heatmap.min.js (plotly.js core + heatmap; node, npm)"
	@echo "make lock       rewrite requirements.lock (the image's pinned run-time dependencies) from .venv"
	@echo "make clean      remove build artefacts (keeps .venv); distclean also removes .venv"

venv: $(EXT_STAMP)

# Create/reuse the venv and do the editable install (compiles engine/_query_c and engine/_replay_c in place).
# Re-runs only when the packaging files change or a top-level package appears: the
# editable finder maps only the packages that existed at install time.
PKG_INITS  := $(wildcard engine/__init__.py app/__init__.py)

$(VENV_STAMP): pyproject.toml setup.py $(PKG_INITS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "vmemscope needs Python >= 3.11, $(PYTHON) is " + sys.version.split()[0])'
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=77" "Cython>=3.0"
	$(PIP) install -q -e . --no-build-isolation
	@touch $@

# Recompile the extension when the Cython sources change after the install
# (an editable install does not rebuild by itself).
$(EXT_STAMP): $(VENV_STAMP) $(ENGINE_SRC)
	$(VPY) setup.py -q build_ext --inplace
	@touch $@

build-ext: $(VENV_STAMP)
	$(VPY) setup.py build_ext --inplace
	@touch $(EXT_STAMP)

run: venv
	$(VPY) -m app.cli serve --host 127.0.0.1 --port $(PORT)

$(TEST_STAMP): $(VENV_STAMP)
	$(PIP) install -q -e '.[test,postgres]' --no-build-isolation
	@touch $@

# Debian's chromium is used by playwright and kaleido (no browser downloads here).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then \
	    echo ">> installing Debian chromium + fonts-liberation"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-liberation </dev/null; \
	  else \
	    echo "ERROR: $(CHROMIUM) is missing and we are not root."; \
	    echo "       Install it with: sudo apt-get install --no-install-recommends chromium fonts-liberation"; \
	    exit 1; \
	  fi; \
	fi

# Everything any test needs, on a fresh Debian machine as root (CI calls only `make test`).
test-deps: venv $(TEST_STAMP) chromium kernel-deps postgres-deps

test: test-deps
	@mkdir -p $(VMEMSCOPE_TEST_OUTPUT)
	$(VPY) -m pytest --junitxml=$(VMEMSCOPE_TEST_OUTPUT)/junit.xml $(PYTEST_ARGS)

# The image installs vmemscope[postgres] with these exact versions (Dockerfile).
lock: $(TEST_STAMP)
	$(VPY) scripts/lock_requirements.py

bench: venv $(TEST_STAMP) chromium
	$(VPY) bench/bench_engine.py
	$(VPY) bench/bench_peer.py
	$(VPY) bench/bench_api.py
	$(VPY) bench/bench_figures.py
	$(VPY) bench/bench_browser.py
	$(VPY) bench/bench_fair.py

# QEMU, Debian's kernels (6.1 installed; 6.12 and 7.3 fetched into ~/.cache/vmemscope/kernels) and
# busybox for the live kernel validation (root: apt-get)
kernel-deps:
	@if ! command -v qemu-system-x86_64 >/dev/null || ! ls /boot/vmlinuz-* >/dev/null 2>&1 || [ ! -x /bin/busybox ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then \
	    echo ">> installing qemu-system-x86, linux-image-amd64, busybox-static"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-system-x86 linux-image-amd64 busybox-static </dev/null; \
	  else \
	    echo "ERROR: install qemu-system-x86 linux-image-amd64 busybox-static (as root)"; exit 1; \
	  fi; \
	fi
	@# the 6.12 (bookworm-backports) and 7.3 (trixie-backports) kernels, downloaded once as plain vmlinuz files
	$(PYTHON) -m validate.kernels fetch

# Debian's PostgreSQL server binaries: the storage tests start a throw-away cluster with them
# (tests/storage/conftest.py; initdb/pg_ctl run as the `postgres` user the package creates).
postgres-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! id postgres >/dev/null 2>&1; then \
	  if [ "$$(id -u)" -eq 0 ]; then \
	    echo ">> installing postgresql"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql </dev/null; \
	  else \
	    echo "ERROR: install postgresql (as root): apt-get install --no-install-recommends postgresql"; exit 1; \
	  fi; \
	fi

# SCENARIO=validate/scenarios/B_mmo0_hvo_on.json KERNEL=/boot/vmlinuz-... make validate-kernel
validate-kernel: venv kernel-deps
	$(VPY) -m validate.harness $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(KERNEL),--kernel $(KERNEL)) --out $(VMEMSCOPE_TEST_OUTPUT)/kernel

# No Docker engine here or in CI: replay the Dockerfile in chroots (debootstrap'd stand-in for the base) and
# start the result (HEALTHCHECK, /, /readyz, a PNG and an SVG figure). Root, a Debian mirror and PyPI.
image-replay:
	command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap
	$(PYTHON) validate/image_replay.py

load: venv
	$(VPY) bench/load_walkthrough.py --users 50 --seconds 60

# Every picture in docs/ comes from these commands (the same figure builder as the dashboard); the
# figure commands share one Chromium per command. tests/app/test_docs_figures.py reads this recipe.
DOCS_SC := docs/scenarios
DOCS_FIG := docs/figures
docs: venv chromium
	$(VPY) -m app.cli render $(DOCS_SC)/default.json --view map --range 0x100000-0x110000 --out $(DOCS_FIG)/map.svg --title "memory32 (memmap_on_memory) and memory33 (memmap from the buddy allocator)"
	$(VPY) -m app.cli render $(DOCS_SC)/default.json --view map --range 0x100000-0x100200 --out $(DOCS_FIG)/self-mapping.svg --height 300
	$(VPY) -m app.cli render $(DOCS_SC)/dimm-1g-6.8.json --view map --out $(DOCS_FIG)/map-per-block.svg --out $(DOCS_FIG)/map-per-block.png
	$(VPY) -m app.cli render $(DOCS_SC)/default.json --view hvo --head_pfn 0x108200 --out $(DOCS_FIG)/hvo-2m.svg
	$(VPY) -m app.cli render $(DOCS_SC)/default.json --view hvo --head_pfn 0x100200 --out $(DOCS_FIG)/hvo-refused.svg --out $(DOCS_FIG)/hvo-refused.png
	$(VPY) -m app.cli render $(DOCS_SC)/hvo-5.17.json --view hvo --out $(DOCS_FIG)/hvo-5.17.svg --out $(DOCS_FIG)/hvo-5.17.png
	$(VPY) -m app.cli render $(DOCS_SC)/hvo-6.1.json --view hvo --out $(DOCS_FIG)/hvo-6.1.svg --out $(DOCS_FIG)/hvo-6.1.png
	$(VPY) -m app.cli render $(DOCS_SC)/hvo-6.12.json --view hvo --out $(DOCS_FIG)/hvo-6.12.svg --out $(DOCS_FIG)/hvo-6.12.png
	$(VPY) -m app.cli render $(DOCS_SC)/hvo-7.3.json --view hvo --out $(DOCS_FIG)/hvo-7.3.svg --out $(DOCS_FIG)/hvo-7.3.png
	$(VPY) -m app.cli render $(DOCS_SC)/default.json --view memmap --block 32 --out $(DOCS_FIG)/memmap-self.svg --out $(DOCS_FIG)/memmap-self.png
	$(VPY) -m app.cli render $(DOCS_SC)/dimm-1g-6.8.json --view memmap --block 32 --out $(DOCS_FIG)/memmap-per-block.svg --out $(DOCS_FIG)/memmap-per-block.png
	$(VPY) -m app.cli render-walkthrough --all --out docs/walkthroughs
	$(VPY) -m app.cli screenshot --out docs/start_page.png --full-page
	$(VPY) -m app.cli screenshot --walkthrough memmap-on-memory --step 2 --out docs/walkthrough_step.png

# The dashboard's Plotly (vendored, so running needs no node): plotly.js's core and heatmap trace, built
# from the npm release pinned in scripts/plotly_bundle/package.json; bump it with the plotly package.
plotly-bundle:
	cd scripts/plotly_bundle && npm install --no-save --no-audit --no-fund --ignore-scripts && node build.js

clean:
	rm -rf build dist *.egg-info $(VMEMSCOPE_TEST_OUTPUT) .pytest_cache .hypothesis
	rm -f engine/*.c engine/*.so $(EXT_STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
