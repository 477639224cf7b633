//! Logs and metrics.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// Structured logs filtered by `RUST_LOG` (default `info`), as JSON when
/// `BACKROOM_LOG_FORMAT=json`.
pub fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

/// How often the recorder's upkeep runs (the exporter's own default).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The name of the thread that runs the recorder's upkeep.
const UPKEEP_THREAD: &str = "metrics-upkeep";

/// The process-wide Prometheus recorder, installed on first use: the recorder is global,
/// so servers started by tests in one process share it.
///
/// The recorder holds every latency recorded until its upkeep folds them into the
/// histograms: without it, a server nobody scraped kept about 20 bytes per request
/// served, for ever. The upkeep runs on a thread of its own, as the recorder is made
/// outside any one runtime.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".to_owned()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            let upkept = handle.clone();
            let (started, running) = std::sync::mpsc::sync_channel(1);
            let upkeep = std::thread::Builder::new()
                .name(UPKEEP_THREAD.to_owned())
                .spawn(move || {
                    let _ = started.send(());
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkept.run_upkeep();
                    }
                });
            match upkeep {
                // A thread takes its name as it starts, after `spawn` returns: waiting for
                // it to run means it is there, named, for whoever looks.
                Ok(_) => {
                    let _ = running.recv();
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot start the metrics upkeep; latencies will pile up until /metrics is read");
                }
            }
            handle
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorder_comes_with_its_upkeep() {
        let _handle = metrics_handle();
        let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
            .expect("this process's threads")
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .collect();
        assert!(
            threads.iter().any(|name| name == UPKEEP_THREAD),
            "no upkeep thread among {threads:?}"
        );
    }
}
