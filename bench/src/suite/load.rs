//! Load: oha for single endpoints, and a small scripted driver (reqwest) for the
//! multi-step flows. The driver is ours rather than goose because the flows carry state
//! from step to step (a token, a cart id) and the mixed scenario needs an open-loop
//! arrival rate with latency counted from each request's scheduled start, so that a
//! slow server cannot hide its queueing (coordinated omission); both are a few lines here.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Mutex;

/// What one measurement found.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub errors: u64,
}

impl Summary {
    pub fn of(mut latencies: Vec<Duration>, errors: u64, elapsed: Duration) -> Summary {
        latencies.sort_unstable();
        let at = |quantile: f64| {
            if latencies.is_empty() {
                return Duration::ZERO;
            }
            let index = ((latencies.len() as f64 * quantile).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[index]
        };
        Summary {
            per_second: latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            p50: at(0.50),
            p99: at(0.99),
            max: latencies.last().copied().unwrap_or_default(),
            errors,
        }
    }
}

/// `oha` against one URL with `connections` at once for `duration`.
pub async fn oha(url: &str, connections: usize, duration: Duration, headers: &[&str]) -> Result<Summary, String> {
    let mut command = tokio::process::Command::new(oha_binary());
    // Uncompressed, so that Backroom and the HTTP ceiling send the same bytes.
    command.args([
        "--no-tui",
        "--disable-compression",
        "--output-format",
        "json",
        "-z",
        &format!("{}s", duration.as_secs()),
        "-c",
        &connections.to_string(),
    ]);
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command
        .arg(url)
        .output()
        .await
        .map_err(|e| format!("cannot run oha (cargo install oha): {e}"))?;
    if !output.status.success() {
        return Err(format!("oha failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let report: Value = serde_json::from_slice(&output.stdout).map_err(|e| format!("oha's output: {e}"))?;
    let seconds = |value: &Value| Duration::from_secs_f64(value.as_f64().unwrap_or(0.0));
    let statuses = report["statusCodeDistribution"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let count = |ok: bool| -> u64 {
        statuses
            .iter()
            .filter(|(code, _)| code.starts_with('2') == ok)
            .map(|(_, n)| n.as_u64().unwrap_or(0))
            .sum()
    };
    // Requests still in flight when the time is up are cut off by oha: not the server's errors.
    let failed_to_send: u64 = report["errorDistribution"]
        .as_object()
        .map(|errors| {
            errors
                .iter()
                .filter(|(kind, _)| !kind.contains("deadline"))
                .map(|(_, n)| n.as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    Ok(Summary {
        per_second: report["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50: seconds(&report["latencyPercentiles"]["p50"]),
        p99: seconds(&report["latencyPercentiles"]["p99"]),
        max: seconds(&report["summary"]["slowest"]),
        errors: count(false) + failed_to_send,
    })
}

fn oha_binary() -> String {
    std::env::var("OHA").unwrap_or_else(|_| "oha".to_owned())
}

/// The outcome of one step of a flow.
pub type Step = (Duration, bool);

/// Times one request; any status outside 2xx (or no answer) is an error.
pub async fn timed(request: reqwest::RequestBuilder) -> (Step, Value) {
    let started = Instant::now();
    match request.send().await {
        Ok(response) => {
            let ok = response.status().is_success();
            let body = response.json().await.unwrap_or(Value::Null);
            ((started.elapsed(), ok), body)
        }
        Err(_) => ((started.elapsed(), false), Value::Null),
    }
}

/// `users` virtual users, each repeating `iteration` until `duration` is up. Returns
/// the summary of every step, and the iterations whose steps all succeeded.
pub async fn closed_loop<F, Fut>(users: usize, duration: Duration, iteration: F) -> (Summary, u64)
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Vec<Step>> + Send,
{
    let samples = Arc::new(Mutex::new((Vec::new(), 0u64, 0u64)));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks = (0..users).map(|user| {
        let (samples, iteration) = (samples.clone(), iteration.clone());
        tokio::spawn(async move {
            while Instant::now() < deadline {
                let steps = iteration(user).await;
                let mut samples = samples.lock().await;
                samples.2 += u64::from(steps.iter().all(|(_, ok)| *ok));
                for (latency, ok) in steps {
                    samples.0.push(latency);
                    samples.1 += u64::from(!ok);
                }
            }
        })
    });
    futures_util::future::join_all(tasks).await;
    let elapsed = started.elapsed();
    let (latencies, errors, completed) = Arc::try_unwrap(samples).map(Mutex::into_inner).unwrap_or_default();
    (Summary::of(latencies, errors, elapsed), completed)
}

/// Operations started at `rate` per second for `duration` whatever the server does
/// (open loop); each latency runs from the operation's scheduled start.
pub async fn open_loop<F, Fut>(rate: f64, duration: Duration, operation: F) -> Summary
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let total = (rate * duration.as_secs_f64()) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let scheduled = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let operation = operation.clone();
        tasks.push(tokio::spawn(async move {
            let ok = operation(n).await;
            (scheduled.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut errors = 0;
    for task in tasks {
        if let Ok((latency, ok)) = task.await {
            latencies.push(latency);
            errors += u64::from(!ok);
        }
    }
    // Achieved, not offered: an overloaded server finishes its backlog after the window.
    Summary::of(latencies, errors, started.elapsed())
}
