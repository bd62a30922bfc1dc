//! The typed table against the provider's page, row by row, transcribed by
//! hand from `model-studio-rate-limits.txt` (merged cells filled from the
//! rows above), and the API's round trips.

use modelstudio_limits::{Limits, Model, Section, Usage, SOURCE};

/// (id, QPM, TPM, section id), in the source's order.
const ROWS: &[(&str, u32, u32, &str)] = &[
    ("qwq-plus", 60, 100_000, "qwen"),
    ("qwen-max", 600, 1_000_000, "qwen"),
    ("qwen-max-latest", 60, 100_000, "qwen"),
    ("qwen-max-2025-01-25", 60, 100_000, "qwen"),
    ("qwen-plus", 600, 1_000_000, "qwen"),
    ("qwen-plus-latest", 60, 100_000, "qwen"),
    ("qwen-plus-2025-01-25", 60, 100_000, "qwen"),
    ("qwen-turbo", 600, 5_000_000, "qwen"),
    ("qwen-turbo-latest", 60, 5_000_000, "qwen"),
    ("qwen-turbo-2024-11-01", 60, 5_000_000, "qwen"),
    ("qvq-max", 60, 100_000, "qwen-vl"),
    ("qvq-max-latest", 60, 100_000, "qwen-vl"),
    ("qvq-max-2025-03-25", 60, 100_000, "qwen-vl"),
    ("qwen-vl-plus", 1_200, 1_000_000, "qwen-vl"),
    ("qwen-vl-max", 1_200, 1_000_000, "qwen-vl"),
    ("qwen-mt-plus", 60, 23_797, "qwen-mt"),
    ("qwen-mt-turbo", 60, 19_020, "qwen-mt"),
    ("qwen2.5-14b-instruct-1m", 1_200, 5_000_000, "qwen-open"),
    ("qwen2.5-7b-instruct-1m", 1_200, 5_000_000, "qwen-open"),
    ("qwen2.5-72b-instruct", 1_200, 1_000_000, "qwen-open"),
    ("qwen2.5-32b-instruct", 1_200, 1_000_000, "qwen-open"),
    ("qwen2.5-14b-instruct", 1_200, 1_000_000, "qwen-open"),
    ("qwen2.5-7b-instruct", 1_200, 1_000_000, "qwen-open"),
    ("qwen2-72b-instruct", 60, 150_000, "qwen-open"),
    ("qwen2-57b-a14b-instruct", 60, 30_000, "qwen-open"),
    ("qwen2-7b-instruct", 60, 30_000, "qwen-open"),
    ("qwen1.5-110b-chat", 10, 20_000, "qwen-open"),
    ("qwen1.5-72b-chat", 120, 200_000, "qwen-open"),
    ("qwen1.5-32b-chat", 10, 20_000, "qwen-open"),
    ("qwen1.5-14b-chat", 120, 200_000, "qwen-open"),
    ("qwen1.5-7b-chat", 120, 200_000, "qwen-open"),
    ("qwen2.5-vl-72b-instruct", 1_200, 1_000_000, "qwen-open-vl"),
    ("qwen2.5-vl-32b-instruct", 60, 100_000, "qwen-open-vl"),
    ("qwen2.5-vl-7b-instruct", 1_200, 1_000_000, "qwen-open-vl"),
    ("qwen2.5-vl-3b-instruct", 1_200, 1_000_000, "qwen-open-vl"),
    ("qwen2.5-omni-7b", 60, 100_000, "qwen-omni"),
    ("text-embedding-v3", 1_800, 600_000, "text-embedding"),
];

#[test]
fn every_row_matches_the_source() {
    assert_eq!(Model::ALL.len(), ROWS.len());
    for (&model, &(id, qpm, tpm, section)) in Model::ALL.iter().zip(ROWS) {
        assert_eq!(model.id(), id);
        assert_eq!(model.limits(), Limits { qpm, tpm }, "{id}");
        assert_eq!(model.section().id(), section, "{id}");
    }
}

#[test]
fn aliases_resolve_to_their_models() {
    let aliases = [
        ("qwen-max-0125", Model::QwenMax2025_01_25),
        ("qwen-plus-0125", Model::QwenPlus2025_01_25),
        ("qwen-turbo-1101", Model::QwenTurbo2024_11_01),
    ];
    for (alias, model) in aliases {
        assert_eq!(Model::from_id(alias), Some(model));
        assert_eq!(alias.parse::<Model>(), Ok(model));
        assert_eq!(model.aliases(), &[alias]);
    }
    let with_aliases = Model::ALL
        .iter()
        .filter(|m| !m.aliases().is_empty())
        .count();
    assert_eq!(with_aliases, aliases.len());
}

#[test]
fn ids_round_trip() {
    for &m in Model::ALL {
        assert_eq!(Model::from_id(m.id()), Some(m));
        assert_eq!(m.id().parse::<Model>(), Ok(m));
        assert_eq!(Model::try_from(m.id()), Ok(m));
        assert_eq!(m.to_string(), m.id());
        assert_eq!(m.as_ref(), m.id());
        for alias in m.aliases() {
            assert_eq!(Model::from_id(alias), Some(m));
        }
    }
}

#[test]
fn lookups_are_exact() {
    for miss in [
        "",
        "QWEN-MAX",
        "qwen-max ",
        " qwen-max",
        "qwen",
        "qwen-max-",
        "qwen-max-latestx",
    ] {
        assert_eq!(Model::from_id(miss), None, "{miss:?}");
        let err = miss.parse::<Model>().unwrap_err();
        assert!(err.to_string().contains("unknown model"));
    }
}

#[test]
fn lookups_are_const() {
    const MAX: Option<Model> = Model::from_id("qwen-max");
    const LIMITS: Limits = Model::QwenMax.limits();
    const ID: &str = Model::QwenTurbo.id();
    assert_eq!(MAX, Some(Model::QwenMax));
    assert_eq!(LIMITS.qpm, 600);
    assert_eq!(ID, "qwen-turbo");
}

#[test]
fn sections_follow_the_source() {
    let titles: Vec<&str> = Section::ALL.iter().map(|s| s.title()).collect();
    assert_eq!(
        titles,
        [
            "Qwen LLMs",
            "Qwen VL (visual understanding/image-to-text)",
            "Qwen-MT",
            "Open source Qwen LLM",
            "Open source Qwen VL (visual understanding/image-to-text)",
            "Qwen Omni (Multi-modal)",
            "General text embedding",
        ]
    );
    let listed: Vec<Model> = Section::ALL
        .iter()
        .flat_map(|s| s.models())
        .copied()
        .collect();
    assert_eq!(listed, Model::ALL);
    for s in Section::ALL {
        assert!(s.models().iter().all(|m| m.section() == *s));
    }
    assert_eq!(Section::TextEmbedding.category(), Some("Embedding models"));
    assert_eq!(Section::Qwen.to_string(), "Qwen LLMs");
}

#[test]
fn source_is_recorded() {
    assert_eq!(SOURCE.provider, "Alibaba Cloud Model Studio");
    assert!(SOURCE.url.starts_with("https://"));
    assert_eq!(SOURCE.region, Some("International (Singapore)"));
    assert!(SOURCE.note.unwrap().contains("all API keys"));
}

#[test]
fn check_passes_at_the_limit_and_fails_above_it() {
    let limits = Model::QwqPlus.limits(); // 60 QPM, 100,000 TPM
    let usage = |requests, tokens| Usage { requests, tokens };
    assert_eq!(limits.check(usage(60, 100_000)), Ok(()));
    assert_eq!(limits.check(Usage::default()), Ok(()));

    let qpm = limits.check(usage(61, 0)).unwrap_err();
    assert_eq!(
        qpm.requests().map(|o| (o.limit, o.used, o.excess())),
        Some((60, 61, 1))
    );
    assert_eq!(qpm.tokens(), None);
    assert_eq!(
        qpm.to_string(),
        "61 requests exceed the limit of 60 per minute by 1"
    );

    let tpm = limits.check(usage(1, 150_000)).unwrap_err();
    assert_eq!(tpm.requests(), None);
    assert_eq!(tpm.tokens().map(|o| o.excess()), Some(50_000));

    let both = limits.check(usage(u64::MAX, u64::MAX)).unwrap_err();
    assert_eq!(both.requests().unwrap().excess(), u64::MAX - 60);
    assert_eq!(
        both.to_string(),
        format!(
            "{} requests exceed the limit of 60 per minute by {}; \
             {} tokens exceed the limit of 100000 per minute by {}",
            u64::MAX,
            u64::MAX - 60,
            u64::MAX,
            u64::MAX - 100_000
        )
    );
}

#[test]
fn models_and_sections_are_ordered_by_id() {
    let mut models = Model::ALL.to_vec();
    models.sort();
    let ids: Vec<&str> = models.iter().map(|m| m.id()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    let mut sections = Section::ALL.to_vec();
    sections.sort();
    assert!(sections.windows(2).all(|w| w[0].id() < w[1].id()));
    assert_eq!(
        Model::QwenMax.partial_cmp(&Model::QwqPlus),
        Some(core::cmp::Ordering::Less)
    );
}
