//! The API's request and response bodies, kept apart from the domain types so that the
//! two can evolve separately. Requests refuse unknown fields (no mass assignment).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::accounts::{Customer, StaffMember};
use crate::domain::carts::Cart;
use crate::domain::catalog::{Category, Product, Variant};
use crate::domain::inventory::StockLevel;
use crate::domain::money::Money;
use crate::domain::orders::Order;
use crate::domain::pricing::{PricedLine, Totals};
use crate::domain::validate::Address;
use crate::domain::{Page, time::Timestamp};

/// An amount of money in integer minor units (cents for EUR).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Money)]
pub struct MoneyDto {
    #[schema(example = 1999)]
    pub amount: i64,
    /// ISO 4217, upper case.
    #[schema(example = "EUR")]
    pub currency: String,
}

impl From<Money> for MoneyDto {
    fn from(money: Money) -> Self {
        MoneyDto {
            amount: money.amount,
            currency: money.currency.to_string(),
        }
    }
}

fn time(timestamp: Timestamp) -> String {
    timestamp.to_rfc3339()
}

/// A page of a list, newest first; pass `next_cursor` as `cursor` for the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T: ToSchema> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> ListResponse<T> {
    pub fn from_page<D>(page: Page<D>, convert: impl FnMut(D) -> T) -> Self {
        ListResponse {
            data: page.data.into_iter().map(convert).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 100; default 20.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// Words to find in titles and descriptions.
    pub q: Option<String>,
    /// A category id or slug.
    pub category: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    /// `paid`, `fulfilled` or `canceled`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderAccessQuery {
    /// For a guest order: the `token` of the checkout response.
    pub token: Option<String>,
}

// ---- customers and sessions ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// At least 10 characters.
    #[schema(example = "correct horse battery")]
    pub password: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirmRequest {
    /// The token from the reset email.
    pub token: String,
    /// The new password: at least 10 characters.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 10 characters.
    pub new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Customer)]
pub struct CustomerDto {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub created_at: String,
}

impl From<Customer> for CustomerDto {
    fn from(customer: Customer) -> Self {
        CustomerDto {
            id: customer.id,
            email: customer.email,
            name: customer.name,
            created_at: time(customer.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Staff)]
pub struct StaffDto {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    /// `admin` or `staff`.
    pub role: String,
    pub created_at: String,
}

impl From<StaffMember> for StaffDto {
    fn from(staff: StaffMember) -> Self {
        StaffDto {
            id: staff.id,
            email: staff.email,
            name: staff.name,
            role: staff.role.as_str().to_owned(),
            created_at: time(staff.created_at),
        }
    }
}

/// A new session. Send the token as `Authorization: Bearer <token>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub token: String,
    /// For a browser using the session cookie instead of the token: send this back as
    /// `X-CSRF-Token` on every POST, PATCH and DELETE.
    pub csrf_token: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerDto>,
    /// Present instead of `customer` when a staff member logs in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffDto>,
}

// ---- catalog ----

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Variant)]
pub struct VariantDto {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub price: MoneyDto,
    /// Units that can be bought now: on hand minus reserved, never below 0.
    pub available: i64,
    pub options: BTreeMap<String, String>,
}

impl From<Variant> for VariantDto {
    fn from(variant: Variant) -> Self {
        VariantDto {
            id: variant.id,
            sku: variant.sku,
            title: variant.title,
            price: variant.price.into(),
            available: variant.available,
            options: variant.options,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Product)]
pub struct ProductDto {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    /// `draft`, `published` or `archived`.
    pub status: String,
    pub category_ids: Vec<String>,
    pub images: Vec<String>,
    pub variants: Vec<VariantDto>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Product> for ProductDto {
    fn from(product: Product) -> Self {
        ProductDto {
            id: product.id,
            slug: product.slug,
            title: product.title,
            description: product.description,
            status: product.status.as_str().to_owned(),
            category_ids: product.category_ids,
            images: product.images,
            variants: product.variants.into_iter().map(Into::into).collect(),
            created_at: time(product.created_at),
            updated_at: time(product.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Category)]
pub struct CategoryDto {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub parent_id: Option<String>,
    pub created_at: String,
}

impl From<Category> for CategoryDto {
    fn from(category: Category) -> Self {
        CategoryDto {
            id: category.id,
            name: category.name,
            slug: category.slug,
            parent_id: category.parent_id,
            created_at: time(category.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariantRequest {
    pub sku: String,
    pub title: Option<String>,
    pub price: MoneyDto,
    /// Units on hand to start with; default 0.
    pub inventory: Option<i64>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

impl From<NewVariantRequest> for crate::domain::catalog::NewVariant {
    fn from(request: NewVariantRequest) -> Self {
        crate::domain::catalog::NewVariant {
            sku: request.sku,
            title: request.title,
            price_amount: request.price.amount,
            price_currency: request.price.currency,
            inventory: request.inventory,
            options: request.options,
        }
    }
}

/// The fields of a variant that may change; stock changes go through the inventory
/// adjustment, with a reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPatchRequest {
    pub sku: Option<String>,
    pub title: Option<String>,
    /// The new price, in the variant's own currency.
    pub price: Option<MoneyDto>,
}

impl From<VariantPatchRequest> for crate::domain::catalog::VariantPatch {
    fn from(request: VariantPatchRequest) -> Self {
        let (price_amount, price_currency) = match request.price {
            Some(price) => (Some(price.amount), Some(price.currency)),
            None => (None, None),
        };
        crate::domain::catalog::VariantPatch {
            sku: request.sku,
            title: request.title,
            price_amount,
            price_currency,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductRequest {
    pub title: String,
    /// Lower-case letters, digits and hyphens; made from the title when missing.
    pub slug: Option<String>,
    pub description: Option<String>,
    /// `draft` (default), `published` or `archived`.
    pub status: Option<String>,
    #[serde(default)]
    pub category_ids: Vec<String>,
    #[serde(default)]
    pub images: Vec<String>,
    pub variants: Vec<NewVariantRequest>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchRequest {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub category_ids: Option<Vec<String>>,
    pub images: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryRequest {
    pub name: String,
    pub slug: Option<String>,
    pub parent_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustStockRequest {
    /// Units to add (negative to remove).
    pub delta: i64,
    /// Why, for the stock ledger.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StockLevel)]
pub struct StockLevelDto {
    pub variant_id: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

impl StockLevelDto {
    pub fn new(variant_id: String, level: StockLevel) -> Self {
        StockLevelDto {
            variant_id,
            on_hand: level.on_hand,
            reserved: level.reserved,
            available: level.available(),
        }
    }
}

// ---- carts and checkout ----

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCartRequest {
    /// ISO 4217; default EUR.
    pub currency: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    pub variant_id: String,
    /// 1 to 999.
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuantityRequest {
    /// 0 to 999; 0 removes the line.
    pub quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Line)]
pub struct LineDto {
    pub id: String,
    pub variant_id: String,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: MoneyDto,
    pub line_total: MoneyDto,
}

impl From<PricedLine> for LineDto {
    fn from(line: PricedLine) -> Self {
        LineDto {
            id: line.id,
            variant_id: line.variant_id,
            sku: line.sku,
            title: line.title,
            quantity: line.quantity,
            unit_price: line.unit_price.into(),
            line_total: line.line_total.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Cart)]
pub struct CartDto {
    pub id: String,
    pub customer_id: Option<String>,
    pub currency: String,
    pub items: Vec<LineDto>,
    pub subtotal: MoneyDto,
    pub discount_total: MoneyDto,
    pub shipping_total: MoneyDto,
    pub tax_total: MoneyDto,
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
            items: cart.pricing.lines.into_iter().map(Into::into).collect(),
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

/// A postal address; `country` is ISO 3166-1 alpha-2 (upper case).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Address)]
pub struct AddressDto {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    #[schema(example = "DE")]
    pub country: String,
    pub phone: Option<String>,
}

impl From<AddressDto> for Address {
    fn from(a: AddressDto) -> Self {
        Address {
            name: a.name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
        }
    }
}

impl From<Address> for AddressDto {
    fn from(a: Address) -> Self {
        AddressDto {
            name: a.name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PaymentMethod)]
pub struct PaymentMethodDto {
    /// A token of the payment provider; the test provider takes `tok_visa`,
    /// `tok_chargeDeclined`, `tok_chargeDeclinedInsufficientFunds` and
    /// `tok_chargeDeclinedProcessingError`.
    #[schema(example = "tok_visa")]
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CheckoutRequest)]
pub struct CheckoutRequestDto {
    /// Required for a guest cart; defaults to the customer's email.
    pub email: Option<String>,
    pub shipping_address: AddressDto,
    pub payment: PaymentMethodDto,
}

// ---- orders ----

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Payment)]
pub struct PaymentDto {
    pub id: String,
    /// `captured`, `partially_refunded` or `refunded`.
    pub status: String,
    pub amount: MoneyDto,
    pub refunded_amount: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Order)]
pub struct OrderDto {
    pub id: String,
    /// A human-friendly sequence number.
    pub number: i64,
    pub customer_id: Option<String>,
    pub email: String,
    /// `paid`, `fulfilled` or `canceled`.
    pub status: String,
    pub items: Vec<LineDto>,
    pub subtotal: MoneyDto,
    pub discount_total: MoneyDto,
    pub shipping_total: MoneyDto,
    pub tax_total: MoneyDto,
    pub total: MoneyDto,
    pub currency: String,
    pub payment: PaymentDto,
    pub shipping_address: AddressDto,
    pub tracking_number: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Only in a guest checkout's response: opens the order with `?token=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl From<Order> for OrderDto {
    fn from(order: Order) -> Self {
        let Totals {
            subtotal,
            discount_total,
            shipping_total,
            tax_total,
            total,
        } = order.pricing.totals;
        OrderDto {
            id: order.id,
            number: order.number,
            customer_id: order.customer_id,
            email: order.email,
            status: order.status.as_str().to_owned(),
            items: order.pricing.lines.into_iter().map(Into::into).collect(),
            subtotal: subtotal.into(),
            discount_total: discount_total.into(),
            shipping_total: shipping_total.into(),
            tax_total: tax_total.into(),
            total: total.into(),
            currency: order.currency.to_string(),
            payment: PaymentDto {
                id: order.payment.id,
                status: order.payment.status.as_str().to_owned(),
                amount: order.payment.amount.into(),
                refunded_amount: order.payment.refunded_amount.into(),
            },
            shipping_address: order.shipping_address.into(),
            tracking_number: order.tracking_number,
            created_at: time(order.created_at),
            updated_at: time(order.updated_at),
            token: None,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfillRequest {
    pub tracking_number: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units of the order's currency; default: all that is left.
    pub amount: Option<i64>,
}
