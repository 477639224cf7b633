//! Pricing: the one function that prices a cart, [`price_cart`] (design.md, invariant 6).
//!
//! A cart is priced whenever it is read; checkout freezes the priced cart on the payment
//! attempt, captures exactly its total, and the order is made from that same priced cart,
//! so an order's lines and totals are its cart's by construction. Every amount is integer
//! minor units with checked arithmetic: an overflow is an error, never a wrapped number.
//!
//! The steps, in order (the contract's "The shop, currencies, shipping and tax"; worked
//! examples in `docs/pricing.md`):
//! 1. lines: `unit_price × quantity`, summed into the subtotal;
//! 2. discounts ([`discounts`]): which apply, and what each takes off which line;
//! 3. shipping: the chosen option's cost for the cart's weight, 0 once the subtotal less
//!    discounts reaches its `free_over`, or with a free-shipping discount;
//! 4. tax, per line (on what the discounts left of it) and for shipping, each rounded half
//!    up to minor units on its own: added on top of net prices, or taken out of gross
//!    prices when the shop's prices include tax;
//! 5. `total = subtotal - discount_total + shipping_total + (prices include tax ? 0 : tax_total)`.

mod discounts;

use serde::{Deserialize, Serialize};

use self::discounts::LineFacts;
pub use self::discounts::{AppliedDiscount, DiscountEffect, DiscountToApply};
use super::money::{Currency, Money, MoneyError};

/// The tax class of products that name none, and the class shipping is taxed in.
pub const STANDARD_TAX_CLASS: &str = "standard";

/// Basis points in a whole: 10,000 bps = 100 %.
pub(super) const BPS: i64 = 10_000;

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
    /// The weight of one unit, for shipping priced by weight.
    pub weight_grams: i64,
    /// The product's tax class (`standard` unless said).
    pub tax_class: String,
    /// Its product and the product's categories, which discounts may be limited to.
    pub product_id: String,
    pub category_ids: Vec<String>,
}

/// How a shipping option is priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ShippingRate {
    /// One amount, whatever the cart weighs.
    Flat { amount: i64 },
    /// The first tier whose `up_to_grams` is at least the cart's weight; a cart heavier
    /// than every tier cannot be shipped this way.
    Weight { tiers: Vec<WeightTier> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightTier {
    pub up_to_grams: i64,
    pub amount: i64,
}

/// A shipping option as staff defined it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingOption {
    pub id: String,
    pub name: String,
    pub currency: Currency,
    /// ISO 3166-1 alpha-2 codes; empty: every country.
    pub countries: Vec<String>,
    pub rate: ShippingRate,
    /// Minor units: the option costs 0 once the subtotal less discounts reaches this.
    pub free_over: Option<i64>,
}

impl PricedCart {
    /// The subtotal less discounts: what `free_over` and discount minimums compare with.
    pub fn discounted_subtotal(&self) -> i64 {
        self.totals.subtotal.amount - self.totals.discount_total.amount
    }
}

impl ShippingOption {
    /// Whether the option can ship a cart in `currency` to `country` (`None`: no address
    /// yet, when only options for every country fit).
    pub fn serves(&self, currency: Currency, country: Option<&str>) -> bool {
        self.currency == currency
            && (self.countries.is_empty() || country.is_some_and(|country| self.countries.iter().any(|c| c == country)))
    }

    /// What the option costs for a cart weighing `weight_grams` whose subtotal less
    /// discounts is `discounted_subtotal`; `None` when the cart is too heavy for it.
    pub fn cost(&self, weight_grams: i64, discounted_subtotal: i64) -> Option<Money> {
        let amount = match &self.rate {
            ShippingRate::Flat { amount } => *amount,
            ShippingRate::Weight { tiers } => tiers.iter().find(|tier| tier.up_to_grams >= weight_grams)?.amount,
        };
        let free = self.free_over.is_some_and(|free_over| discounted_subtotal >= free_over);
        Some(Money::new(if free { 0 } else { amount }, self.currency))
    }
}

/// A tax rate as staff defined it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRate {
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// ISO 3166-2 subdivision (`US-CA`): wins over the country's rate there.
    pub region: Option<String>,
    pub tax_class: String,
    /// Basis points: 1900 is 19 %.
    pub rate_bps: i64,
}

/// Where the cart ships, as far as tax is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub country: String,
    /// The address's region, written `CA` or `US-CA`.
    pub region: Option<String>,
}

impl Destination {
    /// The rate of `tax_class` here: a rate for the region wins over the country's.
    pub fn rate<'a>(&self, rates: &'a [TaxRate], tax_class: &str) -> Option<&'a TaxRate> {
        let in_class = |rate: &&TaxRate| rate.country == self.country && rate.tax_class == tax_class;
        let regional = self.subdivision().and_then(|subdivision| {
            rates
                .iter()
                .filter(in_class)
                .find(|rate| rate.region.as_deref() == Some(subdivision.as_str()))
        });
        regional.or_else(|| rates.iter().filter(in_class).find(|rate| rate.region.is_none()))
    }

    /// The region as an ISO 3166-2 code (`US-CA`), however the address wrote it.
    fn subdivision(&self) -> Option<String> {
        let region = self.region.as_deref()?.trim().to_ascii_uppercase();
        if region.is_empty() {
            return None;
        }
        let prefix = format!("{}-", self.country);
        Some(if region.starts_with(&prefix) {
            region
        } else {
            format!("{prefix}{region}")
        })
    }
}

/// Everything besides its lines that a cart's price depends on.
#[derive(Debug, Clone, Default)]
pub struct PricingContext {
    /// Prices and shipping amounts already contain their tax.
    pub prices_include_tax: bool,
    /// The chosen shipping option, if any (already checked to serve the cart).
    pub shipping: Option<ShippingOption>,
    /// Where the cart ships; without it there is no tax.
    pub destination: Option<Destination>,
    /// The shop's tax rates.
    pub tax_rates: Vec<TaxRate>,
    /// The discounts offered to the cart: its codes and the automatic ones, usable now.
    pub discounts: Vec<DiscountToApply>,
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
    /// What discounts took off this line.
    #[serde(default)]
    pub discount_total: Option<Money>,
    /// The tax on `line_total - discount_total`: added on top, or contained in it when
    /// prices include tax.
    #[serde(default)]
    pub tax_total: Option<Money>,
}

impl PricedLine {
    pub fn discount(&self) -> Money {
        self.discount_total.unwrap_or(Money::zero(self.line_total.currency))
    }

    pub fn tax(&self) -> Money {
        self.tax_total.unwrap_or(Money::zero(self.line_total.currency))
    }
}

/// The chosen shipping option as priced for the cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedShipping {
    pub id: String,
    pub name: String,
    pub amount: Money,
}

/// One tax rate's share of a cart's tax, items and shipping together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    pub name: String,
    pub rate_bps: i64,
    pub amount: Money,
}

/// The totals of a priced cart (and of the order made from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub subtotal: Money,
    pub discount_total: Money,
    pub shipping_total: Money,
    pub tax_total: Money,
    /// `subtotal - discount_total + shipping_total + (prices include tax ? 0 : tax_total)`.
    pub total: Money,
}

/// A cart with every line and total priced: what the customer sees, what the payment
/// captures, what the order keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedCart {
    pub currency: Currency,
    pub lines: Vec<PricedLine>,
    #[serde(default)]
    pub shipping: Option<PricedShipping>,
    #[serde(default)]
    pub tax_lines: Vec<TaxLine>,
    /// The discounts that apply, in the order they were taken.
    #[serde(default)]
    pub discounts: Vec<AppliedDiscount>,
    #[serde(default)]
    pub prices_include_tax: bool,
    /// What the lines weigh together, for shipping priced by weight.
    #[serde(default)]
    pub weight_grams: i64,
    pub totals: Totals,
}

/// Why a cart cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The chosen shipping option cannot carry the cart (too heavy for every tier).
    #[error("the shipping option cannot carry this cart")]
    ShippingDoesNotFit,
}

/// Prices `lines` in `currency` within `context`.
///
/// # Errors
/// `Money(CurrencyMismatch)` for a line priced in another currency, `Money(Overflow)` when
/// an amount leaves `i64` (prices and quantities are bounded so that no real cart gets
/// there), `ShippingDoesNotFit` when the chosen option cannot carry the cart.
pub fn price_cart(
    currency: Currency,
    lines: Vec<LineToPrice>,
    context: &PricingContext,
) -> Result<PricedCart, PricingError> {
    let zero = Money::zero(currency);
    let mut subtotal = zero;
    let mut weight_grams = 0i64;
    let mut line_totals = Vec::with_capacity(lines.len());
    for line in &lines {
        if line.unit_price.currency != currency {
            return Err(MoneyError::CurrencyMismatch(line.unit_price.currency, currency).into());
        }
        let line_total = line.unit_price.times(line.quantity)?;
        subtotal = subtotal.checked_add(line_total)?;
        weight_grams = line
            .weight_grams
            .checked_mul(line.quantity)
            .and_then(|weight| weight_grams.checked_add(weight))
            .ok_or(MoneyError::Overflow)?;
        line_totals.push(line_total);
    }

    // What shipping would cost after discounts, to weigh free shipping against the others.
    let shipping_after = |discounted_subtotal: i64| {
        context
            .shipping
            .as_ref()
            .and_then(|option| option.cost(weight_grams, discounted_subtotal))
            .map_or(0, |cost| cost.amount)
    };
    let facts: Vec<LineFacts> = lines
        .iter()
        .zip(&line_totals)
        .map(|(line, total)| LineFacts {
            total: total.amount,
            product_id: &line.product_id,
            category_ids: &line.category_ids,
        })
        .collect();
    let discounted = discounts::discount(&context.discounts, &facts, subtotal.amount, &shipping_after)?;

    let mut taxes = TaxLedger::default();
    let mut priced = Vec::with_capacity(lines.len());
    let mut discount_total = zero;
    for ((line, line_total), taken) in lines.into_iter().zip(line_totals).zip(&discounted.per_line) {
        let line_discount = Money::new(*taken, currency);
        discount_total = discount_total.checked_add(line_discount)?;
        let taxable = line_total.checked_sub(line_discount)?;
        let tax_total = taxes.charge(context, &line.tax_class, taxable)?;
        priced.push(PricedLine {
            id: line.id,
            variant_id: line.variant_id,
            sku: line.sku,
            title: line.title,
            quantity: line.quantity,
            unit_price: line.unit_price,
            line_total,
            discount_total: Some(line_discount),
            tax_total: Some(tax_total),
        });
    }
    let discounted_subtotal = subtotal.checked_sub(discount_total)?;

    let mut waived_shipping = zero;
    let shipping = match &context.shipping {
        None => None,
        Some(option) => {
            let mut amount = option
                .cost(weight_grams, discounted_subtotal.amount)
                .ok_or(PricingError::ShippingDoesNotFit)?;
            if amount.currency != currency {
                return Err(MoneyError::CurrencyMismatch(amount.currency, currency).into());
            }
            if discounted.free_shipping {
                waived_shipping = amount;
                amount = zero;
            }
            taxes.charge(context, STANDARD_TAX_CLASS, amount)?;
            Some(PricedShipping {
                id: option.id.clone(),
                name: option.name.clone(),
                amount,
            })
        }
    };
    let applied_discounts = discounted
        .applied
        .iter()
        .map(|&(index, taken)| {
            let discount = &context.discounts[index];
            let waives_shipping = discount.effect == DiscountEffect::FreeShipping;
            // Two free-shipping discounts waive the shipping once: the first shows it.
            let waived = std::mem::replace(&mut waived_shipping, zero);
            if !waives_shipping {
                waived_shipping = waived;
            }
            AppliedDiscount {
                discount_id: discount.id.clone(),
                code: discount.code.clone(),
                description: discount.description.clone(),
                amount: if waives_shipping {
                    waived
                } else {
                    Money::new(taken, currency)
                },
                waives_shipping,
            }
        })
        .collect();
    let shipping_total = shipping.as_ref().map_or(zero, |shipping| shipping.amount);

    let tax_lines = taxes.into_lines(currency);
    let tax_total = tax_lines
        .iter()
        .try_fold(zero, |sum, line| sum.checked_add(line.amount))?;
    let added_tax = if context.prices_include_tax { zero } else { tax_total };
    let total = discounted_subtotal
        .checked_add(shipping_total)?
        .checked_add(added_tax)?;
    Ok(PricedCart {
        currency,
        lines: priced,
        shipping,
        tax_lines,
        discounts: applied_discounts,
        prices_include_tax: context.prices_include_tax,
        weight_grams,
        totals: Totals {
            subtotal,
            discount_total,
            shipping_total,
            tax_total,
            total,
        },
    })
}

/// The tax charged so far, by rate (name and bps), in the order the rates first applied.
#[derive(Default)]
struct TaxLedger {
    by_rate: Vec<(String, i64, i64)>,
}

impl TaxLedger {
    /// Charges the tax of `tax_class` on `base` (net, or gross when prices include tax)
    /// and returns it: zero where no rate applies. A rate shows in the tax lines once it
    /// applies to an amount, even at 0 % (a receipt lists a zero rate), but not to free
    /// shipping, which nothing was taxed on.
    fn charge(&mut self, context: &PricingContext, tax_class: &str, base: Money) -> Result<Money, MoneyError> {
        if base.amount == 0 {
            return Ok(base);
        }
        let Some(rate) = context
            .destination
            .as_ref()
            .and_then(|destination| destination.rate(&context.tax_rates, tax_class))
        else {
            return Ok(Money::zero(base.currency));
        };
        let tax = tax_on(base.amount, rate.rate_bps, context.prices_include_tax)?;
        match self
            .by_rate
            .iter_mut()
            .find(|(name, bps, _)| *name == rate.name && *bps == rate.rate_bps)
        {
            Some((_, _, sum)) => *sum = sum.checked_add(tax).ok_or(MoneyError::Overflow)?,
            None => self.by_rate.push((rate.name.clone(), rate.rate_bps, tax)),
        }
        Ok(Money::new(tax, base.currency))
    }

    fn into_lines(self, currency: Currency) -> Vec<TaxLine> {
        self.by_rate
            .into_iter()
            .map(|(name, rate_bps, amount)| TaxLine {
                name,
                rate_bps,
                amount: Money::new(amount, currency),
            })
            .collect()
    }
}

/// The tax on `base` minor units at `rate_bps`, rounded half up (contract: Tax).
/// Exclusive: `round(base × bps / 10000)`; inclusive (`base` is gross):
/// `base - round(base × 10000 / (10000 + bps))`.
pub fn tax_on(base: i64, rate_bps: i64, prices_include_tax: bool) -> Result<i64, MoneyError> {
    if base < 0 || rate_bps < 0 {
        return Err(MoneyError::Overflow);
    }
    let tax = if prices_include_tax {
        let net = divide_half_up(i128::from(base) * i128::from(BPS), i128::from(BPS + rate_bps));
        i128::from(base) - net
    } else {
        divide_half_up(i128::from(base) * i128::from(rate_bps), i128::from(BPS))
    };
    i64::try_from(tax).map_err(|_| MoneyError::Overflow)
}

/// `numerator / denominator` rounded half up, for a non-negative numerator and a positive
/// denominator (in `i128`, so that no product of two `i64` overflows).
pub(super) fn divide_half_up(numerator: i128, denominator: i128) -> i128 {
    (numerator * 2 + denominator) / (denominator * 2)
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
            weight_grams: 0,
            tax_class: STANDARD_TAX_CLASS.to_owned(),
            product_id: format!("prod_{id}"),
            category_ids: Vec::new(),
        }
    }

    fn rate(name: &str, country: &str, region: Option<&str>, tax_class: &str, rate_bps: i64) -> TaxRate {
        TaxRate {
            id: format!("txr_{name}"),
            name: name.to_owned(),
            country: country.to_owned(),
            region: region.map(str::to_owned),
            tax_class: tax_class.to_owned(),
            rate_bps,
        }
    }

    fn flat(amount: i64, free_over: Option<i64>) -> ShippingOption {
        ShippingOption {
            id: "shp_flat".to_owned(),
            name: "Standard".to_owned(),
            currency: Currency::EUR,
            countries: Vec::new(),
            rate: ShippingRate::Flat { amount },
            free_over,
        }
    }

    fn to(country: &str, region: Option<&str>) -> Option<Destination> {
        Some(Destination {
            country: country.to_owned(),
            region: region.map(str::to_owned),
        })
    }

    fn amounts(priced: &PricedCart) -> [i64; 5] {
        let t = priced.totals;
        [
            t.subtotal.amount,
            t.discount_total.amount,
            t.shipping_total.amount,
            t.tax_total.amount,
            t.total.amount,
        ]
    }

    #[test]
    fn lines_sum_to_the_subtotal_and_the_total() {
        let priced = price_cart(
            Currency::EUR,
            vec![line("a", 1250, 2), line("b", 399, 3)],
            &PricingContext::default(),
        )
        .expect("priced");
        assert_eq!(priced.lines[0].line_total.amount, 2500);
        assert_eq!(priced.lines[1].line_total.amount, 1197);
        assert_eq!(amounts(&priced), [3697, 0, 0, 0, 3697]);
        assert!(priced.shipping.is_none() && priced.tax_lines.is_empty());
        let empty = price_cart(Currency::EUR, vec![], &PricingContext::default()).expect("empty");
        assert_eq!(empty.totals.total.amount, 0);
    }

    #[test]
    fn refuses_overflow_and_other_currencies() {
        assert_eq!(
            price_cart(Currency::EUR, vec![line("a", i64::MAX, 2)], &PricingContext::default()),
            Err(PricingError::Money(MoneyError::Overflow))
        );
        let usd = Currency::parse("USD").expect("usd");
        let mut foreign = line("a", 100, 1);
        foreign.unit_price = Money::new(100, usd);
        assert_eq!(
            price_cart(Currency::EUR, vec![foreign], &PricingContext::default()),
            Err(PricingError::Money(MoneyError::CurrencyMismatch(usd, Currency::EUR)))
        );
    }

    #[test]
    fn rounds_half_up_on_each_side() {
        // 19 % of 1.05: 0.1995 -> 0.20; of 1.00: 0.19 exactly.
        assert_eq!(tax_on(105, 1900, false), Ok(20));
        assert_eq!(tax_on(100, 1900, false), Ok(19));
        // 0.5 of a cent rounds up: 10 % of 0.05 is 0.005 -> 0.01.
        assert_eq!(tax_on(5, 1000, false), Ok(1));
        // Inclusive: 1.19 gross at 19 % holds 0.19; 9.99 gross holds 1.60 (net 8.39495... -> 8.39).
        assert_eq!(tax_on(119, 1900, true), Ok(19));
        assert_eq!(tax_on(999, 1900, true), Ok(160));
        assert_eq!(tax_on(0, 1900, true), Ok(0));
        assert_eq!(tax_on(i64::MAX, 10_000, false), Ok(i64::MAX));
    }

    /// `docs/pricing.md`, example 3: a code and an automatic discount, then shipping and tax
    /// on what they leave.
    #[test]
    fn worked_example_discounts() {
        let discount = |id: &str, code: Option<&str>, effect, min_subtotal| DiscountToApply {
            id: id.to_owned(),
            code: code.map(str::to_owned),
            description: id.to_owned(),
            effect,
            product_ids: Vec::new(),
            category_ids: Vec::new(),
            min_subtotal,
            combinable: true,
        };
        let context = PricingContext {
            discounts: vec![
                discount(
                    "five-off",
                    None,
                    DiscountEffect::FixedAmount { amount: 500 },
                    Some(3000),
                ),
                discount("save10", Some("SAVE10"), DiscountEffect::Percentage { bps: 1000 }, None),
            ],
            prices_include_tax: false,
            shipping: Some(flat(490, Some(3000))),
            destination: to("DE", None),
            tax_rates: vec![
                rate("MwSt 19 %", "DE", None, "standard", 1900),
                rate("MwSt 7 %", "DE", None, "reduced", 700),
            ],
        };
        let mut book = line("book", 999, 1);
        book.tax_class = "reduced".to_owned();
        let priced = price_cart(Currency::EUR, vec![line("mug", 1250, 2), book], &context).expect("priced");
        // 10 %: 250 and 99.9 -> 100; then 5.00 over what is left (2250 and 899): 357.25 ->
        // 357 and 142.74 -> 142, the cent left over to the larger line.
        assert_eq!(priced.lines[0].discount().amount, 250 + 358);
        assert_eq!(priced.lines[1].discount().amount, 100 + 142);
        let applied: Vec<(&str, i64)> = priced
            .discounts
            .iter()
            .map(|applied| (applied.discount_id.as_str(), applied.amount.amount))
            .collect();
        assert_eq!(applied, vec![("save10", 350), ("five-off", 500)]);
        // Shipping stays: 34.99 - 8.50 = 26.49 is below the 30.00 it is free over. Tax on
        // 18.92 (3.5948 -> 3.59), 7.57 (0.5299 -> 0.53) and shipping 4.90 (0.931 -> 0.93).
        assert_eq!(priced.lines[0].tax().amount, 359);
        assert_eq!(priced.lines[1].tax().amount, 53);
        assert_eq!(amounts(&priced), [3499, 850, 490, 505, 3644]);
    }

    /// `docs/pricing.md`, example 1: a tax-exclusive shop (US, California).
    #[test]
    fn worked_example_tax_exclusive() {
        let context = PricingContext {
            discounts: Vec::new(),
            prices_include_tax: false,
            shipping: Some(flat(599, None)),
            destination: to("US", Some("CA")),
            tax_rates: vec![
                rate("US sales tax", "US", None, "standard", 0),
                rate("California sales tax", "US", Some("US-CA"), "standard", 725),
            ],
        };
        let priced =
            price_cart(Currency::EUR, vec![line("mug", 1299, 3), line("tea", 450, 1)], &context).expect("priced");
        // Lines 38.97 and 4.50; tax 2.825325 -> 2.83 and 0.32625 -> 0.33; shipping 5.99
        // carries 0.434275 -> 0.43.
        assert_eq!(priced.lines[0].tax().amount, 283);
        assert_eq!(priced.lines[1].tax().amount, 33);
        assert_eq!(amounts(&priced), [4347, 0, 599, 359, 5305]);
        assert_eq!(
            priced.tax_lines,
            vec![TaxLine {
                name: "California sales tax".to_owned(),
                rate_bps: 725,
                amount: Money::new(359, Currency::EUR),
            }]
        );
    }

    /// `docs/pricing.md`, example 2: a tax-inclusive shop (Germany, two tax classes).
    #[test]
    fn worked_example_tax_inclusive() {
        let mut book = line("book", 2000, 1);
        book.tax_class = "reduced".to_owned();
        let context = PricingContext {
            discounts: Vec::new(),
            prices_include_tax: true,
            shipping: Some(flat(495, None)),
            destination: to("DE", None),
            tax_rates: vec![
                rate("MwSt 19 %", "DE", None, "standard", 1900),
                rate("MwSt 7 %", "DE", None, "reduced", 700),
            ],
        };
        let priced = price_cart(Currency::EUR, vec![line("lamp", 4999, 1), book], &context).expect("priced");
        // Lamp 49.99 holds 49.99 - 42.008... -> 42.01 = 7.98; the book 20.00 holds
        // 20.00 - 18.691... -> 18.69 = 1.31; shipping 4.95 holds 4.95 - 4.159... -> 4.16 = 0.79.
        assert_eq!(priced.lines[0].tax().amount, 798);
        assert_eq!(priced.lines[1].tax().amount, 131);
        assert_eq!(amounts(&priced), [6999, 0, 495, 1008, 7494]);
        let lines: Vec<(&str, i64)> = priced
            .tax_lines
            .iter()
            .map(|line| (line.name.as_str(), line.amount.amount))
            .collect();
        assert_eq!(lines, [("MwSt 19 %", 877), ("MwSt 7 %", 131)]);
    }

    #[test]
    fn no_address_no_tax_and_free_shipping_over_the_threshold() {
        let context = PricingContext {
            discounts: Vec::new(),
            prices_include_tax: false,
            shipping: Some(flat(500, Some(5000))),
            destination: None,
            tax_rates: vec![rate("VAT", "FR", None, "standard", 2000)],
        };
        let below = price_cart(Currency::EUR, vec![line("a", 4999, 1)], &context).expect("priced");
        assert_eq!(amounts(&below), [4999, 0, 500, 0, 5499]);
        let at = price_cart(Currency::EUR, vec![line("a", 5000, 1)], &context).expect("priced");
        assert_eq!(amounts(&at), [5000, 0, 0, 0, 5000]);
    }

    #[test]
    fn weight_tiers_pick_the_first_that_carries_the_cart() {
        let option = ShippingOption {
            rate: ShippingRate::Weight {
                tiers: vec![
                    WeightTier {
                        up_to_grams: 1000,
                        amount: 400,
                    },
                    WeightTier {
                        up_to_grams: 5000,
                        amount: 900,
                    },
                ],
            },
            ..flat(0, None)
        };
        assert_eq!(option.cost(0, 0).map(|m| m.amount), Some(400));
        assert_eq!(option.cost(1000, 0).map(|m| m.amount), Some(400));
        assert_eq!(option.cost(1001, 0).map(|m| m.amount), Some(900));
        assert_eq!(option.cost(5001, 0), None);
        let mut heavy = line("anvil", 100, 2);
        heavy.weight_grams = 3000;
        let context = PricingContext {
            shipping: Some(option),
            ..PricingContext::default()
        };
        assert_eq!(
            price_cart(Currency::EUR, vec![heavy], &context),
            Err(PricingError::ShippingDoesNotFit)
        );
    }

    #[test]
    fn options_serve_their_currency_and_countries() {
        let mut option = flat(500, None);
        assert!(
            option.serves(Currency::EUR, None),
            "every country: fits before an address"
        );
        assert!(option.serves(Currency::EUR, Some("DE")));
        assert!(!option.serves(Currency::parse("USD").expect("usd"), Some("DE")));
        option.countries = vec!["DE".to_owned(), "AT".to_owned()];
        assert!(!option.serves(Currency::EUR, None), "a country list needs an address");
        assert!(option.serves(Currency::EUR, Some("AT")));
        assert!(!option.serves(Currency::EUR, Some("FR")));
    }

    #[test]
    fn a_regional_rate_wins_written_either_way() {
        let rates = vec![
            rate("US", "US", None, "standard", 0),
            rate("CA", "US", Some("US-CA"), "standard", 725),
            rate("CA books", "US", Some("US-CA"), "books", 0),
        ];
        let pick = |region: Option<&str>, class: &str| {
            to("US", region).and_then(|destination| destination.rate(&rates, class).map(|rate| rate.name.clone()))
        };
        assert_eq!(pick(Some("CA"), "standard").as_deref(), Some("CA"));
        assert_eq!(pick(Some("us-ca"), "standard").as_deref(), Some("CA"));
        assert_eq!(pick(Some("NY"), "standard").as_deref(), Some("US"));
        assert_eq!(pick(None, "standard").as_deref(), Some("US"));
        assert_eq!(pick(Some("CA"), "books").as_deref(), Some("CA books"));
        assert_eq!(
            pick(None, "books"),
            None,
            "no rate of the class for the country: no tax"
        );
    }

    #[test]
    fn a_priced_cart_survives_being_frozen_and_old_frozen_carts_still_read() {
        let priced = price_cart(Currency::EUR, vec![line("a", 1999, 1)], &PricingContext::default()).expect("priced");
        let frozen = serde_json::to_string(&priced).expect("serialize");
        assert_eq!(
            serde_json::from_str::<PricedCart>(&frozen).expect("deserialize"),
            priced
        );
        // Frozen before shipping and tax existed (migration 0003's shape).
        let old = r#"{"currency":"EUR","lines":[{"id":"i","variant_id":"v","sku":"S","title":"T","quantity":1,
            "unit_price":{"amount":100,"currency":"EUR"},"line_total":{"amount":100,"currency":"EUR"}}],
            "totals":{"subtotal":{"amount":100,"currency":"EUR"},"discount_total":{"amount":0,"currency":"EUR"},
            "shipping_total":{"amount":0,"currency":"EUR"},"tax_total":{"amount":0,"currency":"EUR"},
            "total":{"amount":100,"currency":"EUR"}}}"#;
        let old: PricedCart = serde_json::from_str(old).expect("an attempt frozen by the previous release");
        assert_eq!(old.lines[0].tax().amount, 0);
        assert!(old.shipping.is_none() && !old.prices_include_tax);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn any_line() -> impl Strategy<Value = LineToPrice> {
            (
                0i64..1_000_000,
                1i64..=999,
                0i64..20_000,
                prop_oneof!["standard", "reduced"],
            )
                .prop_map(|(amount, quantity, weight_grams, tax_class)| LineToPrice {
                    weight_grams,
                    tax_class: tax_class.to_owned(),
                    ..line("l", amount, quantity)
                })
        }

        /// A code or automatic discount of any kind, for every line or only line `l`'s product.
        fn any_discount() -> impl Strategy<Value = DiscountToApply> {
            (
                prop_oneof![
                    (1i64..=10_000).prop_map(|bps| DiscountEffect::Percentage { bps }),
                    (0i64..50_000).prop_map(|amount| DiscountEffect::FixedAmount { amount }),
                    Just(DiscountEffect::FreeShipping),
                ],
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                proptest::option::of(0i64..30_000),
                0u32..1000,
            )
                .prop_map(
                    |(effect, coded, combinable, limited, min_subtotal, n)| DiscountToApply {
                        id: format!("dsc_{n}"),
                        code: coded.then(|| format!("CODE{n}")),
                        description: format!("discount {n}"),
                        effect,
                        product_ids: if limited { vec!["prod_l".to_owned()] } else { Vec::new() },
                        category_ids: Vec::new(),
                        min_subtotal,
                        combinable,
                    },
                )
        }

        fn any_context() -> impl Strategy<Value = PricingContext> {
            (
                any::<bool>(),
                proptest::option::of((0i64..10_000, proptest::option::of(0i64..100_000))),
                any::<bool>(),
                0i64..=10_000,
                0i64..=10_000,
                proptest::collection::vec(any_discount(), 0..4),
            )
                .prop_map(|(inclusive, shipping, addressed, standard, reduced, mut discounts)| {
                    // Each its own id, as discounts have.
                    for (index, discount) in discounts.iter_mut().enumerate() {
                        discount.id = format!("dsc_{index}");
                    }
                    PricingContext {
                        prices_include_tax: inclusive,
                        shipping: shipping.map(|(amount, free_over)| flat(amount, free_over)),
                        destination: if addressed { to("DE", None) } else { None },
                        tax_rates: vec![
                            rate("standard", "DE", None, "standard", standard),
                            rate("reduced", "DE", None, "reduced", reduced),
                        ],
                        discounts,
                    }
                })
        }

        proptest! {
            #[test]
            fn totals_add_up(lines in proptest::collection::vec(any_line(), 0..8), context in any_context()) {
                let priced = price_cart(Currency::EUR, lines, &context).expect("priced");
                let t = priced.totals;
                let added = if context.prices_include_tax { 0 } else { t.tax_total.amount };
                prop_assert_eq!(t.total.amount, t.subtotal.amount - t.discount_total.amount + t.shipping_total.amount + added);
                for amount in [t.subtotal, t.discount_total, t.shipping_total, t.tax_total, t.total] {
                    prop_assert!(amount.amount >= 0);
                }
                let line_sum: i64 = priced.lines.iter().map(|line| line.line_total.amount).sum();
                prop_assert_eq!(line_sum, t.subtotal.amount);
                // Discounts never take a line below zero, and add up to the discount total.
                for line in &priced.lines {
                    prop_assert!(0 <= line.discount().amount && line.discount().amount <= line.line_total.amount);
                }
                let line_discounts: i64 = priced.lines.iter().map(|line| line.discount().amount).sum();
                prop_assert_eq!(line_discounts, t.discount_total.amount);
                let on_lines: i64 = priced.discounts.iter()
                    .filter(|applied| !applied.waives_shipping)
                    .map(|applied| applied.amount.amount).sum();
                prop_assert_eq!(on_lines, line_discounts, "the applied discounts are what the lines lost");
                // At most one non-combinable discount, and then alone.
                let chosen: Vec<&DiscountToApply> = priced.discounts.iter()
                    .filter_map(|applied| context.discounts.iter().find(|d| d.id == applied.discount_id))
                    .collect();
                if chosen.iter().any(|d| !d.combinable) {
                    prop_assert_eq!(chosen.len(), 1);
                }
                let shipping_tax = priced.shipping.as_ref().map_or(0, |shipping| {
                    context.destination.as_ref()
                        .and_then(|d| d.rate(&context.tax_rates, STANDARD_TAX_CLASS))
                        .map_or(0, |rate| tax_on(shipping.amount.amount, rate.rate_bps, context.prices_include_tax).expect("tax"))
                });
                let line_taxes: i64 = priced.lines.iter().map(|line| line.tax().amount).sum();
                prop_assert_eq!(line_taxes + shipping_tax, t.tax_total.amount);
                let tax_lines: i64 = priced.tax_lines.iter().map(|line| line.amount.amount).sum();
                prop_assert_eq!(tax_lines, t.tax_total.amount);
                if context.prices_include_tax {
                    // Tax contained in a price never exceeds the price.
                    for line in &priced.lines {
                        prop_assert!(line.tax().amount <= line.line_total.amount);
                    }
                }
            }
        }
    }
}
