# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
EXTRAS ?= dev,graph,federated,regression,llm,diffusion
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0
export RAY_USAGE_STATS_ENABLED := 0
export FLWR_DISABLE_UPDATE_CHECK := 1
export FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION := 1
export FLWR_TELEMETRY_ENABLED := 0
export HF_HUB_OFFLINE := 1

.PHONY: demo test lint bench install clean

$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[$(EXTRAS)]"
	$(BIN)/python -c "import torch, sys; sys.exit('a CUDA build of torch was installed; reinstall torch==2.13.0 (CPU)' if torch.version.cuda else 0)"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/obliviate demo --out reports/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/classification.py
	$(BIN)/python benchmarks/graph.py
	$(BIN)/python benchmarks/graph_study.py
	$(BIN)/python benchmarks/federated.py --clients 10
	$(BIN)/python benchmarks/federated_scaling.py
	$(BIN)/python benchmarks/federated_sweep.py
	$(BIN)/python benchmarks/conda_step.py
	$(BIN)/python benchmarks/regression.py
	$(BIN)/python benchmarks/recommendation.py
	$(BIN)/python benchmarks/continual.py
	$(BIN)/python benchmarks/valuation.py
	$(BIN)/python benchmarks/synthetic.py
	$(BIN)/python benchmarks/diffusion.py
	$(BIN)/python benchmarks/nas.py
	$(BIN)/python benchmarks/llm.py

clean:
	rm -rf $(VENV) reports .pytest_cache
