# The two commands that matter on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test demo lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,fast]'
	touch $(STAMP)

install: $(STAMP)

# Two workers: most tests wait on sockets and timers; the real-Asterisk tier and the
# chaos tests keep to one worker between them.
test: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup

demo: $(STAMP)
	$(BIN)/dialer demo

lint: $(STAMP)
	$(BIN)/ruff check dialer tests
	$(BIN)/mypy dialer/core

bench: $(STAMP)
	$(BIN)/dialer bench import
	$(BIN)/dialer bench compliance
	$(BIN)/dialer bench sim
	$(BIN)/dialer bench engine
	$(BIN)/dialer bench pacing --scenario scenarios/S1.yaml
	$(BIN)/dialer bench pacing --scenario scenarios/S2.yaml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache artifacts
