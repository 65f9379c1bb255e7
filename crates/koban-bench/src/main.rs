//! The `koban-bench` command: the drivers behind `scripts/bench`,
//! `scripts/bench-security` and `scripts/bench-compare`. It reads Koban's
//! configuration the way `koban` does (file, `KOBAN_…` variables, `--set`).

use clap::Parser;
use koban::config::Config;
use koban_bench::BenchCommand;
use std::path::PathBuf;
use std::process::ExitCode;

// The same allocator as the server, so the drivers' own cost stays small
// and comparable (see the note in the koban binary).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "koban-bench", version, about = "Benchmark drivers for Koban")]
struct Cli {
    /// Configuration file (default: ./koban.toml when present, or $KOBAN_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Overrides any key: --set database_url=… (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    set: Vec<String>,
    #[command(subcommand)]
    command: BenchCommand,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The sign-in driver shares the machine with the server it measures at
    // a few hundred requests a second: one thread drives all its clients,
    // with no wake-ups between workers, so its CPU stays out of the
    // server's way. The credential-stuffing driver sends tens of thousands
    // a second and keeps every core it can get.
    let mut runtime = match cli.command {
        BenchCommand::Login(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("koban-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("koban-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut overrides = Vec::new();
    for item in &cli.set {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("--set {item}: expected KEY=VALUE"))?;
        overrides.push((k.trim().to_string(), v.to_string()));
    }
    let config = Config::load(cli.config.as_deref(), std::env::vars(), &overrides)
        .map_err(|e| e.to_string())?;
    koban_bench::run(cli.command, config).await
}
