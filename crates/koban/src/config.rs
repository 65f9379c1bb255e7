//! Configuration: built-in defaults, then `koban.toml`, then `KOBAN_…`
//! variables, then command-line flags, each overriding the one before.
//! Every key is listed once, with its meaning, in [`KEYS`]; `koban config`
//! prints the effective values and docs/configuration.md is generated from
//! the same table (a test keeps them equal).
//!
//! Hand-written rather than `figment`: given the same layers (defaults,
//! `Toml::file`, `Env::prefixed("KOBAN_")`) figment names a key in capitals
//! (`SMTP_PORT`, which the tests' `smtp_port` does not match), lists every
//! key for an unknown one, drops "not true or false", and refuses
//! `KOBAN_SMTP_PASSWORD=123456` or `KOBAN_SMS_SENDER_ID=true` (it reads them
//! as a number and a boolean). `koban-bench config-layers`, 2026-12-04.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The effective configuration of one Koban process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub data_dir: String,
    pub public_url: String,
    pub support_url: String,
    pub webauthn_rp_id: String,
    pub webauthn_origin: String,
    pub log_format: String,
    pub log_level: String,
    pub database_max_connections: u32,
    pub database_sign_in_waits_for_flush: bool,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub max_body_bytes: usize,
    pub request_timeout_seconds: u64,
    pub rate_limit_ip_per_minute: i64,
    pub rate_limit_account_per_minute: i64,
    pub delivery_mode: String,
    pub mail_from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: String,
    pub smtp_username: String,
    pub smtp_password: String,
    pub sms_url: String,
    pub sms_secret: String,
    pub sms_sender_id: String,
    pub job_poll_milliseconds: u64,
    pub job_lease_seconds: i64,
    pub trusted_proxies: String,
    pub geoip_database: String,
    pub dns_resolver: String,
    pub max_devices: i64,
    pub device_limit_window_days: i64,
    pub login_history_days: i64,
    pub password_max_age_days: i64,
    pub device_stale_days: i64,
    pub risk_lock_after_failures: u32,
    pub risk_lock_base_seconds: i64,
    pub risk_lock_max_seconds: i64,
    pub risk_support_lock_after_failures: u32,
    pub risk_failure_memory_hours: i64,
    pub risk_ip_failure_window_hours: i64,
    pub risk_ip_failure_limit: u32,
    pub risk_ip_suspicious_failures: u32,
    pub risk_ip_allow: String,
    pub risk_ip_block: String,
    pub risk_max_travel_km_per_h: f64,
    pub risk_travel_tolerance_km: f64,
    pub risk_device_churn_count: u32,
    pub risk_device_churn_window_hours: i64,
    pub risk_min_client_version: String,
    pub risk_step_up_score: u8,
    pub risk_refusal_cache_seconds: i64,
    pub second_factor_lock_after_failures: i64,
    pub second_factor_lock_minutes: i64,
    pub blob_store: String,
    pub desk_identity_document_days: i64,
    pub desk_open_batch: usize,
    pub email_addresses: String,
    pub email_smtp_listen: String,
    pub email_smtp_tls_cert: String,
    pub email_smtp_tls_key: String,
    pub email_max_message_bytes: usize,
    pub email_unknown_sender: String,
    pub email_raw_retention_days: i64,
    pub email_sender_limit_per_hour: i64,
    pub email_trusted_authserv_ids: String,
    pub email_smtp_timeout_seconds: u64,
    pub email_smtp_data_timeout_seconds: u64,
    pub email_smtp_max_connections: usize,
    pub email_imap_host: String,
    pub email_imap_port: u16,
    pub email_imap_security: String,
    pub email_imap_tls_ca: String,
    pub email_imap_user: String,
    pub email_imap_password: String,
    pub email_imap_mailboxes: String,
    pub email_imap_poll_seconds: u64,
    pub email_imap_lease_seconds: u64,
    pub email_imap_start: String,
    pub email_attachments_max_bytes: u64,
    pub privacy_deletion_grace_days: i64,
    pub privacy_export_link_days: i64,
    pub privacy_keep_ticket_text: bool,
    pub privacy_delivery_days: i64,
    pub privacy_ticket_days: i64,
    pub privacy_attachment_days: i64,
    pub privacy_audit_days: i64,
    pub privacy_regional_rules: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://koban.db".into(),
            data_dir: "./koban-data".into(),
            public_url: String::new(),
            support_url: String::new(),
            webauthn_rp_id: String::new(),
            webauthn_origin: String::new(),
            log_format: "text".into(),
            log_level: "info".into(),
            database_max_connections: 16,
            database_sign_in_waits_for_flush: false,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            session_idle_minutes: 7 * 24 * 60,
            session_absolute_hours: 30 * 24,
            max_body_bytes: 1024 * 1024,
            request_timeout_seconds: 30,
            rate_limit_ip_per_minute: 600,
            rate_limit_account_per_minute: 30,
            delivery_mode: "outbox".into(),
            mail_from: "Koban <no-reply@koban.localhost>".into(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: "starttls".into(),
            smtp_username: String::new(),
            smtp_password: String::new(),
            sms_url: String::new(),
            sms_secret: String::new(),
            sms_sender_id: "Koban".into(),
            job_poll_milliseconds: 500,
            job_lease_seconds: 60,
            trusted_proxies: String::new(),
            geoip_database: String::new(),
            dns_resolver: String::new(),
            max_devices: 5,
            device_limit_window_days: 30,
            login_history_days: 180,
            password_max_age_days: 365,
            device_stale_days: 90,
            risk_lock_after_failures: 5,
            risk_lock_base_seconds: 60,
            risk_lock_max_seconds: 3600,
            risk_support_lock_after_failures: 30,
            risk_failure_memory_hours: 12,
            risk_ip_failure_window_hours: 24,
            risk_ip_failure_limit: 100,
            risk_ip_suspicious_failures: 20,
            risk_ip_allow: String::new(),
            risk_ip_block: String::new(),
            risk_max_travel_km_per_h: 1000.0,
            risk_travel_tolerance_km: 100.0,
            risk_device_churn_count: 3,
            risk_device_churn_window_hours: 24,
            risk_min_client_version: String::new(),
            risk_step_up_score: 50,
            risk_refusal_cache_seconds: 2,
            second_factor_lock_after_failures: 5,
            second_factor_lock_minutes: 15,
            blob_store: String::new(),
            desk_identity_document_days: 14,
            desk_open_batch: 32,
            email_addresses: String::new(),
            email_smtp_listen: String::new(),
            email_smtp_tls_cert: String::new(),
            email_smtp_tls_key: String::new(),
            email_max_message_bytes: 25 * 1024 * 1024,
            email_unknown_sender: "new_ticket".into(),
            email_raw_retention_days: 30,
            email_sender_limit_per_hour: 30,
            email_trusted_authserv_ids: String::new(),
            email_smtp_timeout_seconds: 300,
            email_smtp_data_timeout_seconds: 600,
            email_smtp_max_connections: 100,
            email_imap_host: String::new(),
            email_imap_port: 0,
            email_imap_security: "tls".into(),
            email_imap_tls_ca: String::new(),
            email_imap_user: String::new(),
            email_imap_password: String::new(),
            email_imap_mailboxes: "INBOX".into(),
            email_imap_start: "all".into(),
            email_imap_poll_seconds: 60,
            email_imap_lease_seconds: 60,
            email_attachments_max_bytes: 20 * 1024 * 1024,
            privacy_deletion_grace_days: 14,
            privacy_export_link_days: 7,
            privacy_keep_ticket_text: false,
            privacy_delivery_days: 365,
            privacy_ticket_days: 0,
            privacy_attachment_days: 0,
            privacy_audit_days: 0,
            privacy_regional_rules: String::new(),
        }
    }
}

/// Every key with what it means. Order is the order of the docs.
pub const KEYS: &[(&str, &str)] = &[
    ("listen", "Address and port the HTTP server binds."),
    ("database_url", "`sqlite://PATH` (created if missing, WAL mode) or `postgres://USER@HOST/DB`."),
    ("data_dir", "Folder for the server key, attachments and the search index."),
    ("public_url", "The URL people reach Koban at, used in links in mail. Empty: `http://` + `listen`."),
    ("support_url", "Where people reach support when they cannot help themselves (an `https://` page or a `mailto:` address), linked from the lock page with the lock's reference. Empty: Koban's own support form (`/support`), opened on the sign-in category with the lock's reference."),
    ("webauthn_rp_id", "Passkeys' relying-party id: the domain passkeys are bound to, `webauthn_origin`'s host or a parent of it. Changing it later orphans every registered passkey. Empty: the origin's host."),
    ("webauthn_origin", "The origin browsers use passkeys from, such as `https://koban.example.com`. Empty: the origin of `public_url`, with `localhost` in place of an IP address (browsers refuse passkeys on IP addresses). On `localhost` any port is accepted."),
    ("log_format", "`text` for people, `json` for log collectors."),
    ("log_level", "A tracing filter such as `info` or `koban=debug,info`."),
    ("database_max_connections", "Database connections at most. SQLite: readers, beside its one writer. PostgreSQL: a quarter of them (rounded down) kept for the statements of every sign-in and session lookup, the rest the pool."),
    ("database_sign_in_waits_for_flush", "PostgreSQL: whether a sign-in from a device the account has bound waits, before its answer, for its writes (the session, the history row, the device's last use) to reach the disk in the write-ahead log. `false`: they commit asynchronously, as SQLite's WAL mode does every commit; a crash of the database server or its machine (not of Koban) can lose the last ~0.6 s of them, whose sessions then need a new sign-in. Failure counters, locks and every other write always wait."),
    ("argon2_memory_kib", "Argon2id memory per password hash, KiB. OWASP minimum 19456. Raising it re-hashes each password at its next sign-in."),
    ("argon2_iterations", "Argon2id passes (t). OWASP minimum 2 at 19 MiB."),
    ("argon2_parallelism", "Argon2id lanes (p)."),
    ("session_idle_minutes", "A session unused this long ends."),
    ("session_absolute_hours", "A session ends this long after sign-in, used or not."),
    ("max_body_bytes", "Largest request body accepted; larger gets 413."),
    ("request_timeout_seconds", "A request still running after this gets 503."),
    ("rate_limit_ip_per_minute", "Requests per client IP per minute before 429 (a burst of the same size is allowed)."),
    ("rate_limit_account_per_minute", "Sign-in and code requests per account identifier per minute before 429."),
    ("delivery_mode", "`outbox`: codes and mail go to the development outbox that administrators read (nothing leaves the machine). `live`: email over SMTP and SMS over the HTTP provider."),
    ("mail_from", "From address of outbound mail."),
    ("smtp_host", "SMTP relay host for outbound mail (live mode)."),
    ("smtp_port", "SMTP relay port."),
    ("smtp_tls", "`starttls`, `tls` (implicit, port 465) or `none` (local relays only)."),
    ("smtp_username", "SMTP user; empty for none."),
    ("smtp_password", "SMTP password (masked by `koban config`)."),
    ("sms_url", "SMS provider endpoint: Koban POSTs a JSON body signed with HMAC-SHA256 in `X-Koban-Signature`."),
    ("sms_secret", "Shared secret for signing SMS requests and checking delivery callbacks (masked)."),
    ("sms_sender_id", "Sender name shown on SMS."),
    ("job_poll_milliseconds", "How often an idle worker looks for due jobs."),
    ("job_lease_seconds", "How long a claimed job is held before another process may take it over."),
    ("trusted_proxies", "Comma-separated addresses or CIDR blocks of reverse proxies whose `X-Forwarded-For` is believed. Empty: the header is ignored and the peer address is the client."),
    ("geoip_database", "Path to a MaxMind-format `.mmdb` (GeoLite2-City or compatible). Empty: country and location read \"unknown\" and the geographic risk signals are off."),
    ("dns_resolver", "The DNS resolver (`host:port`, port 53 if absent) asked for the TXT record that proves an organization owns an email domain. Empty: the first `nameserver` of /etc/resolv.conf."),
    ("max_devices", "Devices that may hold a place on an account at once; a sign-in from one more must first sign one out. A device holds a place while it is signed in or for `device_limit_window_days` after its last use (see docs/risk.md)."),
    ("device_limit_window_days", "How long after its last use a signed-out device still holds its place under `max_devices` (0: only signed-in devices count). Older devices stay listed but leave room."),
    ("login_history_days", "Sign-in attempts are kept this long, then pruned by a job."),
    ("password_max_age_days", "A password older than this earns a reminder to change it (0: never)."),
    ("device_stale_days", "A device unused this long earns a reminder to review it."),
    ("risk_lock_after_failures", "Consecutive wrong passwords that start a temporary lock (Keycloak: 30; Auth0: 10). See docs/risk.md."),
    ("risk_lock_base_seconds", "Length of the first temporary lock; doubled for each further failure."),
    ("risk_lock_max_seconds", "Longest temporary lock."),
    ("risk_support_lock_after_failures", "Consecutive failures after which only a verified unlock or support opens the account (0: never)."),
    ("risk_failure_memory_hours", "Failures older than this are forgotten."),
    ("risk_ip_failure_window_hours", "Window over which failures per IP across accounts are counted."),
    ("risk_ip_failure_limit", "Failures from one IP in the window after which it is refused before any password is hashed (0: off)."),
    ("risk_ip_suspicious_failures", "Failures from one IP in the window at which its sign-ins score as credential stuffing (0: off)."),
    ("risk_ip_allow", "Comma-separated CIDR blocks never refused or scored by the per-IP rules (account locks still apply)."),
    ("risk_ip_block", "Comma-separated CIDR blocks always refused."),
    ("risk_max_travel_km_per_h", "Speed between two sign-ins above which travel is impossible."),
    ("risk_travel_tolerance_km", "Distance subtracted from each trip for geo-IP inaccuracy."),
    ("risk_device_churn_count", "New devices within the churn window that count as device churn (0: off)."),
    ("risk_device_churn_window_hours", "Window for device churn."),
    ("risk_min_client_version", "Apps older than this dotted version score as outdated. Empty: off."),
    ("risk_step_up_score", "Risk score at or above which a sign-in must pass a second factor or a code to a verified contact."),
    ("risk_refusal_cache_seconds", "How long a node answers repeated attempts on a locked account or throttled network from memory, without asking the database (0: off). A lock lifted on another node is seen here within this time."),
    ("second_factor_lock_after_failures", "Wrong second-factor codes that lock second-factor sign-in for a while; counted apart from passwords."),
    ("second_factor_lock_minutes", "How long second-factor sign-in stays locked after too many wrong codes."),
    ("blob_store", "Where attachments' bytes are kept: empty for `data_dir`/blobs, `file:///absolute/path`, or `s3://bucket/prefix` (credentials and `endpoint`, `region` as described in `src/blobs/mod.rs`; masked by `koban config`)."),
    ("desk_identity_document_days", "Identity documents uploaded to a ticket are deleted this many days after upload, and the deletion recorded on the ticket."),
    ("desk_open_batch", "New tickets one node writes in one transaction at most: openings that arrive together are committed together (each requester answered after that commit, a refused one undoing only itself), so SQLite's writer commits once per batch. 0: each ticket in its own transaction, as on PostgreSQL always (its pool commits openings side by side, twice as fast as one committing task)."),
    ("email_addresses", "The desk's inbound addresses and the team each one's mail goes to, comma-separated: `support@example.com, security@example.com=security`. An address without `=team` is routed as any ticket is. Mail to any other address is refused; `support+<token>@…` is a ticket's own reply address. The first one is the From and reply address of the desk's mail. Empty: the email channel is off."),
    ("email_smtp_listen", "Address and port of the built-in SMTP listener that receives the desk's mail, such as `0.0.0.0:25`. Empty: off (mail can still come by IMAP)."),
    ("email_smtp_tls_cert", "PEM certificate chain the SMTP listener offers with STARTTLS. Empty: no STARTTLS."),
    ("email_smtp_tls_key", "PEM private key of `email_smtp_tls_cert`."),
    ("email_max_message_bytes", "Largest inbound mail, in bytes, announced with SIZE and enforced; larger is refused with 552."),
    ("email_unknown_sender", "A mail that points at a ticket only by its headers or subject, from someone with no part in that ticket: `new_ticket` opens a ticket of its own that links to the other; `review` holds it for an agent to place."),
    ("email_raw_retention_days", "Every inbound mail is kept as received (compressed) this many days, so it can be read again after a parsing fix."),
    ("email_sender_limit_per_hour", "Mails one sender may open tickets with per hour; more are held for review instead of opening tickets (0: no limit)."),
    ("email_trusted_authserv_ids", "Comma-separated authserv-ids of the relays whose `Authentication-Results` header is believed (SPF, DKIM, DMARC). Empty: the header is ignored, since anyone can write one."),
    ("email_smtp_timeout_seconds", "How long the SMTP listener waits for a sender's next command, or for a sender to read its answers, before closing the connection with 421."),
    ("email_smtp_data_timeout_seconds", "Longest time a sender may take to send one message after DATA; a slower sender is cut off with 421 and nothing is stored."),
    ("email_smtp_max_connections", "SMTP connections served at once; one more is answered 421 and closed, so the sender retries later."),
    ("email_imap_host", "IMAP server to poll for the desk's mail, as an alternative (or an addition) to the SMTP listener: Koban reads each new message of `email_imap_mailboxes` (without marking it read) and records the last UID taken, so a restart neither skips nor repeats a mail. Needs `email_addresses`; a mail is attributed to the desk address in its Delivered-To, X-Original-To, To or Cc, else to the first one. Empty: off."),
    ("email_imap_port", "IMAP server port. 0: 993 with `tls`, 143 otherwise."),
    ("email_imap_security", "`tls` (implicit TLS, port 993), `starttls` (plain connection upgraded before signing in, port 143; refused if the server does not offer it) or `none` (no encryption: the password crosses the network in clear; for tests and a server on the same machine only)."),
    ("email_imap_tls_ca", "PEM file of the certificate authorities (or the self-signed certificate) the IMAP server's certificate is checked against. Empty: the public web PKI roots."),
    ("email_imap_user", "IMAP sign-in name."),
    ("email_imap_password", "IMAP password."),
    ("email_imap_mailboxes", "Comma-separated mailboxes to poll, each with its own connection (IMAP IDLE watches one mailbox at a time)."),
    ("email_imap_start", "What the first poll of a mailbox takes: `all` (every mail in it, as new tickets or onto their tickets) or `new` (only mail that arrives after it; for a mailbox that holds years of answered mail). Later polls, and a mailbox that was deleted and made again, always take everything they have not taken."),
    ("email_imap_poll_seconds", "How often a mailbox is polled when the server lacks IDLE (with IDLE, new mail is taken at once and IDLE is renewed every 5 minutes); also the longest wait between reconnection attempts after a failure (they back off from one second)."),
    ("email_imap_lease_seconds", "With several nodes sharing one PostgreSQL, one node at a time polls each mailbox: it holds a lease in the database, renewed every third of this time; when that node dies, another takes the mailbox over once the lease has run out."),
    ("email_attachments_max_bytes", "Most bytes of files one outgoing mail carries (an agent's reply with attachments, counted before encoding). Files beyond it are left out: the mail says so in the requester's language and the agent is told on the ticket. 0: replies go without files."),
    ("privacy_deletion_grace_days", "Days between asking to delete an account and its erasure; signing in during them cancels the request (docs/privacy.md)."),
    ("privacy_export_link_days", "Days a prepared data export can be downloaded by its owner; then its archive is deleted and the link answers 410."),
    ("privacy_keep_ticket_text", "Whether an erased account's own words stay on its tickets (for operators who must keep tickets whole). `false`: the requester's messages are replaced by a placeholder; the tickets stay, anonymised, either way."),
    ("privacy_delivery_days", "Records of sent mail and SMS (delivery records) are deleted this many days after sending (0: kept for ever)."),
    ("privacy_ticket_days", "Closed tickets are deleted, with their messages, events and attachments, this many days after closing (0: kept for ever). Open and solved tickets are never deleted."),
    ("privacy_attachment_days", "Files attached to tickets are deleted this many days after upload, and the deletion recorded on the ticket (0: kept as long as their ticket)."),
    ("privacy_audit_days", "Audit log entries older than this many days are pruned behind a checkpoint signed with the server key, so the rest still verifies (0: kept for ever)."),
    ("privacy_regional_rules", "Rules by region of the account (its phone number's country, else its latest sign-in's), such as `TH: tickets=90, sign_in_history=30; CN HK: export_tickets=false`: shorter retention in days per kind (sign_in_history, tickets, attachments, identity_documents, delivery_records) and whether tickets may be exported (docs/privacy.md)."),
];

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("unknown configuration key `{0}` (see `koban config --doc`)")]
    UnknownKey(String),
    #[error("{key}: {message}")]
    Value { key: String, message: String },
}

fn is_secret(key: &str) -> bool {
    // The blob store's URL may carry an S3 key and secret.
    key.ends_with("password") || key.ends_with("secret") || key == "blob_store"
}

impl Config {
    /// Loads the configuration. `file` is an explicit path (which must
    /// exist); otherwise `./koban.toml` is read when present. `env` is the
    /// process environment (passed in so tests do not depend on it);
    /// `overrides` are `key=value` pairs from flags.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let defaults = serde_json::to_value(Config::default()).map_err(|e| ConfigError::Value {
            key: "defaults".into(),
            message: e.to_string(),
        })?;
        let Value::Object(mut merged) = defaults else {
            unreachable!("Config serializes to an object")
        };
        let env: Vec<(String, String)> = env.into_iter().collect();
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| {
                env.iter()
                    .find(|(k, _)| k == "KOBAN_CONFIG")
                    .map(|(_, v)| PathBuf::from(v))
            })
            .or_else(|| Some(PathBuf::from("koban.toml")).filter(|p| p.exists()));
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| ConfigError::Toml {
                        path: path.clone(),
                        message: e.message().to_string(),
                    })?;
            for (key, value) in table {
                let json = serde_json::to_value(&value).map_err(|e| ConfigError::Value {
                    key: key.clone(),
                    message: e.to_string(),
                })?;
                set(&mut merged, &key, json)?;
            }
        }
        for (name, value) in env {
            let Some(key) = name.strip_prefix("KOBAN_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            // KOBAN_CONFIG names the file; KOBAN_TEST_* belong to the test suite.
            if key == "config" || key.starts_with("test_") {
                continue;
            }
            set_from_text(&mut merged, &key, &value)?;
        }
        for (key, value) in overrides {
            set_from_text(&mut merged, key, value)?;
        }
        let config: Config =
            serde_json::from_value(Value::Object(merged)).map_err(|e| ConfigError::Value {
                key: "configuration".into(),
                message: e.to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, message: &str| {
            Err(ConfigError::Value {
                key: key.into(),
                message: message.into(),
            })
        };
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(
                "listen",
                "must be an address and port such as 127.0.0.1:8080",
            );
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return bad("database_url", "must start with sqlite: or postgres://");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return bad("log_format", "must be text or json");
        }
        if !matches!(self.delivery_mode.as_str(), "outbox" | "live") {
            return bad("delivery_mode", "must be outbox or live");
        }
        if !matches!(self.smtp_tls.as_str(), "starttls" | "tls" | "none") {
            return bad("smtp_tls", "must be starttls, tls or none");
        }
        if self.argon2_memory_kib < 8 * self.argon2_parallelism.max(1)
            || self.argon2_iterations == 0
        {
            return bad("argon2_memory_kib", "Argon2 parameters out of range");
        }
        if self.session_idle_minutes <= 0 || self.session_absolute_hours <= 0 {
            return bad("session_idle_minutes", "session lifetimes must be positive");
        }
        let support = self.support_url.to_ascii_lowercase();
        if !(support.is_empty()
            || support.starts_with("https://")
            || support.starts_with("http://")
            || support.starts_with("mailto:"))
            || self
                .support_url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return bad(
                "support_url",
                "must be empty, an http(s):// address or a mailto: address",
            );
        }
        if koban_policy::mail::threading::StrangerPolicy::parse(&self.email_unknown_sender)
            .is_none()
        {
            return bad("email_unknown_sender", "must be new_ticket or review");
        }
        if !self.email_smtp_listen.is_empty()
            && self
                .email_smtp_listen
                .parse::<std::net::SocketAddr>()
                .is_err()
        {
            return bad(
                "email_smtp_listen",
                "must be empty or an address and port such as 0.0.0.0:25",
            );
        }
        if self.email_smtp_tls_cert.is_empty() != self.email_smtp_tls_key.is_empty() {
            return bad(
                "email_smtp_tls_cert",
                "a certificate needs its key, and a key its certificate",
            );
        }
        if self.email_smtp_timeout_seconds == 0 || self.email_smtp_data_timeout_seconds == 0 {
            return bad(
                "email_smtp_timeout_seconds",
                "SMTP timeouts must be at least 1 second",
            );
        }
        if self.email_smtp_max_connections == 0 {
            return bad("email_smtp_max_connections", "must be at least 1");
        }
        if let Err((key, message)) = self.imap_problem() {
            return bad(key, &message);
        }
        if self.email_max_message_bytes < 1024 {
            return bad("email_max_message_bytes", "must be at least 1024");
        }
        if self.risk_refusal_cache_seconds < 0 {
            return bad("risk_refusal_cache_seconds", "must be 0 (off) or more");
        }
        Ok(())
    }

    /// What is wrong with the `email_imap_*` keys, when IMAP polling is on.
    fn imap_problem(&self) -> Result<(), (&'static str, String)> {
        if self.email_imap_host.trim().is_empty() {
            return Ok(());
        }
        if self.email_addresses.trim().is_empty() {
            return Err((
                "email_imap_host",
                "IMAP polling needs email_addresses (the desk's addresses mail is taken for)"
                    .into(),
            ));
        }
        if !matches!(self.email_imap_start.as_str(), "all" | "new") {
            return Err(("email_imap_start", "must be all or new".into()));
        }
        if !matches!(
            self.email_imap_security.as_str(),
            "tls" | "starttls" | "none"
        ) {
            return Err((
                "email_imap_security",
                "must be tls, starttls or none".into(),
            ));
        }
        if self.email_imap_user.trim().is_empty() {
            return Err((
                "email_imap_user",
                "IMAP polling needs a user to sign in as".into(),
            ));
        }
        let mailboxes = self.imap_mailboxes();
        if mailboxes.is_empty() {
            return Err((
                "email_imap_mailboxes",
                "name at least one mailbox, such as INBOX".into(),
            ));
        }
        if let Some(bad) = mailboxes
            .iter()
            .find(|m| m.chars().any(|c| c.is_control() || c == '"' || c == '\\'))
        {
            return Err((
                "email_imap_mailboxes",
                format!(
                    "`{}` holds a character a mailbox name cannot",
                    bad.escape_debug()
                ),
            ));
        }
        if self.email_imap_poll_seconds == 0 {
            return Err(("email_imap_poll_seconds", "must be at least 1".into()));
        }
        if self.email_imap_lease_seconds < 3 {
            return Err(("email_imap_lease_seconds", "must be at least 3".into()));
        }
        Ok(())
    }

    /// The mailboxes of `email_imap_mailboxes`, each once, in order.
    pub fn imap_mailboxes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in self.email_imap_mailboxes.split(',').map(str::trim) {
            if !name.is_empty() && !out.iter().any(|m| m == name) {
                out.push(name.to_string());
            }
        }
        out
    }

    /// The configuration as `key = value` lines, secrets masked.
    pub fn render_masked(&self) -> String {
        let Ok(Value::Object(map)) = serde_json::to_value(self) else {
            return String::new();
        };
        let mut out = String::new();
        for (key, _) in KEYS {
            let value = map.get(*key).cloned().unwrap_or(Value::Null);
            let shown = if is_secret(key) && value.as_str().is_some_and(|s| !s.is_empty()) {
                "\"********\"".to_string()
            } else {
                value.to_string()
            };
            out.push_str(&format!("{key} = {shown}\n"));
        }
        out
    }

    /// Markdown reference of every key, its variable and default.
    pub fn render_docs() -> String {
        let Ok(Value::Object(defaults)) = serde_json::to_value(Config::default()) else {
            return String::new();
        };
        let mut out = String::from(
            "# Configuration\n\nGenerated by `koban config --doc`; do not edit by hand.\n\n\
             Koban reads built-in defaults, then `koban.toml` (or the file named by `--config` or\n\
             `KOBAN_CONFIG`), then `KOBAN_…` environment variables, then `--set key=value` flags\n\
             (and the shorthands `--listen`, `--database-url`, `--data-dir`). Later wins.\n\n\
             | key | variable | default | meaning |\n|---|---|---|---|\n",
        );
        for (key, meaning) in KEYS {
            let default = defaults.get(*key).map(Value::to_string).unwrap_or_default();
            out.push_str(&format!(
                "| `{key}` | `KOBAN_{}` | `{default}` | {meaning} |\n",
                key.to_ascii_uppercase()
            ));
        }
        out
    }

    /// Whether people reach Koban over TLS, so cookies must be `Secure`. Only
    /// the configured URLs count: `X-Forwarded-Proto` can be sent by anyone.
    pub fn serves_tls(&self) -> bool {
        [&self.public_url, &self.webauthn_origin]
            .iter()
            .any(|url| url.to_ascii_lowercase().starts_with("https://"))
    }

    /// The base URL for links.
    pub fn public_base(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }
}

fn set(map: &mut Map<String, Value>, key: &str, value: Value) -> Result<(), ConfigError> {
    if !map.contains_key(key) {
        return Err(ConfigError::UnknownKey(key.to_string()));
    }
    map.insert(key.to_string(), value);
    Ok(())
}

/// Text from a variable or flag takes the type of the key's default.
fn set_from_text(map: &mut Map<String, Value>, key: &str, text: &str) -> Result<(), ConfigError> {
    let Some(existing) = map.get(key) else {
        return Err(ConfigError::UnknownKey(key.to_string()));
    };
    let value = match existing {
        Value::Number(_) => {
            let n: serde_json::Number = text.trim().parse().map_err(|_| ConfigError::Value {
                key: key.to_string(),
                message: format!("`{text}` is not a number"),
            })?;
            Value::Number(n)
        }
        Value::Bool(_) => Value::Bool(text.trim().parse().map_err(|_| ConfigError::Value {
            key: key.to_string(),
            message: format!("`{text}` is not true or false"),
        })?),
        _ => Value::String(text.to_string()),
    };
    map.insert(key.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_documented_exactly_once() {
        let Value::Object(map) = serde_json::to_value(Config::default()).unwrap() else {
            panic!()
        };
        let documented: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
        let mut fields: Vec<&str> = map.keys().map(String::as_str).collect();
        fields.sort();
        let mut sorted = documented.clone();
        sorted.sort();
        assert_eq!(fields, sorted);
    }

    #[test]
    fn docs_file_matches_the_table() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            on_disk,
            Config::render_docs(),
            "run `koban config --doc > docs/configuration.md`"
        );
    }

    #[test]
    fn layers_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nsmtp_port = 2525\n").unwrap();
        let env = vec![
            ("KOBAN_SMTP_PORT".to_string(), "2626".to_string()),
            ("PATH".into(), "/bin".into()),
        ];
        let flags = vec![("data_dir".to_string(), "/tmp/x".to_string())];
        let c = Config::load(Some(&file), env, &flags).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9000");
        assert_eq!(c.smtp_port, 2626);
        assert_eq!(c.data_dir, "/tmp/x");
    }

    #[test]
    fn bad_keys_and_values_are_named() {
        let err = Config::load(None, vec![("KOBAN_NO_SUCH".into(), "1".into())], &[]).unwrap_err();
        assert!(err.to_string().contains("no_such"), "{err}");
        let err =
            Config::load(None, vec![("KOBAN_SMTP_PORT".into(), "many".into())], &[]).unwrap_err();
        assert!(err.to_string().contains("smtp_port"), "{err}");
        let err =
            Config::load(None, vec![("KOBAN_LISTEN".into(), "nowhere".into())], &[]).unwrap_err();
        assert!(err.to_string().contains("listen"), "{err}");
        let err = Config::load(
            None,
            vec![("KOBAN_RISK_REFUSAL_CACHE_SECONDS".into(), "-1".into())],
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("risk_refusal_cache_seconds"),
            "{err}"
        );
        let err = Config::load(
            None,
            vec![(
                "KOBAN_DATABASE_SIGN_IN_WAITS_FOR_FLUSH".into(),
                "yes".into(),
            )],
            &[],
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("database_sign_in_waits_for_flush"), "{text}");
        assert!(text.contains("not true or false"), "{text}");
    }

    #[test]
    fn switches_take_true_and_false() {
        assert!(!Config::default().database_sign_in_waits_for_flush);
        let waits = |text: &str| {
            let env = vec![(
                "KOBAN_DATABASE_SIGN_IN_WAITS_FOR_FLUSH".to_string(),
                text.to_string(),
            )];
            Config::load(None, env, &[]).map(|c| c.database_sign_in_waits_for_flush)
        };
        assert!(waits("true").unwrap());
        assert!(!waits(" false ").unwrap());
        let flag = [(
            "database_sign_in_waits_for_flush".to_string(),
            "true".to_string(),
        )];
        assert!(
            Config::load(None, Vec::<(String, String)>::new(), &flag)
                .unwrap()
                .database_sign_in_waits_for_flush
        );
    }

    #[test]
    fn imap_settings_are_checked_at_start() {
        let load = |pairs: &[(&str, &str)]| {
            let env: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (format!("KOBAN_{}", k.to_ascii_uppercase()), v.to_string()))
                .collect();
            Config::load(None, env, &[])
        };
        let off = load(&[]).unwrap();
        assert!(off.email_imap_host.is_empty());
        assert_eq!(off.imap_mailboxes(), ["INBOX"]);
        let base = [
            ("email_addresses", "support@desk.example"),
            ("email_imap_host", "imap.example.com"),
            ("email_imap_user", "desk"),
        ];
        let on = load(&base).unwrap();
        assert_eq!(on.email_imap_security, "tls");
        let with = |extra: (&str, &str)| {
            let mut all = base.to_vec();
            all.push(extra);
            load(&all).unwrap_err().to_string()
        };
        assert!(with(("email_imap_security", "ssl")).starts_with("email_imap_security"));
        assert!(with(("email_imap_start", "unseen")).starts_with("email_imap_start"));
        assert!(with(("email_imap_mailboxes", " , ")).starts_with("email_imap_mailboxes"));
        assert!(with(("email_imap_poll_seconds", "0")).starts_with("email_imap_poll_seconds"));
        assert!(with(("email_imap_lease_seconds", "1")).starts_with("email_imap_lease_seconds"));
        assert!(with(("email_imap_user", "")).starts_with("email_imap_user"));
        let no_desk = load(&base[1..]).unwrap_err().to_string();
        assert!(no_desk.contains("email_addresses"), "{no_desk}");
        let twice = load(&[("email_imap_mailboxes", "INBOX, Support,INBOX")]).unwrap();
        assert_eq!(twice.imap_mailboxes(), ["INBOX", "Support"]);
    }

    #[test]
    fn secrets_are_masked() {
        let c = Config {
            smtp_password: "hunter2".into(),
            ..Config::default()
        };
        let shown = c.render_masked();
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("smtp_password = \"********\""));
    }
}
