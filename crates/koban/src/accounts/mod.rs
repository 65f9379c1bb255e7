//! Accounts: registration with a verified phone or email, sign-in, sessions,
//! password change and reset.

pub mod api;
pub mod codes;
mod error;
pub mod pages;
pub mod password_hash;
pub mod service;
pub mod sessions;
pub mod store;

pub use error::{AccountError, Lock, LockReference};
pub use store::Account;
