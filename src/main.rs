//! `quantlens`: the native command line. The arguments are in
//! [`cli::args`], each command in its own file under `cli/`, the exit
//! codes in [`cli::exit`].

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::args::{Cli, Command};

/// Exit codes: 0 clean, 1 an error-level finding or `--fail-above`
/// exceeded, 2 the model's structure cannot be read ([`cli::exit`]).
fn main() -> ExitCode {
    run(Cli::parse()).unwrap_or_else(cli::exit::error)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Inspect(a) => cli::inspect::command(a),
        Command::Verify(a) => cli::verify::command(a),
        Command::Convert(a) => cli::convert::command(a),
        Command::Outputs(a) => cli::outputs::command(a),
        Command::Dequantize { model, out } => {
            let n = cli::write::dequantize_to(&cli::folder::open(&model)?, &out)?;
            eprintln!("wrote {n} tensors to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Sha256 { paths } => cli::sha256::command(&paths),
        Command::ReadFloor { path } => {
            let model = cli::folder::open(&path)?;
            println!("{}", cli::run::read_floor(&model)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
