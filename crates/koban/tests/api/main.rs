//! The integration suite: one test binary (it links once), one module per
//! area. Each scenario runs on SQLite and, when KOBAN_TEST_POSTGRES_URL is
//! set, on PostgreSQL too (`both!`); with CI=true a missing PostgreSQL fails
//! the run instead of skipping.

#[macro_use]
mod support;

mod accounts;
mod announcements;
mod atomic;
mod audit;
mod blobs;
mod browser;
mod chromium;
mod conventions;
mod delivery;
mod demo;
mod desk;
mod desk_admin_pages;
mod desk_attachments;
mod desk_bulk;
mod desk_console_pages;
mod desk_forms;
mod desk_forms_pages;
mod desk_group_commit;
mod desk_library_changes;
mod desk_lookup;
mod desk_lookup_pages;
mod desk_matrix;
mod desk_merge;
mod desk_pages;
mod desk_reports;
mod desk_roles;
mod desk_routing;
mod desk_sla;
mod desk_snapshot;
mod desk_triage_phrases;
mod desk_verification;
mod edges;
mod email_case3;
mod email_console;
mod email_imap;
mod email_ingest;
mod email_outbound;
mod email_review;
mod email_smtp;
mod fuzz;
mod geo;
mod helpcenter;
mod idempotency;
mod jobs;
mod lane;
mod lockout;
mod locks;
mod mmdb;
mod orgs;
mod page_tour;
mod passkeys;
mod privacy;
mod privacy_rules;
mod process;
mod recovery;
mod schema_names;
mod search;
mod security;
mod security_center;
mod security_pages;
mod surveys;
