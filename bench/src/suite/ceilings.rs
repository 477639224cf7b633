//! The machine's own limits, measured in the same run: a bare hyper server answering the
//! catalog list's bytes (the HTTP ceiling) and the database's rate of one-row write
//! transactions with Backroom's settings (the write ceiling).

use std::convert::Infallible;
use std::str::FromStr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool};

/// Serves `body` as `application/json` to every request until killed: run in its own
/// process (`suite --ceiling-server FILE PORT`), as `backroom serve` is.
pub async fn serve_bytes(body: Vec<u8>, port: u16) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let body = Bytes::from(body);
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_request| {
                let mut response = hyper::Response::new(Full::new(body.clone()));
                response.headers_mut().insert(
                    "content-type",
                    hyper::header::HeaderValue::from_static("application/json"),
                );
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One-row write transactions per second for `duration`, each on disk when it commits:
/// on SQLite one connection in WAL mode with `synchronous = FULL` and `BEGIN IMMEDIATE`
/// (Backroom's single writer, without its group commit); on PostgreSQL 16 connections at
/// once (Backroom's pool size) with `synchronous_commit` on.
pub async fn write_rate(database_url: &str, duration: Duration) -> Result<f64, String> {
    if database_url.starts_with("sqlite:") {
        sqlite_write_rate(database_url, SqliteSynchronous::Full, duration).await
    } else {
        postgres_write_rate(database_url, duration).await
    }
}

/// The SQLite write ceiling as it was before commits were synced (`synchronous = NORMAL`:
/// the log is synced only at checkpoints, so a power cut can take recent commits back).
pub async fn unsynced_sqlite_write_rate(database_url: &str, duration: Duration) -> Result<f64, String> {
    sqlite_write_rate(database_url, SqliteSynchronous::Normal, duration).await
}

/// One-row write transactions per second through Backroom's own store, from 16 writers
/// at once: on SQLite this is group commit at work (queued writers share one sync).
pub async fn store_write_rate(database_url: &str, duration: Duration) -> Result<f64, String> {
    let store = backroom::store::Store::connect(database_url)
        .await
        .map_err(|e| e.to_string())?;
    store
        .execute_unchecked(
            "CREATE TABLE IF NOT EXISTS bench_store_ceiling (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)".to_owned(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let workers = (0..16u64).map(|worker| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut commits = 0u64;
            while started.elapsed() < duration {
                let id = worker * 1_000_000_000 + commits;
                let sql = format!("INSERT INTO bench_store_ceiling (id, value) VALUES ({id}, {commits})");
                if store.execute_unchecked(sql).await.is_err() {
                    break;
                }
                commits += 1;
            }
            commits
        })
    });
    let mut commits = 0u64;
    for worker in futures_util::future::join_all(workers).await {
        commits += worker.map_err(|e| e.to_string())?;
    }
    let rate = commits as f64 / started.elapsed().as_secs_f64();
    store.close().await;
    Ok(rate)
}

async fn sqlite_write_rate(
    database_url: &str,
    synchronous: SqliteSynchronous,
    duration: Duration,
) -> Result<f64, String> {
    let options = SqliteConnectOptions::from_str(database_url)
        .map_err(|e| e.to_string())?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_ceiling (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)")
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let mut connection = pool.acquire().await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut commits = 0u64;
    while started.elapsed() < duration {
        let mut tx = connection
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| e.to_string())?;
        sqlx::query("INSERT INTO bench_ceiling (value) VALUES ($1)")
            .bind(commits as i64)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        commits += 1;
    }
    Ok(commits as f64 / started.elapsed().as_secs_f64())
}

async fn postgres_write_rate(database_url: &str, duration: Duration) -> Result<f64, String> {
    let pool = PgPool::connect(database_url).await.map_err(|e| e.to_string())?;
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_ceiling (id BIGSERIAL PRIMARY KEY, value BIGINT NOT NULL)")
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let workers = (0..16).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut commits = 0u64;
            while started.elapsed() < duration {
                let Ok(mut tx) = pool.begin().await else { break };
                let inserted = sqlx::query("INSERT INTO bench_ceiling (value) VALUES ($1)")
                    .bind(commits as i64)
                    .execute(&mut *tx)
                    .await;
                if inserted.is_err() || tx.commit().await.is_err() {
                    break;
                }
                commits += 1;
            }
            commits
        })
    });
    let mut commits = 0u64;
    for worker in futures_util::future::join_all(workers).await {
        commits += worker.map_err(|e| e.to_string())?;
    }
    Ok(commits as f64 / started.elapsed().as_secs_f64())
}
