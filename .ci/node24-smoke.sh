#!/usr/bin/env bash
# Runs the smoke subset (test/smoke/) on Node 24 LTS, next to the full suite on the machine's
# Node. Node 24 comes from the npm registry's node-linux-<arch> package (the official binary
# with its headers); the committed tree (HEAD) is copied into a temporary directory, where
# `npm ci` builds better-sqlite3 from source against those headers, so the main checkout's
# node_modules stay as the machine's Node built them. npm's cache and everything else live in
# that temporary directory, which is removed at the end. Exits non-zero if any step fails.
#   OPENPAN_SMOKE_NODE=24          the Node major (or an exact version) to test on
#   OPENPAN_SMOKE_TREE=working     test the working copy (tracked and untracked files that git
#                                  does not ignore) instead of HEAD, before committing
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
want="${OPENPAN_SMOKE_NODE:-24}"
major="${want%%.*}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "node${major}-smoke: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac

t0=$SECONDS
lap() { echo "node${major}-smoke: $1 ($((SECONDS - t0)) s)"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/openpan-node${major}-smoke.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# Nothing outside $work: npm's cache, and the temporary files of npm, node-gyp, tsx and the
# tests (tsx keeps its compile cache in the temporary directory).
mkdir "$work/tmp"
export TMPDIR="$work/tmp"
export npm_config_cache="$work/npm-cache"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# 1. Node from the registry: package/bin/node and package/include/node (what node-gyp's
#    --nodedir wants, as /usr is for the machine's Node).
tgz="$(cd "$work" && npm pack --silent "node-linux-${arch}@${want}")"
mkdir "$work/node"
tar -xzf "$work/$tgz" -C "$work/node" --strip-components=1
rm "$work/$tgz"
node_home="$work/node"
test -x "$node_home/bin/node" && test -f "$node_home/include/node/node.h" && test -f "$node_home/include/node/common.gypi"
lap "got $("$node_home/bin/node" --version) from node-linux-${arch}@${want}"

# 2. The committed tree (what CI cloned), copied without touching the repository's git state.
mkdir "$work/openpan"
if [ "${OPENPAN_SMOKE_TREE:-head}" = working ]; then
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh | tar -c --null -T - -f -) | tar -x -C "$work/openpan"
  lap "copied the working copy of $repo to $work/openpan"
else
  commit="$(git -C "$repo" rev-parse HEAD)"
  git -C "$repo" archive --format=tar "$commit" | tar -x -C "$work/openpan"
  lap "copied ${commit:0:12} to $work/openpan"
fi

# 3. Install and test with that Node first on PATH (npm itself then runs on it too).
export PATH="$node_home/bin:$PATH"
export npm_config_nodedir="$node_home"
cd "$work/openpan"
echo "node${major}-smoke: node $(node --version), npm $(npm --version), nodedir $npm_config_nodedir"
npm ci --no-progress
lap "npm ci done (better-sqlite3 built for ABI $(node -p process.versions.modules))"

OPENPAN_SMOKE_NODE_MAJOR="$major" node --import tsx --test --test-concurrency=1 test/smoke/*.test.ts
lap "smoke tests passed on node $(node --version)"
