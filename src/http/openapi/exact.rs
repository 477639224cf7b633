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
use crate::domain::content::{ContentKind, ContentStatus};
use crate::domain::discounts::{DiscountKind, InvalidReason};
use crate::domain::orders::{OrderStatus, PaymentStatus};

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
    let missing = vocabularies(document);
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
