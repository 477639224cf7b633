//! Product images: which a product shows, in order, with their alt text and size (the
//! bytes are in the media store).

use super::{Conn, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct ImageRow {
    pub id: String,
    pub product_id: String,
    pub position: i64,
    pub alt: String,
    /// `jpeg` or `png` for an uploaded image; `None` for one linked by URL.
    pub format: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// The address of an image linked by URL (before uploads existed).
    pub source_url: Option<String>,
}

const COLUMNS: &str = "id, product_id, position, alt, format, width, height, source_url";

pub async fn list_product_images(conn: &mut Conn, product_id: &str) -> StoreResult<Vec<ImageRow>> {
    let sql = format!("SELECT {COLUMNS} FROM product_images WHERE product_id = $1 ORDER BY position, id");
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(product_id)
            .fetch_all(c)
            .await
    })?)
}

/// An image of the product of a variant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VariantImageRow {
    pub variant_id: String,
    #[sqlx(flatten)]
    pub image: ImageRow,
}

/// The images of the products of `variant_ids`, each product's in order.
pub async fn list_images_of_variants(conn: &mut Conn, variant_ids: &[String]) -> StoreResult<Vec<VariantImageRow>> {
    if variant_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = super::placeholders(1, variant_ids.len());
    let sql = format!(
        "SELECT v.id AS variant_id, i.id, i.product_id, i.position, i.alt, i.format, i.width, i.height, i.source_url
         FROM variants v JOIN product_images i ON i.product_id = v.product_id
         WHERE v.id IN ({placeholders}) ORDER BY v.id, i.position, i.id"
    );
    Ok(on_conn!(conn, |c| {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
        for id in variant_ids {
            query = query.bind(id);
        }
        query.fetch_all(c).await
    })?)
}

/// Inserts an image; `imported_from` is the address a catalog import downloaded it from.
pub async fn insert_image(
    conn: &mut Conn,
    row: &ImageRow,
    imported_from: Option<&str>,
    created_at: i64,
) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO product_images (id, product_id, position, alt, format, width, height, source_url, created_at,
                                         imported_from)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&row.id)
        .bind(&row.product_id)
        .bind(row.position)
        .bind(&row.alt)
        .bind(&row.format)
        .bind(row.width)
        .bind(row.height)
        .bind(&row.source_url)
        .bind(created_at)
        .bind(imported_from)
    )?;
    Ok(())
}

/// A product's images: each one's id, and the address an import downloaded it from.
pub async fn image_sources(conn: &mut Conn, product_id: &str) -> StoreResult<Vec<(String, Option<String>)>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as("SELECT id, imported_from FROM product_images WHERE product_id = $1")
            .bind(product_id)
            .fetch_all(c)
            .await
    })?)
}

/// The place after a product's last image.
pub async fn next_image_position(conn: &mut Conn, product_id: &str) -> StoreResult<i64> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(position) + 1, 0) AS BIGINT) FROM product_images WHERE product_id = $1",
        )
        .bind(product_id)
        .fetch_one(c)
        .await
    })?)
}

/// Sets an image's alt text and position.
pub async fn update_image(conn: &mut Conn, row: &ImageRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("UPDATE product_images SET alt = $2, position = $3 WHERE id = $1")
            .bind(&row.id)
            .bind(&row.alt)
            .bind(row.position)
    )?;
    Ok(())
}

pub async fn delete_image(conn: &mut Conn, id: &str) -> StoreResult<()> {
    exec!(conn, sqlx::query("DELETE FROM product_images WHERE id = $1").bind(id))?;
    Ok(())
}
