//! Attachments' shared layer: the content-addressed blob store on a local
//! directory and on a real S3-compatible server (moto), the checks by
//! content, and images re-encoded without their metadata.
//!
//! moto comes from PyPI, pinned, into a venv `scripts/test` makes
//! (`KOBAN_MOTO_SERVER` names another binary). Without it the S3 test is
//! skipped, except under CI=true, where it fails.

use bytes::Bytes;
use koban::blobs::images::{self, ImageError, ImageLimits};
use koban::blobs::{BlobError, BlobId, BlobStore};
use koban_policy::desk::attachment::{self, FileType, Limits, Refusal, RefusedType};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

/// Put, get, dedupe, exists and delete, the same on every backend.
async fn exercise(store: &BlobStore) {
    let id = store.put(Bytes::from_static(b"hello")).await.unwrap();
    assert_eq!(id.as_str(), HELLO_SHA256);
    assert_eq!(id, BlobId::of(b"hello"));
    assert!(store.exists(&id).await.unwrap());
    assert_eq!(
        store.get(&id).await.unwrap().as_deref(),
        Some(&b"hello"[..])
    );
    // The same content again: the same id, stored once.
    let again = store.put(Bytes::from_static(b"hello")).await.unwrap();
    assert_eq!(again, id);

    let big = Bytes::from(
        (0..3_000_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let big_id = store.put(big.clone()).await.unwrap();
    assert_eq!(store.get(&big_id).await.unwrap(), Some(big));

    let missing = BlobId::of(b"never stored");
    assert!(!store.exists(&missing).await.unwrap());
    assert_eq!(store.get(&missing).await.unwrap(), None);

    store.delete(&id).await.unwrap();
    assert!(!store.exists(&id).await.unwrap());
    assert_eq!(store.get(&id).await.unwrap(), None);
    // Deleting what is not there succeeds.
    store.delete(&id).await.unwrap();
    store.delete(&missing).await.unwrap();
    // The other blob is untouched.
    assert!(store.exists(&big_id).await.unwrap());
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn blob_local_store_put_get_dedupe_delete() {
    let data = tempfile::tempdir().unwrap();
    let store = BlobStore::from_url("", data.path()).unwrap();
    assert!(matches!(store, BlobStore::Local(_)));
    exercise(&store).await;

    // Fan-out layout, one file per content, no temporary file left behind.
    let root = data.path().join("blobs");
    let id = store.put(Bytes::from_static(b"hello")).await.unwrap();
    store.put(Bytes::from_static(b"hello")).await.unwrap();
    let expected = root.join("2c/f2").join(HELLO_SHA256);
    assert!(expected.is_file());
    let files = files_under(&root);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files_under(&root.join("tmp")).is_empty());

    // A file URL names the directory itself.
    let elsewhere = tempfile::tempdir().unwrap();
    let url = format!("file://{}", elsewhere.path().display());
    let store2 = BlobStore::from_url(&url, data.path()).unwrap();
    let id2 = store2.put(Bytes::from_static(b"hello")).await.unwrap();
    assert_eq!(id2, id);
    assert!(elsewhere.path().join("2c/f2").join(HELLO_SHA256).is_file());
    exercise(&store2).await;

    // Content changed on disk is reported, never served.
    std::fs::write(&expected, b"jello").unwrap();
    assert!(matches!(store.get(&id).await, Err(BlobError::Corrupt(_))));
}

#[tokio::test]
async fn blob_ids_refuse_path_traversal() {
    for bad in [
        "../../etc/passwd",
        "..",
        "",
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982",
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b98245",
        "2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824",
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b98/4",
        "../f24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b982\0",
    ] {
        assert!(
            matches!(BlobId::parse(bad), Err(BlobError::InvalidId)),
            "{bad:?}"
        );
        assert!(serde_json::from_value::<BlobId>(serde_json::json!(bad)).is_err());
    }
    let id: BlobId = HELLO_SHA256.parse().unwrap();
    assert_eq!(id.relative_path(), format!("2c/f2/{HELLO_SHA256}"));
    assert_eq!(
        serde_json::to_value(&id).unwrap(),
        serde_json::json!(HELLO_SHA256)
    );
}

#[test]
fn blob_store_urls() {
    let data = Path::new("/var/lib/koban");
    for bad in [
        "ftp://host/x",
        "not a url",
        "s3://",
        "s3:///prefix",
        "s3://bucket/p?regoin=us-east-1",
        "s3://bucket/p?endpoint=ftp://x",
        "s3://bucket/p?virtual_hosted=maybe",
        "s3://KEYONLY@bucket/p",
        "file://host/x",
        "file:///x?y=1",
    ] {
        assert!(BlobStore::from_url(bad, data).is_err(), "{bad}");
    }
    let secret = "s3cr%2Fet%2Bkey";
    let url = format!(
        "s3://AKIDEXAMPLE:{secret}@bucket/some/prefix/?endpoint=http://127.0.0.1:9/&region=eu-west-1"
    );
    let store = BlobStore::from_url(&url, data).unwrap();
    let shown = format!("{store} {store:?}");
    assert!(!shown.contains("s3cr"), "{shown}");
    assert!(
        shown.contains("s3://bucket/some/prefix at http://127.0.0.1:9"),
        "{shown}"
    );
    let err = BlobStore::from_url(&format!("{url}&typo=1"), data).unwrap_err();
    assert!(!err.contains("s3cr"), "{err}");
    assert!(matches!(
        BlobStore::from_url("s3://bucket", data).unwrap(),
        BlobStore::S3(_)
    ));
}

// ---- S3 on a real server (moto) ----

/// Where `scripts/test` installs it.
const MOTO_SERVER: &str = "/var/tmp/koban-moto/bin/moto_server";

pub(crate) fn moto_binary() -> Option<PathBuf> {
    let path = std::env::var_os("KOBAN_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(MOTO_SERVER));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but moto_server is missing at {}: scripts/test installs it",
            path.display()
        );
    }
    eprintln!(
        "moto_server not found at {}: skipping the S3 blob test (scripts/test installs it)",
        path.display()
    );
    None
}

/// A moto server on a free port, stopped (by its pid) when dropped.
pub(crate) struct Moto {
    child: Child,
    pub(crate) endpoint: String,
}

impl Moto {
    pub(crate) async fn start(binary: &Path) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moto_server");
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited at start: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not listen within a minute"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_s3_store_on_moto() {
    let Some(binary) = moto_binary() else { return };
    let moto = Moto::start(&binary).await;
    let url = format!(
        "s3://koban-test:koban%2Fsecret@koban-blobs/attachments?endpoint={}&region=us-east-1",
        moto.endpoint
    );
    let store = BlobStore::from_url(&url, Path::new("/nonexistent")).unwrap();
    let BlobStore::S3(s3) = &store else {
        panic!("not an S3 store: {store}")
    };

    // Create the bucket with a request signed by the store's own credentials.
    use object_store::signer::Signer;
    let create = s3
        .client()
        .signed_url(
            http::Method::PUT,
            &object_store::path::Path::from(""),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let answer = reqwest::Client::new()
        .put(create.as_str())
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "create bucket: {answer:?}");

    exercise(&store).await;

    // The same layout as on disk, under the prefix.
    let id = store.put(Bytes::from_static(b"hello")).await.unwrap();
    use object_store::ObjectStoreExt;
    let key = object_store::path::Path::from(format!("attachments/2c/f2/{id}"));
    let meta = s3.client().head(&key).await.unwrap();
    assert_eq!(meta.size, 5);

    // A stored object whose content changed is reported, never served.
    s3.client()
        .put(&key, Bytes::from_static(b"jello").into())
        .await
        .unwrap();
    assert!(matches!(store.get(&id).await, Err(BlobError::Corrupt(_))));

    // A bucket that does not exist is an error, not "absent".
    let wrong = BlobStore::from_url(
        &format!(
            "s3://koban-test:x@no-such-bucket?endpoint={}",
            moto.endpoint
        ),
        Path::new("/nonexistent"),
    )
    .unwrap();
    assert!(wrong.put(Bytes::from_static(b"x")).await.is_err());
}

// ---- Checks by content ----

#[test]
fn attachment_refuses_each_executable_and_archive() {
    let l = Limits::default();
    // Real files: this test binary (ELF) and a shell script.
    let mut elf = std::fs::read("/proc/self/exe").unwrap();
    elf.truncate(64 * 1024);
    let script = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/test")).unwrap();
    let mut tar = vec![0u8; 1024];
    tar[..9].copy_from_slice(b"notes.txt");
    tar[257..263].copy_from_slice(b"ustar\0");
    let samples: Vec<(Vec<u8>, RefusedType)> = vec![
        (elf, RefusedType::Elf),
        (script, RefusedType::Script),
        (
            b"MZ\x90\0\x03\0\0\0\x04\0\0\0".to_vec(),
            RefusedType::WindowsExecutable,
        ),
        (b"\xcf\xfa\xed\xfe\x07\0\0\x01".to_vec(), RefusedType::MachO),
        (b"\0asm\x01\0\0\0".to_vec(), RefusedType::Wasm),
        (b"PK\x03\x04\x14\0\0\0\x08\0".to_vec(), RefusedType::Zip),
        (b"Rar!\x1a\x07\x01\0".to_vec(), RefusedType::Rar),
        (b"7z\xbc\xaf\x27\x1c\0\x04".to_vec(), RefusedType::SevenZip),
        (b"\x1f\x8b\x08\0\0\0\0\0\0\x03".to_vec(), RefusedType::Gzip),
        (tar, RefusedType::Tar),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0".to_vec(),
            RefusedType::Ole,
        ),
    ];
    for (bytes, expected) in samples {
        for name in [
            "screenshot.png",
            "log.txt",
            "photo.jpg",
            "setup.exe",
            "noext",
        ] {
            let refusal = attachment::inspect(name, &bytes, &l).unwrap_err();
            assert_eq!(
                refusal,
                Refusal::TypeRefused { detected: expected },
                "{name}"
            );
            assert_eq!(refusal.code(), "attachment_type_refused");
        }
    }
    // And the other reasons, with their codes.
    assert_eq!(
        attachment::inspect("a.txt", b"", &l).unwrap_err().code(),
        "attachment_empty"
    );
    let eleven_mib = vec![b'a'; 11 * 1024 * 1024];
    assert_eq!(
        attachment::inspect("a.txt", &eleven_mib, &l)
            .unwrap_err()
            .code(),
        "attachment_too_large"
    );
    assert_eq!(
        attachment::inspect("a.html", b"<script>", &l)
            .unwrap_err()
            .code(),
        "attachment_type_mismatch"
    );
    assert_eq!(
        attachment::check_count(10, 1, &l).unwrap_err().code(),
        "attachment_too_many"
    );
}

// ---- Images ----

fn gradient(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8])
    })
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(gradient(width, height))
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 90,
        ))
        .unwrap();
    out
}

pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(gradient(width, height))
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
        .unwrap();
    out
}

const SECRET_PLACE: &[u8] = b"KOBAN-GPS 35.681236N 139.767125E Tokyo Station";
const LATITUDE: [u8; 24] = [
    0, 0, 0, 35, 0, 0, 0, 1, 0, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0x1a, 0x0a, 0, 0, 0, 100,
];

/// An EXIF block (big-endian TIFF): orientation 6 (turn 90° clockwise), an
/// image description, and a GPS directory with a latitude.
fn exif_tiff() -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
    // IFD0 at 8: three entries, sorted by tag.
    let gps_ifd = 8 + 2 + 3 * 12 + 4;
    let latitude = gps_ifd + 2 + 12 + 4;
    let description = latitude + 24;
    t.extend_from_slice(&3u16.to_be_bytes());
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&kind.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value);
    };
    entry(
        &mut t,
        0x010e,
        2,
        SECRET_PLACE.len() as u32 + 1,
        (description as u32).to_be_bytes(),
    );
    entry(&mut t, 0x0112, 3, 1, [0, 6, 0, 0]);
    entry(&mut t, 0x8825, 4, 1, (gps_ifd as u32).to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(t.len(), gps_ifd);
    t.extend_from_slice(&1u16.to_be_bytes());
    entry(&mut t, 0x0002, 5, 3, (latitude as u32).to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(t.len(), latitude);
    t.extend_from_slice(&LATITUDE);
    t.extend_from_slice(SECRET_PLACE);
    t.push(0);
    t
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let crc = crc32(&c[4..]);
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

#[tokio::test]
async fn attachment_images_lose_exif_gps() {
    // A phone photo: 64×48 pixels stored sideways, EXIF with a GPS position.
    let plain = jpeg(64, 48);
    let mut app1 = vec![0xff, 0xe1];
    let tiff = exif_tiff();
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    let mut photo = plain[..2].to_vec();
    photo.extend_from_slice(&app1);
    photo.extend_from_slice(&plain[2..]);
    assert!(contains(&photo, SECRET_PLACE) && contains(&photo, &LATITUDE));

    let accepted = attachment::inspect("IMG_0001.JPG", &photo, &Limits::default()).unwrap();
    assert_eq!(accepted.file_type, FileType::Jpeg);
    let done = images::process(
        Bytes::from(photo),
        accepted.file_type,
        ImageLimits::default(),
    )
    .await
    .unwrap();
    let out = &done.image.bytes;
    assert_eq!(done.image.file_type, FileType::Jpeg);
    assert!(out.starts_with(b"\xff\xd8\xff"));
    assert!(!contains(out, SECRET_PLACE));
    assert!(!contains(out, &LATITUDE));
    assert!(!contains(out, b"Exif"));
    // The orientation was applied to the pixels before it was dropped.
    assert_eq!((done.image.width, done.image.height), (48, 64));
    let decoded = image::load_from_memory(out).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (48, 64));

    // PNG: text and eXIf chunks go too.
    let plain = png(40, 30);
    let mut shot = plain[..33].to_vec();
    shot.extend_from_slice(&png_chunk(b"tEXt", &[b"Comment\0", SECRET_PLACE].concat()));
    shot.extend_from_slice(&png_chunk(b"eXIf", &tiff));
    shot.extend_from_slice(&plain[33..]);
    let done = images::reencode(&shot, FileType::Png, &ImageLimits::default()).unwrap();
    assert!(!contains(&done.image.bytes, SECRET_PLACE));
    assert!(!contains(&done.image.bytes, b"eXIf"));
    assert!(!contains(&done.image.bytes, b"tEXt"));
    // Its eXIf orientation (turn 90° clockwise) was applied to the pixels.
    assert!(
        image::load_from_memory(&done.image.bytes)
            .unwrap()
            .to_rgb8()
            == image::imageops::rotate90(&gradient(40, 30))
    );
}

#[test]
fn attachment_images_thumbnails_and_formats() {
    let limits = ImageLimits::default();
    let big = images::reencode(&png(1000, 500), FileType::Png, &limits).unwrap();
    assert_eq!((big.image.width, big.image.height), (1000, 500));
    assert_eq!((big.thumbnail.width, big.thumbnail.height), (320, 160));
    let thumb = image::load_from_memory(&big.thumbnail.bytes).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 160));

    // Small images are their own thumbnail.
    let small = images::reencode(&png(20, 10), FileType::Png, &limits).unwrap();
    assert_eq!(small.thumbnail, small.image);

    // WebP and GIF become PNG; the stored name follows.
    let mut webp = Vec::new();
    image::DynamicImage::ImageRgb8(gradient(30, 20))
        .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut webp))
        .unwrap();
    let accepted = attachment::inspect("chat.webp", &webp, &Limits::default()).unwrap();
    assert_eq!(accepted.file_type, FileType::Webp);
    let done = images::reencode(&webp, accepted.file_type, &limits).unwrap();
    assert_eq!(done.image.file_type, FileType::Png);
    assert_eq!(
        attachment::rename_for(&accepted.name, done.image.file_type),
        "chat.png"
    );
    let mut gif = Vec::new();
    image::DynamicImage::ImageRgb8(gradient(30, 20))
        .write_to(&mut std::io::Cursor::new(&mut gif), image::ImageFormat::Gif)
        .unwrap();
    let done = images::reencode(&gif, FileType::Gif, &limits).unwrap();
    assert_eq!(done.image.file_type, FileType::Png);
    assert_eq!((done.image.width, done.image.height), (30, 20));

    // Broken content and non-images.
    let mut broken = png(20, 10);
    broken.truncate(40);
    assert!(matches!(
        images::reencode(&broken, FileType::Png, &limits),
        Err(ImageError::Undecodable(_))
    ));
    assert_eq!(
        images::reencode(b"%PDF-1.4", FileType::Pdf, &limits)
            .unwrap_err()
            .code(),
        "attachment_type_refused"
    );
}

/// A real 1×1 PNG whose header claims other dimensions.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(1, 1);
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[tokio::test]
async fn attachment_images_refuse_decompression_bombs() {
    let limits = ImageLimits::default();
    for (width, height) in [
        (100_000, 100_000),
        (20_000, 10),
        (10, 20_000),
        (16_000, 16_000),
    ] {
        let bomb = png_claiming(width, height);
        assert!(bomb.len() < 100, "a bomb is small");
        let started = Instant::now();
        let err = images::process(Bytes::from(bomb), FileType::Png, limits)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ImageError::TooLarge(_)),
            "{width}×{height}: {err:?}"
        );
        assert_eq!(err.code(), "attachment_image_too_large");
        // Refused from the header, without decoding.
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    // Tighter limits apply to real images too.
    let tight = ImageLimits {
        max_pixels: 100,
        ..limits
    };
    assert!(matches!(
        images::reencode(&png(20, 10), FileType::Png, &tight),
        Err(ImageError::TooLarge(_))
    ));
    assert!(images::reencode(&png(10, 10), FileType::Png, &tight).is_ok());
}
