//! Discounts as staff define them, the codes customers apply to carts, and the uses
//! checkouts take (contract: Discounts). Pricing applies them ([`super::pricing`], step 2);
//! this module checks what staff send, decides whether a code may go on a cart, and takes
//! and gives back uses with conditional writes, as stock is.

use std::collections::HashSet;

use super::catalog::MAX_PRICE;
use super::ids;
use super::money::{Currency, Money};
use super::pricing::{AppliedDiscount, DiscountEffect, DiscountToApply, PricedCart};
use super::time::Timestamp;
use super::validate::{Checks, MAX_TEXT_CHARS};
use super::{DomainError, DomainResult, Page, PageRequest, Permission, Principal};
use crate::store::discounts::{self as store, DiscountRow};
use crate::store::{Conn, Store, catalog as catalog_store};

/// The longest code.
const MAX_CODE_CHARS: usize = 64;
/// Products or categories one discount may be limited to.
const MAX_LIMITED_TO: usize = 500;
/// The orders a discount's detail lists.
const RECENT_ORDERS: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountKind {
    Percentage,
    FixedAmount,
    FreeShipping,
}

impl DiscountKind {
    pub const ALL: [DiscountKind; 3] = [
        DiscountKind::Percentage,
        DiscountKind::FixedAmount,
        DiscountKind::FreeShipping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DiscountKind::Percentage => "percentage",
            DiscountKind::FixedAmount => "fixed_amount",
            DiscountKind::FreeShipping => "free_shipping",
        }
    }

    pub fn parse(value: &str) -> Option<DiscountKind> {
        match value {
            "percentage" => Some(DiscountKind::Percentage),
            "fixed_amount" => Some(DiscountKind::FixedAmount),
            "free_shipping" => Some(DiscountKind::FreeShipping),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    pub id: String,
    /// `None`: automatic, for every cart that meets its conditions.
    pub code: Option<String>,
    pub description: String,
    pub kind: DiscountKind,
    pub percentage_bps: Option<i64>,
    /// For a fixed amount, in `currency`.
    pub amount: Option<Money>,
    pub currency: Option<Currency>,
    pub min_subtotal: Option<Money>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub usage_limit: Option<i64>,
    pub usage_limit_per_customer: Option<i64>,
    pub product_ids: Vec<String>,
    pub category_ids: Vec<String>,
    pub combinable: bool,
    pub active: bool,
    pub times_used: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A discount and the orders that used it (the newest hundred).
#[derive(Debug, Clone)]
pub struct DiscountDetail {
    pub discount: Discount,
    pub order_ids: Vec<String>,
}

/// A discount as sent: every required field for a new one, any of them for a change. For
/// the fields that may be cleared, `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct DiscountInput {
    pub code: Option<Option<String>>,
    pub description: Option<String>,
    pub kind: Option<String>,
    pub percentage_bps: Option<Option<i64>>,
    pub amount: Option<Option<i64>>,
    pub currency: Option<Option<String>>,
    pub min_subtotal: Option<Option<i64>>,
    pub starts_at: Option<Option<String>>,
    pub ends_at: Option<Option<String>>,
    pub usage_limit: Option<Option<i64>>,
    pub usage_limit_per_customer: Option<Option<i64>>,
    pub product_ids: Option<Vec<String>>,
    pub category_ids: Option<Vec<String>>,
    pub combinable: Option<bool>,
    pub active: Option<bool>,
}

/// Why a code cannot go on a cart (contract: `discount_invalid` and its `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidReason {
    Unknown,
    Expired,
    NotStarted,
    Inactive,
    MinSubtotal,
    UsedUp,
    NotCombinable,
    NotApplicable,
}

impl InvalidReason {
    pub const ALL: [InvalidReason; 8] = [
        InvalidReason::Unknown,
        InvalidReason::Expired,
        InvalidReason::NotStarted,
        InvalidReason::Inactive,
        InvalidReason::MinSubtotal,
        InvalidReason::UsedUp,
        InvalidReason::NotCombinable,
        InvalidReason::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::Unknown => "unknown",
            InvalidReason::Expired => "expired",
            InvalidReason::NotStarted => "not_started",
            InvalidReason::Inactive => "inactive",
            InvalidReason::MinSubtotal => "min_subtotal",
            InvalidReason::UsedUp => "used_up",
            InvalidReason::NotCombinable => "not_combinable",
            InvalidReason::NotApplicable => "not_applicable",
        }
    }

    /// What the customer is told.
    pub fn message(self) -> &'static str {
        match self {
            InvalidReason::Unknown => "there is no such code",
            InvalidReason::Expired => "this code has expired",
            InvalidReason::NotStarted => "this code is not valid yet",
            InvalidReason::Inactive => "this code is no longer offered",
            InvalidReason::MinSubtotal => "the cart does not reach this code's minimum yet",
            InvalidReason::UsedUp => "this code has been used up",
            InvalidReason::NotCombinable => "this code cannot be combined with the cart's other codes",
            InvalidReason::NotApplicable => "this code does not apply to anything in the cart",
        }
    }
}

pub async fn create_discount(db: &Store, caller: &Principal, input: DiscountInput) -> DomainResult<Discount> {
    caller.require(Permission::Catalog)?;
    let mut checks = Checks::default();
    if input.kind.is_none() {
        checks.fail("kind", "is required: percentage, fixed_amount or free_shipping");
    }
    checks.finish()?;
    let now = Timestamp::now();
    let blank = Discount {
        id: ids::new_id("dsc"),
        code: None,
        description: String::new(),
        kind: DiscountKind::Percentage,
        percentage_bps: None,
        amount: None,
        currency: None,
        min_subtotal: None,
        starts_at: None,
        ends_at: None,
        usage_limit: None,
        usage_limit_per_customer: None,
        product_ids: Vec::new(),
        category_ids: Vec::new(),
        combinable: false,
        active: true,
        times_used: 0,
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.write().await?;
    let discount = apply(&mut tx, blank, input).await?;
    store::insert_discount(&mut tx, &row_of(&discount))
        .await
        .map_err(code_taken)?;
    tx.commit().await?;
    Ok(discount)
}

pub async fn update_discount(db: &Store, caller: &Principal, id: &str, input: DiscountInput) -> DomainResult<Discount> {
    caller.require(Permission::Catalog)?;
    let mut tx = db.write().await?;
    let current = locked(&mut tx, id).await?;
    let had_code = current.code.is_some();
    let mut discount = apply(&mut tx, current, input).await?;
    if discount.usage_limit.is_some_and(|limit| limit < discount.times_used) {
        return Err(DomainError::invalid(
            "usage_limit",
            format!("it has been used {} times already", discount.times_used),
        ));
    }
    discount.updated_at = Timestamp::now();
    store::update_discount(&mut tx, &row_of(&discount))
        .await
        .map_err(code_taken)?;
    if had_code && discount.code.is_none() {
        // An automatic discount is on every cart that qualifies, not on some by code.
        store::remove_from_all_carts(&mut tx, id).await?;
    }
    tx.commit().await?;
    Ok(discount)
}

/// The discount, locked until the transaction ends: staff edits of one discount, and a
/// delete racing a checkout's use, go one at a time (PostgreSQL).
async fn locked(tx: &mut Conn, id: &str) -> DomainResult<Discount> {
    if !crate::store::dialect::lock_discount(tx, id).await? {
        return Err(DomainError::NotFound("discount"));
    }
    let row = store::find_discount(tx, id)
        .await?
        .ok_or(DomainError::NotFound("discount"))?;
    from_row(row)
}

pub async fn get_discount(db: &Store, caller: &Principal, id: &str) -> DomainResult<DiscountDetail> {
    caller.require(Permission::Catalog)?;
    let mut conn = db.read().await?;
    let row = store::find_discount(&mut conn, id)
        .await?
        .ok_or(DomainError::NotFound("discount"))?;
    let order_ids = store::list_use_orders(&mut conn, id, RECENT_ORDERS).await?;
    Ok(DiscountDetail {
        discount: from_row(row)?,
        order_ids,
    })
}

/// A page of discounts, each with the numbers and ids of the (at most `per_discount`) orders
/// that used it last: what the dashboard shows.
pub async fn list_discounts_with_orders(
    db: &Store,
    caller: &Principal,
    page: &PageRequest,
    per_discount: i64,
) -> DomainResult<Page<(Discount, Vec<(i64, String)>)>> {
    let discounts = list_discounts(db, caller, page).await?;
    let mut conn = db.read().await?;
    let uses = store::list_recent_use_orders(&mut conn, page.before(), page.fetch_limit(), per_discount).await?;
    Ok(Page {
        data: discounts
            .data
            .into_iter()
            .map(|discount| {
                let orders = uses
                    .iter()
                    .filter(|used| used.discount_id == discount.id)
                    .map(|used| (used.number, used.order_id.clone()))
                    .collect();
                (discount, orders)
            })
            .collect(),
        next_cursor: discounts.next_cursor,
    })
}

pub async fn list_discounts(db: &Store, caller: &Principal, page: &PageRequest) -> DomainResult<Page<Discount>> {
    caller.require(Permission::Catalog)?;
    let mut conn = db.read().await?;
    let rows = store::list_discounts(&mut conn, page.before(), page.fetch_limit()).await?;
    let discounts = rows.into_iter().map(from_row).collect::<DomainResult<_>>()?;
    Ok(page.into_page(discounts, |discount: &Discount| &discount.id))
}

/// Deletes a discount no order used; a used one is deactivated instead, so that its orders
/// keep what they name (contract: 204 either way).
pub async fn delete_discount(db: &Store, caller: &Principal, id: &str) -> DomainResult<()> {
    caller.require(Permission::Catalog)?;
    let mut tx = db.write().await?;
    let mut used = locked(&mut tx, id).await?;
    if !store::delete_unused_discount(&mut tx, id).await? {
        used.active = false;
        used.updated_at = Timestamp::now();
        store::update_discount(&mut tx, &row_of(&used)).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `discount` with `input` applied and checked as a whole.
async fn apply(tx: &mut Conn, mut discount: Discount, input: DiscountInput) -> DomainResult<Discount> {
    let mut checks = Checks::default();
    // A description made from the discount is made again when the discount changes.
    let described = discount.description.is_empty() || discount.description == describe(&discount);
    if let Some(code) = input.code {
        discount.code = code.map(|code| check_code(&mut checks, code));
    }
    if let Some(kind) = &input.kind {
        match DiscountKind::parse(kind) {
            Some(kind) => discount.kind = kind,
            None => checks.fail("kind", "must be percentage, fixed_amount or free_shipping"),
        }
    }
    if let Some(bps) = input.percentage_bps {
        discount.percentage_bps = bps;
    }
    if let Some(currency) = input.currency {
        discount.currency = match currency.as_deref().map(Currency::parse) {
            None => None,
            Some(Some(currency)) => Some(currency),
            Some(None) => {
                checks.fail("currency", "must be an ISO 4217 code in upper case, such as EUR");
                discount.currency
            }
        };
    }
    let money = |amount: i64| discount.currency.map(|currency| Money::new(amount, currency));
    let amount = match input.amount {
        Some(amount) => amount,
        None => discount.amount.map(|money| money.amount),
    };
    let min_subtotal = match input.min_subtotal {
        Some(min) => min,
        None => discount.min_subtotal.map(|money| money.amount),
    };
    for (field, value) in [("amount", amount), ("min_subtotal", min_subtotal)] {
        if let Some(value) = value {
            if !(0..=MAX_PRICE).contains(&value) {
                checks.fail(field, format!("must be between 0 and {MAX_PRICE} minor units"));
            } else if discount.currency.is_none() {
                checks.fail("currency", format!("is required with {field}"));
            }
        }
    }
    discount.amount = amount.and_then(money);
    discount.min_subtotal = min_subtotal.and_then(money);
    check_effect(&mut checks, &discount);
    if let Some(starts_at) = input.starts_at {
        discount.starts_at = starts_at.and_then(|text| time(&mut checks, "starts_at", &text));
    }
    if let Some(ends_at) = input.ends_at {
        discount.ends_at = ends_at.and_then(|text| time(&mut checks, "ends_at", &text));
    }
    if let (Some(starts), Some(ends)) = (discount.starts_at, discount.ends_at)
        && ends <= starts
    {
        checks.fail("ends_at", "must be after starts_at");
    }
    for (field, value) in [
        ("usage_limit", input.usage_limit),
        ("usage_limit_per_customer", input.usage_limit_per_customer),
    ] {
        if let Some(Some(limit)) = value
            && limit < 1
        {
            checks.fail(field, "must be at least 1 (leave it out for no limit)");
        }
    }
    if let Some(limit) = input.usage_limit {
        discount.usage_limit = limit;
    }
    if let Some(limit) = input.usage_limit_per_customer {
        discount.usage_limit_per_customer = limit;
    }
    if let Some(description) = &input.description {
        discount.description = checks.text("description", description, MAX_TEXT_CHARS);
    } else if described {
        discount.description = describe(&discount);
    }
    if let Some(combinable) = input.combinable {
        discount.combinable = combinable;
    }
    if let Some(active) = input.active {
        discount.active = active;
    }
    checks.finish()?;
    if let Some(product_ids) = input.product_ids {
        discount.product_ids = existing(tx, "product_ids", product_ids, Limit::Products).await?;
    }
    if let Some(category_ids) = input.category_ids {
        discount.category_ids = existing(tx, "category_ids", category_ids, Limit::Categories).await?;
    }
    Ok(discount)
}

/// Each kind has its own field, and only it.
fn check_effect(checks: &mut Checks, discount: &Discount) {
    match discount.kind {
        DiscountKind::Percentage => match discount.percentage_bps {
            None => checks.fail("percentage_bps", "is required for a percentage (1000 is 10 %)"),
            Some(bps) if !(1..=10_000).contains(&bps) => {
                checks.fail(
                    "percentage_bps",
                    "must be between 0.01 % and 100 % (1 to 10000 basis points)",
                );
            }
            Some(_) => {}
        },
        DiscountKind::FixedAmount if discount.amount.is_none() && discount.currency.is_some() => {
            checks.fail("amount", "is required for a fixed amount, in minor units");
        }
        DiscountKind::FixedAmount if discount.currency.is_none() => {
            checks.fail("currency", "is required for a fixed amount");
        }
        _ => {}
    }
    if discount.kind != DiscountKind::Percentage && discount.percentage_bps.is_some() {
        checks.fail("percentage_bps", "belongs to percentage discounts only");
    }
    if discount.kind != DiscountKind::FixedAmount && discount.amount.is_some() {
        checks.fail("amount", "belongs to fixed_amount discounts only");
    }
}

fn check_code(checks: &mut Checks, code: String) -> String {
    if code.is_empty() || code.chars().count() > MAX_CODE_CHARS {
        checks.fail("code", format!("must be 1 to {MAX_CODE_CHARS} characters"));
    } else if !code.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') {
        checks.fail("code", "may hold only letters, digits, hyphens and underscores");
    }
    code
}

fn time(checks: &mut Checks, field: &str, text: &str) -> Option<Timestamp> {
    let parsed = Timestamp::parse_rfc3339(text);
    if parsed.is_none() {
        checks.fail(field, "must be an RFC 3339 time such as 2026-12-24T18:00:00Z");
    }
    parsed
}

#[derive(Clone, Copy)]
enum Limit {
    Products,
    Categories,
}

/// `ids` without repeats, each checked to exist.
async fn existing(tx: &mut Conn, field: &str, ids: Vec<String>, limit: Limit) -> DomainResult<Vec<String>> {
    if ids.len() > MAX_LIMITED_TO {
        return Err(DomainError::invalid(field, format!("at most {MAX_LIMITED_TO}")));
    }
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(ids.len());
    for (index, id) in ids.into_iter().enumerate() {
        let exists = match limit {
            Limit::Products => catalog_store::find_product(tx, &id, None)
                .await?
                .is_some_and(|product| product.id == id),
            Limit::Categories => catalog_store::category_exists(tx, &id).await?,
        };
        if !exists {
            return Err(DomainError::invalid(format!("{field}[{index}]"), "no such id"));
        }
        if seen.insert(id.clone()) {
            kept.push(id);
        }
    }
    Ok(kept)
}

/// "10 % off", "5.00 EUR off", "Free shipping".
fn describe(discount: &Discount) -> String {
    match (discount.kind, discount.percentage_bps, discount.amount) {
        (DiscountKind::Percentage, Some(bps), _) if bps % 100 == 0 => format!("{} % off", bps / 100),
        (DiscountKind::Percentage, Some(bps), _) => format!("{}.{:02} % off", bps / 100, bps % 100),
        (DiscountKind::FixedAmount, _, Some(amount)) => format!("{} off", plain_amount(amount)),
        (DiscountKind::FreeShipping, _, _) => "Free shipping".to_owned(),
        _ => "Discount".to_owned(),
    }
}

/// `5.00 EUR`: the amount in major units and the currency's code.
fn plain_amount(money: Money) -> String {
    let decimals = money.currency.decimals();
    let scale = 10i64.pow(decimals);
    if decimals == 0 {
        format!("{} {}", money.amount, money.currency)
    } else {
        let fraction = money.amount % scale;
        format!(
            "{}.{fraction:0width$} {}",
            money.amount / scale,
            money.currency,
            width = decimals as usize
        )
    }
}

fn code_taken(error: crate::store::StoreError) -> DomainError {
    if error.is_unique_violation("discounts.code_key") {
        DomainError::conflict("a discount with this code exists already (codes ignore case)")
    } else if error.is_check_violation("discounts_usage_check") {
        // A checkout took a use between the check and the write.
        DomainError::conflict("the discount was used meanwhile: its usage limit would be below its uses")
    } else {
        error.into()
    }
}

// --- Carts -------------------------------------------------------------------------------

/// What a cart is offered: the codes it holds and the discounts usable for it now.
pub(crate) struct Offer {
    /// The codes on the cart, usable or not.
    pub codes: Vec<String>,
    /// Its codes and the automatic discounts, each usable now: active, within its window,
    /// not used up (by anyone, or by the buyer as far as known), in the cart's currency.
    pub discounts: Vec<DiscountToApply>,
}

/// Whom per-customer limits count: an account, an email (lower-cased), or both, as far as
/// they are known. A cart counts its buyer the way checkout does, so that a discount the
/// cart shows is one checkout can take.
#[derive(Debug, Clone, Default)]
pub(crate) struct Buyer {
    pub customer_id: Option<String>,
    pub email: Option<String>,
}

impl Buyer {
    pub(crate) fn new(customer_id: Option<&str>, email: Option<&str>) -> Buyer {
        Buyer {
            customer_id: customer_id.map(str::to_owned),
            email: email.map(str::to_lowercase),
        }
    }

    fn owner(&self) -> store::UseOwner<'_> {
        store::UseOwner {
            customer_id: self.customer_id.as_deref(),
            email: self.email.as_deref(),
        }
    }
}

/// The offer to cart `cart_id` in `currency` for `buyer`. On a cart already checked out,
/// usage does not count: its own use would hide what its order got.
pub(crate) async fn offer_to_cart(
    conn: &mut Conn,
    cart_id: &str,
    currency: Currency,
    buyer: &Buyer,
    checked_out: bool,
) -> DomainResult<Offer> {
    let now = Timestamp::now();
    let rows = store::list_offered(conn, cart_id, now.0, checked_out).await?;
    // Automatic discounts have no code: these are the cart's.
    let codes = rows.iter().filter_map(|row| row.code.clone()).collect();
    let mut discounts: Vec<DiscountToApply> = Vec::with_capacity(rows.len());
    for row in rows {
        let discount = from_row(row)?;
        let usable = match unusable(&discount, currency, now) {
            None => checked_out || !used_up_by(conn, &discount, buyer).await?,
            Some(InvalidReason::UsedUp) => checked_out,
            Some(_) => false,
        };
        if usable && !discounts.iter().any(|offered| offered.id == discount.id) {
            discounts.push(to_apply(&discount));
        }
    }
    Ok(Offer { codes, discounts })
}

/// The buyer has used the discount as often as it allows one customer.
async fn used_up_by(conn: &mut Conn, discount: &Discount, buyer: &Buyer) -> DomainResult<bool> {
    let known = buyer.customer_id.is_some() || buyer.email.is_some();
    Ok(match discount.usage_limit_per_customer {
        Some(limit) if known => store::customer_uses(conn, &discount.id, buyer.owner()).await? >= limit,
        _ => false,
    })
}

/// Why `discount` cannot be used in a cart in `currency` at `now`, whatever the cart holds.
fn unusable(discount: &Discount, currency: Currency, now: Timestamp) -> Option<InvalidReason> {
    if !discount.active {
        Some(InvalidReason::Inactive)
    } else if discount.starts_at.is_some_and(|starts| now < starts) {
        Some(InvalidReason::NotStarted)
    } else if discount.ends_at.is_some_and(|ends| now >= ends) {
        Some(InvalidReason::Expired)
    } else if discount.usage_limit.is_some_and(|limit| discount.times_used >= limit) {
        Some(InvalidReason::UsedUp)
    } else if discount.currency.is_some_and(|own| own != currency) {
        Some(InvalidReason::NotApplicable)
    } else {
        None
    }
}

fn to_apply(discount: &Discount) -> DiscountToApply {
    DiscountToApply {
        id: discount.id.clone(),
        code: discount.code.clone(),
        description: discount.description.clone(),
        effect: match discount.kind {
            DiscountKind::Percentage => DiscountEffect::Percentage {
                bps: discount.percentage_bps.unwrap_or(0),
            },
            DiscountKind::FixedAmount => DiscountEffect::FixedAmount {
                amount: discount.amount.map_or(0, |amount| amount.amount),
            },
            DiscountKind::FreeShipping => DiscountEffect::FreeShipping,
        },
        product_ids: discount.product_ids.clone(),
        category_ids: discount.category_ids.clone(),
        min_subtotal: discount.min_subtotal.map(|min| min.amount),
        combinable: discount.combinable,
    }
}

/// The discount of `code`, if it may go on a cart in `currency` whose other codes are
/// `held` and whose buyer has not used it up. Whether it
/// then applies to the cart's lines is for pricing to say ([`check_applies`]).
pub(crate) async fn find_usable_code(
    conn: &mut Conn,
    code: &str,
    currency: Currency,
    held: &[DiscountToApply],
    buyer: &Buyer,
) -> DomainResult<Discount> {
    let invalid = |reason| DomainError::DiscountInvalid { reason };
    let row = store::find_discount_by_code(conn, code)
        .await?
        .ok_or(invalid(InvalidReason::Unknown))?;
    let discount = from_row(row)?;
    if let Some(reason) = unusable(&discount, currency, Timestamp::now()) {
        return Err(invalid(reason));
    }
    if used_up_by(conn, &discount, buyer).await? {
        return Err(invalid(InvalidReason::UsedUp));
    }
    let others: Vec<&DiscountToApply> = held
        .iter()
        .filter(|other| other.code.is_some() && other.id != discount.id)
        .collect();
    if !others.is_empty() && (!discount.combinable || others.iter().any(|other| !other.combinable)) {
        return Err(invalid(InvalidReason::NotCombinable));
    }
    Ok(discount)
}

/// After the code went on the cart: refuses it (the caller's transaction is then dropped)
/// when pricing did not apply it, saying why.
pub(crate) fn check_applies(discount: &Discount, priced: &PricedCart) -> DomainResult<()> {
    if priced
        .discounts
        .iter()
        .any(|applied| applied.discount_id == discount.id)
    {
        return Ok(());
    }
    let below_minimum = discount
        .min_subtotal
        .is_some_and(|min| priced.totals.subtotal.amount < min.amount);
    Err(DomainError::DiscountInvalid {
        reason: if below_minimum {
            InvalidReason::MinSubtotal
        } else {
            InvalidReason::NotApplicable
        },
    })
}

pub(crate) async fn add_to_cart(conn: &mut Conn, cart_id: &str, discount_id: &str) -> DomainResult<()> {
    store::add_cart_discount(conn, cart_id, discount_id, Timestamp::now().0)
        .await
        .map_err(|error| {
            // Staff deleted it while the code was being applied.
            if error.is_foreign_key_violation() {
                DomainError::DiscountInvalid {
                    reason: InvalidReason::Unknown,
                }
            } else {
                error.into()
            }
        })
}

/// Takes `code` off the cart; `NotFound` when the cart does not hold it.
pub(crate) async fn remove_from_cart(conn: &mut Conn, cart_id: &str, code: &str) -> DomainResult<()> {
    let found = match store::find_discount_by_code(conn, code).await? {
        Some(row) => store::remove_cart_discount(conn, cart_id, &row.id).await?,
        None => false,
    };
    if found {
        Ok(())
    } else {
        Err(DomainError::NotFound("discount code on this cart"))
    }
}

/// The codes the cart holds that pricing did not apply: checkout refuses them.
pub(crate) fn codes_not_applied(offered_codes: &[String], priced: &PricedCart) -> Vec<String> {
    offered_codes
        .iter()
        .filter(|code| {
            !priced
                .discounts
                .iter()
                .any(|applied| applied.code.as_deref() == Some(code.as_str()))
        })
        .cloned()
        .collect()
}

/// Takes the codes off a cart (after checkout refused them).
pub(crate) async fn drop_codes(conn: &mut Conn, cart_id: &str, codes: &[String]) -> DomainResult<()> {
    for code in codes {
        if let Some(row) = store::find_discount_by_code(conn, code).await? {
            store::remove_cart_discount(conn, cart_id, &row.id).await?;
        }
    }
    Ok(())
}

/// The refusal of a checkout whose `unavailable` discounts had no use left for it, after
/// taking their codes off the cart (automatic ones have none to take off).
pub(crate) async fn refuse_unavailable(
    conn: &mut Conn,
    cart_id: &str,
    unavailable: &[AppliedDiscount],
) -> DomainResult<DomainError> {
    for discount in unavailable {
        store::remove_cart_discount(conn, cart_id, &discount.discount_id).await?;
    }
    Ok(DomainError::DiscountUnavailable {
        codes: unavailable
            .iter()
            .filter_map(|discount| discount.code.clone())
            .collect(),
        names: unavailable.iter().map(label).collect(),
    })
}

/// A discount as the customer knows it: its code, or an automatic one's description.
pub(crate) fn label(discount: &AppliedDiscount) -> String {
    discount.code.clone().unwrap_or_else(|| discount.description.clone())
}

// --- Checkout ----------------------------------------------------------------------------

/// Takes one use of every discount `priced` applied, for attempt `payment_id` of `buyer`
/// (whose email checkout always knows), with conditional writes in the checkout's
/// transaction. `Err` lists the discounts that had no use left (for anyone, or for this
/// buyer); the caller then drops the transaction.
pub(crate) async fn take_uses(
    tx: &mut Conn,
    priced: &PricedCart,
    payment_id: &str,
    buyer: &Buyer,
) -> DomainResult<Result<(), Vec<AppliedDiscount>>> {
    let now = Timestamp::now().0;
    let mut unavailable = Vec::new();
    // Taken in the order of their ids, as every checkout takes them: two checkouts of the
    // same discounts never wait for each other's rows crosswise (PostgreSQL).
    let mut in_lock_order: Vec<_> = priced.discounts.iter().collect();
    in_lock_order.sort_by(|a, b| a.discount_id.cmp(&b.discount_id));
    for applied in in_lock_order {
        let taken = store::take_use(tx, &applied.discount_id).await? && {
            let per_customer = store::find_discount(tx, &applied.discount_id)
                .await?
                .and_then(|row| row.usage_limit_per_customer);
            store::record_use(
                tx,
                &applied.discount_id,
                payment_id,
                buyer.owner(),
                applied.amount.amount,
                per_customer,
                now,
            )
            .await?
        };
        if !taken {
            unavailable.push(applied.clone());
        }
    }
    Ok(if unavailable.is_empty() {
        Ok(())
    } else {
        Err(unavailable)
    })
}

/// A failed attempt, `priced` as it was checked out, gives its uses back.
pub(crate) async fn give_back(tx: &mut Conn, priced: &PricedCart, payment_id: &str) -> DomainResult<()> {
    // An attempt priced without discounts took no uses ([`take_uses`]).
    if !priced.discounts.is_empty() {
        store::give_back_uses(tx, payment_id).await?;
    }
    Ok(())
}

/// A paid attempt's uses, `priced` as it was checked out, belong to its order.
pub(crate) async fn keep_for_order(
    tx: &mut Conn,
    priced: &PricedCart,
    payment_id: &str,
    order_id: &str,
) -> DomainResult<()> {
    if !priced.discounts.is_empty() {
        store::set_uses_order(tx, payment_id, order_id).await?;
    }
    Ok(())
}

// --- Rows --------------------------------------------------------------------------------

fn from_row(row: DiscountRow) -> DomainResult<Discount> {
    let corrupt = |what: &str, value: &str| super::catalog::corrupt(what, value);
    let currency = row
        .currency
        .as_deref()
        .map(|code| Currency::parse(code).ok_or_else(|| corrupt("discount currency", code)))
        .transpose()?;
    let money = |amount: Option<i64>| -> DomainResult<Option<Money>> {
        match (amount, currency) {
            (None, _) => Ok(None),
            (Some(amount), Some(currency)) => Ok(Some(Money::new(amount, currency))),
            (Some(_), None) => Err(corrupt("discount without a currency", &row.id)),
        }
    };
    Ok(Discount {
        kind: DiscountKind::parse(&row.kind).ok_or_else(|| corrupt("discount kind", &row.kind))?,
        amount: money(row.amount)?,
        min_subtotal: money(row.min_subtotal)?,
        product_ids: serde_json::from_str(&row.product_ids)
            .map_err(|_| corrupt("discount products", &row.product_ids))?,
        category_ids: serde_json::from_str(&row.category_ids)
            .map_err(|_| corrupt("discount categories", &row.category_ids))?,
        currency,
        id: row.id,
        code: row.code,
        description: row.description,
        percentage_bps: row.percentage_bps,
        starts_at: row.starts_at.map(Timestamp),
        ends_at: row.ends_at.map(Timestamp),
        usage_limit: row.usage_limit,
        usage_limit_per_customer: row.usage_limit_per_customer,
        combinable: row.combinable,
        active: row.active,
        times_used: row.times_used,
        created_at: Timestamp(row.created_at),
        updated_at: Timestamp(row.updated_at),
    })
}

fn row_of(discount: &Discount) -> DiscountRow {
    DiscountRow {
        id: discount.id.clone(),
        code: discount.code.clone(),
        description: discount.description.clone(),
        kind: discount.kind.as_str().to_owned(),
        percentage_bps: discount.percentage_bps,
        amount: discount.amount.map(|amount| amount.amount),
        currency: discount.currency.map(|currency| currency.to_string()),
        min_subtotal: discount.min_subtotal.map(|min| min.amount),
        starts_at: discount.starts_at.map(|at| at.0),
        ends_at: discount.ends_at.map(|at| at.0),
        usage_limit: discount.usage_limit,
        usage_limit_per_customer: discount.usage_limit_per_customer,
        product_ids: serde_json::to_string(&discount.product_ids).unwrap_or_else(|_| "[]".to_owned()),
        category_ids: serde_json::to_string(&discount.category_ids).unwrap_or_else(|_| "[]".to_owned()),
        combinable: discount.combinable,
        active: discount.active,
        times_used: discount.times_used,
        created_at: discount.created_at.0,
        updated_at: discount.updated_at.0,
    }
}
