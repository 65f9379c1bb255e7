//! Reading a bounce (a delivery status notification, RFC 3464): which of
//! Koban's mails it is about and why it failed. Reporting MTAs differ in
//! everything but the `Status:` and `Diagnostic-Code:` fields of the
//! `message/delivery-status` part and the returned headers, so those are
//! all this reads.

/// What a bounce says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The id of Koban's delivery it returns (`koban-delivery-<id>@…` in the
    /// returned Message-ID), when it names one.
    pub delivery_id: Option<i64>,
    /// That Message-ID, without brackets.
    pub message_id: Option<String>,
    /// The recipient that failed (`Final-Recipient`), without its type.
    pub recipient: Option<String>,
    /// The enhanced status code, `5.1.1`.
    pub status: Option<String>,
    /// The remote server's words, at most 300 characters.
    pub diagnostic: Option<String>,
}

impl Bounce {
    /// A 5.x.x status is permanent: that address will not take mail.
    /// A 4.x.x one (a full mailbox, a greylist) may still be delivered.
    pub fn permanent(&self) -> bool {
        self.status.as_deref().is_some_and(|s| s.starts_with('5'))
    }
}

/// Reads a bounce from its text: the delivery-status fields and the
/// returned headers, as the mail holds them (any order, any case).
pub fn read(text: &str) -> Bounce {
    let (delivery_id, message_id) = match delivery_id(text) {
        Some((id, message_id)) => (Some(id), Some(message_id)),
        None => (None, None),
    };
    let mut bounce = Bounce {
        delivery_id,
        message_id,
        recipient: None,
        status: None,
        diagnostic: None,
    };
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "final-recipient" if bounce.recipient.is_none() => {
                let address = value.split_once(';').map_or(value, |(_, a)| a).trim();
                bounce.recipient = Some(address.to_ascii_lowercase()).filter(|a| !a.is_empty());
            }
            "status" if bounce.status.is_none() => {
                let code = value.split_whitespace().next().unwrap_or("");
                let valid = code.split('.').count() == 3
                    && code
                        .split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
                if valid {
                    bounce.status = Some(code.to_string());
                }
            }
            "diagnostic-code" if bounce.diagnostic.is_none() => {
                let words = value.split_once(';').map_or(value, |(_, w)| w).trim();
                bounce.diagnostic =
                    Some(words.chars().take(300).collect()).filter(|w: &String| !w.is_empty());
            }
            _ => {}
        }
    }
    bounce
}

/// The delivery id in `koban-delivery-<id>@<domain>`, the first one in
/// the text, with the whole id.
fn delivery_id(text: &str) -> Option<(i64, String)> {
    const MARK: &str = "koban-delivery-";
    text.match_indices(MARK).find_map(|(at, _)| {
        let rest = &text[at + MARK.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let after = &rest[digits.len()..];
        if !after.starts_with('@') || digits.is_empty() || digits.len() > 18 {
            return None;
        }
        let domain: String = after[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            .take(253)
            .collect();
        let id = digits.parse().ok()?;
        Some((id, format!("{MARK}{digits}@{domain}")))
    })
}
