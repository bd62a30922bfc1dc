//! Synthetic limits tables of any size, for scale tests and benchmarks.
//!
//! Shared by the build script (which generates code for them) and the
//! library (which hands them to benchmarks), through `#[path]`.

use std::fmt::Write;

/// The id of synthetic model `i`: realistic length and shape, unique.
pub fn model_id(i: usize) -> String {
    format!("synth{}-{}b-chat-v{}", i % 97, (i * 7) % 500 + 1, i)
}

/// The alias of synthetic model `i`, if it has one (every tenth model).
pub fn alias(i: usize) -> Option<String> {
    i.is_multiple_of(10).then(|| format!("synth-alias-{i}"))
}

/// A valid limits.toml with `n` models: 100 per section, 4 per group,
/// every tenth with an alias.
pub fn table(n: usize) -> String {
    table_with_broken_ids(n, 0)
}

/// [`table`] where every `every`-th model (0: none) has an id, and alias,
/// that breaks the id syntax (a leading `_`): one E007 each.
pub fn table_with_broken_ids(n: usize, every: usize) -> String {
    let mut out = String::with_capacity(n * 64);
    out.push_str(
        "schema = 1\n\n[source]\nprovider = \"Synthetic\"\nurl = \"https://example.com/limits\"\n",
    );
    for i in 0..n {
        if i.is_multiple_of(100) {
            let s = i / 100;
            let _ = write!(
                out,
                "\n[[section]]\nid = \"section-{s}\"\ntitle = \"Section {s}\"\n"
            );
        }
        if i.is_multiple_of(4) {
            let _ = write!(
                out,
                "\n[[section.group]]\nqpm = {}\ntpm = {}\nmodels = [\n",
                60 + i % 1000,
                100_000 + i
            );
        }
        let broken = every > 0 && i.is_multiple_of(every);
        let fix = |id: String| if broken { id.replacen('s', "_", 1) } else { id };
        match alias(i) {
            Some(a) => {
                let _ = writeln!(
                    out,
                    "  {{ id = \"{}\", aliases = [\"{}\"] }},",
                    fix(model_id(i)),
                    fix(a)
                );
            }
            None => {
                let _ = writeln!(out, "  \"{}\",", fix(model_id(i)));
            }
        }
        if i % 4 == 3 || i + 1 == n {
            out.push_str("]\n");
        }
    }
    out
}
