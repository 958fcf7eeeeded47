# Chorus — the front door. `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.bin/uv)
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
SERVICES := identity structures invoices notifications gateway portal cpro-api
E2E_NODE_STAMP := tests/e2e/node_modules/.installed-from-lock
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help
help: ## List every target
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(CURDIR)/.bin/uv:
	@echo "uv not found: installing uv $(UV_VERSION) into .bin/"
	@python3 -m venv $(CURDIR)/.bin/uv-venv
	@$(CURDIR)/.bin/uv-venv/bin/pip install -q uv==$(UV_VERSION)
	@ln -sf $(CURDIR)/.bin/uv-venv/bin/uv $(CURDIR)/.bin/uv

.PHONY: system-deps
system-deps: ## Install the Debian packages the dev stack and tests need (PostgreSQL server, Chromium, Prometheus, npm), if missing
	@scripts/system_deps.sh

.PHONY: install
install: $(UV) system-deps $(E2E_NODE_STAMP) ## Install everything: .venv (uv sync from the lock file) and the browser tests' axe-core (npm ci in tests/e2e)
	@$(UV) sync --frozen --all-packages

# axe-core for the browser tests, from tests/e2e/package-lock.json: npm ci again only when the
# lock changed or node_modules is missing (npm comes from scripts/system_deps.sh).
$(E2E_NODE_STAMP): tests/e2e/package-lock.json tests/e2e/package.json | system-deps
	@npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

.PHONY: run
run: install ## Start the whole system locally (Postgres, broker, SMTP catcher, 7 services)
	@$(PY) -m chorus_devstack run

.PHONY: infra
infra: install ## Start only Postgres, the broker and the SMTP catcher (to run one service alone)
	@$(PY) -m chorus_devstack infra

.PHONY: test
test: install ## Run every test: unit, integration (real Postgres/broker/SMTP), architecture, end-to-end, browser (Chromium), fuzzing and a short chaos round
	@$(PY) -m pytest -p no:cacheprovider -m 'not screenshots' libs services tests/architecture tests/deploy tests/bench/test_sustained_support.py tests/e2e tests/chaos

.PHONY: test-e2e
test-e2e: install ## Run the end-to-end tests against a freshly started stack
	@$(PY) -m pytest -p no:cacheprovider -m 'not screenshots' tests/e2e

.PHONY: screenshots
screenshots: install ## Take the README's portal screenshots (docs/screenshots: 1280x800 and phone 390x844) in Chromium, on a fresh stack
	@CHORUS_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(PY) -m pytest -p no:cacheprovider tests/e2e/test_portal_browser_responsive.py -m screenshots -q

.PHONY: chaos
chaos: install ## Crash every part of the running system 20 times under a deposit load, then check nothing was lost (CHORUS_CHAOS_KILLS, _RATE, _SEED)
	@CHORUS_CHAOS_KILLS=$${CHORUS_CHAOS_KILLS:-20} $(PY) -m pytest -p no:cacheprovider tests/chaos -s

.PHONY: proto
proto: install ## Regenerate the Python code of the protos into proto/python
	@scripts/gen_proto.sh

.PHONY: lint
lint: install ## ruff, architecture contracts (import-linter), buf lint, proto drift, Dockerfiles, compose (schema and cross-checks), Helm chart (3 value sets: kubernetes-validate, checkov, CRD schemas), platform manifests, promtool on the alert rules
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/lint-imports --no-cache --no-logo
	@cd proto && $(VENV)/bin/buf lint
	@scripts/check_proto_drift.sh
	@scripts/lint_deploy.sh

.PHONY: format
format: install ## Format the code with ruff
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

.PHONY: migrate
migrate: install ## Apply every service's migrations to CHORUS_DATABASE_URL
	@for s in identity structures invoices notifications; do $(VENV)/bin/chorus-$$s migrate || exit 1; done

.PHONY: purge
purge: install ## Delete technical records and expired documents past their retention in every service's database (DRY_RUN=1: count only)
	@for s in identity structures invoices notifications; do $(VENV)/bin/chorus-$$s purge-records $(if $(DRY_RUN),--dry-run) || exit 1; done
	@$(VENV)/bin/chorus-invoices purge-documents $(if $(DRY_RUN),--dry-run)

.PHONY: seed-directory
seed-directory: install ## Import a public-recipient directory CSV (FILE=path; default: the small shipped one) into CHORUS_DATABASE_URL
	@$(VENV)/bin/chorus-structures import-directory $(or $(FILE),services/structures/src/chorus_structures/seed/directory_default.csv)

.PHONY: rotate-keys
rotate-keys: install ## Create a new token signing key (old public keys stay served until expiry)
	@$(VENV)/bin/chorus-identity rotate-keys

.PHONY: dlq-show
dlq-show: install ## List the events a service's consumers parked, from its database (SERVICE=notifications)
	@$(PY) -m chorus_platform.dlq show $(or $(SERVICE),$(error SERVICE=<svc> is required))

.PHONY: dlq-replay
dlq-replay: install ## Publish a service's parked events again once their cause is fixed (SERVICE=notifications)
	@$(PY) -m chorus_platform.dlq replay $(or $(SERVICE),$(error SERVICE=<svc> is required))

.PHONY: bench
bench: install ## Run the benchmarks, ending with issue #16's sustained-throughput table (60 s per step; see README)
	@$(PY) -m pytest -p no:cacheprovider tests/bench -q -s --ignore=tests/bench/test_directory_size_bench.py

.PHONY: bench-quick
bench-quick: install ## Only the sustained-throughput table, 15 s per step (CHORUS_BENCH_HOLD_SECONDS, _CHANNELS, _START_RATE)
	@CHORUS_BENCH_HOLD_SECONDS=$${CHORUS_BENCH_HOLD_SECONDS:-15} $(PY) -m pytest -p no:cacheprovider tests/bench/test_sustained_bench.py -q -s

.PHONY: bench-directory
bench-directory: install ## Portal deposit rate with a directory of 150 k then 600 k structures (long: imports 600 k rows)
	@$(PY) -m pytest -p no:cacheprovider tests/bench/test_directory_size_bench.py -q -s

.PHONY: clean
clean: ## Remove the local dev data (.devstack) and caches
	@rm -rf .devstack .pytest_cache .ruff_cache
