//! The job that makes a stored mail part of the desk: parsed, classified
//! (a person's mail, an auto-reply, a list, a bounce), threaded onto the
//! ticket it belongs to or opening one, with its files. Every outcome is
//! recorded on the stored mail, so none is lost silently: what cannot join
//! or open a ticket waits in a status an agent can list.

mod clues;
mod read;
mod write;

pub(super) use write::{join, open};

use super::inbound::Inflater;
use super::parse::{self, Mail};
use super::store::{self, Outcome, Stored};
use super::{settings, EmailError};
use crate::desk::tickets::service::Origin;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use clues::candidates;
use koban_policy::mail::automation::{classify, Automation};
use koban_policy::mail::threading::{self, Clue, Threading};
use serde_json::json;
use std::sync::Arc;
use write::mark_spoofed;

/// Job kind: ingest one stored mail (payload `{"inbound_id": …}`).
pub const JOB: JobKind = JobKind {
    kind: "email.ingest",
    round: None,
    every_ms: None,
    run,
};

/// The channel name on tickets and channel message ids.
pub const CHANNEL: &str = "email";
/// Ids of `In-Reply-To` and `References` looked up at most.
pub(super) const MAX_THREAD_IDS: usize = 50;
/// Merges followed at most from a ticket a mail points at.
pub(super) const MAX_MERGE_HOPS: usize = 8;

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
    let Some((stored, raw)) = store::stored_with_raw(app.store.read(), id).await? else {
        return Ok(());
    };
    if stored.status != "received" {
        return Ok(());
    }
    let mail = match read_mail_from(app, &stored, raw).await? {
        Ok(mail) => mail,
        Err(why) => return unreadable(app, &stored, &why).await,
    };
    let placed = place(app, &stored, &mail).await?;
    settle(app, &stored, "received", &placed, &mail).await?;
    Ok(())
}

/// The stored mail as received, inflated; why not, when it cannot be (its
/// copy pruned or damaged). Only failing to read the database is an error.
pub(super) async fn raw_of(
    app: &App,
    stored: &Stored,
) -> Result<Result<Vec<u8>, String>, EmailError> {
    let limit = app.config.email_max_message_bytes.saturating_add(64 * 1024);
    let Some((first, size)) = store::raw(app.store.read(), stored.id).await? else {
        return Ok(Err("raw mail pruned".into()));
    };
    let mut inflater = Inflater::new(limit, usize::try_from(size).unwrap_or(0));
    if let Err(e) = inflater.write(&first) {
        return Ok(Err(e.to_string()));
    }
    let mut length = first.len();
    drop(first);
    for seq in 1.. {
        if read::last_piece(length, inflater.inflated(), size) {
            break;
        }
        let Some(piece) = store::piece(app.store.read(), stored.id, seq).await? else {
            break;
        };
        if let Err(e) = inflater.write(&piece) {
            return Ok(Err(e.to_string()));
        }
        length = piece.len();
    }
    Ok(inflater.finish().map_err(|e| e.to_string()))
}

/// The stored mail, inflated and parsed; why not, when it cannot be.
pub(super) async fn read_mail(
    app: &App,
    stored: &Stored,
) -> Result<Result<Mail, String>, EmailError> {
    let raw = store::raw(app.store.read(), stored.id).await?;
    read_mail_from(app, stored, raw).await
}

/// [`read_mail`] with the first piece of the raw copy and its size read.
async fn read_mail_from(
    app: &App,
    stored: &Stored,
    raw: Option<(Vec<u8>, i64)>,
) -> Result<Result<Mail, String>, EmailError> {
    match read::split_mail(app, stored, raw).await? {
        read::Read::Parsed(mail) => return Ok(*mail),
        read::Read::Whole(why) => {
            tracing::debug!(inbound = stored.id, why, "inbound mail read whole");
        }
    }
    // Read whole, a mail is held inflated and parsed at once: a few at a
    // time, however many ingest jobs a round of the queue runs together.
    let _permit = whole_reads().acquire().await;
    let raw = match raw_of(app, stored).await? {
        Ok(raw) => raw,
        Err(why) => return Ok(Err(why)),
    };
    Ok(parse::parse(&raw, &settings(app).trusted_authserv_ids).map_err(|e| e.to_string()))
}

/// Mails read whole at once: each may be up to the size limit, inflated
/// and then parsed beside it.
fn whole_reads() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(4))
}

/// Who wrote the mail: its From, else the envelope's sender. Reply-To is
/// who the person wants answers at, but only who wrote decides whether
/// they take part in a ticket.
pub(super) fn sender_of(stored: &Stored, mail: &Mail) -> Option<String> {
    mail.from
        .as_ref()
        .map(|p| p.address.clone())
        .or_else(|| Some(stored.envelope_from.to_ascii_lowercase()).filter(|s| !s.is_empty()))
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
    let sender = sender_of(stored, mail);
    if automation == Automation::Bounce {
        let mut placed = Placed::new("bounce", sender, automation);
        placed.related = super::bounce::record(app, stored).await?;
        return Ok(placed);
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
    // A person wrote from this address, so it takes mail again: the
    // desk's notices go to it once more. Not on a From that failed SPF,
    // DKIM or DMARC: anyone can write a dead address there.
    if !mail.authentication.failed() {
        crate::delivery::clear_bounce(app, &sender).await?;
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

/// The team of the desk address the mail was sent to (the first that has one).
pub(super) fn recipient_team(app: &App, stored: &Stored) -> Option<String> {
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
