//! The storefront's content: pages, the blog with its Atom feed, and what search engines
//! read (`/sitemap.xml`, `/robots.txt`).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{PageError, PagePath, PageQuery, PageResult, Shell, Visitor, view};
use crate::app::AppState;
use crate::domain::content::{self, ContentKind, Entry, SITEMAP_FILE_URLS, SitemapUrl};
use crate::domain::{DomainError, PageRequest};

#[derive(Template)]
#[template(path = "content_page.html")]
struct ContentPage {
    shell: Shell,
    title: String,
    body_html: String,
}

pub async fn content_page(
    State(state): State<AppState>,
    Visitor(visitor): Visitor,
    PagePath(slug): PagePath<String>,
) -> PageResult {
    let entry = content::published(&state.store, ContentKind::Page, &slug).await?;
    super::page(&ContentPage {
        shell: Shell::storefront(&state, seo_title(&entry), &visitor)
            .await?
            .described(entry.seo_description.clone()),
        title: entry.title,
        body_html: entry.body_html,
    })
}

/// A post as the blog shows it.
pub struct PostView {
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    pub date: String,
    pub author: String,
    pub tags: Vec<String>,
    pub body_html: String,
}

impl From<Entry> for PostView {
    fn from(post: Entry) -> Self {
        PostView {
            date: post
                .published_at
                .map(|at| at.to_rfc3339().chars().take(10).collect())
                .unwrap_or_default(),
            author: post.author.unwrap_or_default(),
            slug: post.slug,
            title: post.title,
            excerpt: post.excerpt,
            tags: post.tags,
            body_html: post.body_html,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct BlogQuery {
    tag: Option<String>,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "blog.html")]
struct BlogPage {
    shell: Shell,
    heading: String,
    posts: Vec<PostView>,
    next_page: Option<String>,
}

pub async fn blog(
    State(state): State<AppState>,
    Visitor(visitor): Visitor,
    PageQuery(query): PageQuery<BlogQuery>,
) -> PageResult {
    let tag = query.tag.filter(|tag| !tag.is_empty());
    let request = PageRequest::parse(Some(10), query.cursor.as_deref())?;
    let posts = content::published_posts(&state.store, tag.as_deref(), &request).await?;
    let next_page = posts.next_cursor.map(|cursor| match &tag {
        Some(tag) => format!(
            "/blog?tag={}&cursor={}",
            view::url_encode(tag),
            view::url_encode(&cursor)
        ),
        None => format!("/blog?cursor={}", view::url_encode(&cursor)),
    });
    let heading = match &tag {
        Some(tag) => format!("Posts tagged “{tag}”"),
        None => "Blog".to_owned(),
    };
    super::page(&BlogPage {
        shell: Shell::storefront(&state, heading.clone(), &visitor)
            .await?
            .described(Some("News and stories from the shop".to_owned())),
        heading,
        posts: posts.data.into_iter().map(PostView::from).collect(),
        next_page,
    })
}

#[derive(Template)]
#[template(path = "blog_post.html")]
struct PostPage {
    shell: Shell,
    post: PostView,
}

pub async fn post(
    State(state): State<AppState>,
    Visitor(visitor): Visitor,
    PagePath(slug): PagePath<String>,
) -> PageResult {
    let entry = content::published(&state.store, ContentKind::Post, &slug).await?;
    let description = entry.seo_description.clone().or_else(|| Some(entry.excerpt.clone()));
    super::page(&PostPage {
        shell: Shell::storefront(&state, seo_title(&entry), &visitor)
            .await?
            .described(description),
        post: PostView::from(entry),
    })
}

fn seo_title(entry: &Entry) -> String {
    entry.seo_title.clone().unwrap_or_else(|| entry.title.clone())
}

#[derive(Template)]
#[template(path = "feed.xml")]
struct Feed {
    base: String,
    updated: String,
    entries: Vec<FeedEntry>,
}

struct FeedEntry {
    id: String,
    title: String,
    link: String,
    published: String,
    updated: crate::domain::time::Timestamp,
    author: String,
    summary: String,
    content_html: String,
}

/// The blog's Atom feed: its 20 newest posts.
pub async fn feed(State(state): State<AppState>) -> Result<Response, PageError> {
    let newest = content::published_posts(&state.store, None, &PageRequest::parse(Some(20), None)?).await?;
    let base = state.public_url.trim_end_matches('/').to_owned();
    let entries: Vec<FeedEntry> = newest
        .data
        .into_iter()
        .map(|post| {
            let published = post.published_at.unwrap_or(post.created_at).to_rfc3339();
            FeedEntry {
                // Stable when the slug changes, so that readers do not see the post anew.
                id: format!("urn:backroom:{}", post.id),
                link: format!("{base}/blog/{}", post.slug),
                updated: post.updated_at,
                author: post.author.unwrap_or_else(|| "Staff".to_owned()),
                title: post.title,
                published,
                summary: post.excerpt,
                content_html: post.body_html,
            }
        })
        .collect();
    let updated = entries
        .iter()
        .map(|entry| entry.updated)
        .max()
        .unwrap_or(crate::domain::time::Timestamp(0))
        .to_rfc3339();
    xml(&Feed { base, updated, entries }, "application/atom+xml; charset=utf-8")
}

#[derive(Template)]
#[template(path = "sitemap.xml")]
struct Sitemap {
    base: String,
    urls: Vec<SitemapUrl>,
}

#[derive(Template)]
#[template(path = "sitemap_index.xml")]
struct SitemapIndex {
    base: String,
    files: Vec<i64>,
}

/// Every public address, or past 50,000 of them, an index of files of 50,000 each.
pub async fn sitemap(State(state): State<AppState>) -> Result<Response, PageError> {
    let base = state.public_url.trim_end_matches('/').to_owned();
    let size = content::sitemap_size(&state.store).await?;
    if size > SITEMAP_FILE_URLS {
        let files = (0..(size + SITEMAP_FILE_URLS - 1) / SITEMAP_FILE_URLS).collect();
        return xml(&SitemapIndex { base, files }, "application/xml; charset=utf-8");
    }
    let urls = content::sitemap_file(&state.store, 0).await?;
    xml(&Sitemap { base, urls }, "application/xml; charset=utf-8")
}

/// File `number` of the sitemap index (`/sitemaps/3.xml`).
pub async fn sitemap_part(
    State(state): State<AppState>,
    PagePath(file): PagePath<String>,
) -> Result<Response, PageError> {
    let number: i64 = file
        .strip_suffix(".xml")
        .and_then(|number| number.parse().ok())
        .filter(|number| *number >= 0)
        .ok_or(PageError::NotFound)?;
    let urls = content::sitemap_file(&state.store, number).await?;
    if urls.is_empty() {
        return Err(DomainError::NotFound("sitemap file").into());
    }
    let base = state.public_url.trim_end_matches('/').to_owned();
    xml(&Sitemap { base, urls }, "application/xml; charset=utf-8")
}

/// Crawlers may read the shop, not the carts, accounts, orders or the dashboard.
pub async fn robots(State(state): State<AppState>) -> Response {
    let base = state.public_url.trim_end_matches('/');
    let body = format!(
        "User-agent: *\nAllow: /\nDisallow: /admin\nDisallow: /cart\nDisallow: /account\nDisallow: /orders/\n\
         Disallow: /v1/\n\nSitemap: {base}/sitemap.xml\n"
    );
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn xml(template: &impl Template, content_type: &'static str) -> Result<Response, PageError> {
    let body = template
        .render()
        .map_err(|error| PageError::Internal(error.to_string()))?;
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}
