-- What search engines show for a product (contract: Catalog depth, Shopify's SEO Title and
-- SEO Description): empty means the product's title and description.
ALTER TABLE products ADD COLUMN seo_title TEXT NOT NULL DEFAULT '';
ALTER TABLE products ADD COLUMN seo_description TEXT NOT NULL DEFAULT '';
-- The address a catalog import downloaded an image from (its Image Src), so that importing
-- the same file again does not add the image twice.
ALTER TABLE product_images ADD COLUMN imported_from TEXT;
