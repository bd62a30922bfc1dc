// The generator's settings for this crate's own `Model` and `Section`:
// types from `crate`, serde behind the `serde` feature. Included by
// build.rs (feature `custom-table`); `limits gen` has the same settings
// (limits-cli, src/repo.rs), and tests/build_scripts.rs checks that the two
// generate the same code.

/// The `limits_codegen::Builder` settings of `src/generated.rs`.
fn modelstudio_limits_preset() -> limits_codegen::Builder {
    let mut builder = limits_codegen::Builder::new();
    builder
        .out_file("generated.rs")
        .types_path("crate")
        .serde_feature("serde");
    builder
}
