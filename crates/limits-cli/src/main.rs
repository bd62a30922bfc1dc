//! The `limits` command: see `limits --help`.

use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let stderr = std::io::stderr();
    let color = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut io = limits_cli::Io {
        stdout: &mut std::io::stdout().lock(),
        stderr: &mut stderr.lock(),
        color_by_default: color,
    };
    ExitCode::from(limits_cli::run(std::env::args_os(), &mut io))
}
