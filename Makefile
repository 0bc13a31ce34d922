.PHONY: demo test check bench
demo:   ## install into .venv and run one demo cycle
	bash scripts/demo.sh
test:   ## install into .venv and run the tests (what CI runs)
	bash scripts/test.sh
check:  ## ruff, mypy on the core, import contract, then the tests
	bash scripts/check.sh
bench:  ## all benchmarks with their baselines
	bash scripts/bench.sh
