#!/usr/bin/env bash
# The benchmark suite in one command: builds the release server and the suite, installs
# oha from crates.io if it is missing (once, into target/oha), then measures every
# scenario on SQLite and PostgreSQL and rewrites docs/performance.md and its plot.
# Arguments go to the suite (`bench/run.sh --help`); PostgreSQL is taken from
# BACKROOM_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

# 1,000 live-update subscribers need more open files than the usual default.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if ! command -v oha >/dev/null 2>&1; then
    if [ ! -x target/oha/bin/oha ]; then
        cargo install oha --locked --root target/oha
    fi
    export OHA="$PWD/target/oha/bin/oha"
fi
cargo build --release -p backroom --bin backroom
cargo build --release -p backroom-bench --bin suite
exec target/release/suite "$@"
