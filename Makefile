# The two commands a newcomer needs: `make run` and `make test`. Both create .venv if missing.
# `make run` installs only what the default life needs (torch and the core dependencies);
# `make test` and `make setup` install the extras too (Ray, MuJoCo, Stable-Baselines3, MinAtar,
# MiniGrid, the test tools). Two stamps record what is installed, each redone when pyproject.toml
# changes: `make run` after `make test` installs nothing; `make test` after `make run` adds the
# extras.
VENV   := .venv
PY     := $(VENV)/bin/python
CORE   := $(VENV)/.installed-core
ALL    := $(VENV)/.installed-all
EXTRAS := dev,worlds,baseline,ray,mujoco
# Extra arguments for `make run`, e.g. make run ARGS="--steps 20000 --dir runs/short"
ARGS   ?= --dir runs/nursery

.PHONY: setup browser run test bench lint clean

# Everything: the core and all the extras (what `make test`, `bench` and `lint` use).
setup: $(ALL)

# torch is pinned and installed first: 2.13.0 is the CPU build on these machines,
# a bare `torch` would pull a CUDA build of several GB.
# The core: what `lifelong run` needs for the default life (Nursery, live display, TensorBoard).
$(CORE): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e .
	touch $(CORE)

# The core and every extra; it stands for the core stamp too, so `make run` then reinstalls nothing.
$(ALL): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(ALL) $(CORE)

run: $(CORE)
	$(VENV)/bin/lifelong run $(ARGS)

# The report tests render pages in headless Chromium: installed where apt and root allow it;
# elsewhere they skip, and `-rs` prints which tests skipped and why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && { apt-get install -y -q chromium >/dev/null 2>&1 \
	            || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; }; } \
	  || echo "note: chromium could not be installed; the report rendering tests will skip"

test: setup browser
	$(PY) -m pytest -n 2 -rs tests

bench: setup
	$(PY) benchmarks/throughput.py

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
