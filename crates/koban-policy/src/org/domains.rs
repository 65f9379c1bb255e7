//! Verified email domains: which names an organization may claim, how it
//! proves one (a DNS TXT record, or a code to an administrative address of
//! the domain, the addresses certificate authorities accept), and who may
//! then join on their own.

/// The label a TXT record is looked up under: `_koban-verification.<domain>`.
pub const TXT_LABEL: &str = "_koban-verification";
/// What the record holds before the token.
pub const TXT_PREFIX: &str = "koban-verification=";

/// The local parts a code may go to: whoever reads these runs the domain's
/// mail (the CA/Browser Forum's constructed addresses).
pub const PROOF_MAILBOXES: [&str; 5] = [
    "admin",
    "administrator",
    "hostmaster",
    "postmaster",
    "webmaster",
];

/// Mail services anyone can sign up at: claiming one would let an
/// organization take in strangers.
const PUBLIC_MAIL: &[&str] = &[
    "126.com",
    "163.com",
    "aol.com",
    "au.com",
    "daum.net",
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "foxmail.com",
    "gmail.com",
    "gmx.com",
    "googlemail.com",
    "hanmail.net",
    "hinet.net",
    "hotmail.co.jp",
    "hotmail.co.th",
    "hotmail.com",
    "i.softbank.jp",
    "icloud.com",
    "line.me",
    "live.com",
    "mac.com",
    "mail.com",
    "me.com",
    "msn.com",
    "naver.com",
    "outlook.com",
    "outlook.jp",
    "pchome.com.tw",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "sina.com",
    "sohu.com",
    "softbank.ne.jp",
    "yahoo.co.jp",
    "yahoo.co.th",
    "yahoo.com",
    "yahoo.com.tw",
    "yandex.com",
    "yeah.net",
    "ymail.com",
    "zoho.com",
];

/// Why a domain cannot be claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a registrable host name (in ASCII form).
    Invalid,
    /// A mail service open to anyone.
    PublicMail,
}

/// The domain in the form it is stored and compared: lowercase ASCII
/// (internationalized names already in their `xn--` form), no trailing dot,
/// at least two labels of letters, digits and inner hyphens, and a
/// top-level label that is not all digits (no IP addresses).
pub fn checked(domain: &str) -> Result<String, Refusal> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() || domain.len() > 253 {
        return Err(Refusal::Invalid);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(Refusal::Invalid);
    }
    for label in &labels {
        let ok = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(Refusal::Invalid);
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Refusal::Invalid);
    }
    if PUBLIC_MAIL.contains(&domain.as_str()) {
        return Err(Refusal::PublicMail);
    }
    Ok(domain)
}

/// The name the TXT record is looked up under.
pub fn txt_name(domain: &str) -> String {
    format!("{TXT_LABEL}.{domain}")
}

/// The record's text for a token.
pub fn txt_value(token: &str) -> String {
    format!("{TXT_PREFIX}{token}")
}

/// Whether any of the TXT records found proves the token (surrounding
/// spaces forgiven: some DNS consoles add them).
pub fn txt_proves(records: &[String], token: &str) -> bool {
    let wanted = txt_value(token);
    records.iter().any(|r| r.trim() == wanted)
}

/// Whether a code may be sent to `local@domain` to prove the domain.
pub fn proof_mailbox(local: &str) -> Option<&'static str> {
    let local = local.trim().to_ascii_lowercase();
    PROOF_MAILBOXES.into_iter().find(|m| *m == local)
}

/// The domain of a verified email address, as [`checked`] stores domains.
/// Only the exact domain counts: `a@mail.example.jp` does not join through
/// `example.jp`.
pub fn domain_of(email: &str) -> Option<String> {
    let (_, domain) = email.rsplit_once('@')?;
    checked(domain).ok()
}
