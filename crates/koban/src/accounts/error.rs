//! The accounts domain's one error type, and how it reads over HTTP.

use crate::http::problem::{FieldError, Problem};
use crate::store::StoreError;
use axum::http::StatusCode;

/// Everything an account operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{}", describe_fields(.0))]
    Invalid(Vec<FieldError>),
    #[error("an account with this {0} exists")]
    Duplicate(&'static str),
    #[error("wrong account or password")]
    BadCredentials,
    /// A wrong password after which one more locks sign-in: the same
    /// refusal, with the warning a person needs before their last try.
    /// Unknown identifiers count and lock alike, so it reveals nothing.
    #[error("wrong account or password; one more failure locks sign-in")]
    BadCredentialsLastTry,
    #[error("the code is wrong, used or expired")]
    CodeInvalid,
    /// An authenticator app's code that is not right now, said in words that
    /// fit an app: it cannot "send a new code", it shows the next one.
    #[error("the authenticator code is wrong or was just used")]
    TotpRefused { just_used: bool },
    #[error("the account's contact is not verified")]
    VerificationRequired,
    #[error("the account is disabled")]
    Disabled,
    /// Signing in from a device an organization's administrator froze.
    #[error("the device is frozen")]
    DeviceFrozen { reason: String },
    /// An organization's security policy refuses this sign-in.
    #[error("an organization's policy refuses the sign-in")]
    PolicyRefused(koban_policy::org::policy::Source),
    #[error("too many requests; retry in {0} ms")]
    RateLimited(i64),
    #[error("not signed in")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    #[error("sign-in is locked")]
    Locked {
        retry_after_ms: Option<i64>,
        lock: Lock,
        /// The reference the owner quotes to support, for a support lock.
        reference: Option<LockReference>,
    },
    #[error("second-factor sign-in is locked")]
    SecondFactorLocked(i64),
    #[error("this needs a fresh second factor")]
    StepUpRequired,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

/// Which lock refused a sign-in: each has its own way out, which the
/// answer names truthfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// The account (or the device) after wrong passwords: wait, or unlock
    /// now with a code, a second factor or a passkey.
    Temporary,
    /// The account until support unlocks it: no code will help.
    Support,
    /// The address after too many failures across accounts: wait.
    NetworkThrottled,
    /// The address is block-listed: only an administrator can help.
    NetworkBlocked,
}

impl Lock {
    /// The way out as the API names it (`unlock` in the problem document).
    pub fn way_out(self) -> &'static str {
        match self {
            Lock::Temporary => "code",
            Lock::Support | Lock::NetworkBlocked => "support",
            Lock::NetworkThrottled => "wait",
        }
    }
}

/// A lock's reference, read aloud to support as `LK-1234-5678`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockReference(pub i64);

impl LockReference {
    /// A new random reference (eight digits).
    pub fn random() -> LockReference {
        use rand::Rng;
        LockReference(rand::rngs::OsRng.gen_range(10_000_000..100_000_000))
    }
}

impl std::fmt::Display for LockReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.0.rem_euclid(100_000_000);
        write!(f, "LK-{:04}-{:04}", digits / 10_000, digits % 10_000)
    }
}

/// "password: This password is too common. Choose another." — for the CLI and logs.
fn describe_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e.field,
                crate::web::i18n::t(
                    crate::web::i18n::Lang::En,
                    &format!("reason-{}", e.code),
                    &[]
                )
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl AccountError {
    /// One invalid field.
    pub fn field(field: &str, code: &'static str) -> AccountError {
        AccountError::Invalid(vec![FieldError {
            field: field.to_string(),
            code,
        }])
    }
}

impl From<sqlx::Error> for AccountError {
    fn from(e: sqlx::Error) -> Self {
        AccountError::Store(StoreError::Sqlx(e))
    }
}

impl From<AccountError> for Problem {
    fn from(error: AccountError) -> Problem {
        match error {
            AccountError::Invalid(errors) => Problem::validation(errors),
            AccountError::Duplicate(field) => Problem {
                errors: vec![FieldError {
                    field: field.to_string(),
                    code: "taken",
                }],
                ..Problem::new(
                    StatusCode::CONFLICT,
                    "account-exists",
                    "problem-conflict-field",
                )
                .arg("field", format!("msg:noun-{field}"))
            },
            AccountError::BadCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "bad-credentials",
                "problem-bad-credentials",
            ),
            AccountError::BadCredentialsLastTry => Problem::new(
                StatusCode::UNAUTHORIZED,
                "bad-credentials",
                "problem-bad-credentials-last-try",
            )
            .extension("attempts_left", 1),
            AccountError::CodeInvalid => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "code-invalid",
                "problem-code-invalid",
            ),
            AccountError::TotpRefused { just_used: false } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "totp-wrong",
                "problem-totp-wrong",
            ),
            AccountError::TotpRefused { just_used: true } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "totp-just-used",
                "problem-totp-just-used",
            ),
            AccountError::VerificationRequired => Problem::new(
                StatusCode::FORBIDDEN,
                "verification-required",
                "problem-verification-required",
            ),
            AccountError::Disabled => Problem::new(
                StatusCode::FORBIDDEN,
                "account-disabled",
                "problem-account-disabled",
            ),
            AccountError::DeviceFrozen { reason } => Problem::new(
                StatusCode::FORBIDDEN,
                "device-frozen",
                "problem-device-frozen",
            )
            .arg("reason", reason),
            AccountError::PolicyRefused(source) => Problem::new(
                StatusCode::FORBIDDEN,
                "policy-refused",
                refusal_message(source.rule),
            )
            .arg("organization", source.organization.clone())
            .extension("organization_id", source.organization_id)
            .extension("organization", source.organization)
            .extension("rule", source.rule.as_str()),
            AccountError::RateLimited(ms) => Problem::rate_limited(ms),
            AccountError::Unauthorized => Problem::unauthorized(),
            AccountError::Forbidden => Problem::forbidden(),
            // The same status and shape as a wrong password. Unknown identifiers
            // lock exactly like real ones, so the lock itself reveals nothing.
            AccountError::Locked {
                retry_after_ms,
                lock,
                reference,
            } => {
                let message = match lock {
                    Lock::Temporary => "problem-locked",
                    Lock::Support => "problem-locked-support",
                    Lock::NetworkThrottled => "problem-network-throttled",
                    Lock::NetworkBlocked => "problem-network-blocked",
                };
                let mut problem = Problem::new(StatusCode::UNAUTHORIZED, "sign-in-locked", message)
                    .extension("unlock", lock.way_out());
                let seconds = retry_after_ms.map(|ms| ((ms.max(0) + 999) / 1000).max(1) as u64);
                if let Some(seconds) = seconds {
                    problem.retry_after_seconds = Some(seconds);
                    problem = problem.arg("seconds", seconds.to_string());
                }
                let minutes = seconds.map_or(1, |s| s.div_ceil(60));
                problem = problem.arg("minutes", minutes.to_string());
                if let Some(reference) = reference {
                    problem = problem
                        .extension("lock_reference", reference.to_string())
                        .arg("reference", reference.to_string());
                }
                problem
            }
            AccountError::SecondFactorLocked(ms) => Problem {
                retry_after_seconds: Some(((ms.max(0) + 999) / 1000).max(1) as u64),
                ..Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "second-factor-locked",
                    "problem-second-factor-locked",
                )
            },
            AccountError::StepUpRequired => Problem::new(
                StatusCode::FORBIDDEN,
                "step-up-required",
                "problem-step-up-required",
            ),
            AccountError::NotFound => Problem::not_found(),
            AccountError::Store(e) => Problem::internal(&e),
            AccountError::Internal(e) => Problem::internal(&e),
        }
    }
}

impl axum::response::IntoResponse for AccountError {
    fn into_response(self) -> axum::response::Response {
        Problem::from(self).into_response()
    }
}

/// The message of a sign-in a policy refuses: each rule says what to do.
fn refusal_message(rule: koban_policy::org::policy::Rule) -> &'static str {
    use koban_policy::org::policy::Rule;
    match rule {
        Rule::AllowedCountries => "problem-policy-refused-allowed_countries",
        Rule::AllowedNetworks => "problem-policy-refused-allowed_networks",
        Rule::PasswordAge => "problem-policy-refused-password_age",
        Rule::MinClientVersion => "problem-policy-refused-min_client_version",
        // The other rules limit a sign-in instead of refusing it.
        Rule::TwoFactor | Rule::MaxDevices | Rule::SessionLifetime => "problem-policy-refused",
    }
}
