//! Backups of a SQLite database while it serves, and putting one back. (PostgreSQL has its
//! own tools, `pg_dump` and point-in-time recovery: see docs/deploy.md.)

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use super::{Raw, Store};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already: name a new file")]
    TargetExists(PathBuf),
    #[error("backups of a PostgreSQL database are made with pg_dump or point-in-time recovery (docs/deploy.md)")]
    Postgres,
    #[error("{0} is not a Backroom database that passes SQLite's integrity check: {1}")]
    NotABackup(PathBuf, String),
    #[error("the database is in use: stop every `backroom serve` on it first")]
    InUse,
    #[error("there is no database at {0}")]
    Missing(PathBuf),
    #[error("{0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Refuses a SQLite database that is not there: opening it would make an empty one, and
/// back that up.
pub fn require_existing(database_url: &str) -> Result<(), BackupError> {
    if !database_url.starts_with("sqlite:") {
        return Ok(());
    }
    let path = SqliteConnectOptions::from_str(database_url)?.get_filename().to_owned();
    if path.is_file() {
        Ok(())
    } else {
        Err(BackupError::Missing(path))
    }
}

/// Writes a consistent copy of the database to `target` (a new file) while others go on
/// reading and writing: `VACUUM INTO` reads one snapshot, as any reader does in WAL mode,
/// and the copy is compact and needs no log beside it.
pub async fn backup_to(store: &Store, target: &Path) -> Result<(), BackupError> {
    if target.exists() {
        return Err(BackupError::TargetExists(target.to_owned()));
    }
    let mut conn = store
        .read()
        .await
        .map_err(|error| BackupError::Io(std::io::Error::other(error.to_string())))?;
    let Raw::Sqlite(c) = conn.raw() else {
        return Err(BackupError::Postgres);
    };
    sqlx::query("VACUUM INTO $1")
        .bind(target.to_string_lossy().into_owned())
        .execute(c)
        .await?;
    Ok(())
}

/// Checks that `backup` is a sound Backroom database, then makes it the database of
/// `database_url`, which no process may be using.
pub async fn restore(database_url: &str, backup: &Path) -> Result<(), BackupError> {
    if !database_url.starts_with("sqlite:") {
        return Err(BackupError::Postgres);
    }
    check_backup(backup).await?;
    let target = SqliteConnectOptions::from_str(database_url)?.get_filename().to_owned();
    // Held to the end: no process opens the database meanwhile.
    let _exclusive = take_exclusively(&target)?;
    let staged = with_suffix(&target, ".restoring");
    std::fs::copy(backup, &staged)?;
    std::fs::File::open(&staged)?.sync_all()?;
    // A log left beside the old file would be replayed onto the new one.
    for leftover in [with_suffix(&target, "-wal"), with_suffix(&target, "-shm")] {
        match std::fs::remove_file(&leftover) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error.into()),
            _ => {}
        }
    }
    std::fs::rename(&staged, &target)?;
    Ok(())
}

async fn check_backup(backup: &Path) -> Result<(), BackupError> {
    let not_a_backup = |why: String| BackupError::NotABackup(backup.to_owned(), why);
    if !backup.is_file() {
        return Err(not_a_backup("there is no such file".to_owned()));
    }
    let mut copy = SqliteConnectOptions::new()
        .filename(backup)
        .read_only(true)
        .connect()
        .await
        .map_err(|error| not_a_backup(error.to_string()))?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut copy)
        .await
        .map_err(|error| not_a_backup(error.to_string()))?;
    if verdict != "ok" {
        return Err(not_a_backup(verdict));
    }
    let migrated: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut copy)
        .await;
    copy.close().await?;
    match migrated {
        Ok(count) if count > 0 => Ok(()),
        _ => Err(not_a_backup("it holds no Backroom migrations".to_owned())),
    }
}

/// Every process with the database open holds a shared lock on `DATABASE.lock` (opening
/// it takes one, waiting for none).
pub(super) fn hold_in_use(database: &Path) -> std::io::Result<std::fs::File> {
    let file = lock_file(database)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::other(
            "the database is being restored: try again once `backroom restore` has finished",
        )),
        Err(std::fs::TryLockError::Error(error)) => Err(error),
    }
}

/// The exclusive lock a restore holds; `InUse` when any process has the database open.
fn take_exclusively(database: &Path) -> Result<std::fs::File, BackupError> {
    let file = lock_file(database)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(BackupError::InUse),
        Err(std::fs::TryLockError::Error(error)) => Err(error.into()),
    }
}

fn lock_file(database: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(with_suffix(database, ".lock"))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
