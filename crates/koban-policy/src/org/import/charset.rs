//! Which character set an uploaded file is in. Spreadsheets in Japan, China,
//! Taiwan and Korea still save CSV in the legacy encodings by default, and
//! the uploader rarely knows which one; so the bytes are tried in each and
//! the most plausible reading wins, unless the uploader said.

use super::FileProblem;
use encoding_rs::{Encoding, BIG5, EUC_KR, GB18030, GBK, SHIFT_JIS, UTF_16BE, UTF_16LE, UTF_8};

/// A character set an import file may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// Shift_JIS as Windows writes it (code page 932).
    ShiftJis,
    /// GBK, read as GB18030, its superset.
    Gbk,
    /// Big5 with the HKSCS additions.
    Big5,
    /// EUC-KR as Windows writes it (code page 949, UHC).
    EucKr,
}

/// The legacy sets tried when a file has no BOM and is not UTF-8, in the
/// order that breaks a tie in [`score`].
const LEGACY: [Charset; 4] = [
    Charset::ShiftJis,
    Charset::Gbk,
    Charset::Big5,
    Charset::EucKr,
];

impl Charset {
    /// Reads a query parameter: any WHATWG label of the set (`sjis`,
    /// `shift_jis`, `gb2312`, `big5`, `euc-kr`, `utf-8`, …) plus the Windows
    /// code page names people copy from their editor (`cp932`, `cp936`,
    /// `cp950`, `cp949`). Case and surrounding spaces do not matter.
    pub fn parse(label: &str) -> Option<Charset> {
        let label = label.trim().to_ascii_lowercase();
        let windows = match label.as_str() {
            "cp932" | "windows-932" => Some(Charset::ShiftJis),
            "cp936" | "windows-936" | "cp54936" => Some(Charset::Gbk),
            "cp950" | "windows-950" => Some(Charset::Big5),
            "cp949" | "uhc" => Some(Charset::EucKr),
            "cp65001" => Some(Charset::Utf8),
            _ => None,
        };
        windows.or_else(|| Charset::of(Encoding::for_label_no_replacement(label.as_bytes())?))
    }

    /// The canonical label, as [`Charset::parse`] reads it back.
    pub fn as_str(self) -> &'static str {
        match self {
            Charset::Utf8 => "utf-8",
            Charset::Utf16Le => "utf-16le",
            Charset::Utf16Be => "utf-16be",
            Charset::ShiftJis => "shift_jis",
            Charset::Gbk => "gb18030",
            Charset::Big5 => "big5",
            Charset::EucKr => "euc-kr",
        }
    }

    /// The decoder; GBK files are read as GB18030 so its extra characters
    /// (common in names) are not refused.
    pub fn encoding(self) -> &'static Encoding {
        match self {
            Charset::Utf8 => UTF_8,
            Charset::Utf16Le => UTF_16LE,
            Charset::Utf16Be => UTF_16BE,
            Charset::ShiftJis => SHIFT_JIS,
            Charset::Gbk => GB18030,
            Charset::Big5 => BIG5,
            Charset::EucKr => EUC_KR,
        }
    }

    fn of(encoding: &'static Encoding) -> Option<Charset> {
        let all = [
            Charset::Utf8,
            Charset::Utf16Le,
            Charset::Utf16Be,
            Charset::ShiftJis,
            Charset::Gbk,
            Charset::Big5,
            Charset::EucKr,
        ];
        if encoding == GBK {
            return Some(Charset::Gbk);
        }
        all.into_iter().find(|c| c.encoding() == encoding)
    }
}

impl serde::Serialize for Charset {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Turns an upload into text. A BOM decides first; then valid UTF-8; then
/// each legacy set that decodes without a single error, the best by
/// [`score`]. A `declared` set is used as said (its own BOM is dropped); a
/// BOM of another set, or bytes that do not decode strictly in it, are a
/// [`FileProblem::Encoding`]: a contradiction is a mistake to show, not to
/// guess past. Nothing is ever replaced with U+FFFD, since a replaced
/// character in an email address would invite the wrong person.
pub fn decode(bytes: &[u8], declared: Option<Charset>) -> Result<(String, Charset), FileProblem> {
    let bom = Encoding::for_bom(bytes).and_then(|(enc, len)| Some((Charset::of(enc)?, len)));
    let (charset, body) = match (declared, bom) {
        (Some(said), Some((found, len))) if said == found => (said, &bytes[len..]),
        (Some(_), Some(_)) => return Err(FileProblem::Encoding),
        (Some(said), None) => (said, bytes),
        (None, Some((found, len))) => (found, &bytes[len..]),
        (None, None) => return guess(bytes),
    };
    strict(body, charset)
        .map(|text| (text, charset))
        .ok_or(FileProblem::Encoding)
}

fn strict(bytes: &[u8], charset: Charset) -> Option<String> {
    charset
        .encoding()
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
}

fn guess(bytes: &[u8]) -> Result<(String, Charset), FileProblem> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_string(), Charset::Utf8));
    }
    let mut best: Option<(i64, String, Charset)> = None;
    for charset in LEGACY {
        let Some(text) = strict(bytes, charset) else {
            continue;
        };
        let points = score(bytes, charset);
        // Strictly greater: on a tie the earlier set in LEGACY stays.
        if best.as_ref().is_none_or(|(top, _, _)| points > *top) {
            best = Some((points, text, charset));
        }
    }
    best.map(|(_, text, charset)| (text, charset))
        .ok_or(FileProblem::Encoding)
}

/// How plausible the bytes are as text in `charset`, summed over characters.
/// Bytes in one legacy set usually decode in the others too, but into rare
/// characters: so each character earns points by the block its code falls
/// in, the blocks of everyday text (kana, the first-level kanji and hanzi,
/// the 2,350 common hangul, the frequent Big5 block) earning most and
/// private-use or rarely used blocks nothing or less. Korean names do not
/// use hanja, so hanja read as EUC-KR count against it: that is what tells
/// Chinese text (which EUC-KR reads as a hangul-hanja mixture) from Korean
/// text (which GBK reads as ordinary hanzi). A few characters can still be
/// ambiguous; the uploader can then name the charset.
pub(super) fn score(bytes: &[u8], charset: Charset) -> i64 {
    let mut total = 0i64;
    let mut i = 0;
    while let Some(&lead) = bytes.get(i) {
        if lead < 0x80 {
            i += 1;
            continue;
        }
        let trail = bytes.get(i + 1).copied().unwrap_or(0);
        let (points, width) = match charset {
            Charset::ShiftJis => shift_jis_points(lead),
            Charset::Gbk => gb_points(lead, trail),
            Charset::Big5 => (big5_points(lead, trail), 2),
            Charset::EucKr => (euc_kr_points(lead, trail), 2),
            Charset::Utf8 | Charset::Utf16Le | Charset::Utf16Be => (0, 1),
        };
        total += points;
        i += width;
    }
    total
}

fn shift_jis_points(lead: u8) -> (i64, usize) {
    let points = match lead {
        // Half-width katakana: one byte each, legitimate but rare today.
        0xA1..=0xDF => return (1, 1),
        0x81 => 2,                      // punctuation: 、。「」
        0x82 | 0x83 => 6,               // kana and full-width letters
        0x88..=0x98 => 4,               // JIS level 1 kanji
        0x99..=0x9F | 0xE0..=0xEA => 2, // JIS level 2 kanji
        0xF0..=0xF9 => -6,              // user-defined, private use
        _ => 0,
    };
    (points, 2)
}

fn gb_points(lead: u8, trail: u8) -> (i64, usize) {
    if (0x30..=0x39).contains(&trail) {
        return (-2, 4); // four-byte GB18030: rare outside its own tests
    }
    let high_trail = trail >= 0xA1;
    let points = match lead {
        0xA1 if high_trail => 2,                       // punctuation
        0xA2 | 0xA3 if high_trail => 1,                // numbers, full-width letters
        0xAA..=0xAF | 0xF8..=0xFE if high_trail => -6, // user-defined
        0xA1..=0xA7 if !high_trail => -6,              // user-defined
        0xB0..=0xD7 if high_trail => 4,                // GB2312 level 1
        0xD8..=0xF7 if high_trail => 2,                // GB2312 level 2
        _ => 0, // symbols, kana, and GBK's rarer extension blocks
    };
    (points, 2)
}

fn big5_points(lead: u8, trail: u8) -> i64 {
    let code = u16::from(lead) << 8 | u16::from(trail);
    match code {
        0xA140..=0xA3BF => 2, // punctuation and symbols
        0xA440..=0xC67E => 4, // frequently used characters
        0xC940..=0xF9D5 => 2, // less frequently used characters
        _ => 0,               // HKSCS and the ETEN additions
    }
}

fn euc_kr_points(lead: u8, trail: u8) -> i64 {
    if trail < 0xA1 {
        return 0; // UHC's extra hangul: valid, but rare syllables
    }
    match lead {
        0xA1 => 2,         // punctuation
        0xB0..=0xC8 => 6,  // the 2,350 common hangul
        0xCA..=0xFD => -4, // hanja: not in Korean names
        _ => 0,
    }
}
