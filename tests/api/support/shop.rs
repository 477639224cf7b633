//! The HTTP face of a running server, in the test's process or a child process: requests,
//! and the fixtures a test builds through the public API (customers, staff, products,
//! carts, orders).

use serde_json::{Value, json};

use super::{PASSWORD, Response, checkout_body, id_of, read, unique_email, unique_sku};

pub struct Shop {
    pub base_url: String,
    pub client: reqwest::Client,
}

impl Shop {
    pub fn new(base_url: String) -> Shop {
        Shop {
            base_url,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Sends any request, or says why it got no answer (a server that died mid-request);
    /// `token` becomes a bearer token.
    pub async fn try_send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        idempotency_key: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Result<Response> {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Ok(read(request.send().await?).await)
    }

    /// Sends any request; `token` becomes a bearer token.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        self.try_send(method, path, token, None, body)
            .await
            .expect("request reaches the server")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(reqwest::Method::POST, path, token, Some(body)).await
    }

    /// A POST carrying an `Idempotency-Key`.
    pub async fn post_idempotent(&self, path: &str, token: Option<&str>, key: &str, body: Value) -> Response {
        self.try_send(reqwest::Method::POST, path, token, Some(key), Some(body))
            .await
            .expect("request reaches the server")
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(reqwest::Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.send(reqwest::Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.send(reqwest::Method::DELETE, path, token, None).await
    }

    /// Logs in and returns the session token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .post("/v1/auth/login", None, json!({"email": email, "password": password}))
            .await;
        response.assert_status(200)["token"]
            .as_str()
            .expect("a login answers with a token")
            .to_owned()
    }

    /// Registers a customer and returns `(token, customer)`.
    pub async fn register(&self, email: &str) -> (String, Value) {
        let response = self
            .post(
                "/v1/auth/register",
                None,
                json!({"email": email, "password": PASSWORD, "name": "Test Customer"}),
            )
            .await;
        let body = response.assert_status(201);
        (
            body["token"].as_str().expect("token").to_owned(),
            body["customer"].clone(),
        )
    }

    /// Registers a customer with a fresh email; returns `(token, customer)`.
    pub async fn customer(&self) -> (String, Value) {
        self.register(&unique_email("customer")).await
    }

    /// Makes a staff account of `role` through the admin API and logs it in: `(email, token)`.
    pub async fn staff_member(&self, admin: &str, role: &str) -> (String, String) {
        let email = unique_email(role);
        let body = json!({"email": email, "password": PASSWORD, "role": role});
        let created = self.post("/v1/admin/staff", Some(admin), body).await;
        assert_eq!(created.assert_status(201)["role"], role);
        let token = self.login(&email, PASSWORD).await;
        (email, token)
    }

    /// Creates a published product with one EUR variant; returns `(product, variant_id)`.
    pub async fn published_product(&self, staff: &str, price: i64, inventory: i64) -> (Value, String) {
        let sku = unique_sku();
        let response = self
            .post(
                "/v1/admin/products",
                Some(staff),
                json!({
                    "title": format!("Product {sku}"),
                    "description": "A thing for tests",
                    "status": "published",
                    "variants": [{"sku": sku, "title": "Default", "price": {"amount": price, "currency": "EUR"}, "inventory": inventory}]
                }),
            )
            .await;
        let product = response.assert_status(201).clone();
        let variant_id = product["variants"][0]["id"].as_str().expect("variant id").to_owned();
        (product, variant_id)
    }

    /// Creates a cart (owned by `token`'s customer, or a guest cart) holding `quantity` of `variant_id`.
    pub async fn cart_with(&self, token: Option<&str>, variant_id: &str, quantity: i64) -> Value {
        let cart = self
            .post("/v1/carts", token, json!({}))
            .await
            .assert_status(201)
            .clone();
        let id = cart["id"].as_str().expect("cart id");
        self.post(
            &format!("/v1/carts/{id}/items"),
            token,
            json!({"variant_id": variant_id, "quantity": quantity}),
        )
        .await
        .assert_status(200)
        .clone()
    }

    /// Checks out `cart_id` paying with `payment_token` (a guest checkout gets an email).
    pub async fn checkout(&self, token: Option<&str>, cart_id: &str, payment_token: &str) -> Response {
        self.post(
            &format!("/v1/carts/{cart_id}/checkout"),
            token,
            checkout_body(payment_token),
        )
        .await
    }

    /// Publishes a product (`inventory` units at `price`), buys `quantity` of it with `tok_visa` in a cart of
    /// `token`'s customer (or as a guest) and returns `(order, variant_id)`.
    pub async fn paid_order(
        &self,
        staff: &str,
        token: Option<&str>,
        price: i64,
        quantity: i64,
        inventory: i64,
    ) -> (Value, String) {
        let (_, variant_id) = self.published_product(staff, price, inventory).await;
        let cart = self.cart_with(token, &variant_id, quantity).await;
        let order = self
            .checkout(token, &id_of(&cart), "tok_visa")
            .await
            .assert_status(201)
            .clone();
        (order, variant_id)
    }

    /// Units of `variant_id` on hand, reserved and available, read through the staff API.
    pub async fn stock(&self, staff: &str, variant_id: &str) -> (i64, i64, i64) {
        let body = self
            .post(
                &format!("/v1/admin/inventory/{variant_id}/adjust"),
                Some(staff),
                json!({"delta": 0, "reason": "count"}),
            )
            .await
            .assert_status(200)
            .clone();
        (
            body["on_hand"].as_i64().expect("on_hand"),
            body["reserved"].as_i64().expect("reserved"),
            body["available"].as_i64().expect("available"),
        )
    }

    /// Every order of the shop, as staff see them (the first page, newest first).
    pub async fn all_orders(&self, staff: &str) -> Vec<Value> {
        self.get("/v1/admin/orders", Some(staff)).await.assert_status(200)["data"]
            .as_array()
            .expect("orders")
            .clone()
    }
}
