//! Sign-in with the risk engine: refuse locked or throttled attempts before
//! hashing, count failures atomically, lock with back-off, score correct
//! passwords, ask for a second factor when 2FA is on or the risk is high,
//! enforce the device limit, and record every attempt.

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

fn account_lang(account: &Account, fallback: Lang) -> Lang {
    account
        .locale
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(fallback)
}

/// The account's verified contacts, email first.
pub fn verified_contacts(account: &Account) -> Vec<Contact> {
    let mut out = vec![];
    if account.email_verified {
        if let Some(e) = &account.email {
            out.push(Contact::Email(e.clone()));
        }
    }
    if account.phone_verified {
        if let Some(p) = &account.phone {
            out.push(Contact::Phone(p.clone()));
        }
    }
    out
}

/// Queues a notice to every verified contact of the account.
pub async fn notify(
    app: &App,
    account: &Account,
    purpose: &str,
    subject: String,
    body: String,
) -> Result<(), AccountError> {
    if verified_contacts(account).is_empty() {
        return Ok(());
    }
    let mut change = app.store.change().await?;
    notify_in(app, &mut change.tx, account, purpose, subject, body).await?;
    change.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// [`notify`] inside a change of several rows; the caller wakes the jobs
/// after its commit.
pub async fn notify_in(
    app: &App,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account: &Account,
    purpose: &str,
    subject: String,
    body: String,
) -> Result<(), AccountError> {
    for contact in verified_contacts(account) {
        let channel = match contact {
            Contact::Phone(_) => Channel::Sms,
            Contact::Email(_) => Channel::Email,
        };
        let message = Outgoing {
            account_id: Some(account.id),
            purpose: purpose.to_string(),
            channel,
            destination: contact.as_str().to_string(),
            subject: subject.clone(),
            body: body.clone(),
        };
        delivery::queue(tx, &app.key, app.config.delivery_mode == "live", message).await?;
    }
    Ok(())
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

/// The rest of a sign-in whose password was right. A reservation still in
/// `held` when it returns is given back by the caller.
#[allow(clippy::too_many_arguments)]
async fn correct_password(
    app: &App,
    account: Account,
    normalized: String,
    rehash: bool,
    mut before: facts::Facts,
    guard_key: &str,
    ctx: &ClientContext,
    now: i64,
    held: &mut Option<guards::CheckReservation>,
) -> Result<Outcome, AccountError> {
    let cfg = &crate::security::state(app).settings.risk;
    match account.status.as_str() {
        "pending" => {
            crate::security::state(app)
                .attempt_log
                .record(attempt(ctx, Some(account.id), "unverified", "deny"))
                .await?;
            return Err(AccountError::VerificationRequired);
        }
        "disabled" => {
            crate::security::state(app)
                .attempt_log
                .record(attempt(ctx, Some(account.id), "disabled", "deny"))
                .await?;
            return Err(AccountError::Disabled);
        }
        _ => {}
    }
    if rehash {
        if let Ok(hash) = crate::accounts::hasher(app).hash(normalized).await {
            accounts_store::set_password_hash(app.store.write(), account.id, &hash, false).await?;
        }
    }
    let context = risk_context(&mut before, ctx);
    let assessment = risk::assess(&context, now, cfg);
    let reasons: Vec<String> = assessment
        .reasons
        .iter()
        .map(|r| r.code().to_string())
        .collect();
    let scored = |outcome, decision| Attempt {
        risk_score: assessment.score as i64,
        reasons: reasons.clone(),
        ..attempt(ctx, Some(account.id), outcome, decision)
    };
    let risky: Vec<&str> = reasons
        .iter()
        .map(String::as_str)
        .filter(|code| RISKY_REASONS.contains(code))
        .collect();
    match assessment.decision {
        Decision::TemporaryLock { until_ms } => {
            crate::security::state(app)
                .attempt_log
                .record(scored("locked", "temporary_lock"))
                .await?;
            return Err(AccountError::Locked {
                retry_after_ms: Some(until_ms - now),
                lock: Lock::Temporary,
                reference: None,
            });
        }
        Decision::LockUntilVerifiedSupport => {
            let decision = risk::LockDecision::LockUntilVerifiedSupport;
            let applied = guards::lock(&app.store, guard_key, decision, "risk", now).await?;
            crate::security::state(app)
                .attempt_log
                .record(scored("locked", "support_lock"))
                .await?;
            if applied.newly {
                lock_notice(app, &account, ctx, decision, applied, &reasons.join(",")).await?;
            }
            return Err(AccountError::Locked {
                retry_after_ms: None,
                lock: Lock::Support,
                reference: applied.reference.map(LockReference),
            });
        }
        Decision::StepUp => {
            history::event(
                app.store.write(),
                account.id,
                "sign_in_step_up",
                &reasons.join(","),
                Some(&ctx.ip.to_string()),
            )
            .await?;
        }
        Decision::Allow => {}
    }
    if !risky.is_empty() {
        risky_sign_in_alert(app, &account, ctx, &risky).await?;
    }
    let factors = before.factors;
    let two_factor = factors.on();
    if two_factor || assessment.decision == Decision::StepUp {
        let methods = factors.methods();
        let (challenge, challenge_id) = create_challenge(
            app,
            account.id,
            "second_factor",
            ctx,
            assessment.score as i64,
            &reasons,
        )
        .await?;
        if !two_factor {
            send_sign_in_code(app, &account, challenge_id, ctx.lang).await?;
        }
        crate::security::state(app)
            .attempt_log
            .record(scored(
                "second_factor_required",
                if two_factor { "allow" } else { "step_up" },
            ))
            .await?;
        // Only a new device can meet the limit; a bound one costs no read.
        let device_limit = match before.device_id {
            Some(_) => None,
            None => limit_reached(app, account.id).await?,
        };
        return Ok(Outcome::SecondFactor {
            challenge,
            methods,
            device_limit,
        });
    }
    let known = before.device_id.map(|id| KnownDevice {
        id,
        guard_clear: before.guard.is_clear(),
        account_second_factor_clear: before.account_guard.second_factor_is_clear(),
        reservation: held.take(),
    });
    finish(
        app,
        &account,
        &spec(ctx),
        ctx,
        assessment.score as i64,
        &reasons,
        known,
    )
    .await
}

async fn password_failed(
    app: &App,
    mut reservation: guards::CheckReservation,
    guard_key: &str,
    account_id: Option<i64>,
    ctx: &ClientContext,
) -> AccountError {
    let result: Result<bool, AccountError> = async {
        let cfg = &crate::security::state(app).settings.risk;
        let now = now_ms();
        // Each count releases what the check had reserved there.
        let (failures, decision, applied) =
            guards::count_password_failure(&app.store, guard_key, now, cfg).await?;
        reservation.guard_settled();
        guards::count_ip_failure(
            &app.store,
            &ctx.ip.to_string(),
            now,
            cfg.ip_failure_window_ms,
        )
        .await?;
        reservation.ip_settled();

        let (outcome, verdict) = match (account_id, decision) {
            (None, _) => ("unknown_account", "deny"),
            (Some(_), risk::LockDecision::NoLock) => ("wrong_password", "deny"),
            (Some(_), risk::LockDecision::TemporaryLock { .. }) => {
                ("wrong_password", "temporary_lock")
            }
            (Some(_), risk::LockDecision::LockUntilVerifiedSupport) => {
                ("wrong_password", "support_lock")
            }
        };
        crate::security::state(app)
            .attempt_log
            .record(attempt(ctx, account_id, outcome, verdict))
            .await?;
        if let (true, Some(id)) = (applied.newly, account_id) {
            if let Some(account) = accounts_store::find_by_id(app.store.read(), id).await? {
                lock_notice(app, &account, ctx, decision, applied, "password_failures").await?;
            }
        }
        Ok(decision == risk::LockDecision::NoLock && risk::next_failure_locks(failures, cfg))
    }
    .await;
    match result {
        Ok(true) => AccountError::BadCredentialsLastTry,
        Ok(false) => AccountError::BadCredentials,
        Err(e) => e,
    }
}

/// The reasons of a sign-in whose password was right that its owner is
/// told about at once: someone holding the password from somewhere new.
const RISKY_REASONS: [&str; 3] = ["new_country", "impossible_travel", "device_churn"];

/// Records a risky sign-in on the owner's timeline and alerts their
/// verified contacts in their language, with the way to secure the account.
/// One alert a minute (five an hour) at most: whoever holds the password
/// must not be able to flood the owner's inbox, and the timeline keeps
/// every one.
async fn risky_sign_in_alert(
    app: &App,
    account: &Account,
    ctx: &ClientContext,
    risky: &[&str],
) -> Result<(), AccountError> {
    let ip = ctx.ip.to_string();
    history::event(
        app.store.write(),
        account.id,
        "risky_sign_in",
        &risky.join(","),
        Some(&ip),
    )
    .await?;
    let allowance = format!("risky_sign_in_alert:account:{}", account.id);
    if codes::take_allowance(app, koban_policy::throttle::CODE_SENDS, &allowance)
        .await
        .is_err()
    {
        return Ok(());
    }
    let lang = account_lang(account, ctx.lang);
    let reasons = lang.list(
        &risky
            .iter()
            .map(|code| t(lang, &format!("risk-reason-{code}"), &[]))
            .collect::<Vec<_>>(),
    );
    let link = format!("{}/account/secure", app.config.public_base());
    notify(
        app,
        account,
        "risky_sign_in_alert",
        t(lang, "notice-risky-subject", &[]),
        t(
            lang,
            "notice-risky-body",
            &[("ip", ip), ("reasons", reasons), ("link", link)],
        ),
    )
    .await
}

/// Records a new lock (with `reasons`, risk codes joined by commas) on the
/// timeline and tells the owner the way out that applies: how long to wait
/// and how to unlock now, or, for a support lock, the reference to quote.
async fn lock_notice(
    app: &App,
    account: &Account,
    ctx: &ClientContext,
    decision: risk::LockDecision,
    applied: guards::Applied,
    reasons: &str,
) -> Result<(), AccountError> {
    let lang = account_lang(account, ctx.lang);
    history::event(
        app.store.write(),
        account.id,
        "locked",
        reasons,
        Some(&ctx.ip.to_string()),
    )
    .await?;
    let (subject, body) = match decision {
        risk::LockDecision::LockUntilVerifiedSupport => {
            let reference = applied.reference.map(|r| LockReference(r).to_string());
            (
                t(lang, "notice-locked-support-subject", &[]),
                t(
                    lang,
                    "notice-locked-support-body",
                    &[("reference", reference.unwrap_or_default())],
                ),
            )
        }
        risk::LockDecision::TemporaryLock { until_ms } => {
            let minutes = ((until_ms - now_ms()).max(0) + 59_999) / 60_000;
            let link = format!("{}/signin", app.config.public_base());
            (
                t(lang, "notice-locked-subject", &[]),
                t(
                    lang,
                    "notice-locked-body",
                    &[("minutes", minutes.to_string()), ("link", link)],
                ),
            )
        }
        risk::LockDecision::NoLock => return Ok(()),
    };
    notify(app, account, "lock_notice", subject, body).await
}

/// What the risk engine weighs for a correct password, from the facts the
/// sign-in read before hashing (its lists are moved out) and the request.
/// Public so that `koban bench risk` times exactly what a sign-in does.
pub fn risk_context(before: &mut facts::Facts, ctx: &ClientContext) -> SignInContext {
    let past = std::mem::take(&mut before.past);
    let guard = &before.guard;
    let mut context = SignInContext::new(ctx.ip);
    context.consecutive_failures = guard.failures.clamp(0, u32::MAX as i64) as u32;
    context.last_failure_ms = guard.last_failure_at;
    context.lock = guard.lock();
    context.device_known = before.device_id.is_some();
    context.new_device_times_ms = std::mem::take(&mut before.new_device_times_ms);
    context.known_ips = past.known_ips;
    context.known_countries = past.known_countries;
    context.last_sign_in = past.last.and_then(|last| {
        Some(LastSignIn {
            at_ms: last.at,
            ip: last.ip.parse().ok()?,
            country: last.country,
            location: match (last.latitude, last.longitude) {
                (Some(a), Some(o)) => GeoPoint::new(a, o),
                _ => None,
            },
        })
    });
    context.ip_failures_in_window = before.ip_failures;
    context.country = ctx.place.country.clone();
    context.location = ctx.place.location;
    context.client_version = ctx.client_version.clone();
    context
}

/// Sends the code that completes the sign-in challenge `challenge_id`.
async fn send_sign_in_code(
    app: &App,
    account: &Account,
    challenge_id: i64,
    lang: Lang,
) -> Result<(), AccountError> {
    let Some(contact) = verified_contacts(account).into_iter().next() else {
        return Ok(());
    };
    let binding = codes::challenge_binding(challenge_id);
    match codes::take_send_allowance(app, Purpose::SignIn, contact.as_str()).await {
        Ok(()) => {}
        // A code went out less than a minute ago and is still good: the
        // person uses that one for this challenge rather than being refused
        // the sign-in, and the challenge it was sent for loses it.
        Err(AccountError::RateLimited(_)) => {
            return codes::rebind(app, account.id, Purpose::SignIn, Some(&binding)).await;
        }
        Err(e) => return Err(e),
    }
    let mut tx = app.store.write().begin().await?;
    codes::issue(
        app,
        &mut tx,
        account.id,
        Purpose::SignIn,
        Some(&binding),
        &contact,
        account_lang(account, lang),
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Opens a half-finished sign-in and returns its token and id.
async fn create_challenge(
    app: &App,
    account_id: i64,
    kind: &str,
    ctx: &ClientContext,
    score: i64,
    reasons: &[String],
) -> Result<(String, i64), AccountError> {
    let token = format!("{CHALLENGE_PREFIX}{}", crate::crypto::random_token(32));
    let now = now_ms();
    let id = store::insert_challenge(
        &app.store,
        &store::NewChallenge {
            token_hash: crate::crypto::sha256_hex(token.as_bytes()),
            account_id,
            kind,
            ctx,
            score,
            reasons: reasons.join(","),
            created_at: now,
            expires_at: now + CHALLENGE_TTL_MS,
        },
    )
    .await?;
    Ok((token, id))
}

/// An open challenge, read back.
pub struct Challenge {
    pub id: i64,
    pub account: Account,
    pub spec: DeviceSpec,
    pub score: i64,
    pub reasons: Vec<String>,
}

/// Reads an open challenge of `kind` by token (not yet used up).
pub async fn open_challenge(app: &App, token: &str, kind: &str) -> Result<Challenge, AccountError> {
    let invalid = || AccountError::field("challenge", "invalid_value");
    if !token.starts_with(CHALLENGE_PREFIX) || token.len() > 128 {
        return Err(invalid());
    }
    let found = store::open_challenge(
        &app.store,
        &crate::crypto::sha256_hex(token.as_bytes()),
        kind,
        now_ms(),
    )
    .await?
    .ok_or_else(invalid)?;
    let account = accounts_store::find_by_id(app.store.read(), found.account_id)
        .await?
        .ok_or_else(invalid)?;
    Ok(Challenge {
        id: found.id,
        account,
        spec: found.spec,
        score: found.score,
        reasons: found.reasons,
    })
}

/// Uses a challenge up; false when another request already did.
pub async fn use_challenge(app: &App, id: i64) -> Result<bool, AccountError> {
    Ok(store::use_challenge(&app.store, id, now_ms()).await?)
}

/// A bound device the sign-in already found, with what it read of the
/// guards a success clears.
pub struct KnownDevice {
    pub id: i64,
    /// The device's own guard holds nothing to clear.
    pub guard_clear: bool,
    /// The account guard's second-factor counter holds nothing to clear.
    pub account_second_factor_clear: bool,
    /// The password check's reservation, settled with the sign-in's writes.
    pub reservation: Option<guards::CheckReservation>,
}

/// Completes a sign-in whose every check passed: binds or touches the
/// device (or stops at the device limit), makes the session, clears the
/// failure counter and records the success. `known` is the device as the
/// sign-in read it; without it (a second step, later) it is read again and
/// the guards are cleared unread.
pub async fn finish(
    app: &App,
    account: &Account,
    spec: &DeviceSpec,
    ctx: &ClientContext,
    score: i64,
    reasons: &[String],
    known: Option<KnownDevice>,
) -> Result<Outcome, AccountError> {
    let known = match known {
        Some(device) => Some(device),
        None => devices::find_by_key(&app.store, account.id, &spec.key_hash)
            .await?
            .map(|id| KnownDevice {
                id,
                guard_clear: false,
                account_second_factor_clear: false,
                reservation: None,
            }),
    };
    let success = Attempt {
        risk_score: score,
        reasons: reasons.to_vec(),
        ..attempt(ctx, Some(account.id), "success", "allow")
    };
    // The account's very first device (at sign-up) is announced to nobody:
    // there is nothing yet it could be an intruder beside.
    let mut announce = false;
    let mut known = known;
    let (device_id, new_device, session) = match &mut known {
        Some(device) => {
            let success = Attempt {
                device_id: Some(device.id),
                ..success
            };
            let reservation = device.reservation.take();
            let session = conclude_on_known_device(
                app,
                account.id,
                device.id,
                spec,
                ctx,
                &success,
                reservation,
            )
            .await?;
            (device.id, false, session)
        }
        None => {
            announce = !devices::first_seen_since(&app.store, account.id, 0)
                .await?
                .is_empty();
            // Only devices holding a place count (signed in, or used within
            // the window): browsers that signed out long ago stay listed but
            // leave room, as LINE and Google count. The pages and the API
            // decide by this one rule (`device_limit_ahead` too).
            let bound = devices::list_counted(&app.store, &app.config, account.id, None).await?;
            let uses: Vec<_> = bound.iter().map(devices::device_use).collect();
            let window = devices::place_window_ms(&app.config);
            if !koban_policy::device::room_for_new_device(
                &uses,
                now_ms(),
                window,
                app.config.max_devices,
            ) {
                let bound: Vec<devices::Device> =
                    bound.into_iter().filter(|d| d.holds_place).collect();
                let (challenge, _) =
                    create_challenge(app, account.id, "device_limit", ctx, score, reasons).await?;
                crate::security::state(app)
                    .attempt_log
                    .record(Attempt {
                        risk_score: score,
                        reasons: reasons.to_vec(),
                        ..attempt(ctx, Some(account.id), "device_limit", "deny")
                    })
                    .await?;
                return Ok(Outcome::DeviceLimit {
                    challenge,
                    devices: bound,
                });
            }
            let id = devices::create(&app.store, account.id, spec).await?;
            let session = sessions::create(
                app,
                account.id,
                Some(id),
                Some(&spec.ip),
                ctx.user_agent.as_deref(),
            )
            .await?;
            crate::security::state(app)
                .attempt_log
                .record(Attempt {
                    device_id: Some(id),
                    ..success
                })
                .await?;
            (id, true, session)
        }
    };
    // A known device clears only its own counter: the owner signing in on
    // their phone must not reset the back-off of someone guessing elsewhere.
    match &known {
        None => {
            guards::clear(&app.store, &guards::device_key(account.id, &spec.key_hash)).await?;
            guards::clear(&app.store, &guards::account_key(account.id)).await?;
        }
        Some(device) => {
            if !device.guard_clear {
                guards::clear(&app.store, &guards::device_key(account.id, &spec.key_hash)).await?;
            }
            if !device.account_second_factor_clear {
                guards::clear_second_factor(&app.store, account.id).await?;
            }
        }
    }
    if announce {
        let lang = account_lang(account, ctx.lang);
        let args = [("device", spec.name.clone()), ("ip", spec.ip.clone())];
        notify(
            app,
            account,
            "new_device_alert",
            t(lang, "notice-new-device-subject", &[]),
            t(lang, "notice-new-device-body", &args),
        )
        .await?;
    }
    Ok(Outcome::SignedIn {
        account: account.clone(),
        session,
        device_id,
        new_device,
    })
}

/// The writes of a sign-in from a bound device, in one round trip: the
/// device touched, the success recorded, the session stored. On PostgreSQL
/// one statement (the first two as data-modifying WITH clauses, so the three
/// commit together); on SQLite three statements sent at once to the single
/// writer, each committing as it runs (a touch or a history row without its
/// session is harmless). Three round trips here were a fifth of what a
/// sign-in costs the database besides hashing (docs/benchmarks-history.md, run 5).
///
/// On PostgreSQL the statement commits without waiting for the WAL flush
/// unless `database_sign_in_waits_for_flush` says otherwise: the flush is
/// a disk write per sign-in, a third of what PostgreSQL spent on one
/// (docs/benchmarks-history.md, run 8), for rows a database crash may lose at the cost
/// of a new sign-in. Failure counters and locks are written elsewhere, and
/// wait. The password check's reservation is given back in the same trip.
async fn conclude_on_known_device(
    app: &App,
    account_id: i64,
    device_id: i64,
    spec: &DeviceSpec,
    ctx: &ClientContext,
    success: &Attempt,
    reservation: Option<guards::CheckReservation>,
) -> Result<NewSession, AccountError> {
    // Unreserved parts bind NULL, which matches no row.
    let (reserved_guard, reserved_ip) = reservation
        .map(guards::CheckReservation::take_for_statement)
        .unwrap_or_default();
    let draft = sessions::Draft::new(app, ctx.user_agent.as_deref());
    let session_id = store::conclude_on_known_device(
        &app.store,
        !app.config.database_sign_in_waits_for_flush,
        &store::KnownDeviceSignIn {
            account_id,
            device_id,
            spec,
            draft: &draft,
            success,
            reserved_guard,
            reserved_ip,
        },
    )
    .await?;
    Ok(draft.stored(session_id))
}

/// Whether a sign-in owed a second factor will stop at the device limit
/// once the factor is given (a new device, every place taken): the page
/// says so before it asks for the factor, instead of after. The same rule
/// as [`finish`]; nothing is removed before the factor is proved, so a
/// password alone can never sign the owner's devices out.
pub async fn device_limit_ahead(
    app: &App,
    challenge: &Challenge,
) -> Result<Option<i64>, AccountError> {
    if devices::find_by_key(&app.store, challenge.account.id, &challenge.spec.key_hash)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    limit_reached(app, challenge.account.id).await
}

/// The device limit when every place under it is taken, else None.
async fn limit_reached(app: &App, account_id: i64) -> Result<Option<i64>, AccountError> {
    let bound = devices::list_counted(&app.store, &app.config, account_id, None).await?;
    let uses: Vec<_> = bound.iter().map(devices::device_use).collect();
    let window = devices::place_window_ms(&app.config);
    let max = app.config.max_devices;
    Ok(
        (!koban_policy::device::room_for_new_device(&uses, now_ms(), window, max))
            .then_some(max.max(1)),
    )
}

/// Finishes a sign-in stopped at the device limit by removing one device.
pub async fn resolve_device_limit(
    app: &App,
    token: &str,
    remove_device_id: i64,
    ctx: &ClientContext,
) -> Result<Outcome, AccountError> {
    let challenge = open_challenge(app, token, "device_limit").await?;
    if !devices::remove(
        &app.store,
        challenge.account.id,
        remove_device_id,
        Some(&challenge.spec.ip),
        "removed at sign-in to make room",
    )
    .await?
    {
        return Err(AccountError::field("remove_device_id", "invalid_value"));
    }
    if !use_challenge(app, challenge.id).await? {
        return Err(AccountError::field("challenge", "invalid_value"));
    }
    finish(
        app,
        &challenge.account,
        &challenge.spec,
        ctx,
        challenge.score,
        &challenge.reasons,
        None,
    )
    .await
}

/// Finishes a sign-in owed a second factor. `method` is `totp`,
/// `recovery_code` or `code` (the code sent at sign-in). Wrong answers count
/// on their own counter, apart from passwords.
pub async fn second_factor(
    app: &App,
    token: &str,
    method: &str,
    answer: &str,
    ctx: &ClientContext,
) -> Result<Outcome, AccountError> {
    let challenge = open_challenge(app, token, "second_factor").await?;
    let account = &challenge.account;
    let binding = codes::challenge_binding(challenge.id);
    let proved = super::totp::prove(
        app,
        account.id,
        method,
        answer,
        Purpose::SignIn,
        Some(&binding),
    )
    .await;
    let refused = match proved {
        Ok(()) => None,
        Err(e @ AccountError::SecondFactorLocked(_)) => Some(("second_factor_locked", e)),
        Err(e @ (AccountError::CodeInvalid | AccountError::TotpRefused { .. })) => {
            Some(("second_factor_failed", e))
        }
        Err(e) => return Err(e),
    };
    conclude_second_factor(app, &challenge, ctx, refused).await
}

/// The options for proving a sign-in's second factor with a passkey.
pub async fn passkey_options(
    app: &App,
    token: &str,
) -> Result<super::passkeys::PasskeyOptions, AccountError> {
    let challenge = open_challenge(app, token, "second_factor").await?;
    super::passkeys::begin_authentication(
        app,
        challenge.account.id,
        super::passkeys::Purpose::SignIn,
        challenge.id,
    )
    .await
}

/// Finishes a sign-in owed a second factor with a passkey. A wrong passkey
/// counts on the second-factor counter and is recorded as `passkey_failed`.
pub async fn second_factor_passkey(
    app: &App,
    token: &str,
    ceremony: &str,
    credential: serde_json::Value,
    ctx: &ClientContext,
) -> Result<Outcome, AccountError> {
    use super::passkeys::{self, Assertion};
    let challenge = open_challenge(app, token, "second_factor").await?;
    let account = &challenge.account;
    let verified = passkeys::verify(
        app,
        account.id,
        passkeys::Purpose::SignIn,
        challenge.id,
        ceremony,
        credential,
    )
    .await;
    let refused = match verified {
        Ok(Assertion::Passed) => None,
        Ok(Assertion::Failed(e)) => Some(("passkey_failed", e)),
        Err(e @ AccountError::SecondFactorLocked(_)) => Some(("second_factor_locked", e)),
        Err(e) => return Err(e),
    };
    conclude_second_factor(app, &challenge, ctx, refused).await
}

/// Ends a second-factor step: a refusal is recorded and returned; a pass
/// uses the challenge up (once) and signs in.
async fn conclude_second_factor(
    app: &App,
    challenge: &Challenge,
    ctx: &ClientContext,
    refused: Option<(&'static str, AccountError)>,
) -> Result<Outcome, AccountError> {
    let account = &challenge.account;
    if let Some((outcome, error)) = refused {
        crate::security::state(app)
            .attempt_log
            .record(attempt(ctx, Some(account.id), outcome, "deny"))
            .await?;
        return Err(error);
    }
    if !use_challenge(app, challenge.id).await? {
        return Err(AccountError::field("challenge", "invalid_value"));
    }
    finish(
        app,
        account,
        &challenge.spec,
        ctx,
        challenge.score,
        &challenge.reasons,
        None,
    )
    .await
}
