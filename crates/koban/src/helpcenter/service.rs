//! What editors do to the help center, for the API and the pages alike:
//! each change checks the caller's desk role, validates, and commits with
//! its record (a revision for text, a change row for the rest).

use crate::accounts::sessions::Current;
use crate::helpcenter::error::HelpError;
use crate::helpcenter::store::{self, Deletable};
use crate::http::problem::FieldError;
use crate::state::App;
use crate::store::now_ms;
use koban_policy::help::{self as rules, MAX_CATEGORY_NAME_CHARS, MAX_TITLE_CHARS};
use sqlx::{Any, Transaction};
use std::collections::BTreeMap;

/// Whether `current` edits the help center: desk supervisors and admins.
pub fn is_editor(current: &Current) -> bool {
    current.account.has_role("supervisor")
}

/// Whether `current` reads drafts, revisions and counts: agents and above.
pub fn reads_drafts(current: &Current) -> bool {
    current.account.has_role("agent")
}

/// The caller if they edit; 401 signed out, 403 otherwise (as the desk's
/// staff routes answer).
pub fn editor(current: Option<&Current>) -> Result<&Current, HelpError> {
    match current {
        None => Err(HelpError::Unauthorized),
        Some(c) if is_editor(c) => Ok(c),
        Some(_) => Err(HelpError::Forbidden),
    }
}

/// The caller if they read drafts; 401 signed out, 403 otherwise.
pub fn staff(current: Option<&Current>) -> Result<&Current, HelpError> {
    match current {
        None => Err(HelpError::Unauthorized),
        Some(c) if reads_drafts(c) => Ok(c),
        Some(_) => Err(HelpError::Forbidden),
    }
}

/// A language tag given for `field`, as stored.
pub fn lang(field: &str, tag: &str) -> Result<&'static str, HelpError> {
    rules::parse_lang(tag).ok_or_else(|| HelpError::field(field, "invalid_value"))
}

/// Category names by language, checked: at least one, each in a known
/// language, none blank or too long.
pub fn names(given: &BTreeMap<String, String>) -> Result<String, HelpError> {
    let mut errors = Vec::new();
    let mut out: BTreeMap<&str, String> = BTreeMap::new();
    for (tag, name) in given {
        let field = format!("names.{tag}");
        match rules::parse_lang(tag) {
            None => errors.push(FieldError {
                field,
                code: "invalid_value",
            }),
            Some(lang) => match rules::check_title(name, MAX_CATEGORY_NAME_CHARS) {
                Ok(()) => {
                    out.insert(lang, name.trim().to_string());
                }
                Err(code) => errors.push(FieldError { field, code }),
            },
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(FieldError {
            field: "names".into(),
            code: "required",
        });
    }
    match errors.is_empty() {
        true => Ok(serde_json::to_string(&out).unwrap_or_else(|_| "{}".into())),
        false => Err(HelpError::Invalid(errors)),
    }
}

/// A title and body, checked.
fn text(title: &str, body: &str) -> Result<(String, String), HelpError> {
    let mut errors = Vec::new();
    if let Err(code) = rules::check_title(title, MAX_TITLE_CHARS) {
        errors.push(FieldError {
            field: "title".into(),
            code,
        });
    }
    if let Err(code) = rules::check_body(body) {
        errors.push(FieldError {
            field: "body".into(),
            code,
        });
    }
    match errors.is_empty() {
        true => Ok((title.trim().to_string(), body.to_string())),
        false => Err(HelpError::Invalid(errors)),
    }
}

/// Adds a category; its id.
pub async fn create_category(
    app: &App,
    actor: &Current,
    given: &BTreeMap<String, String>,
    position: Option<i64>,
) -> Result<i64, HelpError> {
    let names = names(given)?;
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let id = store::insert_category(
        &mut tx,
        &names,
        position.unwrap_or(0),
        actor.account.id,
        now,
    )
    .await?;
    let detail = serde_json::json!({ "names": given, "position": position.unwrap_or(0) });
    store::record_change(
        &mut tx,
        "category",
        id,
        "created",
        &detail,
        actor.account.id,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Renames or reorders a category; what is not given stays.
pub async fn update_category(
    app: &App,
    actor: &Current,
    id: i64,
    given: Option<&BTreeMap<String, String>>,
    position: Option<i64>,
) -> Result<(), HelpError> {
    let checked = given.map(names).transpose()?;
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let current = store::category_by_id(&mut *tx, id)
        .await?
        .ok_or(HelpError::NotFound)?;
    let names = match checked {
        Some(names) => names,
        None => serde_json::to_string(&current.names).unwrap_or_else(|_| "{}".into()),
    };
    let position = position.unwrap_or(current.position);
    if !store::update_category(&mut tx, id, &names, position, now).await? {
        return Err(HelpError::NotFound);
    }
    let detail = serde_json::json!({ "names": given, "position": position });
    store::record_change(
        &mut tx,
        "category",
        id,
        "updated",
        &detail,
        actor.account.id,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an empty category (its row stays, marked).
pub async fn delete_category(app: &App, actor: &Current, id: i64) -> Result<(), HelpError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    if store::category_by_id(&mut *tx, id).await?.is_none() {
        return Err(HelpError::NotFound);
    }
    if store::live_articles_in(&mut tx, id).await? > 0 {
        return Err(HelpError::CategoryNotEmpty);
    }
    store::soft_delete(&mut tx, Deletable::Category, id, actor.account.id, now).await?;
    store::record_change(
        &mut tx,
        "category",
        id,
        "deleted",
        &serde_json::json!({}),
        actor.account.id,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A live category's id, or 422 on `field`.
async fn live_category(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
) -> Result<i64, HelpError> {
    match store::category_by_id(&mut **tx, id).await? {
        Some(category) => Ok(category.id),
        None => Err(HelpError::field("category_id", "invalid_value")),
    }
}

/// What an editor writes: an article's text in one language.
pub struct Writing<'a> {
    pub lang: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    /// Publish it at once, or keep it a draft.
    pub publish: bool,
}

/// A change to an article's version in one language, in a transaction
/// that holds the article's row: editors' changes to one article take
/// turns, so each revision records the text its step left.
struct VersionChange {
    tx: Transaction<'static, Any>,
    id: i64,
    lang: &'static str,
    actor: i64,
    now: i64,
}

impl VersionChange {
    /// Locks article `id` for a change; not found when it is gone.
    async fn lock(
        app: &App,
        actor: &Current,
        id: i64,
        lang: &'static str,
    ) -> Result<VersionChange, HelpError> {
        let now = now_ms();
        let mut tx = app.store.write().begin().await?;
        if !store::lock_article(&mut tx, id, now).await? {
            return Err(HelpError::NotFound);
        }
        Ok(VersionChange {
            tx,
            id,
            lang,
            actor: actor.account.id,
            now,
        })
    }

    /// Makes `title` and `body` the draft, with a revision of `action`
    /// (`restored_from`: the revision a restore brought back).
    async fn save(
        &mut self,
        title: &str,
        body: &str,
        action: &str,
        restored_from: Option<i64>,
    ) -> Result<(), HelpError> {
        let (id, lang, actor, now) = (self.id, self.lang, self.actor, self.now);
        store::save_draft(&mut self.tx, id, lang, title, body, actor, now).await?;
        self.revision(title, body, action, restored_from).await
    }

    /// Publishes the draft (`title` and `body`), or takes the version from
    /// readers, with its revision.
    async fn publish(&mut self, title: &str, body: &str, publish: bool) -> Result<(), HelpError> {
        let (id, lang, actor, now) = (self.id, self.lang, self.actor, self.now);
        store::set_published(&mut self.tx, id, lang, publish, actor, now).await?;
        let action = if publish { "published" } else { "unpublished" };
        self.revision(title, body, action, None).await
    }

    async fn revision(
        &mut self,
        title: &str,
        body: &str,
        action: &str,
        restored_from: Option<i64>,
    ) -> Result<(), HelpError> {
        store::insert_revision(
            &mut self.tx,
            self.id,
            self.lang,
            title,
            body,
            action,
            restored_from,
            self.actor,
            self.now,
        )
        .await?;
        Ok(())
    }

    async fn commit(self) -> Result<(), HelpError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// Adds an article with its first version; its id.
pub async fn create_article(
    app: &App,
    actor: &Current,
    category_id: i64,
    writing: &Writing<'_>,
) -> Result<i64, HelpError> {
    let lang = lang("lang", writing.lang)?;
    let (title, body) = text(writing.title, writing.body)?;
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let category_id = live_category(&mut tx, category_id).await?;
    let id = store::insert_article(&mut tx, category_id, actor.account.id, now).await?;
    // Nobody else sees the new article before the commit: no lock to take.
    let mut change = VersionChange {
        tx,
        id,
        lang,
        actor: actor.account.id,
        now,
    };
    change.save(&title, &body, "created", None).await?;
    if writing.publish {
        change.publish(&title, &body, true).await?;
    }
    change.commit().await?;
    Ok(id)
}

/// Saves a version's draft (a new version when the language is new), and
/// publishes it when asked; each step a revision.
pub async fn save_version(
    app: &App,
    actor: &Current,
    id: i64,
    writing: &Writing<'_>,
) -> Result<(), HelpError> {
    let lang = lang("lang", writing.lang)?;
    let (title, body) = text(writing.title, writing.body)?;
    let mut change = VersionChange::lock(app, actor, id, lang).await?;
    let action = match store::has_version(&mut change.tx, id, lang).await? {
        true => "saved",
        false => "created",
    };
    change.save(&title, &body, action, None).await?;
    if writing.publish {
        change.publish(&title, &body, true).await?;
    }
    change.commit().await
}

/// Publishes a version's draft, or takes it from readers.
pub async fn set_published(
    app: &App,
    actor: &Current,
    id: i64,
    tag: &str,
    publish: bool,
) -> Result<(), HelpError> {
    let lang = rules::parse_lang(tag).ok_or(HelpError::NotFound)?;
    let mut change = VersionChange::lock(app, actor, id, lang).await?;
    let (title, body) = store::draft_of(&mut change.tx, id, lang)
        .await?
        .ok_or(HelpError::NotFound)?;
    change.publish(&title, &body, publish).await?;
    change.commit().await
}

/// Makes an old revision's text the version's draft again (readers keep
/// what is published until it is published).
pub async fn restore(
    app: &App,
    actor: &Current,
    id: i64,
    tag: &str,
    revision: i64,
) -> Result<(), HelpError> {
    let lang = rules::parse_lang(tag).ok_or(HelpError::NotFound)?;
    let mut change = VersionChange::lock(app, actor, id, lang).await?;
    let old = store::revision_by_id(&mut *change.tx, id, lang, revision)
        .await?
        .ok_or(HelpError::NotFound)?;
    change
        .save(&old.title, &old.body, "restored", Some(revision))
        .await?;
    change.commit().await
}

/// Moves an article to another live category.
pub async fn move_article(
    app: &App,
    actor: &Current,
    id: i64,
    category_id: i64,
) -> Result<(), HelpError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    if store::article_by_id(&mut *tx, id).await?.is_none() {
        return Err(HelpError::NotFound);
    }
    let category_id = live_category(&mut tx, category_id).await?;
    store::move_article(&mut tx, id, category_id, now).await?;
    let detail = serde_json::json!({ "category_id": category_id });
    store::record_change(
        &mut tx,
        "article",
        id,
        "moved",
        &detail,
        actor.account.id,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes an article (its rows stay, marked): readers see it no more.
pub async fn delete_article(app: &App, actor: &Current, id: i64) -> Result<(), HelpError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    if !store::soft_delete(&mut tx, Deletable::Article, id, actor.account.id, now).await? {
        return Err(HelpError::NotFound);
    }
    store::record_change(
        &mut tx,
        "article",
        id,
        "deleted",
        &serde_json::json!({}),
        actor.account.id,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
