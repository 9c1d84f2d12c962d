# Sourced by cross/e2e and scripts/footprint: a real cloud and the RouterOS emulator (host
# builds) on ephemeral ports, one router registered, and helpers to start a cross-built
# agent under qemu-user against them and to wait on their state.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

stack_pids=()
stack_stop() {
  local pid
  for pid in "${stack_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${stack_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  stack_pids=()
}

# Host binaries of the cloud and the emulator: built here (debug, like the tests), or taken
# from JASIYO_E2E_BIN_DIR when set.
stack_host_bins() {
  local dir
  if [[ -n "${JASIYO_E2E_BIN_DIR:-}" ]]; then
    dir=$JASIYO_E2E_BIN_DIR
  else
    echo "==> building jasiyo-cloud and routeros-emulator (host)" >&2
    (cd "$repo" && cargo build --locked --quiet -p jasiyo-cloud -p jasiyo-tests --bin jasiyo-cloud --bin routeros-emulator)
    dir="${CARGO_TARGET_DIR:-$repo/target}/debug"
  fi
  cloud_bin="$dir/jasiyo-cloud" emulator_bin="$dir/routeros-emulator"
  [[ -x $cloud_bin && -x $emulator_bin ]] || { echo "no jasiyo-cloud/routeros-emulator in $dir" >&2; return 1; }
}

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 20 ms until it succeeds.
wait_for() {
  local timeout=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s%N) + timeout * 1000000000))
  until "$@"; do
    if (($(date +%s%N) > deadline)); then
      echo "timed out after ${timeout}s waiting for $what" >&2
      return 1
    fi
    sleep 0.02
  done
}

# The cloud's management CLI on this stack's database.
cloud() { JASIYO_DATA_DIR="$stack_dir/cloud" "$cloud_bin" "$@"; }

# stack_start DIR: emulator + cloud + tenant + router. Sets emulator_addr, cloud_addr,
# router_id, router_token.
stack_start() {
  stack_dir=$1
  mkdir -p "$stack_dir"
  "$emulator_bin" --listen 127.0.0.1:0 </dev/null >"$stack_dir/emulator.out" 2>"$stack_dir/emulator.log" &
  stack_pids+=($!)
  wait_for 20 "the RouterOS emulator to listen" grep -q "listening on" "$stack_dir/emulator.out"
  emulator_addr=$(sed -n 's/.*listening on //p' "$stack_dir/emulator.out")

  # Not through cloud(): a backgrounded function is a subshell, and its pid is not the cloud's.
  JASIYO_DATA_DIR="$stack_dir/cloud" "$cloud_bin" serve --listen 127.0.0.1:0 --allow-unreachable-callbacks --ready-file "$stack_dir/cloud.addr" \
    </dev/null >/dev/null 2>"$stack_dir/cloud.log" &
  stack_pids+=($!)
  wait_for 20 "the cloud to listen" test -s "$stack_dir/cloud.addr"
  cloud_addr=$(cat "$stack_dir/cloud.addr")

  cloud tenant create --name "cross e2e" >/dev/null
  stack_add_router router
  echo "    emulator $emulator_addr, cloud $cloud_addr, router $router_id" >&2
}

# stack_add_router NAME: registers another router; sets router_id and router_token to it.
stack_add_router() {
  cloud router add --tenant "cross e2e" --name "$1" --json >"$stack_dir/router-$1.json"
  router_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$stack_dir/router-$1.json")
  router_token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$stack_dir/router-$1.json")
}

# agent_start NAME RUNNER... BINARY: starts `BINARY run` (through RUNNER, e.g. qemu-aarch64-static,
# or none) against this stack with a fresh data dir (kept as it is with keep_data=1); sets
# agent_pid (the pid of RUNNER, i.e. of qemu when emulated), agent_log, agent_data and
# agent_started_ns (just before exec).
agent_start() {
  local name=$1
  shift
  agent_log="$stack_dir/agent-$name.log"
  agent_data="$stack_dir/agent-$name"
  [[ -n ${keep_data:-} ]] || rm -rf "$agent_data"
  agent_started_ns=$(date +%s%N)
  env -i PATH=/usr/bin:/bin NO_COLOR=1 RUST_LOG=info \
    JASIYO_CLOUD_URL="ws://$cloud_addr" JASIYO_ROUTER_ID="$router_id" JASIYO_TOKEN="$router_token" \
    JASIYO_DATA_DIR="$stack_dir/agent-$name" JASIYO_ROUTEROS_ADDR="$emulator_addr" \
    JASIYO_ROUTEROS_USER=admin JASIYO_ROUTEROS_PASSWORD=secret \
    "$@" run </dev/null >/dev/null 2>"$agent_log" &
  agent_pid=$!
  stack_pids+=("$agent_pid")
}

agent_connected() { grep -q "connected to the cloud" "$agent_log"; }
router_online() {
  cloud router list --json |
    python3 -c 'import json,sys; sys.exit(not any(r["id"] == sys.argv[1] and r["online"] for r in json.load(sys.stdin)))' "$router_id"
}

# command_state SEQ: the state of the router's command SEQ.
command_state() {
  cloud command list --router "$router_id" --json |
    python3 -c 'import json,sys; print(next(c["state"] for c in json.load(sys.stdin) if c["seq"] == int(sys.argv[1])))' "$1"
}
command_finished() { [[ $(command_state "$1") == applied || $(command_state "$1") == failed ]]; }

# agent_connected_ms: from agent_started_ns to the timestamp of the agent's own
# "connected to the cloud" log line (so polling delays do not count).
agent_connected_ms() {
  python3 - "$agent_log" "$agent_started_ns" <<'PY'
import datetime, re, sys
for line in open(sys.argv[1]):
    if "connected to the cloud" in line:
        m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", line)
        t = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp()
        ns = round(t) * 10**9 + int((m.group(2) or "0").ljust(9, "0")[:9])
        print(f"{(ns - int(sys.argv[2])) / 1e6:.0f}")
        break
else:
    sys.exit("no 'connected to the cloud' line")
PY
}

# routeros_user NAME: the emulator's /ip/hotspot/user row for NAME as JSON ("null" if none),
# read with a minimal RouterOS API client (plain login), independent of the agent's.
routeros_user() {
  python3 - "$emulator_addr" admin secret "$1" <<'PY'
import json, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
def enc_len(n):
    if n < 0x80: return bytes([n])
    if n < 0x4000: return (n | 0x8000).to_bytes(2, "big")
    if n < 0x200000: return (n | 0xC00000).to_bytes(3, "big")
    return (n | 0xE0000000).to_bytes(4, "big")
def recv_exact(n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk: raise EOFError
        b += chunk
    return b
def read_word():
    c = recv_exact(1)[0]
    if c < 0x80: n = c
    elif c < 0xC0: n = ((c & 0x3F) << 8) | recv_exact(1)[0]
    elif c < 0xE0: n = ((c & 0x1F) << 16) | int.from_bytes(recv_exact(2), "big")
    else: n = ((c & 0x0F) << 24) | int.from_bytes(recv_exact(3), "big")
    return recv_exact(n).decode()
def talk(*words):
    s.sendall(b"".join(enc_len(len(w.encode())) + w.encode() for w in words) + b"\x00")
    replies = []
    while True:
        sentence = []
        while (w := read_word()): sentence.append(w)
        replies.append(sentence)
        if sentence[0] in ("!done", "!fatal"):
            return replies
done = talk("/login", f"=name={sys.argv[2]}", f"=password={sys.argv[3]}")
assert done[-1][0] == "!done" and len(done) == 1, f"login failed: {done}"
rows = [dict(w[1:].split("=", 1) for w in r[1:] if w.startswith("=")) for r in talk("/ip/hotspot/user/print", f"?name={sys.argv[4]}") if r[0] == "!re"]
print(json.dumps(rows[0] if rows else None, sort_keys=True))
PY
}
