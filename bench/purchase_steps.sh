#!/usr/bin/env bash
# One customer's purchases timed step by step (bench/purchase_steps.py) against BINARY
# serving the demo shop on a fresh database, SQLite or PostgreSQL
# (BACKROOM_BENCH_POSTGRES_URL, default the local server). To compare two builds, run
# each in turn, alternating, in one sitting.
# Usage: bench/purchase_steps.sh BINARY [sqlite|postgresql] [ROUNDS]   (KEYS=0: no Idempotency-Key)
set -euo pipefail
binary=$(realpath "${1:?usage: $0 BINARY [sqlite|postgresql] [ROUNDS]}")
backend=${2:-sqlite}; rounds=${3:-200}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work=$(mktemp -d); server=""
admin_url=${BACKROOM_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
database="backroom_steps_$$"
cleanup() {
    [ -n "$server" ] && { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
    [ "$backend" = postgresql ] && psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
case $backend in
    sqlite) url="sqlite://$work/shop.db" ;;
    postgresql) psql "$admin_url" -qc "CREATE DATABASE $database"; url="${admin_url%/*}/$database" ;;
    *) echo "backend: sqlite or postgresql" >&2; exit 2 ;;
esac
echo 'a long staff password' | "$binary" admin create --email staff@example.com --database-url "$url" >/dev/null
"$binary" serve --demo --addr "127.0.0.1:$port" --database-url "$url" --rate-limits off >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
python3 "$(dirname "$0")/purchase_steps.py" "$port" "$rounds" staff@example.com 'a long staff password'
