//! Markdown as safe HTML: pulldown-cmark renders it (passing raw HTML through), ammonia
//! sanitises the result with its allow-list of tags, attributes and URL schemes, and links
//! to other sites get `rel="noopener nofollow"`.

use std::sync::OnceLock;

use pulldown_cmark::{Options, Parser, html};

/// The HTML of `markdown`, sanitised: no script, no event handler, no `javascript:` or
/// `data:` URL survives, whatever the Markdown holds.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut rendered = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut rendered, Parser::new_ext(markdown, options));
    let clean = sanitizer().clean(&rendered).to_string();
    mark_external_links(&clean)
}

/// ammonia's defaults (its allow-list of tags, and of URL schemes: http, https, mailto and
/// a few more, never `javascript:` or `data:`), with links keeping only their `href` (no
/// `hreflang`, and no `title` or `lang`, which ammonia allows on every tag) and getting no
/// `rel` of ammonia's: [`mark_external_links`] gives the external ones theirs.
fn sanitizer() -> &'static ammonia::Builder<'static> {
    static SANITIZER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .link_rel(None)
            .rm_tag_attributes("a", &["hreflang"])
            .rm_generic_attributes(&["title", "lang"]);
        builder
    })
}

/// Gives links to other sites `rel="noopener nofollow"`. ammonia can only give every link
/// the same `rel`, so this is done on its output, whose shape is fixed: it writes each link
/// as `<a href="…">`, `href` being the one attribute links keep and any quote in it escaped.
/// Text that looks like a link is escaped there (`&lt;a`), so only real links match.
fn mark_external_links(html: &str) -> String {
    const LINK: &str = "<a href=\"";
    let mut marked = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(start) = rest.find(LINK) {
        let value_start = start + LINK.len();
        let Some(value_len) = rest[value_start..].find('"') else {
            break;
        };
        let value_end = value_start + value_len;
        marked.push_str(&rest[..=value_end]);
        if is_external(&rest[value_start..value_end]) {
            marked.push_str(" rel=\"noopener nofollow\"");
        }
        rest = &rest[value_end + 1..];
    }
    marked.push_str(rest);
    marked
}

/// An absolute or protocol-relative web address (`//host`, or `/\\host`, which browsers
/// read the same way): another site, as far as a page can tell.
fn is_external(href: &str) -> bool {
    let lower = href.to_ascii_lowercase();
    ["http://", "https://", "//", "/\\"]
        .iter()
        .any(|prefix| lower.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_markdown_and_marks_only_external_links() {
        let html = render("# Hi\n\n*Read* [our story](/pages/about) and [theirs](https://example.com/a?b=1&c=\"2\").");
        assert!(html.contains("<h1>Hi</h1>"), "{html}");
        assert!(html.contains("<em>Read</em>"), "{html}");
        assert!(html.contains(r#"<a href="/pages/about">our story</a>"#), "{html}");
        assert!(html.contains(r#"rel="noopener nofollow">theirs</a>"#), "{html}");
        assert_eq!(html.matches("rel=").count(), 1, "{html}");
    }

    #[test]
    fn raw_html_links_to_other_sites_get_rel_too() {
        let html = render(r#"<a title="x" lang="en" href="https://spam.example">a</a> <a href="/\evil.example">b</a>"#);
        assert_eq!(html.matches(r#"rel="noopener nofollow""#).count(), 2, "{html}");
    }

    #[test]
    fn text_that_looks_like_a_link_stays_text() {
        let html = render("`<a href=\"https://x.example\">` and \\<a href=\"https://y.example\">");
        assert!(!html.contains("rel="), "{html}");
    }
}
