//! Prints a synthetic limits.toml of N models (default 10,000), for timing
//! `limits check` against other TOML readers on the same file:
//! `cargo run -p limits-bench --example synth -- 10000 > /tmp/limits-10k.toml`

fn main() {
    let n = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 10_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("error: N must be a whole number: {e}");
            std::process::exit(2);
        }
    };
    print!("{}", limits_bench::synthetic::table(n));
}
