//! The typed table's API, checked on every model of the table it was
//! generated from (the rows themselves are compared with the provider's
//! page by the repository's tests/source_table.rs).

use modelstudio_limits::{Deployment, Limits, Model, Section, Usage, SOURCE};

#[test]
fn aliases_resolve_to_their_models() {
    let mut aliases = 0;
    for &model in Model::ALL {
        for alias in model.aliases() {
            assert_eq!(Model::from_id(alias), Some(model));
            assert_eq!(alias.parse::<Model>(), Ok(model));
            assert_ne!(*alias, model.id());
            aliases += 1;
        }
    }
    assert!(aliases > 0, "the table has aliases");
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
    const FIRST: Model = Model::ALL[0];
    const ID: &str = FIRST.id();
    const FOUND: Option<Model> = Model::from_id(ID);
    const MODE: Deployment = FIRST.deployments()[0];
    const LIMITS: Option<Limits> = FIRST.limits_in(MODE);
    assert_eq!(FOUND, Some(FIRST));
    assert_eq!(LIMITS, Model::ALL[0].limits_in(MODE));
    const { assert!(LIMITS.is_some()) };
}

#[test]
fn every_model_has_limits_in_exactly_the_modes_it_lists() {
    for &m in Model::ALL {
        assert!(!m.deployments().is_empty(), "{m}");
        for &d in Deployment::ALL {
            let listed = m.deployments().contains(&d);
            assert_eq!(m.limits_in(d).is_some(), listed, "{m} in {d}");
            if let Some(pool) = m.pool_in(d) {
                assert!(listed && !pool.name.is_empty(), "{m} in {d}");
            }
        }
        // A retired model names its replacement, if any, as a model that is.
        if let Some(by) = m.replaced_by() {
            assert_ne!(by, m);
        }
    }
}

#[test]
fn sections_list_every_model_once_in_table_order() {
    // A model is in one section per mode; its first section comes first.
    let mut first: Vec<Model> = Vec::new();
    for s in Section::ALL {
        for &m in s.models() {
            if !first.contains(&m) {
                first.push(m);
                assert_eq!(m.section(), *s);
            }
        }
    }
    assert_eq!(first, Model::ALL);
    for s in Section::ALL {
        assert!(!s.models().is_empty());
        let mode = s.deployment().expect("the published table has modes");
        assert!(s.models().iter().all(|m| m.deployments().contains(&mode)));
        assert_eq!(s.to_string(), s.title());
    }
}

#[test]
fn source_is_recorded() {
    assert!(!SOURCE.provider.is_empty());
    assert!(SOURCE.url.starts_with("https://"));
}

#[test]
fn check_passes_at_the_limit_and_fails_above_it() {
    // The first model of Mainland China with both per-minute limits.
    let limits = Model::ALL
        .iter()
        .find_map(|m| {
            let l = m.limits_in(Deployment::MAINLAND_CHINA)?;
            (l.rpm().is_some() && l.tpm().is_some()).then_some(l)
        })
        .unwrap();
    let (q, t) = (u64::from(limits.rpm().unwrap()), limits.tpm().unwrap());
    let usage = |requests, tokens| Usage { requests, tokens };
    assert_eq!(limits.check(usage(q, t)), Ok(()));
    assert_eq!(limits.check(Usage::default()), Ok(()));

    let qpm = limits.check(usage(q + 1, 0)).unwrap_err();
    assert_eq!(
        qpm.requests().map(|o| (o.limit, o.used, o.excess())),
        Some((q, q + 1, 1))
    );
    assert_eq!(qpm.tokens(), None);
    assert_eq!(
        qpm.to_string(),
        format!("{} requests exceed the limit of {q} per minute by 1", q + 1)
    );

    let tpm = limits.check(usage(1, t + t / 2)).unwrap_err();
    assert_eq!(tpm.requests(), None);
    assert_eq!(tpm.tokens().map(|o| o.excess()), Some(t / 2));

    let both = limits.check(usage(u64::MAX, u64::MAX)).unwrap_err();
    assert_eq!(both.requests().unwrap().excess(), u64::MAX - q);
    assert_eq!(
        both.to_string(),
        format!(
            "{} requests exceed the limit of {q} per minute by {}; \
             {} tokens exceed the limit of {t} per minute by {}",
            u64::MAX,
            u64::MAX - q,
            u64::MAX,
            u64::MAX - t
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
    for pair in Model::ALL.windows(2) {
        assert_eq!(
            pair[0].partial_cmp(&pair[1]),
            Some(pair[0].id().cmp(pair[1].id()))
        );
    }
}
