#!/usr/bin/env bash
# 6pan's own web front end (zzzhr1990/qingzhenyun-web, Nuxt 1.4, 2018) against openpan, in
# headless Chromium. The front end's sources are never part of openpan: they come from a
# directory (argument 1 or QZ_WEB_SRC), or by default from the mirror of its repository
# (/work/.mirror/zzzhr1990+qingzhenyun-web/repo, exported to /tmp/qz-web-src). They are built
# in /tmp (QZ_WEB_BUILD), pointed at an openpan this script starts (DHT off, a temporary data
# dir, CORS for the front end's origin, open registration), and driven by
# web-frontend.drive.ts: log in, list the root, new folder, upload, download, magnet task into
# the folder, reload. Screenshots go to docs/clients/web-frontend-*.png.
#
#   bash test/clients/web-frontend.sh [SRC_DIR]
#
# Env: QZ_WEB_SRC, QZ_WEB_BUILD (/tmp/qz-web-build), OPENPAN_PORT (17777), QZ_WEB_PORT (13000),
# OPENPAN_RUN=tsx (run src/main.ts through tsx instead of `npm run build` + dist/main.js),
# QZ_SHOTS (docs/clients), OPENPAN_CHROMIUM (/usr/bin/chromium), QZ_VERBOSE=1 (print every API
# exchange of the page).
#
# What the front end needs to build on Node 20 (found by trying): its lock file names a mirror
# registry, so every `resolved` is pointed at the public npm registry; two packages are
# substituted: chimee-player (a GitHub tarball in package.json, 1.4.9 from npm instead) and
# chimee-kernel-hls 1.3.0 (no longer on npm; 1.3.2); webpack 3 needs
# NODE_OPTIONS=--openssl-legacy-provider. The API address is baked in at build time from
# nuxt.config.js `env.baseURL` (the browser) and `env.serverBaseURL` (the Nuxt server's own
# calls when it renders a page), so both are rewritten and the build is redone when they change.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MIRROR=/work/.mirror/zzzhr1990+qingzhenyun-web/repo
SRC="${1:-${QZ_WEB_SRC:-}}"
BUILD="${QZ_WEB_BUILD:-/tmp/qz-web-build}"
API_PORT="${OPENPAN_PORT:-17777}"
WEB_PORT="${QZ_WEB_PORT:-13000}"
API_URL="http://127.0.0.1:${API_PORT}"
WEB_URL="http://127.0.0.1:${WEB_PORT}"
SHOTS="${QZ_SHOTS:-$ROOT/docs/clients}"
CHROMIUM="${OPENPAN_CHROMIUM:-/usr/bin/chromium}"
LOGS="$(mktemp -d /tmp/qz-web-run.XXXXXX)"
DATA="$(mktemp -d /tmp/qz-web-openpan.XXXXXX)"
ADMIN_PASSWORD="admin-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
QZ_USER="webuser"
QZ_PASSWORD="web-Passw0rd"

say() { printf '\n### %s\n' "$*"; }

# ---- the front end's sources
if [ -z "$SRC" ]; then
  if [ ! -d "$MIRROR" ]; then
    echo "No front end sources: give a directory (argument or QZ_WEB_SRC), or provide the mirror $MIRROR" >&2
    exit 2
  fi
  SRC=/tmp/qz-web-src
  rm -rf "$SRC" && mkdir -p "$SRC"
  git -C "$MIRROR" archive HEAD | tar -x -C "$SRC"
fi
[ -f "$SRC/nuxt.config.js" ] || { echo "$SRC does not look like qingzhenyun-web (no nuxt.config.js)" >&2; exit 2; }

if [ ! -x "$CHROMIUM" ]; then
  say "installing Chromium (Debian)"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

# ---- build the front end in $BUILD (node_modules and the build are reused when nothing changed)
say "preparing the front end in $BUILD"
mkdir -p "$BUILD"
tar -C "$SRC" --exclude=node_modules --exclude=.nuxt -cf - . | tar -C "$BUILD" -xf -
cd "$BUILD"
node - "$API_URL" "$WEB_PORT" <<'EOF'
const fs = require('fs');
const [api, webPort] = process.argv.slice(2);
// Every `resolved` of the lock file at the public registry.
let lock = fs.readFileSync('package-lock.json', 'utf8');
lock = lock.replace(/https?:\/\/registry\.npm\.taobao\.org\/((?:@[^\/]+\/)?[^\/]+)\/download\/(?:@[^\/]+\/)?([^\/"]+\.tgz)/g, 'https://registry.npmjs.org/$1/-/$2');
const l = JSON.parse(lock);
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
// chimee-player comes from a GitHub tarball: the same version from npm.
pkg.dependencies['chimee-player'] = '1.4.9';
Object.assign(l.dependencies['chimee-player'], { version: '1.4.9', resolved: 'https://registry.npmjs.org/chimee-player/-/chimee-player-1.4.9.tgz' });
delete l.dependencies['chimee-player'].integrity;
// chimee-kernel-hls 1.3.0 is gone from npm: 1.3.2.
Object.assign(l.dependencies['chimee-kernel-hls'], { version: '1.3.2', resolved: 'https://registry.npmjs.org/chimee-kernel-hls/-/chimee-kernel-hls-1.3.2.tgz' });
delete l.dependencies['chimee-kernel-hls'].integrity;
fs.writeFileSync('package-lock.json', JSON.stringify(l, null, 2));
fs.writeFileSync('package.json', JSON.stringify(pkg, null, 2));
// The API address: the browser's (baseURL) and the Nuxt server's (serverBaseURL).
let cfg = fs.readFileSync('nuxt.config.js', 'utf8');
const before = cfg;
cfg = cfg.replace(/baseURL:\s*'[^']*'/, `baseURL: '${api}'`).replace(/serverBaseURL:\s*'[^']*'/, `serverBaseURL: '${api}'`).replace(/PORT:\s*\d+/, `PORT: ${webPort}`);
if (cfg === before || !cfg.includes(`baseURL: '${api}'`) || !cfg.includes(`serverBaseURL: '${api}'`)) {
  console.error('nuxt.config.js: could not set env.baseURL / env.serverBaseURL');
  process.exit(1);
}
fs.writeFileSync('nuxt.config.js', cfg);
EOF

LOCK_SUM="$(sha1sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat node_modules/.qz-lock 2>/dev/null)" != "$LOCK_SUM" ]; then
  say "npm ci (the lock file predates npm 7: npm fetches metadata for every package, a few minutes)"
  npm ci --no-audit --no-fund --ignore-scripts >"$LOGS/npm-ci.log" 2>&1 || { tail -30 "$LOGS/npm-ci.log"; exit 1; }
  echo "$LOCK_SUM" >node_modules/.qz-lock
fi
BUILD_SUM="$( (find . -path ./node_modules -prune -o -path ./.nuxt -prune -o -type f -print0 | sort -z | xargs -0 sha1sum) | sha1sum | cut -d' ' -f1)"
if [ ! -d .nuxt/dist ] || [ "$(cat .nuxt/.qz-build 2>/dev/null)" != "$BUILD_SUM" ]; then
  say "nuxt build (API $API_URL)"
  NODE_OPTIONS=--openssl-legacy-provider npx nuxt build >"$LOGS/nuxt-build.log" 2>&1 || { tail -40 "$LOGS/nuxt-build.log"; exit 1; }
  echo "$BUILD_SUM" >.nuxt/.qz-build
fi

# ---- openpan
cd "$ROOT"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$DATA"
}
trap cleanup EXIT

wait_http() { # url what log
  for _ in $(seq 1 150); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.2
  done
  echo "$2 did not come up at $1; its log:" >&2
  tail -40 "$3" >&2
  exit 1
}

for url in "$API_URL" "$WEB_URL"; do
  if curl -s -o /dev/null "$url/"; then echo "Something already answers at $url: set OPENPAN_PORT / QZ_WEB_PORT" >&2; exit 1; fi
done

OPENPAN_ENV=(
  OPENPAN_HOST=127.0.0.1 OPENPAN_PORT="$API_PORT" OPENPAN_DATA_DIR="$DATA" OPENPAN_BT_DHT=0
  OPENPAN_ADMIN_PASSWORD="$ADMIN_PASSWORD" OPENPAN_REGISTRATION=open OPENPAN_CORS_ORIGINS="$WEB_URL"
  OPENPAN_FETCH_ALLOW=127.0.0.0/8,::1 OPENPAN_LOG_LEVEL=warn
)
RUN="${OPENPAN_RUN:-dist}"
if [ "$RUN" != tsx ]; then
  say "npm run build"
  if ! npm run build >"$LOGS/openpan-build.log" 2>&1; then
    grep -m5 'error' "$LOGS/openpan-build.log" || tail -5 "$LOGS/openpan-build.log"
    echo "npm run build failed (the whole log: $LOGS/openpan-build.log): running src/main.ts through tsx instead"
    RUN=tsx
  fi
fi
if [ "$RUN" = tsx ]; then
  say "openpan on $API_URL (src/main.ts through tsx)"
  env "${OPENPAN_ENV[@]}" node --import tsx src/main.ts >"$LOGS/openpan.log" 2>&1 &
else
  say "openpan on $API_URL (dist/main.js)"
  env "${OPENPAN_ENV[@]}" node dist/main.js >"$LOGS/openpan.log" 2>&1 &
fi
PIDS+=($!)
wait_http "$API_URL/" openpan "$LOGS/openpan.log"

# The account the browser logs in with, made through the API (registration is open); the
# front end's own registration needs an SMS code.
REG="$(curl -s -X POST "$API_URL/v1/user/register" -H 'content-type: application/json' -d "{\"name\":\"$QZ_USER\",\"password\":\"$QZ_PASSWORD\"}")"
case "$REG" in
  *'"success":true'*) echo "registered $QZ_USER" ;;
  *) echo "register answered: $REG — using the admin account"; QZ_USER=admin; QZ_PASSWORD="$ADMIN_PASSWORD" ;;
esac

# ---- the front end (its own Koa + Nuxt server, production mode)
say "front end on $WEB_URL"
(cd "$BUILD" && NODE_ENV=production HOST=127.0.0.1 PORT="$WEB_PORT" exec node server/index.js) >"$LOGS/web.log" 2>&1 &
PIDS+=($!)
wait_http "$WEB_URL/" "the front end" "$LOGS/web.log"

# ---- drive it
mkdir -p "$SHOTS"
say "driving Chromium (logs in $LOGS)"
set +e
QZ_WEB_URL="$WEB_URL" OPENPAN_URL="$API_URL" QZ_USER="$QZ_USER" QZ_PASSWORD="$QZ_PASSWORD" QZ_SHOTS="$SHOTS" OPENPAN_CHROMIUM="$CHROMIUM" \
  node --import tsx test/clients/web-frontend.drive.ts
rc=$?
set -e
if [ -s "$LOGS/web.log" ] && grep -qiE 'error|warn' "$LOGS/web.log"; then
  say "the front end's server said"
  grep -iE -A3 'error|warn' "$LOGS/web.log" | head -40
fi
say "openpan log (last lines)"
tail -15 "$LOGS/openpan.log"
exit $rc
