#!/usr/bin/env bash
# The Prometheus rules in deploy/prometheus: `promtool check rules` (syntax, PromQL) and
# `promtool test rules` (the alerts fire after their `for`, not before, hold between clear
# and warn, resolve).
#
# Usage: rules_test.sh DEPLOY_PROMETHEUS_DIR. Exit 77: skipped (with CI=true a skip is a
# failure).
set -euo pipefail

dir=$(cd "${1:?usage: rules_test.sh DEPLOY_PROMETHEUS_DIR}" && pwd)

if ! command -v promtool >/dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "rules_test: CI=true and promtool is not installed (scripts/install-deps.sh)" >&2
        exit 1
    fi
    echo "rules_test: skipped: promtool is not installed (scripts/install-deps.sh)"
    exit 77
fi

promtool check rules "$dir/perfbpf.rules.yml"
# promtool resolves rule_files against the working directory.
cd "$dir"
promtool test rules perfbpf.rules.test.yml
