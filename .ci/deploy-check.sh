#!/usr/bin/env bash
# Checks the deployment files of deploy/ as they are used (docs/deploy.md):
# - nginx.conf: Debian's nginx in front of two `backroom serve` processes on one
#   PostgreSQL, a live stream through it, and a rolling restart of both processes under
#   load with every request answered;
# - backroom.service: `systemd-analyze verify`, where systemd-analyze is installed;
# - Dockerfile and compose.yaml: built where a Docker daemon answers (said when not).
# Usage: .ci/deploy-check.sh path/to/backroom   (PostgreSQL on 127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$(realpath "${1:-target/debug/backroom}")"
work="$(mktemp -d)"
# nginx's workers run as nobody: they write their temporary files here too.
chmod 755 "$work" && mkdir -m 777 "$work/body" "$work/proxy"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
db="backroom_deploy_$(date +%s)_$$"
trap cleanup EXIT

echo "== systemd unit"
if command -v systemd-analyze >/dev/null 2>&1; then
    # Verified with this build's binary where the unit expects the installed one.
    sed "s|/usr/local/bin/backroom|$binary|" deploy/backroom.service > "$work/backroom.service"
    systemd-analyze verify "$work/backroom.service"
    echo "backroom.service verifies"
else
    echo "systemd-analyze is not installed here: backroom.service not verified"
fi

echo "== container image"
if docker info >/dev/null 2>&1; then
    docker build -q -f deploy/Dockerfile -t backroom-ci . >/dev/null
    docker compose -f deploy/compose.yaml config -q
    echo "deploy/Dockerfile builds; compose.yaml is valid"
else
    echo "no Docker daemon answers here: deploy/Dockerfile and compose.yaml not built"
fi

echo "== nginx in front of two processes"
if ! command -v nginx >/dev/null 2>&1; then
    echo "installing nginx"
    # Installed, not started: this script runs its own.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-core >/dev/null \
        || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-core >/dev/null; }
    rm -f /usr/sbin/policy-rc.d
fi
psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qc "CREATE DATABASE ${db}"
export BACKROOM_DATABASE_URL="postgres://postgres@127.0.0.1:5432/${db}"
export BACKROOM_MEDIA_URL="$work/media" BACKROOM_RATE_LIMITS=off BACKROOM_MAX_CONNECTIONS_PER_CLIENT=0
export BACKROOM_SHUTDOWN_GRACE_SECS=1 RUST_LOG=warn
"$binary" migrate >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_a=$(free_port); port_b=$(free_port); port_nginx=$(free_port)

# Starts a process on port $1 (more arguments follow) and waits until it listens.
start() {
    local port=$1; shift
    "$binary" serve --addr "127.0.0.1:$port" "$@" > "$work/serve-$port.log" 2>&1 &
    pids+=($!)
    last_pid=$!
    for _ in $(seq 1 200); do
        grep -q "listening on" "$work/serve-$port.log" && return 0
        kill -0 "$last_pid" 2>/dev/null || { cat "$work/serve-$port.log"; return 1; }
        sleep 0.1
    done
    echo "backroom on $port did not listen" >&2; return 1
}
# Stops the process with SIGTERM and waits for a clean exit.
stop() {
    kill -TERM "$1"
    wait "$1"
}

start "$port_a" --demo; pid_a=$last_pid
start "$port_b"; pid_b=$last_pid
sed -e "s|127.0.0.1:8081|127.0.0.1:$port_a|; s|127.0.0.1:8082|127.0.0.1:$port_b|; s|listen 8080;|listen 127.0.0.1:$port_nginx;|" \
    -e "s|^worker_processes auto;|worker_processes 1;\npid $work/nginx.pid;\nerror_log $work/nginx-error.log;|" \
    -e "s|^http {|http {\n    access_log off;\n    client_body_temp_path $work/body;\n    proxy_temp_path $work/proxy;|" \
    deploy/nginx.conf > "$work/nginx.conf"
nginx -t -q -c "$work/nginx.conf" -p "$work"
nginx -c "$work/nginx.conf" -p "$work"
front="http://127.0.0.1:$port_nginx"
for _ in $(seq 1 100); do curl -sf "$front/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$front/readyz" >/dev/null

# A live stream through nginx delivers at once (unbuffered).
slug=$(curl -sf "$front/v1/products?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["slug"])')
curl -sN --max-time 3 "$front/v1/products/$slug/events" > "$work/stream.txt" || true
grep -q "event: product.stock" "$work/stream.txt" || { echo "no stock event through nginx" >&2; exit 1; }
echo "a live stream passes nginx unbuffered"

# Load: four clients reading the catalog and creating carts until told to stop.
load() {
    while [ ! -f "$work/stop" ]; do
        curl -s -o /dev/null -w '%{http_code}\n' "$front/v1/products?limit=5"
        curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'content-type: application/json' \
            -H "idempotency-key: $RANDOM$RANDOM$RANDOM" -d '{}' "$front/v1/carts"
    done > "$work/load-$1.txt"
}
loaders=()
for client in 1 2 3 4; do load "$client" & loaders+=($!); done

# Rolling restart: each process in turn is stopped (SIGTERM: not ready for its grace, then
# in-flight requests finish) and started again on its port.
stop "$pid_a"; start "$port_a"; pid_a=$last_pid
stop "$pid_b"; start "$port_b"; pid_b=$last_pid
touch "$work/stop"
wait "${loaders[@]}"

total=$(cat "$work"/load-*.txt | wc -l)
failed=$(cat "$work"/load-*.txt | grep -cv '^20[01]$' || true)
echo "$total requests through nginx across a rolling restart of both processes, $failed not answered with success"
[ "$total" -gt 100 ] || { echo "too little load to tell" >&2; exit 1; }
[ "$failed" -eq 0 ] || { sort "$work"/load-*.txt | uniq -c >&2; cat "$work/nginx-error.log" >&2; exit 1; }
