//! The shop in a browser: a storefront and a staff dashboard, server-rendered from
//! templates compiled into the binary (askama), with embedded assets (rust-embed).
//!
//! Pages read through the domain, as the API does, with the visitor resolved from the
//! session cookie. Everything that writes goes through the JSON API from a little
//! JavaScript (`web/assets/app.js`), so that the API's rules (CSRF, idempotency keys,
//! validation, audit) hold for the browser too, and reading works without JavaScript.

mod admin;
mod admin_content;
mod admin_webhooks;
mod assets;
mod content;
mod shop;
mod view;

use askama::Template;
use axum::Router;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::app::caller::{CallerError, ResolvedCaller, resolve_caller};
use crate::domain::{DomainError, Principal};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(shop::home))
        .route("/products/{slug}", get(shop::product))
        .route("/cart", get(shop::cart))
        .route("/orders/{id}", get(shop::order))
        .route("/login", get(shop::login))
        .route("/register", get(shop::register))
        .route("/reset-password", get(shop::reset_password))
        .route("/account", get(shop::account))
        .route("/categories/{slug}", get(shop::category))
        .route("/pages/{slug}", get(content::content_page))
        .route("/blog", get(content::blog))
        .route("/blog/{slug}", get(content::post))
        .merge(for_crawlers())
        .route("/admin", get(admin::dashboard))
        .route("/admin/orders/{id}", get(admin::order))
        .route("/admin/products", get(admin::products))
        .route("/admin/products/new", get(admin::new_product))
        .route("/admin/products/{id}", get(admin::product))
        .route("/admin/customers", get(admin::customers))
        .route("/admin/shipping", get(admin::shipping))
        .route("/admin/discounts", get(admin::discounts))
        .route("/admin/webhooks", get(admin_webhooks::list))
        .route("/admin/webhooks/{id}", get(admin_webhooks::endpoint))
        .route("/admin/content", get(admin_content::list))
        .route("/admin/content/{kind}/new", get(admin_content::new_entry))
        .route("/admin/content/{kind}/{id}", get(admin_content::edit_entry))
        .route("/assets/{*path}", get(assets::serve))
}

/// The feed, the sitemap and robots.txt: the same for every visitor, so cached with ETags
/// as the catalog's API answers are.
fn for_crawlers() -> Router<AppState> {
    Router::new()
        .route("/blog/feed.xml", get(content::feed))
        .route("/sitemap.xml", get(content::sitemap))
        .route("/sitemaps/{number}", get(content::sitemap_part))
        .route("/robots.txt", get(content::robots))
        .route_layer(axum::middleware::from_fn(|request, next| {
            crate::app::caching::revalidated(request, next, || StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }))
}

/// Who is looking at a page. A stale or unknown session is an anonymous visitor: the shop
/// still browses.
pub struct Visitor(pub Principal);

impl<S> FromRequestParts<S> for Visitor
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ResolvedCaller(principal)) = parts.extensions.get::<ResolvedCaller>() {
            return Ok(Visitor(principal.clone()));
        }
        let state = AppState::from_ref(state);
        let principal = match resolve_caller(&state.store, &parts.method, &parts.headers).await {
            Ok(principal) => principal,
            Err(CallerError::Failed(error)) => return Err(error.into()),
            Err(CallerError::InvalidToken | CallerError::CsrfTokenMissing) => Principal::Anonymous,
        };
        parts.extensions.insert(ResolvedCaller(principal.clone()));
        Ok(Visitor(principal))
    }
}

/// What every page's frame shows: its title, who is signed in, and which part of the
/// site it belongs to.
pub struct Shell {
    pub title: String,
    /// The page's meta description, for search engines.
    pub description: Option<String>,
    /// The signed-in account's email, or "Staff" for a staff session.
    pub account: Option<String>,
    pub is_staff: bool,
    pub is_admin_area: bool,
    /// The storefront's menus (staff edit them): `(label, url)`.
    pub header_menu: Vec<(String, String)>,
    pub footer_menu: Vec<(String, String)>,
}

impl Shell {
    fn shop(title: impl Into<String>, visitor: &Principal) -> Shell {
        Shell::new(title, visitor, false)
    }

    fn admin(title: impl Into<String>, visitor: &Principal) -> Shell {
        Shell::new(title, visitor, true)
    }

    fn new(title: impl Into<String>, visitor: &Principal, is_admin_area: bool) -> Shell {
        let account = match visitor {
            Principal::Customer { email, .. } => Some(email.clone()),
            Principal::Staff { .. } => Some("Staff".to_owned()),
            Principal::ApiKey { .. } | Principal::Anonymous => None,
        };
        Shell {
            title: title.into(),
            description: None,
            account,
            is_staff: matches!(visitor, Principal::Staff { .. }),
            is_admin_area,
            header_menu: Vec::new(),
            footer_menu: Vec::new(),
        }
    }

    /// The storefront frame with its menus (`header` and `footer`; none set: none shown).
    async fn storefront(state: &AppState, title: impl Into<String>, visitor: &Principal) -> Result<Shell, PageError> {
        let mut shell = Shell::shop(title, visitor);
        shell.header_menu = menu_links(state, "header").await?;
        shell.footer_menu = menu_links(state, "footer").await?;
        Ok(shell)
    }

    fn described(mut self, description: Option<String>) -> Shell {
        self.description = description.filter(|text| !text.is_empty());
        self
    }
}

/// Gives each line of a cart or an order its product's picture.
async fn picture_lines(state: &AppState, lines: &mut [view::LineView]) -> Result<(), PageError> {
    let variant_ids: Vec<String> = lines.iter().map(|line| line.variant_id.clone()).collect();
    let pictures = crate::domain::images::pictures_of_variants(&state.store, &variant_ids).await?;
    view::picture_lines(lines, &pictures);
    Ok(())
}

async fn menu_links(state: &AppState, handle: &str) -> Result<Vec<(String, String)>, PageError> {
    match crate::domain::content::get_menu(&state.store, handle).await {
        Ok(menu) => Ok(menu.items.into_iter().map(|item| (item.label, item.url)).collect()),
        Err(DomainError::NotFound(_)) => Ok(Vec::new()),
        Err(error) => Err(error.into()),
    }
}

/// A browser asking for a page (it accepts HTML), outside the API's `/v1/` addresses.
pub fn is_page_request(path: &str, headers: &axum::http::HeaderMap) -> bool {
    !path.starts_with("/v1/")
        && headers
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// The storefront's page for an address that shows nothing.
pub fn not_found_page() -> Response {
    PageError::NotFound.into_response()
}

/// A page that could not be shown, rendered as an HTML page, never as JSON.
#[derive(Debug)]
pub enum PageError {
    NotFound,
    Forbidden,
    /// The visitor must sign in first; back to `next` afterwards.
    SignIn {
        next: String,
    },
    Internal(String),
}

impl From<DomainError> for PageError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound(_) | DomainError::Validation(_) => PageError::NotFound,
            DomainError::Forbidden => PageError::Forbidden,
            DomainError::Unauthorized => PageError::SignIn { next: "/".to_owned() },
            other => PageError::Internal(other.to_string()),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    shell: Shell,
    heading: &'static str,
    message: &'static str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            PageError::SignIn { next } => {
                return Redirect::to(&format!("/login?next={}", view::url_encode(&next))).into_response();
            }
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here. It may have been moved, or the link may be mistyped.",
            ),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "This account may not open this page.",
            ),
            PageError::Internal(detail) => {
                tracing::error!(%detail, "a page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The page could not be shown. Please try again.",
                )
            }
        };
        let page = ErrorPage {
            shell: Shell::shop(heading, &Principal::Anonymous),
            heading,
            message,
        };
        (status, render(&page)).into_response()
    }
}

pub type PageResult = Result<Response, PageError>;

/// A page's query string. One that does not parse, or holds a control character such as
/// NUL (which PostgreSQL cannot compare), names no page: 404, as `ApiQuery` refuses it for
/// the API.
pub struct PageQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|_| PageError::NotFound)?;
        if pairs
            .iter()
            .any(|(key, value)| key.chars().chain(value.chars()).any(char::is_control))
        {
            return Err(PageError::NotFound);
        }
        serde_urlencoded::from_str(query)
            .map(PageQuery)
            .map_err(|_| PageError::NotFound)
    }
}

/// A page's path parameters. One that does not decode, or holds a control character such
/// as NUL, names no page: 404.
pub struct PagePath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PagePath<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| PageError::NotFound)?;
        if params.iter().any(|(_, value)| value.chars().any(char::is_control)) {
            return Err(PageError::NotFound);
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PagePath(value))
            .map_err(|_| PageError::NotFound)
    }
}

/// Renders a template into an HTML response that is never cached: pages show stock,
/// carts and sessions.
fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be rendered.").into_response()
        }
    }
}

fn page(template: &impl Template) -> PageResult {
    Ok(render(template))
}
