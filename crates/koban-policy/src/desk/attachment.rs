//! Which uploaded files a ticket accepts, decided by their content and not
//! by their name: screenshots (PNG, JPEG, GIF, WebP), PDFs and plain-text
//! logs. Executables, scripts and archives are refused, whatever they are
//! called; a name must agree with what the content is.
//!
//! Archives are refused rather than stored unopened: support cannot read
//! them without opening them on an agent's machine, which is where a
//! malicious one does its harm, and a requester can always attach the
//! screenshot or the log itself. Office documents are ZIP or OLE files and
//! fall under the same rule. HEIC/AVIF photos are refused too: Koban cannot
//! decode them, so it could neither strip their location metadata nor
//! thumbnail them; phones export screenshots as PNG or JPEG.
//!
//! A reason's [`Refusal::code`] is stable: the API returns it as a
//! field-level reason and the pages translate it as `reason-<code>`.
#![warn(missing_docs)]

use serde::{Deserialize, Serialize};

/// The size and count limits of one message's (or ticket's) attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Most files one message or ticket may carry.
    pub max_files: usize,
}

impl Default for Limits {
    /// 10 MiB and 10 files: a phone screenshot or a day of logs fits.
    fn default() -> Self {
        Limits {
            max_bytes: 10 * 1024 * 1024,
            max_files: 10,
        }
    }
}

/// A file type Koban accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// GIF image.
    Gif,
    /// WebP image.
    Webp,
    /// PDF document.
    Pdf,
    /// UTF-8 (or ASCII) text, such as a log.
    Text,
}

impl FileType {
    /// Every accepted type.
    pub const ALL: [FileType; 6] = [
        FileType::Png,
        FileType::Jpeg,
        FileType::Gif,
        FileType::Webp,
        FileType::Pdf,
        FileType::Text,
    ];

    /// Stable machine-readable name.
    pub fn code(self) -> &'static str {
        match self {
            FileType::Png => "png",
            FileType::Jpeg => "jpeg",
            FileType::Gif => "gif",
            FileType::Webp => "webp",
            FileType::Pdf => "pdf",
            FileType::Text => "text",
        }
    }

    /// The media type to serve it with.
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
            FileType::Gif => "image/gif",
            FileType::Webp => "image/webp",
            FileType::Pdf => "application/pdf",
            FileType::Text => "text/plain; charset=utf-8",
        }
    }

    /// The extension a stored name gets when it has none of [`Self::extensions`].
    pub fn extension(self) -> &'static str {
        self.extensions()[0]
    }

    /// The extensions (lower case, without the dot) a name of this type may have.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileType::Png => &["png"],
            FileType::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            FileType::Gif => &["gif"],
            FileType::Webp => &["webp"],
            FileType::Pdf => &["pdf"],
            FileType::Text => &["txt", "log", "text", "csv", "json", "md"],
        }
    }

    /// Whether it is a raster image (re-encoded and thumbnailed on upload).
    pub fn is_image(self) -> bool {
        matches!(
            self,
            FileType::Png | FileType::Jpeg | FileType::Gif | FileType::Webp
        )
    }

    fn of_extension(ext: &str) -> Option<FileType> {
        FileType::ALL
            .into_iter()
            .find(|t| t.extensions().contains(&ext))
    }
}

/// What a refused file's content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusedType {
    /// Linux/BSD executable or library (ELF).
    Elf,
    /// Windows or DOS executable or library (MZ/PE).
    WindowsExecutable,
    /// macOS executable or library (Mach-O, also universal binaries and Java classes, which share its magic).
    MachO,
    /// A script with an interpreter line (`#!`).
    Script,
    /// WebAssembly module.
    Wasm,
    /// Android Dalvik executable.
    Dex,
    /// Windows shortcut (`.lnk`), which runs a command when opened.
    Shortcut,
    /// ZIP archive, including Office documents, JARs and APKs.
    Zip,
    /// RAR archive.
    Rar,
    /// 7-Zip archive.
    SevenZip,
    /// gzip stream.
    Gzip,
    /// bzip2 stream.
    Bzip2,
    /// xz stream.
    Xz,
    /// Zstandard stream.
    Zstd,
    /// POSIX tar archive.
    Tar,
    /// Windows cabinet.
    Cab,
    /// Unix `ar` archive (also Debian packages).
    Ar,
    /// OLE compound file: legacy Office documents (which may carry macros) and MSI installers.
    Ole,
    /// HEIF/HEIC/AVIF image, which Koban cannot decode to strip its metadata.
    Heif,
    /// Nothing Koban recognises.
    Unknown,
}

impl RefusedType {
    /// Stable machine-readable name.
    pub fn code(self) -> &'static str {
        match self {
            RefusedType::Elf => "elf",
            RefusedType::WindowsExecutable => "windows_executable",
            RefusedType::MachO => "mach_o",
            RefusedType::Script => "script",
            RefusedType::Wasm => "wasm",
            RefusedType::Dex => "dex",
            RefusedType::Shortcut => "shortcut",
            RefusedType::Zip => "zip",
            RefusedType::Rar => "rar",
            RefusedType::SevenZip => "seven_zip",
            RefusedType::Gzip => "gzip",
            RefusedType::Bzip2 => "bzip2",
            RefusedType::Xz => "xz",
            RefusedType::Zstd => "zstd",
            RefusedType::Tar => "tar",
            RefusedType::Cab => "cab",
            RefusedType::Ar => "ar",
            RefusedType::Ole => "ole",
            RefusedType::Heif => "heif",
            RefusedType::Unknown => "unknown",
        }
    }

    /// Whether it runs code when opened.
    pub fn is_executable(self) -> bool {
        matches!(
            self,
            RefusedType::Elf
                | RefusedType::WindowsExecutable
                | RefusedType::MachO
                | RefusedType::Script
                | RefusedType::Wasm
                | RefusedType::Dex
                | RefusedType::Shortcut
        )
    }

    /// Whether it is an archive or a compressed stream.
    pub fn is_archive(self) -> bool {
        matches!(
            self,
            RefusedType::Zip
                | RefusedType::Rar
                | RefusedType::SevenZip
                | RefusedType::Gzip
                | RefusedType::Bzip2
                | RefusedType::Xz
                | RefusedType::Zstd
                | RefusedType::Tar
                | RefusedType::Cab
                | RefusedType::Ar
        )
    }
}

/// What a file's content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "type", rename_all = "snake_case")]
pub enum Detected {
    /// A type Koban accepts.
    Accepted(FileType),
    /// A type Koban refuses.
    Refused(RefusedType),
}

/// A file that may be attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// What its content is.
    pub file_type: FileType,
    /// The name to store and offer it under: the declared name's last path
    /// component, without control characters, bounded, and ending in an
    /// extension of `file_type`.
    pub name: String,
}

/// Why a file (or one more file) may not be attached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    /// The file has no content.
    #[error("the file is empty")]
    Empty,
    /// The file is larger than the limit.
    #[error("the file is {size} bytes; at most {max} are accepted")]
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        max: u64,
    },
    /// The content is of a type Koban refuses.
    #[error("{} files are not accepted", .detected.code())]
    TypeRefused {
        /// What the content is.
        detected: RefusedType,
    },
    /// The name's extension says something other than the content is.
    #[error("the name ends in .{declared} but the content is {}", .detected.code())]
    TypeMismatch {
        /// The name's extension, lower case.
        declared: String,
        /// What the content is.
        detected: FileType,
    },
    /// The message or ticket already has the most files it may carry.
    #[error("at most {max} files may be attached")]
    TooMany {
        /// How many there would be.
        count: usize,
        /// The limit.
        max: usize,
    },
}

impl Refusal {
    /// Stable machine-readable reason, in the snake_case of the API's field
    /// reasons (translated as `reason-<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Empty => "attachment_empty",
            Refusal::TooLarge { .. } => "attachment_too_large",
            Refusal::TypeRefused { .. } => "attachment_type_refused",
            Refusal::TypeMismatch { .. } => "attachment_type_mismatch",
            Refusal::TooMany { .. } => "attachment_too_many",
        }
    }
}

/// Longest stored name, in characters (file systems allow 255 bytes; CJK
/// characters take three in UTF-8).
pub const MAX_NAME_CHARS: usize = 80;

/// Checks one file: not empty, within the size limit, of an accepted type by
/// its content, and named accordingly. `name` is what the uploader called it.
///
/// A name without an extension gets the type's; a raster image named as
/// another raster type (`shot.png` holding a JPEG) gets its extension
/// corrected, since it is re-encoded anyway; any other disagreement
/// (`notes.txt` holding a PDF, `run.sh` or `page.html` holding text) is
/// refused, because the name is what a downloader's system acts on.
pub fn inspect(name: &str, bytes: &[u8], limits: &Limits) -> Result<Accepted, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(Refusal::TooLarge {
            size,
            max: limits.max_bytes,
        });
    }
    let file_type = match detect(bytes) {
        Detected::Accepted(t) => t,
        Detected::Refused(detected) => return Err(Refusal::TypeRefused { detected }),
    };
    let (stem, ext) = split_name(name);
    let name = match ext {
        None => with_extension(&stem, file_type),
        Some(ext) if file_type.extensions().contains(&ext.as_str()) => bounded(&stem, &ext),
        Some(ext)
            if file_type.is_image()
                && FileType::of_extension(&ext).is_some_and(FileType::is_image) =>
        {
            with_extension(&stem, file_type)
        }
        Some(declared) => {
            return Err(Refusal::TypeMismatch {
                declared,
                detected: file_type,
            })
        }
    };
    Ok(Accepted { file_type, name })
}

/// Checks that `adding` more files fit beside the `existing` ones.
pub fn check_count(existing: usize, adding: usize, limits: &Limits) -> Result<(), Refusal> {
    let count = existing.saturating_add(adding);
    if count > limits.max_files {
        return Err(Refusal::TooMany {
            count,
            max: limits.max_files,
        });
    }
    Ok(())
}

/// `name` (an accepted file's stored name) with `file_type`'s extension in
/// place of its own: for an image re-encoded to another format.
pub fn rename_for(name: &str, file_type: FileType) -> String {
    let (stem, ext) = split_name(name);
    match ext {
        Some(ext) if file_type.extensions().contains(&ext.as_str()) => bounded(&stem, &ext),
        _ => with_extension(&stem, file_type),
    }
}

/// What `bytes` are, from their first bytes (and, for text, all of them).
pub fn detect(bytes: &[u8]) -> Detected {
    if let Some(refused) = refused_magic(bytes) {
        return Detected::Refused(refused);
    }
    let b = bytes;
    let accepted = if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FileType::Png)
    } else if b.starts_with(b"\xff\xd8\xff") {
        Some(FileType::Jpeg)
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some(FileType::Gif)
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some(FileType::Webp)
    } else if b.starts_with(b"%PDF-") {
        Some(FileType::Pdf)
    } else if is_text(b) {
        Some(FileType::Text)
    } else {
        None
    };
    match accepted {
        Some(t) => Detected::Accepted(t),
        None => Detected::Refused(RefusedType::Unknown),
    }
}

/// The magic numbers of what is refused, checked before anything else.
fn refused_magic(b: &[u8]) -> Option<RefusedType> {
    const PREFIXES: &[(&[u8], RefusedType)] = &[
        (b"\x7fELF", RefusedType::Elf),
        // DOS and PE executables; a text that happens to start with "MZ" is
        // refused too, a price worth paying for never passing a PE.
        (b"MZ", RefusedType::WindowsExecutable),
        (b"\xfe\xed\xfa\xce", RefusedType::MachO),
        (b"\xfe\xed\xfa\xcf", RefusedType::MachO),
        (b"\xce\xfa\xed\xfe", RefusedType::MachO),
        (b"\xcf\xfa\xed\xfe", RefusedType::MachO),
        (b"\xca\xfe\xba\xbe", RefusedType::MachO),
        (b"\xbe\xba\xfe\xca", RefusedType::MachO),
        (b"#!", RefusedType::Script),
        (b"\xef\xbb\xbf#!", RefusedType::Script),
        (b"\0asm", RefusedType::Wasm),
        (b"dex\n", RefusedType::Dex),
        (
            b"\x4c\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46",
            RefusedType::Shortcut,
        ),
        (b"PK\x03\x04", RefusedType::Zip),
        (b"PK\x05\x06", RefusedType::Zip),
        (b"PK\x07\x08", RefusedType::Zip),
        (b"Rar!\x1a\x07", RefusedType::Rar),
        (b"7z\xbc\xaf\x27\x1c", RefusedType::SevenZip),
        (b"\x1f\x8b", RefusedType::Gzip),
        (b"\xfd7zXZ\0", RefusedType::Xz),
        (b"\x28\xb5\x2f\xfd", RefusedType::Zstd),
        (b"MSCF\0\0\0\0", RefusedType::Cab),
        (b"!<arch>\n", RefusedType::Ar),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", RefusedType::Ole),
    ];
    if let Some((_, t)) = PREFIXES.iter().find(|(p, _)| b.starts_with(p)) {
        return Some(*t);
    }
    // bzip2: "BZh", a block size digit, then the block or end-of-stream
    // magic, so a text starting "BZh" is not taken for one.
    if b.len() >= 10
        && b.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&b[3])
        && (&b[4..10] == b"\x31\x41\x59\x26\x53\x59" || &b[4..10] == b"\x17\x72\x45\x38\x50\x90")
    {
        return Some(RefusedType::Bzip2);
    }
    if b.len() >= 262 && &b[257..262] == b"ustar" {
        return Some(RefusedType::Tar);
    }
    // ISO base media files: HEIF/HEIC/AVIF by their brand.
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        const HEIF: &[&[u8; 4]] = &[
            b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif",
            b"avis",
        ];
        if HEIF.iter().any(|brand| &b[8..12] == *brand) {
            return Some(RefusedType::Heif);
        }
    }
    None
}

/// UTF-8 without NUL or control characters other than tab, line breaks,
/// form feed and escape (logs keep their colour codes).
fn is_text(b: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(b) else {
        return false;
    };
    s.chars().all(|c| {
        !c.is_control()
            || matches!(c, '\t' | '\n' | '\r' | '\x0c' | '\x1b')
            || ('\u{80}'..='\u{9f}').contains(&c)
    })
}

/// The declared name's last path component, cleaned, split into a stem and
/// a lower-case extension (ASCII alphanumerics only, else none).
fn split_name(name: &str) -> (String, Option<String>) {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_invisible(*c))
        .collect();
    // Windows drops trailing dots and spaces; leading dots go in `bounded`.
    let cleaned = cleaned.trim().trim_end_matches('.').trim_end();
    match cleaned.rsplit_once('.') {
        Some((stem, ext))
            if !ext.is_empty()
                && ext.len() <= 10
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (stem.trim().to_string(), Some(ext.to_ascii_lowercase()))
        }
        _ => (cleaned.to_string(), None),
    }
}

/// Characters that hide what a name says, such as the right-to-left override
/// that shows `gpj.exe` as `exe.jpg`.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn with_extension(stem: &str, file_type: FileType) -> String {
    bounded(stem, file_type.extension())
}

fn bounded(stem: &str, ext: &str) -> String {
    let stem: String = stem.chars().take(MAX_NAME_CHARS - 1 - ext.len()).collect();
    // A leading dot would hide the file once downloaded.
    let stem = stem.trim().trim_start_matches('.').trim_start();
    let stem = if stem.is_empty() { "attachment" } else { stem };
    format!("{stem}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every refused magic, with a sample of its content.
    fn refused_samples() -> Vec<(Vec<u8>, RefusedType)> {
        let mut tar = vec![0u8; 512];
        tar[..8].copy_from_slice(b"notes.md");
        tar[257..263].copy_from_slice(b"ustar\0");
        vec![
            (b"\x7fELF\x02\x01\x01".to_vec(), RefusedType::Elf),
            (
                b"MZ\x90\0\x03\0\0\0PE\0\0".to_vec(),
                RefusedType::WindowsExecutable,
            ),
            (b"\xcf\xfa\xed\xfe\x07\0\0\x01".to_vec(), RefusedType::MachO),
            (b"\xfe\xed\xfa\xce".to_vec(), RefusedType::MachO),
            (b"\xca\xfe\xba\xbe\0\0\0\x02".to_vec(), RefusedType::MachO),
            (b"#!/bin/sh\nrm -rf ~\n".to_vec(), RefusedType::Script),
            (
                b"\xef\xbb\xbf#!/usr/bin/env python\n".to_vec(),
                RefusedType::Script,
            ),
            (b"\0asm\x01\0\0\0".to_vec(), RefusedType::Wasm),
            (b"dex\n035\0".to_vec(), RefusedType::Dex),
            (
                b"\x4c\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46\x9b\0".to_vec(),
                RefusedType::Shortcut,
            ),
            (b"PK\x03\x04\x14\0\0\0".to_vec(), RefusedType::Zip),
            (b"PK\x05\x06\0\0\0\0".to_vec(), RefusedType::Zip),
            (b"Rar!\x1a\x07\x01\0".to_vec(), RefusedType::Rar),
            (b"7z\xbc\xaf\x27\x1c\0\x04".to_vec(), RefusedType::SevenZip),
            (b"\x1f\x8b\x08\0\0\0\0\0".to_vec(), RefusedType::Gzip),
            (b"BZh91AY&SY\0\0".to_vec(), RefusedType::Bzip2),
            (b"\xfd7zXZ\0\0\x04".to_vec(), RefusedType::Xz),
            (b"\x28\xb5\x2f\xfd\x24\0".to_vec(), RefusedType::Zstd),
            (tar, RefusedType::Tar),
            (b"MSCF\0\0\0\0\x10\0".to_vec(), RefusedType::Cab),
            (b"!<arch>\ndebian-binary   ".to_vec(), RefusedType::Ar),
            (
                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0".to_vec(),
                RefusedType::Ole,
            ),
            (b"\0\0\0\x18ftypheic\0\0\0\0".to_vec(), RefusedType::Heif),
            (b"\0\0\0\x1cftypavif\0\0\0\0".to_vec(), RefusedType::Heif),
            (b"\x00\x01\x02\x03binary".to_vec(), RefusedType::Unknown),
            (b"\xff\xfeh\0i\0".to_vec(), RefusedType::Unknown),
        ]
    }

    fn accepted_samples() -> Vec<(Vec<u8>, FileType)> {
        vec![
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), FileType::Png),
            (b"\xff\xd8\xff\xe0\0\x10JFIF\0".to_vec(), FileType::Jpeg),
            (b"GIF89a\x01\0\x01\0".to_vec(), FileType::Gif),
            (b"GIF87a\x01\0\x01\0".to_vec(), FileType::Gif),
            (b"RIFF\x24\0\0\0WEBPVP8 ".to_vec(), FileType::Webp),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(), FileType::Pdf),
            (
                "2026-12-04 09:00 ERROR 送信に失敗しました\n\tat broadcast\n\x1b[31mred\x1b[0m\r\n"
                    .as_bytes()
                    .to_vec(),
                FileType::Text,
            ),
            (b"plain ascii".to_vec(), FileType::Text),
            // Looks like bzip2's start, but is not one.
            (b"BZh is how bzip2 starts".to_vec(), FileType::Text),
        ]
    }

    #[test]
    fn detects_each_refused_type() {
        for (bytes, expected) in refused_samples() {
            assert_eq!(detect(&bytes), Detected::Refused(expected), "{expected:?}");
            assert_eq!(
                inspect("screenshot.png", &bytes, &Limits::default()),
                Err(Refusal::TypeRefused { detected: expected })
            );
        }
    }

    #[test]
    fn detects_each_accepted_type() {
        for (bytes, expected) in accepted_samples() {
            assert_eq!(detect(&bytes), Detected::Accepted(expected), "{expected:?}");
            let name = format!("file.{}", expected.extension());
            let accepted = inspect(&name, &bytes, &Limits::default()).unwrap();
            assert_eq!(
                accepted,
                Accepted {
                    file_type: expected,
                    name
                }
            );
        }
    }

    #[test]
    fn executables_and_archives_are_classified() {
        for (_, t) in refused_samples() {
            let expected_exec = matches!(
                t,
                RefusedType::Elf
                    | RefusedType::WindowsExecutable
                    | RefusedType::MachO
                    | RefusedType::Script
                    | RefusedType::Wasm
                    | RefusedType::Dex
                    | RefusedType::Shortcut
            );
            assert_eq!(t.is_executable(), expected_exec, "{t:?}");
            assert!(!(t.is_executable() && t.is_archive()), "{t:?}");
        }
        assert!(RefusedType::Tar.is_archive() && RefusedType::Zip.is_archive());
    }

    #[test]
    fn size_and_emptiness() {
        let limits = Limits {
            max_bytes: 4,
            max_files: 2,
        };
        assert_eq!(inspect("a.txt", b"", &limits), Err(Refusal::Empty));
        assert_eq!(
            inspect("a.txt", b"hello", &limits),
            Err(Refusal::TooLarge { size: 5, max: 4 })
        );
        assert!(inspect("a.txt", b"hell", &limits).is_ok());
        // The size is checked before the content: a huge executable is "too large".
        assert_eq!(
            inspect("a.exe", b"MZ\0\0\0", &limits).unwrap_err().code(),
            "attachment_too_large"
        );
    }

    #[test]
    fn counts() {
        let limits = Limits::default();
        assert_eq!(check_count(0, 10, &limits), Ok(()));
        assert_eq!(check_count(9, 1, &limits), Ok(()));
        assert_eq!(
            check_count(9, 2, &limits),
            Err(Refusal::TooMany { count: 11, max: 10 })
        );
        assert_eq!(
            check_count(usize::MAX, 1, &limits).unwrap_err().code(),
            "attachment_too_many"
        );
    }

    #[test]
    fn names_must_agree_with_content() {
        let png = b"\x89PNG\r\n\x1a\n\0\0";
        let jpeg = b"\xff\xd8\xff\xe0";
        let pdf = b"%PDF-1.4";
        let text = b"log line\n";
        let l = Limits::default();
        let ok = |name: &str, bytes: &[u8]| inspect(name, bytes, &l).map(|a| a.name);
        assert_eq!(ok("Shot.PNG", png), Ok("Shot.png".into()));
        assert_eq!(ok("photo.jpeg", jpeg), Ok("photo.jpeg".into()));
        // A renamed image keeps being an image: its extension is corrected.
        assert_eq!(ok("photo.png", jpeg), Ok("photo.jpg".into()));
        // No extension: the content's.
        assert_eq!(ok("screenshot", png), Ok("screenshot.png".into()));
        assert_eq!(ok("", text), Ok("attachment.txt".into()));
        assert_eq!(ok("app.log", text), Ok("app.log".into()));
        // Any other disagreement is refused.
        for (name, bytes, declared) in [
            ("report.txt", &pdf[..], "txt"),
            ("report.png", &pdf[..], "png"),
            ("notes.pdf", &text[..], "pdf"),
            ("run.sh", &text[..], "sh"),
            ("page.html", &text[..], "html"),
            ("image.svg", &text[..], "svg"),
            ("invoice.exe", &text[..], "exe"),
            ("shot.pdf", &png[..], "pdf"),
        ] {
            let err = inspect(name, bytes, &l).unwrap_err();
            assert_eq!(err.code(), "attachment_type_mismatch", "{name}");
            assert!(
                matches!(err, Refusal::TypeMismatch { declared: ref d, .. } if d == declared),
                "{name}: {err:?}"
            );
        }
        // A ".png" that is an executable is refused as what it is.
        assert_eq!(
            inspect("cute-cat.png", b"MZ\x90\0", &l),
            Err(Refusal::TypeRefused {
                detected: RefusedType::WindowsExecutable
            })
        );
    }

    #[test]
    fn names_are_cleaned() {
        let l = Limits::default();
        let text = b"x";
        let name = |n: &str| inspect(n, text, &l).unwrap().name;
        assert_eq!(name("../../etc/passwd.txt"), "passwd.txt");
        assert_eq!(name("C:\\Users\\me\\log.txt"), "log.txt");
        assert_eq!(name("a\u{0}b\nc.txt"), "abc.txt");
        // Right-to-left override: "log\u{202e}txt.exe" would show as "logexe.txt".
        assert_eq!(
            inspect("log\u{202e}txt.exe", text, &l).unwrap_err().code(),
            "attachment_type_mismatch"
        );
        assert_eq!(name("..."), "attachment.txt");
        assert_eq!(name(".txt"), "attachment.txt");
        let long = format!("{}.log", "日".repeat(500));
        let n = name(&long);
        assert_eq!(n.chars().count(), MAX_NAME_CHARS);
        assert!(n.ends_with(".log"));
    }

    #[test]
    fn rename_after_reencoding() {
        assert_eq!(rename_for("shot.webp", FileType::Png), "shot.png");
        assert_eq!(rename_for("shot.png", FileType::Png), "shot.png");
        assert_eq!(rename_for("photo.jpeg", FileType::Jpeg), "photo.jpeg");
        assert_eq!(rename_for("photo", FileType::Jpeg), "photo.jpg");
    }

    #[test]
    fn codes_are_stable() {
        let codes = [
            Refusal::Empty,
            Refusal::TooLarge { size: 2, max: 1 },
            Refusal::TypeRefused {
                detected: RefusedType::Zip,
            },
            Refusal::TypeMismatch {
                declared: "exe".into(),
                detected: FileType::Text,
            },
            Refusal::TooMany { count: 2, max: 1 },
        ]
        .map(|r| r.code());
        assert_eq!(
            codes,
            [
                "attachment_empty",
                "attachment_too_large",
                "attachment_type_refused",
                "attachment_type_mismatch",
                "attachment_too_many"
            ]
        );
    }

    fn refused_magic_strategy() -> impl Strategy<Value = (Vec<u8>, RefusedType)> {
        proptest::sample::select(
            refused_samples()
                .into_iter()
                .filter(|(_, t)| t.is_executable() || t.is_archive())
                .collect::<Vec<_>>(),
        )
    }

    proptest! {
        #[test]
        fn never_panics(name in ".{0,40}", bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let limits = Limits { max_bytes: 300, max_files: 1 };
            match inspect(&name, &bytes, &limits) {
                Ok(a) => {
                    prop_assert!(!a.name.is_empty());
                    prop_assert!(a.name.chars().count() <= MAX_NAME_CHARS);
                    prop_assert!(!a.name.contains(['/', '\\']));
                    prop_assert!(!a.name.chars().any(|c| c.is_control() || is_invisible(c)));
                    let ext = a.name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
                    prop_assert!(a.file_type.extensions().contains(&ext), "{}", a.name);
                    prop_assert_eq!(detect(&bytes), Detected::Accepted(a.file_type));
                }
                Err(r) => { let _ = (r.code(), r.to_string()); }
            }
        }

        #[test]
        fn executables_and_archives_are_always_refused(
            (magic, expected) in refused_magic_strategy(),
            tail in proptest::collection::vec(any::<u8>(), 0..300),
            name in proptest::sample::select(vec!["a.png", "a.jpg", "a.txt", "a.pdf", "a", "a.exe", "a.zip"]),
        ) {
            let mut bytes = magic.clone();
            // Tar's magic sits at offset 257: keep it there.
            if expected == RefusedType::Tar {
                bytes.truncate(257);
                bytes.extend_from_slice(b"ustar\0");
            }
            bytes.extend_from_slice(&tail);
            let verdict = inspect(name, &bytes, &Limits::default());
            prop_assert_eq!(verdict, Err(Refusal::TypeRefused { detected: expected }));
        }

        #[test]
        fn text_with_binary_is_not_text(text in "[a-z \n]{0,50}", at in 0usize..50) {
            let mut bytes = text.into_bytes();
            let at = at.min(bytes.len());
            bytes.insert(at, 0);
            prop_assert_ne!(detect(&bytes), Detected::Accepted(FileType::Text));
        }
    }
}
