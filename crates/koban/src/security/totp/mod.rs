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

mod authenticator;
mod recovery_codes;
mod step_up;

pub use authenticator::*;
pub use recovery_codes::*;
pub use step_up::*;

const SEAL_PURPOSE: &str = "totp-secret";
const RECOVERY_PURPOSE: &str = "recovery-code";
const STEP_SECONDS: i64 = 30;
/// How long a step-up stays fresh.
pub const STEP_UP_TTL_MS: i64 = 10 * 60 * 1000;
const RECOVERY_CODES: usize = 10;
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

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

/// [`factors`] through `executor`, inside another domain's change.
pub async fn factors_in<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    account_id: i64,
) -> Result<Factors, sqlx::Error> {
    store::factors(executor, account_id).await
}

/// Whether the account has TOTP turned on.
pub async fn is_enabled(app: &App, account_id: i64) -> Result<bool, AccountError> {
    Ok(store::is_enabled(&app.store, account_id).await?)
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
