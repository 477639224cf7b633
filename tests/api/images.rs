//! Product images: uploads decoded, re-encoded and resized; served at the contract's
//! widths and cached for good; described, reordered, removed; and every bad upload refused
//! with nothing kept. The same on a bucket of an S3-compatible server (moto).

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use serde_json::{Value, json};

use crate::support::*;
use crate::support::{process, s3};

/// A photo `width`×`height` as JPEG, its EXIF (orientation `orientation`, and `secret` as
/// its description, standing for GPS and the camera's serial) in an APP1 segment.
pub fn jpeg_with_exif(width: u32, height: u32, orientation: u16, secret: &str) -> Vec<u8> {
    let photo = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 7 % 256) as u8, (y * 5 % 256) as u8, 120])
    });
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgb8(photo)
        .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .expect("encode");
    // TIFF, little-endian: IFD0 at 8 with Orientation (SHORT) and ImageDescription (ASCII).
    let text = format!("{secret}\0");
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(2u16.to_le_bytes());
    tiff.extend([0x12, 0x01, 3, 0]);
    tiff.extend(1u32.to_le_bytes());
    tiff.extend(u32::from(orientation).to_le_bytes());
    tiff.extend([0x0E, 0x01, 2, 0]);
    tiff.extend((text.len() as u32).to_le_bytes());
    tiff.extend((8 + 2 + 2 * 12 + 4u32).to_le_bytes());
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(text.as_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend(((app1.len() + 2) as u16).to_be_bytes());
    segment.extend(app1);
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend(segment);
    with_exif.extend(&jpeg[2..]);
    with_exif
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, Rgb([30, 90, 60])))
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("encode");
    out
}

/// A PNG whose header claims `width`×`height` pixels around almost no data: a
/// decompression bomb as far as a decoder trusting the header can tell.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(1, 1);
    // IHDR's data starts after the signature (8), its length (4) and its type (4).
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// PNG's CRC-32 (ISO 3309), for the forged header above.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Uploads `bytes` as the part `file` (with `alt` when given).
pub async fn upload(shop: &Shop, token: &str, product_id: &str, bytes: Vec<u8>, alt: Option<&str>) -> Response {
    let mut form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name("photo.jpg"));
    if let Some(alt) = alt {
        form = form.text("alt", alt.to_owned());
    }
    // A client of its own: a refused upload is answered before its body is read whole,
    // and its connection closed, which must not fail the next request on it.
    let response = reqwest::Client::new()
        .post(shop.url(&format!("/v1/admin/products/{product_id}/images")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload reaches the server");
    read(response).await
}

/// The image at `url` (with `?w=`), decoded, with its response's headers.
async fn fetch_image(shop: &Shop, url: &str) -> (DynamicImage, reqwest::header::HeaderMap, Vec<u8>) {
    let response = shop.client.get(shop.url(url)).send().await.expect("fetch image");
    assert_eq!(response.status(), 200, "{url}");
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("image bytes").to_vec();
    assert_eq!(
        headers["content-length"].to_str().ok(),
        Some(bytes.len().to_string().as_str()),
        "streamed whole, its length announced"
    );
    let image = image::load_from_memory(&bytes).expect("a decodable image");
    (image, headers, bytes)
}

async fn product_images(app: &Shop, staff: &str, product_id: &str) -> Vec<Value> {
    let product = app.get(&format!("/v1/admin/products/{product_id}"), Some(staff)).await;
    product.assert_status(200)["images"].as_array().expect("images").clone()
}

async fn an_upload_is_turned_upright_stripped_and_served_at_every_width(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, _) = app.published_product(&staff, 1_000, 5).await;
    let product_id = id_of(&product);
    // Taken on its side (EXIF orientation 6: turn 90° clockwise to view).
    let photo = jpeg_with_exif(900, 600, 6, "GPS 52.5200N 13.4050E serial CAM-0042");
    let created = upload(&app, &staff, &product_id, photo, Some("A mug on a table")).await;
    let image = created.assert_status(201).clone();
    assert!(image["id"].as_str().expect("id").starts_with("img_"), "{image}");
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(600), Some(900)),
        "upright"
    );
    assert_eq!(image["alt"], "A mug on a table");
    let url = image["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with("/media/images/img_") && url.ends_with(".jpg"), "{url}");

    let (full, headers, bytes) = fetch_image(&app, &url).await;
    assert_eq!((full.width(), full.height()), (600, 900));
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
    assert!(
        !bytes.windows(4).any(|window| window == b"Exif") && !bytes.windows(9).any(|window| window == b"CAM-0042"),
        "the metadata is gone"
    );
    for (width, expected) in [
        (160, (160, 240)),
        (320, (320, 480)),
        (640, (600, 900)),
        (1280, (600, 900)),
    ] {
        let (copy, _, _) = fetch_image(&app, &format!("{url}?w={width}")).await;
        assert_eq!((copy.width(), copy.height()), expected, "?w={width}");
    }
    app.get(&format!("{url}?w=100"), None)
        .await
        .assert_problem(422, "validation_failed");
    let (busted, _, _) = fetch_image(&app, &format!("{url}?w=160&utm_source=mail")).await;
    assert_eq!(busted.width(), 160, "other parameters are ignored");
    app.get("/media/images/img_0196c3b1e2b07a4b8f1c2d3e4f5a6b7c.jpg", None)
        .await
        .assert_problem(404, "not_found");
    app.get("/media/images/../backroom.db", None)
        .await
        .assert_problem(404, "not_found");

    // The public product shows it, in the contract's shape.
    let public = app.get(&format!("/v1/products/{product_id}"), None).await;
    assert_eq!(public.assert_status(200)["images"], json!([image]));
}

async fn images_are_described_reordered_and_removed(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, _) = app.published_product(&staff, 1_000, 5).await;
    let product_id = id_of(&product);
    let before = product["updated_at"].clone();
    let mut ids = Vec::new();
    for alt in ["front", "side", "back"] {
        let created = upload(&app, &staff, &product_id, png(300, 200), Some(alt)).await;
        ids.push(id_of(created.assert_status(201)));
    }
    let listed = product_images(&app, &staff, &product_id).await;
    let alts: Vec<&str> = listed.iter().map(|image| image["alt"].as_str().expect("alt")).collect();
    assert_eq!(alts, ["front", "side", "back"], "in the order uploaded");
    let product_now = app.get(&format!("/v1/admin/products/{product_id}"), Some(&staff)).await;
    assert_ne!(product_now.body["updated_at"], before, "an image changes its product");

    let path = |id: &str| format!("/v1/admin/products/{product_id}/images/{id}");
    let moved = app
        .patch(&path(&ids[2]), Some(&staff), json!({"position": 0, "alt": "the back"}))
        .await;
    assert_eq!(moved.assert_status(200)["alt"], "the back");
    let order: Vec<String> = product_images(&app, &staff, &product_id)
        .await
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(order, [ids[2].clone(), ids[0].clone(), ids[1].clone()]);
    let last = app.patch(&path(&ids[2]), Some(&staff), json!({"position": 99})).await;
    last.assert_status(200);
    let order: Vec<String> = product_images(&app, &staff, &product_id)
        .await
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(
        order,
        [ids[0].clone(), ids[1].clone(), ids[2].clone()],
        "past the end is last"
    );
    app.patch(&path(&ids[0]), Some(&staff), json!({"position": -1}))
        .await
        .assert_field_error("position");
    app.patch(&path(&ids[0]), Some(&staff), json!({"alt": "x".repeat(501)}))
        .await
        .assert_field_error("alt");

    let url = listed[1]["url"].as_str().expect("url").to_owned();
    assert_eq!(app.delete(&path(&ids[1]), Some(&staff)).await.status, 204);
    let order: Vec<String> = product_images(&app, &staff, &product_id)
        .await
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(order, [ids[0].clone(), ids[2].clone()]);
    app.get(&url, None).await.assert_problem(404, "not_found");
    app.get(&format!("{url}?w=160"), None)
        .await
        .assert_problem(404, "not_found");
    app.delete(&path(&ids[1]), Some(&staff))
        .await
        .assert_problem(404, "not_found");

    // Every change to the images is a `product.updated`, its snapshot as it was after it:
    // three uploads, two moves, one removal.
    let log = app
        .get("/v1/admin/event-log?type=product.updated&limit=100", Some(&staff))
        .await;
    let updates: Vec<Value> = log.assert_status(200)["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|event| event["data"]["id"] == product_id.as_str())
        .cloned()
        .collect();
    assert_eq!(updates.len(), 6, "{updates:?}");
    assert_eq!(
        updates[0]["data"]["images"].as_array().map(Vec::len),
        Some(2),
        "newest first: the removal"
    );

    // An image is its product's: another product's path does not reach it.
    let (other, _) = app.published_product(&staff, 1_000, 5).await;
    let elsewhere = format!("/v1/admin/products/{}/images/{}", id_of(&other), ids[0]);
    app.patch(&elsewhere, Some(&staff), json!({"alt": "stolen"}))
        .await
        .assert_problem(404, "not_found");
    app.delete(&elsewhere, Some(&staff))
        .await
        .assert_problem(404, "not_found");
}

async fn bad_uploads_are_refused_and_nothing_is_kept(app: TestApp) {
    let staff = app.staff_token().await;
    let (customer, _) = app.customer().await;
    let (product, _) = app.published_product(&staff, 1_000, 5).await;
    let product_id = id_of(&product);
    let files_before = media_files(&app);

    upload(
        &app,
        &staff,
        &product_id,
        b"just some text, not a picture".to_vec(),
        None,
    )
    .await
    .assert_problem(415, "unsupported_media_type");
    upload(
        &app,
        &staff,
        &product_id,
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec(),
        None,
    )
    .await
    .assert_problem(415, "unsupported_media_type");
    let bomb = upload(&app, &staff, &product_id, png_claiming(100_000, 100_000), None).await;
    bomb.assert_problem(422, "validation_failed");
    assert!(
        bomb.body["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("100000×100000"),
        "{}",
        bomb.text
    );
    upload(&app, &staff, &product_id, png_claiming(9_000, 9_000), None)
        .await
        .assert_field_error("file");
    let mut truncated = png(400, 300);
    truncated.truncate(80);
    upload(&app, &staff, &product_id, truncated, None)
        .await
        .assert_field_error("file");
    let mut huge = jpeg_with_exif(10, 10, 1, "");
    huge.resize(10 * 1024 * 1024 + 1, 0);
    upload(&app, &staff, &product_id, huge, None)
        .await
        .assert_problem(413, "payload_too_large");
    upload(&app, &staff, "prod_0196c3b1e2b07a4b8f1c2d3e4f5a6b7c", png(10, 10), None)
        .await
        .assert_problem(404, "not_found");
    upload(&app, &customer, &product_id, png(10, 10), None)
        .await
        .assert_problem(403, "forbidden");
    // Only staff may send an upload's larger body, with an Idempotency-Key too.
    let keyed = reqwest::Client::new()
        .post(app.url(&format!("/v1/admin/products/{product_id}/images")))
        .bearer_auth(&customer)
        .header("idempotency-key", "customer-upload")
        .multipart(reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(vec![0; 2 << 20])))
        .send()
        .await
        .expect("send");
    read(keyed).await.assert_problem(413, "payload_too_large");
    let path = format!("/v1/admin/products/{product_id}/images");
    app.post(&path, Some(&staff), json!({"file": "a.jpg"}))
        .await
        .assert_problem(415, "unsupported_media_type");
    let no_file = app
        .client
        .post(app.url(&path))
        .bearer_auth(&staff)
        .multipart(reqwest::multipart::Form::new().text("alt", "nothing"))
        .send()
        .await
        .expect("send");
    read(no_file).await.assert_field_error("file");

    assert!(
        product_images(&app, &staff, &product_id).await.is_empty(),
        "no image was added"
    );
    assert_eq!(media_files(&app), files_before, "no file was kept");
}

/// The files in this server's media folder (`None` when it is shared with other tests).
fn media_files(app: &TestApp) -> Option<usize> {
    let backroom::media::MediaLocation::Directory(folder) = &app.options.media else {
        return None;
    };
    if !app.database_url.starts_with("sqlite:") {
        return None;
    }
    let images = folder.join("images");
    Some(std::fs::read_dir(images).map_or(0, |entries| entries.count()))
}

async fn concurrent_uploads_each_get_their_own_place(app: TestApp) {
    let staff = app.staff_token().await;
    let (product, _) = app.published_product(&staff, 1_000, 5).await;
    let product_id = id_of(&product);
    let uploads = (0..6).map(|n| {
        let (shop, staff, product_id) = (&app, staff.clone(), product_id.clone());
        async move { upload(shop, &staff, &product_id, png(50 + n, 40), Some(&format!("view {n}"))).await }
    });
    for created in futures_util::future::join_all(uploads).await {
        created.assert_status(201);
    }
    let listed = product_images(&app, &staff, &product_id).await;
    assert_eq!(listed.len(), 6);
    // Moving the last first renumbers them all: every image keeps one place.
    let last = id_of(&listed[5]);
    let moved = app
        .patch(
            &format!("/v1/admin/products/{product_id}/images/{last}"),
            Some(&staff),
            json!({"position": 0}),
        )
        .await;
    moved.assert_status(200);
    let reordered: Vec<String> = product_images(&app, &staff, &product_id)
        .await
        .iter()
        .map(id_of)
        .collect();
    let mut expected: Vec<String> = listed.iter().map(id_of).collect();
    expected.rotate_right(1);
    assert_eq!(reordered, expected);
}

crate::backend_tests!(
    an_upload_is_turned_upright_stripped_and_served_at_every_width,
    images_are_described_reordered_and_removed,
    bad_uploads_are_refused_and_nothing_is_kept,
    concurrent_uploads_each_get_their_own_place,
);

/// The same images kept in an S3-compatible bucket.
mod in_a_bucket {
    use super::*;

    /// `backroom serve` with `BACKROOM_MEDIA_URL=s3://...` keeps every copy in the bucket,
    /// serves them from it, and removes them with the image.
    async fn images_live_in_an_s3_bucket_when_configured(database_url: String) {
        let Some(s3) = s3::S3Server::start().await else { return };
        s3.create_bucket("shop-media").await;
        let env = s3.serve_env("shop-media", "backroom");
        let env: Vec<(&str, &str)> = env.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
        let (_server, shop) = process::start_server(&database_url, &[], &env).await;
        let created = process::admin_create(&database_url, "media@example.com", PASSWORD).await;
        assert!(created.status.success(), "{created:?}");
        let staff = shop.login("media@example.com", PASSWORD).await;
        let (product, _) = shop.published_product(&staff, 1_000, 5).await;
        let product_id = id_of(&product);

        let image = upload(&shop, &staff, &product_id, jpeg_with_exif(700, 500, 1, "x"), None).await;
        let image = image.assert_status(201).clone();
        let image_id = id_of(&image);
        let mut keys = s3.keys("shop-media").await;
        keys.sort();
        let expected: Vec<String> = ["-160w.jpg", "-320w.jpg", "-640w.jpg", ".jpg"]
            .iter()
            .map(|suffix| format!("backroom/images/{image_id}{suffix}"))
            .collect();
        assert_eq!(keys, expected, "the image and its narrower copies, under the prefix");
        let (served, _, _) = fetch_image(&shop, image["url"].as_str().expect("url")).await;
        assert_eq!((served.width(), served.height()), (700, 500));
        let (copy, _, _) = fetch_image(&shop, &format!("{}?w=320", image["url"].as_str().expect("url"))).await;
        assert_eq!(copy.width(), 320);

        let deleted = shop
            .delete(
                &format!("/v1/admin/products/{product_id}/images/{image_id}"),
                Some(&staff),
            )
            .await;
        assert_eq!(deleted.status, 204);
        assert!(s3.keys("shop-media").await.is_empty(), "its files are removed");
    }

    crate::database_tests!(images_live_in_an_s3_bucket_when_configured);
}
