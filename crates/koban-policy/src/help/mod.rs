//! The help center's rules: which languages an article may be written in,
//! how long its parts may be, the slug in its address, which published
//! version a reader gets, and (in [`suggest`]) how the articles that match
//! what a requester is typing are found.

pub mod suggest;

/// The languages an article version may be written in, English first: the
/// order a reader without their own language's version falls back in.
pub const LANGS: [&str; 5] = ["en", "zh-CN", "zh-TW", "ja", "th"];

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest article body, in bytes of Markdown (a long manual page is
/// a tenth of it; the renderer refuses nothing below its own limit).
pub const MAX_BODY_BYTES: usize = 100_000;
/// The longest category name, in characters.
pub const MAX_CATEGORY_NAME_CHARS: usize = 100;
/// The most suggestions offered at once.
pub const MAX_SUGGESTIONS: usize = 5;
/// The most of a requester's text read for suggestions, in characters: a
/// subject and the start of a body say what the problem is.
pub const MAX_QUERY_CHARS: usize = 2_000;

/// The language tag `tag` names, written as [`LANGS`] writes it
/// (`zh-tw` and `zh_TW` are `zh-TW`); `None` for any other.
pub fn parse_lang(tag: &str) -> Option<&'static str> {
    let tag = tag.trim().replace('_', "-");
    LANGS.into_iter().find(|l| l.eq_ignore_ascii_case(&tag))
}

/// The version a reader asking for `wanted` gets among the `published`
/// languages, and whether it is another language than theirs (the page
/// then says so). Their own, else English, else the first of [`LANGS`]
/// published; `None` when nothing is published.
pub fn choose_version<'a>(wanted: &str, published: &[&'a str]) -> Option<(&'a str, bool)> {
    if let Some(own) = published.iter().find(|l| l.eq_ignore_ascii_case(wanted)) {
        return Some((own, false));
    }
    LANGS
        .iter()
        .find_map(|l| published.iter().find(|p| p.eq_ignore_ascii_case(l)))
        .or_else(|| published.first())
        .map(|l| (*l, true))
}

/// The readable tail of an article's address: lower-case ASCII letters
/// and digits of the title in words joined by `-`, at most 60 bytes; empty
/// for a title without any (a Japanese title), whose address is its id.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if out.len() + word.len() + 1 > 60 {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

/// Why a title, body or name was refused, as a stable reason code.
pub fn check_title(title: &str, max_chars: usize) -> Result<(), &'static str> {
    let trimmed = title.trim();
    if trimmed.is_empty() {
        return Err("required");
    }
    if trimmed.chars().count() > max_chars {
        return Err("too_long");
    }
    crate::text::check_visible(trimmed, false).map_err(|_| "hidden_character")
}

/// Why an article body was refused: empty, longer than
/// [`MAX_BODY_BYTES`], or carrying control characters.
pub fn check_body(body: &str) -> Result<(), &'static str> {
    if body.trim().is_empty() {
        return Err("required");
    }
    if body.len() > MAX_BODY_BYTES {
        return Err("too_long");
    }
    crate::text::check_visible(body, true).map_err(|_| "hidden_character")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_are_read_in_any_case() {
        assert_eq!(parse_lang("zh-tw"), Some("zh-TW"));
        assert_eq!(parse_lang("ZH_cn"), Some("zh-CN"));
        assert_eq!(parse_lang(" ja "), Some("ja"));
        for not in ["", "zh", "fr", "en-US", "ja<script>"] {
            assert_eq!(parse_lang(not), None, "{not}");
        }
    }

    #[test]
    fn a_reader_gets_their_own_version_else_english_else_another() {
        type Case<'a> = (&'a str, &'a [&'a str], Option<(&'a str, bool)>);
        let table: &[Case] = &[
            ("ja", &["en", "ja"], Some(("ja", false))),
            ("zh-TW", &["ja", "en"], Some(("en", true))),
            ("zh-TW", &["ja", "th"], Some(("ja", true))),
            ("th", &["zh-TW"], Some(("zh-TW", true))),
            ("en", &[], None),
        ];
        for (wanted, published, expected) in table {
            assert_eq!(choose_version(wanted, published), *expected, "{wanted}");
        }
    }

    #[test]
    fn slugs_keep_latin_words_only() {
        assert_eq!(slug("Reset your 2FA: a guide!"), "reset-your-2fa-a-guide");
        assert_eq!(slug("パスワードを忘れた"), "");
        assert_eq!(slug("<script>alert(1)</script>"), "script-alert-1-script");
        assert!(slug(&"word ".repeat(40)).len() <= 60);
    }

    #[test]
    fn titles_and_bodies_have_clear_limits() {
        assert_eq!(check_title("  ", 10), Err("required"));
        assert_eq!(check_title(&"あ".repeat(11), 10), Err("too_long"));
        assert_eq!(check_title("a\u{202E}b", 10), Err("hidden_character"));
        assert_eq!(check_title("ok", 10), Ok(()));
        assert_eq!(check_body(""), Err("required"));
        assert_eq!(check_body(&"x".repeat(MAX_BODY_BYTES + 1)), Err("too_long"));
        assert_eq!(check_body("line one\n\nline two\ttab"), Ok(()));
    }
}
