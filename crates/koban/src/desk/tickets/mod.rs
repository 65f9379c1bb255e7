//! Tickets themselves: opening one (triage, routing, the security context
//! and the acknowledgement), the conversation, merge and split, and the
//! requester's pages and API.

pub mod api;
pub mod committer;
pub mod context;
pub mod custom_fields;
pub mod deflection;
pub mod ids;
mod mail_files;
pub mod mail_identity;
pub mod merge;
pub mod notify;
mod opening;
pub mod pages;
pub mod service;
pub mod support_line;
pub mod triage;
