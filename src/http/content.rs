//! Pages, blog posts and menus (contract: Content: pages and blog): the public reads, with
//! the catalog's caching, and the staff's editing.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{ApiJson, ApiPath, ApiQuery, Staff};
use super::problem::{ApiResult, Problem};
use super::shapes::{ListResponse, PageQuery, nullable, time};
use super::{AppState, Created, Json};
use crate::domain::PageRequest;
use crate::domain::content::{self, ContentKind, Entry, EntryInput, Menu, MenuItem, Revision};

pub fn router() -> Router<AppState> {
    let public = Router::new()
        .route("/v1/pages/{slug}", get(get_page))
        .route("/v1/posts", get(list_posts))
        .route("/v1/posts/{slug}", get(get_post))
        .route("/v1/menus/{handle}", get(get_menu))
        .route_layer(axum::middleware::from_fn(super::middleware::catalog_cache));
    Router::new()
        .merge(public)
        .route("/v1/admin/pages", get(list_pages_as_staff).post(create_page))
        .route(
            "/v1/admin/pages/{id}",
            get(get_page_as_staff).patch(update_page).delete(delete_page),
        )
        .route("/v1/admin/pages/{id}/revisions", get(page_revisions))
        .route(
            "/v1/admin/pages/{id}/revisions/{revision}/restore",
            post(restore_page_revision),
        )
        .route("/v1/admin/posts", get(list_posts_as_staff).post(create_post))
        .route(
            "/v1/admin/posts/{id}",
            get(get_post_as_staff).patch(update_post).delete(delete_post),
        )
        .route("/v1/admin/posts/{id}/revisions", get(post_revisions))
        .route(
            "/v1/admin/posts/{id}/revisions/{revision}/restore",
            post(restore_post_revision),
        )
        .route("/v1/admin/menus/{handle}", put(put_menu))
        .route("/v1/admin/content/preview", post(preview))
}

/// Markdown rendered and sanitised as a page or post would show it, without saving it: the
/// editor's live preview.
#[utoipa::path(post, path = "/v1/admin/content/preview", tag = "staff", request_body = PreviewRequest,
    security(("bearer" = [])),
    responses((status = 200, body = PreviewDto), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn preview(Staff(caller): Staff, ApiJson(body): ApiJson<PreviewRequest>) -> ApiResult<Json<PreviewDto>> {
    Ok(Json(PreviewDto {
        body_html: content::preview(&caller, &body.body_markdown)?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    pub body_markdown: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewDto {
    pub body_html: String,
}

/// A published page by slug.
#[utoipa::path(get, path = "/v1/pages/{slug}", tag = "content", params(("slug" = String, Path)),
    responses((status = 200, body = PageDto), (status = 404, body = Problem)))]
pub async fn get_page(State(state): State<AppState>, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<PageDto>> {
    Ok(Json(
        content::published(&state.store, ContentKind::Page, &slug).await?.into(),
    ))
}

/// Published posts, last published first; `tag` keeps those with it.
#[utoipa::path(get, path = "/v1/posts", tag = "content", params(PostListQuery),
    responses((status = 200, body = ListResponse<PostDto>), (status = 422, body = Problem)))]
pub async fn list_posts(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PostListQuery>,
) -> ApiResult<Json<ListResponse<PostDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let posts = content::published_posts(&state.store, query.tag.as_deref(), &page).await?;
    Ok(Json(ListResponse::from_page(posts, Into::into)))
}

/// A published post by slug.
#[utoipa::path(get, path = "/v1/posts/{slug}", tag = "content", params(("slug" = String, Path)),
    responses((status = 200, body = PostDto), (status = 404, body = Problem)))]
pub async fn get_post(State(state): State<AppState>, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<PostDto>> {
    Ok(Json(
        content::published(&state.store, ContentKind::Post, &slug).await?.into(),
    ))
}

/// A menu by handle (`header`, `footer`).
#[utoipa::path(get, path = "/v1/menus/{handle}", tag = "content", params(("handle" = String, Path)),
    responses((status = 200, body = MenuDto), (status = 404, body = Problem)))]
pub async fn get_menu(State(state): State<AppState>, ApiPath(handle): ApiPath<String>) -> ApiResult<Json<MenuDto>> {
    Ok(Json(content::get_menu(&state.store, &handle).await?.into()))
}

/// Sets a menu's items; each URL is a path on this site or an http(s) address.
#[utoipa::path(put, path = "/v1/admin/menus/{handle}", tag = "staff", params(("handle" = String, Path)),
    request_body = MenuRequest, security(("bearer" = [])),
    responses((status = 200, body = MenuDto), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem, description = "a handle no route takes (control characters)"),
              (status = 422, body = Problem)))]
pub async fn put_menu(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(handle): ApiPath<String>,
    ApiJson(body): ApiJson<MenuRequest>,
) -> ApiResult<Json<MenuDto>> {
    let items = body
        .items
        .into_iter()
        .map(|item| MenuItem {
            label: item.label,
            url: item.url,
        })
        .collect();
    Ok(Json(
        content::put_menu(&state.store, &caller, &handle, items).await?.into(),
    ))
}

/// The staff's handlers, the same for pages and posts: each kind's functions below only
/// name their kind (and their path, for the document).
mod editing {
    use super::*;

    pub async fn list(
        state: &AppState,
        caller: &crate::domain::Principal,
        kind: ContentKind,
        query: PageQuery,
    ) -> ApiResult<Json<ListResponse<EntryDto>>> {
        let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
        let entries = content::list_entries(&state.store, caller, kind, &page).await?;
        Ok(Json(ListResponse::from_page(entries, Into::into)))
    }

    pub async fn create(
        state: &AppState,
        caller: &crate::domain::Principal,
        kind: ContentKind,
        body: EntryRequest,
    ) -> ApiResult<Created<EntryDto>> {
        Ok(Created(
            content::create_entry(&state.store, caller, kind, body.into())
                .await?
                .into(),
        ))
    }

    pub async fn revisions(
        state: &AppState,
        caller: &crate::domain::Principal,
        kind: ContentKind,
        id: &str,
    ) -> ApiResult<Json<RevisionList>> {
        let revisions = content::list_revisions(&state.store, caller, kind, id).await?;
        Ok(Json(RevisionList {
            data: revisions.into_iter().map(Into::into).collect(),
        }))
    }
}

macro_rules! content_handlers {
    ($kind:expr, $noun:literal, $base:literal,
     $list:ident, $create:ident, $get:ident, $update:ident, $delete:ident, $revisions:ident, $restore:ident) => {
        #[doc = concat!("Every ", $noun, ", newest first, whatever its status.")]
        #[utoipa::path(get, summary = concat!("Every ", $noun, ", newest first, whatever its status."), path = $base, tag = "staff", params(PageQuery), security(("bearer" = [])),
            responses((status = 200, body = ListResponse<EntryDto>), (status = 401, body = Problem),
                      (status = 403, body = Problem), (status = 422, body = Problem)))]
        pub async fn $list(
            State(state): State<AppState>,
            Staff(caller): Staff,
            ApiQuery(query): ApiQuery<PageQuery>,
        ) -> ApiResult<Json<ListResponse<EntryDto>>> {
            editing::list(&state, &caller, $kind, query).await
        }

        #[doc = concat!("Writes a ", $noun, " in Markdown; its slug is made from the title unless given. Saves a revision.")]
        #[utoipa::path(post, summary = concat!("Writes a ", $noun, " in Markdown; its slug is made from the title unless given. Saves a revision."), path = $base, tag = "staff", request_body = EntryRequest, security(("bearer" = [])),
            responses((status = 201, body = EntryDto), (status = 401, body = Problem), (status = 403, body = Problem),
                      (status = 409, body = Problem, description = "the slug is taken"), (status = 422, body = Problem)))]
        pub async fn $create(
            State(state): State<AppState>,
            Staff(caller): Staff,
            ApiJson(body): ApiJson<EntryRequest>,
        ) -> ApiResult<Created<EntryDto>> {
            editing::create(&state, &caller, $kind, body).await
        }

        #[doc = concat!("A ", $noun, " of any status.")]
        #[utoipa::path(get, summary = concat!("A ", $noun, " of any status."), path = concat!($base, "/{id}"), tag = "staff", params(("id" = String, Path)),
            security(("bearer" = [])),
            responses((status = 200, body = EntryDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
        pub async fn $get(
            State(state): State<AppState>,
            Staff(caller): Staff,
            ApiPath(id): ApiPath<String>,
        ) -> ApiResult<Json<EntryDto>> {
            Ok(Json(content::get_entry(&state.store, &caller, $kind, &id).await?.into()))
        }

        #[doc = concat!("Changes any field of a ", $noun, "; saves a revision.")]
        #[utoipa::path(patch, summary = concat!("Changes any field of a ", $noun, "; saves a revision."), path = concat!($base, "/{id}"), tag = "staff", params(("id" = String, Path)),
            request_body = EntryRequest, security(("bearer" = [])),
            responses((status = 200, body = EntryDto), (status = 403, body = Problem), (status = 404, body = Problem),
                      (status = 409, body = Problem), (status = 422, body = Problem)))]
        pub async fn $update(
            State(state): State<AppState>,
            Staff(caller): Staff,
            ApiPath(id): ApiPath<String>,
            ApiJson(body): ApiJson<EntryRequest>,
        ) -> ApiResult<Json<EntryDto>> {
            Ok(Json(content::update_entry(&state.store, &caller, $kind, &id, body.into()).await?.into()))
        }

        #[doc = concat!("Deletes a ", $noun, " with its revisions.")]
        #[utoipa::path(delete, summary = concat!("Deletes a ", $noun, " with its revisions."), path = concat!($base, "/{id}"), tag = "staff", params(("id" = String, Path)),
            security(("bearer" = [])),
            responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
        pub async fn $delete(
            State(state): State<AppState>,
            Staff(caller): Staff,
            ApiPath(id): ApiPath<String>,
        ) -> ApiResult<StatusCode> {
            content::delete_entry(&state.store, &caller, $kind, &id).await?;
            Ok(StatusCode::NO_CONTENT)
        }

        #[doc = concat!("Every saved revision of a ", $noun, ", newest first.")]
        #[utoipa::path(get, summary = concat!("Every saved revision of a ", $noun, ", newest first."), path = concat!($base, "/{id}/revisions"), tag = "staff", params(("id" = String, Path)),
            security(("bearer" = [])),
            responses((status = 200, body = RevisionList), (status = 403, body = Problem), (status = 404, body = Problem)))]
        pub async fn $revisions(
            State(state): State<AppState>,
            Staff(caller): Staff,
            ApiPath(id): ApiPath<String>,
        ) -> ApiResult<Json<RevisionList>> {
            editing::revisions(&state, &caller, $kind, &id).await
        }

        #[doc = concat!("Makes a revision's title and body the ", $noun, "'s again (a save: it adds a revision).")]
        #[utoipa::path(post, summary = concat!("Makes a revision's title and body the ", $noun, "'s again (a save: it adds a revision)."), path = concat!($base, "/{id}/revisions/{revision}/restore"), tag = "staff",
            params(("id" = String, Path), ("revision" = String, Path)), security(("bearer" = [])),
            responses((status = 200, body = EntryDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
        pub async fn $restore(
            State(state): State<AppState>,
            Staff(caller): Staff,
            ApiPath((id, revision)): ApiPath<(String, String)>,
        ) -> ApiResult<Json<EntryDto>> {
            Ok(Json(content::restore_revision(&state.store, &caller, $kind, &id, &revision).await?.into()))
        }
    };
}

content_handlers!(
    ContentKind::Page,
    "page",
    "/v1/admin/pages",
    list_pages_as_staff,
    create_page,
    get_page_as_staff,
    update_page,
    delete_page,
    page_revisions,
    restore_page_revision
);
content_handlers!(
    ContentKind::Post,
    "post",
    "/v1/admin/posts",
    list_posts_as_staff,
    create_post,
    get_post_as_staff,
    update_post,
    delete_post,
    post_revisions,
    restore_post_revision
);

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PostListQuery {
    pub tag: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A page or post to write (`title` and `body_markdown` required) or the fields to change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// Lower-case letters, digits and hyphens; made from the title when missing.
    pub slug: Option<String>,
    /// Markdown, at most 100,000 characters; raw HTML is sanitised, not refused.
    #[schema(max_length = 100000)]
    pub body_markdown: Option<String>,
    /// `draft` (default), `scheduled` (with `publish_at`) or `published`.
    pub status: Option<String>,
    /// RFC 3339: when a scheduled entry is published.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub publish_at: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub excerpt: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub seo_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 320)]
    pub seo_description: Option<Option<String>>,
}

impl From<EntryRequest> for EntryInput {
    fn from(request: EntryRequest) -> Self {
        EntryInput {
            title: request.title,
            slug: request.slug,
            body_markdown: request.body_markdown,
            status: request.status,
            publish_at: request.publish_at,
            tags: request.tags,
            excerpt: request.excerpt,
            seo_title: request.seo_title,
            seo_description: request.seo_description,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuRequest {
    pub items: Vec<MenuItemDto>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MenuItem)]
pub struct MenuItemDto {
    pub label: String,
    /// A path on this site (`/pages/about`) or an http(s) URL.
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Menu)]
pub struct MenuDto {
    pub handle: String,
    pub items: Vec<MenuItemDto>,
}

impl From<Menu> for MenuDto {
    fn from(menu: Menu) -> Self {
        MenuDto {
            handle: menu.handle,
            items: menu
                .items
                .into_iter()
                .map(|item| MenuItemDto {
                    label: item.label,
                    url: item.url,
                })
                .collect(),
        }
    }
}

/// A published page.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Page)]
pub struct PageDto {
    pub id: String,
    pub slug: String,
    pub title: String,
    /// The Markdown rendered and sanitised.
    pub body_html: String,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub updated_at: String,
}

impl From<Entry> for PageDto {
    fn from(page: Entry) -> Self {
        PageDto {
            id: page.id,
            slug: page.slug,
            title: page.title,
            body_html: page.body_html,
            seo_title: page.seo_title,
            seo_description: page.seo_description,
            updated_at: time(page.updated_at),
        }
    }
}

/// A published post.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Post)]
pub struct PostDto {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    /// The Markdown rendered and sanitised.
    pub body_html: String,
    pub tags: Vec<String>,
    pub author: Option<String>,
    pub published_at: Option<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
}

impl From<Entry> for PostDto {
    fn from(post: Entry) -> Self {
        PostDto {
            id: post.id,
            slug: post.slug,
            title: post.title,
            excerpt: post.excerpt,
            body_html: post.body_html,
            tags: post.tags,
            author: post.author,
            published_at: post.published_at.map(time),
            seo_title: post.seo_title,
            seo_description: post.seo_description,
        }
    }
}

/// A page or post as staff edit it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ContentEntry)]
pub struct EntryDto {
    pub id: String,
    /// `page` or `post`.
    pub kind: String,
    pub slug: String,
    pub title: String,
    pub body_markdown: String,
    pub body_html: String,
    pub excerpt: String,
    pub tags: Vec<String>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    /// `draft`, `scheduled` or `published`.
    pub status: String,
    pub publish_at: Option<String>,
    pub published_at: Option<String>,
    pub author: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Entry> for EntryDto {
    fn from(entry: Entry) -> Self {
        EntryDto {
            id: entry.id,
            kind: entry.kind.as_str().to_owned(),
            slug: entry.slug,
            title: entry.title,
            body_markdown: entry.body_markdown,
            body_html: entry.body_html,
            excerpt: entry.excerpt,
            tags: entry.tags,
            seo_title: entry.seo_title,
            seo_description: entry.seo_description,
            status: entry.status.as_str().to_owned(),
            publish_at: entry.publish_at.map(time),
            published_at: entry.published_at.map(time),
            author: entry.author,
            created_at: time(entry.created_at),
            updated_at: time(entry.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionList {
    pub data: Vec<RevisionDto>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Revision)]
pub struct RevisionDto {
    pub id: String,
    pub created_at: String,
    pub title: String,
    pub body_markdown: String,
}

impl From<Revision> for RevisionDto {
    fn from(revision: Revision) -> Self {
        RevisionDto {
            id: revision.id,
            created_at: time(revision.created_at),
            title: revision.title,
            body_markdown: revision.body_markdown,
        }
    }
}
