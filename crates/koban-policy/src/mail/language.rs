//! The language a mail is written in, for the ticket it opens: the desk
//! answers in the ticket's language, and a web form says which one the
//! requester read, but a mail only says it in its text (and sometimes its
//! charset). Script decides most of it; Chinese needs the characters that
//! differ between simplified and traditional writing.

/// Characters written only in simplified Chinese, common in support mail.
const SIMPLIFIED: &str = "们这个为说时么号码设备录验证无请问题账户帐应该没发来过还让给对该后开关机网线换删除绑态扫连讯须缴费";
/// Their traditional forms (and others written only so).
const TRADITIONAL: &str = "們這個為說時麼號碼設備錄驗證無請問題賬戶帳應該沒發來過還讓給對該後開關機網線換刪除綁態掃連訊須繳費";

/// The desk language tag (`en`, `zh-CN`, `zh-TW`, `ja`, `th`) a text is
/// most likely in. `charset` (the mail's, lower-cased) settles Chinese
/// when the text alone does not: Big5 is written in Taiwan and Hong Kong,
/// GB2312/GBK/GB18030 in mainland China.
pub fn guess(text: &str, charset: Option<&str>) -> &'static str {
    let (mut thai, mut kana, mut han, mut latin) = (0usize, 0usize, 0usize, 0usize);
    let (mut simplified, mut traditional) = (0usize, 0usize);
    for c in text.chars().take(4000) {
        match c as u32 {
            0x0E00..=0x0E7F => thai += 1,
            0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F => kana += 1,
            0x4E00..=0x9FFF | 0x3400..=0x4DBF => {
                han += 1;
                // Both lists hold some shared characters (题, 问): a character
                // in both counts for neither.
                let s = SIMPLIFIED.contains(c);
                let t = TRADITIONAL.contains(c);
                if s && !t {
                    simplified += 1;
                }
                if t && !s {
                    traditional += 1;
                }
            }
            _ if c.is_ascii_alphabetic() => latin += 1,
            _ => {}
        }
    }
    if thai > 0 && thai >= kana + han && thai * 4 >= latin {
        return "th";
    }
    // Japanese writes kana between its kanji; Chinese never does.
    if kana > 0 && kana * 10 >= han {
        return "ja";
    }
    if han > 0 && han * 4 >= latin {
        let charset = charset.unwrap_or("");
        return if traditional > simplified {
            "zh-TW"
        } else if simplified > traditional {
            "zh-CN"
        } else if charset.contains("big5") {
            "zh-TW"
        } else {
            "zh-CN"
        };
    }
    if latin == 0 {
        // No words to read (an empty mail, a picture alone): the charset
        // its client chose is the only sign of the writer's language.
        return by_charset(charset.unwrap_or(""));
    }
    "en"
}

/// The language a charset is written for, if only one: `en` otherwise.
fn by_charset(charset: &str) -> &'static str {
    let charset = charset.to_ascii_lowercase();
    if [
        "iso-2022-jp",
        "shift_jis",
        "shift-jis",
        "sjis",
        "euc-jp",
        "cp932",
        "windows-31j",
    ]
    .contains(&charset.as_str())
    {
        "ja"
    } else if charset.starts_with("big5") {
        "zh-TW"
    } else if charset.starts_with("gb") {
        "zh-CN"
    } else if ["tis-620", "windows-874", "iso-8859-11"].contains(&charset.as_str()) {
        "th"
    } else {
        "en"
    }
}
