//! Sign-in with the risk engine: refuse locked or throttled attempts before
//! hashing, count failures atomically, lock with back-off, score correct
//! passwords, ask for a second factor when 2FA is on or the risk is high,
//! enforce the device limit, and record every attempt.
//!
//! The attempt itself (refusals before hashing, the reservation of a check)
//! is here; its later steps are in the files beside this one.

use super::client::ClientContext;
use super::devices::{self, Device, DeviceSpec};
use super::facts;
use super::guards;
use super::history::{self, Attempt};
use super::refusals::Hit;
use super::store::signin as store;
use crate::accounts::codes::{self, Purpose};
use crate::accounts::sessions::{self, NewSession};
use crate::accounts::{store as accounts_store, Account, AccountError, Lock, LockReference};
use crate::delivery::{self, Channel, Outgoing};
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::contact::Contact;
use koban_policy::password::normalize;
use koban_policy::risk::{self, Decision, GeoPoint, LastSignIn, SignInContext};

mod challenges;
mod finish;
mod notices;
mod password;
mod second_factor;

pub use challenges::*;
pub use finish::*;
pub use notices::*;
pub use password::*;
pub use second_factor::*;

/// How long a half-finished sign-in (second factor, device limit) stays open.
const CHALLENGE_TTL_MS: i64 = 10 * 60 * 1000;
const CHALLENGE_PREFIX: &str = "kbc_";

/// Where a sign-in ended.
#[derive(Debug)]
pub enum Outcome {
    /// A session was made.
    SignedIn {
        account: Account,
        session: NewSession,
        device_id: i64,
        new_device: bool,
        /// Organizations requiring two-step verification the account has
        /// not turned on, with their deadlines.
        two_factor_owed: Vec<koban_policy::org::policy::TwoFactorOwed>,
    },
    /// A second factor is owed; `methods` lists what the account can use.
    SecondFactor {
        challenge: String,
        methods: Vec<&'static str>,
        /// From a new device with every device place taken: the limit,
        /// said before the factor is asked for (after it comes the choice
        /// of a device to remove).
        device_limit: Option<i64>,
    },
    /// The account is at its device limit; one of `devices` must go first.
    DeviceLimit {
        challenge: String,
        devices: Vec<Device>,
        /// The limit met, and the organization's policy that set it when
        /// it is lower than the server's.
        limit: i64,
        policy: Option<koban_policy::org::policy::Source>,
    },
}

fn attempt(
    ctx: &ClientContext,
    account_id: Option<i64>,
    outcome: &'static str,
    decision: &'static str,
) -> Attempt {
    Attempt {
        account_id,
        ip: ctx.ip.to_string(),
        country: ctx.place.country.clone(),
        latitude: ctx.place.location.map(|p| p.lat()),
        longitude: ctx.place.location.map(|p| p.lon()),
        device_id: None,
        user_agent: ctx.user_agent.clone(),
        outcome,
        risk_score: 0,
        reasons: vec![],
        decision,
    }
}

/// What this request tells about its device.
pub fn spec(ctx: &ClientContext) -> DeviceSpec {
    DeviceSpec {
        key_hash: ctx.device_key_hash(),
        name: ctx.device_name.clone(),
        platform: ctx.platform.clone(),
        client_version: ctx.client_version.clone(),
        ip: ctx.ip.to_string(),
        country: ctx.place.country.clone(),
    }
}

/// The history row of an attempt refused before hashing.
fn refused_attempt(
    ctx: &ClientContext,
    account_id: Option<i64>,
    refusal: risk::Refusal,
) -> Attempt {
    let outcome = match refusal {
        risk::Refusal::IpBlocked => "ip_blocked",
        risk::Refusal::IpThrottled => "ip_throttled",
        _ => "locked",
    };
    Attempt {
        reasons: vec![refusal.code().to_string()],
        ..attempt(ctx, account_id, outcome, "deny")
    }
}

/// Records a refused attempt and answers it; nothing was hashed.
async fn refuse(
    app: &App,
    ctx: &ClientContext,
    account_id: Option<i64>,
    refusal: risk::Refusal,
    reference: Option<i64>,
    now: i64,
) -> AccountError {
    let recorded = crate::security::state(app)
        .attempt_log
        .record(refused_attempt(ctx, account_id, refusal))
        .await;
    match recorded {
        Ok(()) => refusal_error(refusal, reference, now),
        Err(e) => e.into(),
    }
}

/// Remembers a refusal the database decided, so that its repeats in the
/// next moments are answered from memory, and answers it.
async fn refuse_and_remember(
    app: &App,
    ctx: &ClientContext,
    identifier: &Contact,
    presented_device: Option<&str>,
    hit: Hit,
    now: i64,
) -> AccountError {
    crate::security::state(app).refusals.remember(
        identifier.as_str(),
        presented_device,
        ctx.ip,
        hit,
        now,
    );
    refuse(app, ctx, hit.account_id, hit.refusal, hit.reference, now).await
}

/// The answer to a refused attempt, naming the way out that really applies.
fn refusal_error(refusal: risk::Refusal, reference: Option<i64>, now: i64) -> AccountError {
    let (lock, retry_after_ms) = match refusal {
        risk::Refusal::LockedForSupport => (Lock::Support, None),
        risk::Refusal::IpBlocked => (Lock::NetworkBlocked, None),
        risk::Refusal::IpThrottled => (Lock::NetworkThrottled, None),
        risk::Refusal::Locked { .. } => (
            Lock::Temporary,
            refusal.retry_after_ms(now).or(Some(60_000)),
        ),
    };
    AccountError::Locked {
        retry_after_ms,
        lock,
        // Only a support lock is for support to find; a temporary one ends by itself.
        reference: reference
            .filter(|_| lock == Lock::Support)
            .map(LockReference),
    }
}

/// Signs in with an identifier and password.
pub async fn sign_in(
    app: &App,
    identifier: &Contact,
    password: &str,
    ctx: &ClientContext,
) -> Result<Outcome, AccountError> {
    app.limiter
        .check_account(identifier.as_str())
        .map_err(AccountError::RateLimited)?;
    let cfg = &crate::security::state(app).settings.risk;
    let now = now_ms();
    let device_hash = ctx.device_key_hash();
    // A device the client presented may be one the account knows, with a
    // lock of its own; a key made for this request never is.
    let presented_device = (!ctx.device_key_is_new).then_some(device_hash.as_str());
    // Refusals that need no database: a blocked network, or a refusal the
    // database decided moments ago for this name or this address.
    if let Err(refusal) = risk::pre_check(Default::default(), ctx.ip, 0, now, cfg) {
        return Err(refuse(app, ctx, None, refusal, None, now).await);
    }
    let remembered = crate::security::state(app).refusals.check(
        identifier.as_str(),
        presented_device,
        ctx.ip,
        now,
    );
    if let Some(hit) = remembered {
        // Answered without waiting for the history row: the flood's
        // cheapest answer must not queue behind the database.
        crate::security::state(app)
            .attempt_log
            .record_later(refused_attempt(ctx, hit.account_id, hit.refusal));
        return Err(refusal_error(hit.refusal, hit.reference, now));
    }
    let mut before = crate::security::state(app)
        .sign_in_reads
        .read(facts::Probe {
            identifier: identifier.clone(),
            presented_device: presented_device.map(str::to_string),
            ip: ctx.ip.to_string(),
            failures_since: now - cfg.ip_failure_window_ms,
            devices_since: now - cfg.device_churn_window_ms,
        })
        .await?;
    let guard_key = before.guard_key(identifier, &device_hash);
    let account_id = before.found.as_ref().map(|(a, _)| a.id);
    if let Err(refusal) = risk::pre_check(before.guard.lock(), ctx.ip, before.ip_failures, now, cfg)
    {
        let hit = Hit {
            refusal,
            account_id,
            reference: before.guard.lock_reference,
        };
        return Err(refuse_and_remember(app, ctx, identifier, presented_device, hit, now).await);
    }
    if password.chars().count() > koban_policy::password::MAX_CHARS {
        return Err(AccountError::BadCredentials);
    }
    // Reserved before hashing, in one atomic statement: checks read the
    // guard concurrently, so without it a burst of wrong passwords would all
    // be hashed before the first of them was counted.
    let ip = ctx.ip.to_string();
    let ip_rule = cfg.ip_failure_limit > 0 && !risk::any_contains(&cfg.ip_allow, ctx.ip);
    let (reservation, reserved) = guards::reserve_check(
        &app.store,
        &guard_key,
        ip_rule.then_some(ip.as_str()),
        now,
        cfg,
    )
    .await?;
    if !reserved.all() {
        reservation.release().await?;
        return Err(check_refused(
            app,
            ctx,
            identifier,
            presented_device,
            &guard_key,
            account_id,
            now,
        )
        .await);
    }
    let (account, stored) = match before.found.take() {
        Some((a, h)) => (Some(a), Some(h)),
        None => (None, None),
    };
    let normalized = normalize(password);
    let (ok, rehash) = crate::accounts::hasher(app)
        .verify(normalized.clone(), stored)
        .await;
    let Some(account) = account.filter(|_| ok) else {
        return Err(password_failed(app, reservation, &guard_key, account_id, ctx).await);
    };
    let mut held = Some(reservation);
    let outcome = correct_password(
        app, account, normalized, rehash, before, &guard_key, ctx, now, &mut held,
    )
    .await;
    // The fast path settles the reservation in its own statement; every
    // other ending gives it back here.
    let released = match held {
        Some(reservation) => reservation.release().await,
        None => Ok(()),
    };
    let outcome = outcome?;
    released?;
    Ok(outcome)
}

/// A sign-in whose check could not be reserved: refused without hashing,
/// as locked when a lock took effect meanwhile, else as too many checks at
/// once (a burst in flight on this account or this address). Either way
/// nothing is counted against the account.
async fn check_refused(
    app: &App,
    ctx: &ClientContext,
    identifier: &Contact,
    presented_device: Option<&str>,
    guard_key: &str,
    account_id: Option<i64>,
    now: i64,
) -> AccountError {
    let guard = match guards::load(&app.store, guard_key).await {
        Ok(guard) => guard,
        Err(e) => return e.into(),
    };
    if let Err(refusal) = risk::pre_check(
        guard.lock(),
        ctx.ip,
        0,
        now,
        &crate::security::state(app).settings.risk,
    ) {
        let hit = Hit {
            refusal,
            account_id,
            reference: guard.lock_reference,
        };
        return refuse_and_remember(app, ctx, identifier, presented_device, hit, now).await;
    }
    let busy = Attempt {
        reasons: vec!["checks_in_flight".to_string()],
        ..attempt(ctx, account_id, "busy", "deny")
    };
    match crate::security::state(app).attempt_log.record(busy).await {
        Ok(()) => AccountError::RateLimited(1000),
        Err(e) => e.into(),
    }
}
