//! The satisfaction report: surveys sent in a range of days (in the
//! reader's time zone), grouped by agent, team, channel or category, with
//! counts per score, CSAT and the median; and its CSV export.

use crate::desk::error::DeskError;
use crate::desk::store::{console as console_store, surveys};
use crate::desk::survey::api::ReportQuery;
use crate::state::App;
use axum::http::HeaderMap;
use jiff::tz::TimeZone;
use koban_policy::audit::csv_safe_cell;
use koban_policy::desk::survey::{range_ms, By, Tally};
use koban_policy::privacy::regions;
use std::collections::BTreeMap;

/// The most lines an export holds: a year of a busy desk's surveys fits.
pub const MAX_EXPORT_ROWS: i64 = 100_000;

/// A report asked for, checked.
#[derive(Debug, Clone)]
pub struct Ask {
    pub by: By,
    pub from_ms: i64,
    pub to_ms: i64,
    pub from: String,
    pub to: String,
    /// The zone the days are read in.
    pub zone: String,
}

impl Ask {
    /// Reads the query: the days in `tz`, else the page's time-zone cookie,
    /// else UTC (as the desk's pages show times).
    pub fn read(query: &ReportQuery, headers: &HeaderMap) -> Result<Ask, DeskError> {
        let by = match query.by.as_deref() {
            None | Some("") => By::Agent,
            Some(name) => By::parse(name).ok_or_else(|| DeskError::field("by", "invalid_value"))?,
        };
        let zone = match query.tz.as_deref().filter(|z| !z.is_empty()) {
            Some(name) => {
                TimeZone::get(name).map_err(|_| DeskError::field("tz", "unknown_time_zone"))?
            }
            None => crate::web::time_zone(headers).unwrap_or(TimeZone::UTC),
        };
        let (from_ms, to_ms) = range_ms(&query.from, &query.to, &zone)
            .map_err(|(field, code)| DeskError::field(field, code))?;
        Ok(Ask {
            by,
            from_ms,
            to_ms,
            from: query.from.trim().to_string(),
            to: query.to.trim().to_string(),
            zone: zone.iana_name().unwrap_or("UTC").to_string(),
        })
    }
}

/// One group's line.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    /// The agent's account id (as text), team slug, channel or category;
    /// null for surveys of tickets without one (no agent, no team).
    pub key: Option<String>,
    /// The agent's email or phone, for `by=agent`.
    pub name: Option<String>,
    /// Answers with score 1, 2, 3, 4 and 5.
    pub counts: [i64; 5],
    pub answered: i64,
    pub sent: i64,
    /// The share of answers that are 4 or 5, in percent, one decimal.
    pub csat_percent: Option<f64>,
    /// The share of surveys answered, in percent, one decimal.
    pub response_percent: Option<f64>,
    pub median: Option<f64>,
}

/// The report.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Report {
    pub by: String,
    pub from: String,
    pub to: String,
    /// The IANA zone the days were read in.
    pub time_zone: String,
    /// Every group, largest first.
    pub rows: Vec<ReportRow>,
    /// All groups together.
    pub total: ReportRow,
}

fn one_decimal(x: Option<f64>) -> Option<f64> {
    x.map(|v| (v * 10.0).round() / 10.0)
}

fn row(key: Option<String>, name: Option<String>, tally: &Tally) -> ReportRow {
    ReportRow {
        key,
        name,
        counts: tally.counts,
        answered: tally.answered(),
        sent: tally.sent,
        csat_percent: one_decimal(tally.csat_percent()),
        response_percent: one_decimal(tally.response_percent()),
        median: tally.median(),
    }
}

/// Builds the report.
pub async fn report(app: &App, ask: &Ask) -> Result<Report, DeskError> {
    let counts = surveys::counts(app.store.read(), ask.by, ask.from_ms, ask.to_ms).await?;
    let mut groups: BTreeMap<Option<String>, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    for (group, score, n) in counts {
        groups.entry(group).or_default().add(score, n);
        total.add(score, n);
    }
    let names: BTreeMap<String, String> = if ask.by == By::Agent {
        console_store::agents(app.store.read())
            .await?
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect()
    } else {
        BTreeMap::new()
    };
    let mut rows: Vec<ReportRow> = groups
        .into_iter()
        .map(|(key, tally)| {
            let name = key.as_ref().and_then(|k| names.get(k).cloned());
            row(key, name, &tally)
        })
        .collect();
    rows.sort_by(|a, b| b.sent.cmp(&a.sent).then_with(|| a.key.cmp(&b.key)));
    Ok(Report {
        by: ask.by.as_str().into(),
        from: ask.from.clone(),
        to: ask.to.clone(),
        time_zone: ask.zone.clone(),
        rows,
        total: row(None, None, &total),
    })
}

/// One CSV field: formula starters prefixed (the audit export's rule),
/// then quoted when it holds a separator, a quote or a line break.
fn field(cell: &str) -> String {
    let safe = csv_safe_cell(cell);
    if safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe
    }
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The regions whose tickets must not be exported (privacy's regional
/// rules, checked at start), for the report page's note.
pub fn withheld_regions(app: &App) -> Vec<String> {
    regions::parse(&app.config.privacy_regional_rules)
        .unwrap_or_default()
        .by_region
        .into_iter()
        .filter(|(_, rule)| !rule.export_tickets)
        .map(|(region, _)| region)
        .collect()
}

/// The export: one line per survey sent in the range, but none of a
/// ticket whose requester's region's tickets must not be exported.
pub async fn csv(app: &App, ask: &Ask) -> Result<String, DeskError> {
    let rules = regions::parse(&app.config.privacy_regional_rules).unwrap_or_default();
    let rows = surveys::export(app.store.read(), ask.from_ms, ask.to_ms, MAX_EXPORT_ROWS).await?;
    let mut out =
        String::from("reference,sent_at,answered_at,score,comment,agent,team,channel,category\r\n");
    for r in rows {
        let region =
            regions::account_region(r.requester_phone.as_deref(), r.requester_country.as_deref());
        if !rules.may_export_tickets(region.as_deref()) {
            continue;
        }
        let cells = [
            crate::desk::tickets::api::formatted(&r.reference),
            rfc3339(r.sent_at),
            r.answered_at.map(rfc3339).unwrap_or_default(),
            r.score.map(|s| s.to_string()).unwrap_or_default(),
            r.comment.unwrap_or_default(),
            r.agent.unwrap_or_default(),
            r.team.unwrap_or_default(),
            r.channel,
            r.category,
        ];
        let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn cells_are_safe_for_spreadsheets() {
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1"), "'+1");
        assert_eq!(field("-1"), "'-1");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("とても良い"), "とても良い");
    }
}
