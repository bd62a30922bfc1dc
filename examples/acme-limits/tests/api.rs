//! The API that limits_codegen::Builder generated from acme.toml.

use acme_limits::{AcmeModel, AcmeSection, SOURCE};
use modelstudio_limits::{Deployment, Limits, UnknownModel};
use strum::{EnumCount, IntoEnumIterator};

#[test]
fn the_table_becomes_the_enums() {
    let ids: Vec<&str> = AcmeModel::ALL.iter().map(|m| m.id()).collect();
    assert_eq!(
        ids,
        [
            "acme-large-2026-10-01",
            "acme-small",
            "acme-large-preview",
            "acme-embed-v3"
        ]
    );
    // A schema 1 table holds in every deployment mode.
    for &mode in Deployment::ALL {
        assert_eq!(
            AcmeModel::AcmeLargePreview.limits_in(mode),
            Some(Limits::NONE.with_rpm(120).with_tpm(400_000))
        );
    }
    assert_eq!(AcmeModel::AcmeLargePreview.deployments(), Deployment::ALL);
    assert_eq!(AcmeSection::Text.deployment(), None);
    assert_eq!(AcmeModel::EmbedV3.section(), AcmeSection::Vectors);
    assert_eq!(AcmeSection::Vectors.id(), "vectors");
    assert_eq!(AcmeSection::Text.category(), Some("Generation"));
    assert_eq!(AcmeSection::Text.to_string(), "Text models");
    assert_eq!(
        AcmeSection::Text.models(),
        &[
            AcmeModel::AcmeLarge2026_10_01,
            AcmeModel::AcmeSmall,
            AcmeModel::AcmeLargePreview
        ]
    );
    assert_eq!(SOURCE.provider, "Acme AI");
    assert_eq!(SOURCE.region, Some("Moon (Tranquility Base)"));
    const EMBED: Option<Limits> = AcmeModel::EmbedV3.limits_in(Deployment::MAINLAND_CHINA);
    assert_eq!(EMBED.and_then(|l| l.tpm()), Some(5_000_000));
}

#[test]
fn ids_and_aliases_parse() {
    for name in ["acme-large", "acme-large-latest", "acme-large-2026-10-01"] {
        let model: AcmeModel = name.parse().unwrap();
        assert_eq!(model, AcmeModel::AcmeLarge2026_10_01);
        assert_eq!(AcmeModel::try_from(name), Ok(model));
    }
    assert_eq!(
        AcmeModel::AcmeLarge2026_10_01.aliases(),
        ["acme-large", "acme-large-latest"]
    );
    let unknown: UnknownModel = "Acme-Small".parse::<AcmeModel>().unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "unknown model: not an id or alias in the rate-limit table"
    );
    assert_eq!(AcmeModel::from_id("qwen-max"), None);
    for &m in AcmeModel::ALL {
        assert_eq!(m.to_string(), m.id());
        assert_eq!(m.as_ref(), m.id());
    }
}

#[test]
fn extra_derives_and_attributes_apply() {
    // strum::EnumIter and EnumCount, asked for by build.rs.
    assert_eq!(AcmeModel::iter().collect::<Vec<_>>(), AcmeModel::ALL);
    assert_eq!(AcmeModel::COUNT, 4);
    assert_eq!(AcmeSection::iter().collect::<Vec<_>>(), AcmeSection::ALL);
    // #[repr(u8)]
    assert_eq!(std::mem::size_of::<AcmeModel>(), 1);
    assert_eq!(AcmeModel::EmbedV3 as u8, 3);
}

#[test]
fn serde_is_on() {
    let json = serde_json::to_string(&AcmeModel::EmbedV3).unwrap();
    assert_eq!(json, "\"acme-embed-v3\"");
    let back: AcmeModel = serde_json::from_str("\"acme-large-latest\"").unwrap();
    assert_eq!(back, AcmeModel::AcmeLarge2026_10_01);
    let err = serde_json::from_str::<AcmeModel>("\"qwen-max\"").unwrap_err();
    assert!(
        err.to_string()
            .contains("expected a model id or alias of the Acme AI table"),
        "{err}"
    );
}
