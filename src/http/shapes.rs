//! The shapes several resources share: money, lists and their pages, addresses, and the
//! lines of carts and orders. Request and response bodies are kept apart from the domain
//! types so that the API and the domain can evolve separately; requests refuse unknown
//! fields (no mass assignment).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::Page;
use crate::domain::money::Money;
use crate::domain::pricing::{AppliedDiscount, PricedLine, PricedShipping, TaxLine};
use crate::domain::time::Timestamp;
use crate::domain::validate::Address;

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

/// A time as the API writes it: RFC 3339 in UTC.
pub fn time(timestamp: Timestamp) -> String {
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
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
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
    /// What discounts took off this line.
    pub discount_total: MoneyDto,
    /// The tax on `line_total - discount_total`: on top of it, or contained in it when the
    /// shop's prices include tax.
    pub tax_total: MoneyDto,
}

impl From<PricedLine> for LineDto {
    fn from(line: PricedLine) -> Self {
        let (discount_total, tax_total) = (line.discount(), line.tax());
        LineDto {
            id: line.id,
            variant_id: line.variant_id,
            sku: line.sku,
            title: line.title,
            quantity: line.quantity,
            discount_total: discount_total.into(),
            tax_total: tax_total.into(),
            unit_price: line.unit_price.into(),
            line_total: line.line_total.into(),
        }
    }
}

/// The shipping option a cart or order is charged for.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ChosenShippingOption)]
pub struct ShippingChoiceDto {
    pub id: String,
    pub name: String,
    pub amount: MoneyDto,
}

impl From<PricedShipping> for ShippingChoiceDto {
    fn from(shipping: PricedShipping) -> Self {
        ShippingChoiceDto {
            id: shipping.id,
            name: shipping.name,
            amount: shipping.amount.into(),
        }
    }
}

/// One tax rate's share of the tax, items and shipping together.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TaxLine)]
pub struct TaxLineDto {
    pub name: String,
    /// Basis points: 1900 is 19 %.
    pub rate_bps: i64,
    pub amount: MoneyDto,
}

impl From<TaxLine> for TaxLineDto {
    fn from(line: TaxLine) -> Self {
        TaxLineDto {
            name: line.name,
            rate_bps: line.rate_bps,
            amount: line.amount.into(),
        }
    }
}

/// A discount applied to a cart or order: what it took off the lines, or for free
/// shipping the shipping it waived.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AppliedDiscount)]
pub struct AppliedDiscountDto {
    pub discount_id: String,
    /// `null` for an automatic discount.
    pub code: Option<String>,
    pub description: String,
    pub amount: MoneyDto,
}

impl From<AppliedDiscount> for AppliedDiscountDto {
    fn from(applied: AppliedDiscount) -> Self {
        AppliedDiscountDto {
            discount_id: applied.discount_id,
            code: applied.code,
            description: applied.description,
            amount: applied.amount.into(),
        }
    }
}

/// A postal address; `country` is ISO 3166-1 alpha-2 (upper case).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Address)]
pub struct AddressDto {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(min_length = 1, max_length = 200)]
    pub line1: String,
    pub line2: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub city: String,
    pub region: Option<String>,
    #[schema(min_length = 1, max_length = 20)]
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

/// For a PATCH field that `null` clears: absent is `None`, `null` is `Some(None)`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
