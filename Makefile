VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench chaos mutants chaos-figures clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/token_budget.py

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/run.py

chaos: $(STAMP)
	$(PY) -m ctxmgr.testing.chaos --seeds 1000 --contender both --concurrency 24

mutants: $(STAMP)
	$(PY) tools/mutants.py --jobs 2 --write

chaos-figures: $(STAMP)
	$(PY) tools/chaos_figures.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
