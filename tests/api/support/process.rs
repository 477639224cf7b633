//! `backroom` as a child process, run as a user runs it: commands that exit, and `serve`,
//! whose address the test learns from the line it prints once it listens (no polling).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use super::Shop;

pub const BINARY: &str = env!("CARGO_BIN_EXE_backroom");

/// The line `backroom serve` prints on standard output once it listens.
const LISTENING: &str = "backroom is listening on ";

/// `backroom` on `database_url`, logging warnings only, killed when dropped. Its images
/// go beside a SQLite test database, or for PostgreSQL to the tests' media folder.
pub fn backroom(database_url: &str) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env("BACKROOM_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    if !database_url.starts_with("sqlite:") {
        command.env("BACKROOM_MEDIA_URL", super::database::postgres_media_folder());
    }
    command
}

/// Runs `backroom admin create`, typing `password` and a newline on standard input.
pub async fn admin_create(database_url: &str, email: &str, password: &str) -> std::process::Output {
    let mut child = backroom(database_url)
        .args(["admin", "create", "--email", email])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start backroom admin create");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{password}\n").as_bytes())
        .await
        .expect("type the password");
    drop(stdin);
    child.wait_with_output().await.expect("admin create finishes")
}

/// The arguments that make `backroom serve` listen on a free loopback port.
pub const ANY_PORT: [&str; 3] = ["serve", "--addr", "127.0.0.1:0"];

/// Starts `command` (a `backroom serve`, perhaps under another program such as strace,
/// listening on [`ANY_PORT`]) and waits for it to say where it listens. Its standard
/// output belongs to this function; its standard error is as the caller set it.
pub async fn spawn_serving(mut command: Command) -> (Child, Shop) {
    let mut child = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start backroom serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let announced = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read serve's output") {
            if let Some(url) = line.strip_prefix(LISTENING) {
                return Some(url.trim().to_owned());
            }
        }
        None
    })
    .await;
    let base_url = match announced {
        Ok(Some(url)) => url,
        Ok(None) => panic!("backroom serve exited before listening: {:?}", child.wait().await),
        Err(_) => panic!("backroom serve did not listen within 60 s"),
    };
    // Whatever else it prints is read, so that a full pipe never blocks it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, Shop::new(base_url))
}

/// `backroom serve` on `database_url` with `args` and `env`, on a free port.
pub async fn start_server(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> (Child, Shop) {
    let mut command = backroom(database_url);
    command
        .args(ANY_PORT)
        .args(args)
        .envs(env.iter().copied())
        .stderr(Stdio::inherit());
    spawn_serving(command).await
}

/// Like [`start_server`], with the server's log (standard error) also kept, line by line,
/// for the test to read.
pub async fn start_server_capturing_log(
    database_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, Shop, Arc<Mutex<Vec<String>>>) {
    let mut command = backroom(database_url);
    command
        .args(ANY_PORT)
        .args(args)
        .envs(env.iter().copied())
        .stderr(Stdio::piped());
    let (mut child, shop) = spawn_serving(command).await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let kept = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("{line}");
            kept.lock().expect("log").push(line);
        }
    });
    (child, shop, log)
}

/// Stops a server as an operator would, with SIGTERM, and asserts a clean exit.
pub async fn stop_with_sigterm(mut child: Child) {
    let pid = child.id().expect("server is running");
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .expect("send SIGTERM");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server stops within 10 s of SIGTERM")
        .expect("wait for the server");
    assert!(exit.success(), "a SIGTERM is a clean stop, got {exit}");
}
