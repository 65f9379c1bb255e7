//! The email channel's pure decisions: which ticket an inbound mail joins
//! (threading), what a mail is (a person, an auto-reply, a list, a bounce),
//! and the shapes of the tokens Koban writes into what it sends (the
//! reference tag in the subject, the per-ticket reply address).

pub mod automation;
pub mod bounce;
pub mod imap;
pub mod language;
pub mod outbound;
pub mod quotes;
pub mod threading;

#[cfg(test)]
mod tests;
