//! The `koban` command.

use clap::{Parser, Subcommand};
use koban::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

// glibc's allocator serialises threads on its arena locks under many small
// allocations per request (a tenth of the CPU of a refusal flood went to
// malloc and its lock wake-ups); mimalloc keeps per-thread heaps. How it
// gives freed memory back: `koban::allocator`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "koban",
    version,
    about = "Support desk and account-security center"
)]
struct Cli {
    /// Configuration file (default: ./koban.toml when present, or $KOBAN_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Overrides any key: --set smtp_port=2525 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    set: Vec<String>,
    /// Shorthand for --set listen=…
    #[arg(long, global = true)]
    listen: Option<String>,
    /// Shorthand for --set database_url=…
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Shorthand for --set data_dir=…
    #[arg(long, global = true)]
    data_dir: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP server and background workers (applies migrations first).
    Serve,
    /// Applies database migrations and exits.
    Migrate,
    /// Prints the effective configuration, secrets masked.
    Config {
        /// Prints the reference of every key instead (Markdown).
        #[arg(long)]
        doc: bool,
    },
    /// Operator tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Support desk tools.
    Desk {
        #[command(subcommand)]
        command: DeskCommand,
    },
    /// The email channel's tools.
    Email {
        #[command(subcommand)]
        command: EmailCommand,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// This node's full-text search index.
    Search {
        #[command(subcommand)]
        command: SearchCommand,
    },
    /// Fills an empty database with a month of a lived-in desk (staff and
    /// teams, requesters, tickets in five languages, articles, surveys) and
    /// prints how to sign in. Refuses a database that has accounts or tickets.
    Demo {
        /// full (about 300 tickets) or small (40, for a quick look).
        #[arg(long, default_value = "full")]
        size: String,
    },
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Rebuilds the index from the database into a fresh folder, then puts
    /// it in use (a running `koban serve` with the same data_dir switches
    /// to it within a second); until then the old index keeps answering.
    Reindex,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Checks a scope's hash chain from its signed checkpoint to its head
    /// and names the first entry changed, removed, moved or slipped in;
    /// exits non-zero when the chain is broken.
    Verify {
        /// `platform` or `org:<organization id>`.
        #[arg(long, default_value = "platform")]
        scope: String,
    },
}

#[derive(Subcommand)]
enum EmailCommand {
    /// Reads kept mails again from their raw copies, as if they had just
    /// arrived (after a parsing fix): every mail in `--status`, or one.
    Replay {
        /// unreadable, review, held, automatic or bounce.
        #[arg(long, default_value = "unreadable")]
        status: String,
        /// Only this mail.
        #[arg(long)]
        id: Option<i64>,
    },
}

#[derive(Subcommand)]
enum DeskCommand {
    /// Reads JSON lines with `subject` and `body` on standard input and
    /// writes, for each, a JSON line with `category`, `urgent` and
    /// `confidence` (or `line` and `error` for a line it cannot read).
    Triage,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Creates a verified account with a role, e.g. the first administrator.
    CreateUser {
        /// user, agent, supervisor or admin.
        #[arg(long, default_value = "user")]
        role: String,
        /// Email address or phone number (with country code).
        #[arg(long)]
        identifier: String,
        /// The password; omit to read it from standard input (safer: not in shell history).
        #[arg(long)]
        password: Option<String>,
    },
}

fn overrides(cli: &Cli) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for item in &cli.set {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("--set {item}: expected KEY=VALUE"))?;
        pairs.push((k.trim().to_string(), v.to_string()));
    }
    for (key, value) in [
        ("listen", &cli.listen),
        ("database_url", &cli.database_url),
        ("data_dir", &cli.data_dir),
    ] {
        if let Some(v) = value {
            pairs.push((key.to_string(), v.clone()));
        }
    }
    Ok(pairs)
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    koban::allocator::purge_freed_memory_at_once();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("koban: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("koban: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Command::Config { doc: true } = cli.command {
        print!("{}", Config::render_docs());
        return Ok(());
    }
    // Triage needs no configuration and no database: it is a filter.
    if let Command::Desk {
        command: DeskCommand::Triage,
    } = cli.command
    {
        let model = koban_policy::desk::triage::Model::builtin();
        let failed = koban::desk::tickets::triage::filter(
            &model,
            std::io::stdin().lock(),
            std::io::BufWriter::new(std::io::stdout().lock()),
        )
        .map_err(|e| format!("desk triage: {e}"))?;
        return match failed {
            0 => Ok(()),
            n => Err(format!("desk triage: {n} line(s) could not be read")),
        };
    }
    let config = Config::load(cli.config.as_deref(), std::env::vars(), &overrides(&cli)?)
        .map_err(|e| e.to_string())?;
    match cli.command {
        Command::Config { .. } => {
            print!("{}", config.render_masked());
            Ok(())
        }
        Command::Serve => {
            init_logging(&config);
            koban::app::serve(config).await.map_err(|e| e.to_string())
        }
        Command::Migrate => {
            init_logging(&config);
            let store = koban::store::Store::connect(&config.database_url, 2)
                .await
                .map_err(|e| e.to_string())?;
            let applied = koban::app::migrate(&store)
                .await
                .map_err(|e| e.to_string())?;
            println!("applied {applied} migration(s); schema is current");
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    role,
                    identifier,
                    password,
                },
        } => {
            let password = match password {
                Some(p) => p,
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .map_err(|e| e.to_string())?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let contact = koban_policy::contact::parse_identifier(&identifier, None)
                .map_err(|p| format!("--identifier: {p}"))?;
            let app = koban::app::start(config).await.map_err(|e| e.to_string())?;
            let id = koban::accounts::service::create_verified(&app, &contact, &password, &role)
                .await
                .map_err(|e| match e {
                    koban::accounts::AccountError::Store(e) => {
                        e.doing("creating the account").to_string()
                    }
                    other => other.to_string(),
                })?;
            println!("created {role} account {id} for {}", contact.as_str());
            Ok(())
        }
        Command::Email {
            command: EmailCommand::Replay { status, id },
        } => {
            let replayable = koban::channels::email::inbound::REPLAYABLE;
            if !replayable.contains(&status.as_str()) {
                return Err(format!("--status: one of {}", replayable.join(", ")));
            }
            let app = koban::app::start(config).await.map_err(|e| e.to_string())?;
            let queued = koban::channels::email::inbound::replay(&app, &status, id)
                .await
                .map_err(|e| e.to_string())?;
            // The jobs run in `koban serve`; one that is running takes them now.
            println!("{queued} mail(s) queued to be read again");
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { scope },
        } => {
            let app = koban::app::start(config).await.map_err(|e| e.to_string())?;
            let v = koban::audit::verify(&app.store, &app.key, &scope)
                .await
                .map_err(|e| format!("audit verify: {e}"))?;
            println!("{}", serde_json::to_string(&v).map_err(|e| e.to_string())?);
            if v.forged_checkpoint {
                return Err(format!(
                    "audit verify: the checkpoint at entry {} of {scope} is not signed by this server",
                    v.from_seq
                ));
            }
            match v.broken {
                None => Ok(()),
                Some(b) => Err(format!(
                    "audit verify: {scope}: {}",
                    koban::audit::describe(&b)
                )),
            }
        }
        Command::Search {
            command: SearchCommand::Reindex,
        } => {
            let app = koban::app::start(config).await.map_err(|e| e.to_string())?;
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} indexing tickets {bar:40} {pos}/{len} ({per_sec}, {eta} left)",
                )
                .map_err(|e| e.to_string())?,
            );
            let started = std::time::Instant::now();
            let progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let (engine, _) = koban::search::rebuild::rebuild(&app, &progress)
                .await
                .map_err(|e| format!("search reindex: {e}"))?;
            bar.finish();
            let tickets = bar.position();
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "indexed {tickets} ticket(s) with their conversations in {seconds:.1} s ({:.0} tickets/s) into generation {}",
                tickets as f64 / seconds.max(0.001),
                engine.generation
            );
            Ok(())
        }
        Command::Demo { size } => {
            let size = koban::demo::Size::parse(&size).ok_or("--size: full or small")?;
            let app = koban::app::start(config).await.map_err(|e| e.to_string())?;
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:16} {bar:40} {pos}/{len} ({eta} left)",
                )
                .map_err(|e| e.to_string())?,
            );
            let started = std::time::Instant::now();
            let progress = |stage: &str, done: u64, total: u64| {
                bar.set_message(stage.to_string());
                bar.set_length(total);
                bar.set_position(done);
            };
            let made = koban::demo::run(&app, size, &progress)
                .await
                .map_err(|e| format!("demo: {e}"))?;
            bar.finish_and_clear();
            println!(
                "made {} accounts ({} with 2FA, {} locked), {} tickets ({}), {} survey answers, {} articles and {} announcements in {:.1} s",
                made.accounts,
                made.two_factor,
                made.locked,
                made.tickets,
                made.statuses
                    .iter()
                    .map(|(status, n)| format!("{n} {status}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                made.surveys_answered,
                made.articles,
                made.announcements,
                started.elapsed().as_secs_f64()
            );
            println!(
                "and {} organizations with {} members, whose {} tickets came in on the support line",
                made.organizations, made.members, made.enterprise_tickets
            );
            println!(
                "\nStart `koban serve` and sign in (demo passwords, change them before real use):"
            );
            for (who, (identifier, password)) in [
                ("administrator", &made.admin),
                ("supervisor", &made.supervisor),
                ("agent", &made.agent),
                ("requester", &made.user),
                ("org owner", &made.enterprise_owner),
            ] {
                println!("  {who:14} {identifier}  /  {password}");
            }
            Ok(())
        }
        // Answered before the configuration is read, above.
        Command::Desk { .. } => Ok(()),
    }
}
