//! Password hashing, on two dedicated threads.
//!
//! Passwords are hashed with argon2id (OWASP's recommended minimum: 19 MiB, 2 passes).
//! That takes tens of milliseconds of CPU and 19 MiB per hash, so two long-lived threads
//! bound what sign-ups and logins can take to the machine's two cores and two hashes'
//! worth of memory, however many arrive at once, and keep that work off the runtime's
//! threads; the rest wait in the queue. A login for an unknown email verifies against a
//! dummy hash, so it costs the same as a wrong password and answers the same.

use std::sync::{Arc, LazyLock, Mutex, mpsc};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::oneshot;

use crate::domain::{DomainError, DomainResult};

const WORKERS: usize = 2;

type Job = Box<dyn FnOnce() + Send>;

static QUEUE: LazyLock<mpsc::Sender<Job>> = LazyLock::new(|| {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for worker in 0..WORKERS {
        let receiver = receiver.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("password-hashing-{worker}"))
            .spawn(move || {
                loop {
                    // The lock is held only while waiting for the next job, not while running it.
                    let job = match receiver.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panicking hash must not take the thread with it: the other
                        // callers would wait for ever on a queue nobody reads.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start a password-hashing thread");
        }
    }
    sender
});

/// Runs `work` on a hashing thread and waits for its result without blocking the runtime.
async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
    let (reply, answer) = oneshot::channel();
    let job: Job = Box::new(move || {
        // A request whose client has gone needs no hash.
        if !reply.is_closed() {
            let _ = reply.send(work());
        }
    });
    QUEUE
        .send(job)
        .map_err(|_| DomainError::Internal("the password-hashing threads are gone".to_owned()))?;
    answer
        .await
        .map_err(|_| DomainError::Internal("a password-hashing job was dropped".to_owned()))
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password(b"not a real password, only spends the same time")
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

pub async fn hash_password(password: String) -> DomainResult<String> {
    run(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| DomainError::Internal(format!("hashing failed: {error}")))
    })
    .await?
}

/// Checks `password` against `stored_hash`; without one (no such account) against a dummy
/// hash, so that the answer takes as long either way.
pub(super) async fn verify_password(password: String, stored_hash: Option<String>) -> DomainResult<bool> {
    run(move || {
        let stored_hash = stored_hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&stored_hash) else {
            return false;
        };
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    })
    .await
}
