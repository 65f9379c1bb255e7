//! Outbound messages (verification codes, notices) and the record of every
//! attempt to deliver them: what support reads when someone says the code
//! never came. A message is queued in the caller's transaction and sent by a
//! job; "sent" (the provider accepted it) and "delivered" (the provider says
//! it arrived) are different states.

pub mod api;
mod bounces;
mod files;
mod pages;
mod sms;
mod smtp;
mod store;

use crate::crypto::ServerKey;
use crate::domain::Domain;
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind, RoundFuture};
use crate::store::{now_ms, Batch, Earlier, StoreError};
use sqlx::{Any, Transaction};
use std::sync::Arc;

pub use bounces::{bounce_of, clear_bounce, record_bounce, record_held, Bounced, MailBounce};
pub use files::MailFile;
pub use sms::SmsSender;
pub use smtp::MailSender;

const SEAL_PURPOSE: &str = "delivery-body";

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub account_id: Option<i64>,
    pub purpose: String,
    pub channel: Channel,
    pub destination: String,
    pub subject: String,
    pub body: String,
    /// For a mail that belongs to a conversation: what makes the reader's
    /// client thread it; `None` for one that stands alone.
    pub mail: Option<MailHeaders>,
}

/// The headers that put a mail in its conversation in Gmail, Outlook,
/// Apple Mail and Thunderbird, and keep auto-responders quiet. Ids are
/// written without angle brackets.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MailHeaders {
    /// The From address, when not `mail_from` (a desk's own address).
    pub from: Option<String>,
    pub reply_to: Option<String>,
    /// The mail this one answers.
    pub in_reply_to: Option<String>,
    /// The conversation's ids, oldest first.
    pub references: Vec<String>,
    /// RFC 3834: `auto-replied` (an acknowledgement) or `auto-generated`
    /// (a notification); `None` for what a person wrote.
    pub auto_submitted: Option<String>,
    /// Outlook's thread: the topic (the conversation's subject) and the
    /// conversation's root id, from which its Thread-Index is made.
    pub thread_topic: Option<String>,
    pub thread_root: Option<String>,
}

/// The Message-ID (without brackets) of delivery `id` sent from `from`:
/// stable across retries, so a retried send is one mail to the reader, and
/// known before sending, so a reply naming it finds its ticket.
pub fn message_id(id: i64, from: &str) -> String {
    let (before, after) = message_id_around(from);
    format!("{before}{id}{after}")
}

/// What comes before and after the delivery's id in [`message_id`].
pub fn message_id_around(from: &str) -> (&'static str, String) {
    let domain = from
        .rsplit('@')
        .next()
        .unwrap_or("koban")
        .trim_end_matches('>')
        .trim();
    ("koban-delivery-", format!("@{domain}"))
}

/// Queues `message` inside the caller's transaction, so it is sent exactly
/// when the change that caused it commits. Returns the delivery id.
pub async fn queue(
    tx: &mut Transaction<'_, Any>,
    key: &ServerKey,
    live: bool,
    message: Outgoing,
) -> Result<i64, StoreError> {
    queue_with_files(tx, key, live, message, &[]).await
}

/// [`queue`] for a mail that carries `files` (references: their bytes
/// are read from the blob store when it is sent). One trip.
pub async fn queue_with_files(
    tx: &mut Transaction<'_, Any>,
    key: &ServerKey,
    live: bool,
    message: Outgoing,
    files: &[MailFile],
) -> Result<i64, StoreError> {
    let mut batch = Batch::default();
    let queued = queue_into(&mut batch, key, live, message, files);
    Ok(batch.run_for_id(tx, queued).await?)
}

/// [`queue_with_files`] as statements of `batch`, which the caller runs in
/// the transaction that causes the message: its delivery and the job that
/// sends it. The delivery's id, for the statements pushed after it up to
/// the next delivery of the batch (`store::push_queued`).
pub fn queue_into(
    batch: &mut Batch,
    key: &ServerKey,
    live: bool,
    message: Outgoing,
    files: &[MailFile],
) -> Earlier {
    queue_into_at(batch, key, live, message, files, now_ms())
}

/// [`queue_into`], sent no earlier than `send_at` (ms).
pub fn queue_into_at(
    batch: &mut Batch,
    key: &ServerKey,
    live: bool,
    message: Outgoing,
    files: &[MailFile],
    send_at: i64,
) -> Earlier {
    let now = now_ms();
    let provider = match (live, message.channel) {
        (false, _) => "outbox",
        (true, Channel::Email) => "smtp",
        (true, Channel::Sms) => "sms-http",
    };
    let sealed = key.seal(SEAL_PURPOSE, message.body.as_bytes());
    let headers = message
        .mail
        .as_ref()
        .and_then(|h| serde_json::to_string(h).ok());
    let files = match message.channel {
        Channel::Email => files::to_column(files),
        Channel::Sms => None,
    };
    let row = store::Inserted {
        message: &message,
        body_sealed: sealed,
        mail_headers: headers.as_deref(),
        mail_attachments: files.as_deref(),
        provider,
        now,
    };
    let queued = store::push_queued(batch, row);
    crate::jobs::enqueue_about_into(
        batch,
        DELIVER,
        ("delivery_id", queued),
        &serde_json::json!({ "provider": provider }),
        "delivery:",
        send_at,
    );
    queued
}

/// Sends one queued delivery. Safe to call again, or from two workers at
/// once, for the same id: the delivery is taken with a conditional update
/// before anything is sent, so only one caller sends, and a delivery already
/// sent, delivered or failed is left alone. `last_try` marks it failed
/// instead of queued when sending fails.
pub async fn process(app: &Arc<App>, id: i64, last_try: bool) -> Result<(), String> {
    let store = &app.store;
    let now = now_ms();
    // A delivery left "sending" by a process that died mid-send is taken over
    // once it is older than a job lease: by then that job's lease has run out
    // too, so its worker is gone rather than slow.
    let stale_before = now - app.config.job_lease_seconds.max(1) * 1000;
    let taken = store::take(store, id, now, stale_before)
        .await
        .map_err(|e| e.to_string())?;
    let Some(store::Taken {
        provider,
        destination,
        subject,
        body_sealed: sealed,
        mail_headers,
        mail_attachments,
    }) = taken
    else {
        let status = store::status(store, id).await.map_err(|e| e.to_string())?;
        return match status.as_deref() {
            None => Err(format!("delivery {id} does not exist")),
            // Another worker holds it right now; try again after it is done
            // (or after its hold goes stale, if that worker died).
            Some("sending") => Err(format!("delivery {id} is being sent by another worker")),
            Some(_) => Ok(()),
        };
    };
    let body = sealed
        .and_then(|s| app.key.open(SEAL_PURPOSE, &s))
        .and_then(|b| String::from_utf8(b).ok());
    // The reference is stable across retries: the SMS provider deduplicates
    // on it and mail carries it as Message-ID, so a retry after a crash
    // between "sent" and "recorded" does not reach the person twice.
    let reference = format!("koban-delivery-{id}");
    let headers: Option<MailHeaders> = mail_headers.and_then(|h| serde_json::from_str(&h).ok());
    let sent: Result<Option<String>, String> = match (provider.as_str(), body) {
        (_, None) => Err("message body cannot be opened with this server key".into()),
        ("outbox", Some(_)) => Ok(None),
        ("smtp", Some(body)) => {
            let files = files::from_column(mail_attachments.as_deref());
            match files::load(app, id, files).await {
                Ok(files) => senders(app)
                    .mail
                    .send(&destination, &subject, &body, id, headers.as_ref(), &files)
                    .await
                    .map(|_| None),
                Err(e) => Err(e),
            }
        }
        ("sms-http", Some(body)) => senders(app)
            .sms
            .send(&destination, &body, &reference)
            .await
            .map(Some),
        (other, Some(_)) => Err(format!("unknown provider {other}")),
    };
    let now = now_ms();
    match sent {
        Ok(provider_id) => {
            // Outbox bodies stay (sealed) for administrators to read; a live
            // message's body, which may hold a code, is not kept once sent.
            // A status callback can overtake this update (the provider may
            // report "delivered" before we record "sent"): its status stands.
            let keep_body = provider == "outbox";
            store::mark_sent(store, id, provider_id.unwrap_or(reference), keep_body, now)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Err(error) => {
            let error: String = error.chars().take(1000).collect();
            let status = if last_try { "failed" } else { "queued" };
            store::mark_unsent(store, id, status, &error, now)
                .await
                .map_err(|e| e.to_string())?;
            Err(error)
        }
    }
}

/// Job kind: deliver one row of `deliveries`.
pub const DELIVER: &str = "deliver";

/// Delivery as the application composes it.
pub fn domain() -> Domain {
    Domain {
        check: |config| Senders::from_config(config).map(drop),
        build: |config, _, parts| {
            parts.insert(Senders::from_config(config)?);
            Ok(())
        },
        api: || {
            utoipa_axum::router::OpenApiRouter::new()
                .routes(utoipa_axum::routes!(api::outbox))
                .routes(utoipa_axum::routes!(api::log))
                .routes(utoipa_axum::routes!(api::sms_status))
        },
        pages: pages::router,
        jobs: &[JobKind {
            kind: DELIVER,
            round: Some(run_outbox_round),
            every_ms: None,
            run: run_delivery,
        }],
        tags: &[("delivery", "Outbound messages and their delivery status")],
        migrations: &[
            crate::store::Migration {
                version: 21,
                name: "outbound_mail",
                sql: include_str!("../../migrations/0021_outbound_mail.sql"),
            },
            crate::store::Migration {
                version: 22,
                name: "delivery_mail_headers",
                sql: include_str!("../../migrations/0022_delivery_mail_headers.sql"),
            },
        ],
        templates: TEMPLATES,
        ..Domain::named("delivery")
    }
}

/// A round's messages to the outbox, recorded in one statement: at a few
/// hundred new tickets a second, one statement (and one commit) each held
/// SQLite's writer for about a third of its time. What this does not
/// record (another provider, a delivery no longer queued) runs on its own.
fn run_outbox_round<'a>(app: &'a Arc<App>, jobs: &'a [&'a Job]) -> RoundFuture<'a> {
    Box::pin(async move {
        let outbox: Vec<(i64, i64)> = jobs
            .iter()
            .filter_map(|job| Some((job.id, outbox_delivery(job)?)))
            .collect();
        if outbox.is_empty() {
            return Vec::new();
        }
        let ids: Vec<i64> = outbox.iter().map(|(_, delivery)| *delivery).collect();
        match store::record_in_outbox(app.store.write(), &ids, now_ms()).await {
            Ok(recorded) => outbox
                .into_iter()
                .filter(|(_, delivery)| recorded.contains(delivery))
                .map(|(job, _)| job)
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "cannot record a round of outbox messages; each runs on its own");
                Vec::new()
            }
        }
    })
}

/// The delivery a job sends, when it goes to the outbox.
fn outbox_delivery(job: &Job) -> Option<i64> {
    (job.payload.get("provider").and_then(|v| v.as_str()) == Some("outbox"))
        .then(|| job.payload.get("delivery_id").and_then(|v| v.as_i64()))
        .flatten()
}

fn run_delivery<'a>(app: &'a Arc<App>, job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        let id = job
            .payload
            .get("delivery_id")
            .and_then(|v| v.as_i64())
            .ok_or("payload lacks delivery_id")?;
        // A message to the outbox is only recorded: one conditional update
        // does what taking, "sending" and marking sent would do in three.
        if outbox_delivery(job).is_some() {
            let recorded = store::record_in_outbox(app.store.write(), &[id], now_ms())
                .await
                .map_err(|e| e.to_string())?;
            if recorded.contains(&id) {
                return Ok(());
            }
        }
        process(app, id, job.attempts >= job.max_attempts).await
    })
}

/// The account's newest deliveries (codes, notices), newest first, without
/// bodies: what support reads when someone says the code never came.
pub async fn recent_for_account(
    app: &App,
    account_id: i64,
    limit: i64,
) -> Result<Vec<api::DeliveryView>, StoreError> {
    Ok(store::log(&app.store, i64::MAX, account_id, String::new(), limit).await?)
}

/// The senders the application was built with.
pub fn senders(app: &App) -> &Senders {
    app.part::<Senders>()
}

/// The live senders, built once from the configuration.
pub struct Senders {
    pub mail: MailSender,
    pub sms: SmsSender,
}

impl Senders {
    /// Builds both senders; an unusable SMTP or SMS setting fails here, at start.
    pub fn from_config(config: &crate::config::Config) -> Result<Senders, String> {
        // Live mode with no way out would queue every code and retry it
        // until it fails; better to refuse to start and say what is missing.
        if config.delivery_mode == "live"
            && config.smtp_host.is_empty()
            && config.sms_url.is_empty()
        {
            return Err("delivery_mode = \"live\" needs smtp_host (email) and/or sms_url (SMS) to send anything".into());
        }
        if !config.sms_url.is_empty() {
            let url = reqwest::Url::parse(&config.sms_url).map_err(|e| format!("sms_url: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err("sms_url: must be an http:// or https:// URL".into());
            }
            // Unsigned requests could be forged to the provider, and no
            // delivery callback could ever be verified.
            if config.sms_secret.is_empty() {
                return Err("sms_url is set but sms_secret is empty: requests and callbacks are signed with it".into());
            }
        }
        Ok(Senders {
            mail: MailSender::from_config(config)?,
            sms: SmsSender::from_config(config),
        })
    }
}

/// Opens a sealed body for the outbox view.
pub fn open_body(key: &ServerKey, sealed: Option<Vec<u8>>) -> Option<String> {
    sealed
        .and_then(|s| key.open(SEAL_PURPOSE, &s))
        .and_then(|b| String::from_utf8(b).ok())
}

/// The templates of this domain's pages.
const TEMPLATES: &[crate::web::render::Template] =
    &[("outbox.html", include_str!("../../templates/outbox.html"))];
