//! `authgate`: parse the command line and hand over to `cli`.

use clap::Parser;

/// glibc's malloc showed up as ~15% of a proxied request's CPU time; mimalloc is much cheaper
/// for the many small, short-lived allocations of HTTP handling.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = authgate::cli::Cli::parse();
    match authgate::cli::main(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("authgate: {e:#}");
            std::process::exit(1);
        }
    }
}
