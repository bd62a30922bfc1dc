//! `limits import`: pages in both forms, `--onto`, a revised page's diff,
//! every error a page can have, and a closed stdout.

use limits_e2e::{limits, path, Run};

fn data(file: &str) -> String {
    path(&format!("tests/data/import/{file}"))
        .to_string_lossy()
        .into_owned()
}

fn seed_page() -> String {
    path("tests/data/model-studio-rate-limits.txt")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn html_with_merged_cells_reads_as_its_scraped_text() {
    let html = limits(&["import", &data("page.html")]);
    let text = limits(&["import", &data("page.txt")]);
    assert_eq!(html.code, 0, "{html:?}");
    assert_eq!(html.stdout, text.stdout);
    insta::assert_snapshot!("page", html.stdout);
    let page = std::fs::read_to_string(data("page.html")).unwrap();
    let page = limits_cli::import::read_page(&page).unwrap();
    let turbo = &page.sections[0].rows[4];
    assert_eq!(turbo.id, "qwen-turbo-latest");
    assert_eq!(
        turbo.from,
        [(limits_format::Kind::Tpm, "qwen-turbo".to_string())]
    );
    assert_eq!(
        page.sections[2].category.as_deref(),
        Some("Embedding models")
    );
}

/// The table the English seed page was imported to, with what people
/// added (a fixed fixture: the live limits.toml follows the Chinese page).
fn seed_table() -> String {
    data("seed-limits.toml")
}

/// Imports `page` onto the table `onto` into a file in `dir`, asserts that
/// it succeeds and gives `onto` back byte for byte; returns the run and the
/// file written.
fn import_gives_back(dir: &tempfile::TempDir, page: &str, onto: &str) -> (Run, String) {
    let out = dir.path().join("limits.toml");
    let out = out.to_str().unwrap().to_owned();
    let run = limits(&["import", page, "--onto", onto, "-o", &out]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(onto).unwrap()
    );
    (run, out)
}

#[test]
fn the_seed_page_onto_its_table_gives_the_table_back() {
    let dir = tempfile::tempdir().unwrap();
    let onto = seed_table();
    let (_, out) = import_gives_back(&dir, &seed_page(), &onto);
    let diff = limits(&["diff", &onto, &out]);
    assert!(diff.stdout.ends_with("no changes\n"), "{}", diff.stdout);
}

#[test]
fn a_revised_page_yields_exactly_its_changes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("limits.toml");
    let out = out.to_str().unwrap();
    let onto = seed_table();
    let run = limits(&["import", &data("revised.txt"), "--onto", &onto, "-o", out]);
    assert_eq!(run.code, 0, "{run:?}");
    let check = limits(&["check", "--deny-warnings", out]);
    assert_eq!(check.code, 0, "{check:?}");
    let diff = limits(&["diff", &onto, out]);
    assert_eq!(diff.code, 0, "{diff:?}");
    let changes = diff
        .stdout
        .replace(&onto, "limits.toml")
        .replace(out, "revised");
    for expected in [
        "+ model qwen-plus-2025-04-28: 60 QPM, 100,000 TPM, in section qwen  [minor]",
        "+ alias qvq-latest of qvq-max-latest  [minor]",
        "~ qwen-mt-plus: TPM raised 23,797 -> 30,000 (+26.1%)  [patch]",
        "~ qwen2.5-vl-3b-instruct: moved from section qwen-open-vl to qwen-omni  [patch]",
        "+ section qwen3  [minor]",
        "+ model qwen3-235b-a22b: 60 QPM, 100,000 TPM, in section qwen3  [minor]",
        "+ model qwen3-32b: 60 QPM, 100,000 TPM, in section qwen3  [minor]",
    ] {
        assert!(changes.contains(expected), "{expected}\n{changes}");
    }
    insta::assert_snapshot!("revised_diff", changes);
    // Kept: the file's [source], section ids and notes.
    let revised = limits_format::read(out).unwrap();
    let old = limits_format::read(&onto).unwrap();
    assert_eq!(revised.source, old.source);
    assert!(revised
        .sections
        .iter()
        .any(|s| s.id == "text-embedding" && s.note.is_some()));
    // Importing the same page again changes nothing.
    let again = limits(&["import", &data("revised.txt"), "--onto", out]);
    assert_eq!(again.stdout, std::fs::read_to_string(out).unwrap());
}

#[test]
fn the_page_copy_onto_limits_toml_gives_limits_toml_back() {
    let dir = tempfile::tempdir().unwrap();
    let onto = path("limits.toml").to_string_lossy().into_owned();
    let page = provider("rate-limit.zh-CN.2026-09.md");
    let tiers = provider("quota-management.zh-CN.2026-09.md");
    let out = dir.path().join("limits.toml");
    let out = out.to_str().unwrap().to_owned();
    let run = limits(&[
        "import", &page, "--tiers", &tiers, "--onto", &onto, "-o", &out,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(&onto).unwrap()
    );
    // What the rules read by a choice is warned about on stderr, located.
    assert!(
        run.stderr.lines().all(|l| l.starts_with("warning: ")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Sambert"), "{}", run.stderr);
    // Without --onto, the page alone gives the same table but for the
    // `[source]` note, which says what is known of the copy's date.
    let fresh = limits(&["import", &page, "--tiers", &tiers]);
    assert_eq!(fresh.code, 0, "{fresh:?}");
    let fresh = limits_format::parse("fresh", &fresh.stdout).unwrap();
    let shipped = limits_format::read(&onto).unwrap();
    assert_eq!(fresh.sections, shipped.sections);
    assert_eq!(fresh.source.url, shipped.source.url);
}

/// A copy of a provider page in `tests/data/provider/`.
fn provider(file: &str) -> String {
    path(&format!("tests/data/provider/{file}"))
        .to_string_lossy()
        .into_owned()
}

/// The page copy with what the whole page has besides its tables: a FAQ
/// (prose, a list, a quote, a table of error messages), a code sample
/// whose lines look like table rows, and prose between the tables.
fn whole_page(page: &str) -> String {
    let faq = "## 常见问题\n\n### 触发限流后如何处理？\n\n限流触发后，请求会失败，通常一分钟内恢复。\n\n\
               - 降低请求频率。\n- 使用 Batch API。\n\n> 提示：限流按账号计算。\n\n\
               | **报错信息** | **原因** |\n| --- | --- |\n| Requests rate limit exceeded | 请求过快 |\n\n\
               ```python\nimport os\n# | qwen-max | 1 | 1 |\nprint(\"| fake | 2 |\")\n```\n\n";
    let (head, rest) = page.split_at(page.find("## ").unwrap());
    let prose = "\n这是一段说明文字，位于两个表格之间。\n\n";
    let rest = rest.replacen("### **千问VL", &format!("{prose}### **千问VL"), 1);
    format!("{head}{faq}{rest}\n## 代码示例\n\n```bash\ncurl -X POST | jq\n| a | 1 |\n```\n")
}

#[test]
fn prose_lists_quotes_code_and_the_faq_are_skipped() {
    let copy = std::fs::read_to_string(path("tests/data/rate-limit.zh-CN.md")).unwrap();
    let whole = whole_page(&copy);
    assert_ne!(whole, copy);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("whole.md");
    std::fs::write(&file, &whole).unwrap();
    let run = limits(&["import", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let plain = limits(&[
        "import",
        &path("tests/data/rate-limit.zh-CN.md").to_string_lossy(),
    ]);
    // The same table; only the page line of each note moved.
    let unlined = |text: &str| {
        let re = |s: &str| {
            s.split("(line ")
                .map(|part| part.trim_start_matches(|c: char| c.is_ascii_digit()))
                .collect::<Vec<_>>()
                .join("(line ")
        };
        re(text)
    };
    assert_eq!(unlined(&run.stdout), unlined(&plain.stdout));
    // The FAQ's table is said to be skipped, with its line.
    let faq_table = whole
        .lines()
        .position(|l| l.contains("**报错信息**"))
        .unwrap()
        + 1;
    assert!(
        run.stderr.contains(&format!(
            ":{faq_table}: a table with no model or limit column"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn what_the_rules_cannot_read_is_located_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    let mut files: Vec<_> = std::fs::read_dir(path("tests/data/import/bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap().to_string();
        let out = dir.path().join(format!("{name}.toml"));
        let shown = file.to_str().unwrap();
        let run = limits(&["import", shown, "-o", out.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{name}: {run:?}");
        assert_eq!(run.stdout, "", "{name}");
        assert!(!out.exists(), "{name}: something was written");
        let stderr = run.stderr.replace(shown, &name);
        assert!(stderr.starts_with(&format!("error: {name}:")), "{stderr}");
        insta::assert_snapshot!(format!("bad_{name}"), stderr);
        seen += 1;
    }
    assert!(seen >= 9, "{seen}");
}

/// A writer whose reader has gone, as `| head` leaves one.
struct ClosedPipe;

impl std::io::Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let file = path("limits.toml").to_string_lossy().into_owned();
    for args in [
        vec!["limits", "check", "--format", "json", &file],
        vec!["limits", "export", &file],
        vec!["limits", "import", &seed_page()],
        vec!["limits", "schema"],
    ] {
        let mut err = Vec::new();
        let mut io = limits_cli::Io {
            stdout: &mut ClosedPipe,
            stderr: &mut err,
            color_by_default: false,
        };
        let code = limits_cli::run(args.clone(), &mut io);
        assert_eq!(code, 0, "{args:?}");
        assert_eq!(String::from_utf8(err).unwrap(), "", "{args:?}");
    }
}

/// The refresh's steps over every revision in order (February's page, May's
/// and September's mirror copies): each imports, and each step's diff names
/// what the provider changed for the models people hit, with the numbers
/// the two tables hold.
#[test]
fn every_revision_imports_and_each_step_names_its_changes() {
    let dir = tempfile::tempdir().unwrap();
    let tiers = provider("quota-management.zh-CN.2026-09.md");
    let revisions = [
        (
            "feb",
            path("tests/data/rate-limit.zh-CN.md")
                .to_string_lossy()
                .into_owned(),
            None,
        ),
        ("may", provider("rate-limit.zh-CN.2026-05-27.md"), None),
        (
            "sep",
            provider("rate-limit.zh-CN.2026-09.md"),
            Some(tiers.as_str()),
        ),
    ];
    let mut files = Vec::new();
    for (name, page, tiers) in &revisions {
        let out = dir.path().join(format!("{name}.toml"));
        let out = out.to_str().unwrap().to_owned();
        let mut args = vec!["import", page.as_str(), "-o", out.as_str()];
        if let Some(tiers) = tiers {
            args.extend(["--tiers", tiers]);
        }
        let run = limits(&args);
        assert_eq!(run.code, 0, "{name}: {run:?}");
        files.push(out);
    }
    let tables: Vec<limits_format::Table> = files
        .iter()
        .map(|f| limits_format::read(f).unwrap())
        .collect();
    let limits_of = |t: &limits_format::Table, id: &str, place: &str| {
        t.models()
            .find(|r| {
                r.model.id == id && r.section.mode.map(|d| d.to_string()).as_deref() == Some(place)
            })
            .map(|r| r.group.limits.clone())
    };
    // (step, model, place): a raised RPM the step's diff must say, with
    // the numbers of the tables before and after.
    let raised = [
        (0, "qwen-max", "ap-southeast-1/intl"),
        (0, "kimi-k2.5", "cn-beijing/cn"),
        (1, "qwen3-vl-plus", "us-east-1/global"),
    ];
    let diffs: Vec<String> = files
        .windows(2)
        .map(|w| limits(&["diff", &w[0], &w[1]]).stdout)
        .collect();
    for (step, id, place) in raised {
        let old = limits_of(&tables[step], id, place).unwrap().rpm.unwrap();
        let new = limits_of(&tables[step + 1], id, place)
            .unwrap()
            .rpm
            .unwrap();
        assert!(new > old, "{id} [{place}]: {old} -> {new}");
        let line = format!(
            "~ {id} [{place}]: RPM raised {} -> {}",
            limits_format::group_digits(u64::from(old), ','),
            limits_format::group_digits(u64::from(new), ',')
        );
        assert!(diffs[step].contains(&line), "step {step} lacks `{line}`");
    }
    // September: qwen-flash for US-only inference is a row of its own, and
    // the retired models are said retired with the page's date.
    let us_flash = limits_of(&tables[2], "qwen-flash", "us-east-1/us").unwrap();
    assert!(diffs[1].contains(&format!(
        "+ qwen-flash [us-east-1/us]: {} RPM",
        limits_format::group_digits(u64::from(us_flash.rpm.unwrap()), ',')
    )));
    let retired = tables[2]
        .models()
        .find(|r| r.model.id == "qwen-max-latest")
        .unwrap();
    let Some(limits_format::Retired::On(date)) = &retired.group.retired else {
        panic!("qwen-max-latest is retired with a date");
    };
    assert!(diffs[1].contains(&format!(
        "~ qwen-max-latest [cn-beijing/cn]: retired on {date}"
    )));
    // New models of the newest page, dynamic ones with their tiers.
    let dynamic = limits_of(&tables[2], "qwen3.8-max", "cn-beijing/cn").unwrap();
    assert!(dynamic.dynamic && dynamic.tpm_tiers.is_some());
    assert!(diffs[1].contains("+ model qwen3.8-max [cn-beijing/cn]"));
}

/// The February page's rows the first import read wrongly, as the page's
/// notes, its neighbouring rows and the later revisions read them.
#[test]
fn the_february_page_gives_its_corrected_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("feb.toml");
    let out = out.to_str().unwrap().to_owned();
    let page = path("tests/data/rate-limit.zh-CN.md")
        .to_string_lossy()
        .into_owned();
    let run = limits(&["import", &page, "-o", &out]);
    assert_eq!(run.code, 0, "{run:?}");
    let table = limits_format::read(&out).unwrap();
    let cn = limits_format::Deployment::MAINLAND_CHINA;
    let row = |id: &str| {
        table
            .models()
            .find(|r| r.model.id == id && r.section.mode == Some(cn))
            .unwrap_or_else(|| panic!("{id}"))
    };
    // qwen-long-latest's lone 60,000 is its TPM (no RPM of the page is as
    // large); its RPM is qwen-long's, a merged cell.
    let long = row("qwen-long-latest").group.limits.clone();
    assert_eq!(long.rpm, row("qwen-long").group.limits.rpm);
    assert_eq!(long.tpm, Some(60_000));
    // A lone 1 after a row whose tasks-in-flight cell was text, or with the
    // note of one job running: one task in flight, the submissions merged
    // from the row above.
    for (id, above) in [
        ("wan2.2-s2v", "wan2.2-s2v-detect"),
        ("animate-anyone-template-gen2", "animate-anyone-detect-gen2"),
        ("animate-anyone-gen2", "animate-anyone-detect-gen2"),
        ("animate-anyone-detect", "animate-anyone-detect-gen2"),
        ("animate-anyone", "animate-anyone-detect-gen2"),
        ("emo-v1", "emo-detect-v1"),
        ("liveportrait", "liveportrait-detect"),
        ("emoji-v1", "emoji-detect-v1"),
    ] {
        let limits = &row(id).group.limits;
        assert_eq!(limits.concurrency, Some(1), "{id}");
        assert!(!limits.sync_unlimited, "{id}");
        assert_eq!(
            limits.submit_rps,
            row(above).group.limits.submit_rps,
            "{id}"
        );
    }
    // The compute-unit cells are kept.
    for id in ["animate-anyone-detect", "animate-anyone"] {
        let note = row(id).group.note.clone().unwrap_or_default();
        assert!(note.contains("算力单元"), "{id}: {note}");
    }
    // Six retired tables under four tabs: the two that name replacements
    // under the last tab, the others in order, two under 2025-07-02.
    let dates: Vec<(String, bool)> = table
        .sections
        .iter()
        .filter(|s| s.groups.iter().all(|g| g.retired.is_some()))
        .map(|s| {
            let date = match &s.groups[0].retired {
                Some(limits_format::Retired::On(d)) => d.clone(),
                other => panic!("{}: {other:?}", s.id),
            };
            let named = s
                .groups
                .iter()
                .any(|g| g.models.iter().any(|m| m.replaced_by.is_some()) || g.note.is_some());
            (date, named)
        })
        .collect();
    let only_dates: Vec<&str> = dates.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(
        only_dates,
        [
            "2026-01-30",
            "2025-07-30",
            "2025-07-02",
            "2025-07-02",
            "2025-05-08",
            "2025-05-08"
        ]
    );
}
