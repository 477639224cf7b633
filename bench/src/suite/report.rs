//! The results as Markdown (`docs/performance.md`) and the mixed scenario's plot (SVG).

use std::collections::HashMap;
use std::fmt::Write;
use std::time::Duration;

use super::load::Summary;
use super::scenarios::{LIST, LIST_UNKEPT, ONE_CUSTOMER, PRODUCT, PRODUCT_UNKEPT, SEARCH_UNKEPT};

/// What the report being replaced measured, to print beside each new figure so that a
/// regression shows: the targets' "measured" cells by (target, run), and each results
/// row's throughput and p99 by (run, scenario).
#[derive(Default)]
pub struct Previous {
    date: String,
    targets: HashMap<(String, String), String>,
    results: HashMap<(String, String), String>,
}

impl Previous {
    /// Reads a report written by this suite (an empty or foreign text gives nothing).
    pub fn parse(markdown: &str) -> Previous {
        let mut previous = Previous::default();
        let mut section = "";
        for line in markdown.lines() {
            if let Some(rest) = line.strip_prefix("Measured on ") {
                previous.date = rest
                    .split(" by the benchmark suite")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
            if let Some(heading) = line.strip_prefix("## ").or_else(|| line.strip_prefix("### ")) {
                section = heading;
                continue;
            }
            let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
            if !line.starts_with('|') || cells.len() < 4 || cells[0].starts_with("---") {
                continue;
            }
            if section == "Targets" {
                previous
                    .targets
                    .insert((cells[0].to_owned(), cells[1].to_owned()), cells[2].to_owned());
            } else if section.contains(" products") {
                let figures = format!("{}, p99 {}", cells[1], cells[3]);
                previous
                    .results
                    .insert((section.to_owned(), cells[0].to_owned()), figures);
            }
        }
        previous
    }

    fn target(&self, target: &str, run: &str) -> &str {
        self.targets
            .get(&(target.to_owned(), run.to_owned()))
            .map_or("–", String::as_str)
    }

    fn result(&self, run: &str, scenario: &str) -> &str {
        self.results
            .get(&(run.to_owned(), scenario.to_owned()))
            .map_or("–", String::as_str)
    }
}

/// One scenario's figures in one run.
pub struct Row {
    pub scenario: String,
    pub summary: Summary,
    /// Server CPU used during the scenario, in cores (1.0 = one core busy throughout).
    pub server_cores: f64,
    pub peak_rss: u64,
    /// The ceiling this scenario is compared with, and its ratio to it.
    pub ratio: Option<(&'static str, f64)>,
}

/// Everything measured on one database with one catalog size.
pub struct Run {
    pub backend: &'static str,
    pub products: usize,
    pub start_to_ready: Duration,
    pub idle_rss: u64,
    pub http_ceiling: Summary,
    /// One-row transactions per second, each synced to disk at commit.
    pub write_ceiling: f64,
    /// SQLite only: the same with `synchronous = NORMAL` (not durable on power loss).
    pub unsynced_write_ceiling: Option<f64>,
    /// One-row transactions per second through Backroom's store from 16 writers.
    pub store_write_rate: f64,
    pub rows: Vec<Row>,
    pub checkout_per_second: f64,
    pub checkout_errors: u64,
    pub stock_discrepancy: i64,
    pub subscribers: usize,
    pub rss_before_subscribers: u64,
    pub rss_with_subscribers: u64,
    pub mixed: Vec<(f64, Summary)>,
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// Megabytes (10^6 bytes), the unit of the targets.
fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

impl Run {
    fn row(&self, scenario: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.scenario == scenario)
    }
}

/// One line of the targets' table.
struct Target {
    target: String,
    run: String,
    measured: String,
    met: bool,
}

/// The targets of the issue, one line per target and run, each beside the previous run's.
fn targets(runs: &[Run], previous: &Previous) -> String {
    let mut out = format!(
        "| target | run | measured | previous run ({}) | verdict |\n|---|---|---|---|---|\n",
        if previous.date.is_empty() {
            "none"
        } else {
            &previous.date
        }
    );
    for line in runs.iter().flat_map(run_targets).chain(size_targets(runs)) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            line.target,
            line.run,
            line.measured,
            previous.target(&line.target, &line.run),
            verdict(line.met)
        );
    }
    out
}

fn run_targets(run: &Run) -> Vec<Target> {
    let name = format!("{} · {} products", run.backend, run.products);
    let mut lines = Vec::new();
    let mut line = |target: String, measured: String, met: bool| {
        lines.push(Target {
            target,
            run: name.clone(),
            measured,
            met,
        })
    };
    if let Some(list) = run.row(LIST) {
        let ratio = list.ratio.map(|(_, r)| r).unwrap_or(0.0);
        line(
            "catalog list ≥ 50% of the HTTP ceiling".to_owned(),
            format!("{:.0}%", ratio * 100.0),
            ratio >= 0.5,
        );
    }
    for row in run.rows.iter().filter(|row| row.scenario.starts_with("catalog")) {
        line(
            format!("{}: p99 < 10 ms at 64 connections", row.scenario),
            ms(row.summary.p99),
            row.summary.p99 < Duration::from_millis(10),
        );
    }
    let checkout_ratio = run.checkout_per_second / run.write_ceiling.max(1e-9);
    line(
        "checkout ≥ 50% of the write ceiling".to_owned(),
        format!(
            "{:.0} checkouts/s = {:.0}% of {:.0} commits/s",
            run.checkout_per_second,
            checkout_ratio * 100.0,
            run.write_ceiling
        ),
        checkout_ratio >= 0.5,
    );
    line(
        "checkout: zero errors, zero oversell".to_owned(),
        format!("{} errors, stock off by {}", run.checkout_errors, run.stock_discrepancy),
        run.checkout_errors == 0 && run.stock_discrepancy == 0,
    );
    if let Some(row) = run.row(ONE_CUSTOMER) {
        line(
            "one customer's cart, item and checkout together: p99 < 10 ms".to_owned(),
            format!("{} (p50 {})", ms(row.summary.p99), ms(row.summary.p50)),
            row.summary.p99 < Duration::from_millis(10) && row.summary.errors == 0,
        );
    }
    if let Some((rate, mixed)) = run.mixed.iter().max_by(|a, b| a.0.total_cmp(&b.0)) {
        line(
            format!("mixed load: {rate:.0} actions/s achieved, p99 < 50 ms"),
            format!("{:.0}/s, p99 {}", mixed.per_second, ms(mixed.p99)),
            mixed.per_second >= rate * 0.99 && mixed.p99 < Duration::from_millis(50) && mixed.errors == 0,
        );
    }
    line(
        "idle RSS < 30 MB".to_owned(),
        mb(run.idle_rss),
        run.idle_rss < 30_000_000,
    );
    line(
        format!("RSS < 150 MB at {} SSE subscribers", run.subscribers),
        format!(
            "{} ({} before they connected)",
            mb(run.rss_with_subscribers),
            mb(run.rss_before_subscribers)
        ),
        run.rss_with_subscribers < 150_000_000,
    );
    line(
        "start to ready < 200 ms on an existing database".to_owned(),
        ms(run.start_to_ready),
        run.start_to_ready < Duration::from_millis(200),
    );
    lines
}

/// Each larger catalog against the smallest, per database: the list's throughput, and
/// the p99 of the reads whose cost could grow with the catalog, kept and not kept.
fn size_targets(runs: &[Run]) -> Vec<Target> {
    let mut lines = Vec::new();
    for backend in ["SQLite", "PostgreSQL"] {
        let of_backend = || runs.iter().filter(|run| run.backend == backend);
        let Some(small) = of_backend().min_by_key(|run| run.products) else {
            continue;
        };
        for large in of_backend().filter(|run| run.products > small.products) {
            if let (Some(a), Some(b)) = (small.row(LIST), large.row(LIST)) {
                let ratio = b.summary.per_second / a.summary.per_second.max(1e-9);
                lines.push(Target {
                    target: format!("list at {} products as fast as at {}", large.products, small.products),
                    run: backend.to_owned(),
                    measured: format!("{:.0}% of the throughput", ratio * 100.0),
                    met: ratio >= 0.8,
                });
            }
            for scenario in [LIST, LIST_UNKEPT, PRODUCT, PRODUCT_UNKEPT, SEARCH_UNKEPT] {
                let (Some(a), Some(b)) = (small.row(scenario), large.row(scenario)) else {
                    continue;
                };
                let ratio = b.summary.p99.as_secs_f64() / a.summary.p99.as_secs_f64().max(1e-9);
                lines.push(Target {
                    target: format!(
                        "{scenario}: p99 at {} products within 2× of {}",
                        large.products, small.products
                    ),
                    run: backend.to_owned(),
                    measured: format!("{ratio:.2}× ({} against {})", ms(b.summary.p99), ms(a.summary.p99)),
                    met: ratio <= 2.0,
                });
            }
        }
    }
    lines
}

fn results(run: &Run, previous: &Previous) -> String {
    let unsynced = run
        .unsynced_write_ceiling
        .map(|rate| format!(" ({rate:.0}/s unsynced, with `synchronous = NORMAL`)"))
        .unwrap_or_default();
    let section = format!("{} · {} products", run.backend, run.products);
    let mut out = format!(
        "### {section}\n\nHTTP ceiling (bare hyper, same bytes as the list, 64 connections): {:.0} req/s, p99 {}. \
         Write ceiling (one-row transactions, each on disk at commit): {:.0} commits/s{unsynced}; \
         through Backroom's store from 16 writers: {:.0}/s. Start to ready: {}. Idle RSS: {}.\n\n",
        run.http_ceiling.per_second,
        ms(run.http_ceiling.p99),
        run.write_ceiling,
        run.store_write_rate,
        ms(run.start_to_ready),
        mb(run.idle_rss)
    );
    out.push_str(
        "| scenario | throughput | p50 | p99 | max | errors | server CPU | peak RSS | vs ceiling | previous run |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for row in &run.rows {
        let ratio = row
            .ratio
            .map(|(ceiling, ratio)| format!("{:.0}% of {ceiling}", ratio * 100.0))
            .unwrap_or_else(|| "–".to_owned());
        // A delivery time has no throughput of its own.
        let throughput = if row.scenario.starts_with("live") {
            "–".to_owned()
        } else {
            format!("{:.0}/s", row.summary.per_second)
        };
        let _ = writeln!(
            out,
            "| {} | {throughput} | {} | {} | {} | {} | {:.2} cores | {} | {} | {} |",
            row.scenario,
            ms(row.summary.p50),
            ms(row.summary.p99),
            ms(row.summary.max),
            row.summary.errors,
            row.server_cores,
            mb(row.peak_rss),
            ratio,
            previous.result(&section, &row.scenario)
        );
    }
    out.push('\n');
    out
}

pub struct Context {
    pub date: String,
    pub machine: String,
    pub command: String,
    pub seconds: u64,
}

pub fn markdown(context: &Context, runs: &[Run], previous: &Previous) -> String {
    let mut out = format!(
        "# Performance\n\nMeasured on {} by the benchmark suite, on {}. The load generators (oha and the \
         suite's own driver) run on the same machine as the server, so every figure shares the cores with \
         its load. Each measurement lasts {} s.\n\n```sh\n{}\n```\n\n",
        context.date, context.machine, context.seconds, context.command
    );
    out.push_str(
        "Throughput of scripted scenarios counts requests (every step of a flow); the checkout line's \
         ratio counts completed checkouts against the write ceiling, although one checkout flow commits \
         five write transactions (cart, item, reservation, the test provider's charge, settlement) and \
         its order email's share of the outbox's (one claim per 50 emails, one record per 8 sent), all \
         on one hot variant. The one-customer \
         line times a whole purchase (its three requests), one purchase at a time. Latencies of the mixed \
         scenario are per visitor action, from its scheduled start (open loop); its throughput is what was \
         achieved. \
         Server CPU counts Backroom's process only: PostgreSQL's own processes share the same two cores. \
         The checkout's stock check compares what was sold with what left the shelf, with nothing left \
         reserved (the race for the last units is attacked by the test suite and `bench/src/stress.rs`).\n\n## Targets\n\n",
    );
    out.push_str(&targets(runs, previous));
    out.push_str("\n## Results\n\n");
    for run in runs {
        out.push_str(&results(run, previous));
    }
    out.push_str("## Latency against offered load (mixed scenario)\n\n![Latency against offered load](performance-mixed.svg)\n\n");
    out.push_str("| run | offered/s | achieved/s | p50 | p99 | errors |\n|---|---|---|---|---|---|\n");
    for run in runs {
        for (rate, summary) in &run.mixed {
            let _ = writeln!(
                out,
                "| {} · {} | {rate:.0} | {:.0} | {} | {} | {} |",
                run.backend,
                run.products,
                summary.per_second,
                ms(summary.p50),
                ms(summary.p99),
                summary.errors
            );
        }
    }
    out
}

/// p50 (solid) and p99 (dashed) latency against offered load, one colour per run.
pub fn plot(runs: &[Run]) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 420.0;
    const LEFT: f64 = 70.0;
    const BOTTOM: f64 = 50.0;
    const TOP: f64 = 30.0;
    const RIGHT: f64 = 190.0;
    let colours = ["#3d4ed8", "#d8573d", "#1b8a5a", "#9b5de5"];
    let max_rate = runs
        .iter()
        .flat_map(|run| run.mixed.iter().map(|(rate, _)| *rate))
        .fold(1.0, f64::max);
    let max_ms = runs
        .iter()
        .flat_map(|run| run.mixed.iter().map(|(_, s)| s.p99.as_secs_f64() * 1000.0))
        .fold(1.0, f64::max);
    // Latency on a log scale, from 0.1 ms up.
    let y_max = max_ms.log10().ceil().max(0.0);
    let y_min = -1.0;
    let x = |rate: f64| LEFT + rate / max_rate * (WIDTH - LEFT - RIGHT);
    let y = |latency_ms: f64| {
        let value = latency_ms.max(0.1).log10();
        HEIGHT - BOTTOM - (value - y_min) / (y_max - y_min) * (HEIGHT - BOTTOM - TOP)
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Mixed scenario: latency against offered load</text>\n"
    );
    let mut decade = y_min;
    while decade <= y_max {
        let value = 10f64.powf(decade);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{value} ms</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(value) + 4.0,
            y0 = y(value)
        );
        decade += 1.0;
    }
    for step in 0..=4 {
        let rate = max_rate * f64::from(step) / 4.0;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{rate:.0}</text>",
            x(rate),
            HEIGHT - BOTTOM + 18.0
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">offered load (visitor actions per second)</text>",
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 12.0
    );
    for (index, run) in runs.iter().enumerate() {
        let colour = colours[index % colours.len()];
        for (quantile, dash) in [("p50", ""), ("p99", " stroke-dasharray=\"6 4\"")] {
            let points: Vec<String> = run
                .mixed
                .iter()
                .map(|(rate, s)| {
                    let latency = if quantile == "p50" { s.p50 } else { s.p99 };
                    format!("{:.1},{:.1}", x(*rate), y(latency.as_secs_f64() * 1000.0))
                })
                .collect();
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash} points=\"{}\"/>",
                points.join(" ")
            );
        }
        let legend_y = TOP + 10.0 + index as f64 * 36.0;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{legend_y}\" fill=\"{colour}\">{} · {}</text><text x=\"{}\" y=\"{}\" fill=\"#555\">solid p50, dashed p99</text>",
            WIDTH - RIGHT + 12.0,
            run.backend,
            run.products,
            WIDTH - RIGHT + 12.0,
            legend_y + 15.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}
