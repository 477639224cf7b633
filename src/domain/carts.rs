//! Carts: created by anyone, owned by a customer or reachable by id as a guest cart,
//! editable until checkout. Lines show the variant's current price.

use super::events::{self, Notice};
use super::money::{Currency, Money};
use super::pricing::{Destination, LineToPrice, PricedCart, PricedShipping, PricingContext, PricingError, price_cart};
use super::shipping;
use super::shop::Shop;
use super::time::Timestamp;
use super::validate::{self, Address, Checks};
use super::{DomainError, DomainResult, Principal, Shortage, ids};
use crate::store::carts::{self as store, CartLineRow, CartRow};
use crate::store::catalog::find_sellable_variant;
use crate::store::{Conn, Store};

pub const MAX_QUANTITY: i64 = 999;
/// Distinct variants in one cart.
pub const MAX_LINES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartStatus {
    Open,
    /// A payment attempt holds the cart's lines; no edits until it is settled.
    CheckingOut,
    CheckedOut,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CartStatus::Open => "open",
            CartStatus::CheckingOut => "checking_out",
            CartStatus::CheckedOut => "checked_out",
        }
    }

    fn parse(value: &str) -> DomainResult<CartStatus> {
        match value {
            "open" => Ok(CartStatus::Open),
            "checking_out" => Ok(CartStatus::CheckingOut),
            "checked_out" => Ok(CartStatus::CheckedOut),
            other => Err(super::catalog::corrupt("cart status", other)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Cart {
    pub id: String,
    pub customer_id: Option<String>,
    pub currency: Currency,
    pub status: CartStatus,
    /// Where receipts go; a signed-in customer's own email at checkout when not given.
    pub email: Option<String>,
    pub shipping_address: Option<Address>,
    /// The lines with their current prices, shipping, tax and the totals (`domain::pricing`).
    pub pricing: PricedCart,
    /// Ids of lines whose product is no longer for sale: checkout refuses them.
    pub unsellable: Vec<String>,
    /// Ids of lines no longer sold in the cart's currency: checkout refuses them.
    pub not_sold: Vec<String>,
    /// The cart's codes that pricing did not apply (no longer valid, or the cart no longer
    /// qualifies): checkout refuses them.
    pub codes_not_applied: Vec<String>,
    /// Lines whose price changed since the customer last saw the cart: checkout refuses
    /// them once, with the new prices.
    pub changed_prices: Vec<PriceChange>,
    /// Lines asking for more than can be bought now: as things stand, checkout would
    /// refuse them (`out_of_stock`). Nothing is held until checkout.
    pub shortages: Vec<Shortage>,
    pub version: i64,
    pub order_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A line whose price changed since the customer last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceChange {
    pub item_id: String,
    pub sku: String,
    pub title: String,
    pub seen: Money,
    pub now: Money,
}

/// Opens a cart in `currency`, or in the shop's default currency.
///
/// # Errors
/// `Validation` on `currency` for a code that is not ISO 4217 or that the shop does not
/// sell in.
pub async fn create_cart(db: &Store, caller: &Principal, currency: Option<&str>) -> DomainResult<Cart> {
    // Read before the write, and used for both the currency and the price: the writer
    // (on SQLite the one writer of every request) is held for the insert and the price.
    let shop = super::shop::get_shop(db).await?;
    let currency = shop.currency_or_default(currency)?;
    let now = Timestamp::now().0;
    let row = CartRow {
        id: ids::new_id("cart"),
        customer_id: caller.customer_id().map(str::to_owned),
        currency: currency.as_str().to_owned(),
        status: CartStatus::Open.as_str().to_owned(),
        version: 1,
        order_id: None,
        email: None,
        shipping_address: None,
        shipping_option_id: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.write().await?;
    store::insert_cart(&mut tx, &row).await?;
    let cart = price_in(&mut tx, &shop, caller, row, Vec::new()).await?;
    tx.commit().await?;
    Ok(cart)
}

/// What a customer tells a cart before checkout. For each field, `None` leaves it as it
/// is and `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CartDetails {
    pub email: Option<Option<String>>,
    pub shipping_address: Option<Option<Address>>,
    pub shipping_option_id: Option<Option<String>>,
    /// Another currency the shop sells in; it cannot be cleared.
    pub currency: Option<String>,
}

impl CartDetails {
    pub fn is_empty(&self) -> bool {
        self.email.is_none()
            && self.shipping_address.is_none()
            && self.shipping_option_id.is_none()
            && self.currency.is_none()
    }
}

/// Sets the cart's email, shipping address, shipping option or currency.
///
/// # Errors
/// `Validation` naming the field: a bad email or address, a currency the shop does not sell
/// in, or a shipping option that does not serve the cart (its currency, its country, its
/// weight). `NotSoldInCurrency` naming the first line whose variant has no price in the new
/// currency.
#[tracing::instrument(skip(db, caller, details))]
pub async fn update_cart(db: &Store, caller: &Principal, cart_id: &str, details: CartDetails) -> DomainResult<Cart> {
    let mut tx = db.write().await?;
    let row = open_cart_for_edit(&mut tx, caller, cart_id).await?;
    store::acknowledge_prices(&mut tx, cart_id).await?;
    let cart = set_details(&mut tx, caller, &row, details).await?;
    tx.commit().await?;
    Ok(cart)
}

/// Writes `details` onto the cart `row` (in the caller's transaction) and returns the cart
/// priced with them. Checkout uses it for what its request carries.
pub(crate) async fn set_details(
    tx: &mut Conn,
    caller: &Principal,
    row: &CartRow,
    details: CartDetails,
) -> DomainResult<Cart> {
    let mut checks = Checks::default();
    let email = match &details.email {
        None => row.email.clone(),
        Some(None) => None,
        Some(Some(email)) => Some(validate::email(&mut checks, "email", email)),
    };
    let address = match &details.shipping_address {
        None => row.shipping_address.clone(),
        Some(None) => None,
        Some(Some(address)) => {
            let parsed = Address::parse(&mut checks, "shipping_address", address);
            Some(serde_json::to_string(&parsed).map_err(|error| DomainError::Internal(error.to_string()))?)
        }
    };
    let currency = match &details.currency {
        Some(code) if *code != row.currency => new_currency(tx, &mut checks, code).await?,
        _ => None,
    };
    let option_id = match &details.shipping_option_id {
        // Options are priced in one currency: the old one's choice cannot stay.
        None if currency.is_some() => None,
        None => row.shipping_option_id.clone(),
        Some(chosen) => chosen.clone(),
    };
    checks.finish()?;
    store::set_cart_details(tx, &row.id, email.as_deref(), address.as_deref(), option_id.as_deref()).await?;
    if let Some(currency) = currency {
        store::set_cart_currency(tx, &row.id, currency.as_str()).await?;
        // The answer shows the prices in the new currency: those are what the customer saw.
        store::acknowledge_prices(tx, &row.id).await?;
    }
    let updated = CartRow {
        email,
        shipping_address: address,
        shipping_option_id: option_id,
        currency: currency.map_or_else(|| row.currency.clone(), |currency| currency.as_str().to_owned()),
        ..row.clone()
    };
    let cart = load_lines(tx, caller, updated).await?;
    // Moving to a currency must price every line; a line that lost its price otherwise
    // leaves the cart editable, and checkout refuses it.
    if let Some(index) = currency.and_then(|_| {
        cart.pricing
            .lines
            .iter()
            .position(|line| cart.not_sold.contains(&line.id))
    }) {
        return Err(DomainError::NotSoldInCurrency {
            field: format!("items[{index}]"),
            currency: cart.currency.to_string(),
        });
    }
    if let Some(Some(chosen)) = &details.shipping_option_id
        && cart.pricing.shipping.as_ref().map(|shipping| &shipping.id) != Some(chosen)
    {
        return Err(DomainError::invalid(
            "shipping_option_id",
            "this shipping option does not serve this cart (its currency, country or weight)",
        ));
    }
    Ok(cart)
}

/// `code` as a currency the shop sells in, or `None` and a failed check on `currency`.
async fn new_currency(tx: &mut Conn, checks: &mut Checks, code: &str) -> DomainResult<Option<Currency>> {
    match super::shop::load(tx).await?.sold_currency(code) {
        Ok(currency) => Ok(Some(currency)),
        Err(message) => {
            checks.fail("currency", message);
            Ok(None)
        }
    }
}

/// The shipping options that serve the cart, each priced for it.
pub async fn shipping_options_for_cart(
    db: &Store,
    caller: &Principal,
    cart_id: &str,
) -> DomainResult<Vec<PricedShipping>> {
    let mut conn = db.read().await?;
    let cart = load_cart(&mut conn, caller, cart_id).await?;
    let country = cart.shipping_address.as_ref().map(|address| address.country.as_str());
    let options = shipping::options_in(&mut conn, cart.currency).await?;
    Ok(options
        .into_iter()
        .filter(|option| option.serves(cart.currency, country))
        .filter_map(|option| {
            let amount = option.cost(cart.pricing.weight_grams, cart.pricing.discounted_subtotal())?;
            Some(PricedShipping {
                id: option.id,
                name: option.name,
                amount,
            })
        })
        .collect())
}

pub async fn get_cart(db: &Store, caller: &Principal, cart_id: &str) -> DomainResult<Cart> {
    let mut conn = db.read().await?;
    load_cart(&mut conn, caller, cart_id).await
}

/// Adds `quantity` of a variant; the same variant again adds to its line.
#[tracing::instrument(skip(db, caller))]
pub async fn add_item(
    db: &Store,
    caller: &Principal,
    cart_id: &str,
    variant_id: &str,
    quantity: i64,
) -> DomainResult<Cart> {
    check_quantity(quantity, 1)?;
    let mut tx = db.write().await?;
    let cart = open_cart_for_edit(&mut tx, caller, cart_id).await?;
    let variant = find_sellable_variant(&mut tx, variant_id, &cart.currency)
        .await?
        .filter(|v| v.product_status == "published")
        .ok_or_else(|| DomainError::invalid("variant_id", "no such variant for sale"))?;
    if variant.price_amount.is_none() {
        return Err(DomainError::NotSoldInCurrency {
            field: "variant_id".to_owned(),
            currency: cart.currency.clone(),
        });
    }
    store::add_to_line(
        &mut tx,
        &ids::new_id("item"),
        cart_id,
        variant_id,
        quantity,
        Timestamp::now().0,
    )
    .await
    .map_err(|error| {
        if error.is_check_violation("cart_items_quantity_check") {
            DomainError::invalid("quantity", format!("a line holds at most {MAX_QUANTITY}"))
        } else {
            error.into()
        }
    })?;
    store::acknowledge_prices(&mut tx, cart_id).await?;
    let cart = load_lines(&mut tx, caller, cart).await?;
    if cart.pricing.lines.len() > MAX_LINES {
        // Dropping the transaction takes the new line back out.
        return Err(DomainError::invalid(
            "variant_id",
            format!("a cart holds at most {MAX_LINES} different variants"),
        ));
    }
    tx.commit().await?;
    Ok(cart)
}

/// Brings a guest's cart along when they sign in as `customer_id`: its lines are added to
/// the customer's newest open cart in the same currency (quantities added, a line stopping
/// at its limit), or, when they have none, the guest cart becomes theirs. Stock is checked
/// at checkout, as always; discount codes stay behind. Only an open guest cart is taken,
/// and a merge that would pass the cart's line limit is not made. Returns the customer's
/// cart that now holds the lines, or `None` when nothing moved.
pub async fn merge_guest_cart(db: &Store, customer_id: &str, guest_cart_id: &str) -> DomainResult<Option<String>> {
    let now = Timestamp::now().0;
    let mut tx = db.write().await?;
    // As locked: a login just before this one may have taken the cart already.
    let Some(guest) = store::touch_open_cart(&mut tx, guest_cart_id, now).await? else {
        return Ok(None);
    };
    if guest.customer_id.is_some() {
        return Ok(None);
    }
    let Some(target) = store::find_newest_open_cart(&mut tx, customer_id, &guest.currency).await? else {
        let claimed = store::claim_guest_cart(&mut tx, guest_cart_id, customer_id, now).await?;
        tx.commit().await?;
        return Ok(claimed.then(|| guest_cart_id.to_owned()));
    };
    if store::touch_open_cart(&mut tx, &target, now).await?.is_none() {
        return Ok(None);
    }
    for line in store::list_cart_lines(&mut tx, guest_cart_id).await? {
        store::add_to_line_up_to(
            &mut tx,
            &ids::new_id("item"),
            &target,
            &line.variant_id,
            line.quantity,
            MAX_QUANTITY,
            now,
        )
        .await?;
    }
    if store::list_cart_lines(&mut tx, &target).await?.len() > MAX_LINES {
        // Dropping the transaction leaves both carts as they were; the guest keeps theirs.
        return Ok(None);
    }
    // No price is acknowledged here: the customer has not seen the merged cart yet.
    store::empty_cart(&mut tx, guest_cart_id).await?;
    tx.commit().await?;
    Ok(Some(target))
}

/// Sets a line's quantity; 0 removes the line.
pub async fn set_quantity(
    db: &Store,
    caller: &Principal,
    cart_id: &str,
    item_id: &str,
    quantity: i64,
) -> DomainResult<Cart> {
    check_quantity(quantity, 0)?;
    let mut tx = db.write().await?;
    open_cart_for_edit(&mut tx, caller, cart_id).await?;
    let found = if quantity == 0 {
        store::delete_line(&mut tx, cart_id, item_id).await?
    } else {
        store::set_line_quantity(&mut tx, cart_id, item_id, quantity).await?
    };
    if !found {
        return Err(DomainError::NotFound("cart item"));
    }
    store::acknowledge_prices(&mut tx, cart_id).await?;
    let cart = load_cart(&mut tx, caller, cart_id).await?;
    tx.commit().await?;
    Ok(cart)
}

/// Puts a discount code on the cart (contract: `POST /v1/carts/{id}/discount-codes`).
///
/// # Errors
/// `DiscountInvalid` with the reason the code cannot go on this cart; nothing is written.
#[tracing::instrument(skip(db, caller))]
pub async fn apply_code(db: &Store, caller: &Principal, cart_id: &str, code: &str) -> DomainResult<Cart> {
    let mut tx = db.write().await?;
    let row = open_cart_for_edit(&mut tx, caller, cart_id).await?;
    let currency = Currency::parse(&row.currency).ok_or_else(|| super::catalog::corrupt("currency", &row.currency))?;
    let buyer = buyer(caller, &row);
    let held = super::discounts::offer_to_cart(&mut tx, cart_id, currency, &buyer, false).await?;
    let discount = super::discounts::find_usable_code(&mut tx, code, currency, &held.discounts, &buyer).await?;
    super::discounts::add_to_cart(&mut tx, cart_id, &discount.id).await?;
    store::acknowledge_prices(&mut tx, cart_id).await?;
    let cart = load_cart(&mut tx, caller, cart_id).await?;
    // Dropping the transaction takes the code back off.
    super::discounts::check_applies(&discount, &cart.pricing)?;
    tx.commit().await?;
    Ok(cart)
}

/// Takes a discount code off the cart; `NotFound` when the cart does not hold it.
pub async fn remove_code(db: &Store, caller: &Principal, cart_id: &str, code: &str) -> DomainResult<Cart> {
    let mut tx = db.write().await?;
    open_cart_for_edit(&mut tx, caller, cart_id).await?;
    super::discounts::remove_from_cart(&mut tx, cart_id, code).await?;
    store::acknowledge_prices(&mut tx, cart_id).await?;
    let cart = load_cart(&mut tx, caller, cart_id).await?;
    tx.commit().await?;
    Ok(cart)
}

pub async fn remove_item(db: &Store, caller: &Principal, cart_id: &str, item_id: &str) -> DomainResult<Cart> {
    set_quantity(db, caller, cart_id, item_id, 0).await
}

/// The cart if `caller` may see it: a customer's cart only by that customer, a guest cart
/// by anyone holding its id. Anything else is `NotFound`, so ids leak nothing.
pub(crate) async fn find_accessible_cart(conn: &mut Conn, caller: &Principal, cart_id: &str) -> DomainResult<CartRow> {
    let cart = store::find_cart(conn, cart_id)
        .await?
        .ok_or(DomainError::NotFound("cart"))?;
    accessible(caller, cart)
}

/// The cart `row` if `caller` may see it (see [`find_accessible_cart`]).
pub(crate) fn accessible(caller: &Principal, row: CartRow) -> DomainResult<CartRow> {
    match &row.customer_id {
        Some(owner) if caller.customer_id() != Some(owner.as_str()) => Err(DomainError::NotFound("cart")),
        _ => Ok(row),
    }
}

pub(crate) async fn load_cart(conn: &mut Conn, caller: &Principal, cart_id: &str) -> DomainResult<Cart> {
    let row = find_accessible_cart(conn, caller, cart_id).await?;
    load_lines(conn, caller, row).await
}

/// The cart `row`, already read (and checked accessible), with its lines, priced.
pub(crate) async fn load_lines(conn: &mut Conn, caller: &Principal, row: CartRow) -> DomainResult<Cart> {
    let lines = store::list_cart_lines(conn, &row.id).await?;
    price(conn, caller, row, lines).await
}

/// Whom the cart's discounts count as used by: its customer (or the signed-in caller, whose
/// order a guest cart becomes) and its email (a signed-in caller's own when it has none),
/// as checkout counts them.
fn buyer(caller: &Principal, row: &CartRow) -> super::discounts::Buyer {
    let caller_email = match caller {
        Principal::Customer { email, .. } => Some(email.as_str()),
        _ => None,
    };
    super::discounts::Buyer::new(
        row.customer_id.as_deref().or(caller.customer_id()),
        row.email.as_deref().or(caller_email),
    )
}

/// Prices the cart `row` with its `lines` in the shop as it is now: its tax setting, the
/// rates of the cart's destination, and the chosen shipping option while it serves the
/// cart (a deleted option, or one that no longer fits, no longer counts).
async fn price(conn: &mut Conn, caller: &Principal, row: CartRow, lines: Vec<CartLineRow>) -> DomainResult<Cart> {
    let shop = super::shop::load(conn).await?;
    price_in(conn, &shop, caller, row, lines).await
}

/// [`price`] with the shop's settings as the caller read them.
async fn price_in(
    conn: &mut Conn,
    shop: &Shop,
    caller: &Principal,
    row: CartRow,
    lines: Vec<CartLineRow>,
) -> DomainResult<Cart> {
    let currency = Currency::parse(&row.currency).ok_or_else(|| super::catalog::corrupt("currency", &row.currency))?;
    let address: Option<Address> = row
        .shipping_address
        .as_deref()
        .map(|json| serde_json::from_str(json).map_err(|_| super::catalog::corrupt("cart address", json)))
        .transpose()?;
    let destination = address.as_ref().map(|address| Destination {
        country: address.country.clone(),
        region: address.region.clone(),
    });
    let tax_rates = match &destination {
        Some(destination) => shipping::rates_of(conn, &destination.country).await?,
        None => Vec::new(),
    };
    let chosen = match &row.shipping_option_id {
        Some(id) => shipping::find_option(conn, id)
            .await?
            .filter(|option| option.serves(currency, destination.as_ref().map(|d| d.country.as_str()))),
        None => None,
    };
    let checked_out = row.status == CartStatus::CheckedOut.as_str();
    let offer = super::discounts::offer_to_cart(conn, &row.id, currency, &buyer(caller, &row), checked_out).await?;
    let categories = if offer.discounts.iter().any(|discount| !discount.category_ids.is_empty()) {
        store::list_line_categories(conn, &row.id).await?
    } else {
        Vec::new()
    };
    let context = PricingContext {
        prices_include_tax: shop.prices_include_tax,
        shipping: chosen,
        destination,
        tax_rates,
        discounts: offer.discounts,
    };
    let mut cart = assemble(row, lines, &categories, currency, address, context)?;
    cart.codes_not_applied = super::discounts::codes_not_applied(&offer.codes, &cart.pricing);
    Ok(cart)
}

/// The cart, open and locked for this transaction's edit (its version bumped), as it is
/// once locked: on PostgreSQL a concurrent edit may have committed while this one waited
/// for the row, and what it wrote must not be written back over. A cart the caller may not
/// see is `NotFound`, and the caller's dropped transaction takes the bump back.
async fn open_cart_for_edit(tx: &mut Conn, caller: &Principal, cart_id: &str) -> DomainResult<CartRow> {
    let Some(locked) = store::touch_open_cart(tx, cart_id, Timestamp::now().0).await? else {
        let cart = find_accessible_cart(tx, caller, cart_id).await?;
        return Err(not_open(&cart.status));
    };
    let cart = accessible(caller, locked)?;
    announce_change(tx, cart_id).await?;
    Ok(cart)
}

/// Wakes the cart's live streams once the caller's transaction commits.
pub(crate) async fn announce_change(tx: &mut Conn, cart_id: &str) -> DomainResult<()> {
    let notice = Notice::Cart {
        cart_id: cart_id.to_owned(),
    };
    events::announce(tx, &notice).await
}

pub(crate) fn not_open(status: &str) -> DomainError {
    if status == CartStatus::CheckingOut.as_str() {
        DomainError::conflict("a checkout of this cart is in progress")
    } else {
        DomainError::conflict("this cart is checked out and can no longer change")
    }
}

fn check_quantity(quantity: i64, min: i64) -> DomainResult<()> {
    if (min..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "quantity",
            format!("must be between {min} and {MAX_QUANTITY}"),
        ))
    }
}

fn assemble(
    row: CartRow,
    lines: Vec<CartLineRow>,
    categories: &[(String, String)],
    currency: Currency,
    shipping_address: Option<Address>,
    mut context: PricingContext,
) -> DomainResult<Cart> {
    let unsellable = lines
        .iter()
        .filter(|line| line.product_status != "published")
        .map(|line| line.id.clone())
        .collect();
    // A variant whose price in the cart's currency was taken away since it was added: the
    // line shows the price last seen (or 0) and checkout refuses it (`not_sold`).
    let not_sold = lines
        .iter()
        .filter(|line| line.price_amount.is_none())
        .map(|line| line.id.clone())
        .collect();
    let changed_prices = lines
        .iter()
        .filter_map(|line| {
            let (seen, now) = (line.seen_price_amount?, line.price_amount?);
            (seen != now).then(|| PriceChange {
                item_id: line.id.clone(),
                sku: line.sku.clone(),
                title: line_title(&line.product_title, &line.variant_title),
                seen: Money::new(seen, currency),
                now: Money::new(now, currency),
            })
        })
        .collect();
    let shortages = lines
        .iter()
        .filter(|line| line.quantity > line.available)
        .map(|line| Shortage {
            variant_id: line.variant_id.clone(),
            title: line_title(&line.product_title, &line.variant_title),
            requested: line.quantity,
            available: line.available,
        })
        .collect();
    let to_price: Vec<LineToPrice> = lines
        .into_iter()
        .map(|line| LineToPrice {
            title: line_title(&line.product_title, &line.variant_title),
            id: line.id,
            variant_id: line.variant_id,
            sku: line.sku,
            quantity: line.quantity,
            unit_price: Money::new(line.price_amount.or(line.seen_price_amount).unwrap_or(0), currency),
            weight_grams: line.weight_grams,
            tax_class: line.tax_class,
            category_ids: categories
                .iter()
                .filter(|(product, _)| *product == line.product_id)
                .map(|(_, category)| category.clone())
                .collect(),
            product_id: line.product_id,
        })
        .collect();
    let pricing = match price_cart(currency, to_price.clone(), &context) {
        // The chosen option cannot carry what the cart now holds: it no longer counts.
        Err(PricingError::ShippingDoesNotFit) => {
            context.shipping = None;
            price_cart(currency, to_price, &context)
        }
        priced => priced,
    }
    .map_err(|error| DomainError::invalid("items", error.to_string()))?;
    Ok(Cart {
        status: CartStatus::parse(&row.status)?,
        id: row.id,
        customer_id: row.customer_id,
        currency,
        email: row.email,
        shipping_address,
        pricing,
        unsellable,
        not_sold,
        codes_not_applied: Vec::new(),
        changed_prices,
        shortages,
        version: row.version,
        order_id: row.order_id,
        created_at: Timestamp(row.created_at),
        updated_at: Timestamp(row.updated_at),
    })
}

/// "Enamel Camp Mug / White"; a variant titled "Default" adds nothing.
pub fn line_title(product_title: &str, variant_title: &str) -> String {
    if variant_title.is_empty() || variant_title == "Default" {
        product_title.to_owned()
    } else {
        format!("{product_title} / {variant_title}")
    }
}
