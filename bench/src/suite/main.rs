//! The benchmark suite: Backroom's flows against the machine's own ceilings, on SQLite and
//! PostgreSQL, with 1,000 and 100,000 products. Writes `docs/performance.md` and
//! `docs/performance-mixed.svg`.
//!
//! ```sh
//! bench/run.sh            # builds what it needs, then runs this with its defaults
//! ```

mod ceilings;
mod load;
mod report;
mod scenarios;
mod seed;
mod server;

use std::future::Future;
use std::time::{Duration, Instant};

use clap::Parser;
use sqlx::{AssertSqlSafe, PgPool};

use load::Summary;
use report::{Row, Run};
use scenarios::Shop;
use server::Server;

#[derive(Parser)]
struct Args {
    /// The server binary (a release build).
    #[arg(long, default_value = "target/release/backroom")]
    binary: String,
    /// Seconds each measurement lasts.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Catalog sizes to run with; each larger one is compared with the smallest.
    #[arg(long, value_delimiter = ',', default_value = "1000,100000,1000000")]
    sizes: Vec<usize>,
    /// Databases to run on.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgresql")]
    backends: Vec<Backend>,
    /// A PostgreSQL database on a server where this user may create databases; empty:
    /// SQLite only.
    #[arg(
        long,
        env = "BACKROOM_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// Connections for the single-endpoint runs (oha).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Virtual users of the cart and checkout scenarios.
    #[arg(long, default_value_t = 32)]
    users: usize,
    /// Live-update subscribers.
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Purchases per second of the one-customer scenario (one at a time).
    #[arg(long, default_value_t = 20.0)]
    purchase_rate: f64,
    /// Offered loads of the mixed scenario, in visitor actions per second.
    #[arg(long, value_delimiter = ',', default_value = "100,250,500,750,1000")]
    rates: Vec<f64>,
    /// Where the Markdown report goes (the plot goes beside it).
    #[arg(long, default_value = "docs/performance.md")]
    out: String,
    /// Internal: serve a file's bytes as the HTTP ceiling on a port, until killed.
    #[arg(long, hide = true, num_args = 2, value_names = ["FILE", "PORT"])]
    ceiling_server: Option<Vec<String>>,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    if let Some(ceiling) = &args.ceiling_server {
        let body = std::fs::read(&ceiling[0]).map_err(|e| e.to_string())?;
        let port = ceiling[1].parse().map_err(|_| "bad port")?;
        return ceilings::serve_bytes(body, port).await;
    }
    let mut runs = Vec::new();
    let backends = args.backends.iter().filter_map(|backend| match backend {
        Backend::Sqlite => Some("SQLite"),
        Backend::Postgresql => (!args.postgres_url.is_empty()).then_some("PostgreSQL"),
    });
    for backend in backends {
        for &products in &args.sizes {
            eprintln!("== {backend}, {products} products");
            runs.push(measure(&args, backend, products).await?);
        }
    }
    let context = report::Context {
        date: command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        machine: machine(),
        command: "bench/run.sh".to_owned(),
        seconds: args.seconds,
    };
    // The report being replaced is the previous run, whose figures the new one shows.
    let previous = std::fs::read_to_string(&args.out).unwrap_or_default();
    let markdown = report::markdown(&context, &runs, &report::Previous::parse(&previous));
    std::fs::write(&args.out, markdown).map_err(|e| e.to_string())?;
    let plot = std::path::Path::new(&args.out).with_file_name("performance-mixed.svg");
    std::fs::write(&plot, report::plot(&runs)).map_err(|e| e.to_string())?;
    eprintln!("wrote {} and {}", args.out, plot.display());
    Ok(())
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Backend {
    Sqlite,
    Postgresql,
}

/// A fresh database: a SQLite file in a new folder, or a new PostgreSQL database.
struct Database {
    url: String,
    /// Where the write ceiling is measured, with the same settings.
    ceiling_url: String,
    cleanup: Option<(PgPool, String)>,
    folder: std::path::PathBuf,
}

impl Database {
    async fn create(args: &Args, backend: &str, products: usize) -> Result<Database, String> {
        let folder = std::env::temp_dir().join(format!("backroom-bench-{}-{products}", std::process::id()));
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        if backend == "SQLite" {
            return Ok(Database {
                url: format!("sqlite://{}/shop.db", folder.display()),
                ceiling_url: format!("sqlite://{}/ceiling.db?mode=rwc", folder.display()),
                cleanup: None,
                folder,
            });
        }
        let admin = PgPool::connect(&args.postgres_url).await.map_err(|e| e.to_string())?;
        let name = format!("backroom_bench_{}_{products}", std::process::id());
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .map_err(|e| e.to_string())?;
        let base = args
            .postgres_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or_default();
        let url = format!("{base}/{name}");
        Ok(Database {
            ceiling_url: url.clone(),
            url,
            cleanup: Some((admin, name)),
            folder,
        })
    }

    async fn drop(self) {
        if let Some((admin, name)) = self.cleanup {
            let _ = sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&admin)
                .await;
        }
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

async fn measure(args: &Args, backend: &'static str, products: usize) -> Result<Run, String> {
    let database = Database::create(args, backend, products).await?;
    let outcome = measure_on(args, backend, products, &database).await;
    database.drop().await;
    outcome
}

async fn measure_on(args: &Args, backend: &'static str, products: usize, database: &Database) -> Result<Run, String> {
    let duration = Duration::from_secs(args.seconds);
    let migrated = tokio::process::Command::new(&args.binary)
        .args(["migrate", "--database-url", &database.url])
        .output()
        .await
        .map_err(|e| format!("cannot run {} (cargo build --release): {e}", args.binary))?;
    if !migrated.status.success() {
        return Err(format!("migrate failed: {}", String::from_utf8_lossy(&migrated.stderr)));
    }
    let seeding = Instant::now();
    let catalog = {
        let db = seed::Db::connect(&database.url).await?;
        seed::seed(&db, &database.url, products).await?
    };
    eprintln!("   seeded in {:.1} s", seeding.elapsed().as_secs_f64());
    server::create_staff(&args.binary, &database.url).await?;

    // Started on a database that exists and is migrated: the start-to-ready figure.
    let server = Server::start(&args.binary, &database.url).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = server.memory().0;
    let shop = Shop::open(&server.base, catalog).await?;

    let http_ceiling = http_ceiling(args, &shop, duration).await?;
    let write_ceiling = ceilings::write_rate(&database.ceiling_url, Duration::from_secs(3)).await?;
    let unsynced_write_ceiling = if backend == "SQLite" {
        Some(ceilings::unsynced_sqlite_write_rate(&database.ceiling_url, Duration::from_secs(3)).await?)
    } else {
        None
    };
    let store_write_rate = ceilings::store_write_rate(&database.ceiling_url, Duration::from_secs(3)).await?;
    eprintln!(
        "   ceilings: HTTP {:.0} req/s, writes {write_ceiling:.0} commits/s (unsynced {unsynced_write_ceiling:.0?}), \
         Backroom's store with 16 writers {store_write_rate:.0}/s",
        http_ceiling.per_second
    );

    let mut rows = Vec::new();
    for (name, url, headers) in scenarios::catalog_reads(&shop) {
        let (summary, cores, peak) = measured(&server, load::oha(&url, args.connections, duration, headers)).await;
        let summary = summary?;
        let ratio = (name == scenarios::LIST).then(|| ("HTTP", summary.per_second / http_ceiling.per_second));
        rows.push(Row {
            scenario: name.to_owned(),
            summary,
            server_cores: cores,
            peak_rss: peak,
            ratio,
        });
    }
    let (summary, cores, peak) = measured(&server, scenarios::cart(&shop, args.users, duration)).await;
    rows.push(Row {
        scenario: format!("cart ({} users)", args.users),
        summary,
        server_cores: cores,
        peak_rss: peak,
        ratio: None,
    });

    let buyers = scenarios::register_buyers(&shop, args.users).await?;
    let customer = buyers.first().cloned().ok_or("no buyers")?;
    let (checkout, cores, peak) = measured(&server, scenarios::checkout(&shop, buyers, duration)).await;
    let checkout = checkout?;
    rows.push(Row {
        scenario: format!("checkout ({} users)", args.users),
        summary: checkout.summary.clone(),
        server_cores: cores,
        peak_rss: peak,
        ratio: Some(("writes", checkout.checkouts_per_second / write_ceiling)),
    });

    let (summary, cores, peak) = measured(
        &server,
        scenarios::one_customer(&shop, customer, args.purchase_rate, duration),
    )
    .await;
    rows.push(Row {
        scenario: scenarios::ONE_CUSTOMER.to_owned(),
        summary,
        server_cores: cores,
        peak_rss: peak,
        ratio: None,
    });

    let mut mixed = Vec::new();
    for &rate in &args.rates {
        let (summary, cores, peak) = measured(&server, scenarios::mixed(&shop, rate, duration)).await;
        eprintln!("   mixed at {rate}/s: p99 {:?}, {} errors", summary.p99, summary.errors);
        rows.push(Row {
            scenario: format!("mixed at {rate:.0}/s"),
            summary: summary.clone(),
            server_cores: cores,
            peak_rss: peak,
            ratio: None,
        });
        mixed.push((rate, summary));
    }

    let (live, cores, peak) = measured(&server, scenarios::live_updates(&shop, &server, args.subscribers)).await;
    let live = live?;
    rows.push(Row {
        scenario: format!("live updates: {} SSE subscribers, delivery", args.subscribers),
        summary: live.delivery,
        server_cores: cores,
        peak_rss: peak,
        ratio: None,
    });
    let start_to_ready = server.start_to_ready;
    server.stop().await;
    Ok(Run {
        backend,
        products,
        start_to_ready,
        idle_rss,
        http_ceiling,
        write_ceiling,
        unsynced_write_ceiling,
        store_write_rate,
        rows,
        checkout_per_second: checkout.checkouts_per_second,
        checkout_errors: checkout.summary.errors,
        stock_discrepancy: checkout.stock_discrepancy,
        subscribers: args.subscribers,
        rss_before_subscribers: live.rss_before,
        rss_with_subscribers: live.rss_with_subscribers,
        mixed,
    })
}

/// Runs `work` and reports the server's CPU (in cores) and peak memory meanwhile.
async fn measured<T>(server: &Server, work: impl Future<Output = T>) -> (T, f64, u64) {
    server.reset_peak_memory();
    let (cpu_before, started) = (server.cpu_time(), Instant::now());
    let result = work.await;
    let cores = (server.cpu_time() - cpu_before).as_secs_f64() / started.elapsed().as_secs_f64();
    (result, cores, server.memory().1)
}

/// The bare hyper server in its own process, answering the list's bytes, under oha.
async fn http_ceiling(args: &Args, shop: &Shop, duration: Duration) -> Result<Summary, String> {
    let body = shop
        .client
        .get(shop.url("/v1/products?limit=20"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    let file = std::env::temp_dir().join(format!("backroom-bench-list-{}.json", std::process::id()));
    std::fs::write(&file, &body).map_err(|e| e.to_string())?;
    let port = server::free_port()?;
    let mut ceiling = tokio::process::Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(["--ceiling-server", &file.display().to_string(), &port.to_string()])
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let url = format!("http://127.0.0.1:{port}/v1/products?limit=20");
    for _ in 0..100 {
        if reqwest::get(&url).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let summary = load::oha(&url, args.connections, duration, &[]).await;
    let _ = ceiling.start_kill();
    let _ = ceiling.wait().await;
    let _ = std::fs::remove_file(&file);
    summary
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
        .unwrap_or_else(|| "an unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find(|line| line.starts_with("MemTotal:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map(|kib| kib / 1_048_576.0)
        .unwrap_or(0.0);
    format!("{cores} cores of {model}, {memory_gib:.0} GiB of memory, Linux")
}
