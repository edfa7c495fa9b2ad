//! `bifrost config check`: validate a config.json without starting anything.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

/// `bifrost config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config.json; exits non-zero with the field path of the first problem.
    ///
    /// Example: bifrost config check ./config.json
    Check {
        /// The file [default: config.json in the app dir]
        file: Option<PathBuf>,
    },
}

/// Runs a config subcommand.
pub fn run(cmd: ConfigCommand, app_dir: &Path) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Check { file } => {
            let path = file.unwrap_or_else(|| app_dir.join("config.json"));
            match crate::config::load_file(&path) {
                Ok(Some(loaded)) => {
                    for w in &loaded.warnings {
                        eprintln!("warning: {w}");
                    }
                    println!(
                        "{} is valid: {} provider(s)",
                        path.display(),
                        loaded.config.providers.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Ok(None) => {
                    eprintln!("bifrost: error: {} does not exist", path.display());
                    Ok(ExitCode::from(1))
                }
                Err(e) => {
                    eprintln!("bifrost: error: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
