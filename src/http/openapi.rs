//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{access, admin, auth, carts, catalog, ops, orders};

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
        catalog::list_products, catalog::get_product, catalog::list_categories,
        carts::create_cart, carts::get_cart, carts::add_item, carts::set_quantity, carts::remove_item, carts::checkout,
        orders::list_orders, orders::get_order, orders::order_events,
        admin::create_product, admin::list_products, admin::get_product, admin::update_product, admin::add_variant,
        admin::create_category, admin::adjust_inventory, admin::list_orders, admin::get_order, admin::fulfill_order,
        admin::cancel_order, admin::refund_order, admin::events,
        access::list_staff, access::create_staff, access::list_api_keys, access::create_api_key,
        access::revoke_api_key, access::list_audit,
    ),
    modifiers(&BearerAuth, &SelfDescribed),
    tags(
        (name = "operations"), (name = "customers"), (name = "catalog"), (name = "carts"), (name = "orders"),
        (name = "staff", description = "staff, admins and API keys with the right scope; customers get 403"),
        (name = "administration", description = "admins only: staff accounts, API keys, the audit log"),
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
        for (path, summary) in [
            ("/openapi.json", "This OpenAPI 3.1 document"),
            ("/docs", "A browsable API reference"),
        ] {
            let operation = OperationBuilder::new()
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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
