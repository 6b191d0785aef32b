# Cleave: `make test` builds and runs every test; `make demo` splits pagila on a throwaway cluster.
SWIFT ?= swift
BUILD_FLAGS ?=
APT_PACKAGES = postgresql-15 postgresql-client-15 libpq-dev libpg-query-dev pkg-config chromium-headless-shell pgbouncer

.PHONY: all deps build test demo lint format clean

all: build

# Installs what is missing, and only that, with apt-get (PostgreSQL 15 server and client, libpq, libpg_query,
# headless Chromium, in which a test opens the HTML verify report, and PgBouncer, which the online tests pause).
deps:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

test: deps
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	$(SWIFT) test --skip-build --disable-xctest $(BUILD_FLAGS)

demo: deps
	$(SWIFT) build $(BUILD_FLAGS) --product cleave-demo
	$(SWIFT) build $(BUILD_FLAGS) --product cleave
	$$($(SWIFT) build $(BUILD_FLAGS) --show-bin-path)/cleave-demo

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

clean:
	rm -rf .build
