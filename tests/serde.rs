//! Feature `serde` of modelstudio-limits: a model is its id on the wire.

use modelstudio_limits::Model;

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Request {
    model: Model,
}

#[test]
fn models_serialize_as_their_id() {
    let json = serde_json::to_string(&Request {
        model: Model::QwenPlus2025_01_25,
    })
    .unwrap();
    assert_eq!(json, r#"{"model":"qwen-plus-2025-01-25"}"#);
}

#[test]
fn models_deserialize_from_an_id_or_an_alias() {
    for text in [
        r#"{"model":"qwen-plus-2025-01-25"}"#,
        r#"{"model":"qwen-plus-0125"}"#,
    ] {
        let request: Request = serde_json::from_str(text).unwrap();
        assert_eq!(request.model, Model::QwenPlus2025_01_25);
    }
    for &m in Model::ALL {
        let back: Model = serde_json::from_value(serde_json::to_value(m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}

#[test]
fn unknown_ids_are_refused_with_a_clear_error() {
    let err = serde_json::from_str::<Request>(r#"{"model":"gpt-4"}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid value: string \"gpt-4\", expected a model id or alias of the Alibaba Cloud Model Studio table"),
        "{err}"
    );
    assert!(serde_json::from_str::<Request>(r#"{"model":7}"#).is_err());
}
