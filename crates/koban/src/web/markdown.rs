//! Markdown that people write for others to read (help articles,
//! announcements) turned into HTML that is safe to put in a page.
//!
//! pulldown-cmark passes raw HTML through as CommonMark says it must, so
//! everything it makes goes through ammonia afterwards: scripts, styles,
//! event handlers, forms and `javascript:` links never reach a reader.

use pulldown_cmark::{html, Options, Parser};
use std::collections::HashSet;

/// The longest Markdown rendered: far beyond any article, well short of
/// what would make one page slow.
pub const MAX_BYTES: usize = 200_000;

/// `markdown` as sanitised HTML. Links may only be http, https or mailto
/// and open with `rel="noopener noreferrer nofollow"`; images only over
/// https. Text beyond [`MAX_BYTES`] is cut at a character boundary.
pub fn render(markdown: &str) -> String {
    let mut end = markdown.len().min(MAX_BYTES);
    while !markdown.is_char_boundary(end) {
        end -= 1;
    }
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut unsafe_html = String::with_capacity(end + end / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(&markdown[..end], options));
    sanitise(&unsafe_html)
}

/// The words of `markdown` without its markup, one block a line: what
/// search indexes (raw HTML and link targets are left out; image
/// descriptions and code are kept, people search for them).
pub fn text(markdown: &str) -> String {
    use pulldown_cmark::{Event, TagEnd};
    let mut end = markdown.len().min(MAX_BYTES);
    while !markdown.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end);
    for event in Parser::new_ext(&markdown[..end], Options::ENABLE_TABLES) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableCell
                | TagEnd::TableRow,
            ) => out.push('\n'),
            _ => {}
        }
    }
    out.trim().to_string()
}

fn sanitise(html: &str) -> String {
    let schemes: HashSet<&str> = ["http", "https", "mailto"].into_iter().collect();
    ammonia::Builder::default()
        .url_schemes(schemes)
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|element, attribute, value| {
            // An image from anywhere but https would mix content or tell a
            // tracker who read the page over plain http.
            if element == "img" && attribute == "src" && !value.starts_with("https://") {
                return None;
            }
            Some(value.into())
        })
        .clean(html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn text_keeps_the_words_and_drops_the_markup() {
        let text = super::text(
            "# 重設密碼\n\n請到 **設定** 頁面，[按這裡](https://example.com)。\n\n<script>alert(1)</script>\n\n- `koban` 一\n- สอง",
        );
        assert_eq!(text, "重設密碼\n請到 設定 頁面，按這裡。\nkoban 一\nสอง");
    }

    #[test]
    fn markdown_becomes_html() {
        let html =
            render("# 密码\n\n**Bold** and [a link](https://example.com/x).\n\n- one\n- two");
        assert!(html.contains("<h1>密码</h1>"), "{html}");
        assert!(html.contains("<strong>Bold</strong>"), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://example.com/x" rel="noopener noreferrer nofollow">a link</a>"#
            ),
            "{html}"
        );
        assert!(html.contains("<li>two</li>"), "{html}");
    }

    #[test]
    fn scripts_handlers_and_dangerous_links_never_survive() {
        for payload in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "<svg onload=alert(1)>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<style>body{display:none}</style>",
            "<form action=\"https://evil.example\"><input name=p></form>",
            "![x](http://tracker.example/p.png)",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "<a href=\"vbscript:msgbox(1)\">x</a>",
        ] {
            let html = render(payload).to_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onload",
                "javascript:",
                "vbscript:",
                "data:",
                "<iframe",
                "<style",
                "<form",
                "<input",
                "http://tracker",
                "style=",
                "<svg",
            ] {
                assert!(!html.contains(bad), "{payload} gave {html}");
            }
        }
    }

    #[test]
    fn an_https_image_stays_and_huge_text_is_cut_on_a_character() {
        assert!(render("![cat](https://example.com/c.png)")
            .contains("<img src=\"https://example.com/c.png\""));
        let huge = "あ".repeat(super::MAX_BYTES);
        let html = render(&huge);
        assert!(html.len() <= super::MAX_BYTES + 16);
    }
}
