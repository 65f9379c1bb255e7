//! Two-factor authentication: TOTP (RFC 6238: SHA-1, 6 digits, 30 s, ±1
//! step), works with any authenticator app and `oathtool`; ten single-use
//! recovery codes; and step-up (a fresh second factor before a sensitive
//! change).

use super::history;
use super::store::totp as store;
use crate::accounts::codes::{self, Purpose};
use crate::accounts::sessions::Current;
use crate::accounts::AccountError;
use crate::state::App;
use crate::store::{now_ms, StoreError};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha1::Sha1;

const SEAL_PURPOSE: &str = "totp-secret";
const RECOVERY_PURPOSE: &str = "recovery-code";
const STEP_SECONDS: i64 = 30;
/// How long a step-up stays fresh.
pub const STEP_UP_TTL_MS: i64 = 10 * 60 * 1000;
const RECOVERY_CODES: usize = 10;
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The 6-digit TOTP value of `secret` at time step `step` (RFC 4226 §5.3).
pub fn code_at(secret: &[u8], step: i64) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&(step as u64).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

/// The time step of a Unix time in milliseconds.
pub fn step_of(ms: i64) -> i64 {
    ms.div_euclid(STEP_SECONDS * 1000)
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        buffer = (buffer << 8) | *b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes RFC 4648 base32 (case-insensitive, padding and spaces ignored);
/// None on any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !matches!(c, '=' | ' ')) {
        let value = match c.to_ascii_uppercase() {
            u @ 'A'..='Z' => u as u32 - 'A' as u32,
            d @ '2'..='7' => d as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// What the owner needs to add Koban to an authenticator app.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Enrollment {
    /// Base32 secret, for typing in by hand.
    pub secret: String,
    /// `otpauth://totp/…` for a QR code or a link.
    pub otpauth_uri: String,
    /// The URI as an SVG QR code, rendered by the server.
    pub qr_svg: String,
}

fn uri_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Starts TOTP enrolment: a new secret, sealed at rest, pending until confirmed.
pub async fn begin(app: &App, current: &Current) -> Result<Enrollment, AccountError> {
    if is_enabled(app, current.account.id).await? {
        return Err(AccountError::field("totp", "already_enabled"));
    }
    let mut secret = [0u8; 20];
    rand::rngs::OsRng.fill(&mut secret);
    store::set_secret(
        &app.store,
        current.account.id,
        app.key.seal(SEAL_PURPOSE, &secret),
    )
    .await?;
    enrollment(&secret, current.account.display_identifier())
}

/// The enrolment begun and not yet confirmed, shown again (a page reload
/// must not make a new secret); None when there is none or TOTP is on.
pub async fn pending(app: &App, current: &Current) -> Result<Option<Enrollment>, AccountError> {
    match secret_and_step(app, current.account.id).await? {
        Some((secret, _, false)) => {
            enrollment(&secret, current.account.display_identifier()).map(Some)
        }
        _ => Ok(None),
    }
}

fn enrollment(secret: &[u8], identifier: &str) -> Result<Enrollment, AccountError> {
    let encoded = base32(secret);
    let label = uri_escape(&format!("Koban:{identifier}"));
    let otpauth_uri = format!(
        "otpauth://totp/{label}?secret={encoded}&issuer=Koban&algorithm=SHA1&digits=6&period=30"
    );
    let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .map_err(|e| AccountError::Internal(e.to_string()))?;
    Ok(Enrollment {
        secret: encoded,
        otpauth_uri,
        qr_svg,
    })
}

async fn secret_and_step(
    app: &App,
    account_id: i64,
) -> Result<Option<(Vec<u8>, Option<i64>, bool)>, AccountError> {
    let (sealed, last_step, enabled) = store::secret_and_step(&app.store, account_id).await?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let secret = app.key.open(SEAL_PURPOSE, &sealed).ok_or_else(|| {
        AccountError::Internal("TOTP secret does not open with this server key".into())
    })?;
    Ok(Some((secret, last_step, enabled)))
}

/// The second factors an account has. Either one turns 2FA on: sign-in
/// then asks for a second factor, and the reminder to turn it on stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    pub totp: bool,
    pub passkey: bool,
}

impl Factors {
    /// Whether two-factor authentication is on.
    pub fn on(self) -> bool {
        self.totp || self.passkey
    }

    /// What a second-factor step accepts: the factors the account has and
    /// its recovery codes, or with 2FA off a code to a verified contact.
    pub fn methods(self) -> Vec<&'static str> {
        let mut methods = vec![];
        if self.totp {
            methods.push("totp");
        }
        if self.passkey {
            methods.push("passkey");
        }
        methods.push(if self.on() { "recovery_code" } else { "code" });
        methods
    }

    /// Whether step-up accepts `method` (a passkey has its own two requests).
    pub fn step_up_accepts(self, method: &str) -> bool {
        match method {
            "totp" => self.totp,
            "recovery_code" => self.on(),
            "code" => !self.on(),
            _ => false,
        }
    }
}

/// The account's second factors.
pub async fn factors(app: &App, account_id: i64) -> Result<Factors, AccountError> {
    Ok(store::factors(app.store.read(), account_id).await?)
}

/// Whether the account has TOTP turned on.
pub async fn is_enabled(app: &App, account_id: i64) -> Result<bool, AccountError> {
    Ok(store::is_enabled(&app.store, account_id).await?)
}

/// Checks `code` against the secret within ±1 step, refusing a step already
/// used (atomically, so two racing submissions of one code cannot both pass).
async fn check(
    app: &App,
    account_id: i64,
    code: &str,
    require_enabled: bool,
) -> Result<Checked, AccountError> {
    let code = codes::normalize_code(code)?;
    let Some((secret, last_step, enabled)) = secret_and_step(app, account_id).await? else {
        return Ok(Checked::Wrong);
    };
    if require_enabled && !enabled {
        return Ok(Checked::Wrong);
    }
    let now_step = step_of(now_ms());
    for step in [now_step - 1, now_step, now_step + 1] {
        if !crate::crypto::constant_time_eq(code_at(&secret, step).as_bytes(), code.as_bytes()) {
            continue;
        }
        if last_step.is_some_and(|last| step <= last) {
            return Ok(Checked::JustUsed);
        }
        let claimed = store::claim_step(&app.store, account_id, step).await?;
        // Lost to a parallel request with the same code: used just now.
        return Ok(if claimed {
            Checked::Right
        } else {
            Checked::JustUsed
        });
    }
    Ok(Checked::Wrong)
}

/// What checking an authenticator code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Right,
    Wrong,
    /// Right for its time step, but a code of that step or a later one was
    /// already accepted: replays are refused, and the person is told to
    /// wait for the next code rather than that the app is wrong.
    JustUsed,
}

impl Checked {
    /// Ok for a right code, else the refusal that says what happened.
    fn accepted(self) -> Result<(), AccountError> {
        match self {
            Checked::Right => Ok(()),
            Checked::Wrong => Err(AccountError::TotpRefused { just_used: false }),
            Checked::JustUsed => Err(AccountError::TotpRefused { just_used: true }),
        }
    }
}

fn new_recovery_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: String = (0..10)
        .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

fn normalize_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Replaces the account's recovery codes with ten new ones (the old set
/// dies) and returns them: the only time they are shown.
pub async fn regenerate_recovery_codes(
    app: &App,
    account_id: i64,
    ip: Option<&str>,
) -> Result<Vec<String>, AccountError> {
    let mut tx = app.store.write().begin().await?;
    let codes = write_recovery_codes(app, &mut tx, account_id, ip).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Replaces the recovery codes inside `tx` (with the change that needs
/// them, such as a first passkey) and returns the new set.
pub async fn write_recovery_codes(
    app: &App,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    account_id: i64,
    ip: Option<&str>,
) -> Result<Vec<String>, AccountError> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let now = now_ms();
    let hashes = codes
        .iter()
        .map(|code| {
            app.key.keyed_hash(
                RECOVERY_PURPOSE,
                format!("{account_id}:{}", normalize_recovery(code)).as_bytes(),
            )
        })
        .collect();
    store::replace_recovery_codes(tx, account_id, hashes, now).await?;
    history::event(&mut **tx, account_id, "recovery_codes_regenerated", "", ip).await?;
    Ok(codes)
}

/// How many of the account's recovery codes are still unused.
pub async fn recovery_codes_left(app: &App, account_id: i64) -> Result<i64, AccountError> {
    Ok(store::recovery_codes_left(&app.store, account_id).await?)
}

/// Uses a recovery code up; false when it is wrong or was used.
pub async fn use_recovery_code(
    app: &App,
    account_id: i64,
    code: &str,
) -> Result<bool, AccountError> {
    let normalized = normalize_recovery(code);
    if normalized.len() != 10 {
        return Ok(false);
    }
    let hash = app.key.keyed_hash(
        RECOVERY_PURPOSE,
        format!("{account_id}:{normalized}").as_bytes(),
    );
    Ok(store::use_recovery_code(&app.store, account_id, hash, now_ms()).await?)
}

/// Confirms enrolment with a first code; turns TOTP on and returns the recovery codes.
pub async fn confirm(
    app: &App,
    current: &Current,
    code: &str,
) -> Result<Vec<String>, AccountError> {
    if is_enabled(app, current.account.id).await? {
        return Err(AccountError::field("totp", "already_enabled"));
    }
    check(app, current.account.id, code, false)
        .await?
        .accepted()?;
    if !store::enable(&app.store, current.account.id, now_ms()).await? {
        return Err(AccountError::CodeInvalid);
    }
    history::event(
        app.store.write(),
        current.account.id,
        "two_factor_enabled",
        "totp",
        None,
    )
    .await?;
    // Turning 2FA on is itself a fresh second factor.
    mark_stepped_up(app, current.session_id).await?;
    regenerate_recovery_codes(app, current.account.id, None).await
}

/// Turns 2FA off: TOTP, every passkey and the recovery codes go.
pub async fn disable(
    app: &App,
    account_id: i64,
    ip: Option<&str>,
    why: &str,
) -> Result<(), AccountError> {
    let mut change = app.store.change().await?;
    disable_in(&mut change.tx, account_id, ip, why).await?;
    change.commit().await?;
    Ok(())
}

/// [`disable`] inside a change of several rows.
pub async fn disable_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    account_id: i64,
    ip: Option<&str>,
    why: &str,
) -> Result<(), StoreError> {
    store::remove_second_factors(tx, account_id).await?;
    history::event(&mut **tx, account_id, "two_factor_disabled", why, ip).await?;
    Ok(())
}

/// Records that the session just passed a second factor.
pub async fn mark_stepped_up(app: &App, session_id: i64) -> Result<(), AccountError> {
    store::mark_stepped_up(&app.store, session_id, now_ms()).await?;
    Ok(())
}

/// Refuses unless the session passed a second factor within [`STEP_UP_TTL_MS`].
pub fn require_step_up(current: &Current) -> Result<(), AccountError> {
    match current.stepped_up_at {
        Some(at) if now_ms() - at <= STEP_UP_TTL_MS => Ok(()),
        _ => Err(AccountError::StepUpRequired),
    }
}

/// Sends a step-up code to a verified contact (for accounts without 2FA).
pub async fn send_step_up_code(app: &App, current: &Current) -> Result<(), AccountError> {
    let contact = super::signin::verified_contacts(&current.account)
        .into_iter()
        .next()
        .ok_or_else(|| AccountError::field("method", "not_on_file"))?;
    codes::take_send_allowance(app, Purpose::StepUp, contact.as_str()).await?;
    let lang = current
        .account
        .locale
        .as_deref()
        .and_then(crate::web::i18n::Lang::parse)
        .unwrap_or(crate::web::i18n::Lang::En);
    let mut tx = app.store.write().begin().await?;
    codes::issue(
        app,
        &mut tx,
        current.account.id,
        Purpose::StepUp,
        Some(&codes::session_binding(current.session_id)),
        &contact,
        lang,
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Checks one second-factor answer: `totp`, `recovery_code`, or `code` (a
/// code of `code_purpose` sent to a verified contact). Refused while
/// second-factor sign-in is locked; a wrong answer counts on the
/// second-factor counter, apart from passwords, and may start that lock.
pub async fn prove(
    app: &App,
    account_id: i64,
    method: &str,
    answer: &str,
    code_purpose: Purpose,
    bound_to: codes::Binding<'_>,
) -> Result<(), AccountError> {
    if !matches!(method, "totp" | "recovery_code" | "code") {
        return Err(AccountError::field("method", "invalid_value"));
    }
    // The answer is counted before it is checked, in one statement, so that
    // parallel guesses cannot all see the counter below its limit.
    let key = super::guards::account_key(account_id);
    let limit = app.config.second_factor_lock_after_failures;
    let now = now_ms();
    let Some(position) = super::guards::reserve_second_factor(&app.store, &key, now, limit).await?
    else {
        let guard = super::guards::load(&app.store, &key).await?;
        return Err(
            match guard.second_factor_locked_until.filter(|t| *t > now) {
                Some(until) => AccountError::SecondFactorLocked(until - now),
                // Every allowed answer is being checked right now.
                None => AccountError::RateLimited(1000),
            },
        );
    };
    // Outer error: the answer could not be checked; inner: it was wrong,
    // with the refusal that says how.
    let checked: Result<Result<(), AccountError>, AccountError> = async {
        Ok(match method {
            "totp" => check(app, account_id, answer, true).await?.accepted(),
            "recovery_code" => match use_recovery_code(app, account_id, answer).await? {
                true => Ok(()),
                false => Err(AccountError::CodeInvalid),
            },
            _ => {
                let code = codes::normalize_code(answer)?;
                codes::consume(app, account_id, code_purpose, bound_to, &code)
                    .await
                    .map(|_| ())
                    .map_err(|_| AccountError::CodeInvalid)
            }
        })
    }
    .await;
    let lock_ms = app.config.second_factor_lock_minutes * 60_000;
    // A right answer, or one that could not be checked (a malformed code),
    // gives its count back; a wrong one keeps it, and the one that reached
    // the limit locks.
    let failed = matches!(checked, Ok(Err(_)));
    super::guards::settle_second_factor(
        &app.store,
        &key,
        position,
        failed,
        now_ms(),
        limit,
        lock_ms,
    )
    .await?;
    checked?
}

/// Refuses while the account's second-factor sign-in is locked.
pub async fn second_factor_open(app: &App, account_id: i64) -> Result<(), AccountError> {
    let key = super::guards::account_key(account_id);
    let now = now_ms();
    let guard = super::guards::load(&app.store, &key).await?;
    match guard.second_factor_locked_until.filter(|t| *t > now) {
        Some(until) => Err(AccountError::SecondFactorLocked(until - now)),
        None => Ok(()),
    }
}

/// Counts a wrong second factor of any kind; enough of them lock it.
pub async fn count_second_factor_failure(app: &App, account_id: i64) -> Result<(), AccountError> {
    let key = super::guards::account_key(account_id);
    let lock_ms = app.config.second_factor_lock_minutes * 60_000;
    let limit = app.config.second_factor_lock_after_failures;
    super::guards::count_second_factor_failure(&app.store, &key, now_ms(), limit, lock_ms).await?;
    Ok(())
}

/// Passes step-up with `method` (`totp`, `recovery_code` or `code`). Wrong
/// answers count on the second-factor counter.
pub async fn step_up(
    app: &App,
    current: &Current,
    method: &str,
    answer: &str,
) -> Result<(), AccountError> {
    // With 2FA on, only the second factor itself will do; without it, a code to a verified contact.
    if !factors(app, current.account.id)
        .await?
        .step_up_accepts(method)
    {
        return Err(AccountError::field("method", "invalid_value"));
    }
    let binding = codes::session_binding(current.session_id);
    prove(
        app,
        current.account.id,
        method,
        answer,
        Purpose::StepUp,
        Some(&binding),
    )
    .await?;
    mark_stepped_up(app, current.session_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 Appendix B, truncated to 6 digits.
        let secret = b"12345678901234567890";
        for (unix, want) in [
            (59i64, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
            (20000000000, "353130"),
        ] {
            assert_eq!(code_at(secret, step_of(unix * 1000)), want, "{unix}");
        }
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn methods_follow_the_factors() {
        let f = |totp, passkey| Factors { totp, passkey };
        assert_eq!(f(false, false).methods(), ["code"]);
        assert_eq!(f(true, false).methods(), ["totp", "recovery_code"]);
        assert_eq!(f(false, true).methods(), ["passkey", "recovery_code"]);
        assert_eq!(
            f(true, true).methods(),
            ["totp", "passkey", "recovery_code"]
        );
        for (factors, method, accepted) in [
            (f(false, false), "code", true),
            (f(false, false), "totp", false),
            (f(false, false), "recovery_code", false),
            (f(false, true), "code", false),
            (f(false, true), "totp", false),
            (f(false, true), "recovery_code", true),
            (f(true, false), "totp", true),
            (f(true, true), "passkey", false),
            (f(true, true), "sms", false),
        ] {
            assert_eq!(
                factors.step_up_accepts(method),
                accepted,
                "{factors:?} {method}"
            );
        }
    }

    #[test]
    fn recovery_codes_are_ten_characters_grouped() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(normalize_recovery(&code.to_uppercase()).len(), 10);
        assert_eq!(normalize_recovery(" abcde-fghjk "), "abcdefghjk");
    }
}
