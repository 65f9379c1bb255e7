//! Passkeys (WebAuthn, through `webauthn-rs`) as a second factor: register,
//! name, rename and remove them; prove with one at sign-in, at step-up and
//! to lift a lock.
//!
//! Each ceremony has two requests (options out, the browser's answer back);
//! what webauthn-rs must remember between them is kept in the database, bound
//! to the account and to the session or sign-in challenge it serves, used
//! once and short-lived, so any node can finish what another began. A wrong
//! passkey counts on the second-factor counter like a wrong TOTP code.

use super::history;
use super::store::passkeys as store;
use super::store::totp as totp_store;
use super::totp;
use crate::accounts::sessions::Current;
use crate::accounts::AccountError;
use crate::config::Config;
use crate::state::App;
use crate::store::now_ms;
use base64::Engine;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

mod authentication;
mod registration;
mod relying_party;

pub use authentication::*;
pub use registration::*;
pub use relying_party::*;

/// How long a ceremony's options stay good: long enough to find and unlock
/// an authenticator, short enough that a leaked challenge soon dies.
const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;
const CEREMONY_PREFIX: &str = "kbw_";
/// Passkeys one account may have; a bound on what each sign-in loads.
pub const MAX_PASSKEYS: usize = 20;

/// What a ceremony is for; stored with it and checked when it is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    SignIn,
    StepUp,
    Unlock,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign_in",
            Purpose::StepUp => "step_up",
            Purpose::Unlock => "unlock",
        }
    }
}

/// The options for `navigator.credentials.create()` or `.get()`, and the
/// ceremony token to send back with the browser's answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PasskeyOptions {
    /// Send back with the answer.
    pub ceremony: String,
    /// `{"publicKey": …}`: binary members are base64url strings.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// A registered passkey as its owner sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PasskeyView {
    pub id: i64,
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A passkey just registered; `recovery_codes` when it turned 2FA on.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Added {
    pub passkey: PasskeyView,
    /// Shown once: the account's first second factor comes with recovery codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

/// The field-error code for a refusal by webauthn-rs: what the person (or
/// the developer of a client) can act on, never more.
pub fn refusal_code(error: &WebauthnError) -> &'static str {
    use WebauthnError as E;
    match error {
        E::MismatchedChallenge | E::ChallengeNotFound => "passkey_challenge",
        E::InvalidRPOrigin | E::CredentialCrossOrigin => "passkey_origin",
        E::InvalidRPIDHash => "passkey_rp_id",
        E::CredentialNotFound => "passkey_unknown",
        E::CredentialPossibleCompromise => "passkey_counter",
        E::UserNotPresent | E::UserNotVerified => "passkey_user_verification",
        E::CredentialExcludedFromRequest | E::CredentialAlreadyExists => "taken",
        E::InvalidClientDataType
        | E::ParseBase64Failure(_)
        | E::ParseCBORFailure(_)
        | E::ParseJSONFailure(_)
        | E::ParseNOMFailure
        | E::ParseInsufficientBytesAvailable
        | E::MissingAttestationCredentialData
        | E::COSEKeyInvalidCBORValue
        | E::COSEKeyInvalidType => "passkey_malformed",
        _ => "passkey_invalid",
    }
}

/// Whether a signature counter may follow the stored one. Authenticators
/// without a counter (most synced passkeys) always send 0; any other must
/// move forward, or the credential may have been cloned (WebAuthn §6.1.1).
pub fn counter_advances(stored: i64, presented: i64) -> bool {
    (stored == 0 && presented == 0) || presented > stored
}

/// The browser's answer, parsed; a body that is not one is refused before
/// anything is looked up or used.
fn parse_credential<T: serde::de::DeserializeOwned>(
    credential: serde_json::Value,
) -> Result<T, AccountError> {
    serde_json::from_value(credential)
        .map_err(|_| AccountError::field("credential", "passkey_malformed"))
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The WebAuthn user handle: stable per account and server, and unlinkable
/// to the account id by anyone without the server key (it is stored on the
/// authenticator, which may sync it elsewhere).
fn user_handle(app: &App, account_id: i64) -> Uuid {
    let hash = app
        .key
        .keyed_hash("webauthn-user", account_id.to_string().as_bytes());
    let mut bytes = [0u8; 16];
    if let Ok(decoded) = hex::decode(&hash[..32]) {
        bytes.copy_from_slice(&decoded);
    }
    Uuid::from_bytes(bytes)
}

/// A stored passkey.
struct Stored {
    passkey: Passkey,
}

async fn stored(app: &App, account_id: i64) -> Result<Vec<Stored>, AccountError> {
    store::credentials(&app.store, account_id)
        .await?
        .iter()
        .map(|text| {
            let passkey = serde_json::from_str(text)
                .map_err(|e| AccountError::Internal(format!("stored passkey: {e}")))?;
            Ok(Stored { passkey })
        })
        .collect()
}

/// The account's passkeys, oldest first.
pub async fn list(app: &App, account_id: i64) -> Result<Vec<PasskeyView>, AccountError> {
    Ok(store::list(&app.store, account_id).await?)
}

/// Starts a ceremony: stores `state` and returns its token.
async fn open_ceremony(
    app: &App,
    purpose: Purpose,
    account_id: i64,
    binding: i64,
    state: &impl serde::Serialize,
) -> Result<String, AccountError> {
    let state = serde_json::to_string(state).map_err(|e| AccountError::Internal(e.to_string()))?;
    let token = format!("{CEREMONY_PREFIX}{}", crate::crypto::random_token(32));
    let now = now_ms();
    // Finished or abandoned ceremonies are of no use after they expire;
    // clearing them here keeps the table small without a job of its own.
    store::open_ceremony(
        &app.store,
        now - CEREMONY_TTL_MS,
        store::NewCeremony {
            token_hash: crate::crypto::sha256_hex(token.as_bytes()),
            account_id,
            purpose: purpose.as_str(),
            binding,
            state,
            created_at: now,
            expires_at: now + CEREMONY_TTL_MS,
        },
    )
    .await?;
    Ok(token)
}

/// Uses a ceremony up and returns its state. Refused (naming `ceremony`)
/// when the token is unknown, belongs to another account, purpose, session
/// or sign-in, has expired, or was used: one answer per challenge.
async fn claim_ceremony(
    app: &App,
    token: &str,
    purpose: Purpose,
    account_id: i64,
    binding: i64,
) -> Result<String, AccountError> {
    let invalid = || AccountError::field("ceremony", "invalid_value");
    if !token.starts_with(CEREMONY_PREFIX) || token.len() > 128 {
        return Err(invalid());
    }
    let row = store::ceremony(&app.store, &crate::crypto::sha256_hex(token.as_bytes()))
        .await?
        .ok_or_else(invalid)?;
    if row.account_id != account_id || row.purpose != purpose.as_str() || row.binding != binding {
        return Err(invalid());
    }
    if row.used_at.is_some() {
        return Err(AccountError::field("ceremony", "ceremony_used"));
    }
    let now = now_ms();
    if row.expires_at <= now {
        return Err(AccountError::field("ceremony", "ceremony_expired"));
    }
    if !store::use_ceremony(&app.store, row.id, now).await? {
        return Err(AccountError::field("ceremony", "ceremony_used"));
    }
    Ok(row.state)
}

fn state_of<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AccountError> {
    serde_json::from_str(text).map_err(|e| AccountError::Internal(format!("ceremony state: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(public_url: &str, origin: &str, rp_id: &str) -> Config {
        Config {
            public_url: public_url.into(),
            webauthn_origin: origin.into(),
            webauthn_rp_id: rp_id.into(),
            ..Config::default()
        }
    }

    #[test]
    fn relying_party_defaults_and_refusals() {
        // (public_url, webauthn_origin, webauthn_rp_id, expected)
        // Ok: (rp id, origin); Err: the key the message must name.
        type Expected = Result<(&'static str, &'static str), &'static str>;
        let cases: &[(&str, &str, &str, Expected)] = &[
            ("", "", "", Ok(("localhost", "http://localhost:8080/"))),
            (
                "https://desk.example.com/koban/",
                "",
                "",
                Ok(("desk.example.com", "https://desk.example.com/")),
            ),
            (
                "",
                "https://desk.example.com",
                "example.com",
                Ok(("example.com", "https://desk.example.com/")),
            ),
            (
                "",
                "http://localhost:3000",
                "",
                Ok(("localhost", "http://localhost:3000/")),
            ),
            ("", "https://10.0.0.5", "", Err("webauthn_origin")),
            ("", "http://desk.example.com", "", Err("webauthn_origin")),
            ("", "ftp://desk.example.com", "", Err("webauthn_origin")),
            ("", "desk.example.com", "", Err("webauthn_origin")),
            (
                "",
                "https://desk.example.com/path",
                "",
                Err("webauthn_origin"),
            ),
            (
                "",
                "https://desk.example.com",
                "other.com",
                Err("webauthn_rp_id"),
            ),
            (
                "",
                "https://desk.example.com",
                "ample.com",
                Err("webauthn_rp_id"),
            ),
            (
                "",
                "https://desk.example.com",
                "https://example.com",
                Err("webauthn_rp_id"),
            ),
            ("not a url", "", "", Err("public_url")),
        ];
        for (public_url, origin, rp_id, want) in cases {
            let got = relying_party_ids(&config(public_url, origin, rp_id));
            match (want, got) {
                (Ok((id, o)), Ok(ids)) => {
                    assert_eq!((ids.rp_id.as_str(), ids.origin.as_str()), (*id, *o))
                }
                (Err(key), Err(message)) => {
                    assert!(message.starts_with(key), "{message} should name {key}")
                }
                (want, got) => panic!("{public_url} {origin} {rp_id}: {want:?} vs {got:?}"),
            }
        }
    }

    #[test]
    fn the_default_configuration_builds_a_relying_party() {
        assert!(RelyingParty::from_config(&Config::default()).is_ok());
    }

    #[test]
    fn counters_must_move_forward_unless_absent() {
        for (stored, presented, ok) in [
            (0, 0, true),
            (0, 1, true),
            (5, 6, true),
            (5, 5, false),
            (5, 4, false),
            (5, 0, false),
            (0, 0, true),
        ] {
            assert_eq!(
                counter_advances(stored, presented),
                ok,
                "{stored} -> {presented}"
            );
        }
    }

    #[test]
    fn refusals_name_what_went_wrong() {
        assert_eq!(
            refusal_code(&WebauthnError::MismatchedChallenge),
            "passkey_challenge"
        );
        assert_eq!(
            refusal_code(&WebauthnError::InvalidRPOrigin),
            "passkey_origin"
        );
        assert_eq!(
            refusal_code(&WebauthnError::InvalidRPIDHash),
            "passkey_rp_id"
        );
        assert_eq!(
            refusal_code(&WebauthnError::CredentialPossibleCompromise),
            "passkey_counter"
        );
        assert_eq!(
            refusal_code(&WebauthnError::AuthenticationFailure),
            "passkey_invalid"
        );
    }
}
