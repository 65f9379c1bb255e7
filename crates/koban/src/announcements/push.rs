//! Security notices among the accounts' security reminders: the push job
//! that records which accounts a notice concerns, and the hook through
//! which the security center reads them (`security::reminders::NoticeSource`).

use super::service;
use super::store;
use crate::accounts::{store as accounts_store, Account};
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::announce;
use koban_policy::privacy::regions::account_region;
use std::sync::Arc;

/// Job kind: push a security notice (`{"id": …}`) to its accounts.
pub const PUSH: &str = "announcement_push";

pub const PUSH_JOB: JobKind = JobKind {
    kind: PUSH,
    round: None,
    every_ms: None,
    run: run_push,
};

fn run_push<'a>(app: &'a Arc<App>, job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move {
        let Some(id) = job.payload["id"].as_i64() else {
            return Ok(());
        };
        push(app, id).await.map(drop).map_err(|e| e.to_string())
    })
}

/// Records the notice for every active account in its regions (all of them
/// for a notice without regions). Running it twice adds nobody twice; a
/// notice withdrawn meanwhile is pushed to nobody more.
pub async fn push(app: &App, id: i64) -> Result<u64, super::AnnouncementError> {
    let Some(notice) = store::find(app.store.read(), id).await? else {
        return Ok(0);
    };
    if notice.status != "published" || notice.kind != "security" {
        return Ok(0);
    }
    let mut added = 0;
    let mut after = 0i64;
    loop {
        let accounts = accounts_store::active_after(app.store.read(), after, 500).await?;
        let Some(last) = accounts.last() else {
            return Ok(added);
        };
        after = last.id;
        let mut concerned = vec![];
        for account in &accounts {
            let region = if notice.regions.is_empty() {
                None
            } else {
                region_of(app, account).await?
            };
            if announce::concerns(&notice.regions, region.as_deref()) {
                concerned.push(account.id);
            }
        }
        added += store::add_recipients(app.store.write(), id, &concerned, now_ms()).await?;
    }
}

/// The region Koban knows an account by: its phone number's country, else
/// the country of its latest successful sign-in; `None` when neither is known.
pub async fn region_of(app: &App, account: &Account) -> Result<Option<String>, sqlx::Error> {
    if let Some(region) = account_region(account.phone.as_deref(), None) {
        return Ok(Some(region));
    }
    let attempts =
        crate::security::store::history::attempts(&app.store, account.id, i64::MAX, 20).await?;
    let country = attempts
        .iter()
        .find(|a| a.outcome == "success" && a.country.is_some())
        .and_then(|a| a.country.as_deref());
    Ok(account_region(None, country))
}

/// The hook the security center asks for an account's notices.
pub fn notice_source() -> crate::security::reminders::NoticeSource {
    crate::security::reminders::NoticeSource(|app, account| {
        Box::pin(async move {
            let lang = account
                .locale
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or(Lang::En);
            let pushed = store::pushed_to(app.store.read(), account.id, now_ms()).await?;
            Ok(pushed
                .iter()
                .filter_map(|a| service::localize(a, lang.tag()))
                .map(|a| crate::security::reminders::Notice {
                    title: a.title,
                    href: format!("/announcements/{}", a.id),
                    action: t(lang, "announcement-reminder-action", &[]),
                })
                .collect())
        })
    })
}
