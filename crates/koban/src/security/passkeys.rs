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

/// How long a ceremony's options stay good: long enough to find and unlock
/// an authenticator, short enough that a leaked challenge soon dies.
const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;
const CEREMONY_PREFIX: &str = "kbw_";
/// Passkeys one account may have; a bound on what each sign-in loads.
pub const MAX_PASSKEYS: usize = 20;

/// The relying party: who passkeys are registered with, and the verifier.
pub struct RelyingParty {
    webauthn: Webauthn,
    /// The relying-party id (a domain).
    pub rp_id: String,
    /// The origin browsers must report.
    pub origin: Url,
}

/// Where the relying-party id and origin come from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingPartyIds {
    pub rp_id: String,
    pub origin: Url,
}

/// Reads `webauthn_rp_id` and `webauthn_origin`, deriving what is empty
/// from `public_url` (or `listen`). A bad explicit value is refused with its
/// key named; a derived origin on an IP address becomes `localhost`, since
/// browsers refuse passkeys on IP addresses and a default must still start.
pub fn relying_party_ids(config: &Config) -> Result<RelyingPartyIds, String> {
    let explicit = !config.webauthn_origin.trim().is_empty();
    let (key, text) = if explicit {
        ("webauthn_origin", config.webauthn_origin.trim().to_string())
    } else if config.public_url.trim().is_empty() {
        ("listen", config.public_base())
    } else {
        ("public_url", config.public_base())
    };
    let bad = |message: &str| format!("{key}: `{text}` {message}");
    let mut origin = Url::parse(&text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(origin.scheme(), "http" | "https") {
        return Err(bad("must start with https:// (or http://localhost)"));
    }
    if explicit && (origin.path() != "/" || origin.query().is_some() || origin.fragment().is_some())
    {
        return Err(bad("must be an origin only: scheme, host and port"));
    }
    origin.set_path("");
    origin.set_query(None);
    origin.set_fragment(None);
    let is_ip = matches!(
        origin.host(),
        Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_))
    );
    if is_ip {
        if explicit {
            return Err(bad(
                "names an IP address; browsers use passkeys only on domain names",
            ));
        }
        origin
            .set_host(Some("localhost"))
            .map_err(|e| bad(&e.to_string()))?;
    }
    let host = origin
        .host_str()
        .ok_or_else(|| bad("has no host"))?
        .to_ascii_lowercase();
    if explicit && origin.scheme() == "http" && host != "localhost" {
        return Err(bad(
            "must use https: browsers allow passkeys over plain http only on localhost",
        ));
    }
    let rp_id = match config.webauthn_rp_id.trim() {
        "" => host.clone(),
        id => {
            let id = id.to_ascii_lowercase();
            if id.contains(['/', ':', ' ']) || id.starts_with('.') || id.ends_with('.') {
                return Err(format!(
                    "webauthn_rp_id: `{id}` must be a domain name such as example.com"
                ));
            }
            if host != id && !host.ends_with(&format!(".{id}")) {
                return Err(format!(
                    "webauthn_rp_id: `{id}` must be the origin's host `{host}` or a parent domain of it"
                ));
            }
            id
        }
    };
    Ok(RelyingPartyIds { rp_id, origin })
}

impl RelyingParty {
    /// Builds the verifier from the configuration; a bad value is named.
    pub fn from_config(config: &Config) -> Result<RelyingParty, String> {
        let ids = relying_party_ids(config)?;
        let localhost = ids.origin.host_str() == Some("localhost");
        let webauthn = WebauthnBuilder::new(&ids.rp_id, &ids.origin)
            .map_err(|e| format!("webauthn_rp_id: `{}`: {e}", ids.rp_id))?
            .rp_name("Koban")
            // Development servers on localhost move between ports; in
            // production the origin is a real domain and its port is checked.
            .allow_any_port(localhost)
            .build()
            .map_err(|e| format!("webauthn_origin: {e}"))?;
        Ok(RelyingParty {
            webauthn,
            rp_id: ids.rp_id,
            origin: ids.origin,
        })
    }
}

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

/// Starts registering a passkey for the signed-in account. Needs a fresh
/// step-up: a passkey is a way into the account, and a stolen session must
/// not be able to add one.
pub async fn begin_registration(
    app: &App,
    current: &Current,
) -> Result<PasskeyOptions, AccountError> {
    totp::require_step_up(current)?;
    let existing = stored(app, current.account.id).await?;
    if existing.len() >= MAX_PASSKEYS {
        return Err(AccountError::field("passkey", "too_many"));
    }
    let exclude = existing
        .iter()
        .map(|s| s.passkey.cred_id().clone())
        .collect();
    let identifier = current.account.display_identifier();
    let (options, state) = crate::security::state(app)
        .passkeys
        .webauthn
        .start_passkey_registration(
            user_handle(app, current.account.id),
            identifier,
            identifier,
            Some(exclude),
        )
        .map_err(|e| AccountError::Internal(format!("passkey registration: {e}")))?;
    let ceremony = open_ceremony(
        app,
        Purpose::Register,
        current.account.id,
        current.session_id,
        &state,
    )
    .await?;
    Ok(PasskeyOptions {
        ceremony,
        options: serde_json::to_value(options)
            .map_err(|e| AccountError::Internal(e.to_string()))?,
    })
}

/// Finishes a registration with the browser's answer and a name. The first
/// second factor of an account turns 2FA on and comes with recovery codes.
pub async fn finish_registration(
    app: &App,
    current: &Current,
    ceremony: &str,
    name: &str,
    credential: serde_json::Value,
    ip: Option<&str>,
) -> Result<Added, AccountError> {
    totp::require_step_up(current)?;
    let name =
        super::devices::check_name(name).map_err(|code| AccountError::field("name", code))?;
    let credential: RegisterPublicKeyCredential = parse_credential(credential)?;
    let account_id = current.account.id;
    let state: PasskeyRegistration = state_of(
        &claim_ceremony(
            app,
            ceremony,
            Purpose::Register,
            account_id,
            current.session_id,
        )
        .await?,
    )?;
    // Asked before webauthn-rs, which refuses an excluded credential with
    // the error it uses for a changed algorithm (0.6.2).
    if store::credential_known(&app.store, &b64url(&credential.raw_id)).await? {
        return Err(AccountError::field("credential", "taken"));
    }
    let passkey = crate::security::state(app)
        .passkeys
        .webauthn
        .finish_passkey_registration(&credential, &state)
        .map_err(|e| AccountError::field("credential", refusal_code(&e)))?;
    let serialized =
        serde_json::to_string(&passkey).map_err(|e| AccountError::Internal(e.to_string()))?;
    let first = !totp::factors(app, account_id).await?.on();
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    // The credential id is unique across accounts: webauthn-rs leaves it to
    // the caller to refuse one already registered anywhere.
    let inserted = store::insert(
        &mut tx,
        account_id,
        b64url(passkey.cred_id()),
        serialized,
        name,
        now,
    )
    .await?;
    let Some(id) = inserted else {
        return Err(AccountError::field("credential", "taken"));
    };
    history::event(&mut *tx, account_id, "passkey_added", name, ip).await?;
    let recovery_codes = if first {
        history::event(&mut *tx, account_id, "two_factor_enabled", "passkey", ip).await?;
        Some(totp::write_recovery_codes(app, &mut tx, account_id, ip).await?)
    } else {
        None
    };
    tx.commit().await?;
    Ok(Added {
        passkey: PasskeyView {
            id,
            name: name.to_string(),
            created_at: now,
            last_used_at: None,
        },
        recovery_codes,
    })
}

/// Renames a passkey; false when the account has no such passkey.
pub async fn rename(
    app: &App,
    account_id: i64,
    id: i64,
    name: &str,
    ip: Option<&str>,
) -> Result<bool, AccountError> {
    let name =
        super::devices::check_name(name).map_err(|code| AccountError::field("name", code))?;
    let mut tx = app.store.write().begin().await?;
    if !store::rename(&mut tx, account_id, id, name).await? {
        return Ok(false);
    }
    history::event(&mut *tx, account_id, "passkey_renamed", name, ip).await?;
    tx.commit().await?;
    Ok(true)
}

/// Removes a passkey (needs a fresh step-up). Removing the last second
/// factor turns 2FA off, as turning it off would: the recovery codes go too.
pub async fn remove(
    app: &App,
    current: &Current,
    id: i64,
    ip: Option<&str>,
) -> Result<(), AccountError> {
    totp::require_step_up(current)?;
    let account_id = current.account.id;
    let mut tx = app.store.write().begin().await?;
    let name = store::delete(&mut tx, account_id, id)
        .await?
        .ok_or(AccountError::NotFound)?;
    history::event(&mut *tx, account_id, "passkey_removed", &name, ip).await?;
    if !totp_store::factors(&mut *tx, account_id).await?.on() {
        totp_store::delete_recovery_codes(&mut tx, account_id).await?;
        history::event(
            &mut *tx,
            account_id,
            "two_factor_disabled",
            "last passkey removed",
            ip,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Starts proving with a passkey for `purpose` (sign-in, bound to the
/// sign-in challenge; step-up, bound to the session).
pub async fn begin_authentication(
    app: &App,
    account_id: i64,
    purpose: Purpose,
    binding: i64,
) -> Result<PasskeyOptions, AccountError> {
    let passkeys: Vec<Passkey> = stored(app, account_id)
        .await?
        .into_iter()
        .map(|s| s.passkey)
        .collect();
    if passkeys.is_empty() {
        return Err(AccountError::field("method", "no_passkey"));
    }
    let (options, state) = crate::security::state(app)
        .passkeys
        .webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| AccountError::Internal(format!("passkey authentication: {e}")))?;
    let ceremony = open_ceremony(app, purpose, account_id, binding, &state).await?;
    Ok(PasskeyOptions {
        ceremony,
        options: serde_json::to_value(options)
            .map_err(|e| AccountError::Internal(e.to_string()))?,
    })
}

/// The binding of an unlock ceremony: there is no session or sign-in to
/// tie it to, so the account and the purpose are all it is bound by.
pub const UNLOCK_BINDING: i64 = 0;

/// Options for unlocking with a passkey. `account_id` is the account whose
/// lock the owner may lift here, if the identifier named one; every other
/// case (unknown, not locked, locked for support, no passkey) gets a decoy
/// that is never stored and so can never be finished. Both leave
/// `allowCredentials` empty, so the answer names no credential and cannot
/// tell anyone whether the identifier exists or has passkeys: the browser
/// offers the passkeys it holds for this site, and the server checks the
/// one chosen against the account.
pub async fn begin_unlock(
    app: &App,
    account_id: Option<i64>,
) -> Result<PasskeyOptions, AccountError> {
    let passkeys: Vec<Passkey> = match account_id {
        Some(id) => stored(app, id)
            .await?
            .into_iter()
            .map(|s| s.passkey)
            .collect(),
        None => Vec::new(),
    };
    let (mut options, state) = crate::security::state(app)
        .passkeys
        .webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| AccountError::Internal(format!("passkey authentication: {e}")))?;
    options.public_key.allow_credentials.clear();
    let ceremony = match account_id.filter(|_| !passkeys.is_empty()) {
        Some(id) => open_ceremony(app, Purpose::Unlock, id, UNLOCK_BINDING, &state).await?,
        None => format!("{CEREMONY_PREFIX}{}", crate::crypto::random_token(32)),
    };
    Ok(PasskeyOptions {
        ceremony,
        options: serde_json::to_value(options)
            .map_err(|e| AccountError::Internal(e.to_string()))?,
    })
}

/// How a passkey answer went, once it was a real attempt.
#[derive(Debug)]
pub enum Assertion {
    /// The passkey proved it; its counter and last use are stored.
    Passed,
    /// A wrong or suspicious passkey, counted on the second-factor counter.
    Failed(AccountError),
}

/// Checks a passkey answer for `purpose`. Err means it was refused before
/// it was an attempt (not a credential, an unusable ceremony, second factor
/// locked) and nothing was counted; `Failed` was counted.
pub async fn verify(
    app: &App,
    account_id: i64,
    purpose: Purpose,
    binding: i64,
    ceremony: &str,
    credential: serde_json::Value,
) -> Result<Assertion, AccountError> {
    let credential: PublicKeyCredential = parse_credential(credential)?;
    totp::second_factor_open(app, account_id).await?;
    let state: PasskeyAuthentication =
        state_of(&claim_ceremony(app, ceremony, purpose, account_id, binding).await?)?;
    match check(app, account_id, &credential, &state).await? {
        Ok(()) => Ok(Assertion::Passed),
        Err(code) => {
            totp::count_second_factor_failure(app, account_id).await?;
            Ok(Assertion::Failed(AccountError::field("credential", code)))
        }
    }
}

/// The cryptographic check and the counter claim; Err(code) is a refusal.
async fn check(
    app: &App,
    account_id: i64,
    credential: &PublicKeyCredential,
    state: &PasskeyAuthentication,
) -> Result<Result<(), &'static str>, AccountError> {
    let result = match crate::security::state(app)
        .passkeys
        .webauthn
        .finish_passkey_authentication(credential, state)
    {
        Ok(result) => result,
        Err(e) => {
            let code = refusal_code(&e);
            if code == "passkey_counter" {
                suspect_clone(app, account_id, &b64url(&credential.raw_id)).await?;
            }
            return Ok(Err(code));
        }
    };
    // The state lists the passkeys as they were when the ceremony began; the
    // one used must still be on the account now (it may have been removed).
    let found = store::for_check(&app.store, account_id, &b64url(result.cred_id())).await?;
    let Some((id, text, stored_count)) = found else {
        return Ok(Err("passkey_unknown"));
    };
    let presented = i64::from(result.counter());
    let mut passkey: Passkey = state_of(&text)?;
    passkey.update_credential(&result);
    let serialized =
        serde_json::to_string(&passkey).map_err(|e| AccountError::Internal(e.to_string()))?;
    // Compare-and-set on the counter: of two answers racing with the same
    // count (a replay, or a clone), only one moves it.
    let claimed = counter_advances(stored_count, presented)
        && store::advance_counter(&app.store, id, serialized, presented, now_ms()).await?;
    if !claimed {
        suspect_clone(app, account_id, &b64url(result.cred_id())).await?;
        return Ok(Err("passkey_counter"));
    }
    Ok(Ok(()))
}

/// A counter that went backwards may be a cloned authenticator: the owner
/// sees it on their timeline, naming the passkey, so they can remove it.
async fn suspect_clone(
    app: &App,
    account_id: i64,
    credential_id: &str,
) -> Result<(), AccountError> {
    let name = store::name_of(&app.store, account_id, credential_id).await?;
    history::event(
        app.store.write(),
        account_id,
        "passkey_counter_regressed",
        name.as_deref().unwrap_or_default(),
        None,
    )
    .await?;
    Ok(())
}

/// Options for proving with a passkey at step-up.
pub async fn begin_step_up(app: &App, current: &Current) -> Result<PasskeyOptions, AccountError> {
    begin_authentication(app, current.account.id, Purpose::StepUp, current.session_id).await
}

/// Passes step-up with a passkey.
pub async fn step_up(
    app: &App,
    current: &Current,
    ceremony: &str,
    credential: serde_json::Value,
) -> Result<(), AccountError> {
    match verify(
        app,
        current.account.id,
        Purpose::StepUp,
        current.session_id,
        ceremony,
        credential,
    )
    .await?
    {
        Assertion::Passed => totp::mark_stepped_up(app, current.session_id).await,
        Assertion::Failed(error) => Err(error),
    }
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
