//! Six-digit verification codes: stored as keyed hashes, 10 minutes to live,
//! 5 wrong tries, single use, and a send throttle per destination that
//! applies whether or not an account exists (so it reveals nothing).

use super::AccountError;
use crate::delivery::{self, Channel, Outgoing};
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::contact::Contact;
use koban_policy::throttle::{CODE_MAX_ATTEMPTS, CODE_TTL_MS};
use rand::Rng;
use sqlx::{Any, Row, Transaction};

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyContact,
    PasswordReset,
    /// A second factor at sign-in for an account without 2FA (risk step-up).
    SignIn,
    /// Self-service unlock of a locked account.
    Unlock,
    /// A fresh proof before a sensitive change, for an account without 2FA.
    StepUp,
    /// Proof of a new phone number or email address replacing the old one.
    ChangeContact,
    /// The owner proving who they are to a support agent, on one ticket.
    SupportVerification,
}

impl Purpose {
    /// Stored name, also part of the message id for the mail subject.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyContact => "verify_contact",
            Purpose::PasswordReset => "password_reset",
            Purpose::SignIn => "sign_in",
            Purpose::Unlock => "unlock",
            Purpose::StepUp => "step_up",
            Purpose::ChangeContact => "change_contact",
            Purpose::SupportVerification => "support_verification",
        }
    }
}

const HASH_PURPOSE: &str = "verification-code";

fn channel_of(contact: &Contact) -> Channel {
    match contact {
        Contact::Phone(_) => Channel::Sms,
        Contact::Email(_) => Channel::Email,
    }
}

/// Takes one send from `destination`'s allowance for `purpose`, or says how long to wait.
/// Compare-and-swap on a version column, so racing requests on any number of
/// nodes cannot both take the last send.
pub async fn take_send_allowance(
    app: &App,
    purpose: Purpose,
    destination: &str,
) -> Result<(), AccountError> {
    // Each purpose has its own allowance: a sign-in code right after the
    // sign-up code is not a resend.
    take_allowance(
        app,
        koban_policy::throttle::CODE_SENDS,
        &format!("{}:{destination}", purpose.as_str()),
    )
    .await
}

/// Takes one from the allowance named `destination` (a purpose and an
/// address, or any other name for a kind of message or request about one
/// person), by the rule `allowance`.
pub async fn take_allowance(
    app: &App,
    allowance: koban_policy::throttle::Allowance,
    destination: &str,
) -> Result<(), AccountError> {
    for _ in 0..5 {
        let now = now_ms();
        let row =
            sqlx::query("SELECT sent_times, version FROM send_throttle WHERE destination = $1")
                .bind(destination)
                .fetch_optional(app.store.write())
                .await?;
        let (times, version) = match &row {
            Some(r) => {
                let text: String = r.try_get("sent_times")?;
                let times: Vec<i64> = text.split(',').filter_map(|t| t.parse().ok()).collect();
                (times, Some(r.try_get::<i64, _>("version")?))
            }
            None => (vec![], None),
        };
        let next = allowance
            .decide(&times, now)
            .map_err(AccountError::RateLimited)?;
        let text = next
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let expires_at = now + allowance.window_ms.max(allowance.gap_ms);
        let changed = match version {
            None => sqlx::query(
                "INSERT INTO send_throttle (destination, sent_times, version, expires_at) VALUES ($1, $2, 1, $3)
                 ON CONFLICT (destination) DO NOTHING",
            )
            .bind(destination)
            .bind(&text)
            .bind(expires_at)
            .execute(app.store.write())
            .await?
            .rows_affected(),
            Some(v) => sqlx::query(
                "UPDATE send_throttle SET sent_times = $1, version = version + 1, expires_at = $4
                 WHERE destination = $2 AND version = $3",
            )
            .bind(&text)
            .bind(destination)
            .bind(v)
            .bind(expires_at)
            .execute(app.store.write())
            .await?
            .rows_affected(),
        };
        if changed == 1 {
            return Ok(());
        }
    }
    Err(AccountError::RateLimited(1000))
}

/// Deletes the send allowances whose window has passed (the hourly job).
pub async fn prune_allowances(
    store: &crate::store::Store,
    now: i64,
) -> Result<u64, crate::store::StoreError> {
    let deleted = sqlx::query("DELETE FROM send_throttle WHERE expires_at < $1")
        .bind(now)
        .execute(store.write())
        .await?;
    Ok(deleted.rows_affected())
}

/// What a code completes besides its purpose: one sign-in challenge, one
/// session's step-up. A code bound to one is refused on any other, so a
/// code mailed for today's step-up cannot finish a challenge left open
/// earlier. `None` for codes that prove a contact or an account as a whole.
pub type Binding<'a> = Option<&'a str>;

/// The binding of codes sent for the sign-in challenge `id`.
pub fn challenge_binding(id: i64) -> String {
    format!("sign_in_challenge:{id}")
}

/// The binding of codes sent for a step inside session `id`.
pub fn session_binding(id: i64) -> String {
    format!("session:{id}")
}

/// Creates a code for `account_id` and queues it to `contact` in `tx`. Earlier
/// unused codes for the same purpose stop working. The caller has already
/// taken a send allowance.
pub async fn issue(
    app: &App,
    tx: &mut Transaction<'_, Any>,
    account_id: i64,
    purpose: Purpose,
    bound_to: Binding<'_>,
    contact: &Contact,
    lang: Lang,
) -> Result<(), AccountError> {
    let now = now_ms();
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
    sqlx::query(
        "UPDATE verification_codes SET superseded_at = $1
         WHERE account_id = $2 AND purpose = $3 AND consumed_at IS NULL AND superseded_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .bind(purpose.as_str())
    .execute(&mut **tx)
    .await?;
    let channel = channel_of(contact);
    sqlx::query(
        "INSERT INTO verification_codes (account_id, purpose, channel, destination, code_hash, created_at, expires_at, bound_to)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(account_id)
    .bind(purpose.as_str())
    .bind(channel.as_str())
    .bind(contact.as_str())
    .bind(app.key.keyed_hash(HASH_PURPOSE, format!("{account_id}:{code}").as_bytes()))
    .bind(now)
    .bind(now + CODE_TTL_MS)
    .bind(bound_to)
    .execute(&mut **tx)
    .await?;
    let message = Outgoing {
        account_id: Some(account_id),
        purpose: purpose.as_str().to_string(),
        channel,
        destination: contact.as_str().to_string(),
        subject: t(lang, &format!("code-subject-{}", purpose.as_str()), &[]),
        // Every other code says nobody will ever ask for it; this one is
        // read back to support, so it says when that is right.
        body: match purpose {
            Purpose::SupportVerification => {
                t(lang, "code-body-support_verification", &[("code", code)])
            }
            _ => t(lang, "code-body", &[("code", code)]),
        },
    };
    delivery::queue(tx, &app.key, app.config.delivery_mode == "live", message).await?;
    Ok(())
}

/// A code that was accepted: where it had been sent.
#[derive(Debug, Clone)]
pub struct ConsumedCode {
    id: i64,
    pub channel: String,
    pub destination: String,
}

/// Moves the account's live code for `purpose` to `bound_to`, so that a
/// challenge opened while a resend is throttled can be completed with the
/// code already sent, and the earlier challenge no longer can.
pub async fn rebind(
    app: &App,
    account_id: i64,
    purpose: Purpose,
    bound_to: Binding<'_>,
) -> Result<(), AccountError> {
    sqlx::query(
        "UPDATE verification_codes SET bound_to = $1
         WHERE account_id = $2 AND purpose = $3 AND consumed_at IS NULL AND superseded_at IS NULL AND expires_at > $4",
    )
    .bind(bound_to)
    .bind(account_id)
    .bind(purpose.as_str())
    .bind(now_ms())
    .execute(app.store.write())
    .await?;
    Ok(())
}

/// Checks `code` against the account's live code for `purpose` bound to
/// `bound_to`, and uses it up. The try is counted before the comparison, in
/// the one statement that finds the code, so parallel guesses cannot all
/// see "fewer than five": at most five are ever compared.
pub async fn consume(
    app: &App,
    account_id: i64,
    purpose: Purpose,
    bound_to: Binding<'_>,
    code: &str,
) -> Result<ConsumedCode, AccountError> {
    let matched = check(app, account_id, purpose, bound_to, code).await?;
    let mut change = app.store.change().await?;
    use_up(&mut change.tx, &matched).await?;
    change.commit().await?;
    Ok(matched)
}

/// Counts a try of `code` and compares it, like [`consume`], without using
/// the code up: for a change that uses it up with its other writes
/// ([`use_up`]), so that a change that fails leaves the code usable.
pub async fn check(
    app: &App,
    account_id: i64,
    purpose: Purpose,
    bound_to: Binding<'_>,
    code: &str,
) -> Result<ConsumedCode, AccountError> {
    let now = now_ms();
    // The try is counted even when the change it serves fails later: the
    // count is what stops guessing.
    let row = sqlx::query(
        "UPDATE verification_codes SET attempts = attempts + 1
         WHERE id = (SELECT id FROM verification_codes
                     WHERE account_id = $1 AND purpose = $2 AND consumed_at IS NULL AND superseded_at IS NULL
                     ORDER BY id DESC LIMIT 1)
           AND attempts < $3 AND expires_at > $4
         RETURNING id, code_hash, channel, destination, bound_to",
    )
    .bind(account_id)
    .bind(purpose.as_str())
    .bind(CODE_MAX_ATTEMPTS)
    .bind(now)
    .fetch_optional(app.store.write())
    .await?
    .ok_or(AccountError::CodeInvalid)?;
    let bound: Option<String> = row.try_get("bound_to")?;
    let stored: String = row.try_get("code_hash")?;
    let offered = app
        .key
        .keyed_hash(HASH_PURPOSE, format!("{account_id}:{code}").as_bytes());
    let matches = crate::crypto::constant_time_eq(stored.as_bytes(), offered.as_bytes());
    if !matches || bound.as_deref() != bound_to {
        return Err(AccountError::CodeInvalid);
    }
    Ok(ConsumedCode {
        id: row.try_get("id")?,
        channel: row.try_get("channel")?,
        destination: row.try_get("destination")?,
    })
}

/// Uses up a code [`check`] accepted, in `tx`. Conditional on still being
/// unused: of two racing correct submissions, one wins.
pub async fn use_up(
    tx: &mut Transaction<'_, Any>,
    code: &ConsumedCode,
) -> Result<(), AccountError> {
    let now = now_ms();
    let used = sqlx::query(
        "UPDATE verification_codes SET consumed_at = $1
         WHERE id = $2 AND consumed_at IS NULL AND superseded_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(code.id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if used != 1 {
        return Err(AccountError::CodeInvalid);
    }
    Ok(())
}

pub use koban_policy::text::CODE_PATTERN;

/// Is this a plausible code (6 ASCII digits after NFKC)? Anything else is a
/// field error, and does not count as a try.
pub fn normalize_code(input: &str) -> Result<String, AccountError> {
    use unicode_normalization_free::fold_digits;
    let folded = fold_digits(input.trim());
    if folded.len() == 6 && folded.chars().all(|c| c.is_ascii_digit()) {
        Ok(folded)
    } else {
        Err(AccountError::field("code", "code_format"))
    }
}

mod unicode_normalization_free {
    /// Full-width digits (from CJK input methods) to ASCII; spaces removed.
    pub fn fold_digits(s: &str) -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                other => other,
            })
            .collect()
    }
}
