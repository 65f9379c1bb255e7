//! The support desk's pure decisions: reference numbers, ticket states,
//! category forms and their completeness, triage, routing and assignment,
//! business-hours clocks and SLA, and the secrets requesters paste.

pub mod attachment;
pub mod calendar;
pub mod canned;
pub mod forms;
pub mod permissions;
pub mod reference;
pub mod routing;
pub mod secrets;
pub mod sla;
pub mod status;
pub mod survey;
pub mod triage;
