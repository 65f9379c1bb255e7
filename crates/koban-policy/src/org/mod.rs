//! Organizations: who may do what (roles and permissions) and the rules
//! for changing members.

pub mod operations;
pub mod roles;

#[cfg(test)]
mod tests;
