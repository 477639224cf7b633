//! An uploaded image made safe and sized: decoded (refusing anything but JPEG, PNG and
//! WebP, and any image too large to decode safely), turned upright by its EXIF orientation,
//! re-encoded (which drops every metadata, GPS included) and resized to the served widths.
//!
//! Photographs are kept as JPEG; an image with transparent pixels as PNG, which keeps them.
//! Every copy is made at upload rather than on first request: an upload is rare and can
//! take a second, while a storefront's first visitors should not wait on a resize, and
//! several processes never race to make the same copy.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The widths a copy is served at (`?w=`).
pub const WIDTHS: [u32; 4] = [160, 320, 640, 1280];
/// The largest upload.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// The largest side decoded: a few bytes of PNG can claim to be 100,000 pixels square and
/// need gigabytes to decode (a decompression bomb).
pub const MAX_SIDE: u32 = 12_000;
/// The most pixels decoded: 40 megapixels, a large camera's photo (160 MB as RGBA).
pub const MAX_PIXELS: u64 = 40_000_000;
/// What a decoder may allocate: a 40-megapixel image at 8 bits per channel and some room;
/// a 16-bit one that size is refused rather than decoded into twice the memory.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
const JPEG_QUALITY: u8 = 85;

/// How a kept image is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredFormat {
    Jpeg,
    Png,
}

impl StoredFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            StoredFormat::Jpeg => "jpeg",
            StoredFormat::Png => "png",
        }
    }

    pub fn parse(value: &str) -> Option<StoredFormat> {
        match value {
            "jpeg" => Some(StoredFormat::Jpeg),
            "png" => Some(StoredFormat::Png),
            _ => None,
        }
    }

    /// The file name extension of its URL.
    pub fn extension(self) -> &'static str {
        match self {
            StoredFormat::Jpeg => "jpg",
            StoredFormat::Png => "png",
        }
    }

    pub fn from_extension(extension: &str) -> Option<StoredFormat> {
        match extension {
            "jpg" => Some(StoredFormat::Jpeg),
            "png" => Some(StoredFormat::Png),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            StoredFormat::Jpeg => "image/jpeg",
            StoredFormat::Png => "image/png",
        }
    }
}

/// An upload, re-encoded at its own size and at each of [`WIDTHS`] narrower than it.
#[derive(Debug)]
pub struct ProcessedImage {
    pub format: StoredFormat,
    pub width: u32,
    pub height: u32,
    pub full: Vec<u8>,
    /// `(width, bytes)`, widest first.
    pub sized: Vec<(u32, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the file is not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error(
        "the image is {width}×{height} pixels; at most {MAX_SIDE} pixels on a side and {} megapixels are accepted",
        MAX_PIXELS / 1_000_000
    )]
    TooManyPixels { width: u32, height: u32 },
    #[error("the image could not be decoded: {0}")]
    Undecodable(String),
    /// Ours, not the upload's.
    #[error("the image could not be re-encoded: {0}")]
    Encoding(String),
}

/// Decodes, checks, re-encodes and resizes an upload. CPU-bound: run it off the async
/// threads.
pub fn process(bytes: &[u8]) -> Result<ProcessedImage, ImageError> {
    let format = image::guess_format(bytes).map_err(|_| ImageError::NotAnImage)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) {
        return Err(ImageError::NotAnImage);
    }
    // The size is checked here, from the header, before any pixel is decoded; the limit
    // bounds what the decoder may allocate for what passes.
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooManyPixels { width, height });
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let decoded = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    // One 8-bit copy, RGBA only when some pixel is transparent; the decoded image (maybe
    // 16-bit) is dropped before anything else is made.
    let mut image = if decoded.color().has_alpha() {
        let rgba = decoded.into_rgba8();
        if rgba.pixels().any(|pixel| pixel.0[3] < u8::MAX) {
            DynamicImage::ImageRgba8(rgba)
        } else {
            DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).into_rgb8())
        }
    } else {
        DynamicImage::ImageRgb8(decoded.into_rgb8())
    };
    image.apply_orientation(orientation);
    let format = match image {
        DynamicImage::ImageRgba8(_) => StoredFormat::Png,
        _ => StoredFormat::Jpeg,
    };
    let (width, height) = (image.width(), image.height());
    let full = encode(&image, format)?;
    let mut sized = Vec::new();
    // Each copy is resized from the one before it: four small steps cost less than four
    // from the full image, and look the same.
    let mut source: Option<DynamicImage> = None;
    for target in WIDTHS.into_iter().rev().filter(|target| *target < width) {
        let target_height = scaled_height(width, height, target);
        let copy = source
            .as_ref()
            .unwrap_or(&image)
            .resize_exact(target, target_height, FilterType::CatmullRom);
        sized.push((target, encode(&copy, format)?));
        source = Some(copy);
    }
    Ok(ProcessedImage {
        format,
        width,
        height,
        full,
        sized,
    })
}

/// The height of a copy `target` pixels wide, at least 1.
fn scaled_height(width: u32, height: u32, target: u32) -> u32 {
    let scaled = (u64::from(height) * u64::from(target) + u64::from(width) / 2) / u64::from(width);
    u32::try_from(scaled.max(1)).unwrap_or(u32::MAX)
}

/// Encodes an 8-bit RGB (JPEG) or RGBA (PNG) image.
fn encode(image: &DynamicImage, format: StoredFormat) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    let written = match format {
        StoredFormat::Jpeg => JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(image),
        StoredFormat::Png => image.write_to(&mut Cursor::new(&mut out), ImageFormat::Png),
    };
    written.map_err(|error| ImageError::Encoding(error.to_string()))?;
    Ok(out)
}

fn decode_error(error: image::ImageError) -> ImageError {
    ImageError::Undecodable(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn png_of(image: DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .expect("encode");
        out
    }

    #[test]
    fn a_photo_becomes_jpeg_at_every_narrower_width() {
        let photo = RgbImage::from_fn(700, 350, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let processed = process(&png_of(DynamicImage::ImageRgb8(photo))).expect("processed");
        assert_eq!(processed.format, StoredFormat::Jpeg);
        assert_eq!((processed.width, processed.height), (700, 350));
        let widths: Vec<u32> = processed.sized.iter().map(|(width, _)| *width).collect();
        assert_eq!(widths, [640, 320, 160]);
        let small = image::load_from_memory(&processed.sized[2].1).expect("decodes");
        assert_eq!((small.width(), small.height()), (160, 80));
        assert_eq!(image::guess_format(&processed.full).expect("format"), ImageFormat::Jpeg);
    }

    #[test]
    fn transparency_is_kept_as_png() {
        let icon = RgbaImage::from_fn(40, 40, |x, _| Rgba([200, 10, 10, if x < 20 { 0 } else { 255 }]));
        let processed = process(&png_of(DynamicImage::ImageRgba8(icon))).expect("processed");
        assert_eq!(processed.format, StoredFormat::Png);
        assert!(processed.sized.is_empty(), "no copy is wider than the original");
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(matches!(process(b"GIF89a...."), Err(ImageError::NotAnImage)));
        assert!(matches!(process(b"%PDF-1.7"), Err(ImageError::NotAnImage)));
        let mut truncated = png_of(DynamicImage::ImageRgb8(RgbImage::new(50, 50)));
        truncated.truncate(60);
        assert!(matches!(process(&truncated), Err(ImageError::Undecodable(_))));
    }

    #[test]
    fn heights_scale_and_never_reach_zero() {
        assert_eq!(scaled_height(4000, 3000, 1280), 960);
        assert_eq!(scaled_height(10_000, 10, 160), 1);
    }
}
