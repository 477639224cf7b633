//! The staff dashboard: the day's sales and orders arriving live, an order's actions,
//! products with their variants and stock, and customers with their orders.

use askama::Template;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::view::{self, OrderRow, OrderView, VariantView};
use super::{PageError, PagePath, PageQuery, PageResult, Shell, Visitor, page};
use crate::app::AppState;
use crate::domain::catalog::{self, ProductQuery};
use crate::domain::reports::{self, DailySales};
use crate::domain::time::Timestamp;
use crate::domain::{PageRequest, Permission, Principal, orders, shipping, shop};

#[derive(Template)]
#[template(path = "admin/sign_in.html")]
struct SignInPage {
    shell: Shell,
    /// Signed in, but as a customer.
    signed_in_as_customer: bool,
}

/// A staff member looking at a dashboard page. Whoever else asks gets the sign-in form in
/// its place; once signed in, the same address shows the page asked for.
pub struct StaffVisitor(pub Principal);

impl<S> FromRequestParts<S> for StaffVisitor
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Visitor(visitor) = Visitor::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if matches!(visitor, Principal::Staff { .. }) {
            return Ok(StaffVisitor(visitor));
        }
        let sign_in = SignInPage {
            shell: Shell::admin("Staff sign-in", &visitor),
            signed_in_as_customer: matches!(visitor, Principal::Customer { .. }),
        };
        Err(super::render(&sign_in))
    }
}

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub height: i64,
    pub label: String,
}

pub struct BestSellerRow {
    pub title: String,
    pub sku: String,
    pub quantity: i64,
    pub revenue: String,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    shell: Shell,
    day: String,
    orders_today: i64,
    revenue: String,
    average: String,
    chart: Vec<Bar>,
    best_sellers: Vec<BestSellerRow>,
    orders: Vec<OrderRow>,
    order_link: &'static str,
}

/// Where a row of an orders table links to, followed by the order's id.
const ORDER_LINK: &str = "/admin/orders/";
const CHART_HEIGHT: i64 = 100;
const BAR_PITCH: i64 = 10;

/// One bar per hour, scaled so that the busiest hour fills the chart.
fn hourly_bars(orders_by_hour: &[i64]) -> Vec<Bar> {
    let busiest = orders_by_hour.iter().copied().max().unwrap_or(0).max(1);
    orders_by_hour
        .iter()
        .enumerate()
        .map(|(hour, &orders)| {
            let height = if orders == 0 {
                1
            } else {
                (orders * CHART_HEIGHT / busiest).max(3)
            };
            let hour = hour as i64;
            Bar {
                x: hour * BAR_PITCH + 1,
                y: CHART_HEIGHT - height,
                height,
                label: format!("{hour:02}:00 UTC: {orders} order{}", if orders == 1 { "" } else { "s" }),
            }
        })
        .collect()
}

/// Revenue in every currency sold in, and the average order in the main one.
fn revenue_text(sales: &DailySales) -> (String, String) {
    if sales.by_currency.is_empty() {
        return ("0".to_owned(), "–".to_owned());
    }
    let total = sales
        .by_currency
        .iter()
        .map(|sales| view::money(sales.revenue))
        .collect::<Vec<_>>()
        .join(" + ");
    let average = sales.by_currency[0]
        .average()
        .map(view::money)
        .unwrap_or_else(|| "–".to_owned());
    (total, average)
}

pub async fn dashboard(State(state): State<AppState>, StaffVisitor(visitor): StaffVisitor) -> PageResult {
    let sales = reports::daily_sales(&state.store, &visitor, Timestamp::now()).await?;
    let recent = orders::list_all_orders(&state.store, &visitor, None, &PageRequest::parse(Some(20), None)?).await?;
    let (revenue, average) = revenue_text(&sales);
    page(&Dashboard {
        shell: Shell::admin("Dashboard", &visitor),
        day: view::date_time(sales.day_start).chars().take(10).collect(),
        orders_today: sales.orders,
        revenue,
        average,
        chart: hourly_bars(&sales.orders_by_hour),
        best_sellers: sales
            .best_sellers
            .iter()
            .map(|seller| BestSellerRow {
                title: seller.title.clone(),
                sku: seller.sku.clone(),
                quantity: seller.quantity,
                revenue: view::money(seller.revenue),
            })
            .collect(),
        orders: recent.data.iter().map(OrderRow::from).collect(),
        order_link: ORDER_LINK,
    })
}

#[derive(Template)]
#[template(path = "admin/order.html")]
struct OrderPage {
    shell: Shell,
    order: OrderView,
    can_fulfill: bool,
    can_cancel: bool,
    can_refund: bool,
    events_url: String,
}

pub async fn order(
    State(state): State<AppState>,
    StaffVisitor(visitor): StaffVisitor,
    PagePath(id): PagePath<String>,
) -> PageResult {
    let order = orders::get_order_as_staff(&state.store, &visitor, &id).await?;
    let open = order.status == orders::OrderStatus::Paid;
    let refundable = order.status != orders::OrderStatus::Canceled
        && matches!(
            order.payment.status,
            orders::PaymentStatus::Captured | orders::PaymentStatus::PartiallyRefunded
        );
    let mut order_view = OrderView::from(&order);
    super::picture_lines(&state, &mut order_view.lines).await?;
    page(&OrderPage {
        shell: Shell::admin(format!("Order #{}", order.number), &visitor),
        events_url: format!("/v1/orders/{}/events", order.id),
        order: order_view,
        can_fulfill: open,
        can_cancel: open,
        can_refund: refundable,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct ProductsQuery {
    q: Option<String>,
    cursor: Option<String>,
}

pub struct ProductRow {
    pub id: String,
    /// Its first image, small.
    pub picture: Option<view::PictureView>,
    pub title: String,
    pub status: &'static str,
    pub variants: usize,
    pub price: String,
    pub available: i64,
}

#[derive(Template)]
#[template(path = "admin/products.html")]
struct ProductsPage {
    shell: Shell,
    search: String,
    products: Vec<ProductRow>,
    next_page: Option<String>,
}

pub async fn products(
    State(state): State<AppState>,
    StaffVisitor(visitor): StaffVisitor,
    PageQuery(query): PageQuery<ProductsQuery>,
) -> PageResult {
    visitor.require(Permission::Catalog)?;
    let search = query.q.unwrap_or_default();
    let page_request = PageRequest::parse(Some(50), query.cursor.as_deref())?;
    let filter = ProductQuery {
        search: Some(search.clone()),
        ..ProductQuery::default()
    };
    let found = catalog::list_products_as_staff(&state.store, &visitor, &filter, &page_request)
        .await?
        .page;
    let shop = shop::get_shop(&state.store).await?;
    page(&ProductsPage {
        shell: Shell::admin("Products", &visitor),
        products: found
            .data
            .iter()
            .map(|product| ProductRow {
                id: product.id.clone(),
                picture: view::shown_images(product)
                    .next()
                    .map(|image| view::PictureView::new(image, view::LINE_IMAGE_WIDTH)),
                title: product.title.clone(),
                status: product.status.as_str(),
                variants: product.variants.len(),
                price: view::ProductCard::new(product, shop.default_currency).price,
                available: product.variants.iter().map(|v| v.available).sum(),
            })
            .collect(),
        next_page: found.next_cursor.map(|cursor| {
            format!(
                "/admin/products?cursor={}&q={}",
                view::url_encode(&cursor),
                view::url_encode(&search)
            )
        }),
        search,
    })
}

pub struct CategoryChoice {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "admin/product.html")]
struct ProductPage {
    shell: Shell,
    /// `None` for the form that creates a product.
    id: Option<String>,
    title: String,
    slug: String,
    description: String,
    seo_title: String,
    seo_description: String,
    status: &'static str,
    categories: Vec<CategoryChoice>,
    variants: Vec<VariantView>,
    /// The price fields of the form that adds a variant.
    new_price_fields: Vec<view::PriceField>,
    public_link: Option<String>,
    images: Vec<EditorImage>,
}

/// An image in the product editor: a small copy beside its alt text.
struct EditorImage {
    id: String,
    picture: view::PictureView,
}

async fn category_choices(state: &AppState, checked: &[String]) -> Result<Vec<CategoryChoice>, PageError> {
    let categories = catalog::list_categories(&state.store, &PageRequest::parse(Some(100), None)?).await?;
    Ok(categories
        .data
        .into_iter()
        .map(|category| CategoryChoice {
            checked: checked.contains(&category.id),
            id: category.id,
            name: category.name,
        })
        .collect())
}

/// How wide the editor shows an image.
const EDITOR_IMAGE_WIDTH: u32 = 160;

pub async fn new_product(State(state): State<AppState>, StaffVisitor(visitor): StaffVisitor) -> PageResult {
    visitor.require(Permission::Catalog)?;
    let shop = shop::get_shop(&state.store).await?;
    page(&ProductPage {
        shell: Shell::admin("New product", &visitor),
        id: None,
        title: String::new(),
        slug: String::new(),
        description: String::new(),
        seo_title: String::new(),
        seo_description: String::new(),
        status: catalog::ProductStatus::Draft.as_str(),
        categories: category_choices(&state, &[]).await?,
        variants: Vec::new(),
        new_price_fields: view::PriceField::for_new_variant(&shop),
        public_link: None,
        images: Vec::new(),
    })
}

pub async fn product(
    State(state): State<AppState>,
    StaffVisitor(visitor): StaffVisitor,
    PagePath(id): PagePath<String>,
) -> PageResult {
    visitor.require(Permission::Catalog)?;
    let product = catalog::get_product_as_staff(&state.store, &visitor, &id).await?;
    let shop = shop::get_shop(&state.store).await?;
    page(&ProductPage {
        shell: Shell::admin(product.title.clone(), &visitor),
        id: Some(product.id.clone()),
        public_link: (product.status == catalog::ProductStatus::Published)
            .then(|| format!("/products/{}", product.slug)),
        title: product.title.clone(),
        slug: product.slug.clone(),
        description: product.description.clone(),
        seo_title: product.seo_title.clone(),
        seo_description: product.seo_description.clone(),
        status: product.status.as_str(),
        categories: category_choices(&state, &product.category_ids).await?,
        variants: product
            .variants
            .iter()
            .map(|variant| VariantView::new(variant, shop.default_currency, &shop.currencies))
            .collect(),
        new_price_fields: view::PriceField::for_new_variant(&shop),
        images: product
            .images
            .iter()
            .map(|image| EditorImage {
                id: image.id.clone(),
                picture: view::PictureView::new(image, EDITOR_IMAGE_WIDTH),
            })
            .collect(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct CustomersQuery {
    q: Option<String>,
    id: Option<String>,
}

pub struct CustomerRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub since: String,
}

impl From<&crate::domain::accounts::Customer> for CustomerRow {
    fn from(customer: &crate::domain::accounts::Customer) -> Self {
        CustomerRow {
            id: customer.id.clone(),
            email: customer.email.clone(),
            name: customer.name.clone().unwrap_or_default(),
            since: view::date_time(customer.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/customers.html")]
struct CustomersPage {
    shell: Shell,
    search: String,
    found: Vec<CustomerRow>,
    searched: bool,
    selected: Option<CustomerRow>,
    orders: Vec<OrderRow>,
    order_link: &'static str,
}

pub async fn customers(
    State(state): State<AppState>,
    StaffVisitor(visitor): StaffVisitor,
    PageQuery(query): PageQuery<CustomersQuery>,
) -> PageResult {
    let search = query.q.unwrap_or_default();
    let found = reports::find_customers(&state.store, &visitor, &search).await?;
    let (selected, orders) = match query.id.as_deref().filter(|id| !id.is_empty()) {
        None => (None, Vec::new()),
        Some(id) => {
            let (customer, orders) =
                reports::customer_with_orders(&state.store, &visitor, id, &PageRequest::parse(Some(50), None)?).await?;
            (
                Some(CustomerRow::from(&customer)),
                orders.data.iter().map(OrderRow::from).collect(),
            )
        }
    };
    page(&CustomersPage {
        shell: Shell::admin("Customers", &visitor),
        searched: !search.trim().is_empty(),
        search,
        found: found.iter().map(CustomerRow::from).collect(),
        selected,
        orders,
        order_link: ORDER_LINK,
    })
}

#[derive(Template)]
#[template(path = "admin/shipping.html")]
struct ShippingPage {
    shell: Shell,
    shop: view::ShopView,
    options: Vec<view::ShippingOptionRow>,
    new_option: view::ShippingOptionForm,
    rates: Vec<view::TaxRateRow>,
    new_rate: view::TaxRateRow,
}

/// The shop's settings, shipping options and tax rates, each changed through the API.
pub async fn shipping(State(state): State<AppState>, StaffVisitor(visitor): StaffVisitor) -> PageResult {
    let all = PageRequest::parse(Some(PageRequest::MAX_LIMIT), None)?;
    let shop_settings = shop::get_shop(&state.store).await?;
    let options = shipping::list_shipping_options(&state.store, &visitor, &all).await?;
    let rates = shipping::list_tax_rates(&state.store, &visitor, &all).await?;
    page(&ShippingPage {
        shell: Shell::admin("Shipping and tax", &visitor),
        shop: view::ShopView::from(&shop_settings),
        options: options.data.iter().map(view::ShippingOptionRow::from).collect(),
        new_option: view::ShippingOptionForm::blank(&shop_settings),
        rates: rates.data.iter().map(view::TaxRateRow::from).collect(),
        new_rate: view::TaxRateRow::blank(),
    })
}

#[derive(Template)]
#[template(path = "admin/discounts.html")]
struct DiscountsPage {
    shell: Shell,
    shop: view::ShopView,
    discounts: Vec<view::DiscountRow>,
    new_discount: view::DiscountForm,
    next_page: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DiscountsQuery {
    cursor: Option<String>,
}

/// How many of the orders that used a discount its row links.
const RECENT_USES: i64 = 5;

/// Discounts with their use, each changed through the API.
pub async fn discounts(
    State(state): State<AppState>,
    StaffVisitor(visitor): StaffVisitor,
    PageQuery(query): PageQuery<DiscountsQuery>,
) -> PageResult {
    let page_request = PageRequest::parse(Some(50), query.cursor.as_deref())?;
    let found =
        crate::domain::discounts::list_discounts_with_orders(&state.store, &visitor, &page_request, RECENT_USES)
            .await?;
    let shop_settings = shop::get_shop(&state.store).await?;
    page(&DiscountsPage {
        shell: Shell::admin("Discounts", &visitor),
        shop: view::ShopView::from(&shop_settings),
        discounts: found
            .data
            .iter()
            .map(|(discount, orders)| view::DiscountRow::new(discount, orders))
            .collect(),
        new_discount: view::DiscountForm::blank(&shop_settings),
        next_page: found
            .next_cursor
            .map(|cursor| format!("/admin/discounts?cursor={}", view::url_encode(&cursor))),
    })
}
