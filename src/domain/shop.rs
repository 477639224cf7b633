//! The shop itself (contract: The shop, currencies, shipping and tax): its name, the
//! currencies it sells in and whether its prices include tax. Anyone may read them; only
//! admins change them.

use std::sync::{Arc, Mutex, PoisonError};

use super::catalog_changes::{CatalogChanges, ReadMark};
use super::events::{self, Notice};
use super::inventory::MAX_STOCK;
use super::money::Currency;
use super::time::Timestamp;
use super::validate::{Checks, MAX_TEXT_CHARS};
use super::{DomainError, DomainResult, Permission, Principal};
use crate::store::shop::{self as store, ShopRow};
use crate::store::{Conn, Store};

/// How many currencies one shop may sell in.
const MAX_CURRENCIES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    pub name: String,
    pub default_currency: Currency,
    /// Every currency the shop sells in, the default among them, in the order staff gave.
    pub currencies: Vec<Currency>,
    pub prices_include_tax: bool,
    /// `inventory.low` fires when a variant's available units fall to this many.
    pub low_stock_threshold: i64,
    pub updated_at: Timestamp,
}

impl Shop {
    pub fn sells_in(&self, currency: Currency) -> bool {
        self.currencies.contains(&currency)
    }

    /// `code` as a currency the shop sells in; `Err` says what is wrong with it.
    pub fn sold_currency(&self, code: &str) -> Result<Currency, String> {
        let currency =
            Currency::parse(code).ok_or_else(|| "must be an ISO 4217 code in upper case, such as EUR".to_owned())?;
        if self.sells_in(currency) {
            Ok(currency)
        } else {
            Err(format!("the shop does not sell in {currency}"))
        }
    }

    /// `requested`, which the shop must sell in, or the shop's default currency.
    ///
    /// # Errors
    /// `Validation` on `currency` for a code that is not ISO 4217 or that the shop does
    /// not sell in.
    pub fn currency_or_default(&self, requested: Option<&str>) -> DomainResult<Currency> {
        match requested {
            None => Ok(self.default_currency),
            Some(code) => self
                .sold_currency(code)
                .map_err(|message| DomainError::invalid("currency", message)),
        }
    }
}

/// A change to the shop's settings: any field, or none.
#[derive(Debug, Clone, Default)]
pub struct ShopPatch {
    pub name: Option<String>,
    pub default_currency: Option<String>,
    pub currencies: Option<Vec<String>>,
    pub prices_include_tax: Option<bool>,
    pub low_stock_threshold: Option<i64>,
}

pub async fn get_shop(db: &Store) -> DomainResult<Shop> {
    let mut conn = db.read().await?;
    load(&mut conn).await
}

/// The shop's settings as last read, kept as a catalog answer is
/// ([`CatalogChanges::still_current`]): a change of settings announces a catalog change
/// ([`update_shop`]), heard at its commit here and within a second by other processes.
///
/// Every catalog read needs the shop's currencies. Read from the database each time, they
/// were one statement of the two that a product read from the database costs.
#[derive(Debug)]
pub struct KeptShop {
    changes: Arc<CatalogChanges>,
    kept: Mutex<Option<(ReadMark, Shop)>>,
}

impl KeptShop {
    pub fn new(changes: Arc<CatalogChanges>) -> KeptShop {
        KeptShop {
            changes,
            kept: Mutex::new(None),
        }
    }

    /// The shop's settings, as current as a catalog answer.
    pub async fn get(&self, db: &Store) -> DomainResult<Shop> {
        if let Some((read, shop)) = &*self.lock()
            && self.changes.still_current(*read, &[])
        {
            return Ok(shop.clone());
        }
        let read = self.changes.mark();
        let shop = get_shop(db).await?;
        *self.lock() = Some((read, shop.clone()));
        Ok(shop)
    }

    /// [`Shop::currency_or_default`] of the kept settings.
    pub async fn currency_or_default(&self, db: &Store, requested: Option<&str>) -> DomainResult<Currency> {
        self.get(db).await?.currency_or_default(requested)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(ReadMark, Shop)>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The shop's settings, read inside the caller's transaction.
pub(crate) async fn load(conn: &mut Conn) -> DomainResult<Shop> {
    parse(store::get_shop(conn).await?)
}

#[tracing::instrument(skip(db, caller))]
pub async fn update_shop(db: &Store, caller: &Principal, patch: ShopPatch) -> DomainResult<Shop> {
    caller.require(Permission::Administration)?;
    let mut tx = db.write().await?;
    let current = load(&mut tx).await?;
    let updated = apply(current, patch)?;
    store::update_shop(&mut tx, &row_of(&updated)).await?;
    // The catalog's answers carry the shop's currencies.
    events::announce(&mut tx, &Notice::Catalog).await?;
    tx.commit().await?;
    Ok(updated)
}

/// `current` with `patch` applied, checked as a whole: the default currency must be one
/// the shop sells in, whichever of the two the patch changed.
fn apply(current: Shop, patch: ShopPatch) -> DomainResult<Shop> {
    let mut checks = Checks::default();
    let name = match &patch.name {
        Some(name) => checks.text("name", name, MAX_TEXT_CHARS),
        None => current.name,
    };
    let currencies = match &patch.currencies {
        Some(codes) => parse_currencies(&mut checks, codes),
        None => current.currencies,
    };
    let default_currency = match &patch.default_currency {
        Some(code) => currency(&mut checks, "default_currency", code),
        None => Some(current.default_currency),
    };
    if let Some(default) = default_currency
        && !currencies.is_empty()
        && !currencies.contains(&default)
    {
        let field = if patch.default_currency.is_some() {
            "default_currency"
        } else {
            "currencies"
        };
        checks.fail(field, format!("the shop must sell in its default currency {default}"));
    }
    let low_stock_threshold = patch.low_stock_threshold.unwrap_or(current.low_stock_threshold);
    if !(0..=MAX_STOCK).contains(&low_stock_threshold) {
        checks.fail("low_stock_threshold", format!("must be between 0 and {MAX_STOCK}"));
    }
    checks.finish()?;
    Ok(Shop {
        name,
        default_currency: default_currency.ok_or_else(|| DomainError::Internal("default currency".to_owned()))?,
        currencies,
        prices_include_tax: patch.prices_include_tax.unwrap_or(current.prices_include_tax),
        low_stock_threshold,
        updated_at: Timestamp::now(),
    })
}

fn parse_currencies(checks: &mut Checks, codes: &[String]) -> Vec<Currency> {
    if codes.is_empty() {
        checks.fail("currencies", "the shop must sell in at least one currency");
    } else if codes.len() > MAX_CURRENCIES {
        checks.fail("currencies", format!("at most {MAX_CURRENCIES} currencies"));
    }
    let mut currencies: Vec<Currency> = Vec::with_capacity(codes.len());
    for (index, code) in codes.iter().enumerate() {
        let field = format!("currencies[{index}]");
        if let Some(parsed) = currency(checks, &field, code) {
            if currencies.contains(&parsed) {
                checks.fail(field, format!("{parsed} is listed twice"));
            } else {
                currencies.push(parsed);
            }
        }
    }
    currencies
}

fn currency(checks: &mut Checks, field: &str, code: &str) -> Option<Currency> {
    let parsed = Currency::parse(code);
    if parsed.is_none() {
        checks.fail(field, "must be an ISO 4217 code in upper case, such as EUR");
    }
    parsed
}

fn parse(row: ShopRow) -> DomainResult<Shop> {
    let corrupt = |what: &str, value: &str| super::catalog::corrupt(what, value);
    let codes: Vec<String> =
        serde_json::from_str(&row.currencies).map_err(|_| corrupt("shop currencies", &row.currencies))?;
    let currencies = codes
        .iter()
        .map(|code| Currency::parse(code).ok_or_else(|| corrupt("shop currency", code)))
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Shop {
        name: row.name,
        default_currency: Currency::parse(&row.default_currency)
            .ok_or_else(|| corrupt("default currency", &row.default_currency))?,
        currencies,
        prices_include_tax: row.prices_include_tax,
        low_stock_threshold: row.low_stock_threshold,
        updated_at: Timestamp(row.updated_at),
    })
}

fn row_of(shop: &Shop) -> ShopRow {
    let codes: Vec<&str> = shop.currencies.iter().map(Currency::as_str).collect();
    ShopRow {
        name: shop.name.clone(),
        default_currency: shop.default_currency.as_str().to_owned(),
        currencies: serde_json::Value::from(codes).to_string(),
        prices_include_tax: shop.prices_include_tax,
        low_stock_threshold: shop.low_stock_threshold,
        updated_at: shop.updated_at.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Shop {
        Shop {
            name: "Backroom".to_owned(),
            default_currency: Currency::EUR,
            currencies: vec![Currency::EUR],
            prices_include_tax: false,
            low_stock_threshold: 5,
            updated_at: Timestamp(0),
        }
    }

    fn fields(result: DomainResult<Shop>) -> Vec<String> {
        match result {
            Err(DomainError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn the_default_currency_is_always_sold() {
        let usd = Currency::parse("USD").expect("usd");
        let both = apply(
            shop(),
            ShopPatch {
                currencies: Some(vec!["EUR".into(), "USD".into()]),
                default_currency: Some("USD".into()),
                ..ShopPatch::default()
            },
        )
        .expect("valid");
        assert_eq!((both.default_currency, both.currencies.len()), (usd, 2));
        let dropped_default = ShopPatch {
            currencies: Some(vec!["USD".into()]),
            ..ShopPatch::default()
        };
        assert_eq!(fields(apply(shop(), dropped_default)), ["currencies"]);
        let unsold_default = ShopPatch {
            default_currency: Some("USD".into()),
            ..ShopPatch::default()
        };
        assert_eq!(fields(apply(shop(), unsold_default)), ["default_currency"]);
    }

    #[test]
    fn bad_codes_and_repeats_are_named() {
        let patch = ShopPatch {
            name: Some("  ".into()),
            currencies: Some(vec!["EUR".into(), "eur".into(), "EUR".into()]),
            ..ShopPatch::default()
        };
        assert_eq!(fields(apply(shop(), patch)), ["name", "currencies[1]", "currencies[2]"]);
        let none = ShopPatch {
            currencies: Some(Vec::new()),
            ..ShopPatch::default()
        };
        assert!(fields(apply(shop(), none)).contains(&"currencies".to_owned()));
    }
}
