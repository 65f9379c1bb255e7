//! The SLA policies page: which tickets a policy covers (priority, tier,
//! channel; empty matches any), its first response, next response and
//! resolution targets in business minutes (`90`, `90m`) or hours (`4h`),
//! the warning percent and the escalation actions. Saving replaces the
//! whole list, as the API does; open tickets follow through a queued
//! recompute (see [`crate::desk::routing::recompute`]).

use crate::accounts::pages::internal;
use crate::accounts::sessions::Current;
use crate::desk::admin::routing::{self as admin, DeskSlaPolicyInput};
use crate::desk::admin::routing_pages::{allowed, show_refusal, Posted};
use crate::desk::routing::sla::ACTIONS;
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
use koban_policy::desk::permissions::Action;
use minijinja::context;
use std::sync::Arc;

const PAGE: &str = "/desk/admin/sla";
const TEMPLATE: &str = "desk_admin_sla.html";
const TARGETS: [&str; 3] = ["first_response", "next_response", "resolution"];
/// Empty rows offered below the policies, for new ones.
const BLANK_ROWS: usize = 2;
/// The most rows a form may post (the service allows 100 policies).
const MAX_ROWS: usize = 100 + BLANK_ROWS;

pub fn router() -> Router<Arc<App>> {
    Router::new().route(PAGE, get(page).post(save))
}

/// Minutes as typed: `90`, `90m` or `4h`; None when it is not a number.
fn minutes(text: &str) -> Option<i64> {
    let text = text.trim().to_ascii_lowercase();
    if let Some(hours) = text.strip_suffix('h') {
        return hours.trim().parse::<i64>().ok()?.checked_mul(60);
    }
    text.strip_suffix('m').unwrap_or(&text).trim().parse().ok()
}

/// The form's values of the stored policies, row by row.
fn values_of(rows: &[settings::PolicyRow]) -> Posted {
    let mut values = Posted::new();
    for (i, p) in rows.iter().enumerate() {
        let at = |f: &str| format!("policies[{i}].{f}");
        for (name, value) in [
            ("priority", &p.priority),
            ("tier", &p.tier),
            ("channel", &p.channel),
        ] {
            values.insert(at(name), value.clone().unwrap_or_default());
        }
        for (name, value) in TARGETS
            .iter()
            .zip([p.first_response, p.next_response, p.resolution])
        {
            values.insert(at(name), value.map(|m| m.to_string()).unwrap_or_default());
        }
        values.insert(at("warn_percent"), p.warn_percent.to_string());
        for (list, actions) in [("on_warning", &p.on_warning), ("on_breach", &p.on_breach)] {
            for action in actions {
                values.insert(at(&format!("{list}.{action}")), "on".into());
            }
        }
    }
    values.insert("rows".into(), (rows.len() + BLANK_ROWS).to_string());
    values
}

fn content(current: &Current, values: &Posted) -> minijinja::Value {
    let rows: usize = values
        .get("rows")
        .and_then(|r| r.parse().ok())
        .unwrap_or(BLANK_ROWS)
        .min(MAX_ROWS);
    context! {
        rows => (0..rows).collect::<Vec<_>>(), values => values,
        priorities => ["low", "normal", "high", "urgent"],
        tiers => ["standard", "enterprise"],
        channels => ["web", "email", "chat", "phone", "line", "api"],
        targets => TARGETS, actions => ACTIONS,
        can_edit => current.account.has_role("admin"),
    }
}

/// `GET /desk/admin/sla`.
async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<Posted>,
) -> Response {
    let current = match allowed(&viewer, Action::ReadRouting, PAGE) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let rows = match settings::policies(app.store.read()).await {
        Ok(rows) => rows,
        Err(error) => return internal(&viewer, &error),
    };
    let page = content(&current, &values_of(&rows));
    render::page(
        &viewer,
        StatusCode::OK,
        TEMPLATE,
        context! { saved => query.contains_key("saved"), ..page },
    )
}

/// The policies the form describes, each with the form row it came from:
/// rows marked for removal and rows left wholly empty are left out.
fn policies_of(form: &Posted) -> Result<Vec<(usize, DeskSlaPolicyInput)>, DeskError> {
    let rows: usize = form
        .get("rows")
        .and_then(|r| r.trim().parse().ok())
        .filter(|r| *r <= MAX_ROWS)
        .ok_or_else(|| DeskError::field("policies", "too_many"))?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for i in 0..rows {
        let at = |f: &str| format!("policies[{i}].{f}");
        let field = |f: &str| form.get(&at(f)).map(|v| v.trim()).unwrap_or_default();
        let choice = |f: &str| Some(field(f).to_string()).filter(|v| !v.is_empty());
        if form.contains_key(&at("remove"))
            || (["priority", "tier", "channel", "warn_percent"]
                .iter()
                .chain(TARGETS.iter())
                .all(|f| field(f).is_empty()))
        {
            continue;
        }
        let mut targets = [None; 3];
        for (slot, name) in targets.iter_mut().zip(TARGETS) {
            if !field(name).is_empty() {
                *slot = minutes(field(name));
                if slot.is_none() {
                    errors.push(FieldError {
                        field: at(name),
                        code: "not_a_number",
                    });
                }
            }
        }
        let warn_percent = match field("warn_percent") {
            "" => 75,
            text => text.parse().unwrap_or_else(|_| {
                errors.push(FieldError {
                    field: at("warn_percent"),
                    code: "not_a_number",
                });
                75
            }),
        };
        let actions = |list: &str| -> Vec<String> {
            ACTIONS
                .iter()
                .filter(|a| form.contains_key(&at(&format!("{list}.{a}"))))
                .map(|a| a.to_string())
                .collect()
        };
        out.push((
            i,
            DeskSlaPolicyInput {
                priority: choice("priority"),
                tier: choice("tier"),
                channel: choice("channel"),
                first_response: targets[0],
                next_response: targets[1],
                resolution: targets[2],
                warn_percent,
                on_warning: actions("on_warning"),
                on_breach: actions("on_breach"),
            },
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(DeskError::Invalid(errors))
    }
}

/// The form's name of a service error about the `n`th policy sent.
fn form_field(field: &str, rows: &[usize]) -> String {
    let Some(rest) = field.strip_prefix("policies[") else {
        return field.to_string();
    };
    let Some((n, tail)) = rest.split_once(']') else {
        return field.to_string();
    };
    match n.parse::<usize>().ok().and_then(|n| rows.get(n)) {
        Some(row) => format!("policies[{row}]{tail}"),
        None => field.to_string(),
    }
}

/// `POST /desk/admin/sla`: replaces the policies, all or nothing.
async fn save(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let current = match allowed(&viewer, Action::AdministerRouting, PAGE) {
        Ok(current) => current,
        Err(response) => return response,
    };
    let mut sent_rows = Vec::new();
    let result = match policies_of(&form) {
        Ok(policies) => {
            sent_rows = policies.iter().map(|(row, _)| *row).collect();
            let input: Vec<DeskSlaPolicyInput> = policies.into_iter().map(|(_, p)| p).collect();
            admin::save_policies(&app, current.account.id, &input).await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => see_other(&format!("{PAGE}?saved=1")),
        Err(error) => {
            // Every field of every row may carry an error; the template
            // shows each under its own input.
            let mut fields: Vec<String> = vec!["policies".into()];
            let rows: usize = form.get("rows").and_then(|r| r.parse().ok()).unwrap_or(0);
            for i in 0..rows.min(MAX_ROWS) {
                fields.push(format!("policies[{i}]"));
                for f in [
                    "priority",
                    "tier",
                    "channel",
                    "warn_percent",
                    "on_warning",
                    "on_breach",
                ]
                .iter()
                .chain(TARGETS.iter())
                {
                    fields.push(format!("policies[{i}].{f}"));
                }
            }
            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
            show_refusal(
                &viewer,
                error,
                |f| form_field(f, &sent_rows),
                &fields,
                TEMPLATE,
                content(&current, &form),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_in_minutes_or_hours() {
        assert_eq!(minutes("90"), Some(90));
        assert_eq!(minutes(" 90m "), Some(90));
        assert_eq!(minutes("4h"), Some(240));
        assert_eq!(minutes("-5"), Some(-5), "the service says what is wrong");
        assert_eq!(minutes("soon"), None);
        assert_eq!(minutes("999999999999999999h"), None);
    }

    #[test]
    fn service_errors_point_at_the_row_on_the_form() {
        assert_eq!(
            form_field("policies[1].resolution", &[0, 3]),
            "policies[3].resolution"
        );
        assert_eq!(form_field("policies[2]", &[0, 3]), "policies[2]");
        assert_eq!(form_field("policies", &[0]), "policies");
    }
}
