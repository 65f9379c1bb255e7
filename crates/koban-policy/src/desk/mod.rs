//! The support desk's pure decisions: reference numbers, ticket states,
//! category forms and their completeness, triage, routing and assignment,
//! business-hours clocks and SLA, and the secrets requesters paste.

pub mod attachment;
pub mod calendar;
pub mod canned;
pub mod forms;
pub mod permissions;
pub mod reference;
pub mod report;
pub mod report_backlog;
pub mod report_chart;
pub mod report_csv;
pub mod report_range;
pub mod routing;
pub mod secrets;
pub mod sla;
pub mod status;
pub mod survey;
pub mod triage;
