//! A paid order survives a power cut (issue 20): on SQLite, every commit is synced to
//! disk before its answer leaves the server.
//!
//! `backroom serve` runs under `strace`, which logs every write and sync of the database's
//! log (the `-wal` file) and every answer sent on a socket, in the order they happened.
//! The test places orders one after another; for each checkout answer, the last write to
//! the log before it must have been followed by a sync of the log before the answer went
//! out. With `synchronous = NORMAL` the log is synced only at checkpoints, so this fails.
//!
//! It needs `strace` (Debian's package). Without it the test is skipped with a message,
//! unless `BACKROOM_REQUIRE_STRACE=1` (as in CI), where a missing tool is a failure.

use std::collections::HashMap;
use std::time::Duration;

use tokio::process::Command;

use crate::support::process::{ANY_PORT, BINARY, admin_create, spawn_serving};
use crate::support::{PASSWORD, TestDatabase, id_of, skipped};

const ORDERS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_checkout_is_on_disk_before_its_answer() {
    if !strace_available() {
        if std::env::var("BACKROOM_REQUIRE_STRACE").is_ok_and(|v| v == "1") {
            panic!("the durability test is required but strace is missing (apt-get install strace)");
        }
        skipped("durability test: strace not found (apt-get install strace)");
        return;
    }
    let database = TestDatabase::sqlite();
    assert!(
        admin_create(&database.url, "boss@example.com", PASSWORD)
            .await
            .status
            .success()
    );
    let trace = std::env::temp_dir().join(format!(
        "backroom-strace-{}.txt",
        backroom::domain::ids::random_suffix()
    ));
    let mut command = Command::new("strace");
    command
        .args(["-f", "-qq", "-y", "-s", "65536", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=write,writev,pwrite64,pwritev,fsync,fdatasync,sendto,sendmsg",
        ])
        .arg(BINARY)
        .args(ANY_PORT)
        .args(["--rate-limits", "off"])
        // The background job writes too; it must not run between a checkout and its answer.
        .args(["--jobs-interval-ms", "3600000"])
        .env("BACKROOM_DATABASE_URL", &database.url)
        .env("RUST_LOG", "warn");
    let (mut strace, shop) = spawn_serving(command).await;

    let staff = shop.login("boss@example.com", PASSWORD).await;
    let (_, variant_id) = shop.published_product(&staff, 1200, 100).await;
    for _ in 0..ORDERS {
        let cart = shop.cart_with(None, &variant_id, 1).await;
        shop.checkout(None, &id_of(&cart), "tok_visa").await.assert_status(201);
    }

    stop_tracee(&mut strace).await;
    let text = std::fs::read_to_string(&trace).expect("read the trace");
    let _ = std::fs::remove_file(&trace);
    let events = parse_trace(&text);
    let answers = events
        .iter()
        .filter(|event| **event == TraceEvent::CheckoutAnswer)
        .count();
    assert_eq!(answers, ORDERS, "every checkout answer is in the trace");
    let mut unsynced_write = false;
    let mut seen_write = false;
    for (index, event) in events.iter().enumerate() {
        match event {
            TraceEvent::LogWrite => {
                seen_write = true;
                unsynced_write = true;
            }
            TraceEvent::LogSync => unsynced_write = false,
            TraceEvent::CheckoutAnswer => {
                assert!(seen_write, "the log was written before the first checkout answered");
                assert!(
                    !unsynced_write,
                    "checkout answer {index} left before the database's log was synced to disk"
                );
            }
        }
    }
}

fn strace_available() -> bool {
    std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Stops `backroom serve` (the child of strace) with SIGTERM, so that strace ends with it
/// and its trace is complete.
async fn stop_tracee(strace: &mut tokio::process::Child) {
    let strace_pid = strace.id().expect("strace runs");
    let children =
        std::fs::read_to_string(format!("/proc/{strace_pid}/task/{strace_pid}/children")).expect("strace's children");
    let server = children
        .split_whitespace()
        .next()
        .expect("backroom serve runs under strace");
    let killed = Command::new("kill")
        .args(["-TERM", server])
        .status()
        .await
        .expect("send SIGTERM");
    assert!(killed.success());
    tokio::time::timeout(Duration::from_secs(20), strace.wait())
        .await
        .expect("the server stops within 20 s of SIGTERM")
        .expect("wait for strace");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TraceEvent {
    /// A write to the database's log (`-wal`) finished.
    LogWrite,
    /// A sync of the log finished.
    LogSync,
    /// A checkout's answer (an order, paid) started to leave on a socket.
    CheckoutAnswer,
}

/// The trace's events in the order they happened. A call that another thread interrupts
/// is split by strace into an `<unfinished ...>` line and a `<... resumed>` line; writes
/// and syncs count when they finish, answers when they start.
fn parse_trace(text: &str) -> Vec<TraceEvent> {
    let mut pending: HashMap<&str, &str> = HashMap::new();
    let mut events = Vec::new();
    for line in text.lines() {
        let Some((pid, call)) = line.split_once(' ') else {
            continue;
        };
        let call = call.trim_start();
        if let Some(started) = call.strip_suffix("<unfinished ...>") {
            if is_checkout_answer(started) {
                events.push(TraceEvent::CheckoutAnswer);
            }
            pending.insert(pid, started);
            continue;
        }
        let whole = if call.starts_with("<...") {
            match pending.remove(pid) {
                Some(started) => started,
                None => continue,
            }
        } else {
            if is_checkout_answer(call) {
                events.push(TraceEvent::CheckoutAnswer);
            }
            call
        };
        if whole.contains("-wal>") {
            if whole.starts_with("fsync(") || whole.starts_with("fdatasync(") {
                events.push(TraceEvent::LogSync);
            } else if whole.starts_with("pwrite") || whole.starts_with("write") {
                events.push(TraceEvent::LogWrite);
            }
        }
    }
    events
}

fn is_checkout_answer(call: &str) -> bool {
    let socket_write = ["write(", "writev(", "sendto(", "sendmsg("]
        .iter()
        .any(|name| call.starts_with(name));
    socket_write && call.contains("socket:[") && call.contains("HTTP/1.1 201") && call.contains(r#"\"number\":"#)
}
