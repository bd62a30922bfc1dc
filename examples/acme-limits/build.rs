//! Generates `$OUT_DIR/acme.rs` from `acme.toml`. An invalid table fails
//! the build with the findings located in acme.toml, as `limits check`
//! prints them.

fn main() {
    limits_codegen::Builder::new()
        .input("acme.toml")
        .out_file("acme.rs")
        .model_enum("AcmeModel")
        .section_enum("AcmeSection")
        .derive("strum::EnumIter")
        .derive("strum::EnumCount")
        .attribute("#[repr(u8)]")
        .serde(true)
        .deny_warnings(true)
        .build();
}
