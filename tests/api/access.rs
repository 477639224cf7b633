//! Roles, API keys and the audit log: admins administer, staff run the shop, keys do only
//! what their scopes allow, and every staff or key action is written down.

use serde_json::json;

use crate::support::*;

async fn staff_run_the_shop_but_only_admins_administer(app: TestApp) {
    let admin = app.staff_token().await;
    let (_, staff) = app.staff_member(&admin, "staff").await;
    let (_, variant_id) = app.published_product(&staff, 1200, 3).await;
    app.stock(&staff, &variant_id).await;
    app.get("/v1/admin/orders", Some(&staff)).await.assert_status(200);

    app.get("/v1/admin/staff", Some(&staff))
        .await
        .assert_problem(403, "forbidden");
    let body = json!({"email": unique_email("sneaky"), "password": PASSWORD, "role": "admin"});
    app.post("/v1/admin/staff", Some(&staff), body)
        .await
        .assert_problem(403, "forbidden");
    app.post(
        "/v1/admin/api-keys",
        Some(&staff),
        json!({"name": "mine", "scopes": ["orders"]}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.get("/v1/admin/audit", Some(&staff))
        .await
        .assert_problem(403, "forbidden");

    let listed = app.get("/v1/admin/staff", Some(&admin)).await;
    assert_eq!(listed.assert_status(200)["data"].as_array().expect("staff").len(), 2);
    let bad_role = json!({"email": unique_email("odd"), "password": PASSWORD, "role": "owner"});
    app.post("/v1/admin/staff", Some(&admin), bad_role)
        .await
        .assert_field_error("role");
}

async fn api_keys_do_only_what_their_scopes_allow(app: TestApp) {
    let admin = app.staff_token().await;
    let created = app
        .post(
            "/v1/admin/api-keys",
            Some(&admin),
            json!({"name": "catalog sync", "scopes": ["catalog"]}),
        )
        .await;
    let created = created.assert_status(201).clone();
    let key = created["key"].as_str().expect("the key is shown once").to_owned();
    assert!(key.starts_with("bk_"));
    assert_eq!(created["scopes"], json!(["catalog"]));
    assert!(created["last_used_at"].is_null());

    let (_, variant_id) = app.published_product(&key, 900, 4).await;
    let adjust = json!({"delta": 1, "reason": "sync"});
    app.post(&format!("/v1/admin/inventory/{variant_id}/adjust"), Some(&key), adjust)
        .await
        .assert_problem(403, "forbidden");
    app.get("/v1/admin/orders", Some(&key))
        .await
        .assert_problem(403, "forbidden");
    app.get("/v1/admin/api-keys", Some(&key))
        .await
        .assert_problem(403, "forbidden");
    app.get("/v1/me", Some(&key)).await.assert_problem(403, "forbidden");
    app.send(reqwest::Method::POST, "/v1/auth/logout", Some(&key), None)
        .await
        .assert_problem(403, "forbidden");

    let listed = app.get("/v1/admin/api-keys", Some(&admin)).await;
    let listed = listed.assert_status(200)["data"][0].clone();
    assert!(listed.get("key").is_none(), "the key is never shown again");
    assert!(listed["last_used_at"].is_string(), "its use is recorded");

    let id = created["id"].as_str().expect("id");
    let revoked = app.delete(&format!("/v1/admin/api-keys/{id}"), Some(&admin)).await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    app.get("/v1/admin/products", Some(&key))
        .await
        .assert_problem(401, "unauthorized");
    app.delete(&format!("/v1/admin/api-keys/{id}"), Some(&admin))
        .await
        .assert_problem(404, "not_found");

    let bad = app
        .post(
            "/v1/admin/api-keys",
            Some(&admin),
            json!({"name": "odd", "scopes": ["everything"]}),
        )
        .await;
    bad.assert_field_error("scopes[0]");
}

async fn every_staff_and_key_action_is_audited(app: TestApp) {
    let admin = app.staff_token().await;
    let created = app
        .post(
            "/v1/admin/api-keys",
            Some(&admin),
            json!({"name": "orders only", "scopes": ["orders"]}),
        )
        .await;
    let key = created.assert_status(201)["key"].as_str().expect("key").to_owned();
    let (product, variant_id) = app.published_product(&admin, 700, 5).await;
    let adjust = json!({"delta": 2, "reason": "found a box"});
    app.post(&format!("/v1/admin/inventory/{variant_id}/adjust"), Some(&key), adjust)
        .await
        .assert_problem(403, "forbidden");
    let (customer, _) = app.customer().await;
    app.post("/v1/carts", Some(&customer), json!({}))
        .await
        .assert_status(201);

    let audit = app.get("/v1/admin/audit?limit=10", Some(&admin)).await;
    let entries = audit.assert_status(200)["data"].as_array().expect("entries").clone();
    let product_entries: Vec<_> = entries
        .iter()
        .filter(|entry| entry["action"] == "POST /v1/admin/products")
        .collect();
    assert_eq!(product_entries.len(), 1, "the product creation is audited once");
    let product_entry = product_entries[0];
    assert_eq!(product_entry["actor_kind"], "staff");
    assert_eq!(product_entry["status"], 201);
    assert_eq!(product_entry["client_ip"], "127.0.0.1");
    assert!(product_entry["request_id"].is_string());
    let refused = entries
        .iter()
        .find(|entry| entry["action"] == "POST /v1/admin/inventory/{variant_id}/adjust")
        .expect("the refused adjustment is audited");
    assert_eq!(refused["actor_kind"], "api_key");
    assert_eq!(refused["status"], 403);
    assert_eq!(refused["target"], format!("/v1/admin/inventory/{variant_id}/adjust"));
    assert!(entries.iter().any(|entry| entry["action"] == "POST /v1/admin/api-keys"));
    assert!(
        entries.iter().all(|entry| entry["action"] != "POST /v1/carts"),
        "customers are not audited"
    );
    assert!(product["id"].is_string());
}

crate::backend_tests!(
    staff_run_the_shop_but_only_admins_administer,
    api_keys_do_only_what_their_scopes_allow,
    every_staff_and_key_action_is_audited,
);
