#!/usr/bin/env bash
# Runs every benchmark in one go on this machine and writes their output to bench/RESULTS.md,
# and their headline figures to docs/benchmarks.json, docs/benchmarks.svg and docs/benchmarks.md
# (bench/report.ts). `npm run bench -- user-info instant-upload` runs those scripts only: their
# output goes to the terminal, their figures replace theirs in docs/ (the others' stay).
# Needs: npm ci (builds dist/), sha1sum/cp (coreutils), aria2c and qbittorrent-nox for the
# BitTorrent comparisons (`apt-get install aria2 qbittorrent-nox`), aria2c and curl for the HTTP one.
# many-files runs 10,000- and 100,000-file torrents with a 10-minute cap per client (BENCH_CAP_MIN);
# BENCH_MANY_FILES=10000:4096 runs the first only.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
out=bench/RESULTS.md
benches=(files-page search user-info instant-upload upload-ingest upload-rss parse-torrent offline-page offline-progress-poll event-stream startup bt-download magnet many-files subtree-ops http-download webdav load zip s3-store workers job-claims)
if [ $# -gt 0 ]; then
  benches=("$@")
  out=/dev/null
fi
BENCH_FIGURES=$(mktemp)
export BENCH_FIGURES
trap 'rm -f "$BENCH_FIGURES"' EXIT
{
  echo "# Benchmark results"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(node --version); run on $(date -u +%Y-%m-%d)."
  for b in "${benches[@]}"; do
    echo
    echo "## $b"
    echo
    node --import tsx "bench/$b.ts" 2>&1
    if [ "$b" = http-download ]; then
      echo
      echo "## http-download over HTTPS"
      echo
      BENCH_TLS=1 node --import tsx "bench/$b.ts" 2>&1
    fi
  done
} | tee "$out"
node --import tsx bench/report.ts "$BENCH_FIGURES"
