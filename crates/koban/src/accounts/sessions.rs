//! Sessions: random opaque tokens, stored only as SHA-256, with an idle and
//! an absolute expiry.

use super::{Account, AccountError};
use crate::state::App;
use crate::store::now_ms;
use sqlx::Row;

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

    /// The session once stored under `id`.
    pub fn stored(self, id: i64) -> NewSession {
        NewSession {
            token: self.token,
            expires_at: self.idle_expires_at,
            id,
        }
    }
}

/// The INSERT of a session, its values `$first` to `$first + 7` in the
/// order [`Draft`] binds them: account, token hash, created, idle expiry,
/// absolute expiry, ip, user agent, device.
pub fn insert_sql(first: usize) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "INSERT INTO sessions (account_id, token_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, device_id)
         VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
        p(0), p(1), p(2), p(2), p(3), p(4), p(5), p(6), p(7)
    )
}

/// Starts a session for `account_id`, bound to the device it signed in from.
pub async fn create(
    app: &App,
    account_id: i64,
    device_id: Option<i64>,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<NewSession, AccountError> {
    let draft = Draft::new(app, user_agent);
    let row = sqlx::query(&insert_sql(1))
        .bind(account_id)
        .bind(&draft.token_hash)
        .bind(draft.created_at)
        .bind(draft.idle_expires_at)
        .bind(draft.absolute_expires_at)
        .bind(ip)
        .bind(&draft.user_agent)
        .bind(device_id)
        .fetch_one(app.store.write())
        .await?;
    Ok(draft.stored(row.try_get("id")?))
}

/// The live session for `token`, touching its idle expiry.
pub async fn authenticate(app: &App, token: &str) -> Result<Current, AccountError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Err(AccountError::Unauthorized);
    }
    let now = now_ms();
    let sql = format!(
        "SELECT s.id AS session_id, s.last_seen_at, s.absolute_expires_at, s.device_id, s.stepped_up_at, {}
         FROM sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.idle_expires_at > $2 AND s.absolute_expires_at > $2",
        super::store::columns_of("a")
    );
    let token_hash = crate::crypto::sha256_hex(token.as_bytes());
    let row = app
        .store
        .read_on_lane(async |conn| {
            sqlx::query(&sql)
                .bind(&token_hash)
                .bind(now)
                .fetch_optional(conn)
                .await
        })
        .await?
        .ok_or(AccountError::Unauthorized)?;
    let account = Account::from_row(&row)?;
    if account.status == "disabled" {
        return Err(AccountError::Unauthorized);
    }
    let session_id: i64 = row.try_get("session_id")?;
    let last_seen: i64 = row.try_get("last_seen_at")?;
    if now - last_seen > TOUCH_EVERY_MS {
        let absolute: i64 = row.try_get("absolute_expires_at")?;
        let idle = (now + app.config.session_idle_minutes * 60_000).min(absolute);
        sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3")
            .bind(now)
            .bind(idle)
            .bind(session_id)
            .execute(app.store.write())
            .await?;
    }
    Ok(Current {
        session_id,
        account,
        device_id: row.try_get("device_id")?,
        stepped_up_at: row.try_get("stepped_up_at")?,
    })
}

/// Ends one session.
pub async fn revoke(app: &App, session_id: i64) -> Result<(), AccountError> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(session_id)
        .execute(app.store.write())
        .await?;
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
    let done = sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL AND id <> $3")
        .bind(now_ms())
        .bind(account_id)
        .bind(keep.unwrap_or(-1))
        .execute(executor)
        .await?;
    Ok(done.rows_affected())
}

/// How many live sessions the account has besides `keep`: the security
/// center offers "sign out all other devices" only when there are some.
pub async fn count_others(app: &App, account_id: i64, keep: i64) -> Result<i64, AccountError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM sessions WHERE account_id = $1 AND id <> $2 AND revoked_at IS NULL AND idle_expires_at > $3 AND absolute_expires_at > $3",
    )
    .bind(account_id)
    .bind(keep)
    .bind(now_ms())
    .fetch_one(app.store.read())
    .await?;
    Ok(row.try_get("n")?)
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
