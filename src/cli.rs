//! The command line: `serve`, `migrate` and `admin create`. Every option also reads a
//! `BACKROOM_*` environment variable.

use std::io::BufRead;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::domain::checkout::{CheckoutSettings, PROVIDER_CALLS_PER_CHECKOUT};
use crate::domain::payments::CaptureMode;
use crate::http::{HttpSettings, RateLimit};
use crate::mail::Mailer;
use crate::media::{MediaLocation, MediaStore};
use crate::payments::{PaymentSettings, ProviderChoice, STRIPE_JS_URL, StripeConfig};
use crate::server::{ConnectionLimits, Server, ServerOptions, termination_signal};
use crate::store::{DEFAULT_DATABASE_URL, Store, redact};
use crate::{demo, domain, faults, telemetry};

#[derive(Debug, Parser)]
#[command(name = "backroom", version, about = "The commerce backend in one binary")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`. The SQLite file and its folder are
    /// created when missing.
    #[arg(long, env = "BACKROOM_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
}

/// Where images go, and where they may be fetched from.
#[derive(Debug, Args)]
pub struct MediaArgs {
    /// Where product images are kept: a folder (`file:///srv/media` or a path), or an
    /// S3-compatible bucket (`s3://bucket/prefix`, configured by the usual `AWS_*`
    /// variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL` for a service other than Amazon's, `AWS_ALLOW_HTTP=true` for one
    /// without TLS). Default: a `media` folder beside the SQLite database (for PostgreSQL,
    /// `backroom-data/media`).
    #[arg(long, env = "BACKROOM_MEDIA_URL")]
    pub media_url: Option<String>,
    /// Let image URLs of an imported catalog reach loopback and private networks (refused
    /// by default: nobody's file should make the server fetch from its own network).
    #[arg(long, env = "BACKROOM_OUTBOUND_ALLOW_PRIVATE", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub outbound_allow_private: bool,
}

impl MediaArgs {
    fn location(&self, database_url: &str) -> anyhow::Result<MediaLocation> {
        Ok(match &self.media_url {
            Some(url) => MediaLocation::parse(url)?,
            None => MediaLocation::beside_database(database_url),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API, the storefront at / and the staff dashboard at /admin (applies pending
    /// migrations first).
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit.
    Migrate(DatabaseArgs),
    /// Rebuild the catalog's search index from its rows (after loading products with SQL,
    /// past Backroom); applies pending migrations first.
    Reindex(DatabaseArgs),
    /// Import products from a Shopify product CSV, as `POST /v1/admin/products/import`
    /// does (without its size limit); applies pending migrations first. Prints what was
    /// created and updated, and each row that changed nothing, with why; exits non-zero
    /// when a row failed.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        media: MediaArgs,
    },
    /// Write a consistent copy of a live SQLite database to a new file, without stopping
    /// it (PostgreSQL: use pg_dump, see docs/deploy.md).
    Backup {
        /// The new file.
        #[arg(long)]
        to: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Put a backup back as the SQLite database, after checking it; every server on the
    /// database must be stopped.
    Restore {
        /// The backup file.
        file: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Manage staff accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Manage API keys for server-to-server use.
    Apikey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on (port 0: any free port). Once listening, `serve` prints
    /// `backroom is listening on http://ADDR` on standard output.
    #[arg(long, env = "BACKROOM_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Load the demo catalog (about 30 products) into an empty database.
    #[arg(long, env = "BACKROOM_DEMO")]
    pub demo: bool,
    /// Seconds a request may take before it is answered 503 (live streams excepted).
    #[arg(long, env = "BACKROOM_REQUEST_TIMEOUT_SECS", default_value_t = 20)]
    pub request_timeout_secs: u64,
    /// Seconds a client has to send a whole request head, after connecting or after its
    /// previous response (so also how long an idle kept-alive connection stays open).
    #[arg(long, env = "BACKROOM_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds a request body has to arrive whole (else 408); less than the request timeout.
    #[arg(long, env = "BACKROOM_BODY_TIMEOUT_SECS", default_value_t = 10)]
    pub body_timeout_secs: u64,
    /// Connections one client address may hold open at once; 0 for no cap (behind a proxy,
    /// where every client has the proxy's address and the proxy limits them).
    #[arg(long, env = "BACKROOM_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 256)]
    pub max_connections_per_client: usize,
    /// Seconds a payment attempt may hold its stock unsettled (its process died) before the
    /// recovery job reconciles it with the provider; at least three provider timeouts plus 1
    /// (a checkout's calls to the provider, one after the other).
    #[arg(long, env = "BACKROOM_RESERVATION_SECS", default_value_t = 45)]
    pub reservation_secs: i64,
    /// Seconds a capture may take before the attempt counts as failed.
    #[arg(long, env = "BACKROOM_PROVIDER_TIMEOUT_SECS", default_value_t = 10)]
    pub provider_timeout_secs: u64,
    /// Who takes payments: `test` (the built-in test provider, tokens such as `tok_visa`) or
    /// `stripe`.
    #[arg(long, env = "BACKROOM_PAYMENT_PROVIDER", default_value = "test", value_parser = ["test", "stripe"])]
    pub payment_provider: String,
    /// Stripe's secret API key (`sk_live_...` or `sk_test_...`).
    #[arg(long, env = "BACKROOM_STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,
    /// The signing secret of the shop's Stripe webhook endpoint (`whsec_...`), which
    /// receives events at `/v1/webhooks/stripe`.
    #[arg(long, env = "BACKROOM_STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_webhook_secret: Option<String>,
    /// Stripe's publishable key (`pk_...`), for the storefront's card form.
    #[arg(long, env = "BACKROOM_STRIPE_PUBLISHABLE_KEY")]
    pub stripe_publishable_key: Option<String>,
    /// Where Stripe's API is (a stand-in for tests).
    #[arg(long, env = "BACKROOM_STRIPE_API_BASE", default_value = "https://api.stripe.com")]
    pub stripe_api_base: String,
    /// Where the storefront loads Stripe.js from (a stand-in for tests).
    #[arg(long, env = "BACKROOM_STRIPE_JS_URL", default_value = STRIPE_JS_URL)]
    pub stripe_js_url: String,
    /// When the money moves: `automatic` (at checkout) or `manual` (authorized at
    /// checkout, captured when staff fulfil the order, released on cancel).
    #[arg(long, env = "BACKROOM_CAPTURE", default_value = "automatic", value_parser = ["automatic", "manual"])]
    pub capture: String,
    /// `production` refuses to start with the test payment provider (unless
    /// `--allow-test-payments`), so that no shop takes orders it is not paid for.
    #[arg(long = "env", env = "BACKROOM_ENV", default_value = "development", value_parser = ["development", "production"])]
    pub environment: String,
    /// Allows the test payment provider when the environment is `production`.
    #[arg(long, env = "BACKROOM_ALLOW_TEST_PAYMENTS", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_test_payments: bool,
    /// Seconds after which an unfinished request's Idempotency-Key is released to a retry.
    #[arg(long, env = "BACKROOM_IDEMPOTENCY_ABANDON_SECS", default_value_t = 30)]
    pub idempotency_abandon_secs: i64,
    /// Milliseconds between runs of the background job (recovery, expiry, cleanup).
    #[arg(long, env = "BACKROOM_JOBS_INTERVAL_MS", default_value_t = 1000)]
    pub jobs_interval_ms: u64,
    /// Let webhook endpoints be `http` URLs on this machine's loopback (development and
    /// tests); refused by default, as are private and link-local addresses always.
    #[arg(long, env = "BACKROOM_WEBHOOKS_ALLOW_LOOPBACK", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    pub webhooks_allow_loopback: bool,
    /// Seconds a process holds a webhook delivery it claimed before another may take it
    /// over, had the first died. Keep it above the 15 s a delivery may take.
    #[arg(long, env = "BACKROOM_WEBHOOK_LEASE_SECS", default_value_t = 60)]
    pub webhook_lease_secs: u64,
    /// Seconds to go on serving after SIGTERM with `/readyz` answering 503, so that a load
    /// balancer polling it stops sending requests before the server stops accepting them.
    #[arg(long, env = "BACKROOM_SHUTDOWN_GRACE_SECS", default_value_t = 0)]
    pub shutdown_grace_secs: u64,
    /// The general per-client rate limit: `on` or `off` (for load tests and benchmarks).
    /// The login throttle stays on regardless.
    #[arg(long, env = "BACKROOM_RATE_LIMITS", default_value = "on", value_parser = ["on", "off"])]
    pub rate_limits: String,
    /// Requests per second each client address may sustain.
    #[arg(long, env = "BACKROOM_RATE_LIMIT_PER_SECOND", default_value_t = 20)]
    pub rate_limit_per_second: u32,
    /// Requests each client address may send at once before the rate applies.
    #[arg(long, env = "BACKROOM_RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,
    /// Browser origins allowed to call the API (CORS), comma-separated, such as
    /// `https://shop.example.com`. None by default.
    #[arg(long, env = "BACKROOM_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Live order streams (Server-Sent Events) one client address may hold open at once.
    #[arg(long, env = "BACKROOM_MAX_STREAMS_PER_CLIENT", default_value_t = 16)]
    pub max_streams_per_client: usize,
    /// Send Strict-Transport-Security: set it when TLS is terminated in front of Backroom.
    #[arg(long, env = "BACKROOM_HSTS")]
    pub hsts: bool,
    /// SMTP server for emails (password resets): `smtp://[user:password@]host[:port]`.
    /// Without it, emails are written to the log instead (development).
    #[arg(long, env = "BACKROOM_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of Backroom's emails.
    #[arg(long, env = "BACKROOM_MAIL_FROM", default_value = "Backroom <no-reply@localhost>")]
    pub mail_from: String,
    /// The shop's public address, for links in emails (default: http://ADDR).
    #[arg(long, env = "BACKROOM_PUBLIC_URL")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub media: MediaArgs,
    /// Log format: `text` or `json`. The level comes from `RUST_LOG` (default `info`).
    #[arg(long, env = "BACKROOM_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key and print it (it is shown this once; only its hash is kept).
    Create {
        /// What the key is for, such as "warehouse sync".
        #[arg(long)]
        name: String,
        /// What the key may do: catalog, inventory, orders (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a staff account with role admin. The password is read from the first line of
    /// standard input (at least 10 characters).
    Create {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// A file `backroom import` cannot read, or that is no Shopify product CSV: exit code 2
/// (1 is for rows refused).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnreadableFile(pub String);

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Every command may write events (the demo catalog, an import): they carry the API's shapes.
    domain::events::register_shapes(crate::http::events::shape_of);
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(database) => {
            telemetry::init_logging(false);
            let store = open(&database.database_url).await?;
            store.migrate().await.context("applying migrations")?;
            println!("migrations applied to {}", redact(&database.database_url));
            Ok(())
        }
        Command::Reindex(database) => {
            telemetry::init_logging(false);
            let store = open(&database.database_url).await?;
            store.migrate().await.context("applying migrations")?;
            crate::domain::search::rebuild_index(&store)
                .await
                .context("rebuilding the search index")?;
            println!("search index rebuilt for {}", redact(&database.database_url));
            Ok(())
        }
        Command::Backup { to, database } => {
            telemetry::init_logging(false);
            crate::store::backup::require_existing(&database.database_url)?;
            let store = open(&database.database_url).await?;
            let started = std::time::Instant::now();
            crate::store::backup::backup_to(&store, &to).await?;
            store.close().await;
            println!(
                "backed up {} to {} in {:.1} s",
                redact(&database.database_url),
                to.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Restore { file, database } => {
            telemetry::init_logging(false);
            crate::store::backup::restore(&database.database_url, &file).await?;
            println!("restored {} as {}", file.display(), redact(&database.database_url));
            Ok(())
        }
        Command::Import { file, database, media } => {
            telemetry::init_logging(false);
            let csv = std::fs::read(&file)
                .map_err(|error| UnreadableFile(format!("cannot read {}: {error}", file.display())))?;
            let location = media.location(&database.database_url)?;
            let media_store =
                MediaStore::open(&location).with_context(|| format!("opening the media store {location}"))?;
            let outbound = crate::outbound::Outbound::new(if media.outbound_allow_private {
                crate::outbound::Reach::Everywhere
            } else {
                crate::outbound::Reach::Public
            });
            let store = open(&database.database_url).await?;
            store.migrate().await.context("applying migrations")?;
            let started = std::time::Instant::now();
            let sources = domain::catalog_csv::ImageSources {
                media: &media_store,
                outbound: &outbound,
                public_url: "",
            };
            let report =
                domain::catalog_csv::import_products(&store, &sources, &domain::Principal::command_line(), &csv)
                    .await
                    .map_err(|error| match error {
                        // Not a Shopify product CSV at all.
                        domain::DomainError::Validation(_) => UnreadableFile(describe(error).to_string()).into(),
                        other => describe(other),
                    })?;
            println!(
                "imported {}: {} products created, {} updated, {} rows refused, in {:.1} s",
                file.display(),
                report.created,
                report.updated,
                report.errors.len(),
                started.elapsed().as_secs_f64()
            );
            for error in &report.errors {
                println!("line {}: {}", error.row, error.message);
            }
            if report.errors.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("{} rows were refused and changed nothing", report.errors.len())
            }
        }
        Command::Apikey {
            command: ApiKeyCommand::Create { name, scopes, database },
        } => {
            let store = open(&database.database_url).await?;
            store.migrate().await.context("applying migrations")?;
            let (key, secret) = domain::accounts::api_keys::create_api_key_as_operator(&store, &name, &scopes)
                .await
                .map_err(describe)?;
            println!(
                "created API key {} ({}); store it now, it is not shown again:",
                key.name, key.id
            );
            println!("{secret}");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { email, database },
        } => {
            let password = read_password()?;
            let store = open(&database.database_url).await?;
            store.migrate().await.context("applying migrations")?;
            let staff = domain::accounts::staff::create_admin(&store, &email, &password)
                .await
                .map_err(describe)?;
            println!("created admin {} ({})", staff.email, staff.id);
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init_logging(args.log_format == "json");
    let payments = payment_settings(&args)?;
    let media = args.media.location(&args.database.database_url)?;
    if let MediaLocation::Directory(folder) = &media
        && !args.database.database_url.starts_with("sqlite:")
    {
        tracing::warn!(
            folder = %folder.display(),
            "product images are kept in a local folder: several processes on one PostgreSQL \
             need a bucket (BACKROOM_MEDIA_URL=s3://...) or a folder they share"
        );
    }
    let store = open(&args.database.database_url).await?;
    store.migrate().await.context("applying migrations")?;
    if args.demo {
        let media_store = MediaStore::open(&media).with_context(|| format!("opening the media store {media}"))?;
        let loaded = demo::load_if_empty(&store, &media_store).await.map_err(describe)?;
        if loaded > 0 {
            tracing::info!(products = loaded, "loaded the demo catalog");
        }
        if demo::load_shipping_if_none(&store).await.map_err(describe)? {
            tracing::info!("loaded the demo's shipping options and tax rates");
        }
        if demo::load_content_if_none(&store).await.map_err(describe)? {
            tracing::info!("loaded the demo's pages and posts");
        }
    }
    faults::arm_from_environment();
    let provider_timeout_secs = i64::try_from(args.provider_timeout_secs.clamp(1, 3600)).unwrap_or(10);
    let options = ServerOptions {
        http: HttpSettings {
            request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
            rate_limit: (args.rate_limits == "on").then_some(RateLimit {
                per_second: args.rate_limit_per_second,
                burst: args.rate_limit_burst,
            }),
            cors_origins: args.cors_origins.clone(),
            hsts: args.hsts,
            secure_cookies: !args.addr.ip().is_loopback()
                || args.hsts
                || args
                    .public_url
                    .as_deref()
                    .is_some_and(|url| url.starts_with("https://")),
            max_streams_per_client: args.max_streams_per_client,
            body_timeout: Duration::from_secs(
                args.body_timeout_secs
                    .clamp(1, args.request_timeout_secs.saturating_sub(1).max(1)),
            ),
        },
        connections: ConnectionLimits {
            header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
            per_client: (args.max_connections_per_client > 0).then_some(args.max_connections_per_client),
        },
        checkout: CheckoutSettings {
            reservation_seconds: args
                .reservation_secs
                .max(PROVIDER_CALLS_PER_CHECKOUT * provider_timeout_secs + 1),
            provider_timeout: Duration::from_secs(provider_timeout_secs.unsigned_abs()),
        },
        idempotency_abandon_seconds: args.idempotency_abandon_secs.max(1),
        payments,
        jobs_interval: Duration::from_millis(args.jobs_interval_ms.max(10)),
        mailer: Mailer::new(args.smtp_url.as_deref(), &args.mail_from, args.addr.ip().is_loopback())
            .map_err(|error| anyhow::anyhow!(error))?,
        public_url: args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", args.addr)),
        media,
        outbound_allow_private: args.media.outbound_allow_private,
        webhooks_allow_loopback: args.webhooks_allow_loopback,
        webhook_lease: Duration::from_secs(args.webhook_lease_secs.max(1)),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        ..ServerOptions::default()
    };
    let server = Server::bind(args.addr, store.clone(), options)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    // On standard output, for whoever started the process (scripts, tests) to learn the
    // address, which `--addr 127.0.0.1:0` leaves to the system.
    println!("backroom is listening on http://{}", server.local_addr());
    tracing::info!(
        addr = %server.local_addr(),
        database = %redact(&args.database.database_url),
        backend = store.backend_name(),
        "backroom is serving; API reference at /docs"
    );
    server.run(termination_signal()).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The payment provider the arguments choose, refusing a setup that cannot take money.
fn payment_settings(args: &ServeArgs) -> anyhow::Result<PaymentSettings> {
    let capture = CaptureMode::parse(&args.capture).unwrap_or_default();
    let provider = match args.payment_provider.as_str() {
        "stripe" => {
            // An empty webhook secret would make every signature easy to forge.
            let present = |value: &Option<String>| value.clone().filter(|text| !text.trim().is_empty());
            let (Some(secret_key), Some(webhook_secret)) =
                (present(&args.stripe_secret_key), present(&args.stripe_webhook_secret))
            else {
                anyhow::bail!(
                    "the Stripe provider needs BACKROOM_STRIPE_SECRET_KEY and BACKROOM_STRIPE_WEBHOOK_SECRET \
                     (see the README, \"Taking payments with Stripe\")"
                );
            };
            ProviderChoice::Stripe(StripeConfig {
                secret_key,
                webhook_secret,
                api_base: args.stripe_api_base.clone(),
                publishable_key: args.stripe_publishable_key.clone(),
                js_url: args.stripe_js_url.clone(),
            })
        }
        _ if args.environment == "production" && !args.allow_test_payments => anyhow::bail!(
            "BACKROOM_ENV=production refuses the test payment provider, which takes no money: set \
             BACKROOM_PAYMENT_PROVIDER=stripe, or BACKROOM_ALLOW_TEST_PAYMENTS=1 to allow it anyway"
        ),
        _ => ProviderChoice::Test,
    };
    Ok(PaymentSettings { provider, capture })
}

async fn open(url: &str) -> anyhow::Result<Store> {
    Store::connect(url)
        .await
        .with_context(|| format!("cannot open the database {}", redact(url)))
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_owned())
}

/// Domain errors as a person at a terminal should read them.
fn describe(error: domain::DomainError) -> anyhow::Error {
    match error {
        domain::DomainError::Validation(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}
