//! Organizations: who may do what (roles and permissions), the rules for
//! changing members, the email domains they may claim, reading a CSV of people to invite, the security
//! policies an organization sets for its members, access reviews, and the
//! members' security onboarding.

pub mod domains;
pub mod import;
pub mod onboarding;
pub mod operations;
pub mod policy;
pub mod review;
pub mod roles;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_domains;
#[cfg(test)]
mod tests_onboarding;
#[cfg(test)]
mod tests_policy;
#[cfg(test)]
mod tests_review;
