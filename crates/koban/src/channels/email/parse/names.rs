//! A sender-chosen file name made safe to show and to save: a base name
//! only (no directories a download could climb into), no control or
//! bidirectional-override characters (which make "gpj.exe" read as
//! "exe.jpg"), and short.

/// Longest name kept, in characters.
const MAX_CHARS: usize = 120;

/// `name` as it is shown and stored; `content_type` names an unnamed file.
pub fn file_name(name: Option<&str>, content_type: &str) -> String {
    let base = name.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !hidden(*c)).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return format!("attachment{}", extension_of(content_type));
    }
    shorten(cleaned)
}

fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// Cut to `MAX_CHARS`, keeping a short extension so the file still opens
/// with the right program.
fn shorten(name: &str) -> String {
    if name.chars().count() <= MAX_CHARS {
        return name.to_string();
    }
    let extension = name
        .rfind('.')
        .map(|dot| &name[dot..])
        .filter(|e| e.chars().count() <= 10)
        .unwrap_or("");
    let keep = MAX_CHARS - extension.chars().count();
    let stem: String = name.chars().take(keep).collect();
    format!("{}{}", stem.trim_end(), extension)
}

fn extension_of(content_type: &str) -> &'static str {
    match content_type.to_ascii_lowercase().as_str() {
        "image/png" => ".png",
        "image/jpeg" | "image/jpg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "application/pdf" => ".pdf",
        "text/plain" => ".txt",
        "text/html" => ".html",
        "message/rfc822" => ".eml",
        _ => "",
    }
}
