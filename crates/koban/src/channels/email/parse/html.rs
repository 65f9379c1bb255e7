//! A mail's HTML made safe to show an agent, and made text for the
//! conversation when the sender wrote only HTML.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Tags of a mail's HTML read: the HTML parser slows down with nesting
/// (twenty thousand nested quotes take seconds), and no mail a person
/// writes comes near this.
pub const MAX_TAGS: usize = 10_000;

/// `html` cut before its `MAX_TAGS`th tag; whether it was cut.
pub fn bounded(html: &str) -> (&str, bool) {
    match html.match_indices('<').nth(MAX_TAGS) {
        Some((at, _)) => (&html[..at], true),
        None => (html, false),
    }
}

/// The HTML with only what displays text kept: no scripts, styles,
/// forms or event handlers, and no remote images (they tell the sender
/// when and where the mail was read). `cid:` images stay, so the
/// console can show them from the mail's own files.
pub fn sanitise(html: &str) -> String {
    let tags: HashSet<&str> = [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "center",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    ]
    .into_iter()
    .collect();
    let tag_attributes: HashMap<&str, HashSet<&str>> = [
        ("a", ["href", "title"].into_iter().collect()),
        (
            "img",
            ["src", "alt", "width", "height"].into_iter().collect(),
        ),
        ("td", ["colspan", "rowspan"].into_iter().collect()),
        ("th", ["colspan", "rowspan"].into_iter().collect()),
        ("ol", ["start"].into_iter().collect()),
    ]
    .into_iter()
    .collect();
    ammonia::Builder::empty()
        .tags(tags)
        .tag_attributes(tag_attributes)
        .clean_content_tags(["script", "style", "title", "form"].into_iter().collect())
        .url_schemes(["http", "https", "mailto", "cid"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" {
                let is_cid = value
                    .get(..4)
                    .is_some_and(|s| s.eq_ignore_ascii_case("cid:"));
                return is_cid.then_some(Cow::Borrowed(value));
            }
            Some(Cow::Borrowed(value))
        })
        .clean(bounded(html).0)
        .to_string()
}

/// Elements that start and end a line of text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "table",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "hr",
    "pre",
    "center",
    "caption",
];

/// The text a person reads in `html`: block elements break lines, links
/// read "text (url)", quoted blocks read as "> " lines (so the console can
/// fold them like a plain-text reply's).
pub fn to_text(html: &str) -> String {
    let clean = sanitise(html);
    let mut out = Writer::default();
    let mut link: Option<(String, usize)> = None;
    let mut pre = 0usize;
    let mut rest = clean.as_str();
    while let Some(open) = rest.find('<') {
        out.text(&decode(&rest[..open]), pre > 0);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        match (name.as_str(), closing) {
            ("blockquote", false) => {
                out.line();
                out.quote += 1;
            }
            ("blockquote", true) => {
                out.line();
                out.quote = out.quote.saturating_sub(1);
            }
            ("pre", false) => {
                out.line();
                pre += 1;
            }
            ("pre", true) => {
                out.line();
                pre = pre.saturating_sub(1);
            }
            ("li", false) => {
                out.line();
                out.text("- ", true);
            }
            ("p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6", true) => out.paragraph(),
            ("a", false) => link = attribute(tag, "href").map(|href| (href, out.buf.len())),
            ("a", true) => {
                if let Some((href, start)) = link.take() {
                    let shown = out.buf.get(start..).unwrap_or("").trim().to_string();
                    let bare = href.strip_prefix("mailto:").unwrap_or(&href);
                    if !shown.is_empty() && shown != href && shown != bare {
                        out.text(&format!(" ({href})"), true);
                    } else if shown.is_empty() {
                        out.text(&href, true);
                    }
                }
            }
            ("img", false) => {
                if let Some(alt) = attribute(tag, "alt").filter(|a| !a.trim().is_empty()) {
                    out.text(&format!("[{}]", alt.trim()), true);
                }
            }
            ("td" | "th", true) => out.text(" ", false),
            (name, _) if BLOCKS.contains(&name) => out.line(),
            _ => {}
        }
    }
    out.text(&decode(rest), pre > 0);
    out.finish()
}

/// "> " marks written for a quote inside quotes: deeper ones read the same.
const MAX_QUOTE_MARKS: usize = 8;

#[derive(Default)]
struct Writer {
    buf: String,
    quote: usize,
    /// Whether the last thing written was whitespace (HTML collapses runs).
    space: bool,
}

impl Writer {
    fn at_line_start(&self) -> bool {
        self.buf.is_empty() || self.buf.ends_with('\n')
    }

    fn text(&mut self, text: &str, verbatim: bool) {
        for c in text.chars() {
            if c == '\n' && verbatim {
                self.buf.push('\n');
                continue;
            }
            if c.is_whitespace() && c != '\u{a0}' && !verbatim {
                if !self.space && !self.at_line_start() {
                    self.buf.push(' ');
                }
                self.space = true;
                continue;
            }
            if self.at_line_start() && self.quote > 0 {
                self.buf
                    .push_str(&"> ".repeat(self.quote.min(MAX_QUOTE_MARKS)));
            }
            self.buf.push(if c == '\u{a0}' { ' ' } else { c });
            self.space = false;
        }
    }

    fn line(&mut self) {
        while self.buf.ends_with(' ') {
            self.buf.pop();
        }
        if !self.at_line_start() {
            self.buf.push('\n');
        }
        self.space = true;
    }

    fn paragraph(&mut self) {
        self.line();
        if !self.buf.ends_with("\n\n") && !self.buf.is_empty() {
            self.buf.push('\n');
        }
    }

    fn finish(self) -> String {
        let mut text = String::with_capacity(self.buf.len());
        let mut blank = 0;
        for line in self.buf.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                blank += 1;
                if blank > 1 {
                    continue;
                }
            } else {
                blank = 0;
            }
            text.push_str(line);
            text.push('\n');
        }
        text.trim().to_string()
    }
}

/// The value of `name="…"` in a tag as ammonia writes it (always quoted).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')?;
    Some(decode(&tag[start..start + end]).into_owned())
}

/// The only entities ammonia's serialiser writes.
fn decode(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&nbsp;", "\u{a0}")
            .replace("&amp;", "&"),
    )
}
