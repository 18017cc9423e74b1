#!/usr/bin/env bash
# Runs the three main benchmarks (broker fan-out, proxy small body, word count) once on the machine's
# Node.js and once on the newest Node 24.x, each side by side with its peer in the same run, and keeps
# each run's output in bench/results/node-versions/. Usage: scripts/bench-node-versions.sh [MAJOR...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results/node-versions
mkdir -p "$out"
bins=("$(dirname "$(command -v node)")")
for major in "${@:-24}"; do bins+=("$(bash scripts/install-node-lts.sh "$major")"); done
for bin in "${bins[@]}"; do
  v="$("$bin/node" --version)"
  echo "== Node $v"
  PATH="$bin:$PATH" npm run --silent bench -- broker --rounds 3 --only "1->10 128 B" --peers nats-server 2>&1 | tee "$out/broker-$v.txt"
  PATH="$bin:$PATH" npm run --silent bench -- proxy --rounds 3 --duration 5 --only small --contenders nginx --skip-scaling 2>&1 | tee "$out/proxy-$v.txt"
  PATH="$bin:$PATH" npm run --silent bench -- mapreduce --size 50MB --rounds 3 --only wordcount --peers mawk 2>&1 | tee "$out/mapreduce-$v.txt"
done
