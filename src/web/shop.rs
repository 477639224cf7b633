//! The storefront: catalog, product, cart and checkout, order, and the customer's account.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::view::{
    self, CartView, CurrencySwitch, OrderRow, OrderView, PRODUCT_IMAGE_WIDTH, PictureView, ProductCard,
    SavedAddressView, VariantView,
};
use super::{PageError, PagePath, PageQuery, PageResult, Shell, Visitor, page};
use crate::app::AppState;
use crate::app::cookies;
use crate::domain::accounts::addresses;
use crate::domain::catalog::{self, ProductQuery, ProductSort};
use crate::domain::money::Currency;
use crate::domain::shop::Shop;
use crate::domain::{DomainError, PageRequest, Principal, carts, orders, shipping};
use crate::payments::{CardForm, TEST_CARDS};

/// The cookie in which the browser keeps its cart's id (set by `app.js`).
const CART_COOKIE: &str = "backroom_cart";
/// The cookie in which the browser keeps the currency the visitor chose (set by `app.js`).
const CURRENCY_COOKIE: &str = "backroom_currency";

/// The currency the visitor sees prices in: the one chosen while the shop sells in it, else
/// the shop's default.
fn shown_currency(shop: &Shop, headers: &HeaderMap) -> Currency {
    cookies::cookie(headers, CURRENCY_COOKIE)
        .and_then(|code| shop.sold_currency(code).ok())
        .unwrap_or(shop.default_currency)
}

#[derive(Debug, Default, Deserialize)]
pub struct CatalogQuery {
    q: Option<String>,
    category: Option<String>,
    cursor: Option<String>,
    /// `relevance`, `newest`, `price_asc` or `price_desc`; anything else is ignored.
    sort: Option<String>,
    /// Price bounds in whole units of the shown currency, as a shopper types them; what
    /// is not a whole number is ignored.
    min: Option<String>,
    max: Option<String>,
}

pub struct CategoryLink {
    pub name: String,
    pub slug: String,
    pub current: bool,
    /// Matches of the search in it, when there is a search.
    pub count: Option<i64>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    shell: Shell,
    currency_switch: Option<CurrencySwitch>,
    search: String,
    heading: String,
    /// Neither a category nor a search narrows the list.
    showing_all: bool,
    categories: Vec<CategoryLink>,
    products: Vec<ProductCard>,
    next_page: Option<String>,
    /// A search's ways to narrow it: shown with results for words.
    refine: Option<Refine>,
}

/// The sort and price filter of a search's results, and what every match has.
struct Refine {
    category: String,
    sort: &'static str,
    sorts: [(&'static str, &'static str); 4],
    min: String,
    max: String,
    currency: String,
    /// "Prices from 5.00 EUR to 35.00 EUR" among the matches.
    price_range: Option<String>,
}

pub async fn home(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    PageQuery(query): PageQuery<CatalogQuery>,
) -> PageResult {
    catalog_page(state, visitor, headers, query).await
}

/// A category's page (`/categories/{slug}`): the catalog narrowed to it.
pub async fn category(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    PagePath(slug): PagePath<String>,
    PageQuery(query): PageQuery<CatalogQuery>,
) -> PageResult {
    let query = CatalogQuery {
        category: Some(slug),
        ..query
    };
    catalog_page(state, visitor, headers, query).await
}

async fn catalog_page(
    state: AppState,
    Visitor(visitor): Visitor,
    headers: HeaderMap,
    query: CatalogQuery,
) -> PageResult {
    let shop = state.shop.get(&state.store).await?;
    let currency = shown_currency(&shop, &headers);
    let search = query.q.unwrap_or_default();
    let category = query.category.filter(|slug| !slug.is_empty());
    let categories = catalog::list_categories(&state.store, &PageRequest::parse(Some(100), None)?).await?;
    let page_request = PageRequest::parse(Some(24), query.cursor.as_deref())?;
    let searching = !search.trim().is_empty();
    let sort = query
        .sort
        .as_deref()
        .and_then(ProductSort::parse)
        .filter(|sort| searching || *sort != ProductSort::Relevance);
    let whole_units = |text: &Option<String>| {
        text.as_deref()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .filter(|units| *units >= 0)
            .and_then(|units| units.checked_mul(10_i64.pow(currency.decimals())))
    };
    let (min_price, max_price) = match (whole_units(&query.min), whole_units(&query.max)) {
        (Some(min), Some(max)) if min > max => (Some(max), Some(min)),
        bounds => bounds,
    };
    let filter = ProductQuery {
        search: Some(search.clone()),
        category: category.clone(),
        currency: Some(currency),
        sort,
        min_price,
        max_price,
        facets: searching,
        ..ProductQuery::default()
    };
    let listing = catalog::list_products(&state.store, &filter, &page_request).await?;
    let products = listing.page;
    let current = categories
        .data
        .iter()
        .find(|c| Some(&c.slug) == category.as_ref() || Some(&c.id) == category.as_ref());
    let heading = match (current, search.trim()) {
        (_, text) if !text.is_empty() => format!("Results for “{text}”"),
        (Some(category), _) => category.name.clone(),
        (None, _) => "All products".to_owned(),
    };
    let next_page = products.next_cursor.map(|cursor| {
        let mut link = format!("/?cursor={}", view::url_encode(&cursor));
        let kept = [
            ("q", Some(search.clone())),
            ("category", category.clone()),
            ("sort", sort.map(|sort| sort.as_str().to_owned())),
            ("min", query.min.clone()),
            ("max", query.max.clone()),
        ];
        for (name, value) in kept {
            if let Some(value) = value.filter(|value| !value.is_empty()) {
                link.push_str(&format!("&{name}={}", view::url_encode(&value)));
            }
        }
        link
    });
    // With words, the sidebar lists the categories of the matches, with their counts;
    // within a category they would count its overlaps, so the plain list shows instead.
    let counts: Option<HashMap<&str, i64>> = listing.facets.as_ref().filter(|_| category.is_none()).map(|facets| {
        facets
            .categories
            .iter()
            .map(|(id, count)| (id.as_str(), *count))
            .collect()
    });
    let refine = listing.facets.as_ref().map(|facets| Refine {
        category: category.clone().unwrap_or_default(),
        sort: sort.unwrap_or(ProductSort::Relevance).as_str(),
        sorts: [
            ("relevance", "Best match"),
            ("newest", "Newest"),
            ("price_asc", "Price, low to high"),
            ("price_desc", "Price, high to low"),
        ],
        min: query.min.clone().unwrap_or_default(),
        max: query.max.clone().unwrap_or_default(),
        currency: currency.to_string(),
        price_range: facets
            .price
            .map(|(low, high)| format!("Prices from {} to {}", view::money(low), view::money(high))),
    });
    page(&Home {
        shell: Shell::storefront(&state, "Shop", &visitor).await?,
        currency_switch: CurrencySwitch::new(&shop, currency),
        showing_all: current.is_none() && search.trim().is_empty(),
        heading,
        categories: categories
            .data
            .iter()
            .filter_map(|c| {
                let count = match &counts {
                    Some(counts) => Some(*counts.get(c.id.as_str())?),
                    None => None,
                };
                Some(CategoryLink {
                    current: current.is_some_and(|current| current.id == c.id),
                    name: c.name.clone(),
                    slug: c.slug.clone(),
                    count,
                })
            })
            .collect(),
        products: products
            .data
            .iter()
            .map(|product| ProductCard::new(product, currency))
            .collect(),
        search,
        next_page,
        refine,
    })
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    shell: Shell,
    currency_switch: Option<CurrencySwitch>,
    id: String,
    title: String,
    description: String,
    /// Its images, the first large; without any, `initials` on a `tone` stand in.
    pictures: Vec<PictureView>,
    initials: String,
    tone: u8,
    variants: Vec<VariantView>,
    /// The currency shown.
    currency: Currency,
    /// Some variant is sold in `currency`.
    sold_in_currency: bool,
    /// The variant chosen at first: the first that can be bought (empty when all are sold
    /// out).
    choice: String,
}

pub async fn product(
    State(state): State<AppState>,
    Visitor(visitor): Visitor,
    headers: HeaderMap,
    PagePath(slug): PagePath<String>,
) -> PageResult {
    let product = catalog::get_product(&state.store, &slug).await?;
    let shop = state.shop.get(&state.store).await?;
    let currency = shown_currency(&shop, &headers);
    let card = ProductCard::new(&product, currency);
    let variants: Vec<VariantView> = product
        .variants
        .iter()
        .map(|variant| VariantView::new(variant, currency, &shop.currencies))
        .collect();
    page(&ProductPage {
        shell: Shell::storefront(&state, view::seo_title(&product), &visitor)
            .await?
            .described(Some(view::seo_description(&product))),
        currency_switch: CurrencySwitch::new(&shop, currency),
        id: product.id.clone(),
        title: product.title.clone(),
        description: product.description.clone(),
        pictures: view::shown_images(&product)
            .map(|image| PictureView::new(image, PRODUCT_IMAGE_WIDTH))
            .collect(),
        initials: card.initials,
        tone: card.tone,
        sold_in_currency: variants.iter().any(|variant| variant.sold),
        choice: variants
            .iter()
            .find(|variant| variant.buyable())
            .map(|variant| variant.id.clone())
            .unwrap_or_default(),
        variants,
        currency,
    })
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage {
    shell: Shell,
    /// In the cart's currency once there is a cart.
    currency_switch: Option<CurrencySwitch>,
    cart: Option<CartView>,
    /// The shop ships: checkout needs one of `shipping` (which may be empty until the
    /// cart has an address that an option serves).
    ships: bool,
    shipping: Vec<view::ShippingChoiceView>,
    /// A signed-in customer's orders go to their account's email.
    customer_email: Option<String>,
    /// A signed-in customer's saved addresses, offered to fill the address in.
    saved_addresses: Vec<SavedAddressView>,
    /// How the shopper pays: the test provider's cards, or Stripe's card form.
    payment: PaymentForm,
}

enum PaymentForm {
    TestCards(&'static [(&'static str, &'static str)]),
    Stripe(Arc<CardForm>),
    /// Stripe takes the payments, but the shop gave no publishable key for Stripe.js.
    Unavailable,
}

impl PaymentForm {
    fn takes_cards(&self) -> bool {
        !matches!(self, PaymentForm::Unavailable)
    }
}

pub async fn cart(State(state): State<AppState>, Visitor(visitor): Visitor, headers: HeaderMap) -> PageResult {
    let cart = match cookies::cookie(&headers, CART_COOKIE) {
        None => None,
        Some(id) => match carts::get_cart(&state.store, &visitor, id).await {
            Ok(cart) if cart.status == carts::CartStatus::Open && !cart.pricing.lines.is_empty() => Some(cart),
            Ok(_) | Err(DomainError::NotFound(_)) => None,
            Err(error) => return Err(error.into()),
        },
    };
    let customer_email = match &visitor {
        Principal::Customer { email, .. } => Some(email.clone()),
        _ => None,
    };
    let ships = shipping::shop_ships(&state.store).await?;
    let shop = state.shop.get(&state.store).await?;
    let currency = cart
        .as_ref()
        .map_or_else(|| shown_currency(&shop, &headers), |cart| cart.currency);
    let shipping = match (&cart, ships) {
        (Some(cart), true) => {
            let options = carts::shipping_options_for_cart(&state.store, &visitor, &cart.id).await?;
            let chosen = cart.pricing.shipping.as_ref().map(|shipping| shipping.id.as_str());
            view::shipping_choices(&options, chosen)
        }
        _ => Vec::new(),
    };
    let payment = match (state.payments.name(), &state.card_form) {
        ("test", _) => PaymentForm::TestCards(&TEST_CARDS),
        (_, Some(form)) => PaymentForm::Stripe(form.clone()),
        (_, None) => PaymentForm::Unavailable,
    };
    let policy = match &payment {
        PaymentForm::Stripe(form) => HeaderValue::from_str(&form.content_security_policy).ok(),
        _ => None,
    };
    let mut cart_view = cart.as_ref().map(CartView::from);
    if let Some(cart_view) = &mut cart_view {
        super::picture_lines(&state, &mut cart_view.lines).await?;
    }
    let mut response = page(&CartPage {
        shell: Shell::storefront(&state, "Your cart", &visitor).await?,
        currency_switch: CurrencySwitch::new(&shop, currency),
        cart: cart_view,
        ships,
        shipping,
        customer_email,
        saved_addresses: saved_addresses(&state, &visitor).await?,
        payment,
    })?;
    if let Some(policy) = policy {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
pub struct OrderQuery {
    token: Option<String>,
    /// Set by the checkout that just placed the order: the page thanks the shopper.
    #[serde(default)]
    placed: Option<u8>,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    shell: Shell,
    order: OrderView,
    /// The shopper arrives from the checkout that placed the order.
    just_placed: bool,
    /// A guest's page opens with its token: the address is their only way back.
    guest: bool,
    /// The live stream's address (with the guest token, when the page was opened with one).
    events_url: String,
}

pub async fn order(
    State(state): State<AppState>,
    Visitor(visitor): Visitor,
    PagePath(id): PagePath<String>,
    PageQuery(query): PageQuery<OrderQuery>,
) -> PageResult {
    let order = orders::get_order(&state.store, &visitor, &id, query.token.as_deref()).await?;
    let events_url = match &query.token {
        Some(token) => format!("/v1/orders/{}/events?token={}", order.id, view::url_encode(token)),
        None => format!("/v1/orders/{}/events", order.id),
    };
    let mut order_view = OrderView::from(&order);
    super::picture_lines(&state, &mut order_view.lines).await?;
    page(&OrderPage {
        shell: Shell::storefront(&state, format!("Order #{}", order.number), &visitor).await?,
        order: order_view,
        just_placed: query.placed == Some(1),
        guest: query.token.is_some(),
        events_url,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    shell: Shell,
    registering: bool,
    next: String,
    /// The visitor's guest cart, which signing in brings along (empty for none).
    cart_id: String,
}

pub async fn login(
    State(state): State<AppState>,
    Visitor(visitor): Visitor,
    headers: HeaderMap,
    PageQuery(query): PageQuery<NextQuery>,
) -> PageResult {
    sign_in_page(&state, visitor, &headers, query, false).await
}

pub async fn register(
    State(state): State<AppState>,
    Visitor(visitor): Visitor,
    headers: HeaderMap,
    PageQuery(query): PageQuery<NextQuery>,
) -> PageResult {
    sign_in_page(&state, visitor, &headers, query, true).await
}

async fn sign_in_page(
    state: &AppState,
    visitor: Principal,
    headers: &HeaderMap,
    query: NextQuery,
    registering: bool,
) -> PageResult {
    let next = view::local_path(query.next.as_deref(), "/account");
    if matches!(visitor, Principal::Customer { .. }) {
        return Ok(Redirect::to(&next).into_response());
    }
    let title = if registering { "Create an account" } else { "Sign in" };
    page(&SignInPage {
        shell: Shell::storefront(state, title, &visitor).await?,
        registering,
        next,
        cart_id: cookies::cookie(headers, CART_COOKIE).unwrap_or_default().to_owned(),
    })
}

/// A signed-in customer's saved addresses; none for anyone else.
async fn saved_addresses(state: &AppState, visitor: &Principal) -> Result<Vec<SavedAddressView>, PageError> {
    if !matches!(visitor, Principal::Customer { .. }) {
        return Ok(Vec::new());
    }
    let saved = addresses::list_addresses(&state.store, visitor).await?;
    Ok(saved.iter().map(SavedAddressView::from).collect())
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPasswordPage {
    shell: Shell,
}

/// Where the password reset email sends its reader: ask for a token, then use it. For
/// customers and staff alike.
pub async fn reset_password(State(state): State<AppState>, Visitor(visitor): Visitor) -> PageResult {
    page(&ResetPasswordPage {
        shell: Shell::storefront(&state, "Reset your password", &visitor).await?,
    })
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    shell: Shell,
    name: String,
    email: String,
    orders: Vec<OrderRow>,
    order_link: &'static str,
    next_page: Option<String>,
    addresses: Vec<SavedAddressView>,
    /// The new address form: empty, in Germany.
    address: view::AddressFields,
    countries: Vec<(&'static str, &'static str, bool)>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CursorQuery {
    cursor: Option<String>,
}

pub async fn account(
    State(state): State<AppState>,
    Visitor(visitor): Visitor,
    PageQuery(query): PageQuery<CursorQuery>,
) -> PageResult {
    match &visitor {
        Principal::Customer { .. } => {}
        Principal::Staff { .. } => return Ok(Redirect::to("/admin").into_response()),
        _ => {
            return Err(PageError::SignIn {
                next: "/account".to_owned(),
            });
        }
    };
    let customer = crate::domain::accounts::customers::get_own_account(&state.store, &visitor).await?;
    let page_request = PageRequest::parse(None, query.cursor.as_deref())?;
    let own = orders::list_own_orders(&state.store, &visitor, &page_request).await?;
    page(&AccountPage {
        shell: Shell::storefront(&state, "Your account", &visitor).await?,
        name: customer.name.unwrap_or_default(),
        email: customer.email,
        orders: own.data.iter().map(OrderRow::from).collect(),
        order_link: "/orders/",
        next_page: own
            .next_cursor
            .map(|cursor| format!("/account?cursor={}", view::url_encode(&cursor))),
        addresses: saved_addresses(&state, &visitor).await?,
        address: view::AddressFields::default(),
        countries: view::country_choices("DE"),
    })
}
