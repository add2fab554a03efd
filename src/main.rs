//! `authgate`: parse the command line and hand over to `cli`.

use clap::Parser;

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
