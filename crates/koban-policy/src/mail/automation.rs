//! What a mail is: written by a person, or sent by a machine (an
//! out-of-office reply, a mailing list, a bounce). A help desk that answers
//! machines talks to itself: Koban's acknowledgement to an auto-reply earns
//! another auto-reply, and so on until a mailbox fills. RFC 3834 says how
//! automatic mail marks itself; the rest are the marks real mailers use.

use serde::{Deserialize, Serialize};

/// The headers that tell a machine's mail from a person's, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// `Auto-Submitted` (RFC 3834): `no`, `auto-replied`, `auto-generated`, …
    pub auto_submitted: Option<String>,
    /// `Precedence`: `bulk`, `list`, `junk`, `auto_reply`.
    pub precedence: Option<String>,
    /// A `List-Id` or `List-Unsubscribe` header is present.
    pub list: bool,
    /// Microsoft's `X-Auto-Response-Suppress` names `OOF` or `All`, or
    /// `X-Autoreply` / `X-Autorespond` is present.
    pub vendor_auto_reply: bool,
    /// The top-level type is `multipart/report` with `report-type=delivery-status`
    /// (RFC 3464), or the envelope sender is empty (`MAIL FROM:<>`).
    pub delivery_report: bool,
    /// The From local part, lower-cased: `mailer-daemon`, `postmaster`, …
    pub from_local: Option<String>,
}

/// What kind of mail it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Automation {
    /// Written by a person.
    Person,
    /// An automatic reply (out of office, vacation, autoresponder).
    AutoReply,
    /// A list or bulk mailing.
    Bulk,
    /// A delivery status notification: a bounce.
    Bounce,
}

impl Automation {
    /// Whether Koban may answer it automatically (an acknowledgement):
    /// only a person's mail. RFC 3834 §2: never answer automatic mail.
    pub fn may_auto_answer(self) -> bool {
        self == Automation::Person
    }
}

/// Classifies a mail from its signals. A bounce is checked first (it is
/// also automatic, but it carries the delivery it reports on), then the
/// automatic marks, then list marks.
pub fn classify(s: &Signals) -> Automation {
    let local = s.from_local.as_deref().unwrap_or("");
    if s.delivery_report || matches!(local, "mailer-daemon" | "postmaster") {
        return Automation::Bounce;
    }
    let auto_submitted = s.auto_submitted.as_deref().map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    if matches!(auto_submitted.as_deref(), Some(v) if !v.is_empty() && v != "no") {
        return Automation::AutoReply;
    }
    if s.vendor_auto_reply {
        return Automation::AutoReply;
    }
    let precedence = s
        .precedence
        .as_deref()
        .map(|v| v.trim().to_ascii_lowercase());
    match precedence.as_deref() {
        Some("auto_reply") => return Automation::AutoReply,
        Some("bulk" | "list" | "junk") => return Automation::Bulk,
        _ => {}
    }
    if s.list {
        return Automation::Bulk;
    }
    Automation::Person
}
