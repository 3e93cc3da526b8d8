#!/usr/bin/env bash
# Prints the path of a Node.js 18.20.4 binary (the version Debian 12's nodejs package ships),
# fetched once from the npm registry into the cache. Tools that run inside images are tested
# with it, since the build machine's own Node is newer.
set -euo pipefail
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "node18.sh: no Node 18 build for $(uname -m)" >&2; exit 1 ;;
esac
dir=${XDG_CACHE_HOME:-$HOME/.cache}/photon/node-18.20.4-$arch
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@18.20.4" >/dev/null 2>&1)
  mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp/x"
  mkdir -p "${dir%/*}" && rm -rf "$dir" && mv "$tmp/x/package" "$dir"
fi
echo "$dir/bin/node"
