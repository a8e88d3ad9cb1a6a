#!/usr/bin/env bash
# Builds and runs the whole test suite (Swift Testing) after a short pass of the libFuzzer targets.
# Installs missing system packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -z "${RMOE_DATA:-}" ] && [ -d ../shared/data ]; then export RMOE_DATA="$(cd ../shared/data && pwd)"; fi
# The tree is formatted with .swift-format (fix with: swift format -i -r Sources Tests Fuzz Benchmarks Plugins Package.swift).
swift format lint --recursive --strict Sources Tests Fuzz/Sources Fuzz/Package.swift Benchmarks/Benchmarks Benchmarks/Package.swift Plugins Package.swift
swift build --build-tests
# A short pass of every fuzzer (about a minute; scripts/fuzz.sh SECONDS runs them longer).
scripts/fuzz.sh "${RMOE_FUZZ_SECONDS:-10}"
swift test --skip-build --no-parallel "$@"
