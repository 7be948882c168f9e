//! The `derivcheck` binary. All logic is in the library; `cli` turns arguments into library
//! calls and results into output and an exit code. This is the only place the process ends.
mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
