//! The `bifrost` binary: parse the command line, run, exit with a code.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: the request path allocates and frees many small
/// buffers across threads (JSON, headers, bodies), where glibc's malloc spent about an eighth
/// of the gateway's CPU in the benchmark's profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
