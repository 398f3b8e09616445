#!/usr/bin/env bash
# Interop with go-p2p (the Go reference implementation of P2PKE / p2pkeswarm).
#
#   interop/run.sh [all]       build, check the golden vectors, run the Go-only smoke test
#   interop/run.sh build       build interop/go/bin/interop
#   interop/run.sh vectors     regenerate interop/vectors/*.json from go-p2p
#   interop/run.sh check       regenerate into a temporary directory and compare with the
#                              committed vectors, and check fixtures/p2pke-presig-derived.json
#   interop/run.sh smoke       two Go processes exchange tells over loopback UDP
#   interop/run.sh ts          the TypeScript side: type-check interop/, then swarmwire's
#                              p2pkeswarm against the Go node (interop/*.test.ts, vitest)
#
# Needs `go` (>= 1.22) and `node` (to read the JSON lines); `ts` also needs the npm dependencies
# installed (npm ci). Modules come from the Go module
# proxy; go.sum pins them. Nothing here is part of the npm package.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
godir="$here/go"
bin="$godir/bin/interop"

export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

# Two fixed identities: RFC 8032 TEST 1 and TEST 2 seeds (also used in interop/vectors).
SEED_A=9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
SEED_B=4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb

build() {
  echo "== build (go $(go env GOVERSION))"
  (cd "$godir" && go build -o bin/interop .)
}

vectors() {
  "$bin" -mode vectors -out "$here/vectors" -presig-fixture "$root/fixtures/p2pke-presig-derived.json"
}

check() {
  echo "== vectors: regenerate and compare"
  local tmp
  tmp="$(mktemp -d)"
  "$bin" -mode vectors -out "$tmp" -presig-fixture "$root/fixtures/p2pke-presig-derived.json"
  if ! diff -ru "$here/vectors" "$tmp"; then
    echo "interop/vectors differ from what go-p2p produces now (run interop/run.sh vectors)" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$tmp"
  echo "vectors: identical"
}

# json FILE EXPR: evaluates EXPR over `lines` (the parsed JSON lines of FILE) with node.
json() {
  node -e '
    const fs = require("node:fs")
    const lines = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))
    const hex = (s) => Buffer.from(s).toString("hex")
    const r = eval(process.argv[2])
    if (r !== undefined) console.log(typeof r === "string" ? r : JSON.stringify(r))
  ' "$1" "$2"
}

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
fail() {
  failed=$((failed + 1))
  echo "not ok - $1" >&2
}

smoke() {
  local tmp
  tmp="$(mktemp -d)"
  echo "== smoke (logs in $tmp)"

  # A: echo node. Its stdin is a pipe we hold open; closing it must stop A cleanly.
  coproc ECHO_A { exec "$bin" -mode echo -seed "$SEED_A" -listen 127.0.0.1:0 2>"$tmp/a.err"; }
  local a_pid=$ECHO_A_PID a_in a_out line
  exec {a_in}>&"${ECHO_A[1]}" {a_out}<&"${ECHO_A[0]}"
  eval "exec ${ECHO_A[1]}>&- ${ECHO_A[0]}<&-"
  if ! IFS= read -r -t 30 line <&"$a_out"; then
    fail "echo node prints its ready line"
    cat "$tmp/a.err" >&2
    return 1
  fi
  echo "$line" >"$tmp/a.out"
  cat <&"$a_out" {a_in}>&- >>"$tmp/a.out" &
  local a_cat=$!
  local a_addr a_id
  a_addr="$(json "$tmp/a.out" 'lines[0].addr')"
  a_id="$(json "$tmp/a.out" 'lines[0].peer_id')"
  echo "echo node: $a_addr"

  # B: send 5 tells to A and wait for the 5 echoes.
  local b_rc=0
  timeout 90 "$bin" -mode send -seed "$SEED_B" -peer "$a_addr" -count 5 -timeout 60s -watch-stdin=false \
    </dev/null >"$tmp/b.out" 2>"$tmp/b.err" {a_in}>&- {a_out}<&- || b_rc=$?
  if [ "$b_rc" = 0 ]; then ok "send node exits 0"; else fail "send node exits 0 (got $b_rc)"; fi
  local b_id
  b_id="$(json "$tmp/b.out" 'lines[0].peer_id')"
  local verdict
  verdict="$(json "$tmp/b.out" "
    const recv = lines.filter((l) => l.event === 'recv')
    const want = [0, 1, 2, 3, 4].map((i) => hex('echo:hello-' + i))
    const got = recv.map((l) => l.payload_hex).sort()
    const done = lines.at(-1)
    recv.length === 5 && JSON.stringify(got) === JSON.stringify(want.sort()) &&
      recv.every((l) => l.src_peer_id === '$a_id' && l.src === '$a_addr') &&
      done.event === 'done' && done.ok === true ? 'yes' : 'no'
  ")"
  if [ "$verdict" = yes ]; then ok "send node gets 5 echoes from the echo node's PeerID"; else fail "send node gets 5 echoes"; fi

  # Closing A's stdin stops it; it must have seen B's 5 tells, authenticated as B.
  exec {a_in}>&- {a_out}<&-
  local a_rc=0
  wait "$a_pid" || a_rc=$?
  wait "$a_cat" || true
  if [ "$a_rc" = 0 ]; then ok "echo node exits 0 when its stdin closes"; else fail "echo node exits 0 on stdin close (got $a_rc)"; fi
  verdict="$(json "$tmp/a.out" "
    const recv = lines.filter((l) => l.event === 'recv')
    recv.length === 5 && recv.every((l) => l.src_peer_id === '$b_id' && l.src.startsWith('$b_id@127.0.0.1:')) &&
      lines.filter((l) => l.event === 'sent').length === 5 && lines.at(-1).event === 'closed' ? 'yes' : 'no'
  ")"
  if [ "$verdict" = yes ]; then ok "echo node received 5 tells from the send node's PeerID"; else fail "echo node log"; fi

  # C: SIGTERM stops an echo node cleanly.
  coproc ECHO_C { exec "$bin" -mode echo -seed "$SEED_B" -listen 127.0.0.1:0 2>"$tmp/c.err"; }
  local c_pid=$ECHO_C_PID c_out
  exec {c_out}<&"${ECHO_C[0]}"
  eval "exec ${ECHO_C[0]}<&-"
  if IFS= read -r -t 30 line <&"$c_out"; then
    kill -TERM "$c_pid"
    local c_rc=0
    wait "$c_pid" || c_rc=$?
    local last
    last="$(cat <&"$c_out" | tail -n 1)"
    exec {c_out}<&-
    if [ "$c_rc" = 0 ] && [[ "$last" == *'"event":"closed"'* ]]; then
      ok "echo node exits 0 on SIGTERM"
    else
      fail "echo node exits 0 on SIGTERM (rc $c_rc, last line $last)"
    fi
  else
    fail "second echo node prints its ready line"
  fi

  # keyinfo agrees with the committed vectors.
  local k_id v_id
  k_id="$("$bin" -mode keyinfo -seed "$SEED_A" -watch-stdin=false | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s).peer_id))')"
  v_id="$(node -e 'console.log(JSON.parse(require("node:fs").readFileSync(process.argv[1],"utf8")).keys[0].peer_id)' "$here/vectors/keys.json")"
  if [ "$k_id" = "$v_id" ] && [ "$k_id" = "$a_id" ]; then ok "keyinfo, ready line and keys.json agree on the PeerID"; else fail "PeerID mismatch: $k_id $v_id $a_id"; fi

  if [ "$failed" != 0 ]; then
    for f in "$tmp"/*; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
  else
    rm -rf "$tmp"
  fi
}

ts() {
  echo "== TypeScript: p2pkeswarm against go-p2p"
  if (cd "$root" && npx tsc -p interop/tsconfig.json); then
    ok "interop/ type-checks"
  else
    fail "interop/ type-checks"
  fi
  if (cd "$root" && npx vitest run --config interop/vitest.config.ts); then
    ok "swarmwire p2pkeswarm and go-p2p p2pkeswarm exchange tells both ways"
  else
    fail "swarmwire p2pkeswarm and go-p2p p2pkeswarm exchange tells both ways"
  fi
}

cmd="${1:-all}"
case "$cmd" in
  build) build ;;
  vectors) build && vectors ;;
  check) build && check ;;
  smoke) build && smoke ;;
  ts) build && ts ;;
  all)
    build
    if check; then ok "golden vectors reproduce and the presig fixture matches Go"; else fail "golden vectors"; fi
    smoke
    ts
    ;;
  *)
    echo "usage: $0 [all|build|vectors|check|smoke|ts]" >&2
    exit 2
    ;;
esac

if [ "$cmd" = smoke ] || [ "$cmd" = ts ] || [ "$cmd" = all ]; then
  echo "interop: $passed passed, $failed failed"
  [ "$failed" = 0 ]
fi
