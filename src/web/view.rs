//! What templates show: domain values turned into display text once, here, so that the
//! templates stay free of logic.

use std::collections::HashMap;

use crate::domain::accounts::addresses::SavedAddress;
use crate::domain::carts::Cart;
use crate::domain::catalog::{Product, Variant};
use crate::domain::discounts::{Discount, DiscountKind};
use crate::domain::images::ProductImage;
use crate::domain::money::{Currency, Money};
use crate::domain::orders::{Order, OrderStatus, PaymentStatus};
use crate::domain::pricing::{
    AppliedDiscount, PricedCart, PricedLine, PricedShipping, ShippingOption, ShippingRate, TaxRate,
};
use crate::domain::shop::Shop;
use crate::domain::time::Timestamp;
use crate::domain::validate::Address;

/// Digits after the decimal point in amounts of `currency` (ISO 4217 minor units).
pub fn decimals(currency: Currency) -> u32 {
    currency.decimals()
}

/// `€12.50`, `$3.00`, `1,200 JPY`: the symbol where one is well known, else the code.
pub fn money(value: Money) -> String {
    let code = value.currency.as_str();
    let decimals = decimals(value.currency);
    let sign = if value.amount < 0 { "-" } else { "" };
    let magnitude = value.amount.unsigned_abs();
    let divisor = 10u64.pow(decimals);
    let units = group_thousands(magnitude / divisor);
    let number = if decimals == 0 {
        units
    } else {
        format!("{units}.{:0width$}", magnitude % divisor, width = decimals as usize)
    };
    match code {
        "EUR" => format!("{sign}€{number}"),
        "USD" => format!("{sign}${number}"),
        "GBP" => format!("{sign}£{number}"),
        _ => format!("{sign}{number} {code}"),
    }
}

fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A decimal amount for an input field: `12.50` for 1250 cents, `1200` for 1200 yen.
pub fn decimal(value: Money) -> String {
    let decimals = decimals(value.currency);
    let magnitude = value.amount.unsigned_abs();
    let sign = if value.amount < 0 { "-" } else { "" };
    if decimals == 0 {
        return format!("{sign}{magnitude}");
    }
    let divisor = 10u64.pow(decimals);
    format!(
        "{sign}{}.{:0width$}",
        magnitude / divisor,
        magnitude % divisor,
        width = decimals as usize
    )
}

/// `2026-11-26 18:40 UTC`.
/// A moment as a page shows it: `<time datetime="{iso}" data-local>{text}</time>`, which
/// the page's script turns into the visitor's own time (`text`, in UTC, is what remains
/// without script).
pub struct Moment {
    pub iso: String,
    pub text: String,
}

impl Moment {
    pub fn new(moment: Timestamp) -> Self {
        Moment {
            iso: moment.to_rfc3339(),
            text: date_time(moment),
        }
    }
}

pub fn date_time(moment: Timestamp) -> String {
    let text = moment.to_rfc3339();
    match (text.get(..10), text.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => text,
    }
}

/// Percent-encodes a query value.
pub fn url_encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|pair| pair.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// A path to come back to after signing in: only a local path, never another site.
pub fn local_path(next: Option<&str>, fallback: &str) -> String {
    match next {
        // Browsers drop tabs and newlines from URLs, so `/\t/evil.example` would become
        // `//evil.example`: only printable ASCII is followed.
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            path.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

pub fn order_status_label(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Paid => "Paid, being prepared",
        OrderStatus::Fulfilled => "Shipped",
        OrderStatus::Canceled => "Canceled",
    }
}

pub fn payment_status_label(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Pending => "Pending",
        PaymentStatus::RequiresAction => "Waiting for the card's confirmation",
        PaymentStatus::Authorized => "Authorized, charged at shipping",
        PaymentStatus::Captured => "Paid",
        PaymentStatus::Failed => "Failed",
        PaymentStatus::Canceled => "Released",
        PaymentStatus::PartiallyRefunded => "Partly refunded",
        PaymentStatus::Refunded => "Refunded",
    }
}

/// The storefront's currency picker, shown when the shop sells in more than one.
pub struct CurrencySwitch {
    pub current: String,
    pub choices: Vec<String>,
}

impl CurrencySwitch {
    pub fn new(shop: &Shop, current: Currency) -> Option<CurrencySwitch> {
        (shop.currencies.len() > 1).then(|| CurrencySwitch {
            current: current.to_string(),
            choices: shop.currencies.iter().map(Currency::to_string).collect(),
        })
    }
}

/// An image as a page shows it: `src` the copy for `sizes`, `srcset` every copy so that
/// the browser picks by the screen.
pub struct PictureView {
    pub src: String,
    /// Empty for an image linked by URL (one copy).
    pub srcset: String,
    pub alt: String,
    /// In pixels; 0 where unknown (an image linked by URL).
    pub width: u32,
    pub height: u32,
}

impl PictureView {
    /// `image` with `src` at the narrowest copy at least `shown_width` pixels wide.
    pub fn new(image: &ProductImage, shown_width: u32) -> Self {
        let copies = image.copies();
        let srcset = copies
            .iter()
            .map(|(width, url)| format!("{url} {width}w"))
            .collect::<Vec<_>>()
            .join(", ");
        let src = copies
            .iter()
            .find(|(width, _)| *width >= shown_width)
            .or(copies.last())
            .map_or_else(|| image.url(), |(_, url)| url.clone());
        let (width, height) = image.size().unwrap_or((0, 0));
        PictureView {
            src,
            srcset,
            alt: image.alt.clone(),
            width,
            height,
        }
    }
}

/// The images the storefront shows: those uploaded. An image linked by URL (from before
/// uploads) is on another site, which the pages' Content-Security-Policy does not load
/// images from.
pub fn shown_images(product: &Product) -> impl Iterator<Item = &ProductImage> {
    product.images.iter().filter(|image| image.size().is_some())
}

/// The page title search engines show for a product: its SEO title, else its title.
pub fn seo_title(product: &Product) -> String {
    if product.seo_title.is_empty() {
        product.title.clone()
    } else {
        product.seo_title.clone()
    }
}

/// A product page's meta description: its SEO description, else the start of its
/// description (on one line, cut at a word within 160 characters).
pub fn seo_description(product: &Product) -> String {
    if !product.seo_description.is_empty() {
        return product.seo_description.clone();
    }
    let flat = product.description.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 160 {
        return flat;
    }
    let cut: String = flat.chars().take(160).collect();
    match cut.rfind(' ') {
        Some(space) => format!("{}…", &cut[..space]),
        None => format!("{cut}…"),
    }
}

/// A product in a grid of products.
pub struct ProductCard {
    pub slug: String,
    pub title: String,
    /// Its first image; without one, `initials` on a `tone` stand in.
    pub picture: Option<PictureView>,
    pub initials: String,
    /// Which of the placeholder colours the product gets, the same wherever it is shown.
    pub tone: u8,
    /// "€12.00" or "from €12.00".
    pub price: String,
    pub in_stock: bool,
}

impl ProductCard {
    /// The product with its prices in `currency` (none where it is not sold in it).
    pub fn new(product: &Product, currency: Currency) -> Self {
        let prices: Vec<Money> = product.variants.iter().filter_map(|v| v.price_in(currency)).collect();
        let cheapest = prices.iter().copied().min_by_key(|price| price.amount);
        let varied = prices.iter().any(|price| Some(*price) != cheapest);
        let price = match cheapest {
            Some(price) if varied => format!("from {}", money(price)),
            Some(price) => money(price),
            None => String::new(),
        };
        ProductCard {
            slug: product.slug.clone(),
            title: product.title.clone(),
            picture: shown_images(product)
                .next()
                .map(|image| PictureView::new(image, CARD_IMAGE_WIDTH)),
            initials: initials(&product.title),
            tone: (product.slug.bytes().map(u32::from).sum::<u32>() % 6) as u8,
            price,
            in_stock: product.variants.iter().any(|v| v.available > 0),
        }
    }
}

/// How wide a card shows its picture, at most (in CSS pixels; the `srcset` serves 2x
/// screens).
pub const CARD_IMAGE_WIDTH: u32 = 320;
/// How wide a product page shows its first picture, at most.
pub const PRODUCT_IMAGE_WIDTH: u32 = 640;

fn initials(title: &str) -> String {
    title
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .filter(|c| c.is_alphanumeric())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

pub struct VariantView {
    pub id: String,
    pub sku: String,
    pub title: String,
    /// Its price in the currency shown, or what says it is not sold in it.
    pub price: String,
    /// Sold in the currency shown: it can go into a cart in that currency.
    pub sold: bool,
    /// The currency shown.
    pub currency: String,
    pub available: i64,
    pub weight_grams: i64,
    /// Its prices as fields of the staff's editor: its own first, then every other currency
    /// of the shop (empty where it is not sold in it).
    pub price_fields: Vec<PriceField>,
}

impl VariantView {
    /// It can go into a cart now: sold in the currency shown, and in stock.
    pub fn buyable(&self) -> bool {
        self.sold && self.available > 0
    }
}

/// One price of a variant as an input field: the amount as a decimal, empty for none.
pub struct PriceField {
    pub currency: String,
    pub decimal: String,
    pub decimals: u32,
}

impl PriceField {
    fn new(currency: Currency, amount: Option<Money>) -> PriceField {
        PriceField {
            currency: currency.to_string(),
            decimal: amount.map(decimal).unwrap_or_default(),
            decimals: decimals(currency),
        }
    }

    /// Empty fields for a new variant: the shop's default currency first (its own, which
    /// it must have), then the others.
    pub fn for_new_variant(shop: &Shop) -> Vec<PriceField> {
        std::iter::once(shop.default_currency)
            .chain(shop.currencies.iter().copied().filter(|c| *c != shop.default_currency))
            .map(|currency| PriceField::new(currency, None))
            .collect()
    }
}

impl VariantView {
    /// The variant priced in `currency`; `shop_currencies` lists the editor's price fields.
    pub fn new(variant: &Variant, currency: Currency, shop_currencies: &[Currency]) -> Self {
        let price = variant.price_in(currency);
        let own = variant.prices.first().map(|own| own.currency);
        let price_fields = own
            .into_iter()
            .chain(shop_currencies.iter().copied().filter(|c| Some(*c) != own))
            .map(|c| PriceField::new(c, variant.price_in(c)))
            .collect();
        VariantView {
            id: variant.id.clone(),
            sku: variant.sku.clone(),
            title: variant.title.clone(),
            price: price.map_or_else(|| format!("Not sold in {currency}"), money),
            sold: price.is_some(),
            currency: currency.to_string(),
            available: variant.available,
            weight_grams: variant.weight_grams,
            price_fields,
        }
    }
}

pub struct LineView {
    pub id: String,
    pub variant_id: String,
    /// Its product's first image, small.
    pub picture: Option<PictureView>,
    pub title: String,
    pub sku: String,
    pub quantity: i64,
    pub unit_price: String,
    pub line_total: String,
    /// What discounts took off the line ("−€2.01"); empty for nothing.
    pub discount: String,
    /// In a cart, what can be bought now when the line asks for more.
    pub short_of: Option<i64>,
}

impl From<&PricedLine> for LineView {
    fn from(line: &PricedLine) -> Self {
        let discount = line.discount();
        LineView {
            id: line.id.clone(),
            variant_id: line.variant_id.clone(),
            picture: None,
            title: line.title.clone(),
            sku: line.sku.clone(),
            quantity: line.quantity,
            unit_price: money(line.unit_price),
            line_total: money(line.line_total),
            discount: if discount.amount > 0 {
                format!("−{}", money(discount))
            } else {
                String::new()
            },
            short_of: None,
        }
    }
}

/// How wide a cart's or order's line shows its product's picture.
pub const LINE_IMAGE_WIDTH: u32 = 160;

/// Gives each line its product's picture, from `pictures` by variant id.
pub fn picture_lines(lines: &mut [LineView], pictures: &HashMap<String, ProductImage>) {
    for line in lines {
        line.picture = pictures
            .get(&line.variant_id)
            .filter(|image| image.size().is_some())
            .map(|image| PictureView::new(image, LINE_IMAGE_WIDTH));
    }
}

/// The countries the checkout's picker offers, as `(code, name)`.
/// The country's name where the checkout offers it, else its code.
fn country_name(code: &str) -> &str {
    COUNTRIES
        .iter()
        .find(|(known, _)| *known == code)
        .map_or(code, |(_, name)| name)
}

const COUNTRIES: [(&str, &str); 14] = [
    ("DE", "Germany"),
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("DK", "Denmark"),
    ("ES", "Spain"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("IT", "Italy"),
    ("NL", "Netherlands"),
    ("PL", "Poland"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("US", "United States"),
];

pub struct CartView {
    pub id: String,
    pub lines: Vec<LineView>,
    /// Subtotal, shipping and tax rows above the total; none while there is nothing but
    /// the lines to add up.
    pub summary: Vec<(String, String)>,
    pub total: String,
    /// The total in minor units and its currency, for Stripe's card form.
    pub total_minor: i64,
    pub currency: String,
    pub codes: Vec<CodeView>,
    pub email: String,
    pub address: AddressFields,
    /// The country picker: `(code, name, selected)`.
    pub countries: Vec<(&'static str, &'static str, bool)>,
}

/// An address as the checkout form's fields show it (empty where unknown).
#[derive(Default)]
pub struct AddressFields {
    pub name: String,
    pub line1: String,
    pub line2: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

impl From<&Address> for AddressFields {
    fn from(address: &Address) -> Self {
        AddressFields {
            name: address.name.clone(),
            line1: address.line1.clone(),
            line2: address.line2.clone().unwrap_or_default(),
            city: address.city.clone(),
            region: address.region.clone().unwrap_or_default(),
            postal_code: address.postal_code.clone(),
            country: address.country.clone(),
        }
    }
}

/// A customer's saved address: on the account page, and offered at checkout.
pub struct SavedAddressView {
    pub id: String,
    /// "Ada Lovelace, 12 St James's Square, SW1Y 4JH London, United Kingdom".
    pub summary: String,
    pub fields: AddressFields,
}

impl From<&SavedAddress> for SavedAddressView {
    fn from(saved: &SavedAddress) -> Self {
        let address = &saved.address;
        let summary = [
            Some(address.name.as_str()),
            Some(address.line1.as_str()),
            address.line2.as_deref(),
            Some(&format!("{} {}", address.postal_code, address.city)),
            Some(country_name(&address.country)),
        ]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ");
        SavedAddressView {
            id: saved.id.clone(),
            summary,
            fields: AddressFields::from(address),
        }
    }
}

/// The country picker's choices: `(code, name, selected)`.
pub fn country_choices(selected: &str) -> Vec<(&'static str, &'static str, bool)> {
    COUNTRIES
        .iter()
        .map(|(code, name)| (*code, *name, *code == selected))
        .collect()
}

impl From<&Cart> for CartView {
    fn from(cart: &Cart) -> Self {
        let address = cart.shipping_address.as_ref();
        let country = address.map_or("DE", |address| address.country.as_str());
        CartView {
            id: cart.id.clone(),
            lines: cart
                .pricing
                .lines
                .iter()
                .map(|line| LineView {
                    short_of: cart
                        .shortages
                        .iter()
                        .find(|short| short.variant_id == line.variant_id)
                        .map(|short| short.available),
                    ..LineView::from(line)
                })
                .collect(),
            summary: summary_rows(&cart.pricing),
            total: money(cart.pricing.totals.total),
            total_minor: cart.pricing.totals.total.amount,
            currency: cart.currency.to_string(),
            codes: cart_codes(cart),
            email: cart.email.clone().unwrap_or_default(),
            address: address.map_or_else(AddressFields::default, AddressFields::from),
            countries: country_choices(country),
        }
    }
}

/// A shipping option the checkout offers, priced for the cart.
pub struct ShippingChoiceView {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

/// The options that serve the cart, the chosen one checked. None is checked for the
/// customer: the totals shown are the cart's, and an option counts once the cart has it.
pub fn shipping_choices(options: &[PricedShipping], chosen: Option<&str>) -> Vec<ShippingChoiceView> {
    options
        .iter()
        .map(|option| ShippingChoiceView {
            id: option.id.clone(),
            label: format!("{}: {}", option.name, money(option.amount)),
            checked: Some(option.id.as_str()) == chosen,
        })
        .collect()
}

/// The rows between the lines and the total: subtotal, shipping, and each tax rate's
/// share ("includes ..." where prices hold their tax). Empty while the total is just the
/// lines, as it is in a shop without shipping options or tax rates.
pub fn summary_rows(pricing: &PricedCart) -> Vec<(String, String)> {
    let totals = &pricing.totals;
    if pricing.shipping.is_none() && pricing.tax_lines.is_empty() && totals.discount_total.amount == 0 {
        return Vec::new();
    }
    let mut rows = vec![("Subtotal".to_owned(), money(totals.subtotal))];
    for discount in pricing.discounts.iter().filter(|discount| !discount.waives_shipping) {
        rows.push((discount_label(discount), format!("−{}", money(discount.amount))));
    }
    if let Some(shipping) = &pricing.shipping {
        let free = pricing.discounts.iter().find(|discount| discount.waives_shipping);
        let label = match free {
            Some(discount) => format!("Shipping: {} ({})", shipping.name, discount_label(discount)),
            None => format!("Shipping: {}", shipping.name),
        };
        rows.push((label, money(shipping.amount)));
    }
    for line in &pricing.tax_lines {
        let label = if pricing.prices_include_tax {
            format!("Includes {}", line.name)
        } else {
            line.name.clone()
        };
        rows.push((label, money(line.amount)));
    }
    rows
}

/// "SAVE10: 10 % off", or an automatic discount's description alone.
fn discount_label(discount: &AppliedDiscount) -> String {
    match &discount.code {
        Some(code) => format!("{code}: {}", discount.description),
        None => discount.description.clone(),
    }
}

/// A code on the cart, with what it takes off, or why it does not apply.
pub struct CodeView {
    pub code: String,
    pub label: String,
    pub applies: bool,
}

/// The cart's codes: the ones pricing applied, then the ones it did not (which checkout
/// would refuse: the customer sees them and can take them off).
pub fn cart_codes(cart: &Cart) -> Vec<CodeView> {
    let applied = cart.pricing.discounts.iter().filter_map(|discount| {
        discount.code.as_ref().map(|code| CodeView {
            code: code.clone(),
            label: if discount.waives_shipping {
                format!("{}: free shipping", discount.description)
            } else {
                format!("{}: −{}", discount.description, money(discount.amount))
            },
            applies: true,
        })
    });
    let idle = cart.codes_not_applied.iter().map(|code| CodeView {
        code: code.clone(),
        label: "does not apply to this cart now; remove it to check out".to_owned(),
        applies: false,
    });
    applied.chain(idle).collect()
}

pub struct OrderView {
    pub id: String,
    pub number: i64,
    pub email: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub payment_status: &'static str,
    pub payment_label: &'static str,
    pub lines: Vec<LineView>,
    pub summary: Vec<(String, String)>,
    pub total: String,
    pub refunded: String,
    pub has_refund: bool,
    /// What may still be refunded, as a decimal for an input field.
    pub refundable_decimal: String,
    pub currency: String,
    pub decimals: u32,
    pub address_lines: Vec<String>,
    pub tracking_number: String,
    pub placed_at: Moment,
}

impl From<&Order> for OrderView {
    fn from(order: &Order) -> Self {
        let address = &order.shipping_address;
        let address_lines = [
            Some(address.name.clone()),
            Some(address.line1.clone()),
            address.line2.clone(),
            Some(format!("{} {}", address.postal_code, address.city)),
            address.region.clone(),
            Some(country_name(&address.country).to_owned()),
        ]
        .into_iter()
        .flatten()
        .filter(|line| !line.trim().is_empty())
        .collect();
        let refundable = Money::new(
            order.payment.amount.amount - order.payment.refunded_amount.amount,
            order.currency,
        );
        OrderView {
            id: order.id.clone(),
            number: order.number,
            email: order.email.clone(),
            status: order.status.as_str(),
            status_label: order_status_label(order.status),
            payment_status: order.payment.status.as_str(),
            payment_label: payment_status_label(order.payment.status),
            lines: order.pricing.lines.iter().map(LineView::from).collect(),
            summary: summary_rows(&order.pricing),
            total: money(order.pricing.totals.total),
            refunded: money(order.payment.refunded_amount),
            has_refund: order.payment.refunded_amount.amount > 0,
            refundable_decimal: decimal(refundable),
            currency: order.currency.as_str().to_owned(),
            decimals: decimals(order.currency),
            address_lines,
            tracking_number: order.tracking_number.clone().unwrap_or_default(),
            placed_at: Moment::new(order.created_at),
        }
    }
}

/// An order in a table of orders.
pub struct OrderRow {
    pub id: String,
    pub number: i64,
    pub placed_at: Moment,
    pub status_label: &'static str,
    pub status: &'static str,
    pub total: String,
    pub item_count: i64,
}

impl From<&Order> for OrderRow {
    fn from(order: &Order) -> Self {
        OrderRow {
            id: order.id.clone(),
            number: order.number,
            placed_at: Moment::new(order.created_at),
            status_label: order_status_label(order.status),
            status: order.status.as_str(),
            total: money(order.pricing.totals.total),
            item_count: order.pricing.lines.iter().map(|line| line.quantity).sum(),
        }
    }
}

/// The shop's settings as the dashboard's form shows them.
pub struct ShopView {
    pub name: String,
    pub currencies: String,
    pub default_currency: String,
    pub prices_include_tax: bool,
    /// Every currency it sells in with its decimals, for pickers whose amounts follow them.
    pub currency_choices: Vec<(String, u32)>,
}

impl From<&Shop> for ShopView {
    fn from(shop: &Shop) -> Self {
        ShopView {
            name: shop.name.clone(),
            currencies: shop
                .currencies
                .iter()
                .map(Currency::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            default_currency: shop.default_currency.as_str().to_owned(),
            prices_include_tax: shop.prices_include_tax,
            currency_choices: shop
                .currencies
                .iter()
                .map(|currency| (currency.to_string(), decimals(*currency)))
                .collect(),
        }
    }
}

/// A shipping option in the dashboard's table, with its edit form.
pub struct ShippingOptionRow {
    pub id: String,
    pub name: String,
    pub countries: String,
    pub rate: String,
    pub free_over: String,
    pub form: ShippingOptionForm,
}

/// The values of a shipping option's form: amounts as decimals, weight tiers one per line
/// as `grams: price`.
pub struct ShippingOptionForm {
    pub name: String,
    pub currency: String,
    pub countries: String,
    pub by_weight: bool,
    pub flat_amount: String,
    pub tiers: String,
    pub free_over: String,
}

impl ShippingOptionForm {
    /// The empty form of a new option, in the shop's default currency.
    pub fn blank(shop: &Shop) -> ShippingOptionForm {
        ShippingOptionForm {
            name: String::new(),
            currency: shop.default_currency.to_string(),
            countries: String::new(),
            by_weight: false,
            flat_amount: String::new(),
            tiers: String::new(),
            free_over: String::new(),
        }
    }
}

impl From<&ShippingOption> for ShippingOptionRow {
    fn from(option: &ShippingOption) -> Self {
        let amount = |minor| money(Money::new(minor, option.currency));
        ShippingOptionRow {
            id: option.id.clone(),
            name: option.name.clone(),
            countries: if option.countries.is_empty() {
                "Every country".to_owned()
            } else {
                option.countries.join(", ")
            },
            rate: match &option.rate {
                ShippingRate::Flat { amount: flat } => amount(*flat),
                ShippingRate::Weight { tiers } => tiers
                    .iter()
                    .map(|tier| format!("{} up to {} g", amount(tier.amount), tier.up_to_grams))
                    .collect::<Vec<_>>()
                    .join("; "),
            },
            free_over: option.free_over.map(amount).unwrap_or_default(),
            form: ShippingOptionForm::from(option),
        }
    }
}

impl From<&ShippingOption> for ShippingOptionForm {
    fn from(option: &ShippingOption) -> Self {
        let amount = |minor| decimal(Money::new(minor, option.currency));
        let (flat_amount, tiers) = match &option.rate {
            ShippingRate::Flat { amount: flat } => (amount(*flat), String::new()),
            ShippingRate::Weight { tiers } => (
                String::new(),
                tiers
                    .iter()
                    .map(|tier| format!("{}: {}", tier.up_to_grams, amount(tier.amount)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        };
        ShippingOptionForm {
            name: option.name.clone(),
            currency: option.currency.to_string(),
            countries: option.countries.join(", "),
            by_weight: matches!(option.rate, ShippingRate::Weight { .. }),
            flat_amount,
            tiers,
            free_over: option.free_over.map(amount).unwrap_or_default(),
        }
    }
}

/// A tax rate in the dashboard's table, with its edit form's values.
pub struct TaxRateRow {
    pub id: String,
    pub name: String,
    pub place: String,
    pub tax_class: String,
    pub percent: String,
    pub country: String,
    pub region: String,
    pub rate_bps_text: String,
}

impl TaxRateRow {
    /// The empty form of a new rate.
    pub fn blank() -> TaxRateRow {
        TaxRateRow {
            id: String::new(),
            name: String::new(),
            place: String::new(),
            tax_class: String::new(),
            percent: String::new(),
            country: String::new(),
            region: String::new(),
            rate_bps_text: String::new(),
        }
    }
}

impl From<&TaxRate> for TaxRateRow {
    fn from(rate: &TaxRate) -> Self {
        TaxRateRow {
            id: rate.id.clone(),
            name: rate.name.clone(),
            place: rate.region.clone().unwrap_or_else(|| rate.country.clone()),
            tax_class: rate.tax_class.clone(),
            percent: percent_text(rate.rate_bps),
            country: rate.country.clone(),
            region: rate.region.clone().unwrap_or_default(),
            rate_bps_text: percent_field(rate.rate_bps),
        }
    }
}

/// A discount in the dashboard's table, with its edit form.
pub struct DiscountRow {
    pub id: String,
    pub code: String,
    pub description: String,
    pub value: String,
    pub conditions: String,
    pub uses: String,
    /// The orders that used it last: `(#number, link)`.
    pub orders: Vec<(String, String)>,
    pub active: bool,
    pub form: DiscountForm,
}

/// Basis points as a table shows them: 1250 is "12.50 %".
fn percent_text(bps: i64) -> String {
    format!("{}.{:02} %", bps / 100, bps % 100)
}

/// Basis points as a percentage field shows them: 1250 is "12.5", 1900 is "19".
fn percent_field(bps: i64) -> String {
    let text = format!("{}.{:02}", bps / 100, bps % 100);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The values of a discount's form: amounts as decimals, times as the API writes them.
pub struct DiscountForm {
    pub code: String,
    pub description: String,
    pub kind: &'static str,
    pub percent: String,
    pub amount: String,
    pub currency: String,
    pub min_subtotal: String,
    pub starts_at: String,
    pub ends_at: String,
    pub usage_limit: String,
    pub usage_limit_per_customer: String,
    pub combinable: bool,
}

impl DiscountForm {
    pub fn blank(shop: &Shop) -> DiscountForm {
        DiscountForm {
            code: String::new(),
            description: String::new(),
            kind: "percentage",
            percent: String::new(),
            amount: String::new(),
            currency: shop.default_currency.to_string(),
            min_subtotal: String::new(),
            starts_at: String::new(),
            ends_at: String::new(),
            usage_limit: String::new(),
            usage_limit_per_customer: String::new(),
            combinable: false,
        }
    }
}

impl From<&Discount> for DiscountForm {
    fn from(discount: &Discount) -> Self {
        let time = |at: Option<Timestamp>| at.map(Timestamp::to_rfc3339).unwrap_or_default();
        let count = |limit: Option<i64>| limit.map(|n| n.to_string()).unwrap_or_default();
        DiscountForm {
            code: discount.code.clone().unwrap_or_default(),
            description: discount.description.clone(),
            kind: discount.kind.as_str(),
            percent: discount.percentage_bps.map(percent_field).unwrap_or_default(),
            amount: discount.amount.map(decimal).unwrap_or_default(),
            currency: discount.currency.map(|c| c.to_string()).unwrap_or_default(),
            min_subtotal: discount.min_subtotal.map(decimal).unwrap_or_default(),
            starts_at: time(discount.starts_at),
            ends_at: time(discount.ends_at),
            usage_limit: count(discount.usage_limit),
            usage_limit_per_customer: count(discount.usage_limit_per_customer),
            combinable: discount.combinable,
        }
    }
}

impl DiscountRow {
    /// The discount with the orders (`(number, id)`) that used it last.
    pub fn new(discount: &Discount, orders: &[(i64, String)]) -> Self {
        let value = match (discount.kind, discount.percentage_bps, discount.amount) {
            (DiscountKind::Percentage, Some(bps), _) => format!("{} off", percent_text(bps)),
            (DiscountKind::FixedAmount, _, Some(amount)) => format!("{} off", money(amount)),
            _ => "Free shipping".to_owned(),
        };
        let mut conditions = Vec::new();
        if let Some(min) = discount.min_subtotal {
            conditions.push(format!("from {}", money(min)));
        }
        if let Some(starts) = discount.starts_at {
            conditions.push(format!("from {}", date(starts)));
        }
        if let Some(ends) = discount.ends_at {
            conditions.push(format!("until {}", date(ends)));
        }
        if !discount.product_ids.is_empty() || !discount.category_ids.is_empty() {
            conditions.push("some products only".to_owned());
        }
        if discount.combinable {
            conditions.push("combines".to_owned());
        }
        if let Some(per_customer) = discount.usage_limit_per_customer {
            conditions.push(format!("{per_customer} per customer"));
        }
        DiscountRow {
            id: discount.id.clone(),
            code: discount.code.clone().unwrap_or_else(|| "automatic".to_owned()),
            description: discount.description.clone(),
            value,
            conditions: conditions.join(", "),
            uses: match discount.usage_limit {
                Some(limit) => format!("{} of {limit}", discount.times_used),
                None => discount.times_used.to_string(),
            },
            orders: orders
                .iter()
                .map(|(number, id)| (format!("#{number}"), format!("/admin/orders/{id}")))
                .collect(),
            active: discount.active,
            form: DiscountForm::from(discount),
        }
    }
}

/// `2026-12-24`: the day of a time, in UTC.
fn date(at: Timestamp) -> String {
    at.to_rfc3339().chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_for_inputs_follow_the_currencys_decimals() {
        assert_eq!(decimal(Money::new(1250, Currency::EUR)), "12.50");
        assert_eq!(decimal(Money::new(1200, Currency::parse("JPY").expect("jpy"))), "1200");
    }

    #[test]
    fn formats_money_with_symbols_and_groups() {
        assert_eq!(money(Money::new(1250, Currency::EUR)), "€12.50");
        assert_eq!(money(Money::new(123_456_789, Currency::EUR)), "€1,234,567.89");
        assert_eq!(money(Money::new(-5, Currency::EUR)), "-€0.05");
        let yen = Currency::parse("JPY").expect("jpy");
        assert_eq!(money(Money::new(1200, yen)), "1,200 JPY");
    }

    #[test]
    fn percentages_show_as_typed() {
        assert_eq!(percent_field(1900), "19");
        assert_eq!(percent_field(1250), "12.5");
        assert_eq!(percent_field(5), "0.05");
        assert_eq!(percent_field(0), "0");
        assert_eq!(percent_field(10_000), "100");
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/account"), "/"), "/account");
        assert_eq!(local_path(Some("//evil.example"), "/"), "/");
        assert_eq!(local_path(Some("https://evil.example"), "/"), "/");
        assert_eq!(local_path(Some("/\\evil.example"), "/"), "/");
        assert_eq!(local_path(None, "/"), "/");
        assert_eq!(local_path(Some("/\t/evil.example"), "/"), "/");
        assert_eq!(local_path(Some("/\r\nSet-Cookie: x"), "/"), "/");
    }
}
