//! Uploaded images are decoded and encoded again before they are stored,
//! and a thumbnail is made for the agent's view.
//!
//! Re-encoding keeps the pixels and drops everything else: EXIF (a phone
//! photo's GPS position, its serial number), XMP, comments, ICC profiles,
//! and any payload hidden after the image data. The EXIF orientation is
//! applied to the pixels first, so a photo taken upright stays upright.
//! JPEGs stay JPEG (quality 85); PNG, GIF (its first frame) and WebP become
//! PNG, which every browser shows and which loses nothing; the stored name
//! follows (`koban_policy::desk::attachment::rename_for`).
//!
//! A decompression bomb (a small file that claims to be 100 000 × 100 000
//! pixels) is refused from its header, before any pixel is decoded: limits
//! on width, height, pixel count and the decoder's allocations.
//!
//! Decoding is CPU-heavy and synchronous: [`process`] runs it on the
//! blocking pool, at most one job per core at a time.
#![warn(missing_docs)]

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use koban_policy::desk::attachment::FileType;
use std::io::Cursor;
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// How large an image may be decoded, and how large its thumbnail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Widest accepted image, in pixels.
    pub max_width: u32,
    /// Tallest accepted image, in pixels.
    pub max_height: u32,
    /// Most pixels (width × height) accepted.
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate at once.
    pub max_alloc: u64,
    /// The longest side of a thumbnail, in pixels.
    pub thumbnail_size: u32,
}

impl Default for ImageLimits {
    /// 40 megapixels (a 48 MP phone sensor saves 12 MP images), no side
    /// over 16 384, 256 MiB of decoder memory; thumbnails of 320 pixels.
    fn default() -> Self {
        ImageLimits {
            max_width: 16_384,
            max_height: 16_384,
            max_pixels: 40_000_000,
            max_alloc: 256 * 1024 * 1024,
            thumbnail_size: 320,
        }
    }
}

/// An encoded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// Its format.
    pub file_type: FileType,
    /// The encoded bytes.
    pub bytes: Bytes,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// An uploaded image made safe to store and show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The re-encoded image: the same pixels, no metadata.
    pub image: Encoded,
    /// A smaller copy (the image itself when it is already small enough).
    pub thumbnail: Encoded,
}

/// Why an image could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The file type is not a raster image.
    #[error("{} is not an image type", .0.code())]
    NotAnImage(FileType),
    /// The image is larger than the limits (possibly a decompression bomb).
    #[error("the image's dimensions exceed the limits: {0}")]
    TooLarge(String),
    /// The content is not a valid image of its type.
    #[error("the image cannot be decoded: {0}")]
    Undecodable(String),
    /// Encoding failed (a bug, or memory).
    #[error("the image cannot be encoded: {0}")]
    Encode(String),
}

impl ImageError {
    /// Stable machine-readable reason, beside those of
    /// `koban_policy::desk::attachment::Refusal::code`.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::NotAnImage(_) => "attachment_type_refused",
            ImageError::TooLarge(_) => "attachment_image_too_large",
            ImageError::Undecodable(_) => "attachment_image_invalid",
            ImageError::Encode(_) => "attachment_image_failed",
        }
    }
}

/// Re-encodes and thumbnails an image of `file_type` (as the attachment
/// check detected it) on the blocking pool.
pub async fn process(
    bytes: Bytes,
    file_type: FileType,
    limits: ImageLimits,
) -> Result<Processed, ImageError> {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    });
    let _permit = permits
        .acquire()
        .await
        .map_err(|e| ImageError::Encode(e.to_string()))?;
    tokio::task::spawn_blocking(move || reencode(&bytes, file_type, &limits))
        .await
        .map_err(|e| ImageError::Encode(format!("image task failed: {e}")))?
}

/// Re-encodes and thumbnails an image synchronously (CPU-heavy; see [`process`]).
pub fn reencode(
    bytes: &[u8],
    file_type: FileType,
    limits: &ImageLimits,
) -> Result<Processed, ImageError> {
    let image = decode(bytes, file_type, limits)?;
    let out_type = match file_type {
        FileType::Jpeg => FileType::Jpeg,
        _ => FileType::Png,
    };
    let thumbnail =
        if image.width() > limits.thumbnail_size || image.height() > limits.thumbnail_size {
            encode(
                &image.thumbnail(limits.thumbnail_size, limits.thumbnail_size),
                out_type,
            )?
        } else {
            encode(&image, out_type)?
        };
    Ok(Processed {
        image: encode(&image, out_type)?,
        thumbnail,
    })
}

/// Decodes with the limits checked from the header, before the pixels.
fn decode(
    bytes: &[u8],
    file_type: FileType,
    limits: &ImageLimits,
) -> Result<DynamicImage, ImageError> {
    let format = match file_type {
        FileType::Png => ImageFormat::Png,
        FileType::Jpeg => ImageFormat::Jpeg,
        FileType::Gif => ImageFormat::Gif,
        FileType::Webp => ImageFormat::WebP,
        other => return Err(ImageError::NotAnImage(other)),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(limits.max_width);
    decoder_limits.max_image_height = Some(limits.max_height);
    decoder_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageError::TooLarge(format!(
            "{width}×{height} is more than {} pixels",
            limits.max_pixels
        )));
    }
    // A broken EXIF block costs the photo its rotation, not its upload.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(classify)?;
    image.apply_orientation(orientation);
    Ok(image)
}

fn classify(e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(l) => ImageError::TooLarge(l.to_string()),
        other => ImageError::Undecodable(other.to_string()),
    }
}

fn encode(image: &DynamicImage, file_type: FileType) -> Result<Encoded, ImageError> {
    let mut out = Vec::new();
    let written = match file_type {
        FileType::Jpeg => {
            // JPEG has no alpha channel; grey stays grey.
            let flat = if image.color().has_color() {
                DynamicImage::ImageRgb8(image.to_rgb8())
            } else {
                DynamicImage::ImageLuma8(image.to_luma8())
            };
            flat.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 85))
        }
        _ => {
            // Eight bits a channel: what screens show, and half the bytes of sixteen.
            let eight = if image.color().has_alpha() {
                DynamicImage::ImageRgba8(image.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.to_rgb8())
            };
            eight.write_with_encoder(PngEncoder::new_with_quality(
                &mut out,
                CompressionType::Default,
                FilterType::Adaptive,
            ))
        }
    };
    written.map_err(|e| ImageError::Encode(e.to_string()))?;
    Ok(Encoded {
        file_type: if file_type == FileType::Jpeg {
            FileType::Jpeg
        } else {
            FileType::Png
        },
        bytes: Bytes::from(out),
        width: image.width(),
        height: image.height(),
    })
}
