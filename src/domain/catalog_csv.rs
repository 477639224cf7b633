//! The catalog in Shopify's product CSV format, both ways (contract: Catalog depth), so
//! that a shop moves in and out without retyping it.
//!
//! Import is row by row: each row runs inside a savepoint of a batch's transaction, so a
//! bad row is reported with its number and reason and changes nothing, while the good ones
//! around it land; the batches keep 10,000 rows to a few dozen commits. A product is
//! found by its handle (our slug) and a variant by its SKU, so importing a file again
//! updates instead of duplicating. Prices are in the shop's default currency, and
//! `Variant Inventory Qty` is what can be sold (stock held by checkouts comes on top).
//!
//! Images given by URL (`Image Src`) are downloaded once the rows are in, through the
//! outbound client's address checks and the same pipeline as uploads; one that cannot be
//! fetched or is not an image is reported against its row (whose other columns landed).
//! An address already imported for a product is not fetched again.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::catalog::{self, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS, NewVariant, PriceInput, ProductStatus};
use super::events::EventKind;
use super::images::{self, NewImage};
use super::inventory::{MAX_STOCK, StockMove, move_stock};
use super::money::{Currency, Money};
use super::shop::Shop;
use super::time::Timestamp;
use super::validate::{self, Checks};
use super::{DomainError, DomainResult, PageRequest, Permission, Principal, ids, search};
use crate::media::MediaStore;
use crate::media::images::MAX_UPLOAD_BYTES;
use crate::outbound::Outbound;
use crate::store::catalog::{self as store, CategoryRow, ProductRow, VariantRow};
use crate::store::inventory as stock_store;
use crate::store::{Conn, Store, dialect};

/// Shopify's product CSV columns, in its order; an export writes all of them.
pub const COLUMNS: [&str; 33] = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Fulfillment Service",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Requires Shipping",
    "Variant Taxable",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Gift Card",
    "SEO Title",
    "SEO Description",
    "Variant Weight Unit",
    "Status",
];

/// Rows written in one transaction: few commits, and the writer is never held long.
const ROWS_PER_BATCH: usize = 250;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Products made, and products changed (each counted once, however many rows it has).
    pub created: usize,
    pub updated: usize,
    /// The rows that changed nothing, by their row in the file (the header is row 1).
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub message: String,
}

/// A row of the file, its cells by column name (an empty cell is `None`), `Body (HTML)`
/// already made plain text (outside the transaction: cleaning HTML takes time).
struct Row {
    /// Its line in the file (the header is line 1).
    number: usize,
    cells: HashMap<&'static str, String>,
    /// Why the row cannot be used at all (malformed CSV, control characters, a huge cell).
    unreadable: Option<String>,
}

/// The longest cell read: a product description's HTML with room to spare.
const MAX_CELL_BYTES: usize = 256 * 1024;

impl Row {
    fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .map(|cell| cell.trim())
            .filter(|cell| !cell.is_empty())
    }

    /// The row holds a variant: a SKU, a price, stock or an option value.
    fn has_variant(&self) -> bool {
        ["Variant SKU", "Variant Price", "Variant Inventory Qty", "Option1 Value"]
            .iter()
            .any(|column| self.get(column).is_some())
    }
}

/// Where the rows of one handle stand while the file is read.
#[derive(Debug, Clone, Default)]
struct ProductInFile {
    handle: String,
    /// `None` while its first row failed: the rows after it have no product.
    product_id: Option<String>,
    option_names: [Option<String>; 3],
    rows_seen: usize,
}

impl ProductInFile {
    /// The state a row of `handle` starts from, whether or not its rows are together.
    fn for_row(states: &HashMap<String, ProductInFile>, handle: &str) -> ProductInFile {
        let mut next = states.get(handle).cloned().unwrap_or_else(|| ProductInFile {
            handle: handle.to_owned(),
            ..ProductInFile::default()
        });
        next.rows_seen += 1;
        next
    }
}

/// An image a row gives by URL, fetched once the rows are in.
struct PendingImage {
    row: usize,
    product_id: String,
    url: String,
    alt: Option<String>,
    /// `Image Position`: the file's order of a product's images.
    position: i64,
}

/// What a row did: the product it made (`true`) or changed, and the image it names.
struct RowOutcome {
    product: Option<(String, bool)>,
    image: Option<(String, Option<String>, i64)>,
}

/// Where an import's images go, and how they are fetched.
pub struct ImageSources<'a> {
    pub media: &'a MediaStore,
    pub outbound: &'a Outbound,
    /// The shop's own address: an export's image addresses start with it, and name images
    /// the product has already.
    pub public_url: &'a str,
}

/// Imports a Shopify product CSV. A file that is not one (no `Handle` column, not UTF-8)
/// is refused whole.
pub async fn import_products(
    db: &Store,
    sources: &ImageSources<'_>,
    caller: &Principal,
    csv: &[u8],
) -> DomainResult<ImportReport> {
    caller.require(Permission::Catalog)?;
    caller.require(Permission::Inventory)?;
    let shop = super::shop::get_shop(db).await?;
    let rows = read_rows(csv)?;
    let mut report = ImportReport::default();
    let mut counted: HashMap<String, bool> = HashMap::new();
    let mut announced: HashSet<String> = HashSet::new();
    let mut states: HashMap<String, ProductInFile> = HashMap::new();
    let mut pending: Vec<PendingImage> = Vec::new();
    for batch in rows.chunks(ROWS_PER_BATCH) {
        let mut tx = db.write().await?;
        // Marked changed and indexed once per batch, not once per row: a product's rows
        // are mostly its variants, one after the other.
        let mut changed: Vec<String> = Vec::new();
        for row in batch {
            // What the row learns (its product, its options) counts only if it lands.
            let handle = row.get("Handle").unwrap_or_default().to_owned();
            let before = ProductInFile::for_row(&states, &handle);
            let mut after = before.clone();
            tx.savepoint("import_row").await?;
            match import_row(&mut tx, &shop, caller, &mut after, row).await {
                Ok(outcome) => {
                    states.insert(handle, after);
                    tx.release("import_row").await?;
                    if let Some((product_id, created)) = outcome.product {
                        if let Some((url, alt, position)) = outcome.image {
                            pending.push(PendingImage {
                                row: row.number,
                                product_id: product_id.clone(),
                                url,
                                alt,
                                position,
                            });
                        }
                        if changed.last() != Some(&product_id) {
                            changed.push(product_id.clone());
                        }
                        counted.entry(product_id).or_insert(created);
                    }
                }
                Err(RowFailure::Refused(message)) => {
                    states.insert(handle, before);
                    tx.rollback_to("import_row").await?;
                    tx.release("import_row").await?;
                    report.errors.push(RowError {
                        row: row.number,
                        message,
                    });
                }
                Err(RowFailure::Failed(error)) => return Err(error),
            }
        }
        let now = Timestamp::now().0;
        changed.sort();
        changed.dedup();
        for product_id in &changed {
            store::touch_product(&mut tx, product_id, now).await?;
            search::reindex_product(&mut tx, product_id).await?;
            // Created by this import, and not yet announced by an earlier batch.
            let kind = if counted.get(product_id) == Some(&true) && announced.insert(product_id.clone()) {
                EventKind::ProductCreated
            } else {
                EventKind::ProductUpdated
            };
            catalog::record_product_event(&mut tx, kind, product_id).await?;
        }
        tx.commit().await?;
    }
    report.created = counted.values().filter(|created| **created).count();
    report.updated = counted.len() - report.created;
    report.errors.extend(fetch_images(db, sources, caller, pending).await?);
    report.errors.sort_by_key(|error| error.row);
    Ok(report)
}

/// Downloads and adds the rows' images, each product's in `Image Position` order, skipping
/// the addresses a product already has images from; gives the rows whose image failed.
async fn fetch_images(
    db: &Store,
    sources: &ImageSources<'_>,
    caller: &Principal,
    mut pending: Vec<PendingImage>,
) -> DomainResult<Vec<RowError>> {
    pending.sort_by(|a, b| (&a.product_id, a.position, a.row).cmp(&(&b.product_id, b.position, b.row)));
    let mut failed = Vec::new();
    let own_images = format!("{}{}/", sources.public_url.trim_end_matches('/'), images::MEDIA_PATH);
    let mut known: HashMap<String, images::KnownImages> = HashMap::new();
    for image in pending {
        if !known.contains_key(&image.product_id) {
            let images = images::known_images(db, &image.product_id).await?;
            known.insert(image.product_id.clone(), images);
        }
        let product_images = known.entry(image.product_id.clone()).or_default();
        // An image of this shop's that the product has (an export imported again), or
        // one imported from this address before.
        let own_id = image
            .url
            .strip_prefix(&own_images)
            .and_then(|file| file.split(['.', '?']).next());
        if product_images.imported_from.contains(&image.url)
            || own_id.is_some_and(|id| product_images.ids.iter().any(|known| known == id))
        {
            continue;
        }
        let added = match sources.outbound.get(&image.url, MAX_UPLOAD_BYTES).await {
            Ok(bytes) => {
                let upload = NewImage {
                    bytes,
                    alt: image.alt,
                    imported_from: Some(image.url.clone()),
                };
                images::add_image(db, sources.media, caller, &image.product_id, upload)
                    .await
                    .map(|_| ())
                    .map_err(|error| match error {
                        DomainError::Validation(errors) => errors
                            .into_iter()
                            .map(|error| error.message)
                            .collect::<Vec<_>>()
                            .join("; "),
                        DomainError::Store(_) | DomainError::Internal(_) => {
                            tracing::error!(%error, url = image.url, "an imported image could not be kept");
                            "it could not be kept (see the server's log)".to_owned()
                        }
                        other => other.to_string(),
                    })
            }
            Err(error) => Err(error.to_string()),
        };
        match added {
            Ok(()) => product_images.imported_from.push(image.url),
            Err(reason) => failed.push(RowError {
                row: image.row,
                message: format!(
                    "Image Src {}: {reason}; the row's other columns were imported",
                    image.url
                ),
            }),
        }
    }
    Ok(failed)
}

/// Why a row changed nothing: its content (reported, the import goes on), or the
/// database (the import stops; earlier batches stay).
enum RowFailure {
    Refused(String),
    Failed(DomainError),
}

impl From<DomainError> for RowFailure {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Store(_) | DomainError::Internal(_) => RowFailure::Failed(error),
            DomainError::Validation(errors) => RowFailure::Refused(
                errors
                    .iter()
                    .map(|error| error.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => RowFailure::Refused(other.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for RowFailure {
    fn from(error: crate::store::StoreError) -> Self {
        RowFailure::Failed(error.into())
    }
}

fn refused(message: impl Into<String>) -> RowFailure {
    RowFailure::Refused(message.into())
}

fn read_rows(csv: &[u8]) -> DomainResult<Vec<Row>> {
    let text = std::str::from_utf8(csv).map_err(|_| DomainError::invalid("body", "the file is not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| DomainError::invalid("body", format!("the header row cannot be read: {error}")))?
        .clone();
    let columns: Vec<Option<&'static str>> = headers
        .iter()
        .map(|header| {
            COLUMNS
                .iter()
                .copied()
                .find(|column| column.eq_ignore_ascii_case(header.trim()))
        })
        .collect();
    if !columns.contains(&Some("Handle")) {
        return Err(DomainError::invalid(
            "body",
            "this is not a Shopify product CSV: its header has no Handle column",
        ));
    }
    let mut rows = Vec::new();
    let mut line = 1;
    for record in reader.records() {
        let row = match record {
            Ok(record) => {
                line = record.position().map_or(line + 1, |position| position.line() as usize);
                read_row(line, &columns, &record)
            }
            // Reported as the row's own error when it is reached.
            Err(error) => {
                line = error.position().map_or(line + 1, |position| position.line() as usize);
                Row {
                    number: line,
                    cells: HashMap::new(),
                    unreadable: Some(error.to_string()),
                }
            }
        };
        rows.push(row);
    }
    Ok(rows)
}

fn read_row(number: usize, columns: &[Option<&'static str>], record: &csv::StringRecord) -> Row {
    let mut cells = HashMap::new();
    let mut unreadable = None;
    for (column, cell) in columns.iter().zip(record.iter()) {
        let Some(column) = column else { continue };
        if cell.len() > MAX_CELL_BYTES {
            unreadable = Some(format!("{column} is longer than {} KiB", MAX_CELL_BYTES / 1024));
        } else if cell.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            unreadable = Some(format!("{column} holds a control character"));
        }
        let value = if *column == "Body (HTML)" {
            text_of_html(cell)
        } else {
            cell.to_owned()
        };
        cells.insert(*column, value);
    }
    Row {
        number,
        cells,
        unreadable,
    }
}

/// Applies one row; gives the product it made (`true`) or changed (`false`).
async fn import_row(
    tx: &mut Conn,
    shop: &Shop,
    caller: &Principal,
    current: &mut ProductInFile,
    row: &Row,
) -> Result<RowOutcome, RowFailure> {
    if let Some(unreadable) = &row.unreadable {
        return Err(refused(format!("the row cannot be read: {unreadable}")));
    }
    let handle = row.get("Handle").ok_or_else(|| refused("Handle is empty"))?.to_owned();
    if !validate::is_slug(&handle) {
        return Err(refused(format!(
            "Handle {handle:?} may hold only lower-case letters, digits and single hyphens"
        )));
    }
    for (index, name) in ["Option1 Name", "Option2 Name", "Option3 Name"].iter().enumerate() {
        if let Some(name) = row.get(name) {
            current.option_names[index] = Some(name.to_owned());
        }
    }
    let image = image_of(row).map_err(refused)?;
    let now = Timestamp::now().0;
    let mut outcome = None;
    let first_row = current.rows_seen == 1;
    if !first_row && current.product_id.is_none() {
        // Its first row failed: a product already in the shop takes the rows after it.
        current.product_id = store::find_product(tx, &handle, None)
            .await?
            .filter(|product| product.slug == handle)
            .map(|product| product.id);
        if current.product_id.is_none() {
            return Err(refused(format!(
                "the first row of {handle} failed, so its product does not exist"
            )));
        }
    }
    if first_row || row.get("Title").is_some() {
        let (product_id, created) = upsert_product(tx, row, &handle, first_row, now).await?;
        current.product_id = Some(product_id.clone());
        outcome = Some((product_id, created));
    }
    let Some(product_id) = current.product_id.clone() else {
        return Err(RowFailure::Failed(DomainError::Internal(
            "a row without its product".to_owned(),
        )));
    };
    if row.has_variant() {
        upsert_variant(tx, shop, caller, current, &product_id, row, now).await?;
        if outcome.is_none() {
            outcome = Some((product_id.clone(), false));
        }
    } else if outcome.as_ref().is_some_and(|(_, created)| *created) {
        return Err(refused(
            "a new product needs a variant: give Variant SKU and Variant Price",
        ));
    }
    if image.is_some() && outcome.is_none() {
        outcome = Some((product_id, false));
    }
    Ok(RowOutcome {
        product: outcome,
        image,
    })
}

/// The row's image: `Image Src` (an http or https URL), its alt text and position.
fn image_of(row: &Row) -> Result<Option<(String, Option<String>, i64)>, String> {
    let Some(url) = row.get("Image Src") else {
        return Ok(None);
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("Image Src {url:?} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("Image Src {url:?} must be an http or https URL"));
    }
    let position = match row.get("Image Position") {
        None => i64::MAX,
        Some(position) => position
            .parse::<i64>()
            .ok()
            .filter(|position| *position >= 1)
            .ok_or_else(|| format!("Image Position {position:?} must be a whole number from 1"))?,
    };
    Ok(Some((
        url.to_owned(),
        row.get("Image Alt Text").map(str::to_owned),
        position,
    )))
}

/// Makes or changes the product of `handle` from its row's product columns (its
/// categories from `Tags` on the handle's first row, or when given).
async fn upsert_product(
    tx: &mut Conn,
    row: &Row,
    handle: &str,
    first_row: bool,
    now: i64,
) -> Result<(String, bool), RowFailure> {
    let existing = store::find_product(tx, handle, None)
        .await?
        .filter(|product| product.slug == handle);
    let mut checks = Checks::default();
    let title = row
        .get("Title")
        .map(|title| checks.text("Title", title, MAX_TITLE_CHARS));
    let description = row.get("Body (HTML)").map(str::to_owned);
    if description
        .as_ref()
        .is_some_and(|text| text.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        checks.fail(
            "Body (HTML)",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        );
    }
    let status = status_of(row).map_err(refused)?;
    let seo_title = row
        .get("SEO Title")
        .map(|text| catalog::seo_text(&mut checks, "SEO Title", Some(text), catalog::MAX_SEO_TITLE_CHARS));
    let seo_description = row.get("SEO Description").map(|text| {
        catalog::seo_text(
            &mut checks,
            "SEO Description",
            Some(text),
            catalog::MAX_SEO_DESCRIPTION_CHARS,
        )
    });
    checks.finish()?;
    let created = existing.is_none();
    let mut product = match existing {
        Some(product) => product,
        None => ProductRow {
            id: ids::new_id("prod"),
            slug: handle.to_owned(),
            title: title.clone().ok_or_else(|| refused("a new product needs a Title"))?,
            description: String::new(),
            status: ProductStatus::Draft.as_str().to_owned(),
            tax_class: super::pricing::STANDARD_TAX_CLASS.to_owned(),
            seo_title: String::new(),
            seo_description: String::new(),
            created_at: now,
            updated_at: now,
        },
    };
    if let Some(title) = title {
        product.title = title;
    }
    if let Some(description) = description {
        product.description = description;
    }
    if let Some(status) = status {
        product.status = status.as_str().to_owned();
    }
    if let Some(seo_title) = seo_title {
        product.seo_title = seo_title;
    }
    if let Some(seo_description) = seo_description {
        product.seo_description = seo_description;
    }
    product.updated_at = now;
    if created {
        store::insert_product(tx, &product)
            .await
            .map_err(catalog::slug_or_sku_conflict)?;
    } else {
        store::update_product(tx, &product)
            .await
            .map_err(catalog::slug_or_sku_conflict)?;
    }
    if row.cells.contains_key("Tags") && (first_row || row.get("Tags").is_some()) {
        let mut category_ids = Vec::new();
        for tag in row.get("Tags").unwrap_or_default().split(',').map(str::trim) {
            if !tag.is_empty() {
                category_ids.push(category_for_tag(tx, tag, now).await?);
            }
        }
        store::replace_product_categories(tx, &product.id, &catalog::dedup(category_ids)).await?;
    }
    Ok((product.id, created))
}

/// The category a tag names (by its slug), made when there is none.
async fn category_for_tag(tx: &mut Conn, tag: &str, now: i64) -> Result<String, RowFailure> {
    if tag.chars().count() > MAX_TITLE_CHARS {
        return Err(refused(format!(
            "the tag {tag:?} is longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    if let Some(id) = store::find_category_id_by_name(tx, tag).await? {
        return Ok(id);
    }
    let mut slug = None;
    for candidate in validate::slug_candidates(&validate::slugify(tag)) {
        if store::find_category_id(tx, &candidate).await?.is_none() {
            slug = Some(candidate);
            break;
        }
    }
    let category = CategoryRow {
        id: ids::new_id("cat"),
        name: tag.to_owned(),
        slug: slug.unwrap_or_else(|| ids::new_id("category")),
        parent_id: None,
        created_at: now,
    };
    store::insert_category(tx, &category).await?;
    Ok(category.id)
}

/// `Status` (active, draft, archived), else `Published` (TRUE or FALSE).
fn status_of(row: &Row) -> Result<Option<ProductStatus>, String> {
    if let Some(status) = row.get("Status") {
        return match status.to_ascii_lowercase().as_str() {
            "active" => Ok(Some(ProductStatus::Published)),
            "draft" => Ok(Some(ProductStatus::Draft)),
            "archived" => Ok(Some(ProductStatus::Archived)),
            _ => Err(format!("Status {status:?} must be active, draft or archived")),
        };
    }
    match row.get("Published").map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(ProductStatus::Published)),
        Some("false") => Ok(Some(ProductStatus::Draft)),
        Some(other) => Err(format!("Published {other:?} must be TRUE or FALSE")),
    }
}

/// Makes or changes the variant of a row (by its SKU) of `product_id`.
async fn upsert_variant(
    tx: &mut Conn,
    shop: &Shop,
    caller: &Principal,
    current: &ProductInFile,
    product_id: &str,
    row: &Row,
    now: i64,
) -> Result<(), RowFailure> {
    let currency = shop.default_currency;
    // Without a SKU, a variant is named by its row's place among its product's rows, so
    // that the same file imported again finds it, whatever failed around it.
    let sku = row
        .get("Variant SKU")
        .map_or_else(|| format!("{}-{}", current.handle, current.rows_seen), str::to_owned);
    let naming = naming_of(current, row).map_err(refused)?;
    let price = row
        .get("Variant Price")
        .map(|price| minor_units(price, currency))
        .transpose()
        .map_err(refused)?;
    let weight_grams = weight_of(row).map_err(refused)?;
    let quantity = row
        .get("Variant Inventory Qty")
        .map(|qty| {
            qty.parse::<i64>()
                .ok()
                .filter(|qty| *qty <= MAX_STOCK)
                // Shopify lets a shop oversell into negative stock: none can be sold.
                .map(|qty| qty.max(0))
                .ok_or_else(|| format!("Variant Inventory Qty {qty:?} must be a whole number up to {MAX_STOCK}"))
        })
        .transpose()
        .map_err(refused)?;
    let existing = match store::find_variant_by_sku(tx, &sku).await? {
        // Locked (on PostgreSQL) before its stock is read, so that no checkout moves it in
        // between.
        Some(found) => dialect::lock_variant(tx, &found.id).await?,
        None => None,
    };
    match existing {
        Some(existing) if existing.product_id != product_id => {
            Err(refused(format!("the SKU {sku} belongs to another product's variant")))
        }
        Some(existing) => {
            let change = VariantChange {
                naming,
                price,
                weight_grams,
                quantity,
            };
            update_variant(tx, caller, existing, change, currency, now).await
        }
        None => {
            let price = price.ok_or_else(|| refused("a new variant needs a Variant Price"))?;
            let position = store::next_variant_position(tx, product_id).await?;
            if position >= catalog::MAX_VARIANTS as i64 {
                return Err(refused(format!(
                    "a product has at most {} variants",
                    catalog::MAX_VARIANTS
                )));
            }
            let (title, options) = naming.unwrap_or_else(|| ("Default".to_owned(), BTreeMap::new()));
            let input = NewVariant {
                sku,
                title: Some(title),
                price: PriceInput {
                    amount: price,
                    currency: currency.to_string(),
                },
                prices: Vec::new(),
                inventory: quantity,
                options,
                weight_grams,
            };
            let mut checks = Checks::default();
            let (variant, _) = catalog::variant_row(&mut checks, shop, "", product_id, &input, position);
            checks.finish()?;
            store::insert_variant(tx, &variant, now)
                .await
                .map_err(catalog::slug_or_sku_conflict)?;
            Ok(())
        }
    }
}

/// A variant's title and options.
type Naming = (String, BTreeMap<String, String>);

/// What a row changes of a variant that exists; `None` leaves it as it is.
struct VariantChange {
    naming: Option<Naming>,
    price: Option<i64>,
    weight_grams: Option<i64>,
    quantity: Option<i64>,
}

async fn update_variant(
    tx: &mut Conn,
    caller: &Principal,
    mut variant: VariantRow,
    change: VariantChange,
    currency: Currency,
    now: i64,
) -> Result<(), RowFailure> {
    if let Some(price) = change.price {
        if variant.currency != currency.as_str() {
            return Err(refused(format!(
                "the variant {} is priced in {}, and the import's prices are in {currency}: change it in the dashboard",
                variant.sku, variant.currency
            )));
        }
        if !(0..=catalog::MAX_PRICE).contains(&price) {
            return Err(refused(format!("Variant Price must be at most {}", catalog::MAX_PRICE)));
        }
        variant.price_amount = price;
    }
    if let Some(weight) = change.weight_grams {
        variant.weight_grams = weight;
    }
    if let Some((title, _)) = &change.naming {
        variant.title = title.clone();
    }
    store::update_variant(tx, &variant, now)
        .await
        .map_err(catalog::slug_or_sku_conflict)?;
    if let Some((_, options)) = &change.naming {
        let options = serde_json::to_string(options)
            .map_err(|error| RowFailure::Failed(DomainError::Internal(error.to_string())))?;
        store::set_variant_options(tx, &variant.id, &options).await?;
    }
    if let Some(quantity) = change.quantity {
        // What can be sold becomes `quantity`: on hand is that plus what checkouts hold.
        let delta = quantity + variant.reserved - variant.on_hand;
        if delta != 0 {
            move_stock(tx, &variant.id, StockMove::Adjust(delta))
                .await?
                .ok_or_else(|| {
                    refused(format!(
                        "Variant Inventory Qty {quantity} is more than a variant may hold"
                    ))
                })?;
            stock_store::insert_adjustment(
                tx,
                &ids::new_id("adj"),
                &variant.id,
                delta,
                "import",
                caller.staff_id(),
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// The variant's title and options from the row's option values (names from the
/// product's first row when the row leaves them out); `None` when the row gives none.
/// Shopify's option `Title` is the variant's title, not an option (`Default Title`: a
/// product without options).
fn naming_of(current: &ProductInFile, row: &Row) -> Result<Option<Naming>, String> {
    let values = ["Option1 Value", "Option2 Value", "Option3 Value"];
    let mut options = BTreeMap::new();
    let mut named = None;
    let mut given = false;
    for (index, column) in values.iter().enumerate() {
        let Some(value) = row.get(column) else { continue };
        given = true;
        let name = current.option_names[index]
            .clone()
            .unwrap_or_else(|| format!("Option {}", index + 1));
        if name == "Title" {
            named = Some(if value == "Default Title" { "Default" } else { value }.to_owned());
            continue;
        }
        options.insert(name, value.to_owned());
    }
    if !given {
        return Ok(None);
    }
    let title = match named {
        Some(title) if options.is_empty() => title,
        _ if options.is_empty() => "Default".to_owned(),
        _ => options.values().cloned().collect::<Vec<_>>().join(" / "),
    };
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(format!(
            "the variant's title ({title:?}) is longer than {MAX_TITLE_CHARS} characters"
        ));
    }
    Ok(Some((title, options)))
}

/// `Variant Grams` (Shopify writes the weight in grams there whatever unit the shop shows,
/// which `Variant Weight Unit` names).
fn weight_of(row: &Row) -> Result<Option<i64>, String> {
    let Some(value) = row.get("Variant Grams") else {
        return Ok(None);
    };
    let grams: f64 = value
        .parse()
        .ok()
        .filter(|number: &f64| number.is_finite() && *number >= 0.0)
        .ok_or_else(|| format!("Variant Grams {value:?} must be a weight in grams"))?;
    let grams = grams.round() as i64;
    if grams > catalog::MAX_WEIGHT_GRAMS {
        return Err(format!("Variant Grams must be at most {}", catalog::MAX_WEIGHT_GRAMS));
    }
    Ok(Some(grams))
}

/// `"12.5"` in a currency with 2 decimals is 1250; thousands separators and signs are
/// refused rather than guessed at.
fn minor_units(text: &str, currency: Currency) -> Result<i64, String> {
    let refusal = || format!("Variant Price {text:?} must be an amount such as 12.50");
    let decimals = currency.decimals();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    // Shopify writes two decimals for every currency: "1200.00" yen is 1200.
    let fraction = match fraction.get(decimals as usize..) {
        Some(extra) if extra.bytes().all(|b| b == b'0') => &fraction[..decimals as usize],
        _ => fraction,
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > decimals as usize
        || whole.len() > 12
    {
        return Err(refusal());
    }
    let scale = 10_i64.pow(decimals);
    let whole: i64 = whole.parse().map_err(|_| refusal())?;
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<width$}", width = decimals as usize)
            .parse()
            .map_err(|_| refusal())?
    };
    Ok(whole * scale + fraction)
}

/// The text of a description given as HTML: tags dropped (paragraphs and line breaks
/// become new lines), entities decoded.
fn text_of_html(html: &str) -> String {
    let marked = html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "\n\n");
    let cleaned = ammonia::Builder::empty().clean(&marked).to_string();
    let decoded = cleaned
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    decoded.trim().to_owned()
}

/// A description as Shopify's HTML: escaped, paragraphs in `<p>`, lines joined by `<br>`.
fn html_of_text(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty())
        .map(|paragraph| {
            let escaped = paragraph
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;");
            format!("<p>{}</p>", escaped.replace('\n', "<br>"))
        })
        .collect()
}

/// Every product, in Shopify's product CSV: a row per variant (the first with the product's
/// columns), then a row per further image. `public_url` makes image addresses absolute.
pub async fn export_products(db: &Store, caller: &Principal, public_url: &str) -> DomainResult<String> {
    caller.require(Permission::Catalog)?;
    let shop = super::shop::get_shop(db).await?;
    let categories = all_category_names(db).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS).map_err(csv_failed)?;
    let mut cursor: Option<String> = None;
    loop {
        let page = PageRequest::parse(Some(100), cursor.as_deref())?;
        let listing = catalog::list_products_as_staff(db, caller, &catalog::ProductQuery::default(), &page).await?;
        for product in &listing.page.data {
            for record in product_records(product, &shop, &categories, public_url) {
                writer.write_record(&record).map_err(csv_failed)?;
            }
        }
        match listing.page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| DomainError::Internal(error.to_string()))?;
    String::from_utf8(bytes).map_err(|error| DomainError::Internal(error.to_string()))
}

fn csv_failed(error: csv::Error) -> DomainError {
    DomainError::Internal(format!("writing CSV: {error}"))
}

async fn all_category_names(db: &Store) -> DomainResult<HashMap<String, String>> {
    let mut names = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = PageRequest::parse(Some(100), cursor.as_deref())?;
        let categories = catalog::list_categories(db, &page).await?;
        names.extend(categories.data.into_iter().map(|category| (category.id, category.name)));
        match categories.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(names),
        }
    }
}

fn product_records(
    product: &catalog::Product,
    shop: &Shop,
    categories: &HashMap<String, String>,
    public_url: &str,
) -> Vec<Vec<String>> {
    let column = |name: &str| COLUMNS.iter().position(|column| *column == name).unwrap_or(0);
    // Every variant's option names, in the order first met (Shopify has room for three).
    let mut option_names: Vec<String> = Vec::new();
    for name in product.variants.iter().flat_map(|variant| variant.options.keys()) {
        if !option_names.contains(name) && option_names.len() < 3 {
            option_names.push(name.clone());
        }
    }
    let images: Vec<(String, String)> = product
        .images
        .iter()
        .map(|image| {
            let url = image.url();
            let absolute = if url.starts_with('/') {
                format!("{}{url}", public_url.trim_end_matches('/'))
            } else {
                url
            };
            (absolute, image.alt.clone())
        })
        .collect();
    let rows = product.variants.len().max(images.len()).max(1);
    let mut records = Vec::with_capacity(rows);
    for index in 0..rows {
        let mut record = vec![String::new(); COLUMNS.len()];
        record[column("Handle")] = product.slug.clone();
        if index == 0 {
            record[column("Title")] = product.title.clone();
            record[column("Body (HTML)")] = html_of_text(&product.description);
            let mut tags: Vec<&str> = product
                .category_ids
                .iter()
                .filter_map(|id| categories.get(id).map(String::as_str))
                // Tags are separated by commas: a name with one would come back as two.
                .filter(|name| !name.contains(','))
                .collect();
            tags.sort_unstable();
            record[column("Tags")] = tags.join(", ");
            record[column("Published")] = (product.status == ProductStatus::Published).to_string().to_uppercase();
            record[column("Status")] = match product.status {
                ProductStatus::Published => "active",
                ProductStatus::Draft => "draft",
                ProductStatus::Archived => "archived",
            }
            .to_owned();
            record[column("Gift Card")] = "FALSE".to_owned();
            record[column("SEO Title")] = product.seo_title.clone();
            record[column("SEO Description")] = product.seo_description.clone();
        }
        if let Some(variant) = product.variants.get(index) {
            for (position, name) in option_names.iter().enumerate() {
                if index == 0 {
                    record[column(&format!("Option{} Name", position + 1))] = name.clone();
                }
                record[column(&format!("Option{} Value", position + 1))] =
                    variant.options.get(name).cloned().unwrap_or_default();
            }
            if option_names.is_empty() {
                if index == 0 {
                    record[column("Option1 Name")] = "Title".to_owned();
                }
                // Shopify's option `Title` holds the variant's title.
                record[column("Option1 Value")] = if variant.title == "Default" {
                    "Default Title".to_owned()
                } else {
                    variant.title.clone()
                };
            }
            let price = variant
                .price_in(shop.default_currency)
                .or_else(|| variant.prices.first().copied())
                .unwrap_or(Money::zero(shop.default_currency));
            record[column("Variant SKU")] = variant.sku.clone();
            record[column("Variant Grams")] = variant.weight_grams.to_string();
            record[column("Variant Inventory Tracker")] = "shopify".to_owned();
            record[column("Variant Inventory Qty")] = variant.available.to_string();
            record[column("Variant Inventory Policy")] = "deny".to_owned();
            record[column("Variant Fulfillment Service")] = "manual".to_owned();
            record[column("Variant Price")] = decimal(price);
            record[column("Variant Requires Shipping")] = "TRUE".to_owned();
            record[column("Variant Taxable")] = "TRUE".to_owned();
            record[column("Variant Weight Unit")] = "g".to_owned();
        }
        if let Some((url, alt)) = images.get(index) {
            record[column("Image Src")] = url.clone();
            record[column("Image Position")] = (index + 1).to_string();
            record[column("Image Alt Text")] = alt.clone();
        }
        records.push(record);
    }
    records
}

/// 1250 EUR cents as `12.50`.
fn decimal(money: Money) -> String {
    let decimals = money.currency.decimals();
    let scale = 10_i64.pow(decimals);
    if decimals == 0 {
        return money.amount.to_string();
    }
    format!(
        "{}.{:0width$}",
        money.amount / scale,
        money.amount % scale,
        width = decimals as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_read_in_minor_units() {
        let eur = Currency::EUR;
        assert_eq!(minor_units("12.5", eur), Ok(1250));
        assert_eq!(minor_units("12.50", eur), Ok(1250));
        assert_eq!(minor_units("0", eur), Ok(0));
        for bad in ["12.505", "-1", "1,299.00", "abc", "", ".5", "1e3"] {
            assert!(minor_units(bad, eur).is_err(), "{bad}");
        }
        let yen = Currency::parse("JPY").expect("JPY");
        assert_eq!(minor_units("1200", yen), Ok(1200));
        assert_eq!(minor_units("1200.00", yen), Ok(1200), "Shopify's two decimals");
        assert!(minor_units("12.5", yen).is_err());
        assert_eq!(minor_units("12.500", eur), Ok(1250));
    }

    #[test]
    fn descriptions_go_between_text_and_html() {
        let text = "A mug & a <lid>.\nDishwasher safe.\n\nMade in Portugal.";
        let html = html_of_text(text);
        assert_eq!(
            html,
            "<p>A mug &amp; a &lt;lid&gt;.<br>Dishwasher safe.</p><p>Made in Portugal.</p>"
        );
        assert_eq!(text_of_html(&html), text);
        assert_eq!(
            text_of_html("<p><strong>Bold</strong> claim</p><script>alert(1)</script>"),
            "Bold claim"
        );
    }

    #[test]
    fn amounts_are_written_as_decimals() {
        assert_eq!(decimal(Money::new(1250, Currency::EUR)), "12.50");
        assert_eq!(decimal(Money::new(5, Currency::EUR)), "0.05");
        assert_eq!(decimal(Money::new(1200, Currency::parse("JPY").expect("JPY"))), "1200");
    }
}
