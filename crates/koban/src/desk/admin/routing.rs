//! Desk administration: teams and their members, calendars and SLA
//! policies. Every input is checked whole before anything is written, and
//! every change is logged with who made it (`desk_admin_changes`).

use crate::desk::error::DeskError;
use crate::desk::routing::recompute;
use crate::desk::store::routing::{self as rstore, TeamFields};
use crate::desk::store::settings::{self, PolicyRow};
use crate::desk::store::{self};
use crate::http::problem::FieldError;
use crate::state::App;
use crate::store::now_ms;
use koban_policy::desk::calendar::{Calendar, CalendarError, CalendarSpec};
use koban_policy::desk::forms::Category;
use koban_policy::desk::sla::{self, SlaError};

/// A team as an admin writes it.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskTeamInput {
    /// Lowercase letters, digits and hyphens; what tickets store.
    #[schema(min_length = 1, max_length = 40, pattern = "^[a-z0-9-]+$")]
    pub slug: String,
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// BCP 47 tags (`ja`, `zh-TW`).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub languages: Vec<String>,
    /// ISO 3166 alpha-2 codes (`JP`).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub regions: Vec<String>,
    /// Categories it handles; none means every category.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub categories: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub skills: Vec<String>,
    /// The calendar its business hours follow.
    pub calendar_id: i64,
    /// The enterprise line's queue: takes enterprise-tier tickets only.
    #[serde(default)]
    pub enterprise_queue: bool,
}

/// A list field of a team: its name, its values, how many it may have,
/// and what each value must be.
type ListRule<'a> = (&'a str, &'a Vec<String>, usize, fn(&str) -> bool);

fn bad(field: String, code: &'static str) -> FieldError {
    FieldError { field, code }
}

/// Checks a team; every problem at once.
pub fn check_team(team: &DeskTeamInput) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let slug_ok = (1..=40).contains(&team.slug.len())
        && team
            .slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !slug_ok {
        errors.push(bad("slug".into(), "invalid_value"));
    }
    let name = team.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(bad("name".into(), "invalid_value"));
    }
    let lists: [ListRule<'_>; 4] = [
        ("languages", &team.languages, 20, |l| {
            (2..=16).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }),
        ("regions", &team.regions, 50, |r| {
            r.len() == 2 && r.bytes().all(|b| b.is_ascii_alphabetic())
        }),
        ("categories", &team.categories, 20, |c| {
            Category::parse(c).is_ok()
        }),
        ("skills", &team.skills, 20, |s| {
            (1..=40).contains(&s.chars().count()) && !s.chars().any(char::is_control)
        }),
    ];
    for (field, values, most, ok) in lists {
        if values.len() > most {
            errors.push(bad(field.into(), "too_many"));
        }
        for (i, value) in values.iter().enumerate() {
            if !ok(value) {
                errors.push(bad(format!("{field}[{i}]"), "invalid_value"));
            }
        }
    }
    errors
}

/// Adds (`create`) or rewrites a team, logged.
pub async fn save_team(
    app: &App,
    actor: i64,
    team: &DeskTeamInput,
    create: bool,
) -> Result<(), DeskError> {
    let errors = check_team(team);
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    let calendars = settings::calendars(app.store.read()).await?;
    if !calendars.iter().any(|c| c.id == team.calendar_id) {
        return Err(DeskError::field("calendar_id", "invalid_value"));
    }
    let regions: Vec<String> = team
        .regions
        .iter()
        .map(|r| r.to_ascii_uppercase())
        .collect();
    let fields = TeamFields {
        slug: &team.slug,
        name: team.name.trim(),
        languages: &team.languages,
        regions: &regions,
        categories: &team.categories,
        skills: &team.skills,
        calendar_id: team.calendar_id,
        enterprise_queue: team.enterprise_queue,
    };
    // A team moved to another calendar moves its open tickets' clocks.
    let calendar_moved = !create
        && rstore::team(app.store.read(), &team.slug)
            .await?
            .is_some_and(|before| before.calendar_id != team.calendar_id);
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let done = if create {
        rstore::insert_team(&mut tx, &fields, now).await?
    } else {
        rstore::update_team(&mut tx, &fields, now).await?
    };
    if !done {
        tx.rollback().await?;
        return Err(if create {
            DeskError::AdminConflict
        } else {
            DeskError::NotFound
        });
    }
    let detail = serde_json::to_value(team).unwrap_or_default();
    let action = if create { "created" } else { "updated" };
    settings::record_change(&mut tx, actor, "team", &team.slug, action, &detail, now).await?;
    if calendar_moved {
        recompute::enqueue(&mut tx).await?;
    }
    tx.commit().await?;
    crate::desk::admin::snapshot::changed(app);
    app.jobs_wakeup.notify_one();
    Ok(())
}

/// Removes a team (never the default one), logged.
pub async fn delete_team(app: &App, actor: i64, slug: &str) -> Result<(), DeskError> {
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    if !rstore::delete_team(&mut tx, slug).await? {
        tx.rollback().await?;
        return Err(DeskError::NotFound);
    }
    let detail = serde_json::json!({});
    settings::record_change(&mut tx, actor, "team", slug, "deleted", &detail, now).await?;
    tx.commit().await?;
    crate::desk::admin::snapshot::changed(app);
    Ok(())
}

/// A member's settings.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskMemberInput {
    /// The most open tickets routing gives this agent; 0 gives none.
    #[schema(minimum = 0, maximum = 1000)]
    pub cap: i64,
    /// Takes tickets from routing now.
    #[serde(default = "yes")]
    pub available: bool,
}

fn yes() -> bool {
    true
}

/// Adds an agent to a team or changes their cap, logged.
pub async fn save_member(
    app: &App,
    actor: i64,
    slug: &str,
    account_id: i64,
    member: &DeskMemberInput,
) -> Result<(), DeskError> {
    let team = rstore::team(app.store.read(), slug)
        .await?
        .ok_or(DeskError::NotFound)?;
    if !(0..=1000).contains(&member.cap) {
        return Err(DeskError::field("cap", "out_of_range"));
    }
    if !store::is_agent(app.store.read(), account_id).await? {
        return Err(DeskError::field("account_id", "invalid_value"));
    }
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    rstore::upsert_member(&mut tx, team.id, account_id, member.cap, member.available).await?;
    let detail = serde_json::json!({ "account_id": account_id, "cap": member.cap, "available": member.available });
    settings::record_change(&mut tx, actor, "team_member", slug, "saved", &detail, now).await?;
    tx.commit().await?;
    crate::desk::admin::snapshot::changed(app);
    Ok(())
}

/// Takes an agent out of a team, logged.
pub async fn delete_member(
    app: &App,
    actor: i64,
    slug: &str,
    account_id: i64,
) -> Result<(), DeskError> {
    let team = rstore::team(app.store.read(), slug)
        .await?
        .ok_or(DeskError::NotFound)?;
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    if !rstore::delete_member(&mut tx, team.id, account_id).await? {
        tx.rollback().await?;
        return Err(DeskError::NotFound);
    }
    let detail = serde_json::json!({ "account_id": account_id });
    settings::record_change(&mut tx, actor, "team_member", slug, "deleted", &detail, now).await?;
    tx.commit().await?;
    crate::desk::admin::snapshot::changed(app);
    Ok(())
}

/// Reads and checks a calendar spec: the reason a person can act on,
/// under the part of the spec it is about.
pub fn check_calendar(spec: &serde_json::Value) -> Result<Calendar, DeskError> {
    let parsed: CalendarSpec =
        serde_json::from_value(spec.clone()).map_err(|_| misread_calendar(spec))?;
    Calendar::new(parsed).map_err(|e| match e {
        CalendarError::UnknownZone(_) => DeskError::field("spec.zone", "unknown_time_zone"),
        CalendarError::HolidayAndOverride(_) => DeskError::field("spec.holidays", "duplicate"),
        CalendarError::TooManyDates => DeskError::field("spec.holidays", "too_many"),
        _ => DeskError::field("spec.week", "invalid_hours"),
    })
}

/// Where a spec that does not read as one went wrong: a date that is not
/// a date belongs under `holidays` (or `overrides`), not under the hours.
fn misread_calendar(spec: &serde_json::Value) -> DeskError {
    use serde_json::Value;
    const KNOWN: [&str; 4] = ["zone", "week", "holidays", "overrides"];
    let is_date = |s: &str| s.parse::<jiff::civil::Date>().is_ok();
    let Some(object) = spec.as_object() else {
        return DeskError::field("spec", "invalid_type");
    };
    if let Some(key) = object.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return DeskError::field(&format!("spec.{key}"), "unknown_field");
    }
    if !object.get("zone").is_some_and(Value::is_string) {
        return DeskError::field("spec.zone", "unknown_time_zone");
    }
    let holidays_read = match object.get("holidays") {
        None => true,
        Some(Value::Array(dates)) => dates.iter().all(|d| d.as_str().is_some_and(is_date)),
        Some(_) => false,
    };
    if !holidays_read {
        return DeskError::field("spec.holidays", "not_a_date");
    }
    let overrides_read = match object.get("overrides") {
        None => true,
        Some(Value::Object(dates)) => dates.keys().all(|d| is_date(d)),
        Some(_) => false,
    };
    if !overrides_read {
        return DeskError::field("spec.overrides", "not_a_date");
    }
    DeskError::field("spec.week", "invalid_hours")
}

/// Adds (`id` None) or replaces a calendar, logged; its id.
pub async fn save_calendar(
    app: &App,
    actor: i64,
    id: Option<i64>,
    name: &str,
    spec: &serde_json::Value,
) -> Result<i64, DeskError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DeskError::field("name", "invalid_value"));
    }
    let calendar = check_calendar(spec)?;
    let replacing = id.is_some();
    let text =
        serde_json::to_string(calendar.spec()).map_err(|e| DeskError::Internal(e.to_string()))?;
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    let id = match id {
        None => match settings::insert_calendar(&mut tx, name, &text, now).await? {
            Some(id) => id,
            None => {
                tx.rollback().await?;
                return Err(DeskError::AdminConflict);
            }
        },
        Some(id) => {
            if !settings::update_calendar(&mut tx, id, &text, now).await? {
                tx.rollback().await?;
                return Err(DeskError::NotFound);
            }
            id
        }
    };
    let detail = serde_json::json!({ "name": name, "spec": calendar.spec() });
    settings::record_change(
        &mut tx,
        actor,
        "calendar",
        &id.to_string(),
        "saved",
        &detail,
        now,
    )
    .await?;
    // New hours move the clocks of open tickets whose team counts in them.
    if replacing {
        recompute::enqueue(&mut tx).await?;
    }
    tx.commit().await?;
    crate::desk::admin::snapshot::changed(app);
    app.jobs_wakeup.notify_one();
    Ok(id)
}

/// One SLA policy as an admin writes it; an absent criterion matches any.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskSlaPolicyInput {
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: Option<String>,
    /// `standard` or `enterprise`.
    pub tier: Option<String>,
    /// `web`, `email`, `chat`, `phone`, `line` or `api`.
    pub channel: Option<String>,
    /// Business minutes, 1 to 527040.
    #[schema(minimum = 1, maximum = 527040)]
    pub first_response: Option<i64>,
    #[schema(minimum = 1, maximum = 527040)]
    pub next_response: Option<i64>,
    #[schema(minimum = 1, maximum = 527040)]
    pub resolution: Option<i64>,
    /// Percent of a target at which the warning escalation runs.
    #[serde(default = "default_warn")]
    #[schema(minimum = 1, maximum = 100)]
    pub warn_percent: i64,
    /// Any of `raise_priority`, `notify_supervisor`, `reassign`.
    #[serde(default)]
    pub on_warning: Vec<String>,
    #[serde(default)]
    pub on_breach: Vec<String>,
}

fn default_warn() -> i64 {
    75
}

impl From<&DeskSlaPolicyInput> for PolicyRow {
    fn from(p: &DeskSlaPolicyInput) -> PolicyRow {
        PolicyRow {
            priority: p.priority.clone(),
            tier: p.tier.clone(),
            channel: p.channel.clone(),
            first_response: p.first_response,
            next_response: p.next_response,
            resolution: p.resolution,
            warn_percent: p.warn_percent,
            on_warning: p.on_warning.clone(),
            on_breach: p.on_breach.clone(),
        }
    }
}

/// Checks the whole list; every problem at once, each named by its place.
pub fn check_policies(input: &[DeskSlaPolicyInput]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if input.len() > 100 {
        errors.push(bad("policies".into(), "too_many"));
    }
    let mut parsed = Vec::new();
    for (i, p) in input.iter().enumerate() {
        let at = |f: &str| format!("policies[{i}].{f}");
        for (name, value) in [
            ("first_response", p.first_response),
            ("next_response", p.next_response),
            ("resolution", p.resolution),
        ] {
            if value.is_some_and(|m| !(1..=i64::from(sla::MAX_TARGET_MINUTES)).contains(&m)) {
                errors.push(bad(at(name), "out_of_range"));
            }
        }
        if !(1..=100).contains(&p.warn_percent) {
            errors.push(bad(at("warn_percent"), "out_of_range"));
        }
        for (name, actions) in [("on_warning", &p.on_warning), ("on_breach", &p.on_breach)] {
            if actions.len() > 3
                || actions
                    .iter()
                    .any(|a| !crate::desk::routing::sla::ACTIONS.contains(&a.as_str()))
            {
                errors.push(bad(at(name), "invalid_value"));
            }
        }
        match crate::desk::routing::sla::as_policy(&PolicyRow::from(p)) {
            Some(policy) => parsed.push(policy),
            None => errors.push(bad(at("priority"), "invalid_value")),
        }
    }
    if errors.is_empty() {
        if let Err(SlaError::DuplicatePolicy { second, .. }) = sla::check_policies(&parsed) {
            errors.push(bad(format!("policies[{second}]"), "duplicate"));
        } else if sla::check_policies(&parsed).is_err() {
            errors.push(bad("policies".into(), "out_of_range"));
        }
    }
    errors
}

/// Replaces the SLA policies, logged. Open tickets take the new targets
/// through a queued recompute, committed with the change.
pub async fn save_policies(
    app: &App,
    actor: i64,
    input: &[DeskSlaPolicyInput],
) -> Result<(), DeskError> {
    let errors = check_policies(input);
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    let rows: Vec<PolicyRow> = input.iter().map(PolicyRow::from).collect();
    let now = now_ms();
    let mut tx = app.store.write().begin().await?;
    settings::replace_policies(&mut tx, &rows, now).await?;
    let detail = serde_json::to_value(input).unwrap_or_default();
    settings::record_change(
        &mut tx,
        actor,
        "sla_policies",
        "all",
        "replaced",
        &detail,
        now,
    )
    .await?;
    recompute::enqueue(&mut tx).await?;
    tx.commit().await?;
    crate::desk::admin::snapshot::changed(app);
    app.jobs_wakeup.notify_one();
    Ok(())
}
