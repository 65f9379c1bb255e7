//! Organizations: who may do what (roles and permissions), the rules for
//! changing members, and reading a CSV of people to invite.

pub mod import;
pub mod operations;
pub mod roles;

#[cfg(test)]
mod tests;
