#!/usr/bin/env bash
# Runs every chatha test: formatting, vet, unit and property tests with the
# race detector, fuzz seeds, the store conformance suite and the end-to-end
# tests with real processes. It installs what it needs itself.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n== %s\n' "$*"; }

step "Go modules"
go mod download

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted"
	exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

step "go test -race"
go test -race -count=1 -timeout 15m ./...

step "allocation tests (without the race detector, which allocates itself)"
go test -count=1 -run 'Allocates' ./proxy/
