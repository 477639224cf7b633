//! Pages and blog posts written by staff in Markdown, their revisions, and the storefront's
//! menus (contract: Content: pages and blog). Bodies are rendered and sanitised when saved
//! ([`super::markdown`]); a scheduled entry is published by the jobs ([`publish_due`]).

use serde::{Deserialize, Serialize};

use super::time::Timestamp;
use super::validate::{self, Checks, MAX_TEXT_CHARS};
use super::{DomainError, DomainResult, Page, PageRequest, Permission, Principal, ids, markdown};
use crate::store::content::{self as store, EntryRow, RevisionRow};
use crate::store::customers as staff_store;
use crate::store::{Conn, Store};

/// The longest body: 100,000 characters of Markdown, a long article several times over.
pub const MAX_BODY_CHARS: usize = 100_000;
const MAX_EXCERPT_CHARS: usize = 500;
const MAX_SEO_DESCRIPTION_CHARS: usize = 320;
const MAX_TAGS: usize = 20;
const MAX_TAG_CHARS: usize = 50;
const MAX_MENU_ITEMS: usize = 50;
const MAX_URL_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    Page,
    Post,
}

impl ContentKind {
    pub const ALL: [ContentKind; 2] = [ContentKind::Page, ContentKind::Post];

    pub fn as_str(self) -> &'static str {
        match self {
            ContentKind::Page => "page",
            ContentKind::Post => "post",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            ContentKind::Page => "page",
            ContentKind::Post => "post",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentStatus {
    Draft,
    /// Published at `publish_at` by the jobs.
    Scheduled,
    Published,
}

impl ContentStatus {
    pub const ALL: [ContentStatus; 3] = [ContentStatus::Draft, ContentStatus::Scheduled, ContentStatus::Published];

    pub fn as_str(self) -> &'static str {
        match self {
            ContentStatus::Draft => "draft",
            ContentStatus::Scheduled => "scheduled",
            ContentStatus::Published => "published",
        }
    }

    fn parse(value: &str) -> Option<ContentStatus> {
        match value {
            "draft" => Some(ContentStatus::Draft),
            "scheduled" => Some(ContentStatus::Scheduled),
            "published" => Some(ContentStatus::Published),
            _ => None,
        }
    }
}

/// A page or a post.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub kind: ContentKind,
    pub slug: String,
    pub title: String,
    pub body_markdown: String,
    pub body_html: String,
    pub excerpt: String,
    pub tags: Vec<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub status: ContentStatus,
    pub publish_at: Option<Timestamp>,
    pub published_at: Option<Timestamp>,
    /// Who wrote it: the staff member's name (or email) when it was created.
    pub author: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an entry said at one save.
#[derive(Debug, Clone)]
pub struct Revision {
    pub id: String,
    pub title: String,
    pub body_markdown: String,
    pub created_at: Timestamp,
}

/// A page or post as sent: `title` and `body_markdown` for a new one, any field for a
/// change. For the fields that may be cleared, `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct EntryInput {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub body_markdown: Option<String>,
    pub status: Option<String>,
    pub publish_at: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub excerpt: Option<String>,
    pub seo_title: Option<Option<String>>,
    pub seo_description: Option<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    pub label: String,
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct Menu {
    pub handle: String,
    pub items: Vec<MenuItem>,
}

pub async fn create_entry(db: &Store, caller: &Principal, kind: ContentKind, input: EntryInput) -> DomainResult<Entry> {
    caller.require(Permission::Catalog)?;
    let mut checks = Checks::default();
    if input.title.is_none() {
        checks.fail("title", "is required");
    }
    if input.body_markdown.is_none() {
        checks.fail("body_markdown", "is required");
    }
    checks.finish()?;
    let now = Timestamp::now();
    let mut tx = db.write().await?;
    let author = author_of(&mut tx, caller).await?;
    let blank = Entry {
        id: ids::new_id(kind.as_str()),
        kind,
        slug: String::new(),
        title: String::new(),
        body_markdown: String::new(),
        body_html: String::new(),
        excerpt: String::new(),
        tags: Vec::new(),
        seo_title: None,
        seo_description: None,
        status: ContentStatus::Draft,
        publish_at: None,
        published_at: None,
        author,
        created_at: now,
        updated_at: now,
    };
    let entry = apply(&mut tx, blank, input, now).await?;
    store::insert_entry(&mut tx, &row_of(&entry)?)
        .await
        .map_err(slug_taken)?;
    store::replace_tags(&mut tx, &entry.id, &entry.tags).await?;
    save_revision(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(entry)
}

pub async fn update_entry(
    db: &Store,
    caller: &Principal,
    kind: ContentKind,
    id: &str,
    input: EntryInput,
) -> DomainResult<Entry> {
    caller.require(Permission::Catalog)?;
    let now = Timestamp::now();
    let mut tx = db.write().await?;
    let current = load(&mut tx, kind, id).await?;
    let entry = apply(&mut tx, current, input, now).await?;
    store::update_entry(&mut tx, &row_of(&entry)?)
        .await
        .map_err(slug_taken)?;
    store::replace_tags(&mut tx, &entry.id, &entry.tags).await?;
    save_revision(&mut tx, &entry, now).await?;
    tx.commit().await?;
    Ok(entry)
}

pub async fn get_entry(db: &Store, caller: &Principal, kind: ContentKind, id: &str) -> DomainResult<Entry> {
    caller.require(Permission::Catalog)?;
    let mut conn = db.read().await?;
    load(&mut conn, kind, id).await
}

/// Entries of `kind` of any status, newest first, for staff.
pub async fn list_entries(
    db: &Store,
    caller: &Principal,
    kind: ContentKind,
    page: &PageRequest,
) -> DomainResult<Page<Entry>> {
    caller.require(Permission::Catalog)?;
    let mut conn = db.read().await?;
    let rows = store::list_entries(&mut conn, kind.as_str(), page.before(), page.fetch_limit()).await?;
    let entries = rows.into_iter().map(from_row).collect::<DomainResult<_>>()?;
    Ok(page.into_page(entries, |entry: &Entry| &entry.id))
}

pub async fn delete_entry(db: &Store, caller: &Principal, kind: ContentKind, id: &str) -> DomainResult<()> {
    caller.require(Permission::Catalog)?;
    let mut tx = db.write().await?;
    if !store::delete_entry(&mut tx, kind.as_str(), id).await? {
        return Err(DomainError::NotFound(kind.noun()));
    }
    tx.commit().await?;
    Ok(())
}

/// Every saved revision of an entry, newest first.
pub async fn list_revisions(
    db: &Store,
    caller: &Principal,
    kind: ContentKind,
    id: &str,
) -> DomainResult<Vec<Revision>> {
    caller.require(Permission::Catalog)?;
    let mut conn = db.read().await?;
    load(&mut conn, kind, id).await?;
    Ok(store::list_revisions(&mut conn, id)
        .await?
        .into_iter()
        .map(revision_from_row)
        .collect())
}

/// Makes a revision's title and body the entry's again; that is a save, so it adds a
/// revision of its own.
pub async fn restore_revision(
    db: &Store,
    caller: &Principal,
    kind: ContentKind,
    id: &str,
    revision_id: &str,
) -> DomainResult<Entry> {
    caller.require(Permission::Catalog)?;
    let revision = {
        let mut conn = db.read().await?;
        store::find_revision(&mut conn, id, revision_id)
            .await?
            .ok_or(DomainError::NotFound("revision"))?
    };
    let input = EntryInput {
        title: Some(revision.title),
        body_markdown: Some(revision.body_markdown),
        ..EntryInput::default()
    };
    update_entry(db, caller, kind, id, input).await
}

/// `markdown` as a saved entry would show it, for staff writing one.
pub fn preview(caller: &Principal, markdown: &str) -> DomainResult<String> {
    caller.require(Permission::Catalog)?;
    if markdown.chars().count() > MAX_BODY_CHARS {
        return Err(DomainError::invalid(
            "body_markdown",
            format!("must be at most {MAX_BODY_CHARS} characters"),
        ));
    }
    Ok(markdown::render(markdown))
}

/// A published page or post by slug; drafts and scheduled ones are missing.
pub async fn published(db: &Store, kind: ContentKind, slug: &str) -> DomainResult<Entry> {
    let mut conn = db.read().await?;
    let row = store::find_published(&mut conn, kind.as_str(), slug)
        .await?
        .ok_or(DomainError::NotFound(kind.noun()))?;
    from_row(row)
}

/// Published posts (with `tag`, when given), last published first.
pub async fn published_posts(db: &Store, tag: Option<&str>, page: &PageRequest) -> DomainResult<Page<Entry>> {
    let mut conn = db.read().await?;
    let tag = tag.map(str::to_lowercase);
    let rows = store::list_published(
        &mut conn,
        ContentKind::Post.as_str(),
        tag.as_deref(),
        page.before(),
        page.fetch_limit(),
    )
    .await?;
    let posts = rows.into_iter().map(from_row).collect::<DomainResult<_>>()?;
    Ok(page.into_page(posts, |post: &Entry| &post.id))
}

/// The most addresses one sitemap file may list (sitemaps.org); past it, `/sitemap.xml`
/// becomes an index of files of this many.
pub const SITEMAP_FILE_URLS: i64 = 50_000;

/// One public address: its path on the storefront and when it last changed (unknown for
/// the storefront's own pages).
#[derive(Debug, Clone)]
pub struct SitemapUrl {
    pub path: String,
    pub updated_at: Option<Timestamp>,
}

/// The storefront's own addresses, at the head of the first file.
const STOREFRONT_PATHS: [&str; 2] = ["/", "/blog"];

/// How many addresses the sitemap lists.
pub async fn sitemap_size(db: &Store) -> DomainResult<i64> {
    let mut conn = db.read().await?;
    Ok(store::count_sitemap(&mut conn).await? + STOREFRONT_PATHS.len() as i64)
}

/// Sitemap file `number` (from 0), at most [`SITEMAP_FILE_URLS`] addresses: the storefront's
/// own, then categories, pages, posts and products, in that order.
pub async fn sitemap_file(db: &Store, number: i64) -> DomainResult<Vec<SitemapUrl>> {
    let fixed = STOREFRONT_PATHS.len() as i64;
    let (mut urls, offset, limit) = if number == 0 {
        let own = STOREFRONT_PATHS
            .iter()
            .map(|path| SitemapUrl {
                path: (*path).to_owned(),
                updated_at: None,
            })
            .collect();
        (own, 0, SITEMAP_FILE_URLS - fixed)
    } else {
        (
            Vec::new(),
            number.saturating_mul(SITEMAP_FILE_URLS) - fixed,
            SITEMAP_FILE_URLS,
        )
    };
    let mut conn = db.read().await?;
    let rows = store::list_sitemap(&mut conn, offset, limit).await?;
    urls.extend(rows.into_iter().map(|row| SitemapUrl {
        path: match row.kind.as_str() {
            "category" => format!("/categories/{}", row.slug),
            "page" => format!("/pages/{}", row.slug),
            "post" => format!("/blog/{}", row.slug),
            _ => format!("/products/{}", row.slug),
        },
        updated_at: Some(Timestamp(row.updated_at)),
    }));
    Ok(urls)
}

/// Publishes the scheduled entries whose time has come (the jobs run it on every process;
/// each entry is published once). Returns how many.
pub async fn publish_due(db: &Store) -> DomainResult<u64> {
    let mut tx = db.write().await?;
    let published = store::publish_due(&mut tx, Timestamp::now().0).await?;
    tx.commit().await?;
    Ok(published)
}

pub async fn get_menu(db: &Store, handle: &str) -> DomainResult<Menu> {
    let mut conn = db.read().await?;
    let items = store::find_menu(&mut conn, handle)
        .await?
        .ok_or(DomainError::NotFound("menu"))?;
    Ok(Menu {
        handle: handle.to_owned(),
        items: serde_json::from_str(&items).map_err(|_| super::catalog::corrupt("menu", &items))?,
    })
}

/// Sets a menu's items: labels, and URLs that are relative paths or http(s) addresses.
pub async fn put_menu(db: &Store, caller: &Principal, handle: &str, items: Vec<MenuItem>) -> DomainResult<Menu> {
    caller.require(Permission::Catalog)?;
    let mut checks = Checks::default();
    if !validate::is_slug(handle) || handle.len() > 50 {
        checks.fail(
            "handle",
            "must be lower-case letters, digits and hyphens, such as footer",
        );
    }
    if items.len() > MAX_MENU_ITEMS {
        checks.fail("items", format!("at most {MAX_MENU_ITEMS}"));
    }
    let items: Vec<MenuItem> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let label = checks.text(&format!("items[{index}].label"), &item.label, MAX_TEXT_CHARS);
            let url = item.url.trim().to_owned();
            if !is_menu_url(&item.url) {
                checks.fail(
                    format!("items[{index}].url"),
                    "must be a path on this site (/pages/about) or an http(s) URL",
                );
            }
            MenuItem { label, url }
        })
        .collect();
    checks.finish()?;
    let json = serde_json::to_string(&items).map_err(|error| DomainError::Internal(error.to_string()))?;
    let mut tx = db.write().await?;
    store::put_menu(&mut tx, handle, &json, Timestamp::now().0).await?;
    tx.commit().await?;
    Ok(Menu {
        handle: handle.to_owned(),
        items,
    })
}

/// [`is_menu_url`] as a pattern for the OpenAPI document (its 2,000 characters are
/// `maxLength`; NUL, which the HTTP layer refuses in any text, is left out with the white
/// space).
pub fn menu_url_pattern() -> String {
    let space = format!(r"{}\u0000", validate::patterns::WHITE_SPACE);
    validate::patterns::trimmed(&format!(
        r"(?:/(?:[^/\\{space}][^{space}]*)?|[Hh][Tt][Tt][Pp][Ss]://[^{space}]+|[Hh][Tt][Tt][Pp]://[^{space}]{{2,}})"
    ))
}

/// A path on this site (not `//host`, which leaves it) or an http(s) URL.
fn is_menu_url(sent: &str) -> bool {
    let url = sent.trim();
    let plain = !url.is_empty() && sent.chars().count() <= MAX_URL_CHARS && !url.chars().any(char::is_whitespace);
    let local = url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\");
    let lower = url.to_ascii_lowercase();
    let web = (lower.starts_with("https://") || lower.starts_with("http://")) && url.chars().count() > "https://".len();
    plain && (local || web)
}

/// `entry` with `input` applied and checked as a whole, its body rendered and a slug made
/// when it has none.
async fn apply(tx: &mut Conn, mut entry: Entry, input: EntryInput, now: Timestamp) -> DomainResult<Entry> {
    let mut checks = Checks::default();
    if let Some(title) = &input.title {
        entry.title = checks.text("title", title, MAX_TEXT_CHARS);
    }
    if let Some(body) = input.body_markdown {
        if body.chars().count() > MAX_BODY_CHARS {
            checks.fail("body_markdown", format!("must be at most {MAX_BODY_CHARS} characters"));
        } else if has_control_characters(&body) {
            checks.fail("body_markdown", "must not contain control characters");
        }
        entry.body_markdown = body;
    }
    if let Some(slug) = &input.slug {
        if !validate::is_slug(slug) {
            checks.fail("slug", "may hold only lower-case letters, digits and single hyphens");
        } else if store::slug_taken(tx, entry.kind.as_str(), slug, &entry.id).await? {
            return Err(DomainError::conflict(format!(
                "another {} has this slug",
                entry.kind.noun()
            )));
        }
        entry.slug = slug.clone();
    }
    if let Some(excerpt) = &input.excerpt {
        entry.excerpt = optional_text(&mut checks, "excerpt", excerpt, MAX_EXCERPT_CHARS);
    }
    if let Some(seo_title) = &input.seo_title {
        entry.seo_title = seo_title
            .as_deref()
            .map(|text| optional_text(&mut checks, "seo_title", text, MAX_TEXT_CHARS))
            .filter(|text| !text.is_empty());
    }
    if let Some(description) = &input.seo_description {
        entry.seo_description = description
            .as_deref()
            .map(|text| optional_text(&mut checks, "seo_description", text, MAX_SEO_DESCRIPTION_CHARS))
            .filter(|text| !text.is_empty());
    }
    if let Some(tags) = &input.tags {
        entry.tags = tags_of(&mut checks, tags);
    }
    if let Some(publish_at) = &input.publish_at {
        entry.publish_at = match publish_at.as_deref().map(Timestamp::parse_rfc3339) {
            None => None,
            Some(Some(at)) => Some(at),
            Some(None) => {
                checks.fail("publish_at", "must be an RFC 3339 time such as 2026-12-24T08:00:00Z");
                entry.publish_at
            }
        };
    }
    if let Some(status) = &input.status {
        match ContentStatus::parse(status) {
            Some(status) => entry.status = status,
            None => checks.fail("status", "must be draft, scheduled or published"),
        }
    }
    match entry.status {
        ContentStatus::Scheduled if entry.publish_at.is_none() => {
            checks.fail("publish_at", "is required to schedule: when to publish");
        }
        ContentStatus::Published if entry.published_at.is_none() => entry.published_at = Some(now),
        ContentStatus::Draft | ContentStatus::Scheduled => entry.published_at = None,
        ContentStatus::Published => {}
    }
    checks.finish()?;
    if entry.slug.is_empty() {
        entry.slug = free_slug(tx, entry.kind, &validate::slugify(&entry.title), &entry.id).await?;
    }
    entry.body_html = markdown::render(&entry.body_markdown);
    entry.updated_at = now;
    Ok(entry)
}

/// At most `max` characters as sent, trimmed; empty is fine.
fn optional_text(checks: &mut Checks, field: &str, value: &str, max: usize) -> String {
    let trimmed = value.trim();
    if value.chars().count() > max {
        checks.fail(field, format!("must be at most {max} characters"));
    } else if has_control_characters(trimmed) {
        checks.fail(field, "must not contain control characters");
    }
    trimmed.to_owned()
}

/// Control characters other than tab and line breaks: XML, where the feed carries the
/// text, forbids them even escaped.
fn has_control_characters(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Tags lower-cased, trimmed, without repeats.
fn tags_of(checks: &mut Checks, tags: &[String]) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        checks.fail("tags", format!("at most {MAX_TAGS}"));
    }
    let mut kept: Vec<String> = Vec::with_capacity(tags.len());
    for (index, tag) in tags.iter().enumerate() {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > MAX_TAG_CHARS {
            checks.fail(
                format!("tags[{index}]"),
                format!("must be 1 to {MAX_TAG_CHARS} characters"),
            );
        } else if !kept.contains(&tag) {
            kept.push(tag);
        }
    }
    kept
}

/// The first of [`validate::slug_candidates`] no other entry of `kind` has.
async fn free_slug(tx: &mut Conn, kind: ContentKind, base: &str, own_id: &str) -> DomainResult<String> {
    for candidate in validate::slug_candidates(base) {
        if !store::slug_taken(tx, kind.as_str(), &candidate, own_id).await? {
            return Ok(candidate);
        }
    }
    unreachable!("the candidates never end")
}

async fn author_of(tx: &mut Conn, caller: &Principal) -> DomainResult<Option<String>> {
    Ok(match caller {
        Principal::Staff { id, .. } => staff_store::find_staff(tx, id)
            .await?
            .map(|staff| staff.name.filter(|name| !name.trim().is_empty()).unwrap_or(staff.email)),
        _ => None,
    })
}

async fn save_revision(tx: &mut Conn, entry: &Entry, now: Timestamp) -> DomainResult<()> {
    let row = RevisionRow {
        id: ids::new_id("rev"),
        entry_id: entry.id.clone(),
        title: entry.title.clone(),
        body_markdown: entry.body_markdown.clone(),
        created_at: now.0,
    };
    store::insert_revision(tx, &row).await?;
    Ok(())
}

async fn load(conn: &mut Conn, kind: ContentKind, id: &str) -> DomainResult<Entry> {
    let row = store::find_entry(conn, kind.as_str(), id)
        .await?
        .ok_or(DomainError::NotFound(kind.noun()))?;
    from_row(row)
}

fn slug_taken(error: crate::store::StoreError) -> DomainError {
    if error.is_unique_violation("content_entries.kind_slug") {
        DomainError::conflict("another entry has this slug")
    } else {
        error.into()
    }
}

fn from_row(row: EntryRow) -> DomainResult<Entry> {
    let corrupt = |what: &str, value: &str| super::catalog::corrupt(what, value);
    Ok(Entry {
        kind: match row.kind.as_str() {
            "page" => ContentKind::Page,
            "post" => ContentKind::Post,
            other => return Err(corrupt("content kind", other)),
        },
        status: ContentStatus::parse(&row.status).ok_or_else(|| corrupt("content status", &row.status))?,
        tags: serde_json::from_str(&row.tags).map_err(|_| corrupt("content tags", &row.tags))?,
        id: row.id,
        slug: row.slug,
        title: row.title,
        body_markdown: row.body_markdown,
        body_html: row.body_html,
        excerpt: row.excerpt,
        seo_title: row.seo_title,
        seo_description: row.seo_description,
        publish_at: row.publish_at.map(Timestamp),
        published_at: row.published_at.map(Timestamp),
        author: row.author,
        created_at: Timestamp(row.created_at),
        updated_at: Timestamp(row.updated_at),
    })
}

fn row_of(entry: &Entry) -> DomainResult<EntryRow> {
    Ok(EntryRow {
        id: entry.id.clone(),
        kind: entry.kind.as_str().to_owned(),
        slug: entry.slug.clone(),
        title: entry.title.clone(),
        body_markdown: entry.body_markdown.clone(),
        body_html: entry.body_html.clone(),
        excerpt: entry.excerpt.clone(),
        tags: serde_json::to_string(&entry.tags).map_err(|error| DomainError::Internal(error.to_string()))?,
        seo_title: entry.seo_title.clone(),
        seo_description: entry.seo_description.clone(),
        status: entry.status.as_str().to_owned(),
        publish_at: entry.publish_at.map(|at| at.0),
        published_at: entry.published_at.map(|at| at.0),
        author: entry.author.clone(),
        created_at: entry.created_at.0,
        updated_at: entry.updated_at.0,
    })
}

fn revision_from_row(row: RevisionRow) -> Revision {
    Revision {
        id: row.id,
        title: row.title,
        body_markdown: row.body_markdown,
        created_at: Timestamp(row.created_at),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_menu_url_pattern_is_the_check() {
        let pattern = regex::Regex::new(&menu_url_pattern()).expect("a pattern");
        for url in [
            "/",
            "/pages/about",
            " /x ",
            "//evil.example",
            "/\\x",
            "https://a",
            "HTTP://ab",
            "http://a",
            "https://",
            "ftp://x.y",
            "/a b",
            "",
            "mailto:a@b.c",
            "https://a\tb",
        ] {
            assert_eq!(pattern.is_match(url), is_menu_url(url), "{url:?}");
        }
    }

    use super::*;

    #[test]
    fn menu_urls_are_local_paths_or_web_addresses() {
        for good in [
            "/pages/about",
            "/blog?tag=news",
            "https://example.com/x",
            "http://example.com",
        ] {
            assert!(is_menu_url(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "//evil.example",
            "/\\evil.example",
            "about",
            "",
            "https://",
            "/a b",
        ] {
            assert!(!is_menu_url(bad), "{bad}");
        }
    }
}
