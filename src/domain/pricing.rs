//! Pricing: the one function that prices a cart, [`price_cart`] (design.md, invariant 6).
//!
//! A cart is priced whenever it is read; checkout freezes the priced cart on the payment
//! attempt, captures exactly its total, and the order is made from that same priced cart,
//! so an order's lines and totals are its cart's by construction. Every amount is integer
//! minor units with checked arithmetic: an overflow is an error, never a wrapped number.
//!
//! Today a price is its lines: no discounts, shipping or tax yet, so those totals are zero
//! and `total == subtotal`. They join here as further steps of `price_cart`.

use serde::{Deserialize, Serialize};

use super::money::{Currency, Money, MoneyError};

/// A line as it comes to be priced: what is bought, how many, at which unit price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineToPrice {
    /// The line's id: a cart line's, or an order item's.
    pub id: String,
    pub variant_id: String,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: Money,
}

/// A priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedLine {
    pub id: String,
    pub variant_id: String,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub unit_price: Money,
    /// `unit_price × quantity`.
    pub line_total: Money,
}

/// The totals of a priced cart (and of the order made from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub subtotal: Money,
    pub discount_total: Money,
    pub shipping_total: Money,
    pub tax_total: Money,
    /// `subtotal - discount_total + shipping_total + tax_total`.
    pub total: Money,
}

/// A cart with every line and total priced: what the customer sees, what the payment
/// captures, what the order keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCart {
    pub currency: Currency,
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
}

/// Prices `lines` in `currency`.
///
/// # Errors
/// `CurrencyMismatch` for a line priced in another currency, `Overflow` when an amount
/// leaves `i64` (prices and quantities are bounded so that no real cart gets there).
pub fn price_cart(currency: Currency, lines: Vec<LineToPrice>) -> Result<PricedCart, MoneyError> {
    let zero = Money::zero(currency);
    let mut subtotal = zero;
    let mut priced = Vec::with_capacity(lines.len());
    for line in lines {
        if line.unit_price.currency != currency {
            return Err(MoneyError::CurrencyMismatch(line.unit_price.currency, currency));
        }
        let line_total = line.unit_price.times(line.quantity)?;
        subtotal = subtotal.checked_add(line_total)?;
        priced.push(PricedLine {
            id: line.id,
            variant_id: line.variant_id,
            sku: line.sku,
            title: line.title,
            quantity: line.quantity,
            unit_price: line.unit_price,
            line_total,
        });
    }
    let (discount_total, shipping_total, tax_total) = (zero, zero, zero);
    let total = subtotal
        .checked_sub(discount_total)?
        .checked_add(shipping_total)?
        .checked_add(tax_total)?;
    Ok(PricedCart {
        currency,
        lines: priced,
        totals: Totals {
            subtotal,
            discount_total,
            shipping_total,
            tax_total,
            total,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, amount: i64, quantity: i64) -> LineToPrice {
        LineToPrice {
            id: id.to_owned(),
            variant_id: format!("var_{id}"),
            sku: id.to_uppercase(),
            title: id.to_owned(),
            quantity,
            unit_price: Money::new(amount, Currency::EUR),
        }
    }

    #[test]
    fn lines_sum_to_the_subtotal_and_the_total() {
        let priced = price_cart(Currency::EUR, vec![line("a", 1250, 2), line("b", 399, 3)]).expect("priced");
        assert_eq!(priced.lines[0].line_total.amount, 2500);
        assert_eq!(priced.lines[1].line_total.amount, 1197);
        assert_eq!(priced.totals.subtotal.amount, 3697);
        assert_eq!(priced.totals.total, priced.totals.subtotal);
        assert_eq!(priced.totals.tax_total.amount, 0);
        let empty = price_cart(Currency::EUR, vec![]).expect("empty");
        assert_eq!(empty.totals.total.amount, 0);
    }

    #[test]
    fn refuses_overflow_and_other_currencies() {
        assert_eq!(
            price_cart(Currency::EUR, vec![line("a", i64::MAX, 2)]),
            Err(MoneyError::Overflow)
        );
        let usd = Currency::parse("USD").expect("usd");
        let mut foreign = line("a", 100, 1);
        foreign.unit_price = Money::new(100, usd);
        assert_eq!(
            price_cart(Currency::EUR, vec![foreign]),
            Err(MoneyError::CurrencyMismatch(usd, Currency::EUR))
        );
    }

    #[test]
    fn a_priced_cart_survives_being_frozen() {
        let priced = price_cart(Currency::EUR, vec![line("a", 1999, 1)]).expect("priced");
        let frozen = serde_json::to_string(&priced).expect("serialize");
        assert_eq!(
            serde_json::from_str::<PricedCart>(&frozen).expect("deserialize"),
            priced
        );
    }
}
