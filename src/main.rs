//! Thin entry point: parse the command line, run it, map the outcome to an
//! exit code (0 success / no changes, 1 error, 2 changes pending).

fn main() -> std::process::ExitCode {
    match paraform::cli::parse_args() {
        Ok(cli) => paraform::cli::run(cli),
        Err(code) => code,
    }
}
