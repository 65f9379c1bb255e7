//! Authenticator-app codes (RFC 6238): enrolment, the check that refuses a
//! replayed step, and turning 2FA on and off.

use super::*;

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

pub(super) fn enrollment(secret: &[u8], identifier: &str) -> Result<Enrollment, AccountError> {
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

pub(super) async fn secret_and_step(
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

/// Checks `code` against the secret within ±1 step, refusing a step already
/// used (atomically, so two racing submissions of one code cannot both pass).
pub(super) async fn check(
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
    pub(super) fn accepted(self) -> Result<(), AccountError> {
        match self {
            Checked::Right => Ok(()),
            Checked::Wrong => Err(AccountError::TotpRefused { just_used: false }),
            Checked::JustUsed => Err(AccountError::TotpRefused { just_used: true }),
        }
    }
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
