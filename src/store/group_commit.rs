//! SQLite's one writer, with group commit.
//!
//! SQLite runs one writing transaction at a time, and with `synchronous = FULL` a commit
//! returns only once the database's log is synced to disk: that is what lets a paid order
//! survive a power cut, not only a killed process (issue 20). One sync per transaction
//! would cap writes at the disk's sync rate, so writers queued behind each other share
//! one: each writer's transaction is a savepoint inside one group transaction, and the
//! group commits, with one sync, when no other writer is waiting or when it holds
//! [`MAX_MEMBERS`] writers. A writer whose work fails rolls back to its savepoint and
//! leaves the others' work intact. No writer's commit returns before its group's commit
//! is on disk, so nothing is acknowledged before it is durable; if the group's commit
//! fails, every member's commit fails.
//!
//! Readers use their own connections and see a group's work when it commits, as they saw
//! each transaction's before. A writer, though, sees the work its group's earlier members
//! released: one that answers from what it read must commit (which waits for the group's
//! sync) rather than drop its transaction.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use super::{StoreError, StoreResult};

/// A group commits once it holds this many writers, even if more are waiting, so that
/// the first writer of a long queue does not wait for all of it.
const MAX_MEMBERS: usize = 32;

/// The write connection, shared by every writer in turn.
#[derive(Clone)]
pub struct Writer {
    state: Arc<Mutex<State>>,
    /// Writers waiting for the connection: while there are any, a finished writer leaves
    /// the group open for them instead of committing it.
    queued: Arc<AtomicUsize>,
    lock_wait: Duration,
    options: Arc<SqliteConnectOptions>,
    /// Group commits so far (each one sync of the log).
    commits: Arc<AtomicU64>,
    /// Nanoseconds writers have held the connection, all told: how near the one writer
    /// is to being every write's bottleneck.
    busy_nanos: Arc<AtomicU64>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .finish()
    }
}

struct State {
    conn: Option<SqliteConnection>,
    /// The group transaction, while one is open.
    group: Option<Group>,
    /// A writer's savepoint is open: set from `SAVEPOINT` until it is released or rolled
    /// back, so that a writer that vanished without either is cleaned up after.
    savepoint_open: bool,
}

struct Group {
    /// Writers whose work is released into the group and waits for its commit.
    members: usize,
    outcome: watch::Sender<Option<Result<(), String>>>,
    commits: Arc<AtomicU64>,
}

impl Writer {
    /// Opens the write connection with `options`.
    pub async fn connect(options: SqliteConnectOptions, lock_wait: Duration) -> StoreResult<Writer> {
        let conn = SqliteConnection::connect_with(&options).await?;
        Ok(Writer {
            options: Arc::new(options),
            state: Arc::new(Mutex::new(State {
                conn: Some(conn),
                group: None,
                savepoint_open: false,
            })),
            queued: Arc::new(AtomicUsize::new(0)),
            lock_wait,
            commits: Arc::new(AtomicU64::new(0)),
            busy_nanos: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Waits for the connection and starts this writer's savepoint in the open group (or
    /// in a new one, which takes SQLite's write lock up front with `BEGIN IMMEDIATE`).
    pub async fn begin(&self) -> StoreResult<Member> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let guard = tokio::time::timeout(self.lock_wait, self.state.clone().lock_owned()).await;
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let Ok(guard) = guard else {
            self.commit_orphaned_group().await;
            return Err(sqlx::Error::PoolTimedOut.into());
        };
        let mut member = Member {
            guard: Some(Turn {
                guard,
                since: Instant::now(),
                busy_nanos: self.busy_nanos.clone(),
            }),
            queued: self.queued.clone(),
        };
        let commits = self.commits.clone();
        let state = member.state();
        if state.savepoint_open {
            // The writer before vanished without a word (no runtime to clean up on).
            state.abandon_member(0).await;
        }
        if state.group.is_some() {
            sqlx::query("SAVEPOINT member").execute(state.conn()?).await?;
        } else {
            // One command to the connection's thread, not two: each costs a round trip
            // between threads, a good part of a short write's time.
            if let Err(error) = sqlx::query("BEGIN IMMEDIATE; SAVEPOINT member")
                .execute(state.conn()?)
                .await
            {
                // Harmless when the BEGIN failed; ends the transaction when only the
                // savepoint did.
                let _ = sqlx::query("ROLLBACK").execute(state.conn()?).await;
                return Err(error.into());
            }
            let (outcome, _) = watch::channel(None);
            state.group = Some(Group {
                members: 0,
                outcome,
                commits,
            });
        }
        state.savepoint_open = true;
        Ok(member)
    }

    /// A writer leaves its group open while others wait to join it. When the waiters give
    /// up instead (their wait timed out), the last of them sees to it that the group is
    /// committed, so that its members' commits do not wait for the next writer to come
    /// along. It waits for the connection on a task of its own: the writer that left the
    /// group open may still hold it for an instant, and this waiter's caller has its
    /// answer (a timeout) already.
    async fn commit_orphaned_group(&self) {
        if self.queued.load(Ordering::SeqCst) != 0 {
            return;
        }
        let state = self.state.clone();
        tokio::spawn(async move {
            let mut state = state.lock_owned().await;
            // Whoever holds the connection between writers is no writer's savepoint: an
            // open group here has members waiting for a commit nobody else will make.
            if state.group.is_some() && !state.savepoint_open {
                state.commit_group().await;
            }
        });
    }

    /// Applies `migrator`'s pending migrations, outside any group.
    /// (A pool of one connection of their own: sqlx's migrator takes a pool or a pool's
    /// connection without the compiler losing track of its lifetimes.)
    pub async fn migrate(&self, migrator: &sqlx::migrate::Migrator) -> StoreResult<()> {
        let _turn = self.state.lock().await;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with((*self.options).clone())
            .await?;
        let migrated = migrator.run(&pool).await;
        pool.close().await;
        Ok(migrated?)
    }

    /// Group commits so far: each one sync of the log, for any number of writers.
    pub fn group_commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// How long writers have held the connection since it opened, all told (for the
    /// metrics: its rate is the share of the time the one writer is busy).
    pub fn busy_time(&self) -> Duration {
        Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed))
    }

    /// True while a writer holds the connection (for the metrics).
    pub fn in_use(&self) -> bool {
        self.state.try_lock().is_err()
    }

    pub async fn close(&self) {
        let mut state = self.state.lock().await;
        if let Some(conn) = state.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// One writer's turn: its savepoint inside the group. Dropping it without
/// [`Member::commit`] rolls its work back.
pub struct Member {
    guard: Option<Turn>,
    queued: Arc<AtomicUsize>,
}

/// A writer's hold on the connection, counted in the writer's busy time when it ends.
struct Turn {
    guard: OwnedMutexGuard<State>,
    since: Instant,
    busy_nanos: Arc<AtomicU64>,
}

impl Deref for Turn {
    type Target = State;

    fn deref(&self) -> &State {
        &self.guard
    }
}

impl DerefMut for Turn {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let held = u64::try_from(self.since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.busy_nanos.fetch_add(held, Ordering::Relaxed);
    }
}

impl Member {
    fn state(&mut self) -> &mut State {
        self.guard
            .as_mut()
            .expect("a member holds the connection until it ends")
    }

    pub fn connection(&mut self) -> &mut SqliteConnection {
        self.state()
            .conn
            .as_mut()
            .expect("the writer's connection is open while writers hold it")
    }

    /// Releases this writer's work into the group, commits the group if no one else is
    /// waiting to join it, and returns once the group's commit is on disk.
    pub async fn commit(mut self) -> StoreResult<()> {
        let mut guard = self.guard.take().expect("a member holds the connection until it ends");
        let mut outcome = {
            let state = &mut *guard;
            let Some(group) = state.group.as_ref() else {
                return Err(StoreError::CommitFailed("the write transaction was lost".to_owned()));
            };
            let outcome = group.outcome.subscribe();
            // The group's fate is decided here: a writer that queues from now on joins
            // the next group.
            let last_member = self.queued.load(Ordering::SeqCst) == 0 || group.members + 1 >= MAX_MEMBERS;
            if last_member {
                state.release_and_commit().await;
            } else {
                if let Err(error) = sqlx::query("RELEASE member").execute(state.conn()?).await {
                    state.abandon_member(self.queued.load(Ordering::SeqCst)).await;
                    return Err(error.into());
                }
                state.savepoint_open = false;
                if let Some(group) = state.group.as_mut() {
                    group.members += 1;
                }
            }
            outcome
        };
        drop(guard);
        let settled = outcome
            .wait_for(|outcome| outcome.is_some())
            .await
            .map_err(|_| StoreError::CommitFailed("the group commit was abandoned".to_owned()))?;
        match &*settled {
            Some(Ok(())) => Ok(()),
            Some(Err(error)) => Err(StoreError::CommitFailed(error.clone())),
            None => Err(StoreError::CommitFailed("the group commit was abandoned".to_owned())),
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else { return };
        let queued = self.queued.clone();
        // Rolling back needs the database, which a destructor cannot wait for: the
        // connection stays locked until a task has done it.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    guard.abandon_member(queued.load(Ordering::SeqCst)).await;
                });
            }
            // The next writer cleans up (see `Writer::begin`).
            Err(_) => tracing::error!("a database write ended outside the runtime; the next writer rolls it back"),
        }
    }
}

impl State {
    fn conn(&mut self) -> StoreResult<&mut SqliteConnection> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Database(sqlx::Error::PoolClosed))
    }

    /// Rolls back the open savepoint of a writer that gives up; the group goes on (or
    /// commits what its members did, if no one else comes).
    async fn abandon_member(&mut self, queued: usize) {
        if self.savepoint_open {
            self.savepoint_open = false;
            let rolled_back = match self.conn() {
                Ok(conn) => {
                    sqlx::query("ROLLBACK TO member").execute(&mut *conn).await.is_ok()
                        && sqlx::query("RELEASE member").execute(conn).await.is_ok()
                }
                Err(_) => false,
            };
            if !rolled_back {
                // SQLite rolled the whole transaction back by itself (an I/O error, a full
                // disk): the members' work is gone with it.
                self.fail_group("the write transaction was rolled back by the database")
                    .await;
                return;
            }
        }
        match &self.group {
            Some(group) if group.members == 0 => self.fail_group("nothing to commit").await,
            Some(_) if queued == 0 => self.commit_group().await,
            _ => {}
        }
    }

    /// Releases the open savepoint into the group and commits the group, in one command
    /// to the connection's thread (see [`Writer::begin`]). Should either fail, the group
    /// fails as a whole, its last member with it.
    async fn release_and_commit(&mut self) {
        let committed = match self.conn() {
            Ok(conn) => sqlx::query("RELEASE member; COMMIT").execute(conn).await.map(|_| ()),
            Err(error) => Err(sqlx::Error::Protocol(error.to_string())),
        };
        self.savepoint_open = false;
        if let Some(group) = self.group.as_mut() {
            group.members += 1;
        }
        match committed {
            Ok(()) => self.group_committed(),
            Err(error) => self.fail_group(&error.to_string()).await,
        }
    }

    /// Commits the group and tells its members.
    async fn commit_group(&mut self) {
        let committed = match self.conn() {
            Ok(conn) => sqlx::query("COMMIT").execute(conn).await.map(|_| ()),
            Err(error) => Err(sqlx::Error::Protocol(error.to_string())),
        };
        match committed {
            Ok(()) => self.group_committed(),
            Err(error) => self.fail_group(&error.to_string()).await,
        }
    }

    /// Tells the members of the group just committed.
    fn group_committed(&mut self) {
        if let Some(group) = self.group.take() {
            group.commits.fetch_add(1, Ordering::Relaxed);
            metrics::histogram!("backroom_db_commit_group_writes").record(group.members as f64);
            group.outcome.send_replace(Some(Ok(())));
        }
    }

    /// Ends the group without keeping its work, telling its members why.
    async fn fail_group(&mut self, reason: &str) {
        if let Ok(conn) = self.conn() {
            // Fails harmlessly when SQLite already rolled the transaction back.
            let _ = sqlx::query("ROLLBACK").execute(conn).await;
        }
        if let Some(group) = self.group.take()
            && group.members > 0
        {
            tracing::error!(members = group.members, reason, "a group of writes failed to commit");
            group.outcome.send_replace(Some(Err(reason.to_owned())));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::SqlitePool;

    use super::*;

    async fn writer() -> (Writer, SqlitePool, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("backroom-group-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.join("db.sqlite").display()))
            .expect("options")
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
        let writer = Writer::connect(options.clone(), Duration::from_secs(5))
            .await
            .expect("writer");
        let mut member = writer.begin().await.expect("begin");
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT NOT NULL UNIQUE)")
            .execute(member.connection())
            .await
            .expect("create table");
        member.commit().await.expect("commit");
        let reader = SqlitePoolOptions::new().connect_with(options).await.expect("reader");
        (writer, reader, dir)
    }

    async fn insert(member: &mut Member, note: &str) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO t (note) VALUES ($1)")
            .bind(note)
            .execute(member.connection())
            .await
            .map(|_| ())
    }

    async fn notes(reader: &SqlitePool) -> Vec<String> {
        sqlx::query_scalar("SELECT note FROM t ORDER BY note")
            .fetch_all(reader)
            .await
            .expect("notes")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writers_share_commits_and_failures_stay_their_own() {
        let (writer, reader, dir) = writer().await;
        let before = writer.group_commits();
        // The first writer holds the connection until every other one is queued behind it.
        let mut first = writer.begin().await.expect("begin");
        insert(&mut first, "first").await.expect("insert");
        let mut tasks = Vec::new();
        for n in 0..40 {
            let writer = writer.clone();
            let reader = reader.clone();
            tasks.push(tokio::spawn(async move {
                let mut member = writer.begin().await.expect("begin");
                let note = format!("w{n:02}");
                match n % 4 {
                    // Gives up after writing: its row must not survive.
                    0 => {
                        insert(&mut member, &note).await.expect("insert");
                        drop(member);
                        None
                    }
                    // A statement fails (a duplicate): its earlier row goes too.
                    1 => {
                        insert(&mut member, &note).await.expect("insert");
                        assert!(insert(&mut member, "first").await.is_err(), "duplicate refused");
                        drop(member);
                        None
                    }
                    _ => {
                        insert(&mut member, &note).await.expect("insert");
                        member.commit().await.expect("commit");
                        // Acknowledged means committed: another connection sees it at once.
                        assert!(notes(&reader).await.contains(&note), "{note} visible after commit");
                        Some(note)
                    }
                }
            }));
        }
        while writer.queued.load(Ordering::SeqCst) < 40 {
            tokio::task::yield_now().await;
        }
        first.commit().await.expect("commit");
        let mut expected = vec!["first".to_owned()];
        for task in tasks {
            expected.extend(task.await.expect("task"));
        }
        expected.sort();
        assert_eq!(notes(&reader).await, expected);
        let commits = writer.group_commits() - before;
        assert!(commits < 21, "21 committed writers share commits: {commits} commits");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_writer_commits_at_once_and_a_dropped_one_leaves_nothing() {
        let (writer, reader, dir) = writer().await;
        let busy_before = writer.busy_time();
        let mut member = writer.begin().await.expect("begin");
        insert(&mut member, "kept").await.expect("insert");
        member.commit().await.expect("commit");
        assert_eq!(notes(&reader).await, ["kept"]);
        assert!(
            writer.busy_time() > busy_before,
            "its turn counts as the writer's busy time"
        );

        let mut member = writer.begin().await.expect("begin");
        insert(&mut member, "dropped").await.expect("insert");
        drop(member);
        // The next writer finds the connection clean and out of any transaction.
        let mut member = writer.begin().await.expect("begin");
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(member.connection())
            .await
            .expect("count");
        assert_eq!(count, 1);
        member.commit().await.expect("commit");
        assert_eq!(notes(&reader).await, ["kept"]);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_group_left_open_for_waiters_that_give_up_is_committed_by_them() {
        let (writer, reader, dir) = writer().await;
        let mut member = writer.begin().await.expect("begin");
        insert(&mut member, "waited").await.expect("insert");
        // A writer waits to join when the member commits, so the group stays open for it.
        writer.queued.fetch_add(1, Ordering::SeqCst);
        let committing = tokio::spawn(member.commit());
        while writer.in_use() {
            tokio::task::yield_now().await;
        }
        assert!(!committing.is_finished(), "the member's commit waits for its group");
        assert!(notes(&reader).await.is_empty(), "nothing is committed yet");
        // The waiter's wait times out: leaving, it commits the group it was to join.
        writer.queued.fetch_sub(1, Ordering::SeqCst);
        writer.commit_orphaned_group().await;
        committing.await.expect("task").expect("commit");
        assert_eq!(notes(&reader).await, ["waited"]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
