//! `backroom backup` copies a live SQLite database while checkouts write to it, and
//! `backroom restore` puts a copy back; on PostgreSQL both point to PostgreSQL's tools.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use backroom::store::Store;
use serde_json::Value;

use crate::support::process::backroom;
use crate::support::*;

async fn order_ids(store: &Store) -> Vec<String> {
    let Store::Sqlite { reader, .. } = store else {
        unreachable!("SQLite only")
    };
    sqlx::query_scalar("SELECT id FROM orders")
        .fetch_all(reader)
        .await
        .expect("orders")
}

async fn a_live_database_is_copied_whole_and_put_back(app: TestApp) {
    let staff = app.staff_token().await;
    if !app.database_url.starts_with("sqlite:") {
        let refused = backroom(&app.database_url)
            .args(["backup", "--to", "/tmp/never-written.db"])
            .output()
            .await
            .expect("run backup");
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("pg_dump"));
        return;
    }
    let (_, variant) = app.published_product(&staff, 500, 100_000).await;
    let mut committed: Vec<String> = Vec::new();
    for _ in 0..5 {
        let cart = app.cart_with(None, &variant, 1).await;
        let order = app.checkout(None, &id_of(&cart), "tok_visa").await;
        committed.push(id_of(order.assert_status(201)));
    }

    // Checkouts keep coming while the copy is made.
    let writing = Arc::new(AtomicBool::new(true));
    let load = {
        let writing = writing.clone();
        let shop = Shop::new(app.base_url.clone());
        let variant = variant.clone();
        tokio::spawn(async move {
            let mut placed = 0;
            while writing.load(Ordering::SeqCst) {
                let cart = shop.cart_with(None, &variant, 1).await;
                shop.checkout(None, &id_of(&cart), "tok_visa").await.assert_status(201);
                placed += 1;
            }
            placed
        })
    };
    let folder = std::path::Path::new(app.database_url.trim_start_matches("sqlite://"))
        .parent()
        .expect("folder")
        .to_owned();
    let copy = folder.join("copy.db");
    let backup = backroom(&app.database_url)
        .args(["backup", "--to"])
        .arg(&copy)
        .output()
        .await
        .expect("run backup");
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    writing.store(false, Ordering::SeqCst);
    assert!(load.await.expect("load") > 0, "checkouts went on meanwhile");

    let again = backroom(&app.database_url)
        .args(["backup", "--to"])
        .arg(&copy)
        .output()
        .await
        .expect("run backup");
    assert!(!again.status.success(), "an existing file is not overwritten");

    // The copy passes the integrity check (restore checks it) and holds every order
    // committed before the backup began.
    let restored_url = format!("sqlite://{}", folder.join("restored/backroom.db").display());
    std::fs::create_dir_all(folder.join("restored")).expect("folder");
    let restore = backroom(&restored_url)
        .arg("restore")
        .arg(&copy)
        .output()
        .await
        .expect("run restore");
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    let restored = Store::connect(&restored_url).await.expect("open the restored database");
    let kept = order_ids(&restored).await;
    for id in &committed {
        assert!(kept.contains(id), "order {id} is in the copy");
    }
    let integrity: String = match &restored {
        Store::Sqlite { reader, .. } => sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(reader)
            .await
            .expect("check"),
        Store::Postgres(..) => unreachable!(),
    };
    assert_eq!(integrity, "ok");
    restored.close().await;

    // Served again, the restored shop is the shop as it was.
    let served = TestApp::start(&restored_url, backroom::server::ServerOptions::for_tests()).await;
    let order = served
        .get(&format!("/v1/admin/orders/{}", committed[0]), Some(&staff))
        .await;
    let order: &Value = order.assert_status(200);
    assert_eq!(order["status"], "paid");

    // A database in use is not replaced, and a file that is no database is refused.
    let in_use = backroom(&restored_url)
        .arg("restore")
        .arg(&copy)
        .output()
        .await
        .expect("run restore");
    assert!(!in_use.status.success());
    assert!(
        String::from_utf8_lossy(&in_use.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&in_use.stderr)
    );
    let junk = folder.join("junk.db");
    std::fs::write(&junk, b"not a database").expect("write");
    let other_url = format!("sqlite://{}", folder.join("other.db").display());
    let refused = backroom(&other_url)
        .arg("restore")
        .arg(&junk)
        .output()
        .await
        .expect("run restore");
    assert!(!refused.status.success());
}

crate::backend_tests!(a_live_database_is_copied_whole_and_put_back);
