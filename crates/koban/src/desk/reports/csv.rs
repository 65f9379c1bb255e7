//! A report as CSV: one row per group under a header of stable English
//! column names (a spreadsheet formula refers to them), durations in
//! minutes, every cell formula-safe (`koban_policy::desk::report_csv`).

use super::{percent, Figures, Scope};
use koban_policy::desk::report::{Attainment, Stats};
use koban_policy::desk::report_csv::{line, minutes};

fn stats(s: &Stats) -> [String; 3] {
    [s.count.to_string(), minutes(s.median_ms), minutes(s.p90_ms)]
}

fn attainment(a: &Attainment) -> [String; 4] {
    [
        a.met.to_string(),
        a.breached.to_string(),
        a.pending.to_string(),
        percent(a.permille()),
    ]
}

/// The figures of `scope` as a CSV file.
pub fn csv(scope: &Scope, figures: &Figures) -> String {
    let by = scope.by.as_str();
    let mut out = String::new();
    match figures {
        Figures::Volume(_, groups) => {
            out.push_str(&line(&[by, "tickets"]));
            for g in groups {
                out.push_str(&line(&[g.key.clone(), g.tickets.to_string()]));
            }
        }
        Figures::Times(_, groups) => {
            out.push_str(&line(&[
                by,
                "tickets",
                "first_responses",
                "first_response_median_minutes",
                "first_response_p90_minutes",
                "resolutions",
                "resolution_median_minutes",
                "resolution_p90_minutes",
            ]));
            for g in groups {
                let mut cells = vec![g.key.clone(), g.tickets.to_string()];
                cells.extend(stats(&g.value.first_response));
                cells.extend(stats(&g.value.resolution));
                out.push_str(&line(&cells));
            }
        }
        Figures::Sla(_, groups) => {
            out.push_str(&line(&[
                by,
                "tickets",
                "first_response_met",
                "first_response_breached",
                "first_response_pending",
                "first_response_attainment_percent",
                "resolution_met",
                "resolution_breached",
                "resolution_pending",
                "resolution_attainment_percent",
            ]));
            for g in groups {
                let mut cells = vec![g.key.clone(), g.tickets.to_string()];
                cells.extend(attainment(&g.value.first_response));
                cells.extend(attainment(&g.value.resolution));
                out.push_str(&line(&cells));
            }
        }
        Figures::Backlog(open) => {
            out.push_str(&line(&["day", "open"]));
            for (day, open) in scope.range.days().iter().zip(open) {
                out.push_str(&line(&[day.to_string(), open.to_string()]));
            }
        }
        Figures::Triage(_, groups) => {
            out.push_str(&line(&[
                "category",
                "triaged",
                "corrected",
                "corrected_percent",
            ]));
            for g in groups {
                let share =
                    koban_policy::desk::report::share_permille(g.value.corrected, g.tickets);
                out.push_str(&line(&[
                    g.key.clone(),
                    g.tickets.to_string(),
                    g.value.corrected.to_string(),
                    percent(share),
                ]));
            }
        }
    }
    out
}
