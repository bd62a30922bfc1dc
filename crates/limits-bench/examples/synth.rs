//! Prints a synthetic limits.toml of N models (default 10,000), for timing
//! `limits check` against other TOML readers on the same file:
//! `cargo run -p limits-bench --example synth -- 10000 > /tmp/limits-10k.toml`.
//! A second argument K breaks the id of every K-th model (one E007 each,
//! two with its alias): `-- 10000 1` breaks them all.

fn main() {
    let n = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 10_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("error: N must be a whole number: {e}");
            std::process::exit(2);
        }
    };
    let every = match std::env::args().nth(2).map(|a| a.parse::<usize>()) {
        None => 0,
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            eprintln!("error: K must be a whole number: {e}");
            std::process::exit(2);
        }
    };
    print!(
        "{}",
        limits_bench::synthetic::table_with_broken_ids(n, every)
    );
}
