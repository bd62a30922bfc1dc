//! Every fixture under `fixtures/bad` is refused with rendered findings,
//! snapshot-tested (insta), one snapshot per file; warnings and very large
//! files are located too. (`fixtures/good` is what limits-codegen's
//! snapshot tests generate code from.)

use std::path::Path;

use limits_format::Colors;

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn bad_fixtures_render_their_diagnostics() {
    insta::glob!("fixtures/bad/*.toml", |path| {
        let bytes = std::fs::read(path).unwrap();
        let report = match limits_format::check(file_name(path), &bytes).into_result() {
            Ok(_) => panic!("{} was accepted", path.display()),
            Err(report) => report,
        };
        let diagnostics = report.diagnostics();
        assert!(diagnostics.has_errors());
        let text = report.text();
        for d in diagnostics {
            for label in std::iter::once(&d.primary).chain(&d.secondary) {
                assert!(label.span.start <= label.span.end, "{d:?}");
                assert!(label.span.end <= text.len(), "{d:?}");
                assert!(text.is_char_boundary(label.span.start), "{d:?}");
                assert!(text.is_char_boundary(label.span.end), "{d:?}");
            }
        }
        let rendered = report.render(Colors::Plain);
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn warnings_do_not_stop_a_table_and_render_located() {
    let input = std::fs::read_to_string("tests/fixtures/good/warnings.toml").unwrap();
    let checked = limits_format::check("warnings.toml", input.as_bytes());
    assert!(checked.table.is_some());
    assert!(!checked.diagnostics.has_errors());
    assert_eq!(checked.diagnostics.len(), 2);
    insta::assert_snapshot!(checked.render(Colors::Plain));
}

#[test]
fn a_ten_megabyte_file_is_read_and_its_last_line_located() {
    // A valid file grown to 10 MB by a long note, then one error on its
    // last line: the error is found and located, nothing panics.
    let mut input =
        String::from("schema = 1\n\n[source]\nprovider = \"P\"\nurl = \"https://p\"\nnote = \"");
    input.push_str(&"0123456789".repeat(1_000_000));
    input.push_str(
        "\"\n\n[[section]]\nid = \"a\"\ntitle = \"A\"\n\n[[section.group]]\nqpm = 1\ntpm = 1\nmodels = [\"Bad_\"]\n",
    );
    assert!(input.len() > 10_000_000);
    let report = limits_format::parse("big.toml", &input).unwrap_err();
    let diagnostics = report.diagnostics();
    assert_eq!(diagnostics.len(), 1);
    let d = diagnostics.iter().next().unwrap();
    assert_eq!(d.code, limits_format::Code::InvalidId);
    let at = limits_format::Location::of(&input, &d.primary.span);
    assert_eq!((at.line, at.column), (15, 15));
}
