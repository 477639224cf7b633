//! The command line, run as a user would: `migrate`, `admin create`, and `serve --demo`
//! stopped with SIGTERM, on SQLite and (when configured) PostgreSQL.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use crate::helpers::{PASSWORD, TestDatabase, read};

const BINARY: &str = env!("CARGO_BIN_EXE_backroom");

pub fn backroom(database_url: &str) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env("BACKROOM_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
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

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("addr").port()
}

/// Starts `backroom serve` with `args` and `env` on a free port and waits until it is
/// ready; returns the process and its base URL.
pub async fn start_server(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let port = free_port();
    let child = backroom(database_url)
        .arg("serve")
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start backroom serve");
    let base = format!("http://127.0.0.1:{port}");
    wait_until_ready(&base).await;
    (child, base)
}

/// Like [`start_server`], with the server's log (standard error) also kept, line by line,
/// for the test to read.
pub async fn start_server_capturing_log(
    database_url: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::AsyncBufReadExt;
    let port = free_port();
    let mut child = backroom(database_url)
        .arg("serve")
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start backroom serve");
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let kept = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("{line}");
            kept.lock().expect("log").push(line);
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    wait_until_ready(&base).await;
    (child, base, log)
}

pub async fn wait_until_ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("backroom serve did not become ready within 30 s");
}

async fn serve_demo(database_url: &str) -> (Child, String) {
    start_server(database_url, &["--demo"], &[]).await
}

async fn stop_with_sigterm(mut child: Child) {
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

async fn product_count(base: &str) -> usize {
    let response = read(
        reqwest::get(format!("{base}/v1/products?limit=100"))
            .await
            .expect("list products"),
    )
    .await;
    response.assert_status(200)["data"].as_array().expect("data").len()
}

async fn command_line_flow(url: String) {
    let migrate = backroom(&url).arg("migrate").output().await.expect("run migrate");
    assert!(
        migrate.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let again = backroom(&url).arg("migrate").output().await.expect("run migrate again");
    assert!(again.status.success(), "migrate is idempotent");

    let short = admin_create(&url, "boss@example.com", "short").await;
    assert!(!short.status.success(), "a short password is refused");
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("password"),
        "and the error says why"
    );
    let created = admin_create(&url, "Boss@Example.com", PASSWORD).await;
    assert!(
        created.status.success(),
        "admin create: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    let duplicate = admin_create(&url, "boss@example.com", PASSWORD).await;
    assert!(!duplicate.status.success(), "an email makes one account");

    let key = backroom(&url)
        .args(["apikey", "create", "--name", "warehouse", "--scope", "orders"])
        .output()
        .await
        .expect("run apikey create");
    assert!(
        key.status.success(),
        "apikey create: {}",
        String::from_utf8_lossy(&key.stderr)
    );
    let printed = String::from_utf8_lossy(&key.stdout).to_string();
    let key = printed.lines().last().expect("the key is printed").trim().to_owned();
    assert!(key.starts_with("bk_"), "{printed}");

    let (server, base) = serve_demo(&url).await;
    assert!(product_count(&base).await >= 30, "the demo catalog is loaded");
    let orders = reqwest::Client::new()
        .get(format!("{base}/v1/admin/orders"))
        .bearer_auth(&key)
        .send()
        .await;
    assert_eq!(orders.expect("orders").status(), 200, "the key opens the orders API");
    let categories = read(reqwest::get(format!("{base}/v1/categories")).await.expect("categories")).await;
    assert_eq!(categories.assert_status(200)["data"].as_array().expect("data").len(), 5);
    let login = reqwest::Client::new()
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": "boss@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    let login = read(login).await;
    assert_eq!(login.assert_status(200)["staff"]["role"], "admin");
    stop_with_sigterm(server).await;

    // A second start on the same database keeps the catalog as it is.
    let (server, base) = serve_demo(&url).await;
    assert_eq!(product_count(&base).await, 30);
    stop_with_sigterm(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_on_sqlite() {
    let database = TestDatabase::sqlite();
    // The folder of the SQLite file does not exist yet: migrate creates it.
    let url = format!("{}/nested/backroom.db", database.url.trim_end_matches("/backroom.db"));
    command_line_flow(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_on_postgres() {
    let Some(database) = TestDatabase::postgres().await else {
        eprintln!("skipping PostgreSQL leg: BACKROOM_TEST_POSTGRES_URL is not set");
        return;
    };
    let outcome = tokio::spawn(command_line_flow(database.url.clone())).await;
    database.drop_database().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}
