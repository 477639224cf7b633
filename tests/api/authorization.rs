//! The authorization matrix: every endpoint, called by each of five callers, answers the
//! status its access rule says — and nothing else decides it, since every row sends a body
//! that is valid for its endpoint.
//!
//! The callers, in the order of `Row::expect`: anonymous, the owner (the customer whose
//! cart or order the row is about; where nothing is owned, simply a customer), another
//! customer, a staff member of role `staff`, and an admin.
//!
//! The rules (src/domain/mod.rs `Principal::require*`, carts::find_accessible_cart,
//! orders::may_see; design invariant: what belongs to someone else is 404, never 403):
//! - operations endpoints and the public catalog: 200 for everyone;
//! - a customer's cart (and its items and checkout): 2xx for its owner, 404 for everyone
//!   else, staff and admins included; a guest cart: anyone holding its id;
//! - a customer's order: 200 for its owner, staff and admins, 404 for anyone else; a guest
//!   order: staff and admins, or anyone with its `?token=`;
//! - `/v1/orders` and `/v1/me`: 401 anonymous, 200 customers, 403 staff and admins;
//! - `/v1/admin/*` catalog, inventory, orders, shipping options and tax rates: 401
//!   anonymous, 403 customers, 2xx staff and admins;
//! - `/v1/admin/staff`, `/v1/admin/api-keys`, `/v1/admin/audit`, `/v1/admin/shop`: 401
//!   anonymous, 403 customers and staff, 2xx admins;
//! - `/v1/shop`: 200 for everyone.
//!
//! Every cell runs on state made for it alone (a fresh product, cart or paid order), so a
//! destructive call (checkout, fulfil, cancel, refund, revoke) never sees another cell's
//! leftovers. The Server-Sent Events streams are left out (they never end), and so are
//! the endpoints that end or change the caller's own session: those have their own test.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

/// A caller of the matrix, in the order of `Row::expect`.
#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    Owner,
    OtherCustomer,
    Staff,
    Admin,
}

impl Who {
    const ALL: [Who; 5] = [Who::Anonymous, Who::Owner, Who::OtherCustomer, Who::Staff, Who::Admin];
}

/// The bearer tokens of the callers, made once per test.
struct Callers {
    owner: String,
    other: String,
    staff: String,
    admin: String,
}

impl Callers {
    async fn new(app: &TestApp) -> Callers {
        let admin = app.staff_token().await;
        let (_, staff) = app.staff_member(&admin, "staff").await;
        let (owner, _) = app.customer().await;
        let (other, _) = app.customer().await;
        Callers {
            owner,
            other,
            staff,
            admin,
        }
    }

    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Owner => Some(self.owner.as_str()),
            Who::OtherCustomer => Some(self.other.as_str()),
            Who::Staff => Some(self.staff.as_str()),
            Who::Admin => Some(self.admin.as_str()),
        }
    }
}

/// What a row needs to exist before each of its cells; made afresh for every caller.
#[derive(Clone, Copy, Debug)]
enum Needs {
    /// Nothing beyond a fresh unused `email` and `unique` suffix (every fixture has those).
    Nothing,
    /// A registered customer with the fixture's `email` and `PASSWORD`.
    Account,
    /// A published product with one variant in stock: `{product}`, `{variant}`.
    Product,
    /// The owner's cart holding one line: `{cart}`, `{item}`, `{variant}`.
    OwnerCart,
    /// A guest cart holding one line: `{cart}`, `{item}`, `{variant}`.
    GuestCart,
    /// A paid order of the owner: `{order}`.
    OwnerOrder,
    /// A paid guest order: `{order}`, `{guest_token}`.
    GuestOrder,
    /// An API key: `{api_key}`.
    ApiKey,
    /// A shipping option: `{shipping_option}`.
    ShippingOption,
    /// A tax rate: `{tax_rate}`.
    TaxRate,
    /// A discount: `{discount}`.
    Discount,
    /// The owner's cart and a discount code that applies to it: `{cart}`, `{code}`.
    OwnerCartAndCode,
    /// The owner's cart holding a discount code: `{cart}`, `{code}`.
    OwnerCartHoldingCode,
    /// A published page, with a revision: `{page}`, `{page_slug}`, `{revision}`.
    Page,
    /// A published post, with a revision: `{post}`, `{post_slug}`, `{revision}`.
    Post,
    /// The footer menu, set.
    Menu,
    /// An address the owner saved: `{address}`.
    OwnerAddress,
    /// A webhook endpoint: `{webhook}`.
    Webhook,
}

/// The ids one cell works on; a field is empty unless the row's `Needs` made it.
#[derive(Default)]
struct Fixture {
    email: String,
    unique: String,
    product: String,
    variant: String,
    cart: String,
    item: String,
    order: String,
    payment: String,
    guest_token: String,
    api_key: String,
    shipping_option: String,
    tax_rate: String,
    discount: String,
    code: String,
    page: String,
    post: String,
    slug: String,
    revision: String,
    address: String,
    webhook: String,
}

async fn prepare(app: &TestApp, callers: &Callers, needs: Needs) -> Fixture {
    let mut fixture = Fixture {
        email: unique_email("matrix"),
        unique: backroom::domain::ids::random_suffix(),
        ..Fixture::default()
    };
    let admin = callers.admin.as_str();
    match needs {
        Needs::Nothing => {}
        Needs::Account => {
            app.register(&fixture.email).await;
        }
        Needs::Product => {
            let (product, variant) = app.published_product(admin, 1500, 5).await;
            fixture.product = id_of(&product);
            fixture.variant = variant;
        }
        Needs::OwnerCart | Needs::GuestCart => {
            let owner = matches!(needs, Needs::OwnerCart).then_some(callers.owner.as_str());
            let (product, variant) = app.published_product(admin, 1500, 5).await;
            let cart = app.cart_with(owner, &variant, 1).await;
            fixture.product = id_of(&product);
            fixture.variant = variant;
            fixture.cart = id_of(&cart);
            fixture.item = id_of(&cart["items"][0]);
        }
        Needs::OwnerOrder | Needs::GuestOrder => {
            let owner = matches!(needs, Needs::OwnerOrder).then_some(callers.owner.as_str());
            let (order, variant) = app.paid_order(admin, owner, 1000, 1, 5).await;
            fixture.order = id_of(&order);
            fixture.payment = order["payment"]["id"].as_str().expect("payment id").to_owned();
            fixture.variant = variant;
            if owner.is_none() {
                fixture.guest_token = order["token"]
                    .as_str()
                    .expect("a guest checkout answers with the order's token")
                    .to_owned();
            }
        }
        Needs::OwnerAddress => {
            let saved = app.post("/v1/me/addresses", Some(&callers.owner), address()).await;
            fixture.address = id_of(saved.assert_status(201));
        }
        Needs::Webhook => {
            let created = app.post("/v1/admin/webhooks", Some(admin), webhook_body()).await;
            fixture.webhook = id_of(created.assert_status(201));
        }
        Needs::ApiKey => {
            let body = json!({"name": "to be revoked", "scopes": ["orders"]});
            let created = app.post("/v1/admin/api-keys", Some(admin), body).await;
            fixture.api_key = id_of(created.assert_status(201));
        }
        Needs::ShippingOption => {
            let body = json!({"name": "Parcel", "currency": "EUR", "rate": {"type": "flat", "amount": 500}});
            let created = app.post("/v1/admin/shipping-options", Some(admin), body).await;
            fixture.shipping_option = id_of(created.assert_status(201));
        }
        Needs::TaxRate => {
            let body = json!({"name": "VAT", "country": "DE", "rate_bps": 1900});
            let created = app.post("/v1/admin/tax-rates", Some(admin), body).await;
            fixture.tax_rate = id_of(created.assert_status(201));
        }
        Needs::Discount => {
            let body = json!({"kind": "free_shipping"});
            let created = app.post("/v1/admin/discounts", Some(admin), body).await;
            fixture.discount = id_of(created.assert_status(201));
        }
        Needs::Page | Needs::Post => {
            let (path, slug) = if matches!(needs, Needs::Page) {
                ("/v1/admin/pages", format!("page-{}", fixture.unique))
            } else {
                ("/v1/admin/posts", format!("post-{}", fixture.unique))
            };
            let body = json!({"title": "Matrix", "slug": slug, "body_markdown": "Hello", "status": "published"});
            let created = app.post(path, Some(admin), body).await;
            let id = id_of(created.assert_status(201));
            let revisions = app.get(&format!("{path}/{id}/revisions"), Some(admin)).await;
            fixture.revision = id_of(&revisions.assert_status(200)["data"][0]);
            fixture.slug = slug;
            if matches!(needs, Needs::Page) {
                fixture.page = id;
            } else {
                fixture.post = id;
            }
        }
        Needs::Menu => {
            let body = json!({"items": [{"label": "About", "url": "/pages/about"}]});
            app.put("/v1/admin/menus/footer", Some(admin), body)
                .await
                .assert_status(200);
        }
        Needs::OwnerCartAndCode | Needs::OwnerCartHoldingCode => {
            let (_, variant) = app.published_product(admin, 1500, 5).await;
            fixture.cart = id_of(&app.cart_with(Some(&callers.owner), &variant, 1).await);
            fixture.code = format!("CODE{}", fixture.unique);
            let body = json!({"code": fixture.code, "kind": "percentage", "percentage_bps": 1000});
            app.post("/v1/admin/discounts", Some(admin), body)
                .await
                .assert_status(201);
            if matches!(needs, Needs::OwnerCartHoldingCode) {
                let path = format!("/v1/carts/{}/discount-codes", fixture.cart);
                app.post(&path, Some(&callers.owner), json!({"code": fixture.code}))
                    .await
                    .assert_status(200);
            }
        }
    }
    fixture
}

/// One endpoint (or one case of it) and what each caller gets.
struct Row {
    method: Method,
    /// The path with `{placeholder}`s filled from the cell's `Fixture` (see `fill`).
    path: &'static str,
    needs: Needs,
    /// A body valid for the endpoint, or `None` to send none.
    body: fn(&Fixture) -> Option<Value>,
    /// Anonymous, owner, another customer, staff, admin.
    expect: [u16; 5],
}

fn no_body(_: &Fixture) -> Option<Value> {
    None
}

/// The matrix. `expect` is `[anonymous, owner, another customer, staff, admin]`.
fn rows() -> Vec<Row> {
    vec![
        // ---- operations: everyone ----
        Row {
            method: Method::GET,
            path: "/healthz",
            needs: Needs::Nothing,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/readyz",
            needs: Needs::Nothing,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/metrics",
            needs: Needs::Nothing,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/openapi.json",
            needs: Needs::Nothing,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/docs",
            needs: Needs::Nothing,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        // ---- customers and sessions ----
        Row {
            method: Method::POST,
            path: "/v1/auth/register",
            needs: Needs::Nothing,
            body: |f| Some(json!({"email": f.email, "password": PASSWORD, "name": "Matrix Customer"})),
            expect: [201, 201, 201, 201, 201],
        },
        Row {
            method: Method::POST,
            path: "/v1/auth/password-reset",
            needs: Needs::Account,
            body: |f| Some(json!({"email": f.email})),
            expect: [202, 202, 202, 202, 202],
        },
        Row {
            method: Method::POST,
            path: "/v1/auth/login",
            needs: Needs::Account,
            body: |f| Some(json!({"email": f.email, "password": PASSWORD})),
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/me",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 200, 200, 403, 403],
        },
        Row {
            method: Method::GET,
            path: "/v1/me/addresses",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 200, 200, 403, 403],
        },
        Row {
            method: Method::POST,
            path: "/v1/me/addresses",
            needs: Needs::Nothing,
            body: |_| Some(address()),
            expect: [401, 201, 201, 403, 403],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/me/addresses/{address}",
            needs: Needs::OwnerAddress,
            body: no_body,
            expect: [401, 204, 404, 403, 403],
        },
        // ---- the public catalog: everyone ----
        Row {
            method: Method::GET,
            path: "/v1/products",
            needs: Needs::Nothing,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/products/{product}",
            needs: Needs::Product,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/categories",
            needs: Needs::Nothing,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        // ---- carts: anyone may open one; a customer's cart is its owner's alone ----
        Row {
            method: Method::POST,
            path: "/v1/carts",
            needs: Needs::Nothing,
            body: |_| Some(json!({"currency": "EUR"})),
            expect: [201, 201, 201, 201, 201],
        },
        Row {
            method: Method::GET,
            path: "/v1/carts/{cart}",
            needs: Needs::OwnerCart,
            body: no_body,
            expect: [404, 200, 404, 404, 404],
        },
        Row {
            method: Method::GET,
            path: "/v1/carts/{cart}",
            needs: Needs::GuestCart,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/carts/{cart}",
            needs: Needs::OwnerCart,
            body: |_| Some(json!({"email": "buyer@example.com", "shipping_address": address()})),
            expect: [404, 200, 404, 404, 404],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/carts/{cart}",
            needs: Needs::GuestCart,
            body: |_| Some(json!({"email": "buyer@example.com"})),
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/carts/{cart}/shipping-options",
            needs: Needs::OwnerCart,
            body: no_body,
            expect: [404, 200, 404, 404, 404],
        },
        Row {
            method: Method::GET,
            path: "/v1/carts/{cart}/shipping-options",
            needs: Needs::GuestCart,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/carts/{cart}/items",
            needs: Needs::OwnerCart,
            body: |f| Some(json!({"variant_id": f.variant, "quantity": 1})),
            expect: [404, 200, 404, 404, 404],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/carts/{cart}/items/{item}",
            needs: Needs::OwnerCart,
            body: |_| Some(json!({"quantity": 2})),
            expect: [404, 200, 404, 404, 404],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/carts/{cart}/items/{item}",
            needs: Needs::OwnerCart,
            body: no_body,
            expect: [404, 200, 404, 404, 404],
        },
        Row {
            method: Method::POST,
            path: "/v1/carts/{cart}/discount-codes",
            needs: Needs::OwnerCartAndCode,
            body: |f| Some(json!({"code": f.code})),
            expect: [404, 200, 404, 404, 404],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/carts/{cart}/discount-codes/{code}",
            needs: Needs::OwnerCartHoldingCode,
            body: no_body,
            expect: [404, 200, 404, 404, 404],
        },
        Row {
            method: Method::POST,
            path: "/v1/carts/{cart}/checkout",
            needs: Needs::OwnerCart,
            body: |_| Some(checkout_body("tok_visa")),
            expect: [404, 201, 404, 404, 404],
        },
        // ---- payment attempts: whoever may see the cart ----
        Row {
            method: Method::GET,
            path: "/v1/payments/{payment}",
            needs: Needs::OwnerOrder,
            body: no_body,
            expect: [404, 200, 404, 404, 404],
        },
        Row {
            method: Method::POST,
            path: "/v1/payments/{payment}/confirm",
            needs: Needs::OwnerOrder,
            body: no_body,
            expect: [404, 201, 404, 404, 404],
        },
        Row {
            method: Method::POST,
            path: "/v1/payments/{payment}/cancel",
            needs: Needs::OwnerOrder,
            body: no_body,
            expect: [404, 409, 404, 404, 404],
        },
        // ---- orders: their customer's, and staff may read them ----
        Row {
            method: Method::GET,
            path: "/v1/orders",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 200, 200, 403, 403],
        },
        Row {
            method: Method::GET,
            path: "/v1/orders/{order}",
            needs: Needs::OwnerOrder,
            body: no_body,
            expect: [404, 200, 404, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/orders/{order}",
            needs: Needs::GuestOrder,
            body: no_body,
            expect: [404, 404, 404, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/orders/{order}?token={guest_token}",
            needs: Needs::GuestOrder,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        // ---- the staff API: staff and admins ----
        Row {
            method: Method::POST,
            path: "/v1/admin/products",
            needs: Needs::Nothing,
            body: |f| {
                Some(json!({
                    "title": format!("Matrix product {}", f.unique),
                    "variants": [{"sku": format!("MATRIX-{}", f.unique), "price": eur(1500), "inventory": 3}]
                }))
            },
            expect: [401, 403, 403, 201, 201],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/products",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/products/{product}",
            needs: Needs::Product,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/admin/products/{product}",
            needs: Needs::Product,
            body: |_| Some(json!({"title": "Renamed by the matrix"})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/products/{product}/variants",
            needs: Needs::Product,
            body: |f| Some(json!({"sku": format!("MATRIX-VAR-{}", f.unique), "price": eur(1700), "inventory": 2})),
            expect: [401, 403, 403, 201, 201],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/admin/variants/{variant}",
            needs: Needs::Product,
            body: |_| Some(json!({"price": eur(1600)})),
            expect: [401, 403, 403, 200, 200],
        },
        // An import is text/csv: a JSON body shows who gets past the permission (415).
        Row {
            method: Method::POST,
            path: "/v1/admin/products/import",
            needs: Needs::Nothing,
            body: |_| Some(json!({"Handle": "matrix"})),
            expect: [401, 403, 403, 415, 415],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/products/export?format=csv",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        // An upload is multipart: a JSON body shows who gets past the permission (415).
        Row {
            method: Method::POST,
            path: "/v1/admin/products/{product}/images",
            needs: Needs::Product,
            body: |_| Some(json!({"file": "photo.jpg"})),
            expect: [401, 403, 403, 415, 415],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/admin/products/{product}/images/{missing_image}",
            needs: Needs::Product,
            body: |_| Some(json!({"alt": "Renamed by the matrix"})),
            expect: [401, 403, 403, 404, 404],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/admin/products/{product}/images/{missing_image}",
            needs: Needs::Product,
            body: no_body,
            expect: [401, 403, 403, 404, 404],
        },
        Row {
            method: Method::GET,
            path: "/media/images/{missing_image_file}",
            needs: Needs::Nothing,
            body: no_body,
            expect: [404, 404, 404, 404, 404],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/categories",
            needs: Needs::Nothing,
            body: |f| Some(json!({"name": format!("Matrix category {}", f.unique)})),
            expect: [401, 403, 403, 201, 201],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/inventory/{variant}/adjust",
            needs: Needs::Product,
            body: |_| Some(json!({"delta": 1, "reason": "recount"})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/orders",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/orders/{order}",
            needs: Needs::OwnerOrder,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/orders/{order}/fulfill",
            needs: Needs::OwnerOrder,
            body: |_| Some(json!({"tracking_number": "MATRIX-TRACK-1"})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/orders/{order}/cancel",
            needs: Needs::OwnerOrder,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/orders/{order}/refund",
            needs: Needs::OwnerOrder,
            body: |_| Some(json!({"amount": 100})),
            expect: [401, 403, 403, 200, 200],
        },
        // ---- administration: admins only ----
        Row {
            method: Method::GET,
            path: "/v1/admin/staff",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 403, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/staff",
            needs: Needs::Nothing,
            body: |f| Some(json!({"email": f.email, "password": PASSWORD, "role": "staff"})),
            expect: [401, 403, 403, 403, 201],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/api-keys",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 403, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/api-keys",
            needs: Needs::Nothing,
            body: |_| Some(json!({"name": "matrix key", "scopes": ["catalog"]})),
            expect: [401, 403, 403, 403, 201],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/admin/api-keys/{api_key}",
            needs: Needs::ApiKey,
            body: no_body,
            expect: [401, 403, 403, 403, 204],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/audit",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 403, 200],
        },
        // ---- the shop: everyone reads it, admins change it ----
        Row {
            method: Method::GET,
            path: "/v1/shop",
            needs: Needs::Nothing,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/admin/shop",
            needs: Needs::Nothing,
            body: |_| Some(json!({"name": "Matrix Shop"})),
            expect: [401, 403, 403, 403, 200],
        },
        // ---- shipping options and tax rates: staff and admins ----
        Row {
            method: Method::GET,
            path: "/v1/admin/shipping-options",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/shipping-options",
            needs: Needs::Nothing,
            body: |_| Some(json!({"name": "Post", "currency": "EUR", "rate": {"type": "flat", "amount": 400}})),
            expect: [401, 403, 403, 201, 201],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/shipping-options/{shipping_option}",
            needs: Needs::ShippingOption,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/admin/shipping-options/{shipping_option}",
            needs: Needs::ShippingOption,
            body: |_| Some(json!({"free_over": 5000})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/admin/shipping-options/{shipping_option}",
            needs: Needs::ShippingOption,
            body: no_body,
            expect: [401, 403, 403, 204, 204],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/tax-rates",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/tax-rates",
            needs: Needs::Nothing,
            body: |_| Some(json!({"name": "VAT", "country": "FR", "rate_bps": 2000})),
            expect: [401, 403, 403, 201, 201],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/tax-rates/{tax_rate}",
            needs: Needs::TaxRate,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/admin/tax-rates/{tax_rate}",
            needs: Needs::TaxRate,
            body: |_| Some(json!({"rate_bps": 700, "tax_class": "reduced"})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/admin/tax-rates/{tax_rate}",
            needs: Needs::TaxRate,
            body: no_body,
            expect: [401, 403, 403, 204, 204],
        },
        // ---- content: anyone reads what is published; staff write it ----
        Row {
            method: Method::GET,
            path: "/v1/pages/{slug}",
            needs: Needs::Page,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/posts",
            needs: Needs::Nothing,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/posts/{slug}",
            needs: Needs::Post,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/menus/{handle}",
            needs: Needs::Menu,
            body: no_body,
            expect: [200, 200, 200, 200, 200],
        },
        Row {
            method: Method::PUT,
            path: "/v1/admin/menus/{handle}",
            needs: Needs::Nothing,
            body: |_| Some(json!({"items": [{"label": "Blog", "url": "/blog"}]})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/pages",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/pages",
            needs: Needs::Nothing,
            body: |f| Some(json!({"title": format!("New {}", f.unique), "body_markdown": "Hi"})),
            expect: [401, 403, 403, 201, 201],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/pages/{page}",
            needs: Needs::Page,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/admin/pages/{page}",
            needs: Needs::Page,
            body: |_| Some(json!({"excerpt": "Changed"})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/admin/pages/{page}",
            needs: Needs::Page,
            body: no_body,
            expect: [401, 403, 403, 204, 204],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/pages/{page}/revisions",
            needs: Needs::Page,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/pages/{page}/revisions/{revision}/restore",
            needs: Needs::Page,
            body: |_| Some(json!({})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/posts",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/posts",
            needs: Needs::Nothing,
            body: |f| Some(json!({"title": format!("New {}", f.unique), "body_markdown": "Hi"})),
            expect: [401, 403, 403, 201, 201],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/posts/{post}",
            needs: Needs::Post,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/admin/posts/{post}",
            needs: Needs::Post,
            body: |_| Some(json!({"excerpt": "Changed"})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/admin/posts/{post}",
            needs: Needs::Post,
            body: no_body,
            expect: [401, 403, 403, 204, 204],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/posts/{post}/revisions",
            needs: Needs::Post,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/posts/{post}/revisions/{revision}/restore",
            needs: Needs::Post,
            body: |_| Some(json!({})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/content/preview",
            needs: Needs::Nothing,
            body: |_| Some(json!({"body_markdown": "*hi*"})),
            expect: [401, 403, 403, 200, 200],
        },
        // ---- discounts: staff with the catalog permission ----
        Row {
            method: Method::GET,
            path: "/v1/admin/discounts",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/discounts",
            needs: Needs::Nothing,
            body: |_| Some(json!({"kind": "percentage", "percentage_bps": 500})),
            expect: [401, 403, 403, 201, 201],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/discounts/{discount}",
            needs: Needs::Discount,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/admin/discounts/{discount}",
            needs: Needs::Discount,
            body: |_| Some(json!({"combinable": true})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/admin/discounts/{discount}",
            needs: Needs::Discount,
            body: no_body,
            expect: [401, 403, 403, 204, 204],
        },
        // ---- events and webhooks: staff with the orders permission ----
        Row {
            method: Method::GET,
            path: "/v1/admin/event-log",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/webhooks",
            needs: Needs::Nothing,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/webhooks",
            needs: Needs::Nothing,
            body: |_| Some(webhook_body()),
            expect: [401, 403, 403, 201, 201],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/webhooks/{webhook}",
            needs: Needs::Webhook,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::PATCH,
            path: "/v1/admin/webhooks/{webhook}",
            needs: Needs::Webhook,
            body: |_| Some(json!({"description": "changed"})),
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::DELETE,
            path: "/v1/admin/webhooks/{webhook}",
            needs: Needs::Webhook,
            body: no_body,
            expect: [401, 403, 403, 204, 204],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/webhooks/{webhook}/test",
            needs: Needs::Webhook,
            body: no_body,
            expect: [401, 403, 403, 202, 202],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/webhooks/{webhook}/deliveries",
            needs: Needs::Webhook,
            body: no_body,
            expect: [401, 403, 403, 200, 200],
        },
        Row {
            method: Method::GET,
            path: "/v1/admin/webhooks/{webhook}/deliveries/{missing_delivery}",
            needs: Needs::Webhook,
            body: no_body,
            expect: [401, 403, 403, 404, 404],
        },
        Row {
            method: Method::POST,
            path: "/v1/admin/webhooks/{webhook}/deliveries/{missing_delivery}/retry",
            needs: Needs::Webhook,
            body: no_body,
            expect: [401, 403, 403, 404, 404],
        },
    ]
}

/// An endpoint at a public address literal, so that no name needs resolving; the
/// test's deliveries to it fail and wait for a retry.
fn webhook_body() -> Value {
    json!({"url": "https://192.0.2.10/hooks", "events": ["*"]})
}

/// Endpoints deliberately not in the matrix: the live streams never end, and these session
/// endpoints end or change the caller's own session (see
/// `session_endpoints_need_a_session_of_any_account`).
const NOT_IN_THE_MATRIX: [(&str, &str); 9] = [
    // Stripe's signature, not a caller, decides: tests/api/stripe.rs.
    ("POST", "/v1/webhooks/stripe"),
    ("GET", "/v1/orders/{id}/events"),
    ("GET", "/v1/admin/events"),
    ("GET", "/v1/products/{id_or_slug}/events"),
    ("GET", "/v1/carts/{id}/events"),
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/auth/logout-all"),
    // Anyone holding an emailed reset token may use it: tests/api/password_reset.rs.
    ("POST", "/v1/auth/password-reset/confirm"),
    ("POST", "/v1/me/password"),
];

/// The row's path with its placeholders filled from `fixture`.
#[track_caller]
fn fill(template: &str, fixture: &Fixture) -> String {
    let values = [
        ("{product}", fixture.product.clone()),
        ("{variant}", fixture.variant.clone()),
        ("{cart}", fixture.cart.clone()),
        ("{address}", fixture.address.clone()),
        ("{item}", fixture.item.clone()),
        ("{order}", fixture.order.clone()),
        ("{payment}", fixture.payment.clone()),
        ("{guest_token}", encode_query(&fixture.guest_token)),
        ("{api_key}", fixture.api_key.clone()),
        ("{shipping_option}", fixture.shipping_option.clone()),
        ("{tax_rate}", fixture.tax_rate.clone()),
        ("{discount}", fixture.discount.clone()),
        ("{code}", fixture.code.clone()),
        ("{page}", fixture.page.clone()),
        ("{post}", fixture.post.clone()),
        ("{slug}", fixture.slug.clone()),
        ("{revision}", fixture.revision.clone()),
        // The one menu the matrix works on.
        ("{handle}", "footer".to_owned()),
        ("{webhook}", fixture.webhook.clone()),
        ("{missing_delivery}", "dlv_0196c3b1e2b07a4b8f1c2d3e4f5a6b7c".to_owned()),
        // An image no product has: staff get past the permission to a 404.
        ("{missing_image}", "img_0196c3b1e2b07a4b8f1c2d3e4f5a6b7c".to_owned()),
        (
            "{missing_image_file}",
            "img_0196c3b1e2b07a4b8f1c2d3e4f5a6b7c.jpg".to_owned(),
        ),
    ];
    let mut path = template.to_owned();
    for (placeholder, value) in values {
        if path.contains(placeholder) {
            assert!(
                !value.is_empty(),
                "`{template}` needs {placeholder}, which its row's setup does not make"
            );
            path = path.replace(placeholder, &value);
        }
    }
    assert!(
        !path.contains('{'),
        "`{template}` has a placeholder `fill` does not know"
    );
    path
}

/// The shape of a route, its parameters unnamed and its query left off:
/// `/v1/carts/{cart}/items/{item}` and `/v1/carts/{id}/items/{item_id}` are both
/// `/v1/carts/{}/items/{}`.
fn route_shape(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut shape = String::with_capacity(path.len());
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_parameter = true;
                shape.push_str("{}");
            }
            '}' => in_parameter = false,
            _ if in_parameter => {}
            _ => shape.push(c),
        }
    }
    shape
}

fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 300;
    let mut excerpt: String = text.chars().take(MAX_CHARS).collect();
    if text.chars().count() > MAX_CHARS {
        excerpt.push_str("...");
    }
    excerpt
}

/// The cell's verdict: the exact status, and for a refusal the problem+json `code` that
/// goes with it. A 404 must be a plain `not_found` problem, carrying none of the thing.
fn check(response: &Response, expected: u16) -> Result<(), String> {
    if response.status != expected {
        return Err(format!(
            "answered {} instead of {expected}: {}",
            response.status,
            excerpt(&response.text)
        ));
    }
    let code = match expected {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        _ => return Ok(()),
    };
    if response.header("content-type") != Some("application/problem+json") {
        return Err(format!(
            "a {expected} that is not application/problem+json (content-type {:?}): {}",
            response.header("content-type"),
            excerpt(&response.text)
        ));
    }
    if response.body["code"] != code || response.body["status"] != expected {
        return Err(format!(
            "a {expected} problem without code `{code}`: {}",
            excerpt(&response.text)
        ));
    }
    let leaks = ["id", "items", "customer_id", "email", "total"]
        .iter()
        .any(|field| response.body.get(field).is_some());
    if leaks {
        return Err(format!("a {expected} that carries data: {}", excerpt(&response.text)));
    }
    Ok(())
}

/// Every cell of the matrix, each on fresh state; all wrong cells are reported at once.
async fn every_endpoint_answers_each_kind_of_caller_as_its_access_rule_says(app: TestApp) {
    let callers = Callers::new(&app).await;
    let mut wrong = Vec::new();
    let mut cells = 0;
    for row in rows() {
        for (who, expected) in Who::ALL.into_iter().zip(row.expect) {
            let fixture = prepare(&app, &callers, row.needs).await;
            let path = fill(row.path, &fixture);
            let body = (row.body)(&fixture);
            let response = app.send(row.method.clone(), &path, callers.token(who), body).await;
            cells += 1;
            if let Err(verdict) = check(&response, expected) {
                wrong.push(format!(
                    "{} {} ({:?}) as {:?}: {verdict}",
                    row.method, row.path, row.needs, who
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells of the authorization matrix are wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The matrix has a row for every operation of the OpenAPI document (generated from the
/// handlers), save the few left out on purpose, and no row for an operation it lacks: a
/// new endpoint without a row fails here.
async fn the_matrix_has_a_row_for_every_documented_endpoint(app: TestApp) {
    const HTTP_METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    let document = app.get("/openapi.json", None).await.assert_status(200).clone();
    let paths = document["paths"].as_object().expect("the document has `paths`");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        let Some(operations) = item.as_object() else {
            continue;
        };
        for method in operations.keys() {
            if HTTP_METHODS.contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), route_shape(path)));
            }
        }
    }
    let in_matrix: BTreeSet<(String, String)> = rows()
        .iter()
        .map(|row| (row.method.as_str().to_owned(), route_shape(row.path)))
        .collect();
    let left_out: BTreeSet<(String, String)> = NOT_IN_THE_MATRIX
        .iter()
        .map(|(method, path)| ((*method).to_owned(), route_shape(path)))
        .collect();
    let covered: BTreeSet<(String, String)> = in_matrix.union(&left_out).cloned().collect();

    let missing: Vec<_> = documented.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "documented endpoints with no row in the authorization matrix: {missing:?}"
    );
    let undocumented: Vec<_> = covered.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "matrix rows (or exemptions) for endpoints the OpenAPI document does not have: {undocumented:?}"
    );
}

/// Logout, logout everywhere and password change act on the caller's own session, so they
/// are not in the matrix: without a session (or with a dead one) they are 401; with one,
/// of a customer, a staff member or an admin alike, they do their work (204).
async fn session_endpoints_need_a_session_of_any_account(app: TestApp) {
    let new_password = "a brand new password";
    let change = json!({"current_password": PASSWORD, "new_password": new_password});
    let endpoints: [(&str, Option<Value>); 3] = [
        ("/v1/auth/logout", None),
        ("/v1/auth/logout-all", None),
        ("/v1/me/password", Some(change)),
    ];
    for (path, body) in &endpoints {
        app.send(Method::POST, path, None, body.clone())
            .await
            .assert_problem(401, "unauthorized");
        app.send(Method::POST, path, Some("not-a-session-token"), body.clone())
            .await
            .assert_problem(401, "unauthorized");
    }

    let admin = app.staff_token().await;
    let customer = unique_email("session");
    app.register(&customer).await;
    let (staff, _) = app.staff_member(&admin, "staff").await;
    let (other_admin, _) = app.staff_member(&admin, "admin").await;
    for (kind, email) in [("customer", &customer), ("staff", &staff), ("admin", &other_admin)] {
        // The password changes last: the logins before it use the old one.
        for (path, body) in &endpoints {
            let token = app.login(email, PASSWORD).await;
            let response = app.send(Method::POST, path, Some(&token), body.clone()).await;
            assert_eq!(
                response.status, 204,
                "POST {path} with a {kind}'s session: {}",
                response.text
            );
            if body.is_none() {
                app.send(Method::POST, "/v1/auth/logout", Some(&token), None)
                    .await
                    .assert_problem(401, "unauthorized");
            }
        }
        app.login(email, new_password).await;
    }
}

crate::backend_tests!(
    every_endpoint_answers_each_kind_of_caller_as_its_access_rule_says,
    the_matrix_has_a_row_for_every_documented_endpoint,
    session_endpoints_need_a_session_of_any_account,
);
