//! The operations the API and the pages share: writing, publishing,
//! withdrawing and pushing announcements (each change with its entry in the
//! change log, in one transaction), and what a reader sees now.

use super::error::AnnouncementError;
use super::store::{self, Announcement, Change, TextRow, Write};
use crate::http::problem::FieldError;
use crate::state::App;
use crate::store::now_ms;
use koban_policy::announce::{self, Draft, Kind, Shown, Status};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long readers see an ended announcement on /announcements.
pub const RECENT_MS: i64 = 30 * 24 * 3_600_000;

/// How old this node's copy of the published announcements may be: every
/// page asks for them, and a change through another node reaches this
/// node's pages within this time.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// The domain's state: this node's copy of what readers may see.
#[derive(Default)]
pub struct State {
    published: Mutex<Option<(Instant, Arc<Vec<Announcement>>)>>,
}

fn state(app: &App) -> &State {
    app.part::<State>()
}

/// Published announcements current or ended within [`RECENT_MS`].
pub async fn published(app: &App) -> Result<Arc<Vec<Announcement>>, AnnouncementError> {
    if let Ok(guard) = state(app).published.lock() {
        if let Some((at, list)) = guard.as_ref() {
            if at.elapsed() < FRESH_FOR {
                return Ok(list.clone());
            }
        }
    }
    let list = Arc::new(store::published_since(app.store.read(), now_ms() - RECENT_MS).await?);
    if let Ok(mut guard) = state(app).published.lock() {
        *guard = Some((Instant::now(), list.clone()));
    }
    Ok(list)
}

/// Drops this node's copy, so a change shows at once here.
fn forget(app: &App) {
    if let Ok(mut guard) = state(app).published.lock() {
        *guard = None;
    }
}

/// One announcement as a reader reads it, in one language.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Localized {
    pub id: i64,
    pub kind: String,
    /// The language of `title` and `body`: the reader's, else English, else another.
    pub lang: String,
    pub title: String,
    /// Markdown, as written.
    pub body: String,
    /// The body as sanitised HTML.
    pub body_html: String,
    pub regions: Vec<String>,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
}

/// `a` in `lang` (with the fallbacks of [`announce::pick_lang`]).
pub fn localize(a: &Announcement, lang: &str) -> Option<Localized> {
    let available: Vec<&str> = a.texts.keys().map(String::as_str).collect();
    let chosen = announce::pick_lang(&available, lang)?;
    let text = a.texts.get(chosen)?;
    Some(Localized {
        id: a.id,
        kind: a.kind.clone(),
        lang: chosen.to_string(),
        title: text.title.clone(),
        body: text.body.clone(),
        body_html: crate::web::markdown::render(&text.body),
        regions: a.regions.clone(),
        starts_at: a.starts_at,
        ends_at: a.ends_at,
    })
}

fn shown(a: &Announcement) -> Shown<'_> {
    Shown {
        status: Status::parse(&a.status).unwrap_or(Status::Draft),
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        regions: &a.regions,
    }
}

/// Whether `a` is published and inside its window at `now`, wherever.
pub fn is_live(a: &Announcement, now: i64) -> bool {
    announce::is_current(shown(a), now)
}

/// Whether `a` is shown now to a reader in `region`.
pub fn is_current_for(a: &Announcement, region: Option<&str>, now: i64) -> bool {
    announce::is_current(shown(a), now) && announce::concerns(&a.regions, region)
}

/// The announcements current now for a reader of `lang` in `region`.
pub async fn current(
    app: &App,
    lang: &str,
    region: Option<&str>,
) -> Result<Vec<Localized>, AnnouncementError> {
    let now = now_ms();
    Ok(published(app)
        .await?
        .iter()
        .filter(|a| is_current_for(a, region, now))
        .filter_map(|a| localize(a, lang))
        .collect())
}

/// Those that ended within [`RECENT_MS`] (not withdrawn), for the listing.
pub async fn recent(
    app: &App,
    lang: &str,
    region: Option<&str>,
) -> Result<Vec<Localized>, AnnouncementError> {
    let now = now_ms();
    Ok(published(app)
        .await?
        .iter()
        .filter(|a| a.ends_at.is_some_and(|end| end <= now))
        .filter(|a| announce::concerns(&a.regions, region))
        .filter_map(|a| localize(a, lang))
        .collect())
}

/// What an editor sends.
pub struct Input {
    pub kind: String,
    pub texts: BTreeMap<String, TextRow>,
    pub regions: Vec<String>,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
}

fn validated(input: &Input) -> Result<Write<'static>, AnnouncementError> {
    let draft = Draft {
        kind: input.kind.clone(),
        texts: input
            .texts
            .iter()
            .map(|(tag, t)| {
                (
                    tag.clone(),
                    announce::Text {
                        title: t.title.clone(),
                        body: t.body.clone(),
                    },
                )
            })
            .collect(),
        regions: input.regions.clone(),
        starts_at: input.starts_at,
        ends_at: input.ends_at,
    };
    let valid = announce::validate(&draft).map_err(|refused| {
        AnnouncementError::Invalid(
            refused
                .into_iter()
                .map(|(field, code)| FieldError { field, code })
                .collect(),
        )
    })?;
    let texts: BTreeMap<String, TextRow> = valid
        .texts
        .into_iter()
        .map(|(lang, t)| {
            (
                lang.to_string(),
                TextRow {
                    title: t.title,
                    body: t.body,
                },
            )
        })
        .collect();
    Ok(Write {
        kind: valid.kind.as_str(),
        texts: Announcement::texts_json(&texts),
        regions: valid.regions.join(","),
        starts_at: valid.starts_at,
        ends_at: valid.ends_at,
    })
}

fn snapshot(a: &Announcement) -> String {
    serde_json::to_string(a).unwrap_or_default()
}

/// Creates a draft.
pub async fn create(
    app: &App,
    actor: i64,
    input: &Input,
) -> Result<Announcement, AnnouncementError> {
    let write = validated(input)?;
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let id = store::insert(&mut *tx, &write, actor, now).await?;
    let created = store::find(&mut *tx, id)
        .await?
        .ok_or(AnnouncementError::NotFound)?;
    store::log(&mut *tx, id, actor, now, "created", &snapshot(&created)).await?;
    tx.commit().await?;
    Ok(created)
}

/// The announcement `id` at `version` (its current one when `None`), or why not.
async fn changeable(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
    version: Option<i64>,
) -> Result<Announcement, AnnouncementError> {
    let found = store::find(&mut **tx, id)
        .await?
        .ok_or(AnnouncementError::NotFound)?;
    if version.is_some_and(|v| v != found.version) {
        return Err(AnnouncementError::Changed);
    }
    let status = Status::parse(&found.status).unwrap_or(Status::Withdrawn);
    if !announce::may_change(status) {
        return Err(AnnouncementError::Withdrawn);
    }
    Ok(found)
}

/// Rewrites an announcement's content (a published one stays published).
pub async fn edit(
    app: &App,
    actor: i64,
    id: i64,
    version: Option<i64>,
    input: &Input,
) -> Result<Announcement, AnnouncementError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let found = changeable(&mut tx, id, version).await?;
    let write = validated(input)?;
    if !store::update(&mut *tx, id, found.version, &write, actor, now).await? {
        return Err(AnnouncementError::Changed);
    }
    let edited = store::find(&mut *tx, id)
        .await?
        .ok_or(AnnouncementError::NotFound)?;
    store::log(&mut *tx, id, actor, now, "edited", &snapshot(&edited)).await?;
    tx.commit().await?;
    forget(app);
    Ok(edited)
}

/// Publishes (`Status::Published`) or withdraws an announcement. Publishing
/// a published one changes nothing.
pub async fn set_status(
    app: &App,
    actor: i64,
    id: i64,
    version: Option<i64>,
    status: Status,
) -> Result<Announcement, AnnouncementError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let found = changeable(&mut tx, id, version).await?;
    if found.status == status.as_str() {
        return Ok(found);
    }
    if !store::set_status(&mut *tx, id, found.version, status.as_str(), actor, now).await? {
        return Err(AnnouncementError::Changed);
    }
    let changed = store::find(&mut *tx, id)
        .await?
        .ok_or(AnnouncementError::NotFound)?;
    let action = match status {
        Status::Published => "published",
        Status::Withdrawn => "withdrawn",
        Status::Draft => "edited",
    };
    store::log(&mut *tx, id, actor, now, action, &snapshot(&changed)).await?;
    tx.commit().await?;
    forget(app);
    Ok(changed)
}

/// Queues the push of a published security notice to the reminders of the
/// accounts it concerns, logged with who asked.
pub async fn push(app: &App, actor: i64, id: i64) -> Result<Announcement, AnnouncementError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let found = store::find(&mut *tx, id)
        .await?
        .ok_or(AnnouncementError::NotFound)?;
    if found.kind != Kind::Security.as_str() || found.status != Status::Published.as_str() {
        return Err(AnnouncementError::NotPushable);
    }
    store::log(&mut *tx, id, actor, now, "pushed", &snapshot(&found)).await?;
    crate::jobs::enqueue(
        &mut *tx,
        super::push::PUSH,
        &serde_json::json!({ "id": id }),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(found)
}

/// One announcement for an editor, with its changes.
pub async fn show(
    app: &App,
    id: i64,
) -> Result<(Announcement, Vec<Change>, i64), AnnouncementError> {
    let found = store::find(app.store.read(), id)
        .await?
        .ok_or(AnnouncementError::NotFound)?;
    let changes = store::changes(app.store.read(), id).await?;
    let recipients = store::recipients(app.store.read(), id).await?;
    Ok((found, changes, recipients))
}

/// The newest announcements, any status, for editors.
pub async fn all(app: &App) -> Result<Vec<Announcement>, AnnouncementError> {
    Ok(store::all(app.store.read(), 200).await?)
}
