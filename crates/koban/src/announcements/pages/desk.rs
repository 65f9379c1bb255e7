//! The editors' pages: /desk/announcements (the list and a new one) and
//! /desk/announcements/{id} (edit, publish, withdraw, push, the change
//! log). Desk supervisors and admins only, judged on every request; each
//! change goes through the same service as the API.

use crate::accounts::pages::{explain_problem, internal, refused};
use crate::announcements::service::{self, Input};
use crate::announcements::store::{Announcement, TextRow};
use crate::announcements::AnnouncementError;
use crate::http::problem::{FieldError, Problem};
use crate::state::App;
use crate::web::{render, see_other, url_with, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::announce::{Status, LANGS};
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/desk/announcements", get(list).post(create))
        .route("/desk/announcements/{id}", get(edit_page).post(save))
        .route("/desk/announcements/{id}/publish", post(publish))
        .route("/desk/announcements/{id}/withdraw", post(withdraw))
        .route("/desk/announcements/{id}/push", post(push))
}

/// The editor's account id, or the page that turns the viewer away.
#[allow(clippy::result_large_err)]
fn editor(viewer: &Viewer) -> Result<i64, Response> {
    match &viewer.who {
        None => Err(see_other(&url_with("/signin", &[("next", &viewer.here)]))),
        Some(who) if who.has_role("supervisor") => Ok(who.account_id()),
        Some(_) => Err(render::error(
            viewer,
            StatusCode::FORBIDDEN,
            "problem-forbidden",
        )),
    }
}

/// Every field the form shows, for putting refusals next to them.
fn fields() -> Vec<String> {
    let mut out: Vec<String> = ["kind", "texts", "regions", "starts_at", "ends_at"]
        .map(String::from)
        .to_vec();
    for lang in LANGS {
        out.push(format!("texts.{lang}.title"));
        out.push(format!("texts.{lang}.body"));
    }
    out
}

/// A row of the list.
fn row(viewer: &Viewer, a: &Announcement) -> minijinja::Value {
    let title = service::localize(a, viewer.lang.tag())
        .map(|l| l.title)
        .unwrap_or_default();
    context! {
        id => a.id, kind => a.kind, status => a.status, title => title,
        regions => a.regions, starts => viewer.when(a.starts_at),
        ends => a.ends_at.map(|ms| viewer.when(ms)),
    }
}

/// The form's values: as sent back after a refusal, or from the stored one.
fn form_values(viewer: &Viewer, a: Option<&Announcement>) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let Some(a) = a else {
        values.insert("kind".into(), "maintenance".into());
        return values;
    };
    values.insert("kind".into(), a.kind.clone());
    values.insert("regions".into(), a.regions.join(", "));
    values.insert("starts_at".into(), local(viewer, a.starts_at));
    if let Some(end) = a.ends_at {
        values.insert("ends_at".into(), local(viewer, end));
    }
    values.insert("version".into(), a.version.to_string());
    for (lang, text) in &a.texts {
        values.insert(format!("title_{lang}"), text.title.clone());
        values.insert(format!("body_{lang}"), text.body.clone());
    }
    values
}

/// `ms` as a `datetime-local` value in the viewer's zone.
fn local(viewer: &Viewer, ms: i64) -> String {
    let at = jiff::Timestamp::from_millisecond(ms).unwrap_or_default();
    let tz = viewer.tz.clone().unwrap_or(jiff::tz::TimeZone::UTC);
    at.to_zoned(tz).strftime("%Y-%m-%dT%H:%M").to_string()
}

/// A `datetime-local` value in the viewer's zone as ms, or the field's refusal.
fn parse_local(viewer: &Viewer, field: &str, value: &str) -> Result<i64, FieldError> {
    let refused = || FieldError {
        field: field.to_string(),
        code: "not_a_date_time",
    };
    let civil: jiff::civil::DateTime = value.trim().parse().map_err(|_| refused())?;
    let tz = viewer.tz.clone().unwrap_or(jiff::tz::TimeZone::UTC);
    let zoned = civil.to_zoned(tz).map_err(|_| refused())?;
    Ok(zoned.timestamp().as_millisecond())
}

/// The service's input from the form, or the refusals of what could not be read.
fn input(viewer: &Viewer, form: &BTreeMap<String, String>) -> Result<Input, AnnouncementError> {
    let get = |name: &str| form.get(name).map(|s| s.trim()).unwrap_or_default();
    let mut refused = vec![];
    let starts_at = match get("starts_at") {
        "" => crate::store::now_ms(),
        v => parse_local(viewer, "starts_at", v).unwrap_or_else(|e| {
            refused.push(e);
            0
        }),
    };
    let ends_at = match get("ends_at") {
        "" => None,
        v => match parse_local(viewer, "ends_at", v) {
            Ok(ms) => Some(ms),
            Err(e) => {
                refused.push(e);
                None
            }
        },
    };
    if !refused.is_empty() {
        return Err(AnnouncementError::Invalid(refused));
    }
    let mut texts = BTreeMap::new();
    for lang in LANGS {
        let title = get(&format!("title_{lang}"));
        let body = get(&format!("body_{lang}"));
        if !title.is_empty() || !body.is_empty() {
            texts.insert(
                lang.to_string(),
                TextRow {
                    title: title.to_string(),
                    body: body.to_string(),
                },
            );
        }
    }
    Ok(Input {
        kind: get("kind").to_string(),
        texts,
        regions: get("regions")
            .split([',', ' ', '、', '，'])
            .filter(|r| !r.trim().is_empty())
            .map(str::to_string)
            .collect(),
        starts_at,
        ends_at,
    })
}

#[derive(Debug, Default, serde::Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

fn notice(viewer: &Viewer, code: Option<&str>) -> Option<String> {
    let id = match code? {
        "created" => "announcement-notice-created",
        "saved" => "announcement-notice-saved",
        "published" => "announcement-notice-published",
        "withdrawn" => "announcement-notice-withdrawn",
        "pushed" => "announcement-notice-pushed",
        _ => return None,
    };
    Some(crate::web::i18n::t(viewer.lang, id, &[]))
}

async fn list_context(
    app: &App,
    viewer: &Viewer,
    values: BTreeMap<String, String>,
) -> Result<minijinja::Value, AnnouncementError> {
    let all = service::all(app).await?;
    let rows: Vec<_> = all.iter().map(|a| row(viewer, a)).collect();
    Ok(context! { rows => rows, values => values, text_langs => LANGS, zone => viewer.zone_name() })
}

/// `GET /desk/announcements`.
async fn list(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<NoticeQuery>,
) -> Response {
    if let Err(page) = editor(&viewer) {
        return page;
    }
    match list_context(&app, &viewer, form_values(&viewer, None)).await {
        Ok(page) => render::page(
            &viewer,
            StatusCode::OK,
            "announcement_desk.html",
            context! { notice => notice(&viewer, query.notice.as_deref()), ..page },
        ),
        Err(e) => internal(&viewer, &e),
    }
}

/// The form again with the reasons it was refused.
async fn form_refused(
    app: &App,
    viewer: &Viewer,
    error: AnnouncementError,
    template: &str,
    values: BTreeMap<String, String>,
    id: Option<i64>,
) -> Response {
    let fields = fields();
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    let feedback = match explain_problem(viewer, Problem::from(error), &fields) {
        Ok(feedback) => feedback,
        Err(page) => return page,
    };
    let page = match id {
        None => list_context(app, viewer, values).await,
        Some(id) => edit_context(app, viewer, id, Some(values)).await,
    };
    match page {
        Ok(page) => refused(viewer, template, feedback, page),
        Err(AnnouncementError::NotFound) => {
            render::error(viewer, StatusCode::NOT_FOUND, "problem-not-found")
        }
        Err(e) => internal(viewer, &e),
    }
}

/// `POST /desk/announcements`: a new draft.
async fn create(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Response {
    let actor = match editor(&viewer) {
        Ok(actor) => actor,
        Err(page) => return page,
    };
    let result = match input(&viewer, &form) {
        Ok(input) => service::create(&app, actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(a) => see_other(&format!("/desk/announcements/{}?notice=created", a.id)),
        Err(e) => form_refused(&app, &viewer, e, "announcement_desk.html", form, None).await,
    }
}

async fn edit_context(
    app: &App,
    viewer: &Viewer,
    id: i64,
    values: Option<BTreeMap<String, String>>,
) -> Result<minijinja::Value, AnnouncementError> {
    let (a, changes, recipients) = service::show(app, id).await?;
    let changes: Vec<_> = changes
        .iter()
        .map(|c| context! { actor => c.actor_id, at => viewer.when(c.at), action => c.action })
        .collect();
    Ok(context! {
        a => row(viewer, &a),
        withdrawn => a.status == Status::Withdrawn.as_str(),
        pushable => a.status == Status::Published.as_str() && a.kind == "security",
        recipients => recipients,
        values => values.unwrap_or_else(|| form_values(viewer, Some(&a))),
        changes => changes,
        text_langs => LANGS,
        zone => viewer.zone_name(),
    })
}

// The Err side is the page to show instead, made once per request.
#[allow(clippy::result_large_err)]
fn id_of(viewer: &Viewer, id: &str) -> Result<i64, Response> {
    id.parse()
        .map_err(|_| render::error(viewer, StatusCode::NOT_FOUND, "problem-not-found"))
}

/// `GET /desk/announcements/{id}`.
async fn edit_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    if let Err(page) = editor(&viewer) {
        return page;
    }
    let id = match id_of(&viewer, &id) {
        Ok(id) => id,
        Err(page) => return page,
    };
    match edit_context(&app, &viewer, id, None).await {
        Ok(page) => render::page(
            &viewer,
            StatusCode::OK,
            "announcement_edit.html",
            context! { notice => notice(&viewer, query.notice.as_deref()), ..page },
        ),
        Err(AnnouncementError::NotFound) => {
            render::error(&viewer, StatusCode::NOT_FOUND, "problem-not-found")
        }
        Err(e) => internal(&viewer, &e),
    }
}

/// `POST /desk/announcements/{id}`: saves the form.
async fn save(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    PageForm(form): PageForm<BTreeMap<String, String>>,
) -> Response {
    let actor = match editor(&viewer) {
        Ok(actor) => actor,
        Err(page) => return page,
    };
    let id = match id_of(&viewer, &id) {
        Ok(id) => id,
        Err(page) => return page,
    };
    let version = form.get("version").and_then(|v| v.parse().ok());
    let result = match input(&viewer, &form) {
        Ok(input) => service::edit(&app, actor, id, version, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other(&format!("/desk/announcements/{id}?notice=saved")),
        Err(AnnouncementError::NotFound) => {
            render::error(&viewer, StatusCode::NOT_FOUND, "problem-not-found")
        }
        Err(e) => form_refused(&app, &viewer, e, "announcement_edit.html", form, Some(id)).await,
    }
}

/// Publishing, withdrawing or pushing, then back to the announcement.
async fn step(app: &App, viewer: &Viewer, id: &str, what: &'static str) -> Response {
    let actor = match editor(viewer) {
        Ok(actor) => actor,
        Err(page) => return page,
    };
    let id = match id_of(viewer, id) {
        Ok(id) => id,
        Err(page) => return page,
    };
    let result = match what {
        "published" => service::set_status(app, actor, id, None, Status::Published).await,
        "withdrawn" => service::set_status(app, actor, id, None, Status::Withdrawn).await,
        _ => service::push(app, actor, id).await,
    };
    match result {
        Ok(_) => see_other(&format!("/desk/announcements/{id}?notice={what}")),
        Err(e) => {
            let problem = Problem::from(e);
            let status = problem.status;
            let message = problem.to_json(viewer.lang, &viewer.request_id)["detail"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            render::error_text(viewer, status, message)
        }
    }
}

async fn publish(State(app): State<Arc<App>>, viewer: Viewer, Path(id): Path<String>) -> Response {
    step(&app, &viewer, &id, "published").await
}

async fn withdraw(State(app): State<Arc<App>>, viewer: Viewer, Path(id): Path<String>) -> Response {
    step(&app, &viewer, &id, "withdrawn").await
}

async fn push(State(app): State<Arc<App>>, viewer: Viewer, Path(id): Path<String>) -> Response {
    step(&app, &viewer, &id, "pushed").await
}
