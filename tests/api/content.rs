//! Pages, posts and menus (contract: Content: pages and blog): staff write them in Markdown
//! with revisions, the storefront's API serves the published ones, sanitised.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::*;

const PAGES: &str = "/v1/admin/pages";
const POSTS: &str = "/v1/admin/posts";

async fn write(app: &TestApp, staff: &str, path: &str, body: Value) -> Value {
    app.post(path, Some(staff), body).await.assert_status(201).clone()
}

async fn staff_write_pages_with_slugs_and_revisions(app: TestApp) {
    let staff = app.staff_token().await;
    let page = write(
        &app,
        &staff,
        PAGES,
        json!({"title": "About us", "body_markdown": "We *make* lamps."}),
    )
    .await;
    let id = id_of(&page);
    assert!(id.starts_with("page_"), "{id}");
    assert_eq!(page["slug"], "about-us");
    assert_eq!(page["status"], "draft");
    assert_eq!(page["body_html"], "<p>We <em>make</em> lamps.</p>\n");
    app.get("/v1/pages/about-us", None)
        .await
        .assert_problem(404, "not_found");

    let again = write(&app, &staff, PAGES, json!({"title": "About Us", "body_markdown": "x"})).await;
    assert_eq!(again["slug"], "about-us-2", "collisions are numbered");
    app.post(
        PAGES,
        Some(&staff),
        json!({"title": "Mine", "slug": "about-us", "body_markdown": "x"}),
    )
    .await
    .assert_problem(409, "conflict");

    let path = format!("{PAGES}/{id}");
    app.patch(&path, Some(&staff), json!({"body_markdown": "We make *brass* lamps."}))
        .await
        .assert_status(200);
    let published = app
        .patch(
            &path,
            Some(&staff),
            json!({"status": "published", "seo_title": "About Backroom", "seo_description": "Who we are"}),
        )
        .await
        .assert_status(200)
        .clone();
    assert_utc_timestamp(&published["published_at"]);
    let public = app.get("/v1/pages/about-us", None).await;
    assert_eq!(
        public.assert_status(200),
        &json!({"id": id, "slug": "about-us", "title": "About us",
            "body_html": "<p>We make <em>brass</em> lamps.</p>\n", "seo_title": "About Backroom",
            "seo_description": "Who we are", "updated_at": published["updated_at"]})
    );
    assert!(public.header("etag").is_some(), "cached like the catalog");

    let revisions = app.get(&format!("{path}/revisions"), Some(&staff)).await;
    let list = revisions.assert_status(200)["data"].as_array().expect("data").clone();
    assert_eq!(list.len(), 3, "every save keeps one: {list:?}");
    assert_eq!(list[0]["body_markdown"], "We make *brass* lamps.", "newest first");
    let first = list.last().expect("the first save");
    assert_eq!(first["body_markdown"], "We *make* lamps.");
    let restored = app
        .post(
            &format!("{path}/revisions/{}/restore", id_of(first)),
            Some(&staff),
            json!({}),
        )
        .await;
    assert_eq!(
        restored.assert_status(200)["body_html"],
        "<p>We <em>make</em> lamps.</p>\n"
    );
    let revisions = app.get(&format!("{path}/revisions"), Some(&staff)).await;
    assert_eq!(
        revisions.body["data"].as_array().map(Vec::len),
        Some(4),
        "a restore is a save"
    );
    app.post(
        &format!("{path}/revisions/rev_missing/restore"),
        Some(&staff),
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");

    app.delete(&path, Some(&staff)).await.assert_status(204);
    app.get("/v1/pages/about-us", None)
        .await
        .assert_problem(404, "not_found");
    app.get(&path, Some(&staff)).await.assert_problem(404, "not_found");
}

/// Payloads from the usual XSS lists: none survives as markup that runs.
const XSS: [&str; 14] = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](jav&#x61;script:alert(1))",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<svg onload=alert(1)><circle/></svg>",
    "<div style=\"background:url(javascript:alert(1))\" onclick=\"alert(1)\">x</div>",
    "<object data=\"evil.swf\"></object>",
    "<form action=\"https://evil.example\"><input name=x></form>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
];

/// Every tag in `html`, as `(name, [(attribute, value)])`, read the simple way: the
/// sanitiser writes attributes as `name="value"`.
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else { break };
        let inside = &rest[start + 1..start + end];
        rest = &rest[start + end + 1..];
        if inside.starts_with('/') {
            continue;
        }
        let mut parts = inside.splitn(2, ' ');
        let name = parts.next().unwrap_or_default().to_lowercase();
        let mut attributes = Vec::new();
        let mut attrs = parts.next().unwrap_or_default();
        while let Some(eq) = attrs.find("=\"") {
            let key = attrs[..eq].trim().to_lowercase();
            let value_end = attrs[eq + 2..].find('"').map_or(attrs.len(), |n| eq + 2 + n);
            attributes.push((key, attrs[eq + 2..value_end].to_lowercase()));
            attrs = attrs.get(value_end + 1..).unwrap_or_default();
        }
        found.push((name, attributes));
    }
    found
}

async fn unsafe_markdown_is_accepted_and_sanitised(app: TestApp) {
    let staff = app.staff_token().await;
    for (index, payload) in XSS.iter().enumerate() {
        let body = format!("Before\n\n{payload}\n\nAfter.");
        let post = write(
            &app,
            &staff,
            POSTS,
            json!({"title": format!("Post {index}"), "body_markdown": body, "status": "published"}),
        )
        .await;
        let html = post["body_html"].as_str().expect("html");
        for (name, attributes) in tags(html) {
            assert!(
                !["script", "iframe", "svg", "object", "form", "style", "math", "input"].contains(&name.as_str()),
                "<{name}> survived {payload}: {html}"
            );
            for (attribute, value) in attributes {
                assert!(
                    !attribute.starts_with("on") && attribute != "style",
                    "{attribute} survived {payload}: {html}"
                );
                assert!(
                    !value.contains("javascript:") && !value.starts_with("data:"),
                    "{attribute}={value} survived {payload}: {html}"
                );
            }
        }
        assert!(html.contains("<p>Before</p>"), "the rest of the post stays: {html}");
        let public = app
            .get(&format!("/v1/posts/{}", post["slug"].as_str().expect("slug")), None)
            .await;
        assert_eq!(public.assert_status(200)["body_html"], post["body_html"]);
    }
    let links = write(
        &app,
        &staff,
        POSTS,
        json!({"title": "Links", "body_markdown": "[home](/) and [docs](https://docs.example/x)."}),
    )
    .await;
    let html = links["body_html"].as_str().expect("html");
    assert!(
        html.contains(r#"<a href="/">home</a>"#),
        "local links stay as they are: {html}"
    );
    assert!(
        html.contains(r#"<a href="https://docs.example/x" rel="noopener nofollow">docs</a>"#),
        "external links get rel: {html}"
    );
}

async fn the_blog_lists_published_posts_by_tag_newest_first(app: TestApp) {
    let staff = app.staff_token().await;
    let mut ids = Vec::new();
    for (title, tags) in [
        ("Spring", json!(["Garden"])),
        ("Summer", json!(["garden", "news"])),
        ("Autumn", json!(["news"])),
    ] {
        let post = write(
            &app,
            &staff,
            POSTS,
            json!({"title": title, "body_markdown": format!("{title} is here."), "status": "published",
                   "tags": tags, "excerpt": format!("All about {title}")}),
        )
        .await;
        ids.push(id_of(&post));
    }
    write(
        &app,
        &staff,
        POSTS,
        json!({"title": "Draft", "body_markdown": "not yet"}),
    )
    .await;

    let all = app.get("/v1/posts", None).await;
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(ids_in(all.assert_status(200)), newest_first, "drafts are not listed");
    let first = &all.body["data"][0];
    assert_eq!(first["excerpt"], "All about Autumn");
    assert_eq!(first["tags"], json!(["news"]));
    assert!(
        first["author"]
            .as_str()
            .is_some_and(|author| author.ends_with("@example.com")),
        "a staff member without a name is named by email: {first}"
    );
    let garden = app.get("/v1/posts?tag=garden", None).await;
    assert_eq!(
        ids_in(garden.assert_status(200)),
        vec![ids[1].clone(), ids[0].clone()],
        "tags ignore case"
    );
    let page_one = app.get("/v1/posts?limit=2", None).await;
    assert_eq!(ids_in(page_one.assert_status(200)), newest_first[..2].to_vec());
    let cursor = page_one.body["next_cursor"].as_str().expect("a next page").to_owned();
    let page_two = app
        .get(&format!("/v1/posts?limit=2&cursor={}", encode_query(&cursor)), None)
        .await;
    assert_eq!(ids_in(page_two.assert_status(200)), newest_first[2..].to_vec());
}

/// A scheduled post is published by the jobs once its time has come, once, whichever of two
/// servers on the database gets there first; publishing adds no revision.
async fn a_scheduled_post_is_published_once_by_the_jobs(app: TestApp) {
    let peer = app.start_peer().await;
    let staff = app.staff_token().await;
    let post = write(
        &app,
        &staff,
        POSTS,
        json!({"title": "Launch", "body_markdown": "Today!", "status": "scheduled", "publish_at": "2099-01-01T09:00:00Z"}),
    )
    .await;
    assert_eq!(post["status"], "scheduled");
    assert_eq!(post["published_at"], Value::Null);
    app.run_jobs().await;
    app.get("/v1/posts/launch", None).await.assert_problem(404, "not_found");

    // Its time comes: the test moves it into the past rather than waiting.
    app.age("content_entries", "publish_at", 80 * 365 * 24 * 60 * 60).await;
    join_all([app.run_jobs(), peer.run_jobs(), app.run_jobs(), peer.run_jobs()]).await;
    let public = app.get("/v1/posts/launch", None).await;
    assert_eq!(public.assert_status(200)["title"], "Launch");
    let edited = app.get(&format!("{POSTS}/{}", id_of(&post)), Some(&staff)).await;
    assert_eq!(edited.body["status"], "published");
    assert_eq!(
        edited.body["published_at"], edited.body["publish_at"],
        "published at its time"
    );
    let revisions = app
        .get(&format!("{POSTS}/{}/revisions", id_of(&post)), Some(&staff))
        .await;
    assert_eq!(
        revisions.body["data"].as_array().map(Vec::len),
        Some(1),
        "publishing adds none"
    );
}

async fn menus_take_local_paths_and_web_addresses(app: TestApp) {
    let staff = app.staff_token().await;
    app.get("/v1/menus/footer", None).await.assert_problem(404, "not_found");
    let items = json!({"items": [{"label": "About", "url": "/pages/about-us"}, {"label": "Blog", "url": "/blog"},
        {"label": "Instagram", "url": "https://instagram.example/shop"}]});
    let menu = app.put("/v1/admin/menus/footer", Some(&staff), items.clone()).await;
    assert_eq!(
        menu.assert_status(200),
        &json!({"handle": "footer", "items": items["items"]})
    );
    assert_eq!(app.get("/v1/menus/footer", None).await.assert_status(200), &menu.body);
    for (url, field) in [
        ("javascript:alert(1)", "items[1].url"),
        ("//evil.example", "items[1].url"),
        ("blog", "items[1].url"),
    ] {
        let body = json!({"items": [{"label": "Ok", "url": "/"}, {"label": "Bad", "url": url}]});
        app.put("/v1/admin/menus/footer", Some(&staff), body)
            .await
            .assert_field_error(field);
    }
    app.put("/v1/admin/menus/Not%20A%20Handle", Some(&staff), json!({"items": []}))
        .await
        .assert_field_error("handle");
    assert_eq!(
        app.get("/v1/menus/footer", None).await.body,
        menu.body,
        "refusals changed nothing"
    );
}

async fn bad_content_is_refused_by_field_and_writes_nothing(app: TestApp) {
    let staff = app.staff_token().await;
    let long = "x".repeat(100_001);
    for (body, field) in [
        (json!({"body_markdown": "x"}), "title"),
        (json!({"title": "T"}), "body_markdown"),
        (json!({"title": " ", "body_markdown": "x"}), "title"),
        (json!({"title": "T", "body_markdown": long}), "body_markdown"),
        (
            json!({"title": "T", "body_markdown": "x", "slug": "Not A Slug"}),
            "slug",
        ),
        (json!({"title": "T", "body_markdown": "x", "status": "live"}), "status"),
        (
            json!({"title": "T", "body_markdown": "x", "status": "scheduled"}),
            "publish_at",
        ),
        (
            json!({"title": "T", "body_markdown": "x", "publish_at": "soon"}),
            "publish_at",
        ),
        (json!({"title": "T", "body_markdown": "x", "tags": [""]}), "tags[0]"),
        (
            json!({"title": "T", "body_markdown": "x", "excerpt": "e".repeat(501)}),
            "excerpt",
        ),
        (json!({"title": "T", "body_markdown": "x", "author": "me"}), "author"),
        (json!({"title": "T", "body_markdown": "a\u{1}b"}), "body_markdown"),
        (
            json!({"title": "T", "body_markdown": "x", "excerpt": "a\u{1b}b"}),
            "excerpt",
        ),
    ] {
        let response = app.post(POSTS, Some(&staff), body.clone()).await;
        assert_eq!(response.status, 422, "{body} is refused: {}", response.text);
        response.assert_field_error(field);
    }
    let list = app.get(POSTS, Some(&staff)).await;
    assert_eq!(
        ids_in(list.assert_status(200)),
        Vec::<String>::new(),
        "nothing was written"
    );
}

/// The storefront shows pages and the blog with their titles, descriptions and the menus,
/// and serves a valid Atom feed, a sitemap and robots.txt.
async fn the_storefront_serves_pages_the_blog_the_feed_and_the_sitemap(app: TestApp) {
    let staff = app.staff_token().await;
    write(
        &app,
        &staff,
        PAGES,
        json!({"title": "Shipping policy", "body_markdown": "We ship **fast**.",
        "status": "published", "seo_title": "How we ship", "seo_description": "Our shipping promise"}),
    )
    .await;
    let post = write(
        &app,
        &staff,
        POSTS,
        json!({"title": "New lamps & more", "body_markdown": "Brass, <b>bright</b>.",
        "status": "published", "tags": ["news"], "excerpt": "Lamps arrived"}),
    )
    .await;
    write(
        &app,
        &staff,
        POSTS,
        json!({"title": "Draft", "body_markdown": "hidden"}),
    )
    .await;
    let (product, _) = app.published_product(&staff, 1200, 3).await;
    let category = app
        .post(
            "/v1/admin/categories",
            Some(&staff),
            json!({"name": "Lamps", "slug": "lamps"}),
        )
        .await
        .assert_status(201)
        .clone();
    let lamp = app
        .post(
            "/v1/admin/products",
            Some(&staff),
            json!({"title": "Brass lamp", "status": "published", "category_ids": [id_of(&category)],
                   "variants": [{"sku": unique_sku(), "price": eur(4000)}]}),
        )
        .await
        .assert_status(201)
        .clone();
    let category_page = app.get("/categories/lamps", None).await;
    assert_eq!(category_page.status, 200);
    assert!(category_page.text.contains("Brass lamp"), "the category's products");
    assert!(
        !category_page.text.contains(product["title"].as_str().expect("title")),
        "only the category's products"
    );
    app.put(
        "/v1/admin/menus/footer",
        Some(&staff),
        json!({"items": [{"label": "Shipping", "url": "/pages/shipping-policy"}]}),
    )
    .await
    .assert_status(200);
    app.put(
        "/v1/admin/menus/header",
        Some(&staff),
        json!({"items": [{"label": "Journal", "url": "/blog"}]}),
    )
    .await
    .assert_status(200);

    let page = app.get("/pages/shipping-policy", None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("<title>How we ship · Backroom</title>"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(r#"<meta name="description" content="Our shipping promise">"#)
    );
    assert!(page.text.contains("We ship <strong>fast</strong>."));
    assert!(
        page.text.contains(r#"<a href="/pages/shipping-policy">Shipping</a>"#),
        "the footer menu"
    );
    assert!(page.text.contains(r#"<a href="/blog">Journal</a>"#), "the header menu");
    assert_eq!(app.get("/pages/nope", None).await.status, 404);

    let blog = app.get("/blog", None).await;
    assert_eq!(blog.status, 200);
    assert!(
        blog.text.contains("New lamps") && blog.text.contains("Lamps arrived"),
        "{}",
        blog.text
    );
    assert!(!blog.text.contains("Draft"), "drafts are not shown");
    assert_eq!(app.get("/blog?tag=news", None).await.status, 200);
    let shown = app.get("/blog/new-lamps-more", None).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert!(shown.text.contains("Brass, <b>bright</b>."));
    assert!(
        shown
            .text
            .contains(r#"<meta name="description" content="Lamps arrived">"#)
    );

    let feed = app.get("/blog/feed.xml", None).await;
    assert_eq!(feed.header("content-type"), Some("application/atom+xml; charset=utf-8"));
    assert!(feed.header("etag").is_some(), "cached like the catalog");
    let document = roxmltree::Document::parse(&feed.text).expect("the feed is XML");
    let root = document.root_element();
    assert_eq!(
        (root.tag_name().namespace(), root.tag_name().name()),
        (Some("http://www.w3.org/2005/Atom"), "feed")
    );
    let entries: Vec<_> = root.children().filter(|node| node.has_tag_name("entry")).collect();
    assert_eq!(entries.len(), 1, "published posts only");
    let text = |node: roxmltree::Node, name: &str| {
        node.children()
            .find(|child| child.has_tag_name(name))
            .and_then(|child| child.text())
            .map(str::to_owned)
    };
    assert_eq!(text(entries[0], "title").as_deref(), Some("New lamps & more"));
    assert_eq!(
        text(entries[0], "content").as_deref(),
        post["body_html"].as_str(),
        "the HTML, escaped once"
    );
    for required in ["id", "updated", "author"] {
        assert!(
            entries[0].children().any(|child| child.has_tag_name(required)),
            "an entry has {required}"
        );
    }

    let sitemap = app.get("/sitemap.xml", None).await;
    let document = roxmltree::Document::parse(&sitemap.text).expect("the sitemap is XML");
    let locations: Vec<String> = document
        .descendants()
        .filter(|node| node.has_tag_name("loc"))
        .filter_map(|node| node.text().map(str::to_owned))
        .collect();
    for path in [
        "/categories/lamps".to_owned(),
        format!("/products/{}", lamp["slug"].as_str().expect("slug")),
        "/pages/shipping-policy".to_owned(),
        "/blog/new-lamps-more".to_owned(),
        format!("/products/{}", product["slug"].as_str().expect("slug")),
    ] {
        assert!(
            locations.iter().any(|loc| loc.ends_with(&path)),
            "{path} in {locations:?}"
        );
    }
    assert!(
        !locations.iter().any(|loc| loc.ends_with("/blog/draft")),
        "drafts are not listed"
    );
    let robots = app.get("/robots.txt", None).await;
    assert!(
        robots.text.contains("Disallow: /admin") && robots.text.contains("Sitemap: http"),
        "{}",
        robots.text
    );
}

/// Past 50,000 addresses the sitemap is an index of files of 50,000 each.
async fn a_large_sitemap_becomes_an_index(app: TestApp) {
    app.store
        .execute_unchecked(
            "INSERT INTO categories (id, name, slug, parent_id, created_at)
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50001)
             SELECT 'cat_bulk_' || i, 'Bulk ' || i, 'bulk-' || i, NULL, 0 FROM n"
                .to_owned(),
        )
        .await
        .expect("50,001 categories");
    let index = app.get("/sitemap.xml", None).await;
    let document = roxmltree::Document::parse(&index.text).expect("the index is XML");
    assert_eq!(document.root_element().tag_name().name(), "sitemapindex");
    let files: Vec<String> = document
        .descendants()
        .filter(|node| node.has_tag_name("loc"))
        .filter_map(|node| node.text().map(str::to_owned))
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let second = app.get("/sitemaps/1.xml", None).await;
    let document = roxmltree::Document::parse(&second.text).expect("a sitemap file is XML");
    let urls = document.descendants().filter(|node| node.has_tag_name("url")).count();
    // 50,001 categories and the storefront's two pages: 50,000 in the first file, 3 here.
    assert_eq!(urls, 3);
    let first = app.get("/sitemaps/0.xml", None).await;
    let document = roxmltree::Document::parse(&first.text).expect("a sitemap file is XML");
    assert_eq!(
        document.descendants().filter(|node| node.has_tag_name("url")).count(),
        50_000
    );
    assert_eq!(app.get("/sitemaps/2.xml", None).await.status, 404);
    assert_eq!(app.get("/sitemaps/x.xml", None).await.status, 404);
}

crate::backend_tests!(
    staff_write_pages_with_slugs_and_revisions,
    unsafe_markdown_is_accepted_and_sanitised,
    the_blog_lists_published_posts_by_tag_newest_first,
    a_scheduled_post_is_published_once_by_the_jobs,
    menus_take_local_paths_and_web_addresses,
    bad_content_is_refused_by_field_and_writes_nothing,
    the_storefront_serves_pages_the_blog_the_feed_and_the_sitemap,
    a_large_sitemap_becomes_an_index,
);
