//! A local S3-compatible server for the media tests: moto's `moto_server` (PyPI
//! `moto[server]`), in memory, on a free port, stopped when dropped. Where it is not
//! installed the tests that need it say so and skip, unless `BACKROOM_REQUIRE_S3` is set
//! (as `.ci/run` does), which makes its absence a failure.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::skipped;

pub struct S3Server {
    _process: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl S3Server {
    /// Starts `moto_server`, or `None` (said on the terminal) where it is not installed.
    pub async fn start() -> Option<S3Server> {
        let program = std::env::var("BACKROOM_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let spawned = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let mut process = match spawned {
            Ok(process) => process,
            Err(error) if std::env::var_os("BACKROOM_REQUIRE_S3").is_some() => {
                panic!("BACKROOM_REQUIRE_S3 is set but {program} cannot start: {error}")
            }
            Err(_) => {
                skipped("S3 media tests: moto_server is not installed (pip install 'moto[server]')");
                return None;
            }
        };
        // It says on standard error when it listens.
        let mut lines = BufReader::new(process.stderr.take().expect("stderr")).lines();
        let listening = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read moto_server's output") {
                if line.contains("Running on") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(listening, Ok(true), "moto_server did not start");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Some(S3Server {
            _process: process,
            endpoint: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Creates a bucket (moto takes unsigned requests).
    pub async fn create_bucket(&self, name: &str) {
        let created = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .expect("reach moto_server");
        assert!(created.status().is_success(), "create bucket: {}", created.status());
    }

    /// The keys in `bucket`.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let listing = reqwest::Client::new()
            .get(format!("{}/{bucket}?list-type=2", self.endpoint))
            .send()
            .await
            .expect("reach moto_server")
            .text()
            .await
            .expect("listing");
        let document = roxmltree::Document::parse(&listing).expect("an XML listing");
        document
            .descendants()
            .filter(|node| node.has_tag_name("Key"))
            .filter_map(|node| node.text().map(str::to_owned))
            .collect()
    }

    /// The settings `backroom serve` needs to keep its media in `bucket` under `prefix`.
    pub fn serve_env(&self, bucket: &str, prefix: &str) -> Vec<(String, String)> {
        [
            ("BACKROOM_MEDIA_URL", format!("s3://{bucket}/{prefix}")),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
    }
}
