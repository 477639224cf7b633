#!/usr/bin/env bash
# How long `backroom import` takes for a 10,000-row Shopify product CSV (2,500 products of
# four variants each, on continuation rows), into an empty shop and again as updates, on
# SQLite and PostgreSQL. Usage: bench/import.sh [ROWS]   (PostgreSQL from
# BACKROOM_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000}
PG_ADMIN=${BACKROOM_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
cargo build --release -p backroom --bin backroom
WORK=$(mktemp -d)
PG_DB="backroom_import_bench_$$"
cleanup() { psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

python3 - "$ROWS" "$WORK/products.csv" <<'PY'
import csv, sys
rows, path = int(sys.argv[1]), sys.argv[2]
colours, sizes = ["Sand", "Slate"], ["S", "L"]
with open(path, "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(["Handle", "Title", "Body (HTML)", "Tags", "Option1 Name", "Option1 Value", "Option2 Name",
                "Option2 Value", "Variant SKU", "Variant Grams", "Variant Inventory Qty", "Variant Price", "Status"])
    for n in range(rows // 4):
        for v in range(4):
            first = v == 0
            w.writerow([f"bench-product-{n}", f"Bench Product {n}" if first else "",
                        f"<p>Product {n}, made for the import benchmark.</p>" if first else "",
                        f"Category {n % 20}, Bench" if first else "",
                        "Colour" if first else "", colours[v // 2], "Size" if first else "", sizes[v % 2],
                        f"BENCH-{n}-{v}", 250 + v, 10 + v, f"{19 + v}.90", "active" if first else ""])
PY

run() {  # label, database url
    local started ended
    started=$(date +%s.%N)
    target/release/backroom import "$WORK/products.csv" --database-url "$2" | head -1
    ended=$(date +%s.%N)
    printf '%-32s %6.2f s\n' "$1" "$(echo "$ended - $started" | bc)"
}
echo "importing $ROWS rows"
run "SQLite, into an empty shop" "sqlite://$WORK/shop.db"
run "SQLite, again (updates)" "sqlite://$WORK/shop.db"
psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
PG_URL="${PG_ADMIN%/*}/$PG_DB"
run "PostgreSQL, into an empty shop" "$PG_URL"
run "PostgreSQL, again (updates)" "$PG_URL"
