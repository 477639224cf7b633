//! Shipping options and tax rates, as staff define them (contract: The shop, currencies,
//! shipping and tax). Pricing uses them through [`super::pricing`], whose types they are;
//! this module checks what staff send and keeps them.

use super::catalog::MAX_PRICE;
use super::countries::is_country;
use super::ids;
use super::money::Currency;
use super::pricing::{STANDARD_TAX_CLASS, ShippingOption, ShippingRate, TaxRate, WeightTier};
use super::time::Timestamp;
use super::validate::{Checks, MAX_TEXT_CHARS};
use super::{DomainError, DomainResult, Page, PageRequest, Permission, Principal};
use crate::store::shipping::{self as store, ShippingOptionRow, TaxRateRow};
use crate::store::{Conn, Store};

/// Weight tiers one option may have.
const MAX_TIERS: usize = 50;
/// Countries one option may list.
const MAX_COUNTRIES: usize = 250;
/// The heaviest tier: 100 tonnes, in grams.
const MAX_GRAMS: i64 = 100_000_000;

/// A shipping option as sent: every field for a new one, any of them for a change.
#[derive(Debug, Clone, Default)]
pub struct ShippingOptionInput {
    pub name: Option<String>,
    pub currency: Option<String>,
    pub countries: Option<Vec<String>>,
    pub rate: Option<ShippingRate>,
    /// `Some(None)` clears it.
    pub free_over: Option<Option<i64>>,
}

/// A tax rate as sent: every required field for a new one, any of them for a change.
#[derive(Debug, Clone, Default)]
pub struct TaxRateInput {
    pub name: Option<String>,
    pub country: Option<String>,
    /// `Some(None)` clears it.
    pub region: Option<Option<String>>,
    pub tax_class: Option<String>,
    pub rate_bps: Option<i64>,
}

pub async fn create_shipping_option(
    db: &Store,
    caller: &Principal,
    input: ShippingOptionInput,
) -> DomainResult<ShippingOption> {
    caller.require(Permission::Catalog)?;
    let mut tx = db.write().await?;
    let shop = super::shop::load(&mut tx).await?;
    let mut checks = Checks::default();
    for (field, missing) in [
        ("name", input.name.is_none()),
        ("currency", input.currency.is_none()),
        ("rate", input.rate.is_none()),
    ] {
        if missing {
            checks.fail(field, "is required");
        }
    }
    checks.finish()?;
    let blank = ShippingOption {
        id: ids::new_id("shp"),
        name: String::new(),
        currency: shop.default_currency,
        countries: Vec::new(),
        rate: ShippingRate::Flat { amount: 0 },
        free_over: None,
    };
    let option = apply_option(blank, input, &shop)?;
    let now = Timestamp::now().0;
    store::insert_shipping_option(&mut tx, &option_row(&option, now, now)).await?;
    tx.commit().await?;
    Ok(option)
}

pub async fn update_shipping_option(
    db: &Store,
    caller: &Principal,
    id: &str,
    input: ShippingOptionInput,
) -> DomainResult<ShippingOption> {
    caller.require(Permission::Catalog)?;
    let mut tx = db.write().await?;
    let shop = super::shop::load(&mut tx).await?;
    let row = store::find_shipping_option(&mut tx, id)
        .await?
        .ok_or(DomainError::NotFound("shipping option"))?;
    let created_at = row.created_at;
    let option = apply_option(option_from_row(row)?, input, &shop)?;
    if !store::update_shipping_option(&mut tx, &option_row(&option, created_at, Timestamp::now().0)).await? {
        return Err(DomainError::NotFound("shipping option"));
    }
    tx.commit().await?;
    Ok(option)
}

pub async fn get_shipping_option(db: &Store, caller: &Principal, id: &str) -> DomainResult<ShippingOption> {
    caller.require(Permission::Catalog)?;
    let mut conn = db.read().await?;
    let row = store::find_shipping_option(&mut conn, id)
        .await?
        .ok_or(DomainError::NotFound("shipping option"))?;
    option_from_row(row)
}

pub async fn list_shipping_options(
    db: &Store,
    caller: &Principal,
    page: &PageRequest,
) -> DomainResult<Page<ShippingOption>> {
    caller.require(Permission::Catalog)?;
    let mut conn = db.read().await?;
    let rows = store::list_shipping_options(&mut conn, page.before(), page.fetch_limit()).await?;
    let options = rows.into_iter().map(option_from_row).collect::<DomainResult<_>>()?;
    Ok(page.into_page(options, |option: &ShippingOption| &option.id))
}

pub async fn delete_shipping_option(db: &Store, caller: &Principal, id: &str) -> DomainResult<()> {
    caller.require(Permission::Catalog)?;
    let mut tx = db.write().await?;
    if !store::delete_shipping_option(&mut tx, id).await? {
        return Err(DomainError::NotFound("shipping option"));
    }
    tx.commit().await?;
    Ok(())
}

/// The options in `currency` (for pricing carts; a shop has a handful).
pub(crate) async fn options_in(conn: &mut Conn, currency: Currency) -> DomainResult<Vec<ShippingOption>> {
    let rows = store::list_shipping_options_in(conn, currency.as_str()).await?;
    rows.into_iter().map(option_from_row).collect()
}

pub(crate) async fn find_option(conn: &mut Conn, id: &str) -> DomainResult<Option<ShippingOption>> {
    store::find_shipping_option(conn, id)
        .await?
        .map(option_from_row)
        .transpose()
}

/// Whether the shop ships at all: then checkout needs a shipping option.
pub async fn shop_ships(db: &Store) -> DomainResult<bool> {
    let mut conn = db.read().await?;
    ships(&mut conn).await
}

pub(crate) async fn ships(conn: &mut Conn) -> DomainResult<bool> {
    Ok(store::any_shipping_option(conn).await?)
}

/// `option` with `input` applied and checked as a whole.
fn apply_option(
    mut option: ShippingOption,
    input: ShippingOptionInput,
    shop: &super::shop::Shop,
) -> DomainResult<ShippingOption> {
    let mut checks = Checks::default();
    if let Some(name) = &input.name {
        option.name = checks.text("name", name, MAX_TEXT_CHARS);
    }
    if let Some(code) = &input.currency {
        match Currency::parse(code) {
            Some(currency) if shop.sells_in(currency) => option.currency = currency,
            Some(currency) => checks.fail("currency", format!("the shop does not sell in {currency}")),
            None => checks.fail("currency", "must be an ISO 4217 code in upper case, such as EUR"),
        }
    }
    if let Some(countries) = input.countries {
        option.countries = parse_countries(&mut checks, countries);
    }
    if let Some(rate) = input.rate {
        check_rate(&mut checks, &rate);
        option.rate = rate;
    }
    if let Some(free_over) = input.free_over {
        if free_over.is_some_and(|amount| !(0..=MAX_PRICE).contains(&amount)) {
            checks.fail("free_over", format!("must be between 0 and {MAX_PRICE}"));
        }
        option.free_over = free_over;
    }
    checks.finish()?;
    Ok(option)
}

fn parse_countries(checks: &mut Checks, countries: Vec<String>) -> Vec<String> {
    if countries.len() > MAX_COUNTRIES {
        checks.fail("countries", format!("at most {MAX_COUNTRIES} countries"));
    }
    let mut kept: Vec<String> = Vec::with_capacity(countries.len());
    for (index, code) in countries.into_iter().enumerate() {
        let field = format!("countries[{index}]");
        if !is_country(&code) {
            checks.fail(field, "must be an ISO 3166-1 alpha-2 country code such as DE or US");
        } else if kept.contains(&code) {
            checks.fail(field, format!("{code} is listed twice"));
        } else {
            kept.push(code);
        }
    }
    kept
}

fn check_rate(checks: &mut Checks, rate: &ShippingRate) {
    let amount_ok = |amount: i64| (0..=MAX_PRICE).contains(&amount);
    match rate {
        ShippingRate::Flat { amount } => {
            if !amount_ok(*amount) {
                checks.fail("rate.amount", format!("must be between 0 and {MAX_PRICE}"));
            }
        }
        ShippingRate::Weight { tiers } => {
            if tiers.is_empty() || tiers.len() > MAX_TIERS {
                checks.fail("rate.tiers", format!("must hold 1 to {MAX_TIERS} tiers"));
            }
            let mut lighter: Option<i64> = None;
            for (index, WeightTier { up_to_grams, amount }) in tiers.iter().enumerate() {
                if !(1..=MAX_GRAMS).contains(up_to_grams) {
                    checks.fail(
                        format!("rate.tiers[{index}].up_to_grams"),
                        format!("must be between 1 and {MAX_GRAMS}"),
                    );
                } else if lighter.is_some_and(|previous| *up_to_grams <= previous) {
                    checks.fail(
                        format!("rate.tiers[{index}].up_to_grams"),
                        "tiers must go from the lightest to the heaviest",
                    );
                }
                if !amount_ok(*amount) {
                    checks.fail(
                        format!("rate.tiers[{index}].amount"),
                        format!("must be between 0 and {MAX_PRICE}"),
                    );
                }
                lighter = Some(*up_to_grams);
            }
        }
    }
}

fn option_row(option: &ShippingOption, created_at: i64, updated_at: i64) -> ShippingOptionRow {
    ShippingOptionRow {
        id: option.id.clone(),
        name: option.name.clone(),
        currency: option.currency.as_str().to_owned(),
        countries: serde_json::Value::from(option.countries.clone()).to_string(),
        rate: serde_json::to_value(&option.rate).map_or_else(|_| "{}".to_owned(), |rate| rate.to_string()),
        free_over: option.free_over,
        created_at,
        updated_at,
    }
}

fn option_from_row(row: ShippingOptionRow) -> DomainResult<ShippingOption> {
    let corrupt = super::catalog::corrupt;
    Ok(ShippingOption {
        currency: Currency::parse(&row.currency).ok_or_else(|| corrupt("currency", &row.currency))?,
        countries: serde_json::from_str(&row.countries).map_err(|_| corrupt("countries", &row.countries))?,
        rate: serde_json::from_str(&row.rate).map_err(|_| corrupt("shipping rate", &row.rate))?,
        id: row.id,
        name: row.name,
        free_over: row.free_over,
    })
}

pub async fn create_tax_rate(db: &Store, caller: &Principal, input: TaxRateInput) -> DomainResult<TaxRate> {
    caller.require(Permission::Catalog)?;
    let mut checks = Checks::default();
    for (field, missing) in [
        ("name", input.name.is_none()),
        ("country", input.country.is_none()),
        ("rate_bps", input.rate_bps.is_none()),
    ] {
        if missing {
            checks.fail(field, "is required");
        }
    }
    checks.finish()?;
    let blank = TaxRate {
        id: ids::new_id("txr"),
        name: String::new(),
        country: String::new(),
        region: None,
        tax_class: STANDARD_TAX_CLASS.to_owned(),
        rate_bps: 0,
    };
    let rate = apply_rate(blank, input)?;
    let now = Timestamp::now().0;
    let mut tx = db.write().await?;
    store::insert_tax_rate(&mut tx, &rate_row(&rate, now, now)).await?;
    tx.commit().await?;
    Ok(rate)
}

pub async fn update_tax_rate(db: &Store, caller: &Principal, id: &str, input: TaxRateInput) -> DomainResult<TaxRate> {
    caller.require(Permission::Catalog)?;
    let mut tx = db.write().await?;
    let row = store::find_tax_rate(&mut tx, id)
        .await?
        .ok_or(DomainError::NotFound("tax rate"))?;
    let created_at = row.created_at;
    let rate = apply_rate(rate_from_row(row), input)?;
    if !store::update_tax_rate(&mut tx, &rate_row(&rate, created_at, Timestamp::now().0)).await? {
        return Err(DomainError::NotFound("tax rate"));
    }
    tx.commit().await?;
    Ok(rate)
}

pub async fn get_tax_rate(db: &Store, caller: &Principal, id: &str) -> DomainResult<TaxRate> {
    caller.require(Permission::Catalog)?;
    let mut conn = db.read().await?;
    let row = store::find_tax_rate(&mut conn, id)
        .await?
        .ok_or(DomainError::NotFound("tax rate"))?;
    Ok(rate_from_row(row))
}

pub async fn list_tax_rates(db: &Store, caller: &Principal, page: &PageRequest) -> DomainResult<Page<TaxRate>> {
    caller.require(Permission::Catalog)?;
    let mut conn = db.read().await?;
    let rows = store::list_tax_rates(&mut conn, page.before(), page.fetch_limit()).await?;
    let rates = rows.into_iter().map(rate_from_row).collect();
    Ok(page.into_page(rates, |rate: &TaxRate| &rate.id))
}

pub async fn delete_tax_rate(db: &Store, caller: &Principal, id: &str) -> DomainResult<()> {
    caller.require(Permission::Catalog)?;
    let mut tx = db.write().await?;
    if !store::delete_tax_rate(&mut tx, id).await? {
        return Err(DomainError::NotFound("tax rate"));
    }
    tx.commit().await?;
    Ok(())
}

/// The rates of `country`, every class and region of it (for pricing carts).
pub(crate) async fn rates_of(conn: &mut Conn, country: &str) -> DomainResult<Vec<TaxRate>> {
    let rows = store::list_tax_rates_of_country(conn, country).await?;
    Ok(rows.into_iter().map(rate_from_row).collect())
}

/// `rate` with `input` applied and checked as a whole: a region must lie in the country.
fn apply_rate(mut rate: TaxRate, input: TaxRateInput) -> DomainResult<TaxRate> {
    let mut checks = Checks::default();
    if let Some(name) = &input.name {
        rate.name = checks.text("name", name, MAX_TEXT_CHARS);
    }
    if let Some(country) = input.country {
        if !is_country(&country) {
            checks.fail("country", "must be an ISO 3166-1 alpha-2 country code such as DE or US");
        }
        rate.country = country;
    }
    if let Some(region) = input.region {
        // `CA` with country `US` is `US-CA`, as an address may write it.
        rate.region = region.map(|region| {
            if region.contains('-') {
                region
            } else {
                format!("{}-{region}", rate.country)
            }
        });
    }
    if let Some(region) = &rate.region
        && !is_subdivision_of(region, &rate.country)
    {
        checks.fail(
            "region",
            format!(
                "must be an ISO 3166-2 code of {} such as {}-CA",
                rate.country, rate.country
            ),
        );
    }
    if let Some(tax_class) = input.tax_class {
        if !super::validate::is_slug(&tax_class) {
            checks.fail(
                "tax_class",
                "must be lower-case letters, digits and hyphens, such as reduced",
            );
        }
        rate.tax_class = tax_class;
    }
    if let Some(rate_bps) = input.rate_bps {
        if !(0..=10_000).contains(&rate_bps) {
            checks.fail("rate_bps", "must be between 0 % and 100 % (0 to 10000 basis points)");
        }
        rate.rate_bps = rate_bps;
    }
    checks.finish()?;
    Ok(rate)
}

/// `US-CA` for country `US`: the country, a hyphen, and 1 to 3 letters or digits.
fn is_subdivision_of(region: &str, country: &str) -> bool {
    region
        .strip_prefix(country)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|code| {
            (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}

fn rate_row(rate: &TaxRate, created_at: i64, updated_at: i64) -> TaxRateRow {
    TaxRateRow {
        id: rate.id.clone(),
        name: rate.name.clone(),
        country: rate.country.clone(),
        region: rate.region.clone(),
        tax_class: rate.tax_class.clone(),
        rate_bps: rate.rate_bps,
        created_at,
        updated_at,
    }
}

fn rate_from_row(row: TaxRateRow) -> TaxRate {
    TaxRate {
        id: row.id,
        name: row.name,
        country: row.country,
        region: row.region,
        tax_class: row.tax_class,
        rate_bps: row.rate_bps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_belong_to_their_country() {
        assert!(is_subdivision_of("US-CA", "US"));
        assert!(is_subdivision_of("FR-75", "FR"));
        assert!(!is_subdivision_of("CA", "US"));
        assert!(!is_subdivision_of("DE-BY", "US"));
        assert!(!is_subdivision_of("US-", "US"));
        assert!(!is_subdivision_of("US-CALI", "US"));
        assert!(!is_subdivision_of("US-ca", "US"));
    }
}
