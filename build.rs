//! Build script: a new or changed migration rebuilds the binary (`sqlx::migrate!` embeds
//! them at compile time), and the tests learn whether their PostgreSQL leg is configured.

fn main() {
    println!("cargo::rerun-if-changed=migrations");
    // The tests' PostgreSQL twins are reported as ignored when no server is configured, so
    // a run's summary says how many ran on SQLite only (tests/api/support/mod.rs).
    println!("cargo::rustc-check-cfg=cfg(backroom_postgres_tests)");
    println!("cargo::rerun-if-env-changed=BACKROOM_TEST_POSTGRES_URL");
    if std::env::var_os("BACKROOM_TEST_POSTGRES_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=backroom_postgres_tests");
    }
}
