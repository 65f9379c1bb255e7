//! Periodic security reminders: no two-factor authentication, a device
//! unused for a long time, a password older than the configured age. Shown
//! on the account page whenever they apply; sent at most once per period.

use super::signin::notify;
use crate::accounts::{store as accounts_store, Account, AccountError};
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};

/// A reminder is sent again at most once in this period.
pub const PERIOD_MS: i64 = 30 * 24 * 3_600_000;
const DAY_MS: i64 = 24 * 3_600_000;

/// One reminder that applies to an account now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Reminder {
    /// `enable_two_factor`, `review_stale_device`, `change_old_password`,
    /// or `security_notice` (a notice pushed to the account, see [`NoticeSource`]).
    pub kind: String,
    /// For a stale device: its name; for a notice: its title.
    pub detail: String,
    /// For a notice: where to read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// For a notice: the words of its link, in the account's language.
    #[serde(skip)]
    pub action: Option<String>,
}

/// A notice a domain above this one pushed to an account's reminders (a
/// security announcement), already in the account's language.
pub struct Notice {
    pub title: String,
    pub href: String,
    pub action: String,
}

/// What a [`NoticeSource`] returns.
pub type Notices<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Vec<Notice>, sqlx::Error>> + Send + 'a>,
>;

/// Reads the notices pushed to an account that still hold. The
/// announcements domain adds one to the application's parts when it is
/// composed; without one, accounts get no notices.
pub struct NoticeSource(pub for<'a> fn(&'a App, &'a Account) -> Notices<'a>);

/// The reminders that apply to `account` now.
pub async fn current(app: &App, account: &Account) -> Result<Vec<Reminder>, AccountError> {
    let now = now_ms();
    let mut out = vec![];
    if !super::totp::factors(app, account.id).await?.on() {
        out.push(Reminder {
            kind: "enable_two_factor".into(),
            detail: String::new(),
            link: None,
            action: None,
        });
    }
    if app.config.device_stale_days > 0 {
        let stale_before = now - app.config.device_stale_days * DAY_MS;
        for name in
            super::store::reminders::stale_devices(&app.store, account.id, stale_before).await?
        {
            out.push(Reminder {
                kind: "review_stale_device".into(),
                detail: name,
                link: None,
                action: None,
            });
        }
    }
    if app.config.password_max_age_days > 0
        && account.password_changed_at < now - app.config.password_max_age_days * DAY_MS
    {
        out.push(Reminder {
            kind: "change_old_password".into(),
            detail: String::new(),
            link: None,
            action: None,
        });
    }
    if let Some(source) = app.try_part::<NoticeSource>() {
        for notice in (source.0)(app, account).await? {
            out.push(Reminder {
                kind: "security_notice".into(),
                detail: notice.title,
                link: Some(notice.href),
                action: Some(notice.action),
            });
        }
    }
    Ok(out)
}

/// Sends each active account the reminders that apply and were not yet sent
/// this period; returns how many were sent. Safe to run on several nodes at
/// once: the (account, kind, period) row is claimed before sending.
pub async fn send_due(app: &App) -> Result<usize, AccountError> {
    let period_start = now_ms().div_euclid(PERIOD_MS) * PERIOD_MS;
    let mut sent = 0;
    let mut after = 0i64;
    loop {
        let accounts = accounts_store::active_after(app.store.read(), after, 200).await?;
        if accounts.is_empty() {
            return Ok(sent);
        }
        for account in &accounts {
            after = account.id;
            let reminders = current(app, account).await?;
            // Notices are shown, not mailed: their domain pushed them already.
            let mut kinds: Vec<&str> = reminders
                .iter()
                .filter(|r| r.link.is_none())
                .map(|r| r.kind.as_str())
                .collect();
            kinds.dedup();
            for kind in kinds {
                let claimed =
                    super::store::reminders::claim(&app.store, account.id, kind, period_start)
                        .await?;
                if !claimed {
                    continue;
                }
                let lang = account
                    .locale
                    .as_deref()
                    .and_then(Lang::parse)
                    .unwrap_or(Lang::En);
                let subject = t(lang, &format!("reminder-{kind}-subject"), &[]);
                let body = t(lang, &format!("reminder-{kind}-body"), &[]);
                notify(app, account, "security_reminder", subject, body).await?;
                sent += 1;
            }
        }
    }
}
