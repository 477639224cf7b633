//! Customer registration, login, logout and `/v1/me`; staff login.

use crate::support::*;
use serde_json::json;

async fn register_returns_customer_token_and_lower_cased_email(app: TestApp) {
    let email = unique_email("Mixed.Case").replace("example.com", "Example.COM");
    let response = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": email, "password": PASSWORD, "name": "Ada"}),
        )
        .await;
    let body = response.assert_status(201);
    let customer = &body["customer"];
    assert!(
        id_of(customer).starts_with("cus_"),
        "customer ids start with cus_: {customer}"
    );
    assert_eq!(customer["email"], email.to_lowercase());
    assert_eq!(customer["name"], "Ada");
    assert_utc_timestamp(&customer["created_at"]);
    assert!(!body["token"].as_str().expect("token").is_empty());
    assert_utc_timestamp(&body["expires_at"]);
}

async fn register_refuses_an_email_taken_in_another_case(app: TestApp) {
    let email = unique_email("taken");
    app.register(&email).await;
    let again = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": email.to_uppercase(), "password": PASSWORD}),
        )
        .await;
    again.assert_problem(409, "conflict");
}

async fn register_refuses_a_password_under_ten_characters(app: TestApp) {
    let response = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": unique_email("weak"), "password": "123456789"}),
        )
        .await;
    response.assert_field_error("password");
}

async fn register_refuses_a_malformed_email(app: TestApp) {
    let response = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": "not-an-email", "password": PASSWORD}),
        )
        .await;
    response.assert_field_error("email");
}

async fn login_with_any_case_of_the_email_returns_token_and_customer(app: TestApp) {
    let email = unique_email("login");
    let (_, customer) = app.register(&email).await;
    let response = app
        .post(
            "/v1/auth/login",
            None,
            json!({"email": email.to_uppercase(), "password": PASSWORD}),
        )
        .await;
    let body = response.assert_status(200);
    assert_eq!(body["customer"]["id"], customer["id"]);
    assert_utc_timestamp(&body["expires_at"]);
    let token = body["token"].as_str().expect("token");
    let me = app.get("/v1/me", Some(token)).await;
    assert_eq!(me.assert_status(200)["id"], customer["id"]);
}

async fn login_failure_is_identical_for_wrong_password_and_unknown_email(app: TestApp) {
    let email = unique_email("secret");
    app.register(&email).await;
    let wrong_password = app
        .post(
            "/v1/auth/login",
            None,
            json!({"email": email, "password": "not the password"}),
        )
        .await;
    wrong_password.assert_problem(401, "unauthorized");
    assert_eq!(
        wrong_password.body["detail"], "the email or password is wrong",
        "the shop's words, not a system's"
    );
    let unknown_email = app
        .post(
            "/v1/auth/login",
            None,
            json!({"email": unique_email("nobody"), "password": "not the password"}),
        )
        .await;
    unknown_email.assert_problem(401, "unauthorized");
    assert_eq!(
        wrong_password.text, unknown_email.text,
        "the two failures must not be told apart"
    );
}

async fn logout_stops_the_token_at_once(app: TestApp) {
    let (token, _) = app.customer().await;
    app.get("/v1/me", Some(&token)).await.assert_status(200);
    let logout = app
        .send(reqwest::Method::POST, "/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(logout.status, 204, "logout answers 204, body: {}", logout.text);
    app.get("/v1/me", Some(&token))
        .await
        .assert_problem(401, "unauthorized");
}

async fn me_returns_the_signed_in_customer(app: TestApp) {
    let email = unique_email("me");
    let (token, customer) = app.register(&email).await;
    let me = app.get("/v1/me", Some(&token)).await;
    let body = me.assert_status(200);
    assert_eq!(body["id"], customer["id"]);
    assert_eq!(body["email"], email.to_lowercase());
}

async fn me_requires_a_valid_token(app: TestApp) {
    app.get("/v1/me", None).await.assert_problem(401, "unauthorized");
    app.get("/v1/me", Some("not-a-real-token"))
        .await
        .assert_problem(401, "unauthorized");
}

async fn staff_login_opens_the_admin_api(app: TestApp) {
    // `staff_token` asserts that the login answers with `staff` rather than `customer`.
    let staff = app.staff_token().await;
    app.get("/v1/admin/orders", Some(&staff)).await.assert_status(200);
}

crate::backend_tests!(
    register_returns_customer_token_and_lower_cased_email,
    register_refuses_an_email_taken_in_another_case,
    register_refuses_a_password_under_ten_characters,
    register_refuses_a_malformed_email,
    login_with_any_case_of_the_email_returns_token_and_customer,
    login_failure_is_identical_for_wrong_password_and_unknown_email,
    logout_stops_the_token_at_once,
    me_returns_the_signed_in_customer,
    me_requires_a_valid_token,
    staff_login_opens_the_admin_api,
);
