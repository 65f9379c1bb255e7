//! The yardstick of ticket creation: a ticket's rows inserted straight into
//! the store, one statement per row (the acknowledgement's delivery and its
//! job in one trip, as every delivery is queued), each ticket committed in
//! a transaction of its own, as the API must commit one before it answers.
//!
//! Two sets of rows are measured. `Rows::Same` is every row the API writes
//! for a signed-out web-form ticket (counted on a fresh database: contact,
//! ticket, first message, `created` and `routed` events, the first-response
//! and resolution clocks, the SLA's next look, the acknowledgement's
//! delivery, its job and its Message-ID). `Rows::Core` is the four the
//! yardstick held until desk run 7 (contact, ticket, message, `created`
//! event), kept so the runs before it stay comparable.

use super::{email, rand_u64, sample};
use koban::delivery::{self, Channel, MailHeaders, Outgoing};
use koban::desk::routing::sla::SLA_JOB;
use koban::desk::store::channel_messages::{self, ChannelMessage};
use koban::desk::store::sla::{save_clock, ClockRow};
use koban::desk::store::{self as desk_store, NewMessage, NewTicket};
use koban::state::App;
use koban::store::Batch;
use koban_policy::desk::reference::Reference;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which rows a raw ticket has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Every row the API writes.
    Same,
    /// The ticket's four core rows only (the yardstick before desk run 7).
    Core,
}

/// A year: the raw tickets' jobs are never due while the server runs, so
/// its worker does not spend the measurement sending them.
const NOT_DUE_MS: i64 = 365 * 24 * 3_600_000;

/// The desk's own address, which the acknowledgement's Message-ID is made from.
const DESK_ADDRESS: &str = "support@desk.example.com";

/// One ticket's rows in one transaction, with the values the API writes.
async fn insert_one(
    app: &App,
    rows: Rows,
    tag: &str,
    client: usize,
    seq: u64,
) -> Result<(), String> {
    let (lang, category, subject, body) = sample(client, seq);
    let now = koban::store::now_ms();
    let email = email(tag, client, seq);
    let triage = serde_json::json!({ "category": category, "urgent": false, "confidence": 0.9,
        "decided_by": "rules", "chosen_by_requester": false })
    .to_string();
    let e = |e: koban::store::StoreError| e.to_string();
    let mut tx = app.store.write().begin().await.map_err(|e| e.to_string())?;
    // The contact as the API writes it (which sends it with the ticket).
    let contact: i64 = {
        use sqlx::Row;
        sqlx::query(
            "INSERT INTO desk_contacts (email, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (email) DO UPDATE SET name = COALESCE(desk_contacts.name, excluded.name)
             RETURNING id",
        )
        .bind(&email)
        .bind(None::<String>)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .and_then(|row| row.try_get("id"))
        .map_err(|e| e.to_string())?
    };
    let mut ticket_id = None;
    let mut reference = String::new();
    for _ in 0..8 {
        reference = Reference::from_random(rand_u64()).to_string();
        let ticket = NewTicket {
            reference: &reference,
            subject,
            status: "new",
            priority: "normal",
            category,
            urgent: false,
            channel: "web",
            requester_account_id: None,
            requester_contact_id: Some(contact),
            language: lang,
            region: None,
            time_zone: Some("Asia/Tokyo"),
            fields: "{}",
            completeness: 40,
            triage: &triage,
            follow_up_of: None,
            team: Some("general"),
            tier: "standard",
            organization_id: None,
            now,
        };
        ticket_id = desk_store::insert_ticket(&mut tx, &ticket, None)
            .await
            .map_err(e)?
            .map(|(id, _)| id);
        if ticket_id.is_some() {
            break;
        }
    }
    let ticket_id = ticket_id.ok_or("no free reference number")?;
    let message = NewMessage {
        ticket_id,
        author_account_id: None,
        author_kind: "requester",
        public: true,
        body,
        original_sealed: None,
        now,
    };
    desk_store::insert_message(&mut tx, message)
        .await
        .map_err(e)?;
    let created =
        serde_json::json!({ "channel": "web", "category": category, "priority": "normal" });
    desk_store::insert_event(&mut tx, ticket_id, None, "created", &created, now)
        .await
        .map_err(e)?;
    if rows == Rows::Same {
        let ticket = (ticket_id, reference.as_str(), subject);
        the_rest(app, &mut tx, ticket, &email, body, now).await?;
    }
    tx.commit().await.map_err(|e| e.to_string())
}

/// The rows beyond the core four: routing, SLA, acknowledgement.
async fn the_rest(
    app: &App,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    (ticket_id, reference, subject): (i64, &str, &str),
    email: &str,
    body: &str,
    now: i64,
) -> Result<(), String> {
    let e = |e: koban::store::StoreError| e.to_string();
    let routed = serde_json::json!({ "team": "general", "reason": "default team" });
    desk_store::insert_event(tx, ticket_id, None, "routed", &routed, now)
        .await
        .map_err(e)?;
    for (metric, minutes) in [("first_response", 480), ("resolution", 2880)] {
        let clock = ClockRow {
            metric: metric.into(),
            state: "running".into(),
            target_minutes: minutes,
            elapsed_minutes: 0,
            warn_at: Some(now + minutes * 45_000),
            due_at: Some(now + minutes * 60_000),
            warned_at: None,
            breached_at: None,
        };
        save_clock(tx, ticket_id, &clock, false, now)
            .await
            .map_err(e)?;
    }
    let look = serde_json::json!({ "ticket_id": ticket_id });
    let look_key = format!("{SLA_JOB}:{ticket_id}:{now}");
    koban::jobs::enqueue(&mut **tx, SLA_JOB, &look, Some(&look_key), now + NOT_DUE_MS)
        .await
        .map_err(e)?;
    // The acknowledgement's delivery as the API stores it (its body sealed,
    // its headers); the job the API would make due now waits a year here.
    let acknowledgement = Outgoing {
        account_id: None,
        purpose: "desk_received".into(),
        channel: Channel::Email,
        destination: email.into(),
        subject: format!("[#{reference}] We received your request"),
        body: body.into(),
        mail: Some(MailHeaders {
            auto_submitted: Some("auto-replied".into()),
            thread_topic: Some(subject.into()),
            thread_root: Some(reference.into()),
            ..MailHeaders::default()
        }),
    };
    // Its job as the API makes it, in the same trip, but due in a year.
    let mut queued = Batch::default();
    let id = delivery::queue_into_at(
        &mut queued,
        &app.key,
        false,
        acknowledgement,
        &[],
        now + NOT_DUE_MS,
    );
    let delivery = queued.run_for_id(tx, id).await.map_err(|e| e.to_string())?;
    let message_id = delivery::message_id(delivery, DESK_ADDRESS);
    let sent = ChannelMessage {
        channel: "email",
        external_id: &message_id,
        direction: "out",
        sender: None,
    };
    channel_messages::record(tx, &sent, ticket_id, None, now)
        .await
        .map_err(e)?;
    Ok(())
}

/// Raw inserts of `rows` by `clients` tasks for `seconds`; tickets
/// committed inside the window per second of it.
pub async fn rate(
    app: &Arc<App>,
    rows: Rows,
    tag: &str,
    clients: usize,
    seconds: u64,
    first_seq: u64,
) -> Result<f64, String> {
    let window = Duration::from_secs(seconds);
    let deadline = Instant::now() + window;
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let (app, tag) = (app.clone(), tag.to_string());
        tasks.spawn(async move {
            let (mut done, mut seq) = (0u64, first_seq);
            while Instant::now() < deadline {
                insert_one(&app, rows, &tag, client, seq).await?;
                seq += 1;
                if Instant::now() <= deadline {
                    done += 1;
                }
            }
            Ok::<_, String>(done)
        });
    }
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        done += joined.map_err(|e| e.to_string())??;
    }
    Ok(done as f64 / window.as_secs_f64())
}
