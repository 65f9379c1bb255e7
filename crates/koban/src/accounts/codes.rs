//! Six-digit verification codes: stored as keyed hashes, 10 minutes to live,
//! 5 wrong tries, single use, and a send throttle per destination that
//! applies whether or not an account exists (so it reveals nothing).

use super::store::codes as store;
use super::AccountError;
use crate::delivery::{self, Channel, Outgoing};
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::contact::Contact;
use koban_policy::throttle::{CODE_MAX_ATTEMPTS, CODE_TTL_MS};
use rand::Rng;
use sqlx::{Any, Transaction};

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
        let (times, version) = match store::allowance(&app.store, destination).await? {
            Some((times, version)) => (times, Some(version)),
            None => (vec![], None),
        };
        let next = allowance
            .decide(&times, now)
            .map_err(AccountError::RateLimited)?;
        let expires_at = now + allowance.window_ms.max(allowance.gap_ms);
        let changed =
            store::save_allowance(&app.store, destination, &next, version, expires_at).await?;
        if changed == 1 {
            return Ok(());
        }
    }
    Err(AccountError::RateLimited(1000))
}

pub use super::store::codes::prune_allowances;

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
    let channel = channel_of(contact);
    let new_code = store::NewCode {
        account_id,
        purpose: purpose.as_str(),
        channel: channel.as_str(),
        destination: contact.as_str(),
        code_hash: app
            .key
            .keyed_hash(HASH_PURPOSE, format!("{account_id}:{code}").as_bytes()),
        bound_to,
        created_at: now,
        expires_at: now + CODE_TTL_MS,
    };
    store::replace(tx, new_code).await?;
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
        mail: None,
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
    store::rebind(&app.store, account_id, purpose.as_str(), bound_to, now_ms()).await?;
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
    let row = store::count_try(
        &app.store,
        account_id,
        purpose.as_str(),
        CODE_MAX_ATTEMPTS,
        now,
    )
    .await?
    .ok_or(AccountError::CodeInvalid)?;
    let offered = app
        .key
        .keyed_hash(HASH_PURPOSE, format!("{account_id}:{code}").as_bytes());
    let matches = crate::crypto::constant_time_eq(row.code_hash.as_bytes(), offered.as_bytes());
    if !matches || row.bound_to.as_deref() != bound_to {
        return Err(AccountError::CodeInvalid);
    }
    Ok(ConsumedCode {
        id: row.id,
        channel: row.channel,
        destination: row.destination,
    })
}

/// Uses up a code [`check`] accepted, in `tx`. Conditional on still being
/// unused: of two racing correct submissions, one wins.
pub async fn use_up(
    tx: &mut Transaction<'_, Any>,
    code: &ConsumedCode,
) -> Result<(), AccountError> {
    let now = now_ms();
    let used = store::use_up(tx, code.id, now).await?;
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
