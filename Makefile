# Quickstart targets. Only Python 3.11+ and make are needed on the machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo console test eval bench clean

DATASETS ?= ../shared/datasets

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[emulator,llm,console,postgres,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/investigator investigate --bundle evals/demo/bad-deploy

# The investigation console on http://127.0.0.1:8501 (PORT=... for another port).
console: $(STAMP)
	$(BIN)/investigator console --port $(or $(PORT),8501)

test: $(STAMP)
	$(BIN)/python -m pytest

# Import the real datasets and the game-day suite, evaluate, and fail under the gate.
eval: $(STAMP)
	rm -rf out/bundles
	$(BIN)/investigator import petshop $(DATASETS)/petshop/dataset out/bundles/petshop
	$(BIN)/investigator import nezha $(DATASETS)/nezha-trainticket out/bundles/nezha
	$(BIN)/investigator gameday generate --suite classic --out out/bundles/gameday/classic
	$(BIN)/investigator gameday generate --suite realistic --out out/bundles/gameday/realistic
	$(BIN)/investigator eval out/bundles --json out/eval.json --markdown out/eval.md --gate evals/gates/dev.yaml
	# The same incidents as if no service map had been recorded (calls from traces, or assumed).
	$(BIN)/investigator eval out/bundles --without-call-graph --json out/eval-no-call-graph.json \
		--markdown out/eval-no-call-graph.md --gate evals/gates/no-call-graph.yaml
	# And as if only their metrics had been recorded (no logs, traces, changes or call graph).
	$(BIN)/investigator eval out/bundles --metrics-only --json out/eval-metrics-only.json \
		--markdown out/eval-metrics-only.md --gate evals/gates/metrics-only.yaml
	# The game days again at seeds the dev suite does not use: other draws of the same families.
	rm -rf out/fresh
	$(BIN)/investigator gameday generate --suite classic --seed 101 --count 10 --out out/fresh/gameday/classic
	$(BIN)/investigator gameday generate --suite realistic --seed 101 --count 10 --out out/fresh/gameday/realistic
	$(BIN)/investigator eval out/fresh --json out/eval-fresh-seeds.json --markdown out/eval-fresh-seeds.md \
		--gate evals/gates/fresh-seeds.yaml

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
