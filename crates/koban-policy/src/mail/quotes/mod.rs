//! Where a mail's new words end and the history it drags along begins:
//! the quoted earlier mails ("On … wrote:" with "> " lines, Outlook's
//! "-----Original Message-----" or "From: … Sent: …" block) and the
//! signature after "-- ". The console shows the history folded; the
//! stored body stays whole, so nothing here may lose a character.

#[cfg(test)]
mod tests;

/// A text cut in two: `new` then `quoted`, which together are the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folded<'a> {
    pub new: &'a str,
    pub quoted: &'a str,
}

/// Splits `text` before its quoted history or signature. Nothing is folded
/// when that would leave nothing new to read (a mail that starts with a
/// quote answers it between the lines), nor when a quote is followed by
/// more of the sender's own words (an interleaved reply).
pub fn fold(text: &str) -> Folded<'_> {
    let lines = lines_with_offsets(text);
    let cut = cut_line(&lines).map(|i| lines[i].0).unwrap_or(text.len());
    Folded {
        new: &text[..cut],
        quoted: &text[cut..],
    }
}

/// Each line with the byte offset it starts at.
fn lines_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        out.push((start, piece.trim_end_matches(['\n', '\r'])));
        start += piece.len();
    }
    out
}

fn cut_line(lines: &[(usize, &str)]) -> Option<usize> {
    let tail = tail_quote(lines);
    let attribution = tail.and_then(|t| attribution_of(lines, t));
    // Whether any line before `i` has words: the first such line, once.
    let first_words = lines.iter().position(|(_, l)| !l.trim().is_empty());
    (0..lines.len()).find(|&i| {
        let starts_history = Some(i) == tail
            || Some(i) == attribution
            || is_signature(lines[i].1)
            || is_original_message(lines[i].1)
            || is_outlook_header_block(lines, i);
        starts_history && first_words.is_some_and(|w| w < i)
    })
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// The first line of the trailing run of "> " lines (blank lines may sit
/// between them), if the text ends with one.
fn tail_quote(lines: &[(usize, &str)]) -> Option<usize> {
    let mut first = None;
    for (i, (_, line)) in lines.iter().enumerate().rev() {
        if is_quoted(line) {
            first = Some(i);
        } else if !line.trim().is_empty() {
            break;
        }
    }
    first
}

/// The line of "On … wrote:" that introduces the quote starting at line
/// `quote` (only blank lines between), maybe wrapped onto two lines as
/// Gmail wraps long ones.
fn attribution_of(lines: &[(usize, &str)], quote: usize) -> Option<usize> {
    let last = lines[..quote]
        .iter()
        .rposition(|(_, l)| !l.trim().is_empty())?;
    let line = lines[last].1.trim();
    if let Some(before) = last.checked_sub(1) {
        let first = lines[before].1.trim();
        let wrapped = opens_attribution(first)
            && !opens_attribution(line)
            && first.chars().count() < 200
            && is_attribution(&format!("{first} {line}"));
        if wrapped {
            return Some(before);
        }
    }
    is_attribution(line).then_some(last)
}

/// How attributions start: "On …", a date, or their Thai and Chinese
/// openings; a wrapped one's second line starts otherwise.
fn opens_attribution(line: &str) -> bool {
    line.starts_with("On ")
        || line.starts_with("เมื่อ")
        || line.starts_with('於')
        || line.starts_with(|c: char| c.is_ascii_digit())
}

/// "On … wrote:" as mail clients write it in English, Japanese, Chinese
/// and Thai.
fn is_attribution(line: &str) -> bool {
    let line = line.trim();
    if line.is_empty() || line.chars().count() > 300 {
        return false;
    }
    const ENDINGS: &[&str] = &[
        "wrote:",
        "writes:",
        "書きました:",
        "書きました：",
        "のメール:",
        "のメール：",
        "のメッセージ:",
        "のメッセージ：",
        "写道:",
        "写道：",
        "寫道:",
        "寫道：",
        "เขียนว่า:",
        "เขียน:",
    ];
    if ENDINGS.iter().any(|e| line.ends_with(e)) {
        return true;
    }
    // Gmail in Japanese: "2026年12月1日(火) 10:00 山田太郎 <taro@example.jp>:"
    (line.ends_with(">:") || line.ends_with(">：")) && line.contains('@') && line.contains('年')
}

/// A signature starts at "-- " (RFC 3676), often sent without its space.
fn is_signature(line: &str) -> bool {
    line == "-- " || line == "--"
}

/// Outlook's separators, in the languages it is installed in here.
fn is_original_message(line: &str) -> bool {
    let line = line.trim();
    let Some(inner) = line
        .strip_prefix("-----")
        .and_then(|l| l.strip_suffix("-----"))
    else {
        return false;
    };
    let inner = inner.trim().to_lowercase();
    [
        "original message",
        "元のメッセージ",
        "原始邮件",
        "原始郵件",
        "原始信件",
        "ข้อความต้นฉบับ",
    ]
    .contains(&inner.as_str())
}

/// Outlook's header block of the mail answered: a "From:" line followed
/// by a "Sent:" (or "Date:") line, maybe under a line of underscores; not
/// the same block under a "Forwarded message" line, which is news.
fn is_outlook_header_block(lines: &[(usize, &str)], i: usize) -> bool {
    let line = lines[i].1.trim();
    if line.len() >= 10 && line.chars().all(|c| c == '_') {
        return i + 1 < lines.len() && is_from_then_sent(lines, i + 1);
    }
    is_from_then_sent(lines, i)
}

fn is_from_then_sent(lines: &[(usize, &str)], i: usize) -> bool {
    let line = lines[i].1.trim();
    const FROM: &[&str] = &[
        "From:",
        "差出人:",
        "差出人：",
        "发件人:",
        "发件人：",
        "寄件者:",
        "寄件者：",
        "จาก:",
    ];
    const SENT: &[&str] = &[
        "Sent:",
        "Date:",
        "送信日時:",
        "送信日時：",
        "发送时间:",
        "发送时间：",
        "寄件日期:",
        "寄件日期：",
        "ส่ง:",
        "วันที่:",
    ];
    let starts = |l: &str, set: &[&str]| {
        let l = l.trim_start_matches('*').trim();
        set.iter().any(|p| l.starts_with(p))
    };
    let forwarded = lines[..i]
        .iter()
        .rev()
        .find(|(_, l)| !l.trim().is_empty())
        .is_some_and(|(_, l)| {
            let l = l.to_lowercase();
            ["forward", "転送", "转发", "轉寄", "ส่งต่อ"]
                .iter()
                .any(|w| l.contains(w))
        });
    starts(line, FROM)
        && !forwarded
        && lines
            .iter()
            .skip(i + 1)
            .take(2)
            .any(|(_, l)| starts(l, SENT))
}
