//! Does nothing unless feature `custom-table` is on. With it, and with
//! `MODELSTUDIO_LIMITS_TOML` naming a limits file (absolute path), the
//! crate's code is generated from that file instead of the checked-in
//! `src/generated.rs`, by `limits_codegen::Builder::modelstudio_limits()`,
//! the settings `limits gen` starts from too.

/// The cfg that makes `src/lib.rs` include the code generated here.
const CFG: &str = "modelstudio_limits_custom_table";

fn main() {
    println!("cargo::rustc-check-cfg=cfg({CFG})");
    println!("cargo::rerun-if-changed=build.rs");
    #[cfg(feature = "custom-table")]
    custom_table::run();
}

#[cfg(feature = "custom-table")]
mod custom_table {
    use std::path::PathBuf;

    const VAR: &str = "MODELSTUDIO_LIMITS_TOML";

    pub fn run() {
        println!("cargo::rerun-if-env-changed={VAR}");
        let path = match std::env::var_os(VAR) {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            // Unset or empty: the published table.
            _ => return,
        };
        if !path.is_absolute() {
            eprintln!(
                "error: {VAR}={} is not an absolute path\n  \
                 build scripts run in the crate's own directory, so a relative path names no \
                 file of yours; give an absolute one (or set it in .cargo/config.toml [env] \
                 with `relative = true`)",
                path.display()
            );
            std::process::exit(1);
        }
        limits_codegen::Builder::modelstudio_limits()
            .input(&path)
            .input_name(path.display().to_string())
            .command(format!(
                "cargo build (modelstudio-limits with feature custom-table, {VAR}={})",
                path.display()
            ))
            .build();
        println!("cargo::rustc-cfg={}", super::CFG);
    }
}
