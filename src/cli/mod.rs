//! The command line: clap types (`args`), arguments → validated library configs, file and
//! directory walking, output to stdout/stderr, colour, completions, exit codes; `memory`: the
//! counting allocator behind `--max-memory`.
//!
//! Exit codes (stable): 0 success, 1 a check failed (incorrect or undecided), 2 usage or input
//! error (memory past twice `--max-memory` included). A closed pipe on stdout counts as success. Nothing here panics on input: every
//! failure is a message and an exit code.

mod args;
mod commands;
mod memory;
mod train;
mod train_plot;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

pub use args::Opts;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: a check failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage or input error.
pub const EXIT_INPUT: u8 = 2;

/// An error that ends the command with exit code 2.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

/// Where output goes; remembers a closed pipe so the process can stop quietly.
pub struct Out {
    color: bool,
    broken: bool,
}

impl Out {
    /// Prints `s` and a newline to stdout.
    pub fn line(&mut self, s: &str) {
        if self.broken {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{s}")
            .and_then(|_| stdout.flush())
            .is_err()
        {
            self.broken = true;
        }
    }

    /// Prints `s` as is to stdout.
    pub fn raw(&mut self, s: &str) {
        if self.broken {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        if write!(stdout, "{s}").and_then(|_| stdout.flush()).is_err() {
            self.broken = true;
        }
    }

    /// Whether colour is on.
    pub fn color(&self) -> bool {
        self.color
    }
}

/// Parses arguments, runs the command, and returns the exit code.
pub fn run() -> ExitCode {
    let opts = match Opts::try_parse() {
        Ok(o) => o,
        Err(e) => {
            // --help and --version print to stdout and succeed; usage errors exit with 2.
            let code = if e.use_stderr() { EXIT_INPUT } else { EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let color = match opts.color {
        args::Color::Always => true,
        args::Color::Never => false,
        args::Color::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let mut out = Out {
        color,
        broken: false,
    };
    // A panic is a bug; it must never surface as exit code 101 with a raw backtrace. The
    // library is written not to panic; this is the backstop, and a test fails if it fires.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        commands::run(opts.command, &mut out)
    }));
    match result {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(CliError(msg))) => {
            eprintln!("error: {msg}");
            ExitCode::from(EXIT_INPUT)
        }
        Err(_) => {
            eprintln!("error: internal error (a bug in derivcheck); please report the input");
            ExitCode::from(EXIT_INPUT)
        }
    }
}
