//! The command line: `bifrost serve`, `bifrost provider ...`, `bifrost logs ...`,
//! `bifrost vk|team|customer ...`, `bifrost config check`.
//!
//! Every subcommand drives the same engine as the HTTP API, in-process on the app dir's
//! stores; a running server picks up their writes within about a second.

mod config_cmd;
mod customer;
mod logs;
mod open;
mod output;
mod provider;
mod serve;
mod team;
mod vk;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// bifrost: one OpenAI-compatible API in front of every LLM provider.
#[derive(Debug, Parser)]
#[command(name = "bifrost", version = version_line(), about, long_about = None)]
pub struct Cli {
    /// Directory holding config.json, config.db and logs.db [default: the OS data dir]
    #[arg(long, global = true, env = "APP_DIR", value_name = "DIR")]
    pub app_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    ///
    /// Example: bifrost serve --port 8080 --app-dir ./data
    Serve(serve::ServeArgs),
    /// Add, list and remove providers (live while `serve` runs).
    #[command(subcommand)]
    Provider(provider::ProviderCommand),
    /// Work with config.json.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Read the request logs: tail, show, stats, export.
    #[command(subcommand)]
    Logs(logs::LogsCommand),
    /// Open the dashboard of a running gateway in the browser.
    ///
    /// Example: bifrost open --port 8080
    Open(open::OpenArgs),
    /// Virtual keys: create (the key is printed once), list, show, update, disable, delete.
    #[command(subcommand)]
    Vk(vk::VkCommand),
    /// Teams: a budget shared by their virtual keys.
    #[command(subcommand)]
    Team(team::TeamCommand),
    /// Customers: a budget shared by their teams and keys.
    #[command(subcommand)]
    Customer(customer::CustomerCommand),
}

const fn version_line() -> &'static str {
    // clap wants a 'static str; the commit is fixed at build time.
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (",
        env!("BIFROST_GIT_COMMIT"),
        ")"
    )
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let app_dir = cli.app_dir.unwrap_or_else(default_app_dir);
    match cli.command {
        Command::Serve(args) => serve::run(args, &app_dir),
        Command::Provider(cmd) => provider::run(cmd, &app_dir),
        Command::Config(cmd) => config_cmd::run(cmd, &app_dir),
        Command::Logs(cmd) => logs::run(cmd, &app_dir),
        Command::Open(args) => open::run(args),
        Command::Vk(cmd) => vk::run(cmd, &app_dir),
        Command::Team(cmd) => team::run(cmd, &app_dir),
        Command::Customer(cmd) => customer::run(cmd, &app_dir),
    }
}

/// The OS data dir (`~/.local/share/bifrost` on Linux), else `./bifrost-data`.
pub fn default_app_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "bifrost")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("bifrost-data"))
}

/// A small runtime for commands that are not the server.
fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f))
}
