//! The calendars page: each calendar's time zone, weekly hours and
//! holidays; desk admins add and edit them. A day's hours are typed as
//! `09:00-18:00`, several separated by commas, `24h`, or left empty for
//! closed; an end before the start runs past midnight (`22:00-06:00`).

use crate::accounts::pages::internal;
use crate::accounts::sessions::Current;
use crate::desk::admin::routing as admin;
use crate::desk::admin::routing_pages::{allowed, show_refusal, Posted};
use crate::desk::store::settings;
use crate::desk::DeskError;
use crate::http::problem::FieldError;
use crate::state::App;
use crate::web::{render, see_other, PageForm, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use koban_policy::desk::calendar::Hours;
use koban_policy::desk::permissions::Action;
use minijinja::context;
use serde_json::{json, Value};
use std::sync::Arc;

const PAGE: &str = "/desk/admin/calendars";
const TEMPLATE: &str = "desk_admin_calendars.html";
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FIELDS: [&str; 11] = [
    "name", "zone", "holidays", "week", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
];

pub fn router() -> Router<Arc<App>> {
    Router::new().route(PAGE, get(page).post(save))
}

/// A day's hours as the form shows them: empty when closed.
fn day_text(hours: Option<&Value>) -> String {
    match hours {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

/// A day's hours as typed, as the calendar spec stores them; the reason
/// when they do not read.
fn day_hours(text: &str) -> Result<Value, &'static str> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("24h") {
        return Ok(json!("24h"));
    }
    let list: Vec<&str> = text
        .split([',', '，', '、', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("closed"))
        .collect();
    Hours::parse(&list).map_err(|_| "invalid_hours")?;
    Ok(json!(list))
}

/// The form's values for a stored calendar.
fn values_of(row: &settings::CalendarRow) -> Posted {
    let spec: Value = serde_json::from_str(&row.spec).unwrap_or_default();
    let mut values = Posted::new();
    values.insert("id".into(), row.id.to_string());
    values.insert("name".into(), row.name.clone());
    values.insert(
        "zone".into(),
        spec["zone"].as_str().unwrap_or_default().into(),
    );
    for day in DAYS {
        values.insert(day.into(), day_text(spec["week"].get(day)));
    }
    let holidays: Vec<&str> = spec["holidays"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    values.insert("holidays".into(), holidays.join("\n"));
    values
}

async fn content(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    values: &Posted,
) -> Result<minijinja::Value, Response> {
    let rows = settings::calendars(app.store.read())
        .await
        .map_err(|e| internal(viewer, &e))?;
    let calendars: Vec<minijinja::Value> = rows
        .iter()
        .map(|row| {
            let v = values_of(row);
            context! {
                id => row.id, name => row.name, zone => v.get("zone"),
                days => DAYS.iter().map(|d| context! { day => d, hours => v.get(*d) }).collect::<Vec<_>>(),
                holidays => v.get("holidays").map(|h| h.lines().count()).unwrap_or(0),
            }
        })
        .collect();
    Ok(context! {
        calendars => calendars, days => DAYS, values => values,
        can_edit => current.account.has_role("admin"),
    })
}

/// `GET /desk/admin/calendars` (`?edit=<id>` fills the form).
async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<Posted>,
) -> Response {
    let current = match allowed(&viewer, Action::ReadRouting, PAGE) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let mut values = Posted::new();
    if let Some(id) = query.get("edit") {
        let rows = match settings::calendars(app.store.read()).await {
            Ok(rows) => rows,
            Err(error) => return internal(&viewer, &error),
        };
        match rows.iter().find(|c| c.id.to_string() == *id) {
            Some(row) => values = values_of(row),
            None => return render::error(&viewer, StatusCode::NOT_FOUND, "problem-not-found"),
        }
    }
    match content(&app, &viewer, &current, &values).await {
        Ok(page) => render::page(
            &viewer,
            StatusCode::OK,
            TEMPLATE,
            context! { saved => query.contains_key("saved"), ..page },
        ),
        Err(response) => response,
    }
}

/// The spec the form describes, keeping a calendar's dates with their own
/// hours (which this page does not edit); every unreadable day at once.
fn spec_of(form: &Posted, kept: Option<&Value>) -> Result<Value, DeskError> {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let mut week = serde_json::Map::new();
    let mut errors = Vec::new();
    for day in DAYS {
        match day_hours(field(day)) {
            Ok(hours) => {
                week.insert(day.into(), hours);
            }
            Err(code) => errors.push(FieldError {
                field: day.into(),
                code,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    let holidays: Vec<&str> = field("holidays")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut spec = json!({ "zone": field("zone").trim(), "week": week, "holidays": holidays });
    if let Some(overrides) = kept.and_then(|s| s.get("overrides")) {
        spec["overrides"] = overrides.clone();
    }
    Ok(spec)
}

/// `POST /desk/admin/calendars`: adds one, or (with `id`) replaces its
/// hours; the name stays as it was.
async fn save(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let current = match allowed(&viewer, Action::AdministerRouting, PAGE) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let result = async {
        let id = match form.get("id").map(|v| v.trim()).filter(|v| !v.is_empty()) {
            Some(id) => Some(id.parse::<i64>().map_err(|_| DeskError::NotFound)?),
            None => None,
        };
        let stored = match id {
            Some(id) => Some(
                settings::calendars(app.store.read())
                    .await?
                    .into_iter()
                    .find(|c| c.id == id)
                    .ok_or(DeskError::NotFound)?,
            ),
            None => None,
        };
        let kept: Option<Value> = stored
            .as_ref()
            .and_then(|c| serde_json::from_str(&c.spec).ok());
        let spec = spec_of(&form, kept.as_ref())?;
        let name = match &stored {
            Some(row) => row.name.clone(),
            None => form.get("name").cloned().unwrap_or_default(),
        };
        admin::save_calendar(&app, current.account.id, id, &name, &spec).await
    }
    .await;
    match result {
        Ok(_) => see_other(&format!("{PAGE}?saved=1")),
        Err(error) => match content(&app, &viewer, &current, &form).await {
            Ok(page) => show_refusal(
                &viewer,
                error,
                |f| f.strip_prefix("spec.").unwrap_or(f).to_string(),
                &FIELDS,
                TEMPLATE,
                page,
            ),
            Err(response) => response,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_hours_read_as_the_spec_stores_them() {
        assert_eq!(day_hours(""), Ok(json!([])));
        assert_eq!(day_hours("closed"), Ok(json!([])));
        assert_eq!(day_hours(" 24H "), Ok(json!("24h")));
        assert_eq!(
            day_hours("09:00-12:00, 13:00-18:00"),
            Ok(json!(["09:00-12:00", "13:00-18:00"]))
        );
        assert_eq!(day_hours("22:00-06:00"), Ok(json!(["22:00-06:00"])));
        for bad in [
            "9-5",
            "25:00-26:00",
            "09:00-09:00",
            "soon",
            "24h, 09:00-10:00",
        ] {
            assert_eq!(day_hours(bad), Err("invalid_hours"), "{bad}");
        }
    }
}
