# TaskFlow — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.9
# uv from PATH, else the one pip installs next to python3 (scripts/bootstrap does that).
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: help bootstrap run test test-security test-chaos audit lint unit up down status schemas test-llm bench clean

help:
	@echo "make run      serve the whole suite in one process on http://127.0.0.1:8080 (embedded mode)"
	@echo "make test     install and start the local stack, then lint and run every test"
	@echo "make up       run every service as its own process on the real stack (distributed mode)"
	@echo "make down     stop the services and the stack"
	@echo "make test-security  the security suite alone (restarts the distributed suite; tests/security)"
	@echo "make audit    pip-audit over uv.lock (needs a reachable vulnerability service; not in make test)"
	@echo "make test-chaos  the full chaos run (5,000 changes, every fault; about 16 min)"
	@echo "make lint     ruff, ruff format --check, mypy, import-linter"
	@echo "make unit     unit tests only (no stack needed)"
	@echo "make schemas  regenerate the event contracts' JSON Schemas"
	@echo "make test-llm opt-in: suggestion contract against a real small LLM (llama.cpp)"

bootstrap:
	@scripts/bootstrap

run: bootstrap
	$(UV) run --frozen python -m taskflow_embedded

test: bootstrap
	scripts/stack up
	scripts/test

test-security: bootstrap
	scripts/stack up
	scripts/test --security

# Not part of `make test`: pip-audit needs a vulnerability service (PyPI's JSON API or OSV) and
# this machine reaches neither; the script fails loudly instead of reporting "no known issues".
audit: bootstrap
	scripts/audit

test-chaos: bootstrap
	scripts/stack up
	scripts/test --chaos

lint: bootstrap
	scripts/test --lint-only

unit: bootstrap
	scripts/test --unit-only

up: bootstrap
	scripts/suite up

down:
	-scripts/suite down
	scripts/stack down

status:
	@scripts/stack status
	@scripts/suite status

schemas: bootstrap
	$(UV) run --frozen python -m taskflow_common.events.export libs/common/schemas

test-llm: bootstrap
	UV="$(UV)" $(UV) run --frozen python services/suggest/scripts/llm_server.py check

clean:
	rm -rf .data .pytest_cache .ruff_cache .mypy_cache
