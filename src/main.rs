//! `authgate`: parse the command line and hand over to `cli`.

use clap::Parser;

/// glibc's malloc showed up as ~15% of a proxied request's CPU time; mimalloc is much cheaper
/// for the many small, short-lived allocations of HTTP handling.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = match authgate::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `policy check` keeps 1–3 for its decisions: a usage error is 64 there.
            let policy = std::env::args().any(|a| a == "policy");
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ if policy => authgate::cli::USAGE,
                _ => 2,
            };
            std::process::exit(code);
        }
    };
    match authgate::cli::main(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("authgate: {e:#}");
            std::process::exit(1);
        }
    }
}
