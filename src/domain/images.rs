//! A product's images (contract: Catalog depth): uploaded, described, reordered, removed,
//! and served at the widths a page asks for.
//!
//! An upload is checked and re-encoded (`media::images`) before anything is kept; its
//! copies go to the media store first and its row second, in a transaction that also marks
//! the product changed. A failure between the two leaves unreferenced files, never a row
//! without its image.

use std::collections::HashMap;
use std::sync::LazyLock;

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::catalog;
use super::events::EventKind;
use super::time::Timestamp;
use super::{DomainError, DomainResult, Permission, Principal, ids};
use crate::media::images::{self as processing, ImageError, ProcessedImage, StoredFormat, WIDTHS};
use crate::media::{MediaError, MediaFile, MediaStore};
use crate::store::catalog as catalog_store;
use crate::store::images::{self as store, ImageRow};
use crate::store::{Conn, Store};

/// Where images are served: `{MEDIA_PATH}/{id}.{jpg|png}`, `?w=` for a narrower copy.
pub const MEDIA_PATH: &str = "/media/images";
const MAX_ALT_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductImage {
    pub id: String,
    pub alt: String,
    pub source: ImageSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// Uploaded: kept in the media store at its size and at each narrower served width.
    Stored {
        format: StoredFormat,
        width: u32,
        height: u32,
    },
    /// Linked by URL (given before uploads existed): shown as it is, at no known size.
    Linked { url: String },
}

impl ProductImage {
    /// Where the image is served, at its own size.
    pub fn url(&self) -> String {
        match &self.source {
            ImageSource::Stored { format, .. } => format!("{MEDIA_PATH}/{}.{}", self.id, format.extension()),
            ImageSource::Linked { url } => url.clone(),
        }
    }

    /// `(width, height)` of an uploaded image.
    pub fn size(&self) -> Option<(u32, u32)> {
        match self.source {
            ImageSource::Stored { width, height, .. } => Some((width, height)),
            ImageSource::Linked { .. } => None,
        }
    }

    /// Each copy a browser may choose from (a `srcset`), as `(width, url)`, narrowest
    /// first and ending with the image at its own size; empty for a linked image.
    pub fn copies(&self) -> Vec<(u32, String)> {
        let Some((width, _)) = self.size() else {
            return Vec::new();
        };
        let url = self.url();
        let mut copies: Vec<(u32, String)> = WIDTHS
            .into_iter()
            .filter(|served| *served < width)
            .map(|served| (served, format!("{url}?w={served}")))
            .collect();
        copies.push((width, url));
        copies
    }
}

/// An upload: the file's bytes and its alt text.
#[derive(Debug, Clone, Default)]
pub struct NewImage {
    pub bytes: Bytes,
    pub alt: Option<String>,
    /// The address a catalog import downloaded it from (so that importing the file again
    /// does not add it twice).
    pub imported_from: Option<String>,
}

/// What a PATCH may change: the alt text, and the place among the product's images
/// (0 first; past the end: last).
#[derive(Debug, Clone, Default)]
pub struct ImagePatch {
    pub alt: Option<String>,
    pub position: Option<i64>,
}

/// Adds an image to the end of a product's images.
pub async fn add_image(
    db: &Store,
    media: &MediaStore,
    caller: &Principal,
    product_id: &str,
    upload: NewImage,
) -> DomainResult<ProductImage> {
    caller.require(Permission::Catalog)?;
    let alt = check_alt(upload.alt.as_deref().unwrap_or_default())?;
    // An unknown product is told before the work of decoding.
    require_product(&mut db.read().await?, product_id).await?;
    let processed = process(upload.bytes).await?;
    let (width, height) = (processed.width, processed.height);
    let id = ids::new_id("img");
    let format = store_copies(media, &id, processed).await?;
    let row = ImageRow {
        id,
        product_id: product_id.to_owned(),
        position: 0,
        alt,
        format: Some(format.as_str().to_owned()),
        width: Some(i64::from(width)),
        height: Some(i64::from(height)),
        source_url: None,
    };
    image_from_row(insert_last(db, media, row, upload.imported_from.as_deref(), format).await?)
}

/// Images decoded at once: each may hold a few hundred megabytes while it is worked on, so
/// uploads beyond these wait their turn instead of exhausting memory.
static PROCESSING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(2));

async fn process(bytes: Bytes) -> DomainResult<ProcessedImage> {
    let _turn = PROCESSING
        .acquire()
        .await
        .map_err(|error| DomainError::Internal(format!("image processing closed: {error}")))?;
    tokio::task::spawn_blocking(move || processing::process(&bytes))
        .await
        .map_err(|error| DomainError::Internal(format!("image processing stopped: {error}")))?
        .map_err(refusal)
}

/// Inserts the image's row after its product's others. A failure before the commit removes
/// its files; one at the commit keeps them, as the commit may have happened (an
/// unreferenced file is the accepted leftover, a row without its file is not).
async fn insert_last(
    db: &Store,
    media: &MediaStore,
    mut row: ImageRow,
    imported_from: Option<&str>,
    format: StoredFormat,
) -> DomainResult<ImageRow> {
    let prepared = async {
        let mut tx = db.write().await?;
        let now = Timestamp::now().0;
        // Touching the product first takes its row lock (PostgreSQL), so that concurrent
        // changes to its images take turns.
        touch(&mut tx, &row.product_id, now).await?;
        row.position = store::next_image_position(&mut tx, &row.product_id).await?;
        store::insert_image(&mut tx, &row, imported_from, now).await?;
        catalog::record_product_event(&mut tx, EventKind::ProductUpdated, &row.product_id).await?;
        Ok::<_, DomainError>(tx)
    }
    .await;
    match prepared {
        Ok(tx) => {
            tx.commit().await?;
            Ok(row)
        }
        Err(error) => {
            remove_copies(media, &row.id, format).await;
            Err(error)
        }
    }
}

/// Changes an image's alt text or moves it among its product's images.
pub async fn update_image(
    db: &Store,
    caller: &Principal,
    product_id: &str,
    image_id: &str,
    patch: ImagePatch,
) -> DomainResult<ProductImage> {
    caller.require(Permission::Catalog)?;
    let alt = patch.alt.as_deref().map(check_alt).transpose()?;
    if patch.position.is_some_and(|position| position < 0) {
        return Err(DomainError::invalid("position", "must be 0 (first) or more"));
    }
    let mut tx = db.write().await?;
    let (mut images, index, mut image) = take_image(&mut tx, product_id, image_id).await?;
    if let Some(alt) = alt {
        image.alt = alt;
    }
    let place = patch.position.map_or(index, |position| {
        usize::try_from(position).unwrap_or(usize::MAX).min(images.len())
    });
    images.insert(place, image);
    renumber(&mut tx, &mut images).await?;
    catalog::record_product_event(&mut tx, EventKind::ProductUpdated, product_id).await?;
    tx.commit().await?;
    image_from_row(images.swap_remove(place))
}

/// Removes an image from its product, and its files from the media store.
pub async fn delete_image(
    db: &Store,
    media: &MediaStore,
    caller: &Principal,
    product_id: &str,
    image_id: &str,
) -> DomainResult<()> {
    caller.require(Permission::Catalog)?;
    let mut tx = db.write().await?;
    let (mut images, _, removed) = take_image(&mut tx, product_id, image_id).await?;
    store::delete_image(&mut tx, &removed.id).await?;
    renumber(&mut tx, &mut images).await?;
    catalog::record_product_event(&mut tx, EventKind::ProductUpdated, product_id).await?;
    tx.commit().await?;
    if let Some(format) = removed.format.as_deref().and_then(StoredFormat::parse) {
        remove_copies(media, &removed.id, format).await;
    }
    Ok(())
}

/// The first image of each variant's product (the picture of a cart's or order's line),
/// by variant id; a variant whose product has none is missing.
pub async fn pictures_of_variants(db: &Store, variant_ids: &[String]) -> DomainResult<HashMap<String, ProductImage>> {
    let rows = store::list_images_of_variants(&mut db.read().await?, variant_ids).await?;
    let mut pictures = HashMap::new();
    for row in rows {
        if let std::collections::hash_map::Entry::Vacant(entry) = pictures.entry(row.variant_id) {
            entry.insert(image_from_row(row.image)?);
        }
    }
    Ok(pictures)
}

/// What a product's images are: their ids, and the addresses imports downloaded them from.
#[derive(Debug, Clone, Default)]
pub struct KnownImages {
    pub ids: Vec<String>,
    pub imported_from: Vec<String>,
}

pub async fn known_images(db: &Store, product_id: &str) -> DomainResult<KnownImages> {
    let mut known = KnownImages::default();
    for (id, imported_from) in store::image_sources(&mut db.read().await?, product_id).await? {
        known.ids.push(id);
        known.imported_from.extend(imported_from);
    }
    Ok(known)
}

/// An image file as served: `file` is `{id}.{jpg|png}`, `width` one of the served widths.
/// A width at or above the image's own gives the image itself.
pub async fn image_file(media: &MediaStore, file: &str, width: Option<u32>) -> DomainResult<(MediaFile, StoredFormat)> {
    if let Some(width) = width
        && !WIDTHS.contains(&width)
    {
        return Err(DomainError::invalid("w", "must be one of 160, 320, 640 and 1280"));
    }
    let (id, format) = file
        .rsplit_once('.')
        .and_then(|(id, extension)| Some((id, StoredFormat::from_extension(extension)?)))
        .filter(|(id, _)| is_image_id(id))
        .ok_or(DomainError::NotFound("image"))?;
    if let Some(width) = width
        && let Some(copy) = media.read(&key(id, format, Some(width))).await.map_err(storage)?
    {
        return Ok((copy, format));
    }
    // No copy at that width: the image is no wider than it.
    let image = media.read(&key(id, format, None)).await.map_err(storage)?;
    image.map(|file| (file, format)).ok_or(DomainError::NotFound("image"))
}

fn is_image_id(id: &str) -> bool {
    id.strip_prefix("img_")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The media key of an image, or of its copy `width` pixels wide.
fn key(id: &str, format: StoredFormat, width: Option<u32>) -> String {
    let extension = format.extension();
    match width {
        None => format!("images/{id}.{extension}"),
        Some(width) => format!("images/{id}-{width}w.{extension}"),
    }
}

async fn store_copies(media: &MediaStore, id: &str, processed: ProcessedImage) -> DomainResult<StoredFormat> {
    let format = processed.format;
    let mut files = vec![(key(id, format, None), processed.full)];
    files.extend(
        processed
            .sized
            .into_iter()
            .map(|(width, bytes)| (key(id, format, Some(width)), bytes)),
    );
    for (key, bytes) in files {
        if let Err(error) = media.put(&key, Bytes::from(bytes)).await {
            remove_copies(media, id, format).await;
            return Err(storage(error));
        }
    }
    Ok(format)
}

/// Removes an image's files; one that cannot be removed is only logged (it is unreferenced).
async fn remove_copies(media: &MediaStore, id: &str, format: StoredFormat) {
    let widths = std::iter::once(None).chain(WIDTHS.into_iter().map(Some));
    for width in widths {
        if let Err(error) = media.delete(&key(id, format, width)).await {
            tracing::warn!(%error, image = id, "could not remove an image file; it stays unreferenced");
        }
    }
}

/// Marks the product changed (clients sync by `updated_at`); `NotFound` when there is none.
async fn touch(tx: &mut Conn, product_id: &str, now: i64) -> DomainResult<()> {
    if catalog_store::touch_product(tx, product_id, now).await? == 0 {
        return Err(DomainError::NotFound("product"));
    }
    Ok(())
}

async fn require_product(conn: &mut Conn, product_id: &str) -> DomainResult<()> {
    match catalog_store::find_product(conn, product_id, None).await? {
        Some(product) if product.id == product_id => Ok(()),
        _ => Err(DomainError::NotFound("product")),
    }
}

/// Marks the product changed and takes image `image_id` out of its images: gives the
/// others in order, the place it had, and the image; `NotFound` when it is not the
/// product's.
async fn take_image(tx: &mut Conn, product_id: &str, image_id: &str) -> DomainResult<(Vec<ImageRow>, usize, ImageRow)> {
    touch(tx, product_id, Timestamp::now().0).await?;
    let mut images = store::list_product_images(tx, product_id).await?;
    let index = images
        .iter()
        .position(|image| image.id == image_id)
        .ok_or(DomainError::NotFound("image"))?;
    let image = images.remove(index);
    Ok((images, index, image))
}

/// Gives `images` the positions 0, 1, 2... in their order.
async fn renumber(tx: &mut Conn, images: &mut [ImageRow]) -> DomainResult<()> {
    for (position, image) in images.iter_mut().enumerate() {
        image.position = position as i64;
        store::update_image(tx, image).await?;
    }
    Ok(())
}

fn check_alt(sent: &str) -> DomainResult<String> {
    let alt = sent.trim();
    if sent.chars().count() > MAX_ALT_CHARS {
        return Err(DomainError::invalid(
            "alt",
            format!("must be at most {MAX_ALT_CHARS} characters"),
        ));
    }
    if alt.chars().any(char::is_control) {
        return Err(DomainError::invalid("alt", "must not hold control characters"));
    }
    Ok(alt.to_owned())
}

fn refusal(error: ImageError) -> DomainError {
    match error {
        ImageError::NotAnImage => DomainError::UnsupportedMediaType(error.to_string()),
        ImageError::TooManyPixels { .. } | ImageError::Undecodable(_) => {
            DomainError::invalid("file", error.to_string())
        }
        ImageError::Encoding(_) => DomainError::Internal(error.to_string()),
    }
}

fn storage(error: MediaError) -> DomainError {
    DomainError::Internal(error.to_string())
}

/// A product's images from their rows (in their order).
pub(crate) fn image_from_row(row: ImageRow) -> DomainResult<ProductImage> {
    let source = match (row.format.as_deref(), row.width, row.height, row.source_url) {
        (Some(format), Some(width), Some(height), None) => ImageSource::Stored {
            format: StoredFormat::parse(format).ok_or_else(|| super::catalog::corrupt("image format", format))?,
            width: u32::try_from(width).map_err(|_| super::catalog::corrupt("image width", &width.to_string()))?,
            height: u32::try_from(height).map_err(|_| super::catalog::corrupt("image height", &height.to_string()))?,
        },
        (None, None, None, Some(url)) => ImageSource::Linked { url },
        _ => return Err(super::catalog::corrupt("image", &row.id)),
    };
    Ok(ProductImage {
        id: row.id,
        alt: row.alt,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(width: u32) -> ProductImage {
        ProductImage {
            id: "img_0123".to_owned(),
            alt: String::new(),
            source: ImageSource::Stored {
                format: StoredFormat::Jpeg,
                width,
                height: width,
            },
        }
    }

    #[test]
    fn copies_are_the_narrower_widths_then_the_image() {
        let copies: Vec<u32> = stored(700).copies().into_iter().map(|(width, _)| width).collect();
        assert_eq!(copies, [160, 320, 640, 700]);
        assert_eq!(stored(700).copies()[0].1, "/media/images/img_0123.jpg?w=160");
        assert_eq!(stored(100).copies().len(), 1);
    }

    #[test]
    fn keys_name_the_copy() {
        assert_eq!(key("img_1", StoredFormat::Png, None), "images/img_1.png");
        assert_eq!(key("img_1", StoredFormat::Jpeg, Some(320)), "images/img_1-320w.jpg");
    }
}
