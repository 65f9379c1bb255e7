//! The job that makes a stored mail part of the desk: parsed, classified
//! (a person's mail, an auto-reply, a list, a bounce), threaded onto the
//! ticket it belongs to or opening one, with its files. Every outcome is
//! recorded on the stored mail, so none is lost silently: what cannot join
//! or open a ticket waits in a status an agent can list.

use super::parse::{self, Mail};
use super::store::{self, Outcome, Stored};
use super::{settings, EmailError};
use crate::desk::attachments::{self, DeskUploadKind};
use crate::desk::store::channel_messages;
use crate::desk::store::TicketRow;
use crate::desk::tickets::service::{self, Opening, Origin, Requester, Standing};
use crate::desk::DeskError;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use koban_policy::mail::automation::{classify, Automation};
use koban_policy::mail::threading::{self, Candidate, Clue, Threading};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Job kind: ingest one stored mail (payload `{"inbound_id": …}`).
pub const JOB: JobKind = JobKind {
    kind: "email.ingest",
    every_ms: None,
    run,
};

/// The channel name on tickets and channel message ids.
pub const CHANNEL: &str = "email";
/// Ids of `In-Reply-To` and `References` looked up at most.
const MAX_THREAD_IDS: usize = 50;
/// Merges followed at most from a ticket a mail points at.
const MAX_MERGE_HOPS: usize = 8;

fn run<'a>(app: &'a Arc<App>, job: &'a crate::jobs::Job) -> JobFuture<'a> {
    Box::pin(async move {
        let id = job
            .payload
            .get("inbound_id")
            .and_then(|v| v.as_i64())
            .ok_or("payload lacks inbound_id")?;
        ingest(app, id).await.map_err(|e| e.to_string())
    })
}

/// Ingests stored mail `id` if it still waits; safe to run twice.
pub async fn ingest(app: &App, id: i64) -> Result<(), EmailError> {
    let Some(stored) = store::stored(app.store.read(), id).await? else {
        return Ok(());
    };
    if stored.status != "received" {
        return Ok(());
    }
    let mail = match read_mail(app, &stored) {
        Ok(mail) => mail,
        Err(why) => return unreadable(app, &stored, &why).await,
    };
    let placed = place(app, &stored, &mail).await?;
    settle(app, &stored, "received", &placed, &mail).await?;
    Ok(())
}

/// The stored mail, inflated and parsed; why not, when it cannot be.
pub(super) fn read_mail(app: &App, stored: &Stored) -> Result<Mail, String> {
    let limit = app.config.email_max_message_bytes.saturating_add(64 * 1024);
    let raw = match stored
        .raw_deflated
        .as_deref()
        .map(|d| super::inbound::inflate(d, limit))
    {
        Some(Ok(raw)) => raw,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err("raw mail pruned".into()),
    };
    parse::parse(&raw, &settings(app).trusted_authserv_ids).map_err(|e| e.to_string())
}

/// Records where the mail went, if it is still in status `from`; false
/// when someone else placed it first.
pub(super) async fn settle(
    app: &App,
    stored: &Stored,
    from: &str,
    placed: &Placed,
    mail: &Mail,
) -> Result<bool, EmailError> {
    let detail = json!({
        "clue": placed.clue,
        "related": placed.related,
        "automation": placed.automation,
        "spoofed": mail.authentication.failed(),
        "problems": mail.problems,
        "refused_files": placed.refused_files,
        "subject": mail.subject.chars().take(200).collect::<String>(),
    });
    let outcome = Outcome {
        status: placed.status,
        ticket_id: placed.ticket,
        sender: placed.sender.as_deref(),
        detail: &detail,
    };
    Ok(store::settle(app.store.write(), stored.id, from, &outcome, now_ms()).await?)
}

async fn unreadable(app: &App, stored: &Stored, why: &str) -> Result<(), EmailError> {
    tracing::warn!(inbound = stored.id, %why, "inbound mail unreadable; kept for review");
    let detail = json!({ "error": why });
    let outcome = Outcome {
        status: "unreadable",
        ticket_id: None,
        sender: None,
        detail: &detail,
    };
    store::settle(app.store.write(), stored.id, "received", &outcome, now_ms()).await?;
    Ok(())
}

/// Where a mail went.
pub(super) struct Placed {
    pub status: &'static str,
    pub ticket: Option<i64>,
    pub related: Option<i64>,
    pub clue: Option<Clue>,
    pub sender: Option<String>,
    pub automation: Automation,
    pub refused_files: Vec<serde_json::Value>,
}

impl Placed {
    pub(super) fn new(
        status: &'static str,
        sender: Option<String>,
        automation: Automation,
    ) -> Placed {
        Placed {
            status,
            ticket: None,
            related: None,
            clue: None,
            sender,
            automation,
            refused_files: Vec::new(),
        }
    }
}

async fn place(app: &App, stored: &Stored, mail: &Mail) -> Result<Placed, EmailError> {
    let automation = classify(&mail.signals);
    // Reply-To is who the person wants answers at, but From is who wrote:
    // only From decides whether they take part in a ticket.
    let sender = mail
        .from
        .as_ref()
        .map(|p| p.address.clone())
        .or_else(|| Some(stored.envelope_from.to_ascii_lowercase()).filter(|s| !s.is_empty()));
    if automation == Automation::Bounce {
        return Ok(Placed::new("bounce", sender, automation));
    }
    let candidates = candidates(app, stored, mail, sender.as_deref()).await?;
    let decision = threading::decide(&candidates, settings(app).unknown_sender);
    let mut placed = Placed::new("review", sender.clone(), automation);
    let Some(sender) = sender else {
        // Nobody to answer: an agent decides what it is.
        if let Threading::Join { ticket, clue }
        | Threading::NewLinked {
            related: ticket,
            clue,
        }
        | Threading::Review {
            related: ticket,
            clue,
        } = decision
        {
            placed.related = Some(ticket);
            placed.clue = Some(clue);
        }
        return Ok(placed);
    };
    // A machine's mail never opens a ticket (answering it starts a loop)
    // and never moves one; it is kept, with the ticket it pointed at.
    if automation != Automation::Person {
        placed.status = "automatic";
        if let Threading::Join { ticket, clue } = decision {
            placed.related = Some(ticket);
            placed.clue = Some(clue);
        }
        return Ok(placed);
    }
    let origin = Origin {
        channel: CHANNEL,
        external_id: stored.message_id.clone(),
        sender: Some(sender.clone()),
    };
    match decision {
        Threading::Join { ticket, clue } => {
            placed.clue = Some(clue);
            placed = join(app, stored, mail, ticket, origin, placed).await?;
        }
        Threading::Review { related, clue } => {
            placed.related = Some(related);
            placed.clue = Some(clue);
        }
        Threading::New | Threading::NewLinked { .. } => {
            if let Threading::NewLinked { related, clue } = decision {
                placed.related = Some(related);
                placed.clue = Some(clue);
            }
            if over_sender_limit(app, &sender, now_ms()).await? {
                placed.status = "held";
                return Ok(placed);
            }
            placed = open(app, stored, mail, &sender, origin, placed).await?;
        }
    }
    if mail.authentication.failed() {
        if let Some(ticket) = placed.ticket {
            mark_spoofed(app, ticket, &mail.authentication).await?;
        }
    }
    Ok(placed)
}

/// Puts the mail on `ticket`'s conversation as its requester's message.
pub(super) async fn join(
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
        &body_of(mail),
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
pub(super) async fn open(
    app: &App,
    stored: &Stored,
    mail: &Mail,
    sender: &str,
    origin: Origin,
    mut placed: Placed,
) -> Result<Placed, EmailError> {
    let (tokens, refused) = upload_files(app, mail).await;
    placed.refused_files = refused;
    let opening = Opening {
        category: None,
        subject: subject_of(mail),
        body: body_of(mail),
        fields: BTreeMap::new(),
        language: koban_policy::mail::language::guess(&mail.text, mail.charset.as_deref())
            .to_string(),
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

/// Every ticket the mail points at, with whether its sender takes part.
async fn candidates(
    app: &App,
    stored: &Stored,
    mail: &Mail,
    sender: Option<&str>,
) -> Result<Vec<Candidate>, EmailError> {
    let mut found: Vec<(i64, Clue)> = Vec::new();
    for recipient in &stored.recipients {
        let token = settings(app).recipient(recipient).and_then(|r| r.token);
        if let Some(reference) = token.and_then(|t| super::reference_of_token(app, &t)) {
            if let Some(id) = ticket_of_reference(app, &reference).await? {
                found.push((id, Clue::ReplyAddress));
            }
        }
    }
    for (ids, clue) in [
        (&mail.in_reply_to, Clue::InReplyTo),
        (&mail.references, Clue::References),
    ] {
        let ids = threading::message_ids(ids, MAX_THREAD_IDS);
        for (_, ticket) in channel_messages::tickets_of(app.store.read(), CHANNEL, &ids).await? {
            found.push((ticket, clue));
        }
    }
    for reference in threading::references_in_subject(&mail.subject) {
        if let Some(id) = ticket_of_reference(app, &reference.to_string()).await? {
            found.push((id, Clue::Subject));
        }
    }
    let mut candidates = Vec::with_capacity(found.len());
    for (ticket, clue) in found {
        let ticket = follow_merges(app, ticket).await?;
        if candidates
            .iter()
            .any(|c: &Candidate| c.ticket == ticket && c.clue <= clue)
        {
            continue;
        }
        let sender_known = match sender {
            Some(sender) => takes_part(app, ticket, sender).await?,
            None => false,
        };
        candidates.push(Candidate {
            ticket,
            clue,
            sender_known,
        });
    }
    Ok(candidates)
}

async fn ticket_of_reference(app: &App, reference: &str) -> Result<Option<i64>, EmailError> {
    let Ok(reference) = service::parse_reference(reference) else {
        return Ok(None);
    };
    Ok(
        crate::desk::store::ticket_by_reference(app.store.read(), &reference)
            .await?
            .map(|t| t.id),
    )
}

/// The ticket a merged ticket's conversation continues on.
async fn follow_merges(app: &App, mut ticket: i64) -> Result<i64, EmailError> {
    for _ in 0..MAX_MERGE_HOPS {
        match crate::desk::store::merge::merged_into(app.store.read(), ticket).await? {
            Some(into) => ticket = into,
            None => break,
        }
    }
    Ok(ticket)
}

/// Whether `sender` is the ticket's requester (its contact's or account's
/// address) or wrote on it by mail before.
async fn takes_part(app: &App, ticket: i64, sender: &str) -> Result<bool, EmailError> {
    let Some(row) = crate::desk::store::ticket_by_id(app.store.read(), ticket).await? else {
        return Ok(false);
    };
    if requester_address(app, &row)
        .await?
        .is_some_and(|a| a.eq_ignore_ascii_case(sender))
    {
        return Ok(true);
    }
    Ok(channel_messages::has_written(app.store.read(), ticket, CHANNEL, sender).await?)
}

/// The requester's email address: the contact's, else the account's.
async fn requester_address(app: &App, row: &TicketRow) -> Result<Option<String>, EmailError> {
    if let Some(contact) = row.requester_contact_id {
        if let Some((Some(email), _)) =
            crate::desk::store::contact(app.store.read(), contact).await?
        {
            return Ok(Some(email));
        }
    }
    if let Some(account) = row.requester_account_id {
        let account = crate::accounts::store::find_by_id(app.store.read(), account).await?;
        return Ok(account.and_then(|a| a.email));
    }
    Ok(None)
}

/// The requester's account, when the sender is its address: the message
/// is theirs. Anyone else writes as the ticket's contact, unsigned.
async fn requester_account(
    app: &App,
    row: &TicketRow,
    sender: &str,
) -> Result<Option<i64>, EmailError> {
    let Some(account) = row.requester_account_id else {
        return Ok(None);
    };
    let found = crate::accounts::store::find_by_id(app.store.read(), account).await?;
    Ok(found
        .filter(|a| {
            a.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(sender))
        })
        .map(|a| a.id))
}

/// The team of the desk address the mail was sent to (the first that has one).
fn recipient_team(app: &App, stored: &Stored) -> Option<String> {
    stored
        .recipients
        .iter()
        .filter_map(|r| settings(app).recipient(r))
        .find_map(|r| r.address.team)
}

async fn over_sender_limit(app: &App, sender: &str, now: i64) -> Result<bool, EmailError> {
    let limit = app.config.email_sender_limit_per_hour;
    if limit <= 0 {
        return Ok(false);
    }
    let recent = store::recent_from(app.store.read(), sender, now - crate::jobs::HOUR_MS).await?;
    Ok(recent >= limit)
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
        let bytes = bytes::Bytes::from(file.bytes.clone());
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

/// The subject the ticket gets: the mail's, else its first words.
fn subject_of(mail: &Mail) -> String {
    let subject = koban_policy::text::strip_hidden(&mail.subject).replace(['\n', '\t'], " ");
    let subject = subject.trim();
    let subject = if subject.is_empty() {
        body_of(mail)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string()
    } else {
        subject.to_string()
    };
    let subject = if subject.is_empty() {
        "(no subject)".to_string()
    } else {
        subject
    };
    truncate(&subject, service::MAX_SUBJECT_CHARS)
}

/// The message the ticket gets: the mail's text, cleaned and cut to the
/// desk's limit (the raw mail keeps the whole), else its subject.
fn body_of(mail: &Mail) -> String {
    let text = koban_policy::text::strip_hidden(&mail.text);
    let text = text.trim();
    let text = if text.is_empty() {
        koban_policy::text::strip_hidden(&mail.subject)
    } else {
        text.to_string()
    };
    let text = if text.trim().is_empty() {
        "(no text)".to_string()
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
async fn mark_spoofed(
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
