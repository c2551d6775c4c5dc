# Two entry points: `make run` (set up, cluster the bundled digits) and `make test`.
# torch is installed first, pinned, so that pip does not pull a multi-GB CUDA build to satisfy
# the open `torch>=2.1` range in pyproject.toml. GPU users: make TORCH="torch==2.13.0" \
#   TORCH_INDEX="--index-url https://download.pytorch.org/whl/cu126"
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.deepclust-installed

.PHONY: run test setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH)" $(TORCH_INDEX)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/deepclust fit

test: $(STAMP)
	@# The report test renders report.html in headless Chromium (Debian's package); as root, install it when missing.
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || \
		  { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; }; } || \
		echo "chromium is not installed (Debian package 'chromium'); the report test will be skipped"; }
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs .pytest_cache
