//! The fixed set of queries `koban-bench search query` times, in each
//! language, and the query strings it sends.

/// One query of the timed set.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub lang: &'static str,
    pub name: &'static str,
    pub q: &'static str,
    /// Filters, as the API's parameters.
    pub filters: &'static [(&'static str, &'static str)],
    /// Also `from` = this many days before today.
    pub since_days: Option<u32>,
    /// Must find something at any load size (checked before timing).
    pub finds: bool,
}

const fn probe(lang: &'static str, name: &'static str, q: &'static str, finds: bool) -> Probe {
    Probe {
        lang,
        name,
        q,
        filters: &[],
        since_days: None,
        finds,
    }
}

const fn filtered(
    lang: &'static str,
    name: &'static str,
    q: &'static str,
    filters: &'static [(&'static str, &'static str)],
    since_days: Option<u32>,
) -> Probe {
    Probe {
        lang,
        name,
        q,
        filters,
        since_days,
        finds: false,
    }
}

/// The timed set: in each language a common word, two words, a phrase, a
/// rare word, a rare word with a common one, and common words under a
/// status filter, a category and team filter, and the last 30 days.
pub const PROBES: &[Probe] = &[
    probe("zh-CN", "common", "密码", true),
    probe("zh-CN", "two_words", "手机 验证码", true),
    probe("zh-CN", "phrase", "\"错误代码\"", true),
    probe("zh-CN", "rare", "乌鲁木齐", true),
    probe("zh-CN", "rare_and_common", "乌鲁木齐 错误代码", true),
    filtered("zh-CN", "status", "账号", &[("status", "open")], None),
    filtered(
        "zh-CN",
        "category_team",
        "登录",
        &[("category", "cannot_sign_in"), ("team", "accounts")],
        None,
    ),
    filtered("zh-CN", "recent", "验证码", &[], Some(30)),
    probe("zh-TW", "common", "帳號", true),
    probe("zh-TW", "two_words", "手機 驗證碼", true),
    probe("zh-TW", "phrase", "\"錯誤代碼\"", true),
    probe("zh-TW", "rare", "澎湖", true),
    probe("zh-TW", "rare_and_common", "澎湖 錯誤代碼", true),
    filtered("zh-TW", "status", "密碼", &[("status", "open")], None),
    filtered(
        "zh-TW",
        "category_team",
        "登入",
        &[("category", "cannot_sign_in"), ("team", "accounts")],
        None,
    ),
    filtered("zh-TW", "recent", "驗證碼", &[], Some(30)),
    probe("ja", "common", "ログイン", true),
    probe("ja", "two_words", "パスワード アカウント", false),
    probe("ja", "phrase", "\"エラーコード\"", true),
    probe("ja", "rare", "稚内", true),
    probe("ja", "rare_and_common", "稚内 エラーコード", true),
    filtered("ja", "status", "アカウント", &[("status", "open")], None),
    filtered(
        "ja",
        "category_team",
        "ログイン",
        &[("category", "cannot_sign_in"), ("team", "accounts")],
        None,
    ),
    filtered("ja", "recent", "認証コード", &[], Some(30)),
    probe("th", "common", "รหัสผ่าน", true),
    probe("th", "two_words", "บัญชี เข้าสู่ระบบ", false),
    probe("th", "phrase", "\"รหัสข้อผิดพลาด\"", true),
    probe("th", "rare", "แม่ฮ่องสอน", true),
    probe("th", "rare_and_common", "แม่ฮ่องสอน รหัสข้อผิดพลาด", true),
    filtered("th", "status", "บัญชี", &[("status", "open")], None),
    filtered(
        "th",
        "category_team",
        "เข้าสู่ระบบ",
        &[("category", "cannot_sign_in"), ("team", "accounts")],
        None,
    ),
    filtered("th", "recent", "รหัสยืนยัน", &[], Some(30)),
    probe("en", "common", "password", true),
    probe("en", "two_words", "account locked", false),
    probe("en", "phrase", "\"error code\"", true),
    probe("en", "rare", "Reykjavik", true),
    probe("en", "rare_and_common", "Reykjavik error", true),
    filtered("en", "status", "account", &[("status", "open")], None),
    filtered(
        "en",
        "category_team",
        "sign in",
        &[("category", "cannot_sign_in"), ("team", "accounts")],
        None,
    ),
    filtered("en", "recent", "code", &[], Some(30)),
];

/// The query string of `probe` (without the `?`); `since_days` counts
/// back from `today_days`, today in days since 1970-01-01 (UTC).
pub fn query_string(probe: &Probe, today_days: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("q", probe.q);
    for (k, v) in probe.filters {
        query.append_pair(k, v);
    }
    if let Some(days) = probe.since_days {
        query.append_pair("from", &civil_date(today_days - i64::from(days)));
    }
    query.finish()
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::super::corpus::{Corpus, TicketText, LANGS};
    use super::*;

    #[test]
    fn every_language_has_its_queries_and_the_words_they_look_for() {
        let corpus = Corpus::load().expect("corpus");
        let tickets: Vec<TicketText> = (0..20_000).map(|i| corpus.ticket(i, 15)).collect();
        for lang in LANGS {
            let mine: Vec<&Probe> = PROBES.iter().filter(|p| p.lang == lang).collect();
            assert!(mine.len() >= 8, "{lang}");
            assert!(mine.iter().any(|p| p.name == "rare"), "{lang}");
            assert!(mine.iter().any(|p| p.q.starts_with('"')), "{lang}");
            assert!(mine.iter().any(|p| !p.filters.is_empty()), "{lang}");
            let text: Vec<String> = tickets
                .iter()
                .filter(|t| t.lang == lang)
                .map(|t| {
                    let mut all = t.subject.clone();
                    for (_, m) in &t.messages {
                        all.push('\n');
                        all.push_str(m);
                    }
                    all.to_lowercase()
                })
                .collect();
            for p in mine.iter().filter(|p| p.finds) {
                // Every word of it, in one ticket of the language (the
                // tokenizer may match more, e.g. 密碼 for 密码).
                let words: Vec<String> =
                    p.q.trim_matches('"')
                        .split_whitespace()
                        .map(str::to_lowercase)
                        .collect();
                assert!(
                    text.iter()
                        .any(|t| words.iter().all(|w| t.contains(w.as_str()))),
                    "{lang} {}: {}",
                    p.name,
                    p.q
                );
            }
            // The rare word is rare: under one ticket in 500.
            let rare = mine.iter().find(|p| p.name == "rare").expect("rare");
            let n = text
                .iter()
                .filter(|t| t.contains(&rare.q.to_lowercase()))
                .count();
            assert!(
                n >= 1 && n * 500 < text.len(),
                "{lang}: {n} of {}",
                text.len()
            );
        }
    }

    #[test]
    fn dates_count_from_the_epoch() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_454), "2026-01-01");
        assert_eq!(civil_date(-1), "1969-12-31");
        assert_eq!(civil_date(19_782), "2024-02-29");
    }
}
