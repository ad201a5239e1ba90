//! The `c2watch` binary: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    c2watch::cli::run(c2watch::cli::args::Cli::parse())
}
