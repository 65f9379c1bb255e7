//! The security policy page: every rule in words for `policies.read`, and
//! for `policies.manage` a form carrying the version it was read at, so
//! two administrators editing at once cannot overwrite each other unseen.

use super::{done, failed, field, frame, member_of, notice, refusal};
use crate::enterprise::access::Acting;
use crate::enterprise::policies::{self as service, PolicyInput};
use crate::enterprise::store::policies::PolicyRow;
use crate::enterprise::EnterpriseError;
use crate::http::problem::FieldError;
use crate::state::App;
use crate::web::{render, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use koban_policy::org::policy::Policy;
use koban_policy::org::roles::Permission;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

type Posted = BTreeMap<String, String>;

const NOTICES: &[&str] = &["policy-saved"];

/// The form's fields: the API's names, so its reasons land beside them.
const FIELDS: &[&str] = &[
    "two_factor_grace_days",
    "max_devices",
    "allowed_countries",
    "allowed_networks",
    "session_lifetime_minutes",
    "password_max_age_days",
    "min_client_version",
];

pub(super) fn router() -> Router<Arc<App>> {
    Router::new().route("/orgs/{org}/policy", get(page).post(save))
}

/// The form's values for a stored policy: what the form shows before any
/// change is typed.
fn values_of(policy: &Policy) -> Posted {
    let number = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
    let mut values = Posted::new();
    if policy.two_factor_grace_days.is_some() {
        values.insert("two_factor".into(), "on".into());
    }
    values.insert(
        "two_factor_grace_days".into(),
        number(policy.two_factor_grace_days),
    );
    values.insert("max_devices".into(), number(policy.max_devices));
    values.insert(
        "allowed_countries".into(),
        policy.allowed_countries.join(", "),
    );
    values.insert(
        "allowed_networks".into(),
        policy
            .allowed_networks
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    );
    values.insert(
        "session_lifetime_minutes".into(),
        number(policy.session_lifetime_minutes),
    );
    values.insert(
        "password_max_age_days".into(),
        number(policy.password_max_age_days),
    );
    values.insert(
        "min_client_version".into(),
        policy
            .min_client_version
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_default(),
    );
    values
}

/// The page around the stored policy `row`: the rules as the template puts
/// them in words, and the form's `values` (the stored ones, or what was
/// typed) with the `version` the form sends back.
fn content(
    viewer: &Viewer,
    me: &Acting,
    row: &PolicyRow,
    values: Posted,
    version: i64,
) -> minijinja::Value {
    let p = &row.policy;
    context! {
        frame => frame(me, "policy"),
        policy => context! {
            two_factor_grace_days => p.two_factor_grace_days,
            max_devices => p.max_devices,
            allowed_countries => p.allowed_countries,
            allowed_networks => p.allowed_networks.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            session_lifetime_minutes => p.session_lifetime_minutes,
            password_max_age_days => p.password_max_age_days,
            min_client_version => p.min_client_version.as_ref().map(|v| v.to_string()),
            version => row.version,
            updated => row.updated_at.map(|at| viewer.when(at).text),
            two_factor_since => row.two_factor_since.map(|at| viewer.when(at).text),
        },
        values => values,
        version => version,
    }
}

/// `GET /orgs/{org}/policy` (`policies.read`).
async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    Query(query): Query<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let row = match service::get(&app, me.account_id(), me.org.id).await {
        Ok(row) => row,
        Err(error) => return failed(&viewer, error),
    };
    let shown = content(&viewer, &me, &row, values_of(&row.policy), row.version);
    render::page(
        &viewer,
        StatusCode::OK,
        "org_policy.html",
        context! {
            notice => notice(viewer.lang, query.get("notice").map(String::as_str), NOTICES),
            ..shown
        },
    )
}

/// A number field: None when empty; a reason when it is not a whole
/// number, or one no rule could take.
fn number(form: &Posted, name: &str, errors: &mut Vec<FieldError>) -> Option<u32> {
    let text = field(form, name).trim();
    if text.is_empty() {
        return None;
    }
    let code = match text.parse::<i64>() {
        Ok(n) => match u32::try_from(n) {
            Ok(n) => return Some(n),
            Err(_) => "out_of_range",
        },
        Err(_) => "not_a_number",
    };
    errors.push(FieldError {
        field: name.to_string(),
        code,
    });
    None
}

/// The entries of a list field: separated by commas, spaces or lines.
fn entries(form: &Posted, name: &str) -> Vec<String> {
    field(form, name)
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// The policy the form asks for, or every field's reason. The service
/// reads it as it reads the API's body; the form adds only what is its
/// own (numbers typed as text, the two-step box and its days).
fn read_form(form: &Posted) -> Result<Policy, Vec<FieldError>> {
    let mut errors = Vec::new();
    let grace = number(form, "two_factor_grace_days", &mut errors);
    let two_factor = field(form, "two_factor") == "on";
    if two_factor && grace.is_none() && errors.is_empty() {
        errors.push(FieldError {
            field: "two_factor_grace_days".into(),
            code: "required",
        });
    }
    let input = PolicyInput {
        two_factor_grace_days: grace.filter(|_| two_factor),
        max_devices: number(form, "max_devices", &mut errors),
        allowed_countries: entries(form, "allowed_countries"),
        allowed_networks: entries(form, "allowed_networks"),
        session_lifetime_minutes: number(form, "session_lifetime_minutes", &mut errors),
        password_max_age_days: number(form, "password_max_age_days", &mut errors),
        min_client_version: Some(field(form, "min_client_version").to_string()),
    };
    match service::read_input(input) {
        Ok(policy) if errors.is_empty() => Ok(policy),
        Ok(_) => Err(errors),
        Err(more) => {
            errors.extend(more);
            Err(errors)
        }
    }
}

/// `POST /orgs/{org}/policy` (`policies.manage`): replaces the policy,
/// unless it changed since the form's `version` was read.
async fn save(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    // Refused before reading the form: someone who may not change the
    // policy learns nothing from its checks.
    if let Err(error) = me.may(Permission::ManagePolicies) {
        return failed(&viewer, error);
    }
    let expected = field(&form, "version").trim().parse::<i64>().ok();
    let result = match read_form(&form) {
        Ok(wanted) => service::set(&app, me.account_id(), me.org.id, wanted, expected)
            .await
            .map(|_| ()),
        Err(errors) => Err(EnterpriseError::Invalid(errors)),
    };
    let error = match result {
        Ok(()) => return done(&format!("/orgs/{}/policy", me.org.id), "policy-saved"),
        Err(error) => error,
    };
    let row = match service::get(&app, me.account_id(), me.org.id).await {
        Ok(row) => row,
        Err(error) => return failed(&viewer, error),
    };
    // After a conflict the form keeps what was typed but now carries the
    // version shown above it: saving again is a choice made having seen
    // the other change. Otherwise it keeps the version it was read at.
    let version = match (&error, expected) {
        (EnterpriseError::Conflict(_), _) | (_, None) => row.version,
        (_, Some(v)) => v,
    };
    let shown = content(&viewer, &me, &row, form, version);
    refusal(&viewer, error, "org_policy.html", FIELDS, shown)
}

#[cfg(test)]
mod tests {
    /// The settings pages render with nothing to show in every language
    /// (the console's own test stops at the first template that fails, so
    /// these are checked on their own too).
    #[test]
    fn the_settings_pages_render_empty_in_every_language() {
        let templates = crate::app::domains()
            .iter()
            .flat_map(|d| d.templates.iter().copied())
            .collect();
        crate::web::render::register(templates);
        for lang in crate::web::i18n::Lang::ALL {
            for name in [
                "org_policy.html",
                "org_devices.html",
                "org_roles.html",
                "org_domains.html",
            ] {
                let html = crate::web::render::render_empty(name, lang)
                    .unwrap_or_else(|e| panic!("{name} in {lang:?}: {e:#}"));
                assert!(
                    html.contains(&format!("<html lang=\"{}\"", lang.tag())),
                    "{name}"
                );
            }
        }
    }
}
