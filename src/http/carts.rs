//! Carts and checkout (contract: Carts and checkout).

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, patch, post};

use super::extract::{ApiJson, ApiPath, Caller, OptionalJson};
use super::idempotency::IDEMPOTENCY_KEY;
use super::orders::OrderDto;
use super::payments::{CheckoutAnswer, RequiresActionDto};
use super::problem::{ApiError, ApiResult, Problem};
use super::shapes::{AddressDto, AppliedDiscountDto, LineDto, MoneyDto, ShippingChoiceDto, TaxLineDto, nullable, time};
use super::{AppState, Created, Json};
use crate::domain::carts;
use crate::domain::carts::{Cart, CartDetails};
use crate::domain::checkout::{self, CheckoutRequest};
use crate::domain::pricing::Totals;
use crate::domain::validate::Checks;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/carts", post(create_cart))
        .route("/v1/carts/{id}", get(get_cart).patch(update_cart))
        .route("/v1/carts/{id}/shipping-options", get(shipping_options))
        .route("/v1/carts/{id}/items", post(add_item))
        .route(
            "/v1/carts/{id}/items/{item_id}",
            patch(set_quantity).delete(remove_item),
        )
        .route("/v1/carts/{id}/checkout", post(checkout))
        .route("/v1/carts/{id}/discount-codes", post(apply_code))
        .route(
            "/v1/carts/{id}/discount-codes/{code}",
            axum::routing::delete(remove_code),
        )
}

/// Puts a discount code on the cart (case does not count). A code that cannot go on it is
/// 422 `discount_invalid` with its `reason`; nothing changes.
#[utoipa::path(post, path = "/v1/carts/{id}/discount-codes", tag = "carts", security((), ("bearer" = [])), params(("id" = String, Path)),
    request_body = ApplyCodeRequest,
    responses((status = 200, body = CartDto), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem, description = "`discount_invalid` with a `reason`, or a bad body")))]
pub async fn apply_code(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ApplyCodeRequest>,
) -> ApiResult<Json<CartDto>> {
    Ok(Json(
        carts::apply_code(&state.store, &caller, &id, &body.code).await?.into(),
    ))
}

/// Takes a discount code off the cart.
#[utoipa::path(delete, path = "/v1/carts/{id}/discount-codes/{code}", tag = "carts", security((), ("bearer" = [])),
    params(("id" = String, Path), ("code" = String, Path)),
    responses((status = 200, body = CartDto), (status = 404, body = Problem, description = "no such cart, or it does not hold the code"),
              (status = 409, body = Problem)))]
pub async fn remove_code(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, code)): ApiPath<(String, String)>,
) -> ApiResult<Json<CartDto>> {
    Ok(Json(
        carts::remove_code(&state.store, &caller, &id, &code).await?.into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyCodeRequest {
    pub code: String,
}

/// Creates a cart: the caller's with a customer token, else a guest cart reachable by its id.
#[utoipa::path(post, path = "/v1/carts", tag = "carts", security((), ("bearer" = [])), request_body(content = Option<CreateCartRequest>),
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response of a retried request")),
    responses((status = 201, body = CartDto), (status = 422, body = Problem)))]
pub async fn create_cart(
    State(state): State<AppState>,
    Caller(caller): Caller,
    OptionalJson(body): OptionalJson<CreateCartRequest>,
) -> ApiResult<Created<CartDto>> {
    Ok(Created(
        carts::create_cart(&state.store, &caller, body.currency.as_deref())
            .await?
            .into(),
    ))
}

/// A cart with its lines priced now: shipping, tax, discounts and the total.
#[utoipa::path(get, path = "/v1/carts/{id}", tag = "carts", security((), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = CartDto), (status = 404, body = Problem)))]
pub async fn get_cart(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CartDto>> {
    Ok(Json(carts::get_cart(&state.store, &caller, &id).await?.into()))
}

/// Sets the cart's email, shipping address or shipping option (`null` clears one). The
/// cart is priced with them: shipping, and tax once it has an address.
#[utoipa::path(patch, path = "/v1/carts/{id}", tag = "carts", security((), ("bearer" = [])), params(("id" = String, Path)), request_body = CartPatchRequest,
    responses((status = 200, body = CartDto), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_cart(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CartPatchRequest>,
) -> ApiResult<Json<CartDto>> {
    let details = CartDetails {
        email: body.email,
        shipping_address: body.shipping_address.map(|address| address.map(Into::into)),
        shipping_option_id: body.shipping_option_id,
        currency: body.currency,
    };
    Ok(Json(
        carts::update_cart(&state.store, &caller, &id, details).await?.into(),
    ))
}

/// The shipping options that serve the cart (its currency, country and weight), each
/// priced for it.
#[utoipa::path(get, path = "/v1/carts/{id}/shipping-options", tag = "carts", security((), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ShippingChoicesResponse), (status = 404, body = Problem)))]
pub async fn shipping_options(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ShippingChoicesResponse>> {
    let options = carts::shipping_options_for_cart(&state.store, &caller, &id).await?;
    Ok(Json(ShippingChoicesResponse {
        data: options.into_iter().map(Into::into).collect(),
    }))
}

/// Adds a variant; the same variant again adds to its line.
#[utoipa::path(post, path = "/v1/carts/{id}/items", tag = "carts", security((), ("bearer" = [])), params(("id" = String, Path)), request_body = AddItemRequest,
    responses((status = 200, body = CartDto), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn add_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddItemRequest>,
) -> ApiResult<Json<CartDto>> {
    Ok(Json(
        carts::add_item(&state.store, &caller, &id, &body.variant_id, body.quantity)
            .await?
            .into(),
    ))
}

/// Sets a line's quantity; 0 removes it.
#[utoipa::path(patch, path = "/v1/carts/{id}/items/{item_id}", tag = "carts", security((), ("bearer" = [])),
    params(("id" = String, Path), ("item_id" = String, Path)), request_body = SetQuantityRequest,
    responses((status = 200, body = CartDto), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn set_quantity(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, item_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SetQuantityRequest>,
) -> ApiResult<Json<CartDto>> {
    Ok(Json(
        carts::set_quantity(&state.store, &caller, &id, &item_id, body.quantity)
            .await?
            .into(),
    ))
}

/// Removes a line from the cart.
#[utoipa::path(delete, path = "/v1/carts/{id}/items/{item_id}", tag = "carts", security((), ("bearer" = [])),
    params(("id" = String, Path), ("item_id" = String, Path)),
    responses((status = 200, body = CartDto), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn remove_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((id, item_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<CartDto>> {
    Ok(Json(
        carts::remove_item(&state.store, &caller, &id, &item_id).await?.into(),
    ))
}

/// Pays for the cart: reserves its stock, captures the payment and places the order, or
/// does none of these. With Stripe, a card that needs 3-D Secure answers 202: the
/// customer finishes in their browser, then `POST /v1/payments/{id}/confirm`.
#[utoipa::path(post, path = "/v1/carts/{id}/checkout", tag = "carts", security((), ("bearer" = [])), params(("id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "makes retries safe: one order, one charge")),
    request_body = CheckoutRequestDto,
    responses((status = 201, body = OrderDto), (status = 202, body = RequiresActionDto, description = "the customer must finish an action (3-D Secure)"),
              (status = 402, body = Problem, description = "payment_declined"),
              (status = 404, body = Problem), (status = 409, body = Problem, description = "out_of_stock, price_changed (a line's price changed since the cart last changed: it now shows the new price, and a new checkout pays it) or conflict"),
              (status = 422, body = Problem), (status = 502, body = Problem, description = "payment_provider_error: nothing was charged; or the provider's answer was lost, and the payment is held until it is known (retry with the same Idempotency-Key to learn it)")))]
pub async fn checkout(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CheckoutRequestDto>,
) -> ApiResult<CheckoutAnswer> {
    let request = CheckoutRequest {
        email: body.email,
        shipping_address: body.shipping_address.map(Into::into),
        shipping_option_id: body.shipping_option_id,
        payment_method: body.payment.into_method(state.payments.name())?,
        idempotency_key: headers
            .get(IDEMPOTENCY_KEY)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let placed = super::detached(async move {
        checkout::checkout(&state.store, &state.payments, state.checkout, &caller, &id, request).await
    })
    .await?;
    crate::faults::crash_if(crate::faults::FaultPoint::BeforeResponse);
    Ok(placed.into())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCartRequest {
    /// ISO 4217, one the shop sells in; default: the shop's default currency.
    pub currency: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartPatchRequest {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<AddressDto>)]
    pub shipping_address: Option<Option<AddressDto>>,
    /// One of `GET /v1/carts/{id}/shipping-options`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub shipping_option_id: Option<Option<String>>,
    /// Another currency the shop sells in: every line is priced in it (each must be sold in
    /// it: 422 `not_sold_in_currency` otherwise) and the chosen shipping option is dropped.
    pub currency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingChoicesResponse {
    pub data: Vec<ShippingChoiceDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    pub variant_id: String,
    /// 1 to 999.
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuantityRequest {
    /// 0 to 999; 0 removes the line.
    #[schema(minimum = 0, maximum = 999)]
    pub quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Cart)]
pub struct CartDto {
    pub id: String,
    pub customer_id: Option<String>,
    pub currency: String,
    pub email: Option<String>,
    pub shipping_address: Option<AddressDto>,
    /// The chosen option while it serves the cart, priced for it.
    pub shipping_option: Option<ShippingChoiceDto>,
    pub items: Vec<LineDto>,
    pub discounts: Vec<AppliedDiscountDto>,
    /// One entry per tax rate, items and shipping together; they add up to `tax_total`.
    pub tax_lines: Vec<TaxLineDto>,
    pub subtotal: MoneyDto,
    pub discount_total: MoneyDto,
    pub shipping_total: MoneyDto,
    /// Added on top of the total, or contained in it when the shop's prices include tax.
    pub tax_total: MoneyDto,
    /// `subtotal - discount_total + shipping_total` (+ `tax_total` unless prices include tax).
    pub total: MoneyDto,
    /// Goes up with every change.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Cart> for CartDto {
    fn from(cart: Cart) -> Self {
        let Totals {
            subtotal,
            discount_total,
            shipping_total,
            tax_total,
            total,
        } = cart.pricing.totals;
        CartDto {
            id: cart.id,
            customer_id: cart.customer_id,
            currency: cart.currency.to_string(),
            email: cart.email,
            shipping_address: cart.shipping_address.map(Into::into),
            shipping_option: cart.pricing.shipping.map(Into::into),
            items: cart.pricing.lines.into_iter().map(Into::into).collect(),
            discounts: cart.pricing.discounts.into_iter().map(Into::into).collect(),
            tax_lines: cart.pricing.tax_lines.into_iter().map(Into::into).collect(),
            subtotal: subtotal.into(),
            discount_total: discount_total.into(),
            shipping_total: shipping_total.into(),
            tax_total: tax_total.into(),
            total: total.into(),
            version: cart.version,
            created_at: time(cart.created_at),
            updated_at: time(cart.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PaymentMethod)]
pub struct PaymentMethodDto {
    /// With the test provider: `tok_visa`, `tok_chargeDeclined`,
    /// `tok_chargeDeclinedInsufficientFunds` or `tok_chargeDeclinedProcessingError`.
    #[schema(example = "tok_visa")]
    pub token: Option<String>,
    /// With Stripe: a PaymentMethod id (`pm_...`) made by Stripe.js.
    pub payment_method: Option<String>,
}

impl PaymentMethodDto {
    /// The one field the shop's provider takes; the other is refused by name.
    fn into_method(self, provider: &str) -> Result<String, ApiError> {
        let (wanted, other, given, refused) = match provider {
            "stripe" => (
                "payment.payment_method",
                "payment.token",
                self.payment_method,
                self.token,
            ),
            _ => (
                "payment.token",
                "payment.payment_method",
                self.token,
                self.payment_method,
            ),
        };
        let mut checks = Checks::default();
        if refused.is_some() {
            checks.fail(
                other,
                format!("is not taken by this shop's payment provider ({provider}); send {wanted}"),
            );
        }
        if given.is_none() {
            checks.fail(wanted, "is required");
        }
        checks.finish()?;
        Ok(given.unwrap_or_default())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CheckoutRequest)]
pub struct CheckoutRequestDto {
    /// Required for a guest cart without one; defaults to the cart's, then the customer's email.
    pub email: Option<String>,
    /// Required when the cart has none.
    pub shipping_address: Option<AddressDto>,
    /// Required when the shop has shipping options and the cart has none chosen.
    pub shipping_option_id: Option<String>,
    pub payment: PaymentMethodDto,
}
