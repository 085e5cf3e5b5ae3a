#!/bin/bash
# Figures for issue 14, defects 2 and 7, from the tests that check them, run longer:
#  1. ingest acknowledged per second over 8 connections, quiet and during a query that runs
#     into its 30 s deadline (S3 behind a proxy holding each GET 2 s): test_harden_slow_s3
#     with LOAD_S=28 TIMEOUT_S=30;
#  2. peak RSS of one and of eight concurrent 1 M-stack requests (28.7 MB each) under
#     --max-memory 768M, and RSS once idle: test_harden_memory.
# usage: bench/harden_query.sh   (`make tests` and `make deps` first)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/sonde-bench-harden-query.XXXXXX)
trap 'rm -rf "$out"' EXIT
echo "== ingest during a 30 s query (S3 GETs held 2 s)"
ARTIFACTS=$out/slow LOAD_S=28 TIMEOUT_S=30 DELAY=2 tests/e2e/test_harden_slow_s3.sh |
	grep -E 'quiet:|during the query:|the query:|GETs'
echo "== memory: 1 M-stack requests, --max-memory 768M"
ARTIFACTS=$out/mem tests/e2e/test_harden_memory.sh | grep -E 'alone|8 requests|RSS:|never fit'
