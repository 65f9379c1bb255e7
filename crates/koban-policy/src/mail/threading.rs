//! Which ticket an inbound mail joins. The help desks this replaces lose
//! replies in two ways: they trust one header (Zammad looks only at the
//! subject by default, Chatwoot only at `In-Reply-To`) and miss a reply
//! that carries the link somewhere else; or they trust any link and put a
//! stranger's mail on someone else's ticket. Here every clue is read, the
//! strongest wins, and a weak clue from someone with no part in the ticket
//! never joins it.

use crate::desk::reference::{self, Reference};
use serde::{Deserialize, Serialize};

/// How a mail points at a ticket, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clue {
    /// Sent to the ticket's own reply address (`support+<token>@…`): the
    /// token is unguessable, so only someone who received Koban's mail on
    /// that ticket (or was given it by someone who did) can write there.
    ReplyAddress,
    /// `In-Reply-To` names a mail Koban sent or received on the ticket.
    InReplyTo,
    /// `References` names one (Apple Mail overwrites the list, some
    /// clients cut it; it still counts when it names one of ours).
    References,
    /// The reference number in the subject, check digit valid.
    Subject,
}

impl Clue {
    /// Whether the clue alone proves the writer was given the ticket's mail.
    pub fn is_proof(self) -> bool {
        self == Clue::ReplyAddress
    }
}

/// A ticket a mail points at, with what the caller read about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub ticket: i64,
    pub clue: Clue,
    /// The sender is the ticket's requester or someone already on its
    /// conversation (a CC'd colleague whose mail joined before).
    pub sender_known: bool,
}

/// What to do with a mail that points at a ticket by headers or subject
/// alone and comes from someone with no part in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrangerPolicy {
    /// Open a ticket of its own that links to the other.
    NewTicket,
    /// Hold it for an agent to place.
    Review,
}

impl StrangerPolicy {
    /// Reads the configured name.
    pub fn parse(name: &str) -> Option<StrangerPolicy> {
        match name {
            "new_ticket" => Some(StrangerPolicy::NewTicket),
            "review" => Some(StrangerPolicy::Review),
            _ => None,
        }
    }
}

/// Where a mail goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Threading {
    /// Onto this ticket's conversation.
    Join { ticket: i64, clue: Clue },
    /// A new ticket that links to `related`, which the mail pointed at.
    NewLinked { related: i64, clue: Clue },
    /// Held for an agent; `related` is the ticket it pointed at.
    Review { related: i64, clue: Clue },
    /// A new ticket: the mail points at nothing Koban knows.
    New,
}

/// Decides where a mail goes from every ticket it points at.
///
/// The strongest clue from a known sender (or the reply address, which is
/// proof on its own) wins; ties between tickets on the same clue go to the
/// most recent ticket (highest id), the one a person is most likely
/// answering. With no such clue, the strongest clue at all decides what
/// the stranger policy does with it.
pub fn decide(candidates: &[Candidate], stranger: StrangerPolicy) -> Threading {
    let mut ranked: Vec<&Candidate> = candidates.iter().collect();
    ranked.sort_by(|a, b| a.clue.cmp(&b.clue).then(b.ticket.cmp(&a.ticket)));
    if let Some(found) = ranked.iter().find(|c| c.clue.is_proof() || c.sender_known) {
        return Threading::Join {
            ticket: found.ticket,
            clue: found.clue,
        };
    }
    match (ranked.first(), stranger) {
        (None, _) => Threading::New,
        (Some(c), StrangerPolicy::NewTicket) => Threading::NewLinked {
            related: c.ticket,
            clue: c.clue,
        },
        (Some(c), StrangerPolicy::Review) => Threading::Review {
            related: c.ticket,
            clue: c.clue,
        },
    }
}

/// The tag Koban puts in the subject of what it sends on a ticket:
/// `[#2612-0345-678]`.
pub fn subject_tag(reference: Reference) -> String {
    format!("[#{}]", reference::format(reference))
}

/// The subject of Koban's answer on a ticket: the ticket's subject without
/// the reply prefixes clients put before it (`Re:`, `RE[2]:`, Outlook's
/// `答复:`/`回覆:`, `AW:`, `SV:` …) or the ticket's tag, then one `Re:` and
/// the tag once. `Re:` is not translated: RFC 5322 §3.6.5 names it, and
/// every client groups by it; a localized one would begin a new thread in
/// some.
pub fn reply_subject(subject: &str, reference: Reference) -> String {
    let tag = subject_tag(reference);
    let mut rest = subject.trim();
    loop {
        let before = rest;
        rest = rest.strip_prefix(tag.as_str()).unwrap_or(rest).trim_start();
        rest = strip_reply_prefix(rest).trim_start();
        if rest == before {
            break;
        }
    }
    let rest = rest.replace(tag.as_str(), " ");
    let rest = rest.split_whitespace().collect::<Vec<_>>().join(" ");
    if rest.is_empty() {
        format!("Re: {tag}")
    } else {
        format!("Re: {rest} {tag}")
    }
}

/// Reply prefixes of the clients this market uses, without case.
const REPLY_PREFIXES: [&str; 10] = [
    "re", "aw", "sv", "vs", "antw", "回复", "回覆", "答复", "答覆", "返信",
];

/// `subject` without one leading reply prefix (with an optional `[n]` or
/// `(n)` count, and a colon, full-width or not).
fn strip_reply_prefix(subject: &str) -> &str {
    for prefix in REPLY_PREFIXES {
        let Some(head) = subject.get(..prefix.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(prefix) {
            continue;
        }
        let mut rest = &subject[prefix.len()..];
        if let Some(counted) = rest.strip_prefix(['[', '(']) {
            let digits = counted.len()
                - counted
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            if digits > 0 {
                if let Some(after) = counted[digits..].strip_prefix([']', ')']) {
                    rest = after;
                }
            }
        }
        if let Some(after) = rest.strip_prefix([':', '：']) {
            return after;
        }
    }
    subject
}

/// Every valid reference number in a subject: after a `#` (Koban's own
/// tag, or a person typing "ticket #…"), eleven digits with separators,
/// check digit valid. A bare number is not read, so a phone number or an
/// order number in a subject never points at a ticket.
pub fn references_in_subject(subject: &str) -> Vec<Reference> {
    let mut found = Vec::new();
    for (i, _) in subject.match_indices(['#', '＃']) {
        let rest = &subject[i..];
        let after = rest.char_indices().nth(1).map_or("", |(j, _)| &rest[j..]);
        let candidate: String = after
            .chars()
            .take_while(|c| c.is_ascii_digit() || ('０'..='９').contains(c) || is_gap(*c))
            .collect();
        let candidate = candidate.trim_end_matches(is_gap);
        if let Ok(r) = reference::parse(candidate) {
            if !found.contains(&r) {
                found.push(r);
            }
        }
    }
    found
}

fn is_gap(c: char) -> bool {
    matches!(
        c,
        '-' | ' ' | '.' | '\u{2010}'..='\u{2015}' | '\u{FF0D}' | '\u{30FC}'
    )
}

/// The longest reply token Koban writes; longer local parts are not ours.
pub const MAX_TOKEN_CHARS: usize = 64;

/// The reply address of a ticket: `token` after a `+` in the local part
/// of `base` (`support@example.com` → `support+<token>@example.com`).
/// `None` when `base` is not an address.
pub fn reply_address(base: &str, token: &str) -> Option<String> {
    let (local, domain) = base.rsplit_once('@')?;
    Some(format!("{local}+{token}@{domain}"))
}

/// Splits a recipient into the base address it was sent to and its reply
/// token, if it has one: `Support+abc@Example.com` → (`support@example.com`,
/// `abc`). Addresses compare without case; a token keeps its case.
pub fn split_recipient(recipient: &str) -> Option<(String, Option<String>)> {
    let recipient = recipient
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let (local, domain) = recipient.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() || local.contains('@') {
        return None;
    }
    let domain = domain.to_ascii_lowercase();
    match local.split_once('+') {
        Some((base, token))
            if !base.is_empty()
                && !token.is_empty()
                && token.len() <= MAX_TOKEN_CHARS
                && token
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') =>
        {
            Some((
                format!("{}@{domain}", base.to_ascii_lowercase()),
                Some(token.to_string()),
            ))
        }
        Some(_) => None,
        None => Some((format!("{}@{domain}", local.to_ascii_lowercase()), None)),
    }
}

/// A mail's references cleaned for lookup: angle brackets and white space
/// trimmed, empty and over-long ids dropped, duplicates dropped, at most
/// `limit` kept, the most recent (last) first. A `References` header of
/// ten thousand ids costs ten thousand lookups otherwise.
pub fn message_ids(ids: &[String], limit: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids.iter().rev() {
        let id = normalise_message_id(id);
        if !id.is_empty() && id.len() <= 998 && !out.contains(&id) {
            out.push(id);
            if out.len() == limit {
                break;
            }
        }
    }
    out
}

/// A Message-ID as stored: without angle brackets or surrounding space.
pub fn normalise_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}
