//! Sessions: random opaque tokens, stored only as SHA-256, with an idle and
//! an absolute expiry.

use super::store::sessions as store;
use super::{Account, AccountError};
use crate::state::App;
use crate::store::now_ms;

/// Cookie that carries the session token in browsers.
pub const COOKIE: &str = crate::http::auth::SESSION_COOKIE;
const TOKEN_PREFIX: &str = "kbs_";
/// Sessions in use are touched at most this often, to spare the writer.
const TOUCH_EVERY_MS: i64 = 60_000;

/// A new session's token: shown once, to the client that signed in.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NewSession {
    pub token: String,
    /// Milliseconds since the Unix epoch; the idle expiry moves as the session is used.
    pub expires_at: i64,
    #[serde(skip)]
    pub id: i64,
}

/// A signed-in request's session.
#[derive(Debug, Clone)]
pub struct Current {
    pub session_id: i64,
    pub account: Account,
    /// The device the session was signed in from (None for sessions made
    /// before devices existed, or by the operator CLI).
    pub device_id: Option<i64>,
    /// When this session last passed a fresh second factor.
    pub stepped_up_at: Option<i64>,
}

/// A session not yet stored: its token, shown once, and its row's values.
pub struct Draft {
    pub token: String,
    pub token_hash: String,
    pub created_at: i64,
    pub idle_expires_at: i64,
    pub absolute_expires_at: i64,
    /// Cut to 512 characters.
    pub user_agent: Option<String>,
}

impl Draft {
    /// A fresh token with the configured expiries, starting now.
    pub fn new(app: &App, user_agent: Option<&str>) -> Draft {
        let now = now_ms();
        let token = format!("{TOKEN_PREFIX}{}", crate::crypto::random_token(32));
        let absolute = now + app.config.session_absolute_hours * 3_600_000;
        let idle = (now + app.config.session_idle_minutes * 60_000).min(absolute);
        Draft {
            token_hash: crate::crypto::sha256_hex(token.as_bytes()),
            token,
            created_at: now,
            idle_expires_at: idle,
            absolute_expires_at: absolute,
            user_agent: user_agent.map(|ua| ua.chars().take(512).collect()),
        }
    }

    /// The draft with its absolute expiry no later than `cap` ms after its
    /// start (an organization's session lifetime).
    pub fn capped(mut self, cap: Option<i64>) -> Draft {
        if let Some(cap) = cap {
            self.absolute_expires_at = self.absolute_expires_at.min(self.created_at + cap);
            self.idle_expires_at = self.idle_expires_at.min(self.absolute_expires_at);
        }
        self
    }

    /// The session once stored under `id`.
    pub fn stored(self, id: i64) -> NewSession {
        NewSession {
            token: self.token,
            expires_at: self.idle_expires_at,
            id,
        }
    }
}

pub use super::store::sessions::insert_sql;

/// Starts a session for `account_id`, bound to the device it signed in from.
pub async fn create(
    app: &App,
    account_id: i64,
    device_id: Option<i64>,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<NewSession, AccountError> {
    create_capped(app, account_id, device_id, ip, user_agent, None).await
}

/// [`create`] with the absolute expiry no later than `cap` ms from now.
pub async fn create_capped(
    app: &App,
    account_id: i64,
    device_id: Option<i64>,
    ip: Option<&str>,
    user_agent: Option<&str>,
    cap: Option<i64>,
) -> Result<NewSession, AccountError> {
    let draft = Draft::new(app, user_agent).capped(cap);
    let id = store::insert(&app.store, account_id, &draft, ip, device_id).await?;
    Ok(draft.stored(id))
}

/// The live session for `token`, touching its idle expiry.
pub async fn authenticate(app: &App, token: &str) -> Result<Current, AccountError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Err(AccountError::Unauthorized);
    }
    let now = now_ms();
    let token_hash = crate::crypto::sha256_hex(token.as_bytes());
    let live = store::find_live(&app.store, &token_hash, now)
        .await?
        .ok_or(AccountError::Unauthorized)?;
    if live.account.status == "disabled" {
        return Err(AccountError::Unauthorized);
    }
    if now - live.last_seen_at > TOUCH_EVERY_MS {
        let idle = (now + app.config.session_idle_minutes * 60_000).min(live.absolute_expires_at);
        store::touch(&app.store, live.session_id, now, idle).await?;
    }
    Ok(Current {
        session_id: live.session_id,
        account: live.account,
        device_id: live.device_id,
        stepped_up_at: live.stepped_up_at,
    })
}

/// Ends one session.
pub async fn revoke(app: &App, session_id: i64) -> Result<(), AccountError> {
    store::revoke(&app.store, session_id, now_ms()).await?;
    Ok(())
}

/// Ends every session of the account except `keep`; returns how many ended.
pub async fn revoke_all(
    app: &App,
    account_id: i64,
    keep: Option<i64>,
) -> Result<u64, AccountError> {
    Ok(revoke_all_in(app.store.write(), account_id, keep).await?)
}

/// [`revoke_all`] through `executor`, for a change of several rows.
pub async fn revoke_all_in<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    account_id: i64,
    keep: Option<i64>,
) -> Result<u64, sqlx::Error> {
    store::revoke_all(executor, account_id, keep, now_ms()).await
}

/// Shortens the account's live sessions to `cap` ms from their start (an
/// organization's new session lifetime), through `executor`.
pub async fn cap_lifetime_in<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    executor: E,
    account_id: i64,
    cap: i64,
) -> Result<u64, sqlx::Error> {
    store::cap_lifetime(executor, account_id, cap).await
}

/// How many live sessions the account has besides `keep`: the security
/// center offers "sign out all other devices" only when there are some.
pub async fn count_others(app: &App, account_id: i64, keep: i64) -> Result<i64, AccountError> {
    Ok(store::count_others(&app.store, account_id, keep, now_ms()).await?)
}

impl crate::http::auth::Signed for Current {
    fn account_id(&self) -> i64 {
        self.account.id
    }

    fn has_role(&self, role: &str) -> bool {
        self.account.has_role(role)
    }

    fn locale(&self) -> Option<&str> {
        self.account.locale.as_deref()
    }

    fn display_identifier(&self) -> &str {
        self.account.display_identifier()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Accounts' answer to "whose token is this?", registered with the shared layers.
pub struct Sessions;

impl crate::http::auth::SessionSource for Sessions {
    fn authenticate<'a>(
        &'a self,
        app: &'a App,
        token: &'a str,
    ) -> crate::http::auth::SessionFuture<'a> {
        Box::pin(async move {
            let current = authenticate(app, token).await?;
            Ok(std::sync::Arc::new(current) as crate::http::auth::Principal)
        })
    }
}

/// The account behind a principal the shared layers hand over. Accounts
/// registers the only session source, so every principal is a [`Current`].
pub fn current_of(who: &crate::http::auth::Principal) -> Option<&Current> {
    who.as_any().downcast_ref()
}

/// A signed-in caller, with their account.
pub struct Authenticated(pub Current);

impl axum::extract::FromRequestParts<std::sync::Arc<App>> for Authenticated {
    type Rejection = crate::http::problem::Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &std::sync::Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let (token, _) = crate::http::auth::presented_token(&parts.headers)
            .ok_or_else(crate::http::problem::Problem::unauthorized)?;
        Ok(Authenticated(authenticate(app, &token).await?))
    }
}

/// The signed-in account of someone viewing a page.
pub trait Viewing {
    fn current(&self) -> Option<&Current>;
}

impl Viewing for crate::web::Viewer {
    fn current(&self) -> Option<&Current> {
        self.who.as_ref().and_then(current_of)
    }
}
