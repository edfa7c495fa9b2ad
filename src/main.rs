//! The `bifrost` binary: parse the command line, run, exit with a code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = bifrost::cli::Cli::parse();
    match bifrost::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("bifrost: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
