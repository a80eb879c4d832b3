# ordo — run `make help` for the targets.
SHELL := /bin/bash
GO ?= go
ORDERS ?= 300

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: demo
demo: ## place ORDERS (default 300) sample orders through the order workflow (embedded, no AWS)
	$(GO) run ./cmd/ordo demo --orders $(ORDERS)

.PHONY: test
test: ## every test: unit, conformance (SQLite + DynamoDB Local), semantics, end-to-end on the local AWS stack (installs and starts it)
	scripts/test.sh

.PHONY: test-unit
test-unit: ## tests that need no local AWS stack (the rest skip, saying why)
	$(GO) test -count=1 ./...

.PHONY: verify-coverage
verify-coverage: ## coverage of the OMS step code by tests generated from the demo's recorded runs (docs/verify.md)
	scripts/verify-coverage.sh

.PHONY: race
race: ## the core packages under the race detector
	$(GO) test -race -count=1 ./journal/... ./orchestrator/... ./api/...

.PHONY: vet
vet: ## go vet and a gofmt check
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

.PHONY: build
build: ## build the ordo CLI into ./bin
	$(GO) build -o bin/ordo ./cmd/ordo

BENCH_N ?= 500
BENCH_C ?= 50
BENCH_OUT ?= .local/bench

.PHONY: bench
bench: ## Go benchmarks (-benchmem, benchstat-ready) + the ordo-bench table and charts (~3-5 min; BENCH_N, BENCH_C; needs the stack for the AWS part)
	@mkdir -p $(BENCH_OUT)
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./orchestrator/... ./journal/... | tee $(BENCH_OUT)/gobench.txt
	$(GO) run ./bench/cmd/ordo-bench -n $(BENCH_N) -c $(BENCH_C) -charts docs/bench | tee $(BENCH_OUT)/ordo-bench.md
	$(GO) test -run '^$$' -bench ColdDrive -benchtime 3x ./bench/colddrive/ | tee $(BENCH_OUT)/colddrive.txt
	$(GO) test -count=1 -timeout 30m -run TestModeCost -v ./bench/ -modecost.full | tee $(BENCH_OUT)/modecost.txt
	$(GO) run ./cmd/ordo capacity | tee $(BENCH_OUT)/capacity.txt

.PHONY: fuzz
fuzz: ## every Go fuzz target for FUZZTIME each (default 5m; CI runs each for 3s)
	FUZZTIME=$(or $(FUZZTIME),5m) scripts/fuzz.sh

.PHONY: bench-short
bench-short: ## a seconds-long smoke run of the benchmarks (tiny N, one iteration each)
	$(GO) test -run '^$$' -bench . -benchtime 1x -benchmem ./orchestrator/... ./journal/...
	$(GO) run ./bench/cmd/ordo-bench -n 40 -k 1,5 -c 8 -low-n 10 -scale-c 1,8 -decide-max 200 -aws-n 5 -aws-k 2 -aws-c 2
	$(GO) test -run '^$$' -bench 'ColdDrive/.*/events=100$$' -benchtime 1x ./bench/colddrive/

.PHONY: soak
soak: ## 1,000 order runs (SOAK_RUNS) with random faults and duplicated messages, embedded and on the Lambdas' wiring; prints the counts (docs/RELIABILITY.md)
	scripts/soak.sh

.PHONY: stack-up
stack-up: ## install and start the local AWS stack (DynamoDB Local + kumo)
	infra/install.sh && infra/start.sh

.PHONY: stack-down
stack-down: ## stop the local AWS stack processes this checkout started
	infra/stop.sh
