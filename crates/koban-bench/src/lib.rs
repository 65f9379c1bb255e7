//! `koban-bench …`: the tools behind `scripts/bench` and BENCHMARKS.md, in
//! a crate of their own so the server does not compile them.
//!
//! The sign-in benchmark talks to a running `koban serve` over HTTP only, so
//! it measures what a client sees. Accounts for it are made beforehand by
//! `create-users`, straight in the database, because registering through the
//! API would need a verification code per account. Its yardstick is raw
//! Argon2id verification on the same machine with the same parameters: a
//! sign-in cannot be faster than the hash it must check, so `logins/s ÷ raw
//! verifications/s` says how much the rest of the server costs.

mod audit;
mod crates;
mod desk_open;
mod desk_queue;
mod email_ingest;
mod email_outbound;
mod load;
mod login;
mod orgs;
mod risk;
mod search;
mod setup;
mod stuffing;
pub mod summary;
mod wire;

use clap::{Args, Subcommand};
use koban::config::Config;
pub use search::SearchBench;

/// Password given to benchmark accounts unless `--password` says otherwise.
/// Not a secret: these accounts belong in a throw-away benchmark database.
pub const DEFAULT_PASSWORD: &str = "koban-bench-Passw0rd-7431";

/// The benchmark subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Creates verified accounts <prefix>-<n>@example.com in the configured
    /// database (a throw-away benchmark database only), hashing in parallel.
    CreateUsers(CreateUsers),
    /// Drives sign-ins against a running server in slices and measures raw
    /// Argon2id verification on this machine, with the configured parameters,
    /// before, between and after them.
    Login(Login),
    /// Polls <url>/readyz until it answers 200 and prints the time since a start
    /// timestamp taken just before the server was spawned.
    Ready(Ready),
    /// Prints a TCP port on 127.0.0.1 that is free right now.
    FreePort,
    /// Credential stuffing against a running server: wrong passwords over the
    /// `create-users` accounts from many forwarded addresses, with legitimate
    /// owners signing in from a clean address before, during and after.
    /// The server must trust 127.0.0.1 as a proxy (KOBAN_TRUSTED_PROXIES).
    Stuffing(Stuffing),
    /// Times the risk evaluation of a correct-password sign-in (its reads and
    /// `risk::assess`) on the configured database, after filling its login
    /// history with synthetic rows, beside a trivial indexed point lookup.
    Risk(RiskBench),
    /// The hand-written rate limiter beside `governor`: the limits and
    /// Retry-After it answers, checks/s on one and two threads, memory per key.
    Limiter(LimiterBench),
    /// Memory per key of one limiter, in a process of its own (run by `limiter`).
    #[command(hide = true)]
    LimiterMemory(LimiterMemory),
    /// The hand-written CIDR blocks beside `ipnet`: what each parses, and
    /// allow/block-list lookups/s as the risk path makes them.
    Cidr(CidrBench),
    /// The hand-written Prometheus text beside `metrics` and its Prometheus
    /// exporter: cost per request recorded, time per render, the names written.
    Metrics(MetricsBench),
    /// The configuration layers through `figment` beside `Config::load`: what
    /// each answers to the inputs the tests use.
    ConfigLayers,
    /// Signed-out tickets through `POST /api/v1/desk/tickets` of a running
    /// server in slices, with the same rows inserted straight into its
    /// database before, between and after them; or, with `--target rt`, the
    /// same tickets through Request Tracker's REST 2 API.
    DeskOpen(DeskOpen),
    /// Loads tickets straight into the configured database, then times the
    /// console's queue views of a running server with an agent's token.
    DeskQueue(DeskQueue),
    /// Mail through a running server's SMTP listener until every message is
    /// ingested, beside the parse rate of the same messages; the server's
    /// memory meanwhile. Reads the server's database (configured) to see
    /// when ingest is done.
    EmailIngest(EmailIngest),
    /// Agents' replies on mailed tickets queued through the desk's service
    /// on the configured database, then sent by the job queue to a local
    /// SMTP sink until all are sent; beside the same number of mails sent
    /// straight with lettre to the same sink.
    EmailOutbound(EmailOutbound),
    /// The audit chain: append rate with concurrent writers on the
    /// configured database (one change per entry, and group commit), the
    /// chain checked afterwards; verification of a long chain beside raw
    /// SHA-256 over the same bytes.
    Audit(AuditBench),
    /// An organization of many members on the configured database: the
    /// member directory's pages (p50/p95) and the cost an organization's
    /// policy adds to a sign-in's judgement, each beside an indexed point
    /// lookup or the same judgement of accounts in no organization.
    Orgs(OrgsBench),
    /// Search over a big mixed-language desk: the index rebuilt (tickets/s),
    /// queries through a running server's API (p50/p95 per language, its
    /// memory, the index's size), and the time from a write on one node to
    /// its being found on another.
    Search(SearchBench),
}

/// Options of `koban-bench orgs`.
#[derive(Debug, Clone, Args)]
pub struct OrgsBench {
    /// Members of the organization (accounts made straight in the database).
    #[arg(long, default_value_t = 100_000)]
    pub members: usize,
    /// Measured calls of each kind.
    #[arg(long, default_value_t = 2000)]
    pub samples: usize,
}

/// Options of `koban-bench audit`.
#[derive(Debug, Clone, Args)]
pub struct AuditBench {
    /// Entries appended on each path (0: skip the append runs).
    #[arg(long, default_value_t = 20_000)]
    pub entries: usize,
    /// Concurrent writers.
    #[arg(long, default_value_t = 32)]
    pub writers: usize,
    /// Most entries the group-commit appender writes in one change.
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    /// Entries in the chain verified in memory (0: skip).
    #[arg(long, default_value_t = 1_000_000)]
    pub chain: usize,
}

/// Options of `koban-bench email-outbound`.
#[derive(Debug, Clone, Args)]
pub struct EmailOutbound {
    /// Replies in all, one per ticket.
    #[arg(long, default_value_t = 2000)]
    pub replies: usize,
    /// Tasks queueing the replies through the service.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Gives up when the replies are not all sent after this long.
    #[arg(long, default_value_t = 300)]
    pub timeout_seconds: u64,
    /// Makes this run's requesters unique (default: from the pid).
    #[arg(long)]
    pub tag: Option<String>,
}

/// Options of `koban-bench email-ingest`.
#[derive(Debug, Clone, Args)]
pub struct EmailIngest {
    /// The listener's address, `host:port`.
    #[arg(long)]
    pub smtp: String,
    /// The desk address mail is sent to (one of the server's `email_addresses`).
    #[arg(long, default_value = "support@bench.example")]
    pub to: String,
    /// Concurrent senders, each on its own connection.
    #[arg(long, default_value_t = 8)]
    pub senders: usize,
    /// Messages in all, spread over the senders.
    #[arg(long, default_value_t = 2000)]
    pub messages: usize,
    /// Seconds of the parse-only measurement.
    #[arg(long, default_value_t = 3)]
    pub parse_seconds: u64,
    /// A message of this many MiB among the others (0: none).
    #[arg(long, default_value_t = 0)]
    pub big_mib: usize,
    /// Process id of the server, for its CPU time and memory.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Makes this run's senders and Message-IDs unique (default: from the pid).
    #[arg(long)]
    pub tag: Option<String>,
    /// Writes the messages as `<sender>-<seq>.eml` files in this folder and
    /// sends nothing (for the peer, which takes them one process each).
    #[arg(long)]
    pub write_dir: Option<std::path::PathBuf>,
}

/// Options of `koban-bench desk-open`.
#[derive(Debug, Clone, Args)]
pub struct DeskOpen {
    /// Base URL of the running server.
    #[arg(long)]
    pub url: String,
    /// `koban`, or `rt` for Request Tracker's REST 2 API.
    #[arg(long, default_value = "koban")]
    pub target: String,
    /// Concurrent clients, each with one request in flight; the raw inserts
    /// run as many tasks.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Measured time in all, split evenly over the slices.
    #[arg(long, default_value_t = 10)]
    pub duration_seconds: u64,
    /// Slices; raw inserts are measured before the first, between each two
    /// and after the last.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Time under load before each slice's measuring starts.
    #[arg(long, default_value_t = 1)]
    pub warmup_seconds: u64,
    /// Seconds of each raw measurement; 0 skips them (always skipped for rt).
    #[arg(long, default_value_t = 3)]
    pub raw_seconds: u64,
    /// Process id of the server, for its CPU time.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Makes this run's requester addresses unique (default: random).
    #[arg(long)]
    pub tag: Option<String>,
    /// rt: the queue tickets go to.
    #[arg(long, default_value = "General")]
    pub rt_queue: String,
    /// rt: the Authorization header's value (e.g. `Basic cm9vdDpwYXNzd29yZA==`).
    #[arg(long)]
    pub authorization: Option<String>,
}

/// Options of `koban-bench desk-queue`.
#[derive(Debug, Args)]
pub struct DeskQueue {
    /// Base URL of the running server.
    #[arg(long)]
    pub url: String,
    /// Tickets in the database (loaded until there are that many).
    #[arg(long, default_value_t = 200_000)]
    pub tickets: usize,
    /// Agents the tickets are assigned to (the first one asks).
    #[arg(long, default_value_t = 30)]
    pub agents: usize,
    /// The agents' password.
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    pub password: String,
    /// Measured requests per view.
    #[arg(long, default_value_t = 3000)]
    pub requests: usize,
    /// Requests per view before measuring.
    #[arg(long, default_value_t = 100)]
    pub warmup: usize,
    /// The category of the open-tickets view (what a team's view filters on
    /// until the desk has teams).
    #[arg(long, default_value = "account_stolen")]
    pub category: String,
    /// Process id of the server, for its resident memory after the load.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// Options of `koban-bench limiter`.
#[derive(Debug, Args)]
pub struct LimiterBench {
    /// Distinct client addresses checked, picked at random.
    #[arg(long, default_value_t = 10_000)]
    pub keys: usize,
    /// Checks per thread in each measurement.
    #[arg(long, default_value_t = 2_000_000)]
    pub checks: usize,
    /// Requests per minute per key.
    #[arg(long, default_value_t = 600)]
    pub per_minute: i64,
    /// Rounds, each side in turn; the median ratio is printed.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Keys tracked for the memory figure.
    #[arg(long, default_value_t = 1_000_000)]
    pub memory_keys: usize,
}

/// Options of `koban-bench limiter-memory`.
#[derive(Debug, Args)]
pub struct LimiterMemory {
    /// `ours` or `governor`.
    #[arg(long)]
    pub side: String,
    /// Keys tracked.
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: usize,
}

/// Options of `koban-bench cidr`.
#[derive(Debug, Args)]
pub struct CidrBench {
    /// Addresses looked up in each round.
    #[arg(long, default_value_t = 2_000_000)]
    pub probes: usize,
    /// Rounds, each side in turn; the median ratio is printed.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

/// Options of `koban-bench metrics`.
#[derive(Debug, Args)]
pub struct MetricsBench {
    /// Requests recorded per thread in each measurement.
    #[arg(long, default_value_t = 1_000_000)]
    pub requests: usize,
    /// Renders timed in each round.
    #[arg(long, default_value_t = 50)]
    pub renders: usize,
    /// Requests recorded before each render.
    #[arg(long, default_value_t = 10_000)]
    pub requests_between_renders: usize,
    /// Rounds, each side in turn; the median ratio is printed.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

/// Options of `koban bench stuffing`.
#[derive(Debug, Args)]
pub struct Stuffing {
    /// Base URL of the running server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: String,
    /// Attacked accounts: `create-users` accounts 0 to N-1.
    #[arg(long, default_value_t = 1000)]
    pub accounts: usize,
    /// Wrong-password attempts, accounts taken round robin.
    #[arg(long, default_value_t = 10_000)]
    pub attempts: usize,
    /// Attacking addresses, <ip-prefix>1 to <ip-prefix>N, sent in X-Forwarded-For.
    #[arg(long, default_value_t = 50)]
    pub ips: usize,
    /// Prefix of the attacking addresses.
    #[arg(long, default_value = "198.51.100.")]
    pub ip_prefix: String,
    /// Attempts in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Further attempts after the first batch, when every account and address
    /// is locked or throttled: the refusal path on its own; 0 skips it.
    #[arg(long, default_value_t = 20_000)]
    pub sustain_attempts: usize,
    /// First legitimate account (`create-users` index), never attacked.
    #[arg(long, default_value_t = 1000)]
    pub legit_first: usize,
    /// How many legitimate accounts.
    #[arg(long, default_value_t = 20)]
    pub legit_count: usize,
    /// The legitimate owners' clean address.
    #[arg(long, default_value = "203.0.113.7")]
    pub legit_ip: String,
    /// Pause between two legitimate sign-ins during the attack.
    #[arg(long, default_value_t = 100)]
    pub legit_pause_ms: u64,
    /// The prefix given to `create-users`.
    #[arg(long, default_value = "bench")]
    pub prefix: String,
    /// The right password (given to `create-users`).
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    pub password: String,
    /// Process id of the server, for its CPU time.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// Options of `koban bench risk`.
#[derive(Debug, Args)]
pub struct RiskBench {
    /// Synthetic accounts the history is spread over (ids 1 to N).
    #[arg(long, default_value_t = 10_000)]
    pub accounts: usize,
    /// History rows per synthetic account.
    #[arg(long, default_value_t = 100)]
    pub attempts_per_account: usize,
    /// Fill login_attempts up to accounts × attempts-per-account rows first
    /// (nothing is added when that many rows are there already).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub fill: bool,
    /// Rows per INSERT … SELECT statement when filling.
    #[arg(long, default_value_t = 100_000)]
    pub chunk_rows: usize,
    /// Real accounts (made by `create-users`) to evaluate sign-ins of.
    #[arg(long, default_value_t = 1000)]
    pub sample_accounts: usize,
    /// Measured evaluations.
    #[arg(long, default_value_t = 5000)]
    pub iterations: usize,
    /// Evaluations run first and not measured.
    #[arg(long, default_value_t = 200)]
    pub warmup: usize,
}

/// Options of `koban bench create-users`.
#[derive(Debug, Args)]
pub struct CreateUsers {
    /// How many accounts.
    #[arg(long, default_value_t = 100)]
    pub count: usize,
    /// Local-part prefix of the accounts' email addresses.
    #[arg(long, default_value = "bench")]
    pub prefix: String,
    /// Their password.
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    pub password: String,
}

/// Options of `koban bench login`.
#[derive(Debug, Args)]
pub struct Login {
    /// Base URL of the running server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: String,
    /// Concurrent clients, each with one request in flight at a time.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Measured time in all, split evenly over the slices (`--rounds`).
    #[arg(long, default_value_t = 10)]
    pub duration_seconds: u64,
    /// Time under load before each slice's measuring starts (connections,
    /// caches, requests in flight).
    #[arg(long, default_value_t = 1)]
    pub warmup_seconds: u64,
    /// Accounts made by `create-users` to sign in to, round robin.
    #[arg(long, default_value_t = 100)]
    pub accounts: usize,
    /// The prefix given to `create-users`.
    #[arg(long, default_value = "bench")]
    pub prefix: String,
    /// The password given to `create-users`.
    #[arg(long, default_value = DEFAULT_PASSWORD)]
    pub password: String,
    /// Seconds of each raw Argon2id measurement; 0 skips them.
    #[arg(long, default_value_t = 5)]
    pub raw_seconds: u64,
    /// Slices the measured time is cut into. Raw Argon2id is measured before
    /// the first, between each two and after the last, and each slice is
    /// compared with the two measurements around it: on a machine whose
    /// speed drifts during the run, one raw figure before and one after the
    /// whole load cannot tell what the load had.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Process id of the server, when it runs on this machine: its CPU time over
    /// the window gives a second ratio, per CPU-second, that other programs
    /// competing for the cores do not distort.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// Options of `koban bench ready`.
#[derive(Debug, Args)]
pub struct Ready {
    /// Base URL of the server being started.
    #[arg(long)]
    pub url: String,
    /// When the server was spawned, in nanoseconds since the Unix epoch
    /// (`date +%s%N` right before starting it); default: now.
    #[arg(long)]
    pub since_unix_nanos: Option<u128>,
    /// Give up after this long.
    #[arg(long, default_value_t = 30)]
    pub timeout_seconds: u64,
    /// Pause between polls.
    #[arg(long, default_value_t = 5)]
    pub interval_ms: u64,
}

/// Runs one benchmark subcommand. Results go to standard output as
/// `key=value` lines that `scripts/bench` reads; progress goes to stderr.
pub async fn run(command: BenchCommand, config: Config) -> Result<(), String> {
    match command {
        BenchCommand::CreateUsers(options) => setup::create_users(config, options).await,
        BenchCommand::Login(options) => login::run(&config, options).await,
        BenchCommand::Ready(options) => setup::ready(options).await,
        BenchCommand::FreePort => setup::free_port(),
        BenchCommand::Stuffing(options) => stuffing::run(&config, options).await,
        BenchCommand::Risk(options) => risk::run(config, options).await,
        BenchCommand::Limiter(options) => crates::limiter(&options),
        BenchCommand::LimiterMemory(options) => crates::limiter_memory(&options),
        BenchCommand::Cidr(options) => crates::cidr(&options),
        BenchCommand::Metrics(options) => crates::metrics(&options),
        BenchCommand::ConfigLayers => crates::config_layers(),
        BenchCommand::DeskOpen(options) => desk_open::run(config, options).await,
        BenchCommand::DeskQueue(options) => desk_queue::run(config, options).await,
        BenchCommand::EmailIngest(options) => email_ingest::run(config, options).await,
        BenchCommand::EmailOutbound(options) => email_outbound::run(config, options).await,
        BenchCommand::Audit(options) => audit::run(config, options).await,
        BenchCommand::Orgs(options) => orgs::run(config, options).await,
        BenchCommand::Search(options) => search::run(config, options).await,
    }
}

/// The email address of benchmark account `n`; both sides derive it the same way.
pub fn identifier(prefix: &str, n: usize) -> String {
    format!("{prefix}-{n}@example.com")
}

/// The device id benchmark account `n` signs in from (an app's own id, sent
/// in `X-Koban-Device`), so every sign-in after the first is from a known device.
pub fn device_id(n: usize) -> String {
    format!("koban-bench-device-{n:06}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn benchmark_identifiers_are_valid_emails() {
        for n in [0, 7, 199] {
            let id = super::identifier("bench", n);
            assert!(
                koban_policy::contact::parse_identifier(&id, None).is_ok(),
                "{id}"
            );
        }
        assert!(koban_policy::password::check_new_password(super::DEFAULT_PASSWORD, &[]).is_ok());
        assert!(koban_policy::device::valid_device_id(&super::device_id(3)));
    }
}
