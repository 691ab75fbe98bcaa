# Comandos do projeto. Só precisam de Python 3.10+ e make: o ambiente virtual é criado aqui.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install lock test lint format demo lab notebooks bench stress fuzz deep clean

help:
	@echo "make demo    - roda o tutorial inteiro no sandbox offline (notebooks e resumo em build/)"
	@echo "make aula    - abre a aula ao vivo: a página que o professor projeta (em 127.0.0.1)"
	@echo "make lab     - abre os notebooks no JupyterLab"
	@echo "make test    - instala (se preciso) e roda lint + testes + notebooks"
	@echo "make lock    - atualiza o uv.lock para as versões mais novas permitidas no pyproject.toml"
	@echo "make lint    - ruff (lint e formato)"
	@echo "make format  - formata o código com ruff"
	@echo "make notebooks - reexecuta os notebooks e grava as saídas (depois de mudar o código)"
	@echo "make bench   - benchmark do ETL (5.000 mensagens, S3 com 50 ms de latência) e do gerador da turma"
	@echo "make stress  - teste de carga: 2.200 updates pelo webhook, sem perder nem duplicar"
	@echo "make fuzz    - fuzzing profundo dos handlers (Hypothesis, milhares de updates gerados)"
	@echo "make deep    - os notebooks abertos fora de ordem: todos os pares e 20 sequências sorteadas (~30 min)"
	@echo "make clean   - remove o ambiente virtual e os artefatos"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
		{ echo "Erro: é preciso Python 3.10 ou mais novo (encontrado: $$($(PYTHON) --version))."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
		{ echo "Erro: não foi possível criar o ambiente virtual. No Debian/Ubuntu: sudo apt install python3-venv"; exit 1; }

# Reinstall whenever the dependency list or the lock changes. The environment is exactly uv.lock, the versions the
# tests passed with (`--locked` fails if the lock no longer matches pyproject.toml: run `make lock`). uv installs the
# same packages as pip, many times faster. Unlike pip, uv leaves the bytecode to be compiled at first import; compiled
# here once (12 s more), it is not compiled again by every process that starts at the same time (sandboxes, kernels,
# Lambda environments): 3-4 min of CPU in `make test`.
UV_SYNC := UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --locked --quiet --compile-bytecode
$(STAMP): pyproject.toml uv.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(UV_SYNC) --extra sandbox --extra dev
	@touch $(STAMP)

install: $(STAMP)

# The lock, re-resolved to the newest releases pyproject.toml allows. Run `make test-newest` first: it tests them.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv lock --upgrade

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The tests and every notebook re-run in a fresh sandbox and compared strictly with its stored outputs, in parallel
# workers (each test module, and the notebooks together, on one worker with sandboxes of its own). The suite is
# mostly CPU-bound: one worker more than a 2-core machine's cores still gains from the waits.
WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -lt 3 ] && echo 3 || echo $$n)
test: lint
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadscope --no-loadscope-reorder -p tests.nbval_sandbox tests notebooks \
		--nbval --nbval-sanitize-with tests/nbval_sanitize.cfg

demo: $(STAMP)
	$(BIN)/python -m tutorial demo

# The classroom live view: deploys with the notebooks (if needed) and serves the page on 127.0.0.1.
.PHONY: aula
aula: $(STAMP)
	$(BIN)/python -m tutorial aula $(AULA_ARGS)

# JupyterLab in pt-BR without the news pop-up (binder/overrides.json, shared with Binder). As root (containers,
# some lab machines) JupyterLab refuses to start unless told: it still listens on localhost only, with a token.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings
lab: $(STAMP)
	@mkdir -p $(LAB_SETTINGS) && cp binder/overrides.json $(LAB_SETTINGS)/overrides.json
	@if [ "$$(id -u)" = 0 ]; then echo "Aviso: rodando como root; o JupyterLab abre com --allow-root (só em localhost, com token)."; fi
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

notebooks: $(STAMP)
	$(BIN)/python -m tutorial notebooks --store

bench: $(STAMP)
	$(BIN)/python -m benchmarks.etl
	$(BIN)/python -m benchmarks.generator

stress: $(STAMP)
	$(BIN)/python -m benchmarks.stress

# The property-based tests with many more (and random) examples than `make test` runs.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=deep $(BIN)/python -m pytest tests/test_fuzz.py -q --hypothesis-show-statistics

deep: $(STAMP)
	DEEP_TESTS=1 $(BIN)/python -m pytest tests/test_notebook_sequences.py -q

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .hypothesis
