//! Pages and posts, their tags and revisions, and the menus.

use super::{Conn, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub id: String,
    pub kind: String,
    pub slug: String,
    pub title: String,
    pub body_markdown: String,
    pub body_html: String,
    pub excerpt: String,
    /// JSON array.
    pub tags: String,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub status: String,
    pub publish_at: Option<i64>,
    pub published_at: Option<i64>,
    pub author: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub id: String,
    pub entry_id: String,
    pub title: String,
    pub body_markdown: String,
    pub created_at: i64,
}

/// The columns of an [`EntryRow`] from `content_entries e`.
macro_rules! entry_select {
    () => {
        "SELECT e.id, e.kind, e.slug, e.title, e.body_markdown, e.body_html, e.excerpt, e.tags, e.seo_title,
                e.seo_description, e.status, e.publish_at, e.published_at, e.author, e.created_at, e.updated_at
         FROM content_entries e "
    };
}

pub async fn insert_entry(conn: &mut Conn, row: &EntryRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO content_entries (id, kind, slug, title, body_markdown, body_html, excerpt, tags, seo_title,
                                          seo_description, status, publish_at, published_at, author, created_at,
                                          updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&row.id)
        .bind(&row.kind)
        .bind(&row.slug)
        .bind(&row.title)
        .bind(&row.body_markdown)
        .bind(&row.body_html)
        .bind(&row.excerpt)
        .bind(&row.tags)
        .bind(&row.seo_title)
        .bind(&row.seo_description)
        .bind(&row.status)
        .bind(row.publish_at)
        .bind(row.published_at)
        .bind(&row.author)
        .bind(row.created_at)
        .bind(row.updated_at)
    )?;
    Ok(())
}

/// Writes every field an edit may change.
pub async fn update_entry(conn: &mut Conn, row: &EntryRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "UPDATE content_entries SET slug = $2, title = $3, body_markdown = $4, body_html = $5, excerpt = $6,
                 tags = $7, seo_title = $8, seo_description = $9, status = $10, publish_at = $11,
                 published_at = $12, updated_at = $13
             WHERE id = $1",
        )
        .bind(&row.id)
        .bind(&row.slug)
        .bind(&row.title)
        .bind(&row.body_markdown)
        .bind(&row.body_html)
        .bind(&row.excerpt)
        .bind(&row.tags)
        .bind(&row.seo_title)
        .bind(&row.seo_description)
        .bind(&row.status)
        .bind(row.publish_at)
        .bind(row.published_at)
        .bind(row.updated_at)
    )?;
    Ok(())
}

pub async fn find_entry(conn: &mut Conn, kind: &str, id: &str) -> StoreResult<Option<EntryRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(entry_select!(), "WHERE e.kind = $1 AND e.id = $2"))
            .bind(kind)
            .bind(id)
            .fetch_optional(c)
            .await
    })?)
}

pub async fn find_published(conn: &mut Conn, kind: &str, slug: &str) -> StoreResult<Option<EntryRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            entry_select!(),
            "WHERE e.kind = $1 AND e.slug = $2 AND e.status = 'published'"
        ))
        .bind(kind)
        .bind(slug)
        .fetch_optional(c)
        .await
    })?)
}

/// Whether another entry of `kind` than `except_id` has `slug`.
pub async fn slug_taken(conn: &mut Conn, kind: &str, slug: &str, except_id: &str) -> StoreResult<bool> {
    let found: Option<i64> = on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM content_entries WHERE kind = $1 AND slug = $2 AND id <> $3")
            .bind(kind)
            .bind(slug)
            .bind(except_id)
            .fetch_optional(c)
            .await
    })?;
    Ok(found.is_some())
}

/// Entries of `kind` of any status, newest first.
pub async fn list_entries(
    conn: &mut Conn,
    kind: &str,
    before_id: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<EntryRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            entry_select!(),
            "WHERE e.kind = $1 AND ($2 IS NULL OR e.id < $2) ORDER BY e.id DESC LIMIT $3"
        ))
        .bind(kind)
        .bind(before_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

/// Published entries of `kind` (with `tag`, when given), last published first; the cursor
/// is the id of the last entry seen.
pub async fn list_published(
    conn: &mut Conn,
    kind: &str,
    tag: Option<&str>,
    after_id: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<EntryRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            entry_select!(),
            "WHERE e.kind = $1 AND e.status = 'published'
               AND ($2 IS NULL OR EXISTS (SELECT 1 FROM content_tags t WHERE t.entry_id = e.id AND t.tag = $2))
               AND ($3 IS NULL
                    OR e.published_at < (SELECT c.published_at FROM content_entries c WHERE c.id = $3)
                    OR (e.published_at = (SELECT c.published_at FROM content_entries c WHERE c.id = $3)
                        AND e.id < $3))
             ORDER BY e.published_at DESC, e.id DESC LIMIT $4"
        ))
        .bind(kind)
        .bind(tag)
        .bind(after_id)
        .bind(limit)
        .fetch_all(c)
        .await
    })?)
}

pub async fn replace_tags(conn: &mut Conn, entry_id: &str, tags: &[String]) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query("DELETE FROM content_tags WHERE entry_id = $1").bind(entry_id)
    )?;
    for tag in tags {
        exec!(
            conn,
            sqlx::query("INSERT INTO content_tags (entry_id, tag) VALUES ($1, $2)")
                .bind(entry_id)
                .bind(tag)
        )?;
    }
    Ok(())
}

/// Deletes an entry with its tags and revisions; false when it was missing.
pub async fn delete_entry(conn: &mut Conn, kind: &str, id: &str) -> StoreResult<bool> {
    exec!(
        conn,
        sqlx::query("DELETE FROM content_tags WHERE entry_id = $1").bind(id)
    )?;
    exec!(
        conn,
        sqlx::query("DELETE FROM content_revisions WHERE entry_id = $1").bind(id)
    )?;
    let deleted = exec!(
        conn,
        sqlx::query("DELETE FROM content_entries WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
    )?;
    Ok(deleted == 1)
}

pub async fn insert_revision(conn: &mut Conn, row: &RevisionRow) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO content_revisions (id, entry_id, title, body_markdown, created_at) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(&row.id)
        .bind(&row.entry_id)
        .bind(&row.title)
        .bind(&row.body_markdown)
        .bind(row.created_at)
    )?;
    Ok(())
}

/// An entry's revisions, newest first.
pub async fn list_revisions(conn: &mut Conn, entry_id: &str) -> StoreResult<Vec<RevisionRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, entry_id, title, body_markdown, created_at FROM content_revisions
             WHERE entry_id = $1 ORDER BY id DESC",
        )
        .bind(entry_id)
        .fetch_all(c)
        .await
    })?)
}

pub async fn find_revision(conn: &mut Conn, entry_id: &str, id: &str) -> StoreResult<Option<RevisionRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT id, entry_id, title, body_markdown, created_at FROM content_revisions
             WHERE entry_id = $1 AND id = $2",
        )
        .bind(entry_id)
        .bind(id)
        .fetch_optional(c)
        .await
    })?)
}

/// Publishes every scheduled entry whose time has come: one conditional UPDATE, so that
/// each is published once, by whichever process runs it first. Returns how many.
pub async fn publish_due(conn: &mut Conn, now: i64) -> StoreResult<u64> {
    Ok(exec!(
        conn,
        sqlx::query(
            "UPDATE content_entries SET status = 'published', published_at = publish_at, updated_at = $1
             WHERE status = 'scheduled' AND publish_at <= $1"
        )
        .bind(now)
    )?)
}

pub async fn find_menu(conn: &mut Conn, handle: &str) -> StoreResult<Option<String>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT items FROM menus WHERE handle = $1")
            .bind(handle)
            .fetch_optional(c)
            .await
    })?)
}

pub async fn put_menu(conn: &mut Conn, handle: &str, items: &str, now: i64) -> StoreResult<()> {
    exec!(
        conn,
        sqlx::query(
            "INSERT INTO menus (handle, items, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (handle) DO UPDATE SET items = excluded.items, updated_at = excluded.updated_at"
        )
        .bind(handle)
        .bind(items)
        .bind(now)
    )?;
    Ok(())
}

/// One address of the sitemap: what it is (`category`, `page`, `post`, `product`), its
/// slug, and when it last changed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SitemapRow {
    pub kind: String,
    pub slug: String,
    pub updated_at: i64,
}

/// Everything the storefront shows publicly, in one order (kind, then id), for the sitemap.
macro_rules! sitemap_rows {
    () => {
        "SELECT 'category' AS kind, slug, created_at AS updated_at, id FROM categories
         UNION ALL
         SELECT kind, slug, updated_at, id FROM content_entries WHERE status = 'published'
         UNION ALL
         SELECT 'product' AS kind, slug, updated_at, id FROM products WHERE status = 'published'"
    };
}

pub async fn count_sitemap(conn: &mut Conn) -> StoreResult<i64> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar(concat!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM (",
            sitemap_rows!(),
            ") everything"
        ))
        .fetch_one(c)
        .await
    })?)
}

/// `limit` sitemap rows from `offset` on.
pub async fn list_sitemap(conn: &mut Conn, offset: i64, limit: i64) -> StoreResult<Vec<SitemapRow>> {
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(concat!(
            "SELECT kind, slug, updated_at FROM (",
            sitemap_rows!(),
            ") everything ORDER BY kind, id LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await
    })?)
}
