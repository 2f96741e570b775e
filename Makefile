VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench chaos mutants chaos-figures quality clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/token_budget.py

test: $(STAMP)
	$(PY) -m pytest -q


QVENV := .venv-quality
QMODEL := .quality/model.gguf

$(QVENV)/.installed: pyproject.toml bench/quality-requirements.txt
	python3 -m venv $(QVENV)
	$(QVENV)/bin/python -m pip install --quiet --upgrade pip
	$(QVENV)/bin/python -m pip install --quiet -e '.[openai]' -r bench/quality-requirements.txt
	touch $@

$(QMODEL): $(QVENV)/.installed bench/quality_model.py
	$(QVENV)/bin/python bench/quality_model.py --out $@

quality: $(QMODEL)   # minutes: not part of make test; writes bench/quality.md
	$(QVENV)/bin/python bench/quality.py --gguf $(QMODEL)

bench: $(STAMP)
	$(PY) bench/run.py

chaos: $(STAMP)
	$(PY) -m ctxmgr.testing.chaos --seeds 1000 --contender both --concurrency 24

mutants: $(STAMP)
	$(PY) tools/mutants.py --jobs 2 --write

chaos-figures: $(STAMP)
	$(PY) tools/chaos_figures.py

clean:
	rm -rf $(VENV) $(QVENV) .quality build dist *.egg-info .pytest_cache
