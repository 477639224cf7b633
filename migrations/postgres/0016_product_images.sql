-- A product's images (contract: Catalog depth): each uploaded image is decoded,
-- re-encoded and kept in the media store (local disk or an S3-compatible bucket) under its
-- id, with its resized copies; this table holds what a product shows, in order.
-- An image given as a URL before uploads existed (the products' `images` column, a JSON
-- array of URLs) is kept as a linked image: `source_url` set, no format and no size. What
-- is not a URL there (not an array, not a string, an empty one) is left out, the same on
-- both databases. The column stays for one release, unread, so that processes of the
-- previous release still run during a rolling upgrade; a later migration drops it.
CREATE TABLE product_images (
    id          TEXT PRIMARY KEY,
    product_id  TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    alt         TEXT NOT NULL DEFAULT '',
    format      TEXT CHECK (format IN ('jpeg', 'png')),
    width       BIGINT,
    height      BIGINT,
    source_url  TEXT,
    created_at  BIGINT NOT NULL,
    CONSTRAINT product_images_stored_or_linked CHECK (
        (format IS NOT NULL AND width IS NOT NULL AND height IS NOT NULL AND source_url IS NULL)
        OR (format IS NULL AND width IS NULL AND height IS NULL AND source_url IS NOT NULL))
);
CREATE INDEX product_images_by_product ON product_images (product_id, position);
-- dialect-specific: begin
CREATE FUNCTION pg_temp.backroom_url_array(images TEXT) RETURNS JSONB LANGUAGE plpgsql AS $$
BEGIN
    RETURN CASE WHEN jsonb_typeof(images::jsonb) = 'array' THEN images::jsonb ELSE '[]'::jsonb END;
EXCEPTION WHEN others THEN
    RETURN '[]'::jsonb;
END
$$;
INSERT INTO product_images (id, product_id, position, alt, source_url, created_at)
SELECT 'img_' || md5(random()::text || p.id || j.ordinality), p.id,
       ROW_NUMBER() OVER (PARTITION BY p.id ORDER BY j.ordinality) - 1, '', j.value #>> '{}', p.updated_at
FROM products p, jsonb_array_elements(pg_temp.backroom_url_array(p.images)) WITH ORDINALITY AS j (value, ordinality)
WHERE jsonb_typeof(j.value) = 'string' AND j.value #>> '{}' <> '';
-- dialect-specific: end
