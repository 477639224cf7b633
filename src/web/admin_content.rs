//! The dashboard's content: pages and posts written in Markdown with a live preview, their
//! revisions, and the storefront's menus. Every change goes through the API.

use askama::Template;
use axum::extract::State;

use super::admin::StaffVisitor;
use super::{PagePath, PageResult, Shell, page};
use crate::app::AppState;
use crate::domain::content::{self, ContentKind, ContentStatus, Entry};
use crate::domain::{DomainError, PageRequest, Permission};

/// An entry in the dashboard's lists.
pub struct EntryRow {
    pub edit_link: String,
    pub title: String,
    pub slug: String,
    pub status: &'static str,
    pub updated: String,
}

impl From<&Entry> for EntryRow {
    fn from(entry: &Entry) -> Self {
        EntryRow {
            edit_link: format!("/admin/content/{}s/{}", entry.kind.as_str(), entry.id),
            title: entry.title.clone(),
            slug: entry.slug.clone(),
            status: match (entry.status, entry.publish_at) {
                (ContentStatus::Scheduled, Some(_)) => "scheduled",
                (status, _) => status.as_str(),
            },
            updated: entry.updated_at.to_rfc3339().chars().take(10).collect(),
        }
    }
}

/// The pages' or the posts' table.
pub struct Section {
    pub heading: &'static str,
    pub id: &'static str,
    pub empty: &'static str,
    pub rows: Vec<EntryRow>,
}

/// A menu's form: its links as lines.
pub struct MenuForm {
    pub handle: &'static str,
    pub label: &'static str,
    pub lines: String,
}

#[derive(Template)]
#[template(path = "admin/content.html")]
struct ContentList {
    shell: Shell,
    sections: Vec<Section>,
    menus: Vec<MenuForm>,
}

/// Pages, posts and the menus.
pub async fn list(State(state): State<AppState>, StaffVisitor(visitor): StaffVisitor) -> PageResult {
    visitor.require(Permission::Catalog)?;
    let all = PageRequest::parse(Some(PageRequest::MAX_LIMIT), None)?;
    let pages = content::list_entries(&state.store, &visitor, ContentKind::Page, &all).await?;
    let posts = content::list_entries(&state.store, &visitor, ContentKind::Post, &all).await?;
    page(&ContentList {
        shell: Shell::admin("Pages and blog", &visitor),
        sections: vec![
            Section {
                heading: "Pages",
                id: "pages-heading",
                empty: "No pages yet: an about page and your policies belong here.",
                rows: pages.data.iter().map(EntryRow::from).collect(),
            },
            Section {
                heading: "Posts",
                id: "posts-heading",
                empty: "No posts yet: write the first one.",
                rows: posts.data.iter().map(EntryRow::from).collect(),
            },
        ],
        menus: vec![
            MenuForm {
                handle: "header",
                label: "Header menu",
                lines: menu_lines(&state, "header").await?,
            },
            MenuForm {
                handle: "footer",
                label: "Footer menu",
                lines: menu_lines(&state, "footer").await?,
            },
        ],
    })
}

/// A menu as the form's lines: `Label | /url`.
async fn menu_lines(state: &AppState, handle: &str) -> Result<String, super::PageError> {
    match content::get_menu(&state.store, handle).await {
        Ok(menu) => Ok(menu
            .items
            .iter()
            .map(|item| format!("{} | {}", item.label, item.url))
            .collect::<Vec<_>>()
            .join("\n")),
        Err(DomainError::NotFound(_)) => Ok(String::new()),
        Err(error) => Err(error.into()),
    }
}

/// What the editor shows: an entry, or the empty form of a new one.
pub struct EditorView {
    /// The API address the form saves to, and how (`POST …` or `PATCH …`).
    pub save: String,
    pub kind: &'static str,
    pub is_post: bool,
    pub id: String,
    pub title: String,
    pub slug: String,
    pub status: &'static str,
    pub publish_at: String,
    pub tags: String,
    pub excerpt: String,
    pub seo_title: String,
    pub seo_description: String,
    pub body_markdown: String,
    pub body_html: String,
    pub public_link: Option<String>,
}

pub struct RevisionRow {
    pub id: String,
    pub saved: String,
    pub title: String,
}

#[derive(Template)]
#[template(path = "admin/content_editor.html")]
struct Editor {
    shell: Shell,
    entry: EditorView,
    revisions: Vec<RevisionRow>,
}

fn kind_of(plural: &str) -> Result<ContentKind, super::PageError> {
    match plural {
        "pages" => Ok(ContentKind::Page),
        "posts" => Ok(ContentKind::Post),
        _ => Err(super::PageError::NotFound),
    }
}

/// The form of a new page or post.
pub async fn new_entry(StaffVisitor(visitor): StaffVisitor, PagePath(plural): PagePath<String>) -> PageResult {
    visitor.require(Permission::Catalog)?;
    let kind = kind_of(&plural)?;
    let noun = kind.as_str();
    page(&Editor {
        shell: Shell::admin(format!("New {noun}"), &visitor),
        entry: EditorView {
            save: format!("POST /v1/admin/{plural}"),
            kind: noun,
            is_post: kind == ContentKind::Post,
            id: String::new(),
            title: String::new(),
            slug: String::new(),
            status: "draft",
            publish_at: String::new(),
            tags: String::new(),
            excerpt: String::new(),
            seo_title: String::new(),
            seo_description: String::new(),
            body_markdown: String::new(),
            body_html: String::new(),
            public_link: None,
        },
        revisions: Vec::new(),
    })
}

/// A page or post in the editor, with its revisions.
pub async fn edit_entry(
    State(state): State<AppState>,
    StaffVisitor(visitor): StaffVisitor,
    PagePath((plural, id)): PagePath<(String, String)>,
) -> PageResult {
    let kind = kind_of(&plural)?;
    let entry = content::get_entry(&state.store, &visitor, kind, &id).await?;
    let revisions = content::list_revisions(&state.store, &visitor, kind, &id).await?;
    let public_link = (entry.status == ContentStatus::Published).then(|| match kind {
        ContentKind::Page => format!("/pages/{}", entry.slug),
        ContentKind::Post => format!("/blog/{}", entry.slug),
    });
    page(&Editor {
        shell: Shell::admin(entry.title.clone(), &visitor),
        entry: EditorView {
            save: format!("PATCH /v1/admin/{plural}/{id}"),
            kind: kind.as_str(),
            is_post: kind == ContentKind::Post,
            id: entry.id.clone(),
            status: entry.status.as_str(),
            publish_at: entry.publish_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
            tags: entry.tags.join(", "),
            excerpt: entry.excerpt.clone(),
            seo_title: entry.seo_title.clone().unwrap_or_default(),
            seo_description: entry.seo_description.clone().unwrap_or_default(),
            title: entry.title,
            slug: entry.slug,
            body_markdown: entry.body_markdown,
            body_html: entry.body_html,
            public_link,
        },
        revisions: revisions
            .into_iter()
            .map(|revision| RevisionRow {
                saved: revision.created_at.to_rfc3339(),
                id: revision.id,
                title: revision.title,
            })
            .collect(),
    })
}
