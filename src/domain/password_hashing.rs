//! Password hashing on two dedicated threads.
//!
//! Argon2 at OWASP's parameters takes tens of milliseconds of CPU and 19 MiB per hash.
//! Two long-lived threads bound what sign-ups and logins can take to the machine's two
//! cores and two hashes' worth of memory, however many arrive at once, and keep that work
//! off the runtime's threads; the rest wait in the queue.

use std::sync::{Arc, LazyLock, Mutex, mpsc};

use tokio::sync::oneshot;

use super::{DomainError, DomainResult};

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
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
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
