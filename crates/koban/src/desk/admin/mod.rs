//! Desk administration: agents' roles, teams, calendars and SLA policies,
//! category forms and triage phrases. Every change is recorded with who
//! made it.

pub mod calendar_pages;
pub mod forms;
pub mod forms_edit;
pub mod forms_pages;
pub mod phrases;
pub mod phrases_api;
pub mod phrases_pages;
pub mod roles;
pub mod roles_api;
pub mod roles_pages;
pub mod routing;
pub mod routing_api;
pub mod routing_pages;
pub mod sla_pages;
pub mod snapshot;
