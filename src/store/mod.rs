//! The database: pools, migrations, transactions and the SQLite/PostgreSQL seam.
//!
//! Every SQL string of Backroom lives under this module. Each query is written once with
//! `$1` placeholders (SQLite accepts them) and run on either driver through [`on_conn!`]
//! (or [`exec!`] for a statement), which expands the same code for both connection types,
//! so both are type-checked. Where the SQL of the two dialects must differ, it is in
//! [`dialect`] and nowhere else; this file sets up each driver's pools.

pub mod access;
pub mod backup;
pub mod carts;
pub mod catalog;
pub mod content;
pub mod customers;
pub mod dialect;
pub mod discounts;
pub mod events;
mod group_commit;
pub mod idempotency;
pub mod images;
pub mod inventory;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod reports;
pub mod search;
pub mod shipping;
pub mod shop;
pub mod test_provider;
pub mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::broadcast;

/// The default database when none is configured (contract: Command line).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://backroom-data/backroom.db";

/// Announcements a slow listener may fall behind by before it is told it missed some.
const ANNOUNCEMENTS_BUFFERED: usize = 1024;

/// How long a writer waits for SQLite's lock, or for a pooled connection, before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// A pooled PostgreSQL connection idle this long is pinged before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub enum Store {
    /// SQLite allows one writer at a time: writers queue fairly for one write connection
    /// and share its commits ([`group_commit`]); reads go through a separate read-only
    /// pool (WAL lets them run beside the writer).
    Sqlite {
        writer: group_commit::Writer,
        reader: SqlitePool,
        /// Notifications of committed writes, to this process's listeners (the one process
        /// there is): PostgreSQL's `NOTIFY` stands in on the other side.
        announcer: broadcast::Sender<String>,
        /// A shared lock on the database's lock file while it is open, so that a restore
        /// (which takes it exclusively) cannot replace a database in use.
        in_use: std::sync::Arc<std::fs::File>,
        observer: CommitObserver,
    },
    Postgres(PgPool, CommitObserver),
}

/// Told each notification of a write transaction once it commits, before the commit
/// returns: how this process's caches hear of its own writes before any later read.
#[derive(Clone, Default)]
pub struct CommitObserver(std::sync::Arc<std::sync::OnceLock<Observe>>);

type Observe = Box<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for CommitObserver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(if self.0.get().is_some() {
            "CommitObserver(set)"
        } else {
            "CommitObserver(none)"
        })
    }
}

impl CommitObserver {
    fn tell(&self, payload: &str) {
        if let Some(observer) = self.0.get() {
            observer(payload);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database url (expected sqlite://PATH or postgres://...): {0}")]
    UnsupportedUrl(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("a database task did not finish: {0}")]
    Interrupted(String),
    #[error("the commit failed: {0}")]
    CommitFailed(String),
}

impl StoreError {
    /// True when this is a unique-constraint violation on `table.column`.
    ///
    /// PostgreSQL names the constraint (`<table>_<column>_key` by our migrations' naming);
    /// SQLite only names the columns in its message, so both are checked here, once.
    pub fn is_unique_violation(&self, table_column: &str) -> bool {
        let StoreError::Database(sqlx::Error::Database(error)) = self else {
            return false;
        };
        if !matches!(error.kind(), sqlx::error::ErrorKind::UniqueViolation) {
            return false;
        }
        let constraint = format!("{}_key", table_column.replace('.', "_"));
        error.constraint() == Some(constraint.as_str())
            || error
                .message()
                .contains(&format!("UNIQUE constraint failed: {table_column}"))
    }

    /// True when a row refers to one that is not there (any foreign key).
    pub fn is_foreign_key_violation(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(error)) = self else {
            return false;
        };
        matches!(error.kind(), sqlx::error::ErrorKind::ForeignKeyViolation)
    }

    /// True when this is a violation of the CHECK constraint named `constraint`.
    pub fn is_check_violation(&self, constraint: &str) -> bool {
        let StoreError::Database(sqlx::Error::Database(error)) = self else {
            return false;
        };
        matches!(error.kind(), sqlx::error::ErrorKind::CheckViolation)
            && (error.constraint() == Some(constraint) || error.message().contains(constraint))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One connection, inside a transaction or not. Store functions take `&mut Conn`.
pub struct Conn {
    inner: ConnInner,
    /// Notifications ([`dialect::notify`]) to tell this process's observer and SQLite's
    /// announcer once the transaction commits, and to send PostgreSQL just before.
    notices: Vec<String>,
    /// Open savepoints, each with how many notices there were when it was set: rolling
    /// back to one drops the notices of the work it undid.
    savepoints: Vec<(String, usize)>,
    announcer: Option<broadcast::Sender<String>>,
    observer: Option<CommitObserver>,
}

enum ConnInner {
    SqliteTx(group_commit::Member),
    SqlitePooled(PoolConnection<Sqlite>),
    PostgresTx(Transaction<'static, Postgres>),
    PostgresPooled(PoolConnection<Postgres>),
}

/// The driver connection underneath a [`Conn`], for [`on_conn!`].
pub enum Raw<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl Conn {
    pub fn raw(&mut self) -> Raw<'_> {
        match &mut self.inner {
            ConnInner::SqliteTx(member) => Raw::Sqlite(member.connection()),
            ConnInner::SqlitePooled(conn) => Raw::Sqlite(conn),
            ConnInner::PostgresTx(tx) => Raw::Postgres(tx),
            ConnInner::PostgresPooled(conn) => Raw::Postgres(conn),
        }
    }

    /// Commits the transaction (a no-op for a connection outside one), then tells its
    /// notifications. Both run to their end even if the caller is cancelled meanwhile (see
    /// [`uncancellable`]): a commit nobody heard of would leave caches stale.
    pub async fn commit(self) -> StoreResult<()> {
        let Conn {
            inner,
            notices,
            announcer,
            observer,
            ..
        } = self;
        uncancellable(async move {
            match inner {
                ConnInner::SqliteTx(member) => member.commit().await?,
                ConnInner::PostgresTx(mut tx) => {
                    dialect::send_notices(&mut tx, &notices).await?;
                    tx.commit().await?
                }
                ConnInner::SqlitePooled(_) | ConnInner::PostgresPooled(_) => {}
            }
            if let Some(observer) = &observer {
                notices.iter().for_each(|notice| observer.tell(notice));
            }
            if let Some(announcer) = announcer {
                // Having no listener is normal.
                notices.into_iter().for_each(|notice| drop(announcer.send(notice)));
            }
            Ok::<_, StoreError>(())
        })
        .await?
    }

    fn new(inner: ConnInner, announcer: Option<broadcast::Sender<String>>, observer: Option<CommitObserver>) -> Conn {
        Conn {
            inner,
            notices: Vec::new(),
            savepoints: Vec::new(),
            announcer,
            observer,
        }
    }
}

impl Conn {
    /// Marks a point inside the transaction that [`Conn::rollback_to`] returns to: how one
    /// step of a batch (a row of an import) fails alone.
    pub async fn savepoint(&mut self, name: &str) -> StoreResult<()> {
        self.execute_plain(format!("SAVEPOINT {name}")).await?;
        self.savepoints.push((name.to_owned(), self.notices.len()));
        Ok(())
    }

    /// Undoes everything since the savepoint `name` (which stays set), the notices of
    /// that work included.
    pub async fn rollback_to(&mut self, name: &str) -> StoreResult<()> {
        self.execute_plain(format!("ROLLBACK TO SAVEPOINT {name}")).await?;
        if let Some(at) = self.savepoints.iter().rposition(|(set, _)| set == name) {
            self.savepoints.truncate(at + 1);
            self.notices.truncate(self.savepoints[at].1);
        }
        Ok(())
    }

    /// Keeps what was done since the savepoint `name`, and forgets it.
    pub async fn release(&mut self, name: &str) -> StoreResult<()> {
        self.execute_plain(format!("RELEASE SAVEPOINT {name}")).await?;
        if let Some(at) = self.savepoints.iter().rposition(|(set, _)| set == name) {
            self.savepoints.truncate(at);
        }
        Ok(())
    }

    /// `sql` has no parameters, and its names are the caller's constants.
    async fn execute_plain(&mut self, sql: String) -> StoreResult<()> {
        crate::on_conn!(self, |c| sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

/// Runs `work` on its own task, to its end, whether or not the caller still waits.
///
/// Beginning and committing a transaction go through here, because a future dropped in
/// the middle of either leaves the connection out of step with the database. sqlx 0.9.0
/// raises a PostgreSQL connection's transaction depth only after `BEGIN`'s round trip, so
/// a `begin` dropped in between hands the connection back to the pool inside a
/// transaction that nothing rolls back, and the next borrower runs in it
/// (transact-rs/sqlx#4393; fixed by #4394 after 0.9.0, and the pool's release check that
/// would catch it, #4409, is still open). A `commit` dropped half-way queues a `ROLLBACK`
/// behind its `COMMIT`. Finished on its own task, a transaction that nobody waits for any
/// more is simply dropped whole, which sqlx rolls back correctly once the depth is raised.
/// Statements inside a transaction need nothing of the kind: dropping one rolls the
/// transaction back. Requests are cancelled whenever their client hangs up or their time
/// runs out, so this is not a corner case (tests/api/hangups.rs). Keep it after upgrading
/// sqlx unless those tests pass without it on PostgreSQL.
async fn uncancellable<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> StoreResult<T> {
    tokio::spawn(work)
        .await
        .map_err(|error| StoreError::Interrupted(error.to_string()))
}

/// `$first, $first+1, ...`: `count` placeholders for a list of values bound in order
/// (`WHERE id IN (...)`), which both drivers take, where only PostgreSQL binds an array.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `$body` with `$c` bound to the driver connection of `$conn`, whichever it is.
/// The body is expanded once per driver, so a query written once is checked for both.
#[macro_export]
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn.raw() {
            $crate::store::Raw::Sqlite($c) => $body,
            $crate::store::Raw::Postgres($c) => $body,
        }
    };
}

/// Runs the statement `$query` (a `sqlx::query(...)` with its binds) on `$conn`, whichever
/// driver it is, and gives the number of rows it changed.
#[macro_export]
macro_rules! exec {
    ($conn:expr, $query:expr) => {
        $crate::on_conn!($conn, |c| $query.execute(c).await.map(|done| done.rows_affected()))
    };
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`). A SQLite file and its folder
    /// are created when missing.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(LOCK_WAIT)
                // sqlx pings every connection it hands out, a round trip to PostgreSQL on
                // each request's every transaction and read. Only one left idle a while
                // is checked: one in steady use has just answered, and one that breaks in
                // between fails its statement, as it would after any ping.
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_AFTER_IDLE {
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(options)
                .await?;
            Ok(Store::Postgres(pool, CommitObserver::default()))
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }

    async fn connect_sqlite(url: &str) -> StoreResult<Store> {
        // `synchronous = FULL`: in WAL mode, `NORMAL` syncs the log only at checkpoints, so
        // a power cut or an OS crash could take back commits that were acknowledged, paid
        // orders among them. FULL syncs the log at every commit; group commit shares the
        // syncs of queued writers so that this costs little throughput.
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(LOCK_WAIT);
        if let Some(folder) = options.get_filename().parent()
            && !folder.as_os_str().is_empty()
        {
            std::fs::create_dir_all(folder).map_err(|error| StoreError::Database(sqlx::Error::Io(error)))?;
        }
        let in_use = backup::hold_in_use(options.get_filename())
            .map_err(|error| StoreError::Database(sqlx::Error::Io(error)))?;
        let writer = group_commit::Writer::connect(options.clone(), LOCK_WAIT).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(LOCK_WAIT)
            // A SQLite connection is a file handle in this process, not a link that can
            // break; pinging it before each read is a hop to its thread for nothing.
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        let (announcer, _) = broadcast::channel(ANNOUNCEMENTS_BUFFERED);
        Ok(Store::Sqlite {
            writer,
            reader,
            announcer,
            in_use: std::sync::Arc::new(in_use),
            observer: CommitObserver::default(),
        })
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Store::Sqlite { writer, .. } => writer.migrate(&sqlx::migrate!("migrations/sqlite")).await?,
            Store::Postgres(pool, _) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// True when the database answers and every migration of this build is applied.
    pub async fn is_ready(&self) -> bool {
        let expected = match self {
            Store::Sqlite { .. } => sqlx::migrate!("migrations/sqlite").iter().count(),
            Store::Postgres(..) => sqlx::migrate!("migrations/postgres").iter().count(),
        };
        let Ok(mut conn) = self.read().await else {
            return false;
        };
        let applied: Result<i64, sqlx::Error> = on_conn!(conn, |c| {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(c)
                .await
        });
        applied.is_ok_and(|applied| applied as usize >= expected)
    }

    /// Starts a writing transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails at once
    /// with SQLITE_BUSY when another writer got in between, and no timeout helps then.
    ///
    /// The transaction begins on its own task ([`uncancellable`]): a caller cancelled while
    /// `BEGIN` is under way leaves a transaction that is rolled back, not one left open.
    pub async fn write(&self) -> StoreResult<Conn> {
        let store = self.clone();
        let inner = uncancellable(async move {
            Ok::<_, StoreError>(match store {
                Store::Sqlite { writer, .. } => ConnInner::SqliteTx(writer.begin().await?),
                Store::Postgres(pool, _) => ConnInner::PostgresTx(pool.begin().await?),
            })
        })
        .await??;
        let (announcer, observer) = match self {
            Store::Sqlite {
                announcer, observer, ..
            } => (Some(announcer.clone()), observer.clone()),
            Store::Postgres(_, observer) => (None, observer.clone()),
        };
        Ok(Conn::new(inner, announcer, Some(observer)))
    }

    /// Has `observer` told every notification of this store's write transactions as they
    /// commit (once per store: a second observer is refused, `false`).
    pub fn observe_commits(&self, observer: impl Fn(&str) + Send + Sync + 'static) -> bool {
        let (Store::Sqlite {
            observer: observers, ..
        }
        | Store::Postgres(_, observers)) = self;
        observers.0.set(Box::new(observer)).is_ok()
    }

    /// Runs one SQL statement written by the caller in its own transaction and returns the
    /// rows it changed: for tests and tools that reach past the store's own queries.
    pub async fn execute_unchecked(&self, sql: String) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let changed = exec!(tx, sqlx::query(sqlx::AssertSqlSafe(sql.clone())))?;
        tx.commit().await?;
        Ok(changed)
    }

    /// A connection for writes that are each whole on their own: a conditional insert or
    /// update that no other statement of the caller's must be undone with. On PostgreSQL
    /// each statement commits by itself, as durably as a transaction, without the `BEGIN`
    /// and `COMMIT` round trips; on SQLite it is [`Store::write`]'s transaction, whose
    /// commit shares the sync of the writers queued with it. Notifications are not sent
    /// from it: use [`Store::write`] for writes that announce something.
    pub async fn write_statements(&self) -> StoreResult<Conn> {
        match self {
            Store::Sqlite { .. } => self.write().await,
            // A pooled connection outside a transaction, as reads have.
            Store::Postgres(..) => self.read().await,
        }
    }

    /// A connection for reads outside a transaction.
    pub async fn read(&self) -> StoreResult<Conn> {
        let inner = match self {
            Store::Sqlite { reader, .. } => ConnInner::SqlitePooled(reader.acquire().await?),
            Store::Postgres(pool, _) => ConnInner::PostgresPooled(pool.acquire().await?),
        };
        Ok(Conn::new(inner, None, None))
    }

    /// Connections in use and idle, for the metrics.
    pub fn pool_usage(&self) -> (u32, u32) {
        match self {
            Store::Sqlite { writer, reader, .. } => {
                let writing = u32::from(writer.in_use());
                (
                    writing + reader.size() - reader.num_idle() as u32,
                    1 - writing + reader.num_idle() as u32,
                )
            }
            Store::Postgres(pool, _) => (pool.size() - pool.num_idle() as u32, pool.num_idle() as u32),
        }
    }

    /// How long SQLite's one writer has been held by writes since the store opened; `None`
    /// on PostgreSQL, which has no one writer.
    pub fn writer_busy_time(&self) -> Option<std::time::Duration> {
        match self {
            Store::Sqlite { writer, .. } => Some(writer.busy_time()),
            Store::Postgres(..) => None,
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite { .. } => "sqlite",
            Store::Postgres(..) => "postgres",
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite { writer, reader, .. } => {
                reader.close().await;
                writer.close().await;
            }
            Store::Postgres(pool, _) => pool.close().await,
        }
    }
}

/// Creates database `name` on the PostgreSQL server of `admin_url` (used by tests).
pub async fn create_postgres_database(admin_url: &str, name: &str) -> StoreResult<()> {
    let mut conn = PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{}\"",
        sanitize_identifier(name)
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

/// Drops database `name`, disconnecting whoever still uses it.
pub async fn drop_postgres_database(admin_url: &str, name: &str) -> StoreResult<()> {
    let mut conn = PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        sanitize_identifier(name)
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(())
}

/// `url` with its database name replaced by `name`.
pub fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

fn sanitize_identifier(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// A database URL safe to print: any password replaced.
pub fn redact(url: &str) -> String {
    let options = PgConnectOptions::from_str(url).ok();
    match (options, url.split_once('@')) {
        (Some(_), Some((credentials, rest))) if credentials.contains(':') && credentials.matches(':').count() > 1 => {
            let user_end = credentials.rfind(':').unwrap_or(credentials.len());
            format!("{}:***@{rest}", &credentials[..user_end])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database_name("postgres://127.0.0.1", "t1"),
            "postgres://127.0.0.1/t1"
        );
        assert_eq!(
            with_database_name("postgres://h/db?sslmode=disable", "t1"),
            "postgres://h/t1?sslmode=disable"
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://user:secret@host/db"), "postgres://user:***@host/db");
        assert_eq!(redact("postgres://user@host/db"), "postgres://user@host/db");
    }

    /// `.cargo/config.toml` compiles SQLite with these; a build that lost them (an
    /// environment that overrides `LIBSQLITE3_FLAGS`, a dependency bump that compiles SQLite
    /// another way) would plan statements anew on every execution again.
    #[tokio::test]
    async fn the_bundled_sqlite_is_compiled_as_configured() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("memory database");
        let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
            .fetch_all(&mut conn)
            .await
            .expect("compile options");
        for wanted in ["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0"] {
            assert!(
                options.iter().any(|option| option == wanted),
                "{wanted} missing from {options:?}"
            );
        }
    }
}
