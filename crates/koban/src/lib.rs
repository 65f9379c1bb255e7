//! Koban: the support desk and account-security center. The binary's
//! subcommands live in `main.rs`; everything else is here so the test suite
//! can start the real application in-process.

// First, so its `choices!` macro is in scope in every domain.
#[macro_use]
pub mod http;
pub mod accounts;
pub mod allocator;
pub mod announcements;
pub mod app;
pub mod audit;
pub mod blobs;
pub mod channels;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod demo;
pub mod desk;
pub mod dns;
pub mod domain;
pub mod enterprise;
pub mod helpcenter;
pub mod jobs;
pub mod ops;
pub mod privacy;
pub mod search;
pub mod security;
pub mod state;
pub mod store;
pub mod web;
