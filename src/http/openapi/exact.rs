//! What the generated document says that utoipa's annotations cannot, or could only say
//! by repeating it in many places: the vocabulary of every status, kind and role (from the
//! domain's own lists, so the document cannot drift from them), `date-time` on every time,
//! list items by reference, the headers responses carry, conditional catalog reads (304),
//! and who may call each operation.
//!
//! It edits the document as JSON: these are structural edits across the whole tree, which
//! utoipa's typed builders make long-winded.

use serde_json::{Map, Value, json};

use crate::domain::Permission;
use crate::domain::accounts::Role;
use crate::domain::catalog::{ProductSort, ProductStatus};
use crate::domain::content::{self, ContentKind, ContentStatus};
use crate::domain::countries;
use crate::domain::discounts::{DiscountKind, InvalidReason};
use crate::domain::events::EventKind;
use crate::domain::orders::{OrderStatus, PaymentStatus};
use crate::domain::validate::patterns;

/// Public reads answered with an `ETag` and revalidated with `If-None-Match` (the routes
/// under `middleware::catalog_cache`; `tests/api/ops.rs` checks each answers 304).
pub const CONDITIONAL_READS: [&str; 7] = [
    "/v1/products",
    "/v1/products/{id_or_slug}",
    "/v1/categories",
    "/v1/pages/{slug}",
    "/v1/posts",
    "/v1/posts/{slug}",
    "/v1/menus/{handle}",
];

/// The keys of a path item that are operations (the others are shared fields).
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Makes `document` exact; returns what it expected and did not find (a renamed schema or
/// property), which the tests require to be nothing.
pub fn make_exact(document: &mut Value) -> Vec<String> {
    let mut missing = vocabularies(document);
    missing.extend(input_rules(document));
    if let Some(schemas) = document.pointer_mut("/components/schemas") {
        times(schemas);
        list_items_by_reference(schemas);
    }
    shared_headers(document);
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let operations = item.as_object_mut().into_iter().flatten();
            for (method, operation) in operations.filter(|(key, _)| METHODS.contains(&key.as_str())) {
                access(operation);
                response_headers(method, operation);
                if method == "get" && CONDITIONAL_READS.contains(&path.as_str()) {
                    conditional_read(operation);
                }
            }
        }
    }
    missing
}

/// What a refund record can be (contract: Payments with Stripe).
const REFUND_STATUSES: [&str; 3] = ["pending", "succeeded", "failed"];

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|value| name(*value)).collect()
}

/// Every string that stands for one of the domain's enumerations gets its `enum`.
fn vocabularies(document: &mut Value) -> Vec<String> {
    let order_status = names(&OrderStatus::ALL, OrderStatus::as_str);
    let product_status = names(&ProductStatus::ALL, ProductStatus::as_str);
    let content_status = names(&ContentStatus::ALL, ContentStatus::as_str);
    let discount_kind = names(&DiscountKind::ALL, DiscountKind::as_str);
    let role = names(&Role::ALL, Role::as_str);
    let scope = names(&Permission::SCOPES, Permission::as_str);
    let payment_status = names(&PaymentStatus::ALL, PaymentStatus::as_str);
    let fields: [(&str, &str, &[&str]); 18] = [
        ("Order", "/properties/status", &order_status),
        ("Payment", "/properties/status", &payment_status),
        ("PaymentAttempt", "/properties/status", &payment_status),
        ("Refund", "/properties/status", &REFUND_STATUSES),
        ("RequiresAction", "/properties/status", &["requires_action"]),
        ("Product", "/properties/status", &product_status),
        ("NewProductRequest", "/properties/status", &product_status),
        ("ProductPatchRequest", "/properties/status", &product_status),
        (
            "ContentEntry",
            "/properties/kind",
            &names(&ContentKind::ALL, ContentKind::as_str),
        ),
        ("ContentEntry", "/properties/status", &content_status),
        ("EntryRequest", "/properties/status", &content_status),
        ("Discount", "/properties/kind", &discount_kind),
        ("DiscountRequest", "/properties/kind", &discount_kind),
        ("Staff", "/properties/role", &role),
        ("NewStaffRequest", "/properties/role", &role),
        ("ApiKeyDto", "/properties/scopes/items", &scope),
        ("NewApiKeyRequest", "/properties/scopes/items", &scope),
        (
            "Problem",
            "/properties/reason",
            &names(&InvalidReason::ALL, InvalidReason::as_str),
        ),
    ];
    let mut missing = Vec::new();
    for (schema, pointer, values) in fields {
        match document.pointer_mut(&format!("/components/schemas/{schema}{pointer}")) {
            Some(field) => set_enum(field, values),
            None => missing.push(format!("{schema}{pointer}")),
        }
    }
    let product_sort = names(&ProductSort::ALL, ProductSort::as_str);
    let parameters: [(&str, &str, &[&str]); 3] = [
        ("/v1/admin/orders", "status", &order_status),
        ("/v1/products", "sort", &product_sort),
        ("/v1/admin/products", "sort", &product_sort),
    ];
    for (path, name, values) in parameters {
        let pointer = format!("/paths/{}/get/parameters", path.replace('/', "~1"));
        let parameter = document
            .pointer_mut(&pointer)
            .and_then(Value::as_array_mut)
            .and_then(|parameters| parameters.iter_mut().find(|p| p["name"] == name));
        match parameter {
            Some(parameter) => set_enum(&mut parameter["schema"], values),
            None => missing.push(format!("GET {path} ?{name}")),
        }
    }
    missing
}

/// The largest amount of money the server takes, in minor units.
const MAX_AMOUNT: i64 = 100_000_000_000;

/// What the server checks of each input, as JSON Schema (the rules are the domain's, in
/// `domain::validate::patterns` and the checks named beside each). Rules across fields or
/// against the database (a category that exists, a currency the shop sells) are not
/// here: the operations say them in words.
fn input_rules(document: &mut Value) -> Vec<String> {
    let text = json!({ "pattern": patterns::text() });
    let optional_text = json!({ "pattern": patterns::optional_text() });
    let slug = json!({ "pattern": patterns::SLUG, "maxLength": 100 });
    let currency = json!({ "pattern": patterns::CURRENCY });
    let email = json!({ "pattern": patterns::email(), "maxLength": 254 });
    let amount = json!({ "minimum": 0, "maximum": MAX_AMOUNT });
    let country = json!({ "enum": countries::all().collect::<Vec<_>>() });
    let password = json!({ "minLength": 10, "maxLength": 1024 });
    let event_types: Vec<&str> = std::iter::once("*")
        .chain(
            EventKind::ALL
                .iter()
                .filter(|kind| **kind != EventKind::WebhookTest)
                .map(|kind| kind.as_str()),
        )
        .collect();
    // Names and titles of 200 characters at most.
    let named = json!({ "pattern": patterns::text(), "maxLength": 200 });
    let mut rules: Vec<(&str, &str, Value)> = vec![
        ("Address", "name", text.clone()),
        ("Address", "line1", text.clone()),
        ("Address", "city", text.clone()),
        ("Address", "postal_code", text.clone()),
        (
            "Address",
            "line2",
            json!({ "pattern": patterns::optional_text(), "maxLength": 200 }),
        ),
        (
            "Address",
            "region",
            json!({ "pattern": patterns::optional_text(), "maxLength": 200 }),
        ),
        (
            "Address",
            "phone",
            json!({ "pattern": patterns::optional_text(), "maxLength": 40 }),
        ),
        // Checked as two capital letters, not against the list of countries.
        (
            "Address",
            "country",
            json!({ "pattern": patterns::trimmed("[A-Z]{2}") }),
        ),
        (
            "AdjustStockRequest",
            "delta",
            json!({ "minimum": -1_000_000_000, "maximum": 1_000_000_000 }),
        ),
        ("AdjustStockRequest", "reason", text.clone()),
        ("CartPatchRequest", "currency", currency.clone()),
        ("CartPatchRequest", "email", email.clone()),
        ("CheckoutRequest", "email", email.clone()),
        ("CreateCartRequest", "currency", currency.clone()),
        ("DiscountRequest", "description", named.clone()),
        (
            "DiscountRequest",
            "percentage_bps",
            json!({ "minimum": 1, "maximum": 10_000 }),
        ),
        ("DiscountRequest", "amount", amount.clone()),
        ("DiscountRequest", "min_subtotal", amount.clone()),
        ("DiscountRequest", "currency", currency.clone()),
        ("DiscountRequest", "usage_limit", json!({ "minimum": 1 })),
        ("DiscountRequest", "usage_limit_per_customer", json!({ "minimum": 1 })),
        ("DiscountRequest", "product_ids", json!({ "maxItems": 500 })),
        ("DiscountRequest", "category_ids", json!({ "maxItems": 500 })),
        ("EntryRequest", "title", text.clone()),
        ("EntryRequest", "slug", slug.clone()),
        ("EntryRequest", "body_markdown", json!({ "pattern": patterns::lines() })),
        (
            "EntryRequest",
            "excerpt",
            json!({ "pattern": patterns::optional_lines() }),
        ),
        (
            "EntryRequest",
            "seo_title",
            json!({ "pattern": patterns::optional_lines(), "maxLength": 200 }),
        ),
        (
            "EntryRequest",
            "seo_description",
            json!({ "pattern": patterns::optional_lines() }),
        ),
        (
            "EntryRequest",
            "tags",
            json!({ "maxItems": 20, "items": { "pattern": patterns::not_blank(), "maxLength": 50 } }),
        ),
        (
            "FulfillRequest",
            "tracking_number",
            json!({ "pattern": patterns::not_blank(), "maxLength": 100 }),
        ),
        ("ImagePatchRequest", "alt", optional_text.clone()),
        ("ImageUploadForm", "alt", optional_text.clone()),
        ("MenuItem", "label", named.clone()),
        (
            "MenuItem",
            "url",
            json!({ "pattern": content::menu_url_pattern(), "maxLength": 2000 }),
        ),
        ("MenuRequest", "items", json!({ "maxItems": 50 })),
        ("NewApiKeyRequest", "name", text.clone()),
        ("NewApiKeyRequest", "scopes", json!({ "minItems": 1 })),
        ("NewCategoryRequest", "name", text.clone()),
        ("NewCategoryRequest", "slug", slug.clone()),
        ("TierRequest", "amount", amount.clone()),
        (
            "TierRequest",
            "up_to_grams",
            json!({ "minimum": 1, "maximum": 100_000_000 }),
        ),
        (
            "NewProductRequest",
            "variants",
            json!({ "minItems": 1, "maxItems": 100 }),
        ),
        (
            "NewVariantRequest",
            "inventory",
            json!({ "minimum": 0, "maximum": 1_000_000_000 }),
        ),
        ("NewStaffRequest", "email", email.clone()),
        ("NewStaffRequest", "password", password.clone()),
        ("RefundRequest", "amount", json!({ "minimum": 1 })),
        ("RegisterRequest", "email", email.clone()),
        ("RegisterRequest", "name", optional_text.clone()),
        ("PasswordResetRequest", "email", email.clone()),
        ("PasswordResetConfirmRequest", "password", password),
        ("ShopPatchRequest", "name", named.clone()),
        (
            "ShopPatchRequest",
            "currencies",
            json!({ "minItems": 1, "maxItems": 20, "uniqueItems": true, "items": currency.clone() }),
        ),
        ("ShopPatchRequest", "default_currency", currency.clone()),
    ];
    // A resource's creation and its change check their fields alike.
    let sku = json!({ "pattern": patterns::trimmed("[!-~]{1,64}") });
    let weight = json!({ "minimum": 0, "maximum": 100_000_000 });
    let countries = json!({ "maxItems": 250, "uniqueItems": true, "items": country.clone() });
    let region = json!({ "pattern": "^(?:[A-Z]{2}-)?[A-Z0-9]{1,3}$" });
    let events = json!({ "minItems": 1, "items": { "enum": event_types } });
    for schema in ["NewProductRequest", "ProductPatchRequest"] {
        rules.extend([
            (schema, "title", text.clone()),
            (schema, "slug", slug.clone()),
            (schema, "tax_class", slug.clone()),
            (schema, "seo_title", optional_text.clone()),
            (schema, "seo_description", optional_text.clone()),
        ]);
    }
    for schema in ["NewVariantRequest", "VariantPatchRequest"] {
        rules.extend([
            (schema, "sku", sku.clone()),
            (schema, "weight_grams", weight.clone()),
            (schema, "title", json!({ "maxLength": 200 })),
        ]);
    }
    for schema in ["NewShippingOptionRequest", "ShippingOptionPatchRequest"] {
        rules.extend([
            (schema, "name", named.clone()),
            (schema, "currency", currency.clone()),
            (schema, "free_over", amount.clone()),
            (schema, "countries", countries.clone()),
        ]);
    }
    for schema in ["NewTaxRateRequest", "TaxRatePatchRequest"] {
        rules.extend([
            (schema, "name", named.clone()),
            (schema, "country", country.clone()),
            (schema, "rate_bps", json!({ "minimum": 0, "maximum": 10_000 })),
            (schema, "tax_class", slug.clone()),
            (schema, "region", region.clone()),
        ]);
    }
    for schema in ["NewWebhookRequest", "WebhookPatchRequest"] {
        rules.push((schema, "events", events.clone()));
    }
    let mut missing = Vec::new();
    for (schema, property, rule) in rules {
        match document.pointer_mut(&format!("/components/schemas/{schema}/properties/{property}")) {
            Some(field) => merge(field, rule),
            None => missing.push(format!("{schema}.{property}")),
        }
    }
    // The rate's tiers (inside a `oneOf`).
    match document.pointer_mut("/components/schemas/RateRequest/oneOf/1/properties/tiers") {
        Some(tiers) => merge(tiers, json!({ "minItems": 1, "maxItems": 50 })),
        None => missing.push("RateRequest tiers".to_owned()),
    }
    match document.pointer_mut("/components/schemas/RateRequest/oneOf/0/properties/amount") {
        Some(flat) => merge(flat, amount.clone()),
        None => missing.push("RateRequest amount".to_owned()),
    }
    missing.extend(prices_as_sent(document, amount, currency.clone()));
    missing.extend(query_rules(document, &currency));
    without_nul(document);
    missing
}

/// A price a request sets is `PriceInput`: `Money` with the server's bounds on its amount
/// (`Money` itself also holds totals, which may be larger).
fn prices_as_sent(document: &mut Value, amount: Value, currency: Value) -> Vec<String> {
    let Some(mut input) = document.pointer("/components/schemas/Money").cloned() else {
        return vec!["Money".to_owned()];
    };
    merge(&mut input["properties"]["amount"], amount);
    merge(&mut input["properties"]["currency"], currency);
    input["description"] = json!("An amount of money a request sets, in integer minor units.");
    document["components"]["schemas"]["PriceInput"] = input;
    let mut missing = Vec::new();
    for schema in ["NewVariantRequest", "VariantPatchRequest"] {
        match document.pointer_mut(&format!("/components/schemas/{schema}")) {
            Some(schema) => refer_to(schema, "#/components/schemas/Money", "#/components/schemas/PriceInput"),
            None => missing.push(schema.to_owned()),
        }
    }
    missing
}

/// Every `$ref` to `from` in `schema` made a `$ref` to `to`.
fn refer_to(schema: &mut Value, from: &str, to: &str) {
    match schema {
        Value::Object(object) => {
            if object.get("$ref").is_some_and(|reference| reference == from) {
                object.insert("$ref".to_owned(), json!(to));
            }
            object.values_mut().for_each(|value| refer_to(value, from, to));
        }
        Value::Array(items) => items.iter_mut().for_each(|value| refer_to(value, from, to)),
        _ => {}
    }
}

/// The server refuses a NUL character in any text of a request (`http::extract`): every
/// string of a schema or a parameter without a stricter pattern of its own says so.
fn without_nul(document: &mut Value) {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(object) => {
                let plain_text = object.get("type").is_some_and(|kind| {
                    kind == "string" || kind.as_array().is_some_and(|kinds| kinds.iter().any(|k| k == "string"))
                }) && !["pattern", "enum", "format", "const"]
                    .iter()
                    .any(|key| object.contains_key(*key));
                if plain_text {
                    object.insert("pattern".to_owned(), json!("^[^\\u0000]*$"));
                }
                object.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    if let Some(schemas) = document.pointer_mut("/components/schemas") {
        walk(schemas);
    }
    if let Some(paths) = document.get_mut("paths") {
        walk(paths);
    }
}

/// The query parameters' rules.
fn query_rules(document: &mut Value, currency: &Value) -> Vec<String> {
    let mut missing = Vec::new();
    // A cursor is one this API returned: base64url, never empty.
    let cursor = json!({ "minLength": 1, "pattern": "^[A-Za-z0-9_-]+$" });
    let paths: Vec<String> = document["paths"]
        .as_object()
        .map(|paths| paths.keys().cloned().collect())
        .unwrap_or_default();
    for path in &paths {
        if let Some(parameter) = operation_parameter(document, "get", path, "cursor") {
            merge(&mut parameter["schema"], cursor.clone());
        }
    }
    let event_types: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
    let menu_handle = json!({ "pattern": patterns::SLUG, "maxLength": 50 });
    let rules: [(&str, &str, &str, Value); 11] = [
        ("get", "/v1/products", "currency", currency.clone()),
        ("get", "/v1/products/{id_or_slug}", "currency", currency.clone()),
        ("get", "/v1/admin/products", "currency", currency.clone()),
        ("get", "/v1/admin/products/{id}", "currency", currency.clone()),
        ("get", "/v1/products", "min_price", json!({ "minimum": 0 })),
        ("get", "/v1/products", "max_price", json!({ "minimum": 0 })),
        ("get", "/v1/admin/products/export", "format", json!({ "enum": ["csv"] })),
        (
            "get",
            "/media/images/{file}",
            "w",
            json!({ "enum": [160, 320, 640, 1280] }),
        ),
        ("get", "/v1/admin/event-log", "type", json!({ "enum": event_types })),
        ("put", "/v1/admin/menus/{handle}", "handle", menu_handle.clone()),
        ("get", "/v1/menus/{handle}", "handle", menu_handle),
    ];
    for (method, path, name, rule) in rules {
        match operation_parameter(document, method, path, name) {
            Some(parameter) => merge(&mut parameter["schema"], rule),
            None => missing.push(format!("{method} {path} {name}")),
        }
    }
    missing
}

fn operation_parameter<'a>(document: &'a mut Value, method: &str, path: &str, name: &str) -> Option<&'a mut Value> {
    let pointer = format!(
        "/paths/{}/{method}/parameters",
        path.replace('~', "~0").replace('/', "~1")
    );
    document
        .pointer_mut(&pointer)?
        .as_array_mut()?
        .iter_mut()
        .find(|parameter| parameter["name"] == name)
}

/// `rule`'s keys written into `schema`, objects (such as `items`) merged key by key. An
/// `enum` on a nullable field keeps `null`.
fn merge(schema: &mut Value, rule: Value) {
    let Value::Object(rule) = rule else { return };
    for (key, value) in rule {
        match (schema.get_mut(&key), value) {
            (Some(existing @ Value::Object(_)), value @ Value::Object(_)) => merge(existing, value),
            (_, Value::Array(values)) if key == "enum" => {
                let names: Vec<String> = values
                    .iter()
                    .map(|value| value.as_str().map_or_else(|| value.to_string(), str::to_owned))
                    .collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                if values.iter().all(Value::is_string) {
                    set_enum(schema, &names);
                } else {
                    schema["enum"] = Value::Array(values);
                }
            }
            (_, value) => schema[key.as_str()] = value,
        }
    }
}

/// A nullable field's vocabulary includes `null`, or JSON Schema would refuse the null.
fn set_enum(field: &mut Value, values: &[&str]) {
    let nullable = field["type"]
        .as_array()
        .is_some_and(|types| types.iter().any(|t| t == "null"));
    let mut allowed: Vec<Value> = values.iter().map(|value| json!(value)).collect();
    if nullable {
        allowed.push(Value::Null);
    }
    field["enum"] = Value::Array(allowed);
}

fn is_string(schema: &Value) -> bool {
    match &schema["type"] {
        Value::String(kind) => kind == "string",
        Value::Array(kinds) => kinds.iter().any(|kind| kind == "string"),
        _ => false,
    }
}

/// Every `*_at` field is an RFC 3339 time (`shapes::time` writes them all).
fn times(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get_mut("properties") {
                for (name, property) in properties.iter_mut() {
                    if name.ends_with("_at") && is_string(property) {
                        property["format"] = json!("date-time");
                    }
                }
            }
            object.values_mut().for_each(times);
        }
        Value::Array(items) => items.iter_mut().for_each(times),
        _ => {}
    }
}

/// utoipa inlines the item schema of a generic `ListResponse<T>`; refer to `T` instead.
fn list_items_by_reference(schemas: &mut Value) {
    let Some(schemas) = schemas.as_object_mut() else { return };
    let lists: Vec<(String, String)> = schemas
        .keys()
        .filter_map(|name| {
            let item = name.strip_prefix("ListResponse_")?;
            schemas.contains_key(item).then(|| (name.clone(), item.to_owned()))
        })
        .collect();
    for (list, item) in lists {
        if let Some(data) = schemas
            .get_mut(&list)
            .and_then(|list| list.pointer_mut("/properties/data"))
        {
            data["items"] = json!({ "$ref": format!("#/components/schemas/{item}") });
        }
    }
}

fn shared_headers(document: &mut Value) {
    let string = json!({ "type": "string" });
    let headers = json!({
        "RequestId": {
            "description": "This request's id (the one sent, or a new UUID), for finding it in the logs",
            "schema": string,
        },
        "RetryAfter": {
            "description": "Seconds to wait before trying again",
            "schema": { "type": "integer", "minimum": 0 },
        },
        "IdempotentReplayed": {
            "description": "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`",
            "schema": { "type": "string", "enum": ["true"] },
        },
        "ETag": {
            "description": "The version of this answer; send it back in `If-None-Match` to get 304 while it is current",
            "schema": string,
        },
    });
    document["components"]["headers"] = headers;
}

fn header_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/headers/{name}") })
}

/// Every answer names its request; 429 and 503 say when to retry; a POST's success may be
/// a replay.
fn response_headers(method: &str, operation: &mut Value) {
    let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        let mut headers = Map::new();
        headers.insert("X-Request-Id".to_owned(), header_ref("RequestId"));
        if status == "429" || status == "503" {
            headers.insert("Retry-After".to_owned(), header_ref("RetryAfter"));
        }
        if method == "post" && status.starts_with('2') {
            headers.insert("Idempotent-Replayed".to_owned(), header_ref("IdempotentReplayed"));
        }
        response["headers"] = Value::Object(headers);
    }
}

fn conditional_read(operation: &mut Value) {
    let parameters = operation["parameters"].as_array_mut();
    let if_none_match = json!({
        "name": "If-None-Match",
        "in": "header",
        "required": false,
        "description": "An `ETag` from an earlier answer: 304 without a body while it is current",
        "schema": { "type": "string" },
    });
    match parameters {
        Some(parameters) => parameters.push(if_none_match),
        None => operation["parameters"] = json!([if_none_match]),
    }
    operation["responses"]["200"]["headers"]["ETag"] = header_ref("ETag");
    operation["responses"]["304"] = json!({
        "description": "not modified: the ETag sent in If-None-Match is current",
        "headers": { "ETag": header_ref("ETag"), "X-Request-Id": header_ref("RequestId") },
    });
}

/// An operation without `security` needs no credentials: say so (`[]`). One that takes a
/// token may refuse the wrong kind of caller (a staff token on a customer's endpoint, a
/// customer's on staff's) with 403, unless a token is optional.
fn access(operation: &mut Value) {
    let Some(requirements) = operation.get("security").and_then(Value::as_array) else {
        operation["security"] = json!([]);
        return;
    };
    let optional = requirements
        .iter()
        .any(|requirement| requirement.as_object().is_some_and(Map::is_empty));
    if !optional && operation["responses"].get("403").is_none() {
        operation["responses"]["403"] = json!({
            "description": "this caller may not do this (a customer on staff's endpoints, staff on a customer's, an API key without the scope)",
            "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } },
        });
    }
}
