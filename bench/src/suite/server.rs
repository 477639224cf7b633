//! A release `backroom serve` as a child process: started on a free port, timed to ready,
//! and measured from `/proc` (CPU time, resident memory).

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

pub const STAFF_EMAIL: &str = "bench@example.com";
pub const STAFF_PASSWORD: &str = "bench staff password";

pub struct Server {
    child: Child,
    pub base: String,
    /// From spawning the process to the first 200 from `/readyz`.
    pub start_to_ready: Duration,
}

/// Creates the staff account the scenarios sign in with.
pub async fn create_staff(binary: &str, database_url: &str) -> Result<(), String> {
    let mut create = Command::new(binary)
        .args([
            "admin",
            "create",
            "--email",
            STAFF_EMAIL,
            "--database-url",
            database_url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot run {binary} (cargo build --release first): {error}"))?;
    let mut stdin = create.stdin.take().ok_or("no stdin")?;
    stdin
        .write_all(format!("{STAFF_PASSWORD}\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    drop(stdin);
    let status = create.wait().await.map_err(|e| e.to_string())?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| "admin create failed".to_owned())
}

impl Server {
    /// Starts the server with rate limits off and room for many live streams.
    pub async fn start(binary: &str, database_url: &str) -> Result<Server, String> {
        let port = free_port()?;
        let started = Instant::now();
        let child = Command::new(binary)
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                database_url,
            ])
            .env("RUST_LOG", "error")
            .env("BACKROOM_RATE_LIMITS", "off")
            // Every load generator here is one client address, 127.0.0.1.
            .env("BACKROOM_MAX_STREAMS_PER_CLIENT", "5000")
            .env("BACKROOM_MAX_CONNECTIONS_PER_CLIENT", "0")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| e.to_string())?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ready = client.get(format!("{base}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return Ok(Server {
                    child,
                    base,
                    start_to_ready: started.elapsed(),
                });
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err("the server did not become ready within 60 s".to_owned())
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// User plus system CPU time used so far.
    pub fn cpu_time(&self) -> Duration {
        cpu_time(self.pid())
    }

    /// Resident memory now, and the peak so far, in bytes.
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find(|line| line.starts_with(key))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|value| value.parse::<u64>().ok())
                .unwrap_or(0)
                * 1024
        };
        (kib("VmRSS:"), kib("VmHWM:"))
    }

    /// Resets the peak resident memory, so each scenario reports its own.
    pub fn reset_peak_memory(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at state = field 3.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15: indexes 11 and 12 after the name.
    let clock_ticks_per_second = 100;
    Duration::from_millis((ticks(11) + ticks(12)) * 1000 / clock_ticks_per_second)
}

pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| e.to_string())
}
