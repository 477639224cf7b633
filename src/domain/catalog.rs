//! The catalog: products with their variants, categories, and staff stock adjustments.

use std::collections::{BTreeMap, HashMap};

use super::events::{self, EventKind, Notice, Subject};
use super::images::{self, ProductImage};
use super::inventory::{MAX_STOCK, StockLevel};
use super::money::{Currency, Money};
use super::pricing::STANDARD_TAX_CLASS;
use super::search;
use super::shop::Shop;
use super::time::Timestamp;
use super::validate::{self, Checks};
use super::{DomainError, DomainResult, Page, PageRequest, Permission, Principal, ids};
use crate::store::catalog::{
    self as store, CategoryRow, PriceRow, ProductFilter, ProductPageRows, ProductRow, VariantRow,
};
use crate::store::images::ImageRow;
use crate::store::search::{self as search_store, RankedAfter, SearchFacets, SearchFilter, SearchOrder};
use crate::store::{Conn, Store, StoreError, dialect};

pub(super) const MAX_TITLE_CHARS: usize = 200;
pub(super) const MAX_DESCRIPTION_CHARS: usize = 20_000;
pub(super) const MAX_VARIANTS: usize = 100;
/// A billion in major units: far above any price, and low enough that 999 units on each
/// of a cart's lines can never overflow a total.
pub const MAX_PRICE: i64 = 100_000_000_000;
/// The heaviest unit: 100 tonnes, in grams.
pub const MAX_WEIGHT_GRAMS: i64 = 100_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductStatus {
    Draft,
    Published,
    Archived,
}

impl ProductStatus {
    pub const ALL: [ProductStatus; 3] = [ProductStatus::Draft, ProductStatus::Published, ProductStatus::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Published => "published",
            ProductStatus::Archived => "archived",
        }
    }

    pub fn parse(value: &str) -> Option<ProductStatus> {
        match value {
            "draft" => Some(ProductStatus::Draft),
            "published" => Some(ProductStatus::Published),
            "archived" => Some(ProductStatus::Archived),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub status: ProductStatus,
    pub category_ids: Vec<String>,
    /// In their order: the first is the product's picture in lists.
    pub images: Vec<ProductImage>,
    /// The class its tax rates are looked up in.
    pub tax_class: String,
    /// What search engines show; empty: the title and the description.
    pub seo_title: String,
    pub seo_description: String,
    pub variants: Vec<Variant>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub id: String,
    pub sku: String,
    pub title: String,
    /// One price per currency it is sold in: its own (the one it was created with) first,
    /// then the others by currency code.
    pub prices: Vec<Money>,
    /// On hand minus reserved: what can be bought now.
    pub available: i64,
    pub options: BTreeMap<String, String>,
    /// For shipping priced by weight.
    pub weight_grams: i64,
}

impl Variant {
    /// Its price in `currency`; `None` where it is not sold in it.
    pub fn price_in(&self, currency: Currency) -> Option<Money> {
        self.prices.iter().copied().find(|price| price.currency == currency)
    }
}

#[derive(Debug, Clone)]
pub struct Category {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub parent_id: Option<String>,
    pub created_at: Timestamp,
}

/// An amount in a currency as a request gave it: checked before it becomes [`Money`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceInput {
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Default)]
pub struct NewVariant {
    pub sku: String,
    pub title: Option<String>,
    /// Its own price, in the currency it keeps.
    pub price: PriceInput,
    /// Its prices in any currencies the shop sells in; one in its own currency must agree
    /// with `price`.
    pub prices: Vec<PriceInput>,
    pub inventory: Option<i64>,
    pub options: BTreeMap<String, String>,
    pub weight_grams: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct NewProduct {
    pub title: String,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub category_ids: Vec<String>,
    pub tax_class: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub variants: Vec<NewVariant>,
}

/// The fields of a product a PATCH may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProductPatch {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub category_ids: Option<Vec<String>>,
    pub tax_class: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    /// Words to find (see `search`).
    pub search: Option<String>,
    pub category: Option<String>,
    pub status: Option<ProductStatus>,
    /// Default: by relevance with words, else newest first.
    pub sort: Option<ProductSort>,
    /// Inclusive bounds on any variant's price, in minor units of `currency`.
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// The listing's currency: prices are filtered, sorted and summed up in it (default:
    /// the shop's).
    pub currency: Option<Currency>,
    /// Also count the matches by category and give their price range.
    pub facets: bool,
}

/// How a listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductSort {
    Relevance,
    Newest,
    PriceAscending,
    PriceDescending,
}

impl ProductSort {
    pub const ALL: [ProductSort; 4] = [
        ProductSort::Relevance,
        ProductSort::Newest,
        ProductSort::PriceAscending,
        ProductSort::PriceDescending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductSort::Relevance => "relevance",
            ProductSort::Newest => "newest",
            ProductSort::PriceAscending => "price_asc",
            ProductSort::PriceDescending => "price_desc",
        }
    }

    pub fn parse(value: &str) -> Option<ProductSort> {
        ProductSort::ALL.into_iter().find(|sort| sort.as_str() == value)
    }

    /// The order of a sorted listing; `None` for a relevance ranking.
    fn order(self) -> Option<SearchOrder> {
        match self {
            ProductSort::Relevance => None,
            ProductSort::Newest => Some(SearchOrder::Newest),
            ProductSort::PriceAscending => Some(SearchOrder::PriceAscending),
            ProductSort::PriceDescending => Some(SearchOrder::PriceDescending),
        }
    }
}

/// A page of a product listing, with its facets when asked for.
#[derive(Debug, Clone)]
pub struct ProductListing {
    pub page: Page<Product>,
    pub facets: Option<Facets>,
}

/// What every match of a listing has, not only the page's.
#[derive(Debug, Clone, Default)]
pub struct Facets {
    /// `(category id, matching products)`, most products first.
    pub categories: Vec<(String, i64)>,
    /// The lowest and highest variant price of the matches in the listing's currency.
    pub price: Option<(Money, Money)>,
}

/// Search results go no deeper than this: past it, refine the search.
const MAX_SEARCH_OFFSET: i64 = 10_000;

/// Published products, optionally searched, filtered and sorted (the public catalog:
/// `query.status` is ignored).
pub async fn list_products(db: &Store, query: &ProductQuery, page: &PageRequest) -> DomainResult<ProductListing> {
    let published = ProductQuery {
        status: Some(ProductStatus::Published),
        ..query.clone()
    };
    find_products(db, &published, page).await
}

/// Products of any status (or of `query.status`), for staff with the catalog permission.
pub async fn list_products_as_staff(
    db: &Store,
    caller: &Principal,
    query: &ProductQuery,
    page: &PageRequest,
) -> DomainResult<ProductListing> {
    caller.require(Permission::Catalog)?;
    find_products(db, query, page).await
}

async fn find_products(db: &Store, query: &ProductQuery, page: &PageRequest) -> DomainResult<ProductListing> {
    let words = query.search.as_deref().map(str::trim).filter(|q| !q.is_empty());
    check_listing(query, words.is_some())?;
    let mut conn = db.read().await?;
    // The category (by id or slug) is looked up once, so that the list queries probe the
    // (product, category) key with its id; a category that does not exist lists nothing.
    let category_id = match query.category.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(id_or_slug) => match store::find_category_id(&mut conn, id_or_slug).await? {
            Some(id) => Some(id),
            None => {
                return Ok(ProductListing {
                    page: page.into_page(Vec::new(), |p: &Product| &p.id),
                    facets: query.facets.then(Facets::default),
                });
            }
        },
    };
    let plain = words.is_none()
        && matches!(query.sort, None | Some(ProductSort::Newest))
        && query.min_price.is_none()
        && query.max_price.is_none()
        && !query.facets;
    if plain {
        if page.before().is_some_and(is_search_cursor) {
            return Err(DomainError::invalid("cursor", "is not a cursor of this listing"));
        }
        // Newest first by id: a keyset cursor, as fast on the last page as on the first.
        let filter = ProductFilter {
            status: query.status.map(ProductStatus::as_str),
            before_id: page.before(),
            category_id: category_id.as_deref(),
            limit: page.fetch_limit(),
        };
        let products = products_of(store::list_products(&mut conn, &filter).await?)?;
        return Ok(ProductListing {
            page: page.into_page(products, |p| &p.id),
            facets: None,
        });
    }
    let found_words = match words {
        Some(q) => search::query_words(&mut conn, q).await?,
        None => Vec::new(),
    };
    let currency = match query.currency {
        Some(currency) => currency,
        None => super::shop::load(&mut conn).await?.default_currency,
    }
    .to_string();
    let filter = SearchFilter {
        words: &found_words,
        status: query.status.map(ProductStatus::as_str),
        category_id: category_id.as_deref(),
        currency: &currency,
        min_price: query.min_price,
        max_price: query.max_price,
    };
    let sort = query.sort.unwrap_or(match words {
        Some(_) => ProductSort::Relevance,
        None => ProductSort::Newest,
    });
    if words.is_some() && found_words.is_empty() {
        // Nothing but punctuation: no word to match.
        return Ok(ProductListing {
            page: page.into_page(Vec::new(), |p: &Product| &p.id),
            facets: query.facets.then(Facets::default),
        });
    }
    let (ids, next_cursor) = match sort.order() {
        None => {
            let after = ranked_after(page)?;
            let after = after.as_ref().map(|(tier, product_id)| RankedAfter {
                tier: *tier,
                product_id,
            });
            let mut found = search_store::search_ranked(&mut conn, &filter, after, page.fetch_limit()).await?;
            let has_more = found.len() as i64 > page.limit;
            found.truncate(page.limit as usize);
            let next_cursor = found
                .last()
                .filter(|_| has_more)
                .map(|(tier, id)| ids::encode_cursor(&ranked_cursor(*tier, id)));
            (found.into_iter().map(|(_, id)| id).collect(), next_cursor)
        }
        Some(order) => {
            let offset = search_offset(page)?;
            let mut ids = search_store::search_products(&mut conn, &filter, order, offset, page.fetch_limit()).await?;
            let has_more = ids.len() as i64 > page.limit;
            ids.truncate(page.limit as usize);
            let next_offset = offset + page.limit;
            let next_cursor =
                (has_more && next_offset <= MAX_SEARCH_OFFSET).then(|| ids::encode_cursor(&offset_cursor(next_offset)));
            (ids, next_cursor)
        }
    };
    let mut products = products_of(store::list_products_by_ids(&mut conn, &ids).await?)?;
    let position: HashMap<&str, usize> = ids.iter().enumerate().map(|(index, id)| (id.as_str(), index)).collect();
    products.sort_by_key(|product| position.get(product.id.as_str()).copied());
    let facets = match query.facets {
        true => Some(facets_of(
            search_store::search_facets(&mut conn, &filter).await?,
            &currency,
        )?),
        false => None,
    };
    Ok(ProductListing {
        page: Page {
            data: products,
            next_cursor,
        },
        facets,
    })
}

fn check_listing(query: &ProductQuery, has_words: bool) -> DomainResult<()> {
    let mut checks = Checks::default();
    if query.sort == Some(ProductSort::Relevance) && !has_words {
        checks.fail("sort", "relevance needs words to rank by (q)");
    }
    for (field, bound) in [("min_price", query.min_price), ("max_price", query.max_price)] {
        if bound.is_some_and(|amount| amount < 0) {
            checks.fail(field, "must be 0 or more (minor units)");
        }
    }
    if let (Some(min), Some(max)) = (query.min_price, query.max_price)
        && min > max
    {
        checks.fail("max_price", "must be at least min_price");
    }
    checks.finish()
}

/// A search listing's cursor holds how many results came before the page, written as an
/// id (`off_` and 32 hex digits) so that cursors keep one shape.
fn offset_cursor(offset: i64) -> String {
    format!("{OFFSET_CURSOR}{offset:032x}")
}

const OFFSET_CURSOR: &str = "off_";

/// A relevance ranking's cursor holds the tier and the product it stopped at, written as
/// an id (`rk1_` to `rk3_` and the product id's 32 hex digits): a keyset, so a ranking
/// lists every match, as fast deep down as on its first page.
fn ranked_cursor(tier: u8, product_id: &str) -> String {
    let hex = product_id.strip_prefix(PRODUCT_ID_PREFIX).unwrap_or(product_id);
    format!("{RANKED_CURSOR}{tier}_{hex}")
}

const RANKED_CURSOR: &str = "rk";
const PRODUCT_ID_PREFIX: &str = "prod_";

/// The tier and product a relevance page starts after, if any.
fn ranked_after(page: &PageRequest) -> DomainResult<Option<(u8, String)>> {
    let Some(after) = page.before() else { return Ok(None) };
    after
        .strip_prefix(RANKED_CURSOR)
        .and_then(|rest| rest.split_once('_'))
        .and_then(|(tier, hex)| Some((tier.parse::<u8>().ok()?, hex)))
        .filter(|(tier, _)| (1..=search_store::RANK_TIERS).contains(tier))
        .map(|(tier, hex)| Some((tier, format!("{PRODUCT_ID_PREFIX}{hex}"))))
        .ok_or_else(|| DomainError::invalid("cursor", "is not a cursor of this listing"))
}

/// Whether `after` is a search's cursor, which the plain listing does not take.
fn is_search_cursor(after: &str) -> bool {
    after.starts_with(OFFSET_CURSOR) || after.starts_with(RANKED_CURSOR)
}

fn search_offset(page: &PageRequest) -> DomainResult<i64> {
    let Some(after) = page.before() else { return Ok(0) };
    let offset = after
        .strip_prefix(OFFSET_CURSOR)
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| DomainError::invalid("cursor", "is not a cursor of this listing"))?;
    if !(0..=MAX_SEARCH_OFFSET).contains(&offset) {
        return Err(DomainError::invalid(
            "cursor",
            "search results go no deeper than 10,000: narrow the search",
        ));
    }
    Ok(offset)
}

fn facets_of(found: SearchFacets, currency: &str) -> DomainResult<Facets> {
    let currency = Currency::parse(currency).ok_or_else(|| corrupt("currency", currency))?;
    Ok(Facets {
        categories: found.categories,
        price: found
            .price
            .map(|(min, max)| (Money::new(min, currency), Money::new(max, currency))),
    })
}

/// Products made from the rows of a page, in the order of `rows.products`.
fn products_of(rows: ProductPageRows) -> DomainResult<Vec<Product>> {
    let mut variants_by_product: HashMap<String, Vec<VariantRow>> = HashMap::new();
    for variant in rows.variants {
        variants_by_product
            .entry(variant.product_id.clone())
            .or_default()
            .push(variant);
    }
    let mut categories_by_product: HashMap<String, Vec<String>> = HashMap::new();
    for link in rows.categories {
        categories_by_product
            .entry(link.product_id)
            .or_default()
            .push(link.category_id);
    }
    let mut images_by_product: HashMap<String, Vec<ImageRow>> = HashMap::new();
    for image in rows.images {
        images_by_product
            .entry(image.product_id.clone())
            .or_default()
            .push(image);
    }
    let mut prices = prices_by_variant(rows.prices);
    rows.products
        .into_iter()
        .map(|row| {
            let parts = ProductParts {
                variants: variants_by_product.remove(&row.id).unwrap_or_default(),
                category_ids: categories_by_product.remove(&row.id).unwrap_or_default(),
                images: images_by_product.remove(&row.id).unwrap_or_default(),
            };
            assemble(row, parts, &mut prices)
        })
        .collect()
}

/// A published product by id or slug; drafts and archived products are missing.
pub async fn get_product(db: &Store, id_or_slug: &str) -> DomainResult<Product> {
    let mut conn = db.read().await?;
    load_product(&mut conn, id_or_slug, Some(ProductStatus::Published.as_str())).await
}

/// A product of any status by id or slug, for staff with the catalog permission.
pub async fn get_product_as_staff(db: &Store, caller: &Principal, id_or_slug: &str) -> DomainResult<Product> {
    caller.require(Permission::Catalog)?;
    let mut conn = db.read().await?;
    load_product(&mut conn, id_or_slug, None).await
}

async fn load_product(conn: &mut Conn, id_or_slug: &str, status: Option<&str>) -> DomainResult<Product> {
    let rows = store::product_rows(conn, id_or_slug, status).await?;
    products_of(rows)?.pop().ok_or(DomainError::NotFound("product"))
}

fn prices_by_variant(rows: Vec<PriceRow>) -> HashMap<String, Vec<PriceRow>> {
    let mut by_variant: HashMap<String, Vec<PriceRow>> = HashMap::new();
    for row in rows {
        by_variant.entry(row.variant_id.clone()).or_default().push(row);
    }
    by_variant
}

#[tracing::instrument(skip_all)]
pub async fn create_product(db: &Store, caller: &Principal, input: NewProduct) -> DomainResult<Product> {
    caller.require(Permission::Catalog)?;
    let shop = super::shop::get_shop(db).await?;
    let mut checks = Checks::default();
    let title = checks.text("title", &input.title, MAX_TITLE_CHARS);
    let sent_description = input.description.as_deref().unwrap_or_default();
    let description = sent_description.trim().to_owned();
    if sent_description.chars().count() > MAX_DESCRIPTION_CHARS {
        checks.fail(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        );
    }
    let status = parse_status(&mut checks, input.status.as_deref().unwrap_or("draft"));
    if let Some(slug) = &input.slug {
        check_slug(&mut checks, "slug", slug);
    }
    let tax_class = input.tax_class.as_deref().unwrap_or(STANDARD_TAX_CLASS);
    check_tax_class(&mut checks, tax_class);
    let seo_title = seo_text(
        &mut checks,
        "seo_title",
        input.seo_title.as_deref(),
        MAX_SEO_TITLE_CHARS,
    );
    let seo_description = seo_text(
        &mut checks,
        "seo_description",
        input.seo_description.as_deref(),
        MAX_SEO_DESCRIPTION_CHARS,
    );
    if input.variants.is_empty() {
        checks.fail("variants", "a product needs at least one variant");
    } else if input.variants.len() > MAX_VARIANTS {
        checks.fail("variants", format!("at most {MAX_VARIANTS} variants"));
    }
    let now = Timestamp::now();
    let product_id = ids::new_id("prod");
    let variants: Vec<(VariantRow, Vec<PriceRow>)> = input
        .variants
        .iter()
        .enumerate()
        .map(|(position, variant)| {
            let prefix = format!("variants[{position}]");
            check_sold(
                &mut checks,
                &shop,
                &field_of(&prefix, "price.currency"),
                &variant.price.currency,
            );
            variant_row(&mut checks, &shop, &prefix, &product_id, variant, position as i64)
        })
        .collect();
    checks.finish()?;

    let mut tx = db.write().await?;
    check_categories_exist(&mut tx, &input.category_ids).await?;
    let slug = match input.slug {
        Some(slug) => slug,
        None => free_slug(&mut tx, &validate::slugify(&title)).await?,
    };
    let row = ProductRow {
        id: product_id,
        slug,
        title,
        description,
        status: status.as_str().to_owned(),
        tax_class: tax_class.to_owned(),
        seo_title,
        seo_description,
        created_at: now.0,
        updated_at: now.0,
    };
    store::insert_product(&mut tx, &row)
        .await
        .map_err(slug_or_sku_conflict)?;
    for (variant, prices) in &variants {
        store::insert_variant(&mut tx, variant, now.0)
            .await
            .map_err(slug_or_sku_conflict)?;
        store::replace_variant_prices(&mut tx, &variant.id, prices).await?;
    }
    store::replace_product_categories(&mut tx, &row.id, &dedup(input.category_ids)).await?;
    search::reindex_product(&mut tx, &row.id).await?;
    let product = record_product_event(&mut tx, EventKind::ProductCreated, &row.id).await?;
    tx.commit().await?;
    Ok(product)
}

pub async fn update_product(db: &Store, caller: &Principal, id: &str, patch: ProductPatch) -> DomainResult<Product> {
    caller.require(Permission::Catalog)?;
    let mut checks = Checks::default();
    let title = patch.title.as_deref().map(|t| checks.text("title", t, MAX_TITLE_CHARS));
    let status = patch.status.as_deref().map(|s| parse_status(&mut checks, s));
    if let Some(slug) = &patch.slug {
        check_slug(&mut checks, "slug", slug);
    }
    if let Some(tax_class) = &patch.tax_class {
        check_tax_class(&mut checks, tax_class);
    }
    let seo_title = patch
        .seo_title
        .as_deref()
        .map(|text| seo_text(&mut checks, "seo_title", Some(text), MAX_SEO_TITLE_CHARS));
    let seo_description = patch
        .seo_description
        .as_deref()
        .map(|text| seo_text(&mut checks, "seo_description", Some(text), MAX_SEO_DESCRIPTION_CHARS));
    if patch
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        checks.fail(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        );
    }
    checks.finish()?;

    let mut tx = db.write().await?;
    let mut row = store::find_product(&mut tx, id, None)
        .await?
        .ok_or(DomainError::NotFound("product"))?;
    if row.id != id {
        return Err(DomainError::NotFound("product"));
    }
    if let Some(title) = title {
        row.title = title;
    }
    if let Some(slug) = patch.slug {
        row.slug = slug;
    }
    if let Some(description) = patch.description {
        row.description = description.trim().to_owned();
    }
    if let Some(status) = status {
        row.status = status.as_str().to_owned();
    }
    if let Some(tax_class) = patch.tax_class {
        row.tax_class = tax_class;
    }
    if let Some(seo_title) = seo_title {
        row.seo_title = seo_title;
    }
    if let Some(seo_description) = seo_description {
        row.seo_description = seo_description;
    }
    row.updated_at = Timestamp::now().0;
    store::update_product(&mut tx, &row)
        .await
        .map_err(slug_or_sku_conflict)?;
    if let Some(category_ids) = patch.category_ids {
        check_categories_exist(&mut tx, &category_ids).await?;
        store::replace_product_categories(&mut tx, &row.id, &dedup(category_ids)).await?;
    }
    search::reindex_product(&mut tx, &row.id).await?;
    let product = record_product_event(&mut tx, EventKind::ProductUpdated, &row.id).await?;
    tx.commit().await?;
    Ok(product)
}

/// Writes `kind` (`product.created` or `product.updated`) about product `id` as it now is,
/// in the caller's transaction; returns the product.
pub(crate) async fn record_product_event(tx: &mut Conn, kind: EventKind, id: &str) -> DomainResult<Product> {
    let product = load_product(tx, id, None).await?;
    events::record(tx, kind, Subject::Product(&product)).await?;
    Ok(product)
}

pub async fn add_variant(db: &Store, caller: &Principal, product_id: &str, input: NewVariant) -> DomainResult<Variant> {
    caller.require(Permission::Catalog)?;
    let shop = super::shop::get_shop(db).await?;
    let mut checks = Checks::default();
    check_sold(&mut checks, &shop, "price.currency", &input.price.currency);
    let (mut row, prices) = variant_row(&mut checks, &shop, "", product_id, &input, 0);
    checks.finish()?;
    let mut tx = db.write().await?;
    let product = store::find_product(&mut tx, product_id, None)
        .await?
        .ok_or(DomainError::NotFound("product"))?;
    if product.id != product_id {
        return Err(DomainError::NotFound("product"));
    }
    row.position = store::next_variant_position(&mut tx, product_id).await?;
    let now = Timestamp::now().0;
    store::insert_variant(&mut tx, &row, now)
        .await
        .map_err(slug_or_sku_conflict)?;
    store::replace_variant_prices(&mut tx, &row.id, &prices).await?;
    store::touch_product(&mut tx, product_id, now).await?;
    search::reindex_product(&mut tx, product_id).await?;
    record_product_event(&mut tx, EventKind::ProductUpdated, product_id).await?;
    tx.commit().await?;
    variant_from_row(row, prices)
}

/// The fields of a variant a PATCH may change; stock changes go through [`adjust_stock`],
/// with a reason.
#[derive(Debug, Clone, Default)]
pub struct VariantPatch {
    pub sku: Option<String>,
    pub title: Option<String>,
    /// Its own price: the amount may change, the currency not.
    pub price: Option<PriceInput>,
    /// Replaces its prices in other currencies; an entry in its own currency changes its
    /// own price (as `price` does), which otherwise stays.
    pub prices: Option<Vec<PriceInput>>,
    pub weight_grams: Option<i64>,
}

/// Changes a variant's SKU, title, prices or weight. Carts show the new prices at once (their
/// lines are priced when read); orders keep what was paid. Its own currency cannot change:
/// carts in that currency hold the variant.
pub async fn update_variant(
    db: &Store,
    caller: &Principal,
    variant_id: &str,
    patch: VariantPatch,
) -> DomainResult<Variant> {
    caller.require(Permission::Catalog)?;
    let shop = super::shop::get_shop(db).await?;
    let mut tx = db.write().await?;
    let mut row = dialect::lock_variant(&mut tx, variant_id)
        .await?
        .ok_or(DomainError::NotFound("variant"))?;
    let current_prices = store::list_variant_prices(&mut tx, variant_id).await?;
    let own_in_prices = patch
        .prices
        .iter()
        .flatten()
        .find(|price| price.currency == row.currency)
        .map(|price| price.amount);
    let price = patch.price.unwrap_or_else(|| PriceInput {
        amount: own_in_prices.unwrap_or(row.price_amount),
        currency: row.currency.clone(),
    });
    let wanted = NewVariant {
        sku: patch.sku.unwrap_or_else(|| row.sku.clone()),
        title: Some(patch.title.unwrap_or_else(|| row.title.clone())),
        price,
        prices: patch.prices.clone().unwrap_or_default(),
        inventory: None,
        options: BTreeMap::new(),
        weight_grams: Some(patch.weight_grams.unwrap_or(row.weight_grams)),
    };
    let mut checks = Checks::default();
    let (checked, prices) = variant_row(&mut checks, &shop, "", &row.product_id, &wanted, row.position);
    if checked.currency != row.currency {
        checks.fail(
            "price.currency",
            format!(
                "must stay {}, the variant's own currency: give other currencies in prices",
                row.currency
            ),
        );
    }
    checks.finish()?;
    row.sku = checked.sku;
    row.title = checked.title;
    row.price_amount = checked.price_amount;
    row.weight_grams = checked.weight_grams;
    let now = Timestamp::now().0;
    store::update_variant(&mut tx, &row, now)
        .await
        .map_err(slug_or_sku_conflict)?;
    // Any change to a variant is a change to its product, for clients that sync by it.
    store::touch_product(&mut tx, &row.product_id, now).await?;
    search::reindex_product(&mut tx, &row.product_id).await?;
    let prices = match patch.prices {
        Some(_) => {
            store::replace_variant_prices(&mut tx, variant_id, &prices).await?;
            prices
        }
        None => current_prices,
    };
    record_product_event(&mut tx, EventKind::ProductUpdated, &row.product_id).await?;
    tx.commit().await?;
    variant_from_row(row, prices)
}

pub async fn create_category(
    db: &Store,
    caller: &Principal,
    name: &str,
    slug: Option<&str>,
    parent_id: Option<&str>,
) -> DomainResult<Category> {
    caller.require(Permission::Catalog)?;
    let mut checks = Checks::default();
    let name = checks.text("name", name, MAX_TITLE_CHARS);
    if let Some(slug) = slug {
        check_slug(&mut checks, "slug", slug);
    }
    checks.finish()?;
    let mut tx = db.write().await?;
    if let Some(parent_id) = parent_id
        && !store::category_exists(&mut tx, parent_id).await?
    {
        return Err(DomainError::invalid("parent_id", "no such category"));
    }
    let row = CategoryRow {
        id: ids::new_id("cat"),
        slug: slug.map_or_else(|| validate::slugify(&name), str::to_owned),
        name,
        parent_id: parent_id.map(str::to_owned),
        created_at: Timestamp::now().0,
    };
    store::insert_category(&mut tx, &row).await.map_err(|error| {
        if error.is_unique_violation("categories.slug") {
            DomainError::conflict("a category with this slug already exists")
        } else {
            error.into()
        }
    })?;
    events::announce(&mut tx, &Notice::Catalog).await?;
    tx.commit().await?;
    Ok(category_from_row(row))
}

pub async fn list_categories(db: &Store, page: &PageRequest) -> DomainResult<Page<Category>> {
    let mut conn = db.read().await?;
    let rows = store::list_categories(&mut conn, page.before(), page.fetch_limit()).await?;
    Ok(page.into_page(rows.into_iter().map(category_from_row).collect(), |c| &c.id))
}

/// The rows of a product beside its own.
struct ProductParts {
    variants: Vec<VariantRow>,
    category_ids: Vec<String>,
    /// In their order.
    images: Vec<ImageRow>,
}

/// A product from its rows; `prices` holds (at least) its variants' other prices, taken out
/// as they are used.
fn assemble(
    row: ProductRow,
    parts: ProductParts,
    prices: &mut HashMap<String, Vec<PriceRow>>,
) -> DomainResult<Product> {
    Ok(Product {
        status: ProductStatus::parse(&row.status).ok_or_else(|| corrupt("product status", &row.status))?,
        images: parts
            .images
            .into_iter()
            .map(images::image_from_row)
            .collect::<DomainResult<_>>()?,
        variants: parts
            .variants
            .into_iter()
            .map(|variant| {
                let others = prices.remove(&variant.id).unwrap_or_default();
                variant_from_row(variant, others)
            })
            .collect::<DomainResult<_>>()?,
        category_ids: parts.category_ids,
        id: row.id,
        slug: row.slug,
        title: row.title,
        description: row.description,
        tax_class: row.tax_class,
        seo_title: row.seo_title,
        seo_description: row.seo_description,
        created_at: Timestamp(row.created_at),
        updated_at: Timestamp(row.updated_at),
    })
}

/// A variant from its row and its prices in other currencies (sorted by currency).
fn variant_from_row(row: VariantRow, other_prices: Vec<PriceRow>) -> DomainResult<Variant> {
    let money = |amount: i64, code: &str| {
        Currency::parse(code)
            .map(|currency| Money::new(amount, currency))
            .ok_or_else(|| corrupt("currency", code))
    };
    let mut prices = vec![money(row.price_amount, &row.currency)?];
    for price in &other_prices {
        prices.push(money(price.amount, &price.currency)?);
    }
    Ok(Variant {
        available: StockLevel {
            on_hand: row.on_hand,
            reserved: row.reserved,
        }
        .available(),
        options: serde_json::from_str(&row.options).map_err(|_| corrupt("variant options", &row.options))?,
        id: row.id,
        sku: row.sku,
        title: row.title,
        prices,
        weight_grams: row.weight_grams,
    })
}

fn category_from_row(row: CategoryRow) -> Category {
    Category {
        id: row.id,
        name: row.name,
        slug: row.slug,
        parent_id: row.parent_id,
        created_at: Timestamp(row.created_at),
    }
}

fn field_of(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A variant's row and its prices in other currencies, checked against `shop`; fields are
/// named under `prefix` (such as `variants[0]`).
pub(super) fn variant_row(
    checks: &mut Checks,
    shop: &Shop,
    prefix: &str,
    product_id: &str,
    input: &NewVariant,
    position: i64,
) -> (VariantRow, Vec<PriceRow>) {
    let field = |name: &str| field_of(prefix, name);
    let sku = checks.text(&field("sku"), &input.sku, 64);
    if !sku.bytes().all(|b| b.is_ascii_graphic()) {
        checks.fail(field("sku"), "may hold only printable ASCII without spaces");
    }
    let title = input
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("Default");
    if input
        .title
        .as_deref()
        .is_some_and(|sent| sent.chars().count() > MAX_TITLE_CHARS)
    {
        checks.fail(field("title"), format!("must be at most {MAX_TITLE_CHARS} characters"));
    }
    check_price(checks, &field("price"), &input.price);
    let id = ids::new_id("var");
    let other_prices = other_prices(checks, shop, &field("prices"), &id, &input.price, &input.prices);
    let inventory = input.inventory.unwrap_or(0);
    if !(0..=MAX_STOCK).contains(&inventory) {
        checks.fail(field("inventory"), format!("must be between 0 and {MAX_STOCK}"));
    }
    let weight_grams = input.weight_grams.unwrap_or(0);
    if !(0..=MAX_WEIGHT_GRAMS).contains(&weight_grams) {
        checks.fail(
            field("weight_grams"),
            format!("must be between 0 and {MAX_WEIGHT_GRAMS}"),
        );
    }
    let row = VariantRow {
        id,
        product_id: product_id.to_owned(),
        sku,
        title: title.to_owned(),
        price_amount: input.price.amount,
        currency: input.price.currency.clone(),
        options: serde_json::to_string(&input.options).unwrap_or_else(|_| "{}".to_owned()),
        on_hand: inventory,
        reserved: 0,
        position,
        weight_grams,
    };
    (row, other_prices)
}

/// An amount in range and an ISO 4217 code, named `{field}.amount` and `{field}.currency`.
fn check_price(checks: &mut Checks, field: &str, price: &PriceInput) {
    if !(0..=MAX_PRICE).contains(&price.amount) {
        checks.fail(format!("{field}.amount"), format!("must be between 0 and {MAX_PRICE}"));
    }
    if Currency::parse(&price.currency).is_none() {
        checks.fail(
            format!("{field}.currency"),
            "must be an ISO 4217 code in upper case, such as EUR",
        );
    }
}

/// A price in a currency the shop does not sell in could never be paid.
fn check_sold(checks: &mut Checks, shop: &Shop, field: &str, code: &str) {
    if let Some(currency) = Currency::parse(code)
        && !shop.sells_in(currency)
    {
        checks.fail(field, format!("the shop does not sell in {currency}"));
    }
}

/// `prices` without the entry in `own`'s currency (which must agree with it), checked: each
/// in range, in a currency the shop sells in, none twice. Sorted by currency.
fn other_prices(
    checks: &mut Checks,
    shop: &Shop,
    field: &str,
    variant_id: &str,
    own: &PriceInput,
    prices: &[PriceInput],
) -> Vec<PriceRow> {
    let mut others: Vec<PriceRow> = Vec::with_capacity(prices.len());
    for (index, price) in prices.iter().enumerate() {
        let field = format!("{field}[{index}]");
        check_price(checks, &field, price);
        if prices[..index].iter().any(|earlier| earlier.currency == price.currency) {
            checks.fail(
                format!("{field}.currency"),
                format!("{} is given twice", price.currency),
            );
        } else if price.currency == own.currency {
            if price.amount != own.amount {
                checks.fail(
                    format!("{field}.amount"),
                    format!("must equal price.amount, the variant's price in {}", own.currency),
                );
            }
        } else {
            check_sold(checks, shop, &format!("{field}.currency"), &price.currency);
            others.push(PriceRow {
                variant_id: variant_id.to_owned(),
                currency: price.currency.clone(),
                amount: price.amount,
            });
        }
    }
    others.sort_by(|a, b| a.currency.cmp(&b.currency));
    others
}

/// Shopify's limits, which search engines' snippets fit in.
pub(super) const MAX_SEO_TITLE_CHARS: usize = 70;
pub(super) const MAX_SEO_DESCRIPTION_CHARS: usize = 320;

/// An SEO text of at most `max` characters as sent, on one line, trimmed.
pub(super) fn seo_text(checks: &mut Checks, field: &str, text: Option<&str>, max: usize) -> String {
    let sent = text.unwrap_or_default();
    let text = sent.trim();
    if sent.chars().count() > max {
        checks.fail(field, format!("must be at most {max} characters"));
    }
    if text.chars().any(char::is_control) {
        checks.fail(field, "must be one line, without control characters");
    }
    text.to_owned()
}

fn check_tax_class(checks: &mut Checks, tax_class: &str) {
    if !validate::is_slug(tax_class) {
        checks.fail(
            "tax_class",
            "must be lower-case letters, digits and hyphens, such as reduced",
        );
    }
}

fn parse_status(checks: &mut Checks, value: &str) -> ProductStatus {
    ProductStatus::parse(value).unwrap_or_else(|| {
        checks.fail("status", "must be draft, published or archived");
        ProductStatus::Draft
    })
}

fn check_slug(checks: &mut Checks, field: &str, slug: &str) {
    if !validate::is_slug(slug) {
        checks.fail(field, "may hold only lower-case letters, digits and single hyphens");
    }
}

async fn check_categories_exist(tx: &mut Conn, category_ids: &[String]) -> DomainResult<()> {
    for (index, id) in category_ids.iter().enumerate() {
        if !store::category_exists(tx, id).await? {
            return Err(DomainError::invalid(
                format!("category_ids[{index}]"),
                "no such category",
            ));
        }
    }
    Ok(())
}

/// The first of [`validate::slug_candidates`] no product has.
async fn free_slug(tx: &mut Conn, base: &str) -> DomainResult<String> {
    for candidate in validate::slug_candidates(base) {
        if !store::slug_taken(tx, &candidate).await? {
            return Ok(candidate);
        }
    }
    unreachable!("the candidates never end")
}

pub(super) fn slug_or_sku_conflict(error: StoreError) -> DomainError {
    if error.is_unique_violation("products.slug") {
        DomainError::conflict("a product with this slug already exists")
    } else if error.is_unique_violation("variants.sku") {
        DomainError::conflict("a variant with this SKU already exists")
    } else {
        error.into()
    }
}

pub(super) fn dedup(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values.dedup();
    values
}

pub(crate) fn corrupt(what: &str, value: &str) -> DomainError {
    DomainError::Store(StoreError::Corrupt(format!("{what}: {value:?}")))
}
