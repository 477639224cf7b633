//! The OpenAPI 3.1 document, generated from the handlers' annotations and made exact by
//! `exact`.

mod exact;

pub use exact::CONDITIONAL_READS;

use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    access, addresses, admin_catalog, admin_orders, auth, carts, catalog, catalog_csv, content, discounts, events,
    images, ops, orders, payments, shipping_options, shop, tax_rates, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Backroom",
        description = "The commerce backend in one binary: catalog, carts, checkout and orders. \
                       Errors are RFC 9457 `application/problem+json` with a stable `code`. \
                       Money is `{amount, currency}` in integer minor units. Every POST accepts \
                       an `Idempotency-Key` header."
    ),
    paths(
        ops::healthz, ops::readyz, ops::metrics,
        auth::register, auth::login, auth::logout, auth::logout_everywhere, auth::me, auth::change_password,
        auth::request_password_reset, auth::confirm_password_reset,
        addresses::list_addresses, addresses::save_address, addresses::delete_address,
        catalog::list_products, catalog::get_product, catalog::list_categories,
        carts::create_cart, carts::get_cart, carts::update_cart, carts::shipping_options, carts::add_item, carts::set_quantity, carts::remove_item, carts::checkout,
        carts::apply_code, carts::remove_code,
        orders::list_orders, orders::get_order, orders::order_events,
        payments::get_payment, payments::confirm_payment, payments::cancel_payment, payments::stripe_webhook,
        admin_catalog::create_product, admin_catalog::list_products, admin_catalog::get_product, admin_catalog::update_product, admin_catalog::add_variant, admin_catalog::update_variant,
        catalog_csv::import_products, catalog_csv::export_products,
        images::upload_image, images::update_image, images::delete_image, images::image_file,
        admin_catalog::create_category, admin_catalog::adjust_inventory, admin_orders::list_orders, admin_orders::get_order, admin_orders::fulfill_order,
        admin_orders::cancel_order, admin_orders::refund_order,
        events::event_log, events::admin_events, events::product_events, events::cart_events,
        webhooks::list_endpoints, webhooks::create_endpoint, webhooks::get_endpoint, webhooks::update_endpoint,
        webhooks::delete_endpoint, webhooks::list_deliveries, webhooks::get_delivery, webhooks::retry_delivery,
        webhooks::send_test,
        access::list_staff, access::create_staff, access::list_api_keys, access::create_api_key,
        access::revoke_api_key, access::list_audit,
        shop::get_shop, shop::update_shop,
        shipping_options::list_options, shipping_options::create_option, shipping_options::get_option,
        shipping_options::update_option, shipping_options::delete_option,
        tax_rates::list_rates, tax_rates::create_rate, tax_rates::get_rate, tax_rates::update_rate, tax_rates::delete_rate,
        discounts::list_discounts, discounts::create_discount, discounts::get_discount, discounts::update_discount,
        discounts::delete_discount,
        content::get_page, content::list_posts, content::get_post, content::get_menu, content::put_menu,
        content::list_pages_as_staff, content::create_page, content::get_page_as_staff, content::update_page,
        content::delete_page, content::page_revisions, content::restore_page_revision,
        content::list_posts_as_staff, content::create_post, content::get_post_as_staff, content::update_post,
        content::delete_post, content::post_revisions, content::restore_post_revision, content::preview,
    ),
    servers((url = "/", description = "this Backroom")),
    modifiers(&BearerAuth, &SelfDescribed, &Conventions),
    tags(
        (name = "operations", description = "health, readiness, metrics and this document"),
        (name = "customers", description = "accounts: sign up, sign in, passwords"),
        (name = "catalog", description = "published products and categories, for anyone"),
        (name = "carts", description = "carts and checkout, for guests (by the cart's id) and customers"),
        (name = "orders", description = "a customer's orders, and a guest's with its token"),
        (name = "content", description = "published pages, posts and menus, for anyone"),
        (name = "staff", description = "staff, admins and API keys with the right scope; customers get 403"),
        (name = "events", description = "the shop's events: the log and the live stream, for staff with the orders scope"),
        (name = "webhooks", description = "merchant webhooks: endpoints, deliveries and their attempts, for staff with the orders scope"),
        (name = "administration", description = "admins only: staff accounts, API keys, the audit log, the shop's settings"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `/openapi.json` and `/docs` are served by the Swagger UI router; list them too.
struct SelfDescribed;

impl Modify for SelfDescribed {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
        use utoipa::openapi::response::ResponseBuilder;
        for (path, id, summary) in [
            ("/openapi.json", "openapi", "This OpenAPI 3.1 document"),
            ("/docs", "docs", "A browsable API reference"),
        ] {
            let operation = OperationBuilder::new()
                .operation_id(Some(id))
                .summary(Some(summary))
                .tag("operations")
                .response("200", ResponseBuilder::new().description(summary).build())
                .build();
            openapi
                .paths
                .paths
                .insert(path.to_owned(), PathItem::new(HttpMethod::Get, operation));
        }
    }
}

/// What every operation shares, written once instead of on every annotation: errors are
/// `application/problem+json`; any operation may answer 400, 429 or 500, one with a body
/// also 413 and 415, one with a body or a query 422, one needing a login also 401; every POST takes an `Idempotency-Key`;
/// operation ids are unique (the staff and public handlers share names).
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, RefOr, Required, Type};

        let idempotency_key = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Makes a retry safe: the first response is replayed for 24 hours (1 to 255 visible ASCII characters)",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[!-~]+$")),
            ))
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (&mut item.get, "get"),
                (&mut item.post, "post"),
                (&mut item.put, "put"),
                (&mut item.patch, "patch"),
                (&mut item.delete, "delete"),
            ];
            for (operation, method) in operations {
                let Some(operation) = operation.as_mut() else { continue };
                if path.starts_with("/v1/admin/") {
                    let id = operation.operation_id.get_or_insert_with(String::new);
                    if !id.starts_with("admin_") {
                        *id = format!("admin_{id}");
                    }
                }
                let mut common = vec![
                    ("400", "malformed request"),
                    ("429", "rate limited; see Retry-After"),
                    ("500", "internal error"),
                ];
                if operation.request_body.is_some() {
                    common.extend([("413", "body over 1 MiB"), ("415", "body not application/json")]);
                }
                let has_query = operation.parameters.iter().flatten().any(|parameter| {
                    matches!(parameter, RefOr::T(p) if matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query))
                });
                if operation.request_body.is_some() || has_query {
                    common.push(("422", "validation failed; `errors` names the fields"));
                }
                if operation.security.is_some() {
                    common.push(("401", "no valid session or API key"));
                }
                if method == "post" {
                    // Every POST takes an Idempotency-Key (contract: Conventions).
                    common.extend([
                        (
                            "409",
                            "idempotency_key_in_use: the first request with this key is still running",
                        ),
                        ("422", "idempotency_key_reused: this key came with another request"),
                    ]);
                }
                for (status, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| {
                            RefOr::T(
                                utoipa::openapi::ResponseBuilder::new()
                                    .description(description)
                                    .content(
                                        "application/problem+json",
                                        utoipa::openapi::Content::new(Some(RefOr::Ref(
                                            utoipa::openapi::Ref::from_schema_name("Problem"),
                                        ))),
                                    )
                                    .build(),
                            )
                        });
                }
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else { continue };
                    if response.description.is_empty() {
                        response.description = status_description(status).to_owned();
                    }
                    if let Some(content) = response.content.shift_remove("application/json") {
                        let is_problem = matches!(&content, RefOr::T(c) if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")));
                        let media = if is_problem {
                            "application/problem+json"
                        } else {
                            "application/json"
                        };
                        response.content.insert(media.to_owned(), content);
                    }
                }
                if method == "post" {
                    // One written on the handler keeps its description, with the shared limits.
                    let parameters = operation.parameters.get_or_insert_with(Vec::new);
                    let written = parameters.iter_mut().find_map(|p| match p {
                        RefOr::T(p) if p.name == "Idempotency-Key" => Some(p),
                        _ => None,
                    });
                    match written {
                        Some(parameter) => parameter.schema.clone_from(&idempotency_key.schema),
                        None => parameters.push(RefOr::T(idempotency_key.clone())),
                    }
                }
            }
        }
    }
}

fn status_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "created",
        "204" => "done, no content",
        "401" => "no valid session or API key",
        "402" => "payment declined",
        "403" => "not allowed for this caller",
        "404" => "not found (or not yours)",
        "409" => "conflict with the current state",
        "422" => "validation failed; `errors` names the fields",
        "502" => "the payment provider failed",
        "503" => "not ready, or timed out",
        _ => "see the problem's `code`",
    }
}

/// `GET /openapi.json`: the document, made on the first request and kept as bytes. Made
/// at start-up and kept as utoipa's tree, it left 40 MB resident in an idle server (its
/// JSON is 650 kB) and was serialized again for every request.
pub async fn serve_document() -> axum::response::Response {
    static DOCUMENT: std::sync::OnceLock<axum::body::Bytes> = std::sync::OnceLock::new();
    let bytes = DOCUMENT.get_or_init(|| {
        let document = exact_json().and_then(|json| serde_json::to_vec(&json));
        axum::body::Bytes::from(document.unwrap_or_else(|error| {
            tracing::error!(%error, "the OpenAPI document could not be written");
            serde_json::to_vec(&ApiDoc::openapi()).unwrap_or_default()
        }))
    });
    ([(axum::http::header::CONTENT_TYPE, "application/json")], bytes.clone()).into_response()
}

/// The document served at `/openapi.json` and committed as `docs/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    exact_document().unwrap_or_else(|error| {
        tracing::error!(%error, "the OpenAPI document could not be made exact");
        ApiDoc::openapi()
    })
}

fn exact_document() -> Result<utoipa::openapi::OpenApi, serde_json::Error> {
    serde_json::from_value(exact_json()?)
}

fn exact_json() -> Result<serde_json::Value, serde_json::Error> {
    let mut json = serde_json::to_value(ApiDoc::openapi())?;
    exact::make_exact(&mut json);
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vocabulary_finds_its_field_and_the_document_reads_back() {
        let mut json = serde_json::to_value(ApiDoc::openapi()).expect("serialize");
        assert_eq!(exact::make_exact(&mut json), Vec::<String>::new());
        let exact = serde_json::to_value(exact_document().expect("read back")).expect("serialize");
        assert_eq!(exact, json, "nothing is lost reading the exact document back");
    }
}
