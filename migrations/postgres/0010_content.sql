-- Pages and blog posts (contract: Content: pages and blog), one table for both kinds.
-- `body_html` is the Markdown rendered and sanitised when it is saved, so that reads serve
-- it as it is. Slugs are unique per kind. A scheduled entry is published once, by whichever
-- process's job gets there first (a conditional UPDATE on `status`).
CREATE TABLE content_entries (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CONSTRAINT content_entries_kind_check CHECK (kind IN ('page', 'post')),
    slug            TEXT NOT NULL,
    title           TEXT NOT NULL,
    body_markdown   TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    excerpt         TEXT NOT NULL,
    tags            TEXT NOT NULL, -- JSON array, as given; content_tags is what lists filter on
    seo_title       TEXT,
    seo_description TEXT,
    status          TEXT NOT NULL CONSTRAINT content_entries_status_check
                        CHECK (status IN ('draft', 'scheduled', 'published')),
    publish_at      BIGINT,
    published_at    BIGINT,
    author          TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CONSTRAINT content_entries_kind_slug_key UNIQUE (kind, slug)
);
CREATE INDEX content_entries_listing ON content_entries (kind, status, published_at);
CREATE INDEX content_entries_due ON content_entries (status, publish_at);

CREATE TABLE content_tags (
    entry_id TEXT NOT NULL REFERENCES content_entries (id),
    tag      TEXT NOT NULL,
    CONSTRAINT content_tags_pkey PRIMARY KEY (entry_id, tag)
);
CREATE INDEX content_tags_tag ON content_tags (tag, entry_id);

-- Every save of an entry: what it said then, to read back or restore.
CREATE TABLE content_revisions (
    id            TEXT PRIMARY KEY,
    entry_id      TEXT NOT NULL REFERENCES content_entries (id),
    title         TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX content_revisions_entry ON content_revisions (entry_id, id);

-- Navigation menus by handle (`header`, `footer`): JSON [{label, url}].
CREATE TABLE menus (
    handle     TEXT PRIMARY KEY,
    items      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
