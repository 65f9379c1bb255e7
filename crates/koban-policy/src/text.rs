//! Unicode hygiene for values people type: the characters that make two
//! strings look the same while being different (zero-width, bidi controls)
//! or that no human means to type (controls).

/// Why a piece of text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// A control character (C0, C1, DEL) other than ordinary white space.
    ControlCharacter,
    /// An invisible formatting character: zero-width space/joiner, word joiner, BOM.
    InvisibleCharacter,
    /// A bidirectional override or isolate, the stuff of spoofed file names and links.
    BidiControl,
    /// Letters from more than one script where one is expected (e.g. Cyrillic `а` in a Latin word).
    MixedScript,
}

impl TextProblem {
    /// A stable machine-readable reason.
    pub fn code(self) -> &'static str {
        match self {
            TextProblem::ControlCharacter => "control_character",
            TextProblem::InvisibleCharacter => "invisible_character",
            TextProblem::BidiControl => "bidi_control",
            TextProblem::MixedScript => "mixed_script",
        }
    }
}

/// The characters [`check_visible`] refuses on a single line, as the body of
/// a regular-expression class (`\uXXXX` escapes, read alike by ECMA-262,
/// Python and the `regex` crate). Kept next to the functions it mirrors; the
/// tests below hold them together.
macro_rules! hidden_class {
    () => {
        r"\u0000-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF"
    };
}

/// One line of text [`check_visible`] accepts (with `multiline` false), as a
/// regular expression for API documents.
pub const SINGLE_LINE_PATTERN: &str = concat!("^[^", hidden_class!(), "]*$");

/// One line of visible text that is more than white space: what a name that
/// is trimmed and then checked with [`check_visible`] must look like.
pub const NAME_PATTERN: &str = concat!(
    "^[^",
    hidden_class!(),
    r"]*[^\s",
    hidden_class!(),
    "][^",
    hidden_class!(),
    "]*$"
);

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}')
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Refuses control, invisible and bidi characters. Tabs and newlines pass when
/// `multiline` is set (ticket bodies), never in single-line fields.
pub fn check_visible(s: &str, multiline: bool) -> Result<(), TextProblem> {
    for c in s.chars() {
        if is_invisible(c) {
            return Err(TextProblem::InvisibleCharacter);
        }
        if is_bidi_control(c) {
            return Err(TextProblem::BidiControl);
        }
        if c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')) {
            return Err(TextProblem::ControlCharacter);
        }
    }
    Ok(())
}

/// `s` without what [`check_visible`] refuses in multi-line text, and with
/// CR LF made LF: for text Koban did not get from a person typing into its
/// own form (a mail's body), where refusing is no answer.
pub fn strip_hidden(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .filter(|&c| {
            !is_invisible(c) && !is_bidi_control(c) && (!c.is_control() || matches!(c, '\n' | '\t'))
        })
        .collect()
}

/// A coarse script class, enough to catch homoglyph spoofing in identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Greek,
    Cyrillic,
    Other,
}

fn script_of(c: char) -> Option<Script> {
    if !c.is_alphabetic() {
        return None;
    }
    Some(match c as u32 {
        0x0041..=0x024F | 0x1E00..=0x1EFF | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A => Script::Latin,
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
        0x0400..=0x052F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => Script::Cyrillic,
        _ => Script::Other,
    })
}

/// Refuses a token mixing Latin, Greek and Cyrillic letters: the classic
/// look-alike attack (`pаypal` with a Cyrillic `а`). CJK, Thai and the rest
/// are left alone, since Japanese legitimately mixes several scripts.
pub fn check_single_script(token: &str) -> Result<(), TextProblem> {
    let mut seen: Option<Script> = None;
    for script in token.chars().filter_map(script_of) {
        if script == Script::Other {
            continue;
        }
        match seen {
            None => seen = Some(script),
            Some(s) if s != script => return Err(TextProblem::MixedScript),
            Some(_) => {}
        }
    }
    Ok(())
}

/// What a six-digit verification code may look like when typed, as a regular expression for API
/// documents: six digits, ASCII or full-width, with spaces between.
pub const CODE_PATTERN: &str = r"^[ \u3000]*([0-9\uFF10-\uFF19][ \u3000]*){6}$";

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever a mail holds, what is left passes the check bodies get.
        #[test]
        fn stripped_text_is_always_visible(s in "\\PC{0,40}|[\\x00-\\x{FFFF}]{0,40}") {
            proptest::prop_assert!(check_visible(&strip_hidden(&s), true).is_ok());
        }
    }

    #[test]
    fn stripping_keeps_lines_and_drops_the_hidden() {
        assert_eq!(strip_hidden("a\r\nb\u{200B}c\u{202E}\u{7}\td"), "a\nbc\td");
    }

    #[test]
    fn refuses_each_kind_of_hidden_character() {
        let cases = [
            ("ab\u{200B}c", Err(TextProblem::InvisibleCharacter)),
            ("ab\u{FEFF}", Err(TextProblem::InvisibleCharacter)),
            ("a\u{202E}txt.exe", Err(TextProblem::BidiControl)),
            ("a\u{0007}", Err(TextProblem::ControlCharacter)),
            ("line\nbreak", Err(TextProblem::ControlCharacter)),
            ("普通的文字 ordinary", Ok(())),
        ];
        for (input, expected) in cases {
            assert_eq!(check_visible(input, false), expected, "{input:?}");
        }
        assert_eq!(check_visible("line\nbreak\ttab", true), Ok(()));
    }

    #[test]
    fn mixed_latin_and_cyrillic_is_refused_but_japanese_is_not() {
        assert_eq!(
            check_single_script("p\u{0430}ypal"),
            Err(TextProblem::MixedScript)
        );
        assert_eq!(check_single_script("paypal"), Ok(()));
        assert_eq!(check_single_script("привет"), Ok(()));
        assert_eq!(check_single_script("ひらがなカタカナ漢字abc"), Ok(()));
    }
}
