//! The `latchkey` command: run the server, set up accounts, manage tokens, check permissions.

#![forbid(unsafe_code)]

mod cli;
mod commands;
mod logs;
mod settings;

use clap::{CommandFactory, FromArgMatches};
use cli::Cli;
use logs::{init_logs, say};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match command_line() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let format = cli.log_format;
    init_logs(&cli.log, format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            say(format, "ERROR", &format!("cannot start the runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            say(format, "ERROR", &format!("{e:#}"));
            ExitCode::from(2)
        }
    }
}

/// The command line, over the settings file's values when one is named (see [`settings`]).
/// A bad value from an environment variable is an error naming the variable; clap's other
/// mistakes (an unknown flag, a bad flag value) and `--help` exit here, as clap does.
fn command_line() -> Result<Cli, settings::SettingsError> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut command = Cli::command();
    if let Some(path) = settings::config_path(&args) {
        command = settings::load(command, &path)?;
    }
    let matches = match command.try_get_matches_from_mut(&args) {
        Ok(matches) => matches,
        Err(e) => match settings::from_environment(&command, &args, &e) {
            Some(named) => return Err(named),
            None => e.exit(),
        },
    };
    Ok(Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()))
}
