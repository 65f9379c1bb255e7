//! Looking a ticket up signed out: the reference number, then a code sent
//! to the contact on file, then a short-lived grant to read the ticket and
//! add to it as its requester.
//!
//! Nobody may learn whether a number is a ticket's. Asking for a code does
//! the same work for every well-formed number (the limits, one lookup row
//! holding the hash of a code nobody is sent, one job) and answers the
//! same; the job, run after the answer, finds the ticket and sends a real
//! code. Checking counts a try on that row either way, so the answers
//! (wrong code, too many tries) are the same for a number that is nobody's.

pub mod api;
pub mod pages;

use crate::accounts::codes::normalize_code;
use crate::crypto::{constant_time_eq, random_token};
use crate::delivery::{self, Outgoing};
use crate::desk::error::DeskError;
use crate::desk::store::{self, lookup as lookup_store, TicketRow};
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::throttle::{CODE_MAX_ATTEMPTS, CODE_SENDS, CODE_TTL_MS};
use rand::Rng;

/// Job kind: find the ticket of a lookup and send its code.
pub const LOOKUP_JOB: &str = "desk_lookup_code";
/// Job kind: forget lookups and grants past their time.
pub const PRUNE_JOB: &str = "desk_lookup_prune";
/// How long a grant lets its holder in.
pub const GRANT_MS: i64 = 60 * 60_000;
/// Grant tokens start with this, so a bearer token is known for one
/// without asking the sessions first.
pub const GRANT_PREFIX: &str = "dg_";
const CODE_HASH_PURPOSE: &str = "desk-lookup-code";
const GRANT_HASH_PURPOSE: &str = "desk-lookup-grant";
/// The delivery purpose of lookup codes.
const PURPOSE: &str = "desk_lookup";

fn code_hash(app: &App, reference: &str, code: &str) -> String {
    app.key
        .keyed_hash(CODE_HASH_PURPOSE, format!("{reference}:{code}").as_bytes())
}

fn fresh_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// Counts a request from `ip` and for `reference` against the in-memory
/// limiter (coarse; the database's limits below are what hold across nodes).
fn limit(app: &App, step: &str, ip: &str, reference: &str) -> Result<(), DeskError> {
    app.limiter
        .check_account(&format!("desk-{step}-ip:{ip}"))
        .and_then(|()| {
            app.limiter
                .check_account(&format!("desk-{step}:{reference}"))
        })
        .map_err(DeskError::RateLimited)
}

/// Asks for a code for `reference`; the same for every well-formed number.
pub async fn request(app: &App, reference: &str, ip: &str, lang: Lang) -> Result<(), DeskError> {
    let reference = crate::desk::tickets::service::parse_reference(reference)?;
    limit(app, "lookup", ip, &reference)?;
    // As many codes per number as per contact elsewhere: 5 an hour, a
    // minute apart, whoever asks. Five tries each make guessing hopeless.
    crate::accounts::codes::take_allowance(app, CODE_SENDS, &format!("{PURPOSE}:{reference}"))
        .await?;
    let now = now_ms();
    let unsent = code_hash(app, &reference, &fresh_code());
    let mut tx = app.store.write().begin().await?;
    let id =
        lookup_store::insert_lookup(&mut tx, &reference, &unsent, now, now + CODE_TTL_MS).await?;
    crate::jobs::enqueue(
        &mut *tx,
        LOOKUP_JOB,
        &serde_json::json!({ "lookup": id, "reference": reference, "lang": lang.tag() }),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Runs a [`LOOKUP_JOB`]: when the number is a ticket's with a contact on
/// file, a code goes there. A payload this version cannot read is dropped.
pub async fn send_code(app: &App, payload: &serde_json::Value) -> Result<(), DeskError> {
    let (Some(id), Some(reference)) = (
        payload.get("lookup").and_then(|v| v.as_i64()),
        payload.get("reference").and_then(|v| v.as_str()),
    ) else {
        return Ok(());
    };
    let Some(ticket) = store::ticket_by_reference(app.store.read(), reference).await? else {
        return Ok(());
    };
    let mut tx = app.store.write().begin().await?;
    let Some((channel, destination)) =
        crate::desk::tickets::notify::destination(&mut tx, &ticket).await?
    else {
        return Ok(());
    };
    let lang = Lang::parse(&ticket.language)
        .or_else(|| {
            payload
                .get("lang")
                .and_then(|v| v.as_str())
                .and_then(Lang::parse)
        })
        .unwrap_or(Lang::En);
    let code = fresh_code();
    lookup_store::arm_lookup(
        &mut tx,
        id,
        ticket.id,
        &code_hash(app, reference, &code),
        &destination,
    )
    .await?;
    let formatted = crate::desk::tickets::api::formatted(reference);
    delivery::queue(
        &mut tx,
        &app.key,
        app.config.delivery_mode == "live",
        Outgoing {
            account_id: ticket.requester_account_id,
            purpose: PURPOSE.to_string(),
            channel,
            destination,
            subject: t(lang, "code-subject-desk_lookup", &[]),
            body: t(
                lang,
                "code-body-desk_lookup",
                &[("code", code), ("reference", formatted)],
            ),
            mail: None,
        },
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// What a right code gives.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeskLookupGrant {
    /// Present it as `Authorization: Bearer <token>` to read the ticket and
    /// add to it, until it expires.
    pub token: String,
    #[schema(example = "2612-0345-678")]
    pub reference: String,
    pub expires_in_seconds: i64,
}

/// Trades a code for a grant on the ticket. A wrong code and a number that
/// is nobody's are answered alike; past the tries, 429 even for the right code.
pub async fn check(
    app: &App,
    reference: &str,
    code: &str,
    ip: &str,
) -> Result<DeskLookupGrant, DeskError> {
    let reference = crate::desk::tickets::service::parse_reference(reference)?;
    let code = normalize_code(code)?;
    limit(app, "lookup-check", ip, &reference)?;
    let now = now_ms();
    let tried = match lookup_store::count_try(app.store.write(), &reference, CODE_MAX_ATTEMPTS, now)
        .await?
    {
        lookup_store::Try::Counted(tried) => tried,
        lookup_store::Try::Exhausted => return Err(DeskError::RateLimited(CODE_TTL_MS)),
        lookup_store::Try::None => return Err(DeskError::LookupCodeInvalid),
    };
    let offered = code_hash(app, &reference, &code);
    let matches = constant_time_eq(tried.code_hash.as_bytes(), offered.as_bytes());
    let ticket_id = match (matches, tried.ticket_id) {
        (true, Some(ticket_id)) => ticket_id,
        _ => return Err(DeskError::LookupCodeInvalid),
    };
    let token = format!("{GRANT_PREFIX}{}", random_token(32));
    let mut tx = app.store.write().begin().await?;
    if !lookup_store::use_lookup(&mut tx, tried.id, now).await? {
        return Err(DeskError::LookupCodeInvalid);
    }
    lookup_store::insert_grant(
        &mut tx,
        &app.key.keyed_hash(GRANT_HASH_PURPOSE, token.as_bytes()),
        ticket_id,
        now,
        now + GRANT_MS,
    )
    .await?;
    store::insert_event(
        &mut tx,
        ticket_id,
        None,
        "looked_up",
        &serde_json::json!({ "grant_minutes": GRANT_MS / 60_000 }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(DeskLookupGrant {
        token,
        reference: crate::desk::tickets::api::formatted(&reference),
        expires_in_seconds: GRANT_MS / 1000,
    })
}

/// The ticket a live grant token opens; `None` for anything else.
pub async fn granted(app: &App, token: &str) -> Result<Option<TicketRow>, DeskError> {
    if !token.starts_with(GRANT_PREFIX) {
        return Ok(None);
    }
    let hash = app.key.keyed_hash(GRANT_HASH_PURPOSE, token.as_bytes());
    match lookup_store::granted_ticket(app.store.read(), &hash, now_ms()).await? {
        Some(id) => Ok(crate::desk::store::ticket_by_id(app.store.read(), id).await?),
        None => Ok(None),
    }
}
