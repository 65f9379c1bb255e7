//! Which team a new ticket goes to, and which agent of that team takes it.
//!
//! Both are pure and deterministic: the same facts give the same answer on
//! every node, so a retried job or a second node never routes a ticket
//! differently, and a supervisor can replay a decision from what was stored.
//! The caller reads the teams, their business-hours state and the agents'
//! loads, and stores what comes back.
#![warn(missing_docs)]

mod agent;
mod team;

#[cfg(test)]
mod tests;

pub use agent::{choose_agent, AgentLoad};
pub use team::{
    language_match, route, CategoryMatch, Decider, LanguageMatch, RouteDecision, RouteReason, Team,
    TicketFacts,
};
