# Comandos do projeto. Só precisam de Python 3.10+ e make: o ambiente virtual é criado aqui.
# Linux, macOS (Homebrew's python and make) and Windows inside WSL2; native Windows is not supported (README).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# JupyterLab's settings inside the environment: any `jupyter lab` started from it reads them.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings
# Two installs from the same uv.lock: the learner's (`.[sandbox,notebooks]`: pronto, demo, aula, lab) and the
# maintainers' (adds `dev`: tests, lint, benchmarks). The test environment holds the learner's, so a learner's
# command runs in it as it is; the learner's sync removes the dev packages, and with them the dev stamp.
LEARNER := $(VENV)/.installed-learner
STAMP   := $(VENV)/.installed-dev
LEARNER_ENV := $(if $(wildcard $(STAMP)),$(STAMP),$(LEARNER))

.PHONY: help install pronto lock test test-fast test-newest lint format demo lab notebooks bench stress fuzz deep mutation clean

help:
	@echo "make pronto  - confere se este computador está pronto para a aula (rode antes da primeira aula)"
	@echo "make demo    - roda o tutorial inteiro no sandbox offline (notebooks e resumo em build/)"
	@echo "make aula    - abre a aula ao vivo: a página que o professor projeta (em 127.0.0.1; PORTA=8090 escolhe a porta; VAZIA=1 começa sem a conversa simulada)"
	@echo "make lab     - abre os notebooks no JupyterLab"
	@echo "make test    - instala (se preciso) e roda lint + testes + notebooks"
	@echo "make test-fast   - só lint e os testes rápidos: sem navegador, sem notebooks, sem ambientes novos"
	@echo "make test-newest - as versões mais novas que o pyproject.toml permite (sem o uv.lock), em build/newest-venv"
	@echo "make lock    - atualiza o uv.lock para as versões mais novas permitidas no pyproject.toml"
	@echo "make lint    - ruff (lint e formato)"
	@echo "make format  - formata o código com ruff"
	@echo "make notebooks - reexecuta os notebooks e grava as saídas (depois de mudar o código)"
	@echo "make bench   - benchmark do ETL (5.000 mensagens, S3 com 50 ms de latência) e do gerador da turma"
	@echo "make stress  - teste de carga: 2.200 updates pelo webhook, sem perder nem duplicar"
	@echo "make fuzz    - fuzzing profundo dos handlers (Hypothesis, milhares de updates gerados)"
	@echo "make mutation - testes de mutação do lambda_function.py (mutmut; demora: fora do make test)"
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
$(LEARNER): pyproject.toml uv.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(UV_SYNC) --extra sandbox --extra notebooks
	@rm -f $(STAMP) && touch $(LEARNER)

$(STAMP): pyproject.toml uv.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(UV_SYNC) --extra sandbox --extra dev
	@touch $(STAMP)

install: $(STAMP) $(LAB_SETTINGS)/overrides.json

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
# about a third of its time waiting on kernels, browsers and sockets: on a 2-core machine, 4 workers ran the 1,815
# tests in 6 min 12 s, 3 in 6 min 53 s. mutmut's runs wait on nothing: one child per core.
CORES := $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
WORKERS ?= $(shell [ $(CORES) -lt 4 ] && echo 4 || echo $(CORES))
test: lint
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadscope --no-loadscope-reorder -p tests.nbval_sandbox tests notebooks \
		--nbval --nbval-sanitize-with tests/nbval_sanitize.cfg

# The maintainers' fast tier: lint and the tests that start no browser (Playwright), run no notebook (nbval,
# nbclient, the tutorial's runner and its catch-up, which `deployed_stack` and `setup.prepare` use, the demo) and
# build no fresh environment (uv venv). FAST_IGNORE: modules whose tests, or a module fixture, do one of these.
# FAST_DESELECT: the single tests that do, in modules otherwise fast. Keep both in step with tests/ (a renamed module
# is reported below; a renamed test would run here again, only slower).
FAST_IGNORE := \
	tests/test_notebook_sequences.py tests/test_notebooks_cold.py tests/test_demo.py tests/test_class_policy.py \
	tests/test_live_view.py tests/test_lab_browser.py tests/test_catch_up_outside_jupyter.py \
	tests/test_reliability.py tests/test_security.py tests/test_migration.py tests/test_hostile_input.py \
	tests/test_aws_clients.py tests/sandbox/test_bridge.py
FAST_DESELECT := \
	tests/test_publish.py::test_notebook_opened_cold_in_a_fresh_colab_runtime_installs_the_project_and_runs \
	tests/test_real_world.py::test_a_recreated_api_gets_its_own_permission_and_the_old_one_goes \
	tests/test_permission_errors.py::test_a_failing_cell_keeps_failing_and_ends_with_the_explanation \
	tests/test_notebooks.py::test_strict_check_fails_when_a_stored_output_changes \
	tests/test_token_never_shown.py::test_notebook_01_in_real_mode_against_an_unreachable_telegram_saves_no_token \
	tests/test_pronto.py::test_a_ready_machine_runs_the_notebooks_in_a_sandbox_of_its_own_and_says_pronto \
	tests/test_desafios.py::test_reference_solutions_pass_in_the_sandbox
test-fast: lint
	@for path in $(FAST_IGNORE) $(foreach test,$(FAST_DESELECT),$(firstword $(subst ::, ,$(test)))); do \
		[ -f $$path ] || { echo "Erro: $$path não existe mais; atualize FAST_IGNORE/FAST_DESELECT no Makefile."; exit 1; }; \
	done
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadscope --no-loadscope-reorder tests \
		$(addprefix --ignore=,$(FAST_IGNORE)) $(addprefix --deselect=,$(FAST_DESELECT))

# The newest releases pyproject.toml allows, uv.lock ignored, in an environment of their own made anew each run
# (.venv is left alone): run it before `make lock`. uv runs with --no-config, so no [tool.uv] or uv.toml setting
# (an exclude-newer, say) holds the resolution back, and without UV_EXCLUDE_NEWER for the same reason. Then the tests
# that judge the sandbox with the installed clients (botocore's models through boto3, moto, the AWS CLI, PyAthena,
# awswrangler, the Telegram libraries) and the notebooks, compared strictly with their stored outputs.
NEWEST := build/newest-venv
NEWEST_TESTS := tests/test_aws_clients.py tests/test_etl.py tests/test_ingestion.py \
	tests/sandbox/test_aws_*.py tests/sandbox/test_athena_*.py tests/sandbox/test_telegram_clients.py
UV_NEWEST := env -u UV_EXCLUDE_NEWER $(BIN)/uv
test-newest: | $(BIN)/python
	@[ -x $(BIN)/uv ] || $(BIN)/python -m pip install --quiet uv
	rm -rf $(NEWEST)
	$(UV_NEWEST) venv --no-config --quiet --python $(BIN)/python $(NEWEST)
	$(UV_NEWEST) pip install --no-config --quiet --upgrade --compile-bytecode --python $(NEWEST)/bin/python \
		-e '.[sandbox,dev]'
	@$(NEWEST)/bin/python -c 'from importlib.metadata import version; \
		print("Versões instaladas em $(NEWEST):", ", ".join(f"{name} {version(name)}" for name in ("boto3", "botocore", "moto")))'
	$(NEWEST)/bin/python -m pytest -n $(WORKERS) --dist loadscope --no-loadscope-reorder -p tests.nbval_sandbox \
		$(NEWEST_TESTS) notebooks --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg

# The readiness check: platform, Python, the install, ports, memory and disk, then notebooks 01-06 in a sandbox of
# its own (a running one is left alone). Well under a minute on 2 cores.
pronto: $(LEARNER_ENV) $(LAB_SETTINGS)/overrides.json
	$(BIN)/python -m tutorial pronto

demo: $(LEARNER_ENV)
	$(BIN)/python -m tutorial demo

# The classroom live view: deploys with the notebooks (if needed) and serves the page on 127.0.0.1.
# `make aula PORTA=8090` chooses the page's port (make takes variables, not --options); `VAZIA=1` starts without the
# simulated conversation (a real group, through the bridge); AULA_ARGS passes the rest.
.PHONY: aula
aula: $(LEARNER_ENV)
	$(BIN)/python -m tutorial aula$(if $(PORTA), --porta $(PORTA))$(if $(VAZIA), --vazia) $(AULA_ARGS)

# JupyterLab in pt-BR without the news pop-up (binder/overrides.json, shared with Binder), installed with the
# environment so that any `jupyter lab` started from it opens so, not only `make lab`. As root (containers, some lab
# machines) JupyterLab refuses to start unless told: it still listens on localhost only, with a token. The kernels
# talk to it over local sockets (IPC), not TCP, so ipykernel has no unencrypted-TCP warning to print for each one;
# the shipped notebooks are trusted (their outputs are the project's own), so the server does not warn that each
# one opened is not.
$(LAB_SETTINGS)/overrides.json: binder/overrides.json | $(BIN)/python
	@mkdir -p $(LAB_SETTINGS) && cp binder/overrides.json $@

lab: $(LEARNER_ENV) $(LAB_SETTINGS)/overrides.json
	@if [ "$$(id -u)" = 0 ]; then echo "Aviso: rodando como root; o JupyterLab abre com --allow-root (só em localhost, com token)."; fi
	@$(BIN)/jupyter trust notebooks/*.ipynb >/dev/null
	$(BIN)/jupyter lab notebooks/ --KernelManager.transport=ipc $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

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

# Mutation testing of the deployed code: mutmut plants one small fault at a time in lambda_function.py and runs the
# tests that call the changed function ([tool.mutmut] in pyproject.toml; the fuzz tests with fewer examples). Long
# (about 1,700 mutants, some 3 hours on 2 cores), so not part of `make test`. The verdict fails on any survivor that
# tests/mutation_survivors.txt does not justify as equivalent or harmless. MUTANTS narrows a run, e.g.
# MUTANTS='lambda_function.x_hashtags*'.
# A whole run starts afresh: mutmut keeps the verdict of a function whose code did not change, even when the tests did.
mutation: $(STAMP)
	$(if $(MUTANTS),,rm -rf mutants)
	HYPOTHESIS_PROFILE=mutation $(BIN)/mutmut run --max-children $(CORES) $(MUTANTS)
	$(BIN)/python -m tests.mutation_report

deep: $(STAMP)
	DEEP_TESTS=1 $(BIN)/python -m pytest tests/test_notebook_sequences.py -q

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .hypothesis mutants
