#!/usr/bin/env bash
# 6pan's desktop client (zzzhr1990/qingzhenyun-lite-cf: C++17, wxWidgets, cpprestsdk, 2018)
# against openpan, as a real program under Xvfb driven by xdotool. The client's sources are never
# part of openpan: they come from a directory (argument 1 or QZ_DESKTOP_SRC) or, by default, from
# the mirror of its repository (/work/.mirror/zzzhr1990+qingzhenyun-lite-cf/repo), and are built
# in /tmp with the local changes listed below (made by this script at run time).
#
# What it does: builds the client; builds and starts openpan (temporary data dir, DHT off, open
# registration, loopback only) behind a small logging proxy; starts a BitTorrent tracker and two
# seeders on 127.0.0.1 (test/support/swarm.ts); makes an account, a folder /Movies and a file in
# it through the API; then, in the client: log in, list the root, open /Movies, make a folder in
# it, add a magnet task, upload a .torrent (the client's own /v1/store/token + mkblk/mkfile upload,
# then parseTorrent and start with one file of two), wait for both tasks, restart the client (it
# signs in with its saved token), rename the account, sign out and sign in under the new name.
# Screenshots go to docs/clients/desktop-*.png. Every request the client sent and every answer is in
# $QZ_DESKTOP_RUN/wire.jsonl; those that failed are printed at the end.
#
#   bash test/clients/desktop-client.sh [SRC_DIR]
#
# Env: QZ_DESKTOP_SRC, QZ_DESKTOP_BUILD (/tmp/qz-desktop-build), QZ_DESKTOP_RUN (a new
# /tmp/qz-desktop-run.XXXXXX), QZ_SHOTS (docs/clients), OPENPAN_SKIP_BUILD=1 (use dist/ as it is),
# QZ_VERBOSE=1 (print every exchange), QZ_KEEP=1 (leave everything running at the end; the PIDs are
# in $QZ_DESKTOP_RUN/pids).
#
# Local changes to the client (each found by building it on Debian 12):
#  1. CMakeLists.txt: drop `SET(CMAKE_TOOLCHAIN_FILE "D:/vcpkg/...")` (the author's Windows vcpkg).
#  2. CMakeLists.txt: link `mpv` instead of "/usr/local/opt/mpv/lib/libmpv.dylib" (Homebrew's).
#  3. src/api_model/base/base_api_model.h:27: the API base URL, hard-coded "https://api.6pan.cn",
#     becomes "http://127.0.0.1:" + $QZ_LOCAL_API_PORT (loopback whatever the variable says), and
#     the placeholder client's "https://www.cctv.com" (line 30, never requested) becomes
#     http://127.0.0.1:9; <cstdlib> is included for getenv.
#  and three compiler flags, no source edit:
#  4. -fpermissive: GCC refuses `error_reason error_reason;` (src/entity/file_task_info.hpp:46,65,
#     a member named like its enum type), which MSVC and clang accepted.
#  5. -I<build>/wxsetup: a copy of Debian's wx/setup.h with wxUSE_STD_STRING_CONV_IN_WXSTRING 1.
#     The code converts wxString to std::string implicitly in ~20 places (e.g.
#     src/util/common_util.h:92); Debian builds wxWidgets 3.2 without that conversion. It only
#     switches inline conversion operators in wx/string.h: the library's ABI is unchanged.
#  6. -Dmpv_detach_destroy=mpv_destroy: the bundled lib/include/mpv/client.h is older than
#     Debian's libmpv 0.35, which no longer has mpv_detach_destroy (video preview only).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MIRROR=/work/.mirror/zzzhr1990+qingzhenyun-lite-cf/repo
SRC_IN="${1:-${QZ_DESKTOP_SRC:-}}"
SRC=/tmp/qz-desktop-src
BUILD="${QZ_DESKTOP_BUILD:-/tmp/qz-desktop-build}"
RUN="${QZ_DESKTOP_RUN:-$(mktemp -d /tmp/qz-desktop-run.XXXXXX)}"
SHOTS="${QZ_SHOTS:-$ROOT/docs/clients}"
USER_NAME=alice
USER_PASSWORD='Desk-top-pass1'
mkdir -p "$RUN" "$SHOTS"
: > "$RUN/pids"

say() { printf '\n### %s\n' "$*"; }
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }

# ---- Debian packages
NEED=()
for pair in cmake:cmake g++:g++ Xvfb:xvfb xdotool:xdotool import:imagemagick wx-config:libwxgtk3.2-dev curl:curl; do
  command -v "${pair%%:*}" >/dev/null || NEED+=("${pair#*:}")
done
[ -f /usr/lib/x86_64-linux-gnu/cmake/cpprestsdk/cpprestsdk-config.cmake ] || NEED+=(libcpprest-dev)
[ -f /usr/include/mpv/client.h ] || NEED+=(libmpv-dev)
[ -d /usr/lib/x86_64-linux-gnu/cmake/TBB ] || NEED+=(libtbb-dev)
[ -d /usr/include/boost ] || NEED+=(libboost-all-dev)
[ -f /usr/include/openssl/ssl.h ] || NEED+=(libssl-dev)
if [ "${#NEED[@]}" -gt 0 ]; then
  say "installing ${NEED[*]} (Debian)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${NEED[@]}" libwxgtk-webview3.2-dev >/dev/null
fi

# ---- the client's sources, with the local changes
say "sources"
STAGE="$(mktemp -d /tmp/qz-desktop-stage.XXXXXX)"
if [ -n "$SRC_IN" ]; then
  [ -f "$SRC_IN/CMakeLists.txt" ] || { echo "$SRC_IN has no CMakeLists.txt" >&2; exit 2; }
  cp -a "$SRC_IN/." "$STAGE/"
else
  [ -d "$MIRROR" ] || { echo "No client sources: give a directory (argument or QZ_DESKTOP_SRC) or provide $MIRROR" >&2; exit 2; }
  # Only what the build reads: the mirror lacks the blobs of bin/windows/*/libmpv.dll and of a
  # committed cmake-build-debug binary, so a whole-tree archive stops half-way.
  git -C "$MIRROR" archive HEAD -- CMakeLists.txt src images lib trans 2>/dev/null | tar -x -C "$STAGE"
fi
HDR="$STAGE/src/api_model/base/base_api_model.h"
grep -q '"https://api.6pan.cn"' "$HDR" || { echo "no hard-coded API URL in $HDR: the sources changed, check the edits" >&2; exit 2; }
sed -i -e '/CMAKE_TOOLCHAIN_FILE/d' -e 's#"/usr/local/opt/mpv/lib/libmpv.dylib"#mpv#' "$STAGE/CMakeLists.txt"
sed -i \
  -e 's#_XPLATSTR("https://api.6pan.cn")#utility::conversions::to_string_t(std::string("http://127.0.0.1:") + (std::getenv("QZ_LOCAL_API_PORT") ? std::getenv("QZ_LOCAL_API_PORT") : "7777"))#' \
  -e 's#_XPLATSTR("https://www.cctv.com")#_XPLATSTR("http://127.0.0.1:9")#' \
  -e 's#^\#include <iostream>$#&\n\#include <cstdlib>#' "$HDR"
if grep -rqE 'https?://[a-z]' "$STAGE/src/api_model" "$STAGE/src/wcs"; then
  echo "an address other than 127.0.0.1 is left in the client's API layer:" >&2
  grep -rnE 'https?://[a-z]' "$STAGE/src/api_model" "$STAGE/src/wcs" >&2
  exit 2
fi
# Copy into $SRC only what changed, so that make rebuilds only that.
mkdir -p "$SRC"
(cd "$STAGE" && find . -type f) | while read -r f; do
  if ! cmp -s "$STAGE/$f" "$SRC/$f"; then mkdir -p "$(dirname "$SRC/$f")" && cp "$STAGE/$f" "$SRC/$f"; fi
done
rm -rf "$STAGE"

# ---- build
say "building the client in $BUILD"
mkdir -p "$BUILD/wxsetup/wx"
WX_SETUP="$(wx-config --cxxflags | tr ' ' '\n' | sed -n 's/^-I//p' | while read -r d; do [ -f "$d/wx/setup.h" ] && echo "$d/wx/setup.h" && break; done)"
[ -n "$WX_SETUP" ] || { echo "no wx/setup.h found through wx-config" >&2; exit 2; }
sed 's/^#define wxUSE_STD_STRING_CONV_IN_WXSTRING .*/#define wxUSE_STD_STRING_CONV_IN_WXSTRING 1/' "$WX_SETUP" > "$BUILD/wxsetup/wx/setup.h.new"
cmp -s "$BUILD/wxsetup/wx/setup.h.new" "$BUILD/wxsetup/wx/setup.h" 2>/dev/null && rm "$BUILD/wxsetup/wx/setup.h.new" || mv "$BUILD/wxsetup/wx/setup.h.new" "$BUILD/wxsetup/wx/setup.h"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_CXX_FLAGS=-fpermissive -I$BUILD/wxsetup -Dmpv_detach_destroy=mpv_destroy -w" > "$RUN/cmake.log" 2>&1 \
  || { tail -30 "$RUN/cmake.log"; exit 1; }
make -C "$BUILD" -j"$(nproc)" > "$RUN/make.log" 2>&1 || { grep -E 'error|Error' "$RUN/make.log" | head -30; exit 1; }
CLIENT="$BUILD/qingzhenyun-lite"
echo "built $CLIENT"

# ---- processes, cleaned up at exit
declare -a PIDS=()
started() { PIDS+=("$1"); echo "$1 $2" >> "$RUN/pids"; }
cleanup() {
  if [ "${QZ_KEEP:-}" = 1 ]; then echo "left running (QZ_KEEP=1): $(tr '\n' ' ' < "$RUN/pids")"; return; fi
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
  sleep 1
  [ -n "${DATA:-}" ] && rm -rf "$DATA"
  return 0
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_for() { # wait_for SECONDS COMMAND...
  local until=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $until ] || return 1; sleep 0.3; done
}

# ---- openpan behind a logging proxy
say "openpan"
cd "$ROOT"
if [ "${OPENPAN_SKIP_BUILD:-}" != 1 ]; then npm run build > "$RUN/openpan-build.log" 2>&1 || { tail -30 "$RUN/openpan-build.log"; exit 1; }; fi
API_PORT="$(free_port)"
PROXY_PORT="$(free_port)"
DATA="$(mktemp -d /tmp/qz-desktop-openpan.XXXXXX)"
ADMIN_PASSWORD="admin-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# Clients reach openpan through the proxy only: upload addresses are built from OPENPAN_PUBLIC_URL.
OPENPAN_HOST=127.0.0.1 OPENPAN_PORT="$API_PORT" OPENPAN_PUBLIC_URL="http://127.0.0.1:$PROXY_PORT" \
  OPENPAN_DATA_DIR="$DATA" OPENPAN_BT_DHT=0 OPENPAN_BT_PEX=0 OPENPAN_FETCH_ALLOW=127.0.0.1/32 \
  OPENPAN_ADMIN_PASSWORD="$ADMIN_PASSWORD" OPENPAN_REGISTRATION=open OPENPAN_LOG_LEVEL=info \
  node dist/main.js > "$RUN/openpan.log" 2>&1 &
started $! openpan

cat > "$RUN/proxy.mjs" <<'EOF'
// Loopback logging proxy: one JSON line per exchange (request as sent, answer as received).
import http from 'node:http';
import { appendFileSync } from 'node:fs';
const [listenPort, targetPort, logFile] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const printable = (buf) => /^[\t\n\r\x20-\x7e]*$/.test(buf.toString('latin1', 0, 64));
const show = (buf, type) => (buf.length === 0 ? '' : /json|text|urlencoded/.test(type || '') || printable(buf) ? buf.toString('utf8').slice(0, 4000) : `<${buf.length} bytes ${type || ''}>`);
const server = http.createServer((req, res) => {
  const body = [];
  req.on('data', (c) => body.push(c));
  req.on('end', () => {
    const sent = Buffer.concat(body);
    const up = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (ans) => {
      const got = [];
      ans.on('data', (c) => got.push(c));
      ans.on('end', () => {
        const answer = Buffer.concat(got);
        const auth = req.headers.token ? `Token: ${req.headers.token.slice(0, 10)}…` : req.headers.authorization ? `Authorization: ${req.headers.authorization.slice(0, 16)}…` : '';
        appendFileSync(logFile, JSON.stringify({ t: new Date().toISOString(), method: req.method, url: req.url, auth, type: req.headers['content-type'] || '', req: show(sent, req.headers['content-type']), status: ans.statusCode, res: show(answer, ans.headers['content-type']) }) + '\n');
        res.writeHead(ans.statusCode, ans.headers);
        res.end(answer);
      });
    });
    up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    up.end(sent);
  });
});
// Keep idle connections as long as openpan (Fastify: 72 s) does. With Node's default 5 s, the
// client reuses a pooled connection the proxy has closed (cpprest writes the headers, the body
// gets EPIPE, no retry) and shows "Login Failed" for a good password.
server.keepAliveTimeout = 72_000;
server.headersTimeout = 73_000;
server.listen(listenPort, '127.0.0.1');
EOF
WIRE="$RUN/wire.jsonl"
: > "$WIRE"
node "$RUN/proxy.mjs" "$PROXY_PORT" "$API_PORT" "$WIRE" > "$RUN/proxy.log" 2>&1 &
started $! proxy
BASE="http://127.0.0.1:$API_PORT"
wait_for 60 curl -s -o /dev/null "$BASE/" || { tail -20 "$RUN/openpan.log"; exit 1; }
wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$PROXY_PORT/" || { cat "$RUN/proxy.log"; exit 1; }
echo "openpan on $BASE, the client talks to the proxy on 127.0.0.1:$PROXY_PORT; data in $DATA"

# ---- a swarm on loopback: a tracker, a seeded torrent for the magnet and one for the .torrent
say "tracker and seeders (127.0.0.1)"
cat > "$RUN/swarm.mts" <<'EOF'
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
const { startTracker, makeTorrent, startWebTorrentSeeder } = await import(join(process.env.OPENPAN_ROOT!, 'test/support/swarm.ts'));
const dir = process.argv[2];
const tracker = await startTracker();
const text = (line: string, n: number) => Buffer.from(line.repeat(n));
const viaMagnet = makeTorrent([{ path: 'magnet-hello.txt', bytes: text('fetched through a magnet link\n', 3000) }], { announce: [tracker.httpUrl], name: 'openpan-magnet-demo' });
const viaFile = makeTorrent(
  [{ path: 'hello.txt', bytes: text('hello over bittorrent\n', 4000) }, { path: 'docs/readme.txt', bytes: text('a second file\n', 500) }],
  { announce: [tracker.httpUrl], name: 'openpan-sample' },
);
await startWebTorrentSeeder(viaMagnet, join(dir, 'seed-magnet'), tracker);
await startWebTorrentSeeder(viaFile, join(dir, 'seed-file'), tracker);
writeFileSync(join(dir, 'openpan-sample.torrent'), viaFile.torrent);
writeFileSync(join(dir, 'magnet.txt'), `magnet:?xt=urn:btih:${viaMagnet.infoHash}&dn=${viaMagnet.name}&tr=${encodeURIComponent(tracker.httpUrl)}`);
writeFileSync(join(dir, 'swarm.ready'), 'ok\n');
setInterval(() => {}, 1 << 30);
EOF
OPENPAN_ROOT="$ROOT" node --import tsx "$RUN/swarm.mts" "$RUN" > "$RUN/swarm.log" 2>&1 &
started $! swarm
wait_for 60 test -f "$RUN/swarm.ready" || { cat "$RUN/swarm.log"; exit 1; }
MAGNET="$(cat "$RUN/magnet.txt")"
TORRENT="$RUN/openpan-sample.torrent"
echo "magnet: $MAGNET"

# ---- an account, a folder and a file, through the API (straight to openpan, not logged)
say "account $USER_NAME, /Movies, /Movies/notes.txt"
api() { # api PATH JSON [TOKEN]
  curl -s -X POST "$BASE$1" -H 'content-type: application/json' ${3:+-H "Authorization: Bearer $3"} -d "$2"
}
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v?.[k];console.log(v??"")})' "$1"; }
ANSWER="$(api /v1/user/register "{\"name\":\"$USER_NAME\",\"password\":\"$USER_PASSWORD\"}")"
TOKEN="$(echo "$ANSWER" | field token)"
[ -n "$TOKEN" ] || { echo "register failed: $ANSWER" >&2; exit 1; }
api /v1/files/createDirectory '{"path":"/Movies"}' "$TOKEN" > /dev/null
printf 'notes kept on openpan\n' > "$RUN/notes.txt"
ANSWER="$(api /v1/store/token '{"path":"/Movies","name":"notes.txt"}' "$TOKEN")"
UP_URL="$(echo "$ANSWER" | field result.uploadUrl)"
UP_TOKEN="$(echo "$ANSWER" | field result.token)"
case "$UP_URL" in http://127.0.0.1:*) ;; *) echo "upload address is not loopback: $ANSWER" >&2; exit 1 ;; esac
curl -s -X POST "$UP_URL/file/upload" -F "token=$UP_TOKEN" -F "file=@$RUN/notes.txt" | grep -q '"hash"' || { echo "upload of notes.txt failed" >&2; exit 1; }
: > "$WIRE" # from here on, the log holds the client's traffic only

# ---- Xvfb and the client
say "Xvfb and the client"
N=90; while [ -e "/tmp/.X11-unix/X$N" ] || [ -e "/tmp/.X$N-lock" ]; do N=$((N + 1)); done
export DISPLAY=":$N"
Xvfb "$DISPLAY" -screen 0 1024x768x24 -nolisten tcp > "$RUN/xvfb.log" 2>&1 &
started $! Xvfb
wait_for 10 xdotool getmouselocation || { cat "$RUN/xvfb.log"; exit 1; }
mkdir -p "$RUN/home"
# The client finds images/*.png relative to its working directory (the build copies them there)
# and keeps its token under $HOME.
(cd "$BUILD" && HOME="$RUN/home" LANG=C.UTF-8 QZ_LOCAL_API_PORT="$PROXY_PORT" exec "$CLIENT") > "$RUN/client.log" 2>&1 &
CLIENT_PID=$!
started $CLIENT_PID client

win() { { xdotool search --onlyvisible --name "$1" 2>/dev/null || true; } | tail -1; }
has_win() { [ -n "$(win "$1")" ]; }
no_win() { [ -z "$(win "$1")" ]; }
wait_win() { wait_for "${2:-20}" has_win "$1"; }
# wxLocale cannot switch to zh_CN here (no such locale), and the client says so in a modal
# "qingzhenyun-lite Warning" box that shows up some time after start: click its OK when it is up.
dismiss_warning() {
  local w; w="$(win 'Warning$')"
  if [ -n "$w" ]; then xdotool mousemove --window "$w" 229 63 click 1; sleep 0.5; fi
}
click() { # click WINDOW-NAME X Y [REPEAT]: coordinates inside that window
  dismiss_warning
  local w; w="$(win "$1")"
  [ -n "$w" ] || { echo "  (no window '$1' to click)"; return 0; }
  xdotool mousemove --window "$w" "$2" "$3" click --repeat "${4:-1}" --delay 90 1
}
shot() { # shot NAME: the main window's area of the screen, small
  dismiss_warning
  import -window root -crop 820x620+102+74 +repage +dither -colors 32 "PNG8:$SHOTS/desktop-$1.png"
  echo "screenshot docs/clients/desktop-$1.png"
}
alive() { kill -0 "$CLIENT_PID" 2>/dev/null; }
# wire_ok URL-REGEX [REQ-REGEX]: the last such exchange answered HTTP 200 with success:true
wire_ok() {
  node -e '
    const [file, url, reqRe] = process.argv.slice(1);
    const rows = require("fs").readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map(JSON.parse)
      .filter((r) => new RegExp(url).test(r.url) && (!reqRe || new RegExp(reqRe).test(r.req)));
    const r = rows.at(-1);
    if (!r) { console.log("  (the client sent no " + url + ")"); process.exit(1); }
    let ok = r.status === 200;
    try { const b = JSON.parse(r.res); if ("success" in b) ok = ok && b.success === true; } catch {}
    if (!ok) console.log("  sent " + r.method + " " + r.url + " " + r.req.slice(0, 300) + "\n  answer HTTP " + r.status + " " + r.res.slice(0, 400));
    process.exit(ok ? 0 : 1);' "$WIRE" "$1" "${2:-}"
}
step() { # step NAME: ok when the client is alive and no "Login Failed" box is up
  if ! alive; then fail "$1: the client exited ($(tail -3 "$RUN/client.log" | tr '\n' ' '))"; return 1; fi
  if [ -n "$(win '^Login Failed$')" ]; then fail "$1: the client shows \"Login Failed\""; return 1; fi
  return 0
}

# Step 1: log in. The client opens "User login" itself when it has no token. A wrong password
# first: the client must get a failure it can read (the envelope's success:false) and open its
# dialog again, titled "Login Failed" (mainframe.cpp TryLogin); then the right one.
wait_win '^User login$' 30 || { fail "the login dialog never opened"; exit 1; }
sleep 1
click '^User login$' 404 120 && xdotool type --delay 40 "$USER_NAME"  # userlogindialog.cpp: "Phone/User"
click '^User login$' 333 166 && xdotool type --delay 40 "wrong-$USER_PASSWORD"  # "Password"
click '^User login$' 515 332  # OK
if wait_win '^Login Failed$' 15; then
  node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse).filter((r) => r.url === "/v1/user/login");
    const r = rows.at(-1); const b = JSON.parse(r.res);
    console.log(`  wrong password: HTTP ${r.status}, envelope status ${b.status} success ${b.success} code ${b.code}`);
    process.exit(r.status === 200 && b.success === false ? 0 : 1);' "$WIRE" \
    && pass "wrong password refused as 6pan did (HTTP 200, success:false), the client asks again" \
    || fail "wrong password: not refused the way the client reads it"
  LOGIN_WIN='^Login Failed$'
else
  fail "no \"Login Failed\" dialog after a wrong password"
  LOGIN_WIN='^User login$'
fi
click "$LOGIN_WIN" 404 120 && xdotool type --delay 40 "$USER_NAME"
click "$LOGIN_WIN" 333 166 && xdotool type --delay 40 "$USER_PASSWORD"
sleep 0.5
shot 1-login
click "$LOGIN_WIN" 515 332  # OK
wait_for 15 no_win "$LOGIN_WIN" || true
wait_for 8 has_win 'Warning$' || true
sleep 2
if step "log in" && wire_ok '^/v1/user/login$'; then pass "log in as $USER_NAME (POST /v1/user/login with value + md5 password)"; else fail "log in"; fi

# Step 2: the root, listed right after login (MainFrame::OnLoginSuccess -> /v1/files/page).
wait_for 10 wire_ok '^/v1/files/page$' '"path":"/"' || true
sleep 1
shot 2-root
if step "root" && wire_ok '^/v1/files/page$' '"path":"/"'; then pass "root listed (/v1/files/page path /)"; else fail "root listing"; fi

# Step 3: open /Movies: double-click its row (my_remote_file.cpp OnUserRemoteFileActivated).
click '^MainFrame$' 80 189 2
wait_for 10 wire_ok '^/v1/files/page$' '"path":"/Movies"' || true
sleep 1.5
shot 3-folder
if step "folder" && wire_ok '^/v1/files/page$' '"path":"/Movies"'; then pass "folder /Movies opened (/v1/files/page path /Movies)"; else fail "open /Movies"; fi

# Step 3b: a new folder in /Movies: the new-directory button, a name, OK
# (my_remote_file.cpp NewDirectoryBtnClicked -> /v1/files/createDirectory {path, name}).
click '^MainFrame$' 775 127
if wait_win '^New Directory$' 10; then
  click '^New Directory$' 272 102 && xdotool type --delay 40 Series
  click '^New Directory$' 340 227
fi
wait_for 10 wire_ok '^/v1/files/createDirectory$' || true
sleep 1.5
if step "new folder" && wire_ok '^/v1/files/createDirectory$' '"name":"Series"' && wire_ok '^/v1/files/page$' '"path":"/Movies"' \
  && grep '"/v1/files/page"' "$WIRE" | tail -1 | grep -q 'Movies/Series'; then
  pass "new folder /Movies/Series (createDirectory {path:/Movies, name:Series}), listed"
else
  fail "new folder"
fi

# Step 4: a magnet task: tab "Offline Download Task", the new-task button, the URL box, OK.
click '^MainFrame$' 234 85
sleep 1.5
click '^MainFrame$' 775 127
wait_win '^AddOfflineTask$' 10 || fail "the new task dialog did not open"
click '^AddOfflineTask$' 300 145 && xdotool type --delay 15 "$MAGNET"
click '^AddOfflineTask$' 540 377  # OK -> /v1/offline/parseUrl
# With files in the answer the client asks which to fetch (AddTaskResultDialog); OK takes all.
if wait_win '^AddTaskResultDialog$' 40; then sleep 0.5; click '^AddTaskResultDialog$' 435 372; fi
wait_for 15 wire_ok '^/v1/offline/start$' 'taskHash' || true
sleep 2
shot 4-magnet
if step "magnet" && wire_ok '^/v1/offline/parseUrl$' && wire_ok '^/v1/offline/start$'; then pass "magnet task added (parseUrl, start)"; else fail "magnet task"; fi

# Step 5: upload a .torrent: the "Upload Torrents" tab, "Browse in my computer" (a GTK file
# chooser: Ctrl+L, the path, Enter), download to /Movies, OK -> store/token, mkblk, mkfile,
# parseTorrent; then the file list dialog, where docs/readme.txt is unticked: the client then
# sends copyFile "[0]" (add_task_result_dialog.cpp GetItemsSelectString) instead of "[\"*\"]".
STARTS_BEFORE="$(grep -c '"/v1/offline/start"' "$WIRE" || true)"
click '^MainFrame$' 775 127
wait_win '^AddOfflineTask$' 10 || fail "the new task dialog did not open"
click '^AddOfflineTask$' 181 50
sleep 0.8
click '^AddOfflineTask$' 489 182
if wait_win '^Select the torrent file to load$' 10; then
  xdotool windowfocus "$(win '^Select the torrent file to load$')"; sleep 0.5
  xdotool key ctrl+l; sleep 0.5
  xdotool type --delay 15 "$TORRENT"; sleep 0.5
  xdotool key Return
  wait_for 10 no_win '^Select the torrent file to load$' || true
else
  fail "the file chooser did not open"
fi
click '^AddOfflineTask$' 300 323 3 && xdotool key ctrl+a && xdotool type --delay 30 /Movies  # "Download To:"
click '^AddOfflineTask$' 540 377
if wait_win '^AddTaskResultDialog$' 30; then
  sleep 1
  click '^AddTaskResultDialog$' 18 121  # the second file's box
  sleep 0.5
  shot 5-torrent
  click '^AddTaskResultDialog$' 435 372
else
  shot 5-torrent
fi
starts_more() { [ "$(grep -c '"/v1/offline/start"' "$WIRE" || true)" -gt "$STARTS_BEFORE" ]; }
wait_for 15 starts_more || true
sleep 1
if step "torrent" && wire_ok '^/v1/store/token$' && wire_ok '^/upload/mkfile/' && wire_ok '^/v1/offline/parseTorrent$' && wire_ok '^/v1/offline/start$' '/Movies'; then
  pass "torrent uploaded (store/token, mkblk, mkfile, parseTorrent) and its task started into /Movies"
  if wire_ok '^/v1/offline/start$' 'copyFile.:.\[0\]'; then pass "one file of two chosen (copyFile \"[0]\")"; else fail "copyFile [0] not sent or refused"; fi
else
  fail "torrent upload and task"
fi

# Step 6: both tasks finish; the client polls /v1/offline/page every 5 s.
finished() {
  node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse).filter((r) => r.url === "/v1/offline/page");
    const last = rows.at(-1); if (!last) process.exit(1);
    const list = JSON.parse(last.res).result?.list ?? [];
    process.exit(list.length >= 2 && list.every((t) => t.status === 100) ? 0 : 1);' "$WIRE"
}
if wait_for 120 finished; then pass "both tasks finished (status 100 in /v1/offline/page)"; else fail "tasks not finished within 120 s"; fi
sleep 1
shot 6-tasks
step "tasks" >/dev/null && pass "the client is still running" || true

# Step 7: restart the client. It keeps its token under $HOME (config_model.cpp
# .qingzhen_token_store) and signs in with it (MainFrame::OnWindowCreate -> /v1/user/info), no
# login dialog; then open /Movies, where the torrent's task saved only hello.txt.
kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null || true
mv "$WIRE" "$RUN/wire-first-run.jsonl"  # the proxy starts a new $WIRE with the next exchange
(cd "$BUILD" && HOME="$RUN/home" LANG=C.UTF-8 QZ_LOCAL_API_PORT="$PROXY_PORT" exec "$CLIENT") >> "$RUN/client.log" 2>&1 &
CLIENT_PID=$!
started $CLIENT_PID client-again
wait_for 20 wire_ok '^/v1/files/page$' '"path":"/"' || true
wait_for 8 has_win 'Warning$' || true
sleep 1
if step "restart" && no_win '^User login$' && wire_ok '^/v1/user/info$' && wire_ok '^/v1/files/page$' '"path":"/"'; then
  pass "restarted with the saved token: /v1/user/info, root listed, no login dialog"
else
  fail "restart with the saved token"
fi
# The root now also holds /:torrent and the magnet's folder: find the row of Movies in the
# client's last root listing (rows are 23 px apart, in the answer's order).
ROW="$(node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse)
    .filter((r) => r.url === "/v1/files/page" && r.req.includes("\"path\":\"/\""));
  const list = JSON.parse(rows.at(-1)?.res ?? "{}").result?.list ?? [];
  console.log(Math.max(0, list.findIndex((f) => f.name === "Movies")));' "$WIRE")"
click '^MainFrame$' 80 $((189 + 23 * ROW)) 2
wait_for 10 wire_ok '^/v1/files/page$' '"path":"/Movies"' || true
sleep 1.5
shot 7-restart
if step "reopen" && wire_ok '^/v1/files/page$' '"path":"/Movies"'; then pass "after the restart, /Movies opened (row $((ROW + 1)) of the root)"; else fail "open /Movies after the restart"; fi
SAVED="$(api /v1/files/page '{"path":"/Movies/openpan-sample","pageSize":50}' "$TOKEN" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const l=JSON.parse(s).result?.list??[];console.log(l.map(f=>f.name).sort().join(","))})')"
if [ "$SAVED" = "hello.txt" ]; then pass "the torrent task saved hello.txt alone into /Movies/openpan-sample"; else fail "/Movies/openpan-sample holds [$SAVED], not hello.txt alone"; fi

# Step 8: the account dialog (toolbar user icon, userdialog.cpp): rename the account
# (/v1/user/changeNameAndGet), sign out ("Logout / Log in use another account": the client drops
# its token, then calls /v1/user/logout), and sign in again under the new name.
NEW_NAME="$USER_NAME-desk"
click '^MainFrame$' 21 46
if wait_win '^UserDialog$' 10; then
  click '^UserDialog$' 426 141  # "Change"
  if wait_win '^ChangeUsernameDialog$' 10; then
    click '^ChangeUsernameDialog$' 281 28 && xdotool type --delay 40 "$NEW_NAME"
    click '^ChangeUsernameDialog$' 394 151
  fi
  wait_for 10 wire_ok '^/v1/user/changeNameAndGet$' || true
  sleep 1
  if wire_ok '^/v1/user/changeNameAndGet$' "\"name\":\"$NEW_NAME\""; then pass "account renamed to $NEW_NAME (changeNameAndGet)"; else fail "rename"; fi
  click '^UserDialog$' 249 234  # "Logout / Log in use another account"
fi
if wait_win '^Login$' 10; then
  wire_ok '^/v1/user/logout$' && pass "signed out (/v1/user/logout)" || fail "sign out"
  click '^Login$' 404 120 && xdotool type --delay 40 "$NEW_NAME"
  click '^Login$' 333 166 && xdotool type --delay 40 "$USER_PASSWORD"
  click '^Login$' 515 332
  wait_for 10 no_win '^Login$' || true
  sleep 2
  if step "login again" && wire_ok '^/v1/user/login$' "\"value\":\"$NEW_NAME\""; then pass "signed in again as $NEW_NAME"; else fail "sign in as $NEW_NAME"; fi
else
  fail "no login dialog after signing out"
fi
step "end" >/dev/null && pass "the client is still running" || true

# ---- what the client sent
say "exchanges (method url -> HTTP status, envelope)"
node -e '
  const rows = process.argv.slice(1).flatMap((f) => require("fs").readFileSync(f, "utf8").trim().split("\n")).filter(Boolean).map(JSON.parse);
  const verbose = process.env.QZ_VERBOSE === "1";
  const seen = new Map();
  for (const r of rows) {
    let env = ""; let bad = r.status !== 200;
    try { const b = JSON.parse(r.res); if ("success" in b) { env = `success=${b.success} code=${b.code}`; bad ||= b.success !== true; } } catch {}
    const key = `${r.method} ${r.url.replace(/\/\d+(\/\d+)?$/, "/…")} -> ${r.status} ${env}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (bad || verbose) console.log(`${bad ? "not ok (HTTP error or success:false)" : "ok"} ${r.method} ${r.url} ${r.auth}\n  sent ${r.req.slice(0, 600)}\n  answer HTTP ${r.status} ${r.res.slice(0, 600)}`);
  }
  for (const [k, n] of seen) console.log(`${String(n).padStart(4)} x ${k}`);' "$RUN/wire-first-run.jsonl" "$WIRE"
echo "wire logs: $RUN/wire-first-run.jsonl (then) $WIRE; client output: $RUN/client.log; openpan log: $RUN/openpan.log"
echo
echo "desktop client: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
