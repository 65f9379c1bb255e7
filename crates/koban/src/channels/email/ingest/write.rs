//! Writing a placed mail to the desk: onto a ticket's conversation or as
//! a new ticket, its files through the desk's checks, and what the desk's
//! refusals mean for the mail.

use super::clues::{requester_account, ticket_of_reference};
use super::{recipient_team, Placed, CHANNEL};
use crate::channels::email::parse::{self, Mail};
use crate::channels::email::store::Stored;
use crate::channels::email::EmailError;
use crate::desk::attachments::{self, DeskUploadKind};
use crate::desk::store::channel_messages;
use crate::desk::tickets::service::{self, Opening, Origin, Requester, Standing};
use crate::desk::DeskError;
use crate::state::App;
use crate::store::now_ms;
use koban_policy::mail::threading::Clue;
use serde_json::json;
use std::collections::BTreeMap;

/// Puts the mail on `ticket`'s conversation as its requester's message.
pub(in crate::channels::email) async fn join(
    app: &App,
    stored: &Stored,
    mail: &Mail,
    ticket: i64,
    origin: Origin,
    mut placed: Placed,
) -> Result<Placed, EmailError> {
    let Some(row) = crate::desk::store::ticket_by_id(app.store.read(), ticket).await? else {
        return Ok(placed);
    };
    let (tokens, refused) = upload_files(app, mail).await;
    placed.refused_files = refused;
    let sender = origin.sender.clone().unwrap_or_default();
    let author = requester_account(app, &row, &sender).await?;
    let added = service::add_message_as(
        app,
        author,
        &row,
        Standing::Requester,
        &body_of(mail, &row.language),
        true,
        &tokens,
        Some(&origin),
    )
    .await;
    match added {
        Ok(added) => {
            placed.status = "joined";
            placed.ticket = Some(row.id);
            if let Some(follow_up) = added.follow_up {
                placed.status = "opened";
                placed.related = Some(row.id);
                placed.ticket = ticket_of_reference(app, &follow_up).await?;
            }
            Ok(placed)
        }
        Err(e) => settle_refusal(app, stored, placed, e).await,
    }
}

/// Opens a ticket with the mail as its first message, for `sender`, in the
/// team of the address it was sent to; linked to the ticket it pointed at.
pub(in crate::channels::email) async fn open(
    app: &App,
    stored: &Stored,
    mail: &Mail,
    sender: &str,
    origin: Origin,
    mut placed: Placed,
) -> Result<Placed, EmailError> {
    let (tokens, refused) = upload_files(app, mail).await;
    placed.refused_files = refused;
    let language = koban_policy::mail::language::guess(&mail.text, mail.charset.as_deref());
    let opening = Opening {
        category: None,
        subject: subject_of(mail, language),
        body: body_of(mail, language),
        fields: BTreeMap::new(),
        language: language.to_string(),
        region: None,
        time_zone: None,
        channel: CHANNEL,
        share_security_context: false,
        attachments: tokens,
        team: recipient_team(app, stored),
        origin: Some(origin),
    };
    let requester = Requester::Contact {
        email: Some(sender.to_string()),
        phone: None,
        region: None,
        name: mail.from.as_ref().and_then(|p| p.name.clone()),
    };
    match service::open(app, requester, opening).await {
        Ok(opened) => {
            placed.status = "opened";
            placed.ticket = Some(opened.id);
            if let Some(related) = placed.related {
                link(app, opened.id, related, placed.clue).await?;
            }
            Ok(placed)
        }
        Err(e) => settle_refusal(app, stored, placed, e).await,
    }
}

/// What the desk's refusal of a mail means for it: a duplicate (its
/// Message-ID already on a ticket: a retry after a crash, or the same mail
/// twice) is where it already is; a throttled sender is held; anything
/// else waits for an agent with the reason.
async fn settle_refusal(
    app: &App,
    stored: &Stored,
    mut placed: Placed,
    error: DeskError,
) -> Result<Placed, EmailError> {
    match error {
        DeskError::Conflict("duplicate-message") => {
            let found = channel_messages::tickets_of(
                app.store.read(),
                CHANNEL,
                std::slice::from_ref(&stored.message_id),
            )
            .await?;
            placed.status = "joined";
            placed.ticket = found.first().map(|(_, t)| *t);
        }
        DeskError::RateLimited(_) => placed.status = "held",
        DeskError::Store(e) => return Err(e.into()),
        DeskError::Internal(e) => return Err(EmailError::Desk(DeskError::Internal(e))),
        other => {
            tracing::warn!(inbound = stored.id, error = %other, "the desk refused an inbound mail; held for review");
            placed.status = "review";
        }
    }
    Ok(placed)
}

/// The mail's files through the desk's checks, as upload tokens; the
/// refused ones by name and reason. Past the desk's per-message limit the
/// rest are refused as too many (the raw mail keeps them).
async fn upload_files(app: &App, mail: &Mail) -> (Vec<String>, Vec<serde_json::Value>) {
    let max = attachments::limits().max_files;
    let mut tokens = Vec::new();
    let mut refused = Vec::new();
    for file in &mail.files {
        if tokens.len() >= max {
            refused.push(json!({ "file_name": file.name, "code": "attachment_too_many" }));
            continue;
        }
        if file.size as u64 > attachments::limits().max_bytes {
            refused.push(json!({ "file_name": file.name, "code": "attachment_too_large" }));
            continue;
        }
        // One file in memory at a time: a spooled one is read only now.
        let bytes = match file.content() {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(error = %e, file = %file.name, "a mail's spooled file could not be read back");
                refused.push(json!({ "file_name": file.name, "code": "refused" }));
                continue;
            }
        };
        match attachments::upload(app, None, DeskUploadKind::Attachment, &file.name, bytes).await {
            Ok(uploaded) => tokens.push(uploaded.token),
            Err(e) => refused.push(json!({ "file_name": file.name, "code": refusal_code(&e) })),
        }
    }
    (tokens, refused)
}

fn refusal_code(error: &DeskError) -> String {
    match error {
        DeskError::Invalid(errors) => errors
            .first()
            .map(|e| e.code.to_string())
            .unwrap_or_else(|| "refused".into()),
        DeskError::TooLarge(_) => "attachment_too_large".into(),
        _ => "refused".into(),
    }
}

/// The subject the ticket gets: the mail's, else its first words, else
/// "no subject" in the language the mail is written in.
fn subject_of(mail: &Mail, language: &str) -> String {
    let subject = koban_policy::text::strip_hidden(&mail.subject).replace(['\n', '\t'], " ");
    let subject = subject.trim();
    let subject = if subject.is_empty() {
        koban_policy::text::strip_hidden(&mail.text)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string()
    } else {
        subject.to_string()
    };
    let subject = if subject.is_empty() {
        in_language(language, "email-no-subject")
    } else {
        subject
    };
    truncate(&subject, service::MAX_SUBJECT_CHARS)
}

/// Message `id` in the language tagged `language` (English if none).
fn in_language(language: &str, id: &str) -> String {
    let lang = crate::web::i18n::Lang::parse(language).unwrap_or(crate::web::i18n::Lang::En);
    crate::web::i18n::t(lang, id, &[])
}

/// The message the ticket gets: the mail's text, cleaned and cut to the
/// desk's limit (the raw mail keeps the whole), else its subject, else
/// "no text" in `language`.
fn body_of(mail: &Mail, language: &str) -> String {
    let text = koban_policy::text::strip_hidden(&mail.text);
    let text = text.trim();
    let text = if text.is_empty() {
        koban_policy::text::strip_hidden(&mail.subject)
    } else {
        text.to_string()
    };
    let text = if text.trim().is_empty() {
        in_language(language, "email-no-text")
    } else {
        text
    };
    truncate(&text, service::MAX_BODY_CHARS)
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max_chars - 1).collect();
    cut.push('…');
    cut
}

/// Links a ticket opened by a stranger's mail to the one it pointed at.
async fn link(app: &App, opened: i64, related: i64, clue: Option<Clue>) -> Result<(), EmailError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let reference_of = |id| crate::desk::store::merge::reference_of(app.store.read(), id);
    let (opened_ref, related_ref) = (reference_of(opened).await?, reference_of(related).await?);
    crate::desk::store::insert_event(
        &mut tx,
        opened,
        None,
        "email_linked",
        &json!({ "related": related_ref, "clue": clue }),
        now,
    )
    .await?;
    crate::desk::store::insert_event(
        &mut tx,
        related,
        None,
        "email_linked",
        &json!({ "related": opened_ref, "clue": clue }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Marks on the ticket that a trusted relay found the sender forged.
pub(super) async fn mark_spoofed(
    app: &App,
    ticket: i64,
    results: &parse::Authentication,
) -> Result<(), EmailError> {
    let mut tx = app.store.write().begin().await?;
    crate::desk::store::insert_event(
        &mut tx,
        ticket,
        None,
        "email_authentication_failed",
        &json!({ "spf": results.spf, "dkim": results.dkim, "dmarc": results.dmarc }),
        now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
