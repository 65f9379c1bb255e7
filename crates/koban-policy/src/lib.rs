//! Koban's pure decisions. Nothing in this crate touches a network, a disk, a
//! clock or a database: callers pass in what they read (including "now") and
//! act on what comes back, so every rule can be read and tested on its own.

pub mod announce;
pub mod audit;
pub mod contact;
pub mod desk;
pub mod device;
pub mod help;
pub mod mail;
pub mod org;
pub mod password;
pub mod privacy;
pub mod risk;
pub mod search;
pub mod text;
pub mod throttle;
