//! Ids and the Rust names derived from them.
//!
//! Everything here is a pure function of a string, so the validator and the
//! emitter agree on names by construction.

/// The longest id accepted, in bytes (ids are ASCII).
pub const MAX_ID_LEN: usize = 64;

/// The id syntax in words, as the README, the explanation of E007 and the
/// JSON Schema's description state it (tests hold them to this text and
/// to [`check_id`]).
pub const ID_SYNTAX: &str =
    "ASCII letters (case-sensitive), digits, `-`, `/`, `_` and `.`; start with a letter; \
`-`, `/` and `_` separate non-empty segments; `.` only between two digits; at most 64 characters";

/// Why an id was refused, and at which byte of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdError {
    /// Byte offset inside the id of the offending character (the id's length
    /// when the problem is at its end).
    pub offset: usize,
    /// What is wrong, as a sentence fragment.
    pub reason: String,
}

/// Checks the id syntax ([`ID_SYNTAX`]).
pub fn check_id(id: &str) -> Result<(), IdError> {
    if is_valid_id(id.as_bytes()) {
        Ok(())
    } else {
        diagnose_id(id)
    }
}

/// The id rules in one pass over the bytes (the common, valid case).
fn is_valid_id(b: &[u8]) -> bool {
    let ([first, ..], Some(&last)) = (b, b.last()) else {
        return false;
    };
    if !first.is_ascii_alphabetic() || matches!(last, b'-' | b'/' | b'_') || b.len() > MAX_ID_LEN {
        return false;
    }
    let mut prev = *first;
    for (i, &c) in b.iter().enumerate().skip(1) {
        let ok = match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => true,
            b'-' | b'/' | b'_' => !matches!(prev, b'-' | b'/' | b'_'),
            b'.' => prev.is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit),
            _ => false,
        };
        if !ok {
            return false;
        }
        prev = c;
    }
    true
}

/// Says why `id` is invalid, precisely.
fn diagnose_id(id: &str) -> Result<(), IdError> {
    let err = |offset: usize, reason: String| Err(IdError { offset, reason });
    let bytes = id.as_bytes();
    let Some(&first) = bytes.first() else {
        return err(0, "is empty".into());
    };
    if let Some((offset, c)) = id
        .char_indices()
        .find(|&(_, c)| !matches!(c, 'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '/' | '_' | '.'))
    {
        let what = format!(
            "has the character {} (allowed: ASCII letters, digits, `-`, `/`, `_`, `.`)",
            describe_char(c)
        );
        return err(offset, what);
    }
    if !first.is_ascii_alphabetic() {
        return err(0, "does not start with a letter".into());
    }
    if id.len() > MAX_ID_LEN {
        return err(
            MAX_ID_LEN,
            format!(
                "is {} characters long (at most {MAX_ID_LEN})",
                id.chars().count()
            ),
        );
    }
    for (i, &b) in bytes.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + 1).copied();
        match b {
            b'-' | b'/' | b'_' if after.is_none() => {
                return err(i, format!("ends with `{}`", b as char))
            }
            b'-' | b'/' | b'_' if matches!(after, Some(b'-' | b'/' | b'_')) => {
                return err(
                    i,
                    format!(
                        "has an empty segment (`{}{}`)",
                        b as char,
                        after.unwrap_or(b'-') as char
                    ),
                )
            }
            b'.' if !(before.is_some_and(|c| c.is_ascii_digit())
                && after.is_some_and(|c| c.is_ascii_digit())) =>
            {
                return err(i, "has a `.` that is not between two digits".into());
            }
            _ => {}
        }
    }
    Ok(())
}

fn describe_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("`{c}`")
    }
}

/// The Rust name of a (valid) id: split on `-`, `/` and `_`, replace `.` by
/// `_`, capitalise the first letter of each segment (other letters keep
/// their case), join, and put `_` between two segments where the first
/// ends and the next begins with a digit.
///
/// ```
/// use limits_format::ident::rust_name;
/// assert_eq!(rust_name("qwen-max-2025-01-25"), "QwenMax2025_01_25");
/// assert_eq!(rust_name("qwen2.5-vl-72b-instruct"), "Qwen2_5Vl72bInstruct");
/// assert_eq!(rust_name("MiniMax-M2.5"), "MiniMaxM2_5");
/// assert_eq!(rust_name("siliconflow/deepseek-v3.2"), "SiliconflowDeepseekV3_2");
/// assert_eq!(rust_name("vidu/vidu-image-pro_reference2image"), "ViduViduImageProReference2image");
/// ```
pub fn rust_name(id: &str) -> String {
    let mut out = Vec::with_capacity(id.len() + 4);
    for segment in id.split(['-', '/', '_']).map(str::as_bytes) {
        let Some((&first, rest)) = segment.split_first() else {
            continue;
        };
        if first.is_ascii_digit() && out.last().is_some_and(u8::is_ascii_digit) {
            out.push(b'_');
        }
        out.push(first.to_ascii_uppercase());
        out.extend(rest.iter().map(|&b| if b == b'.' { b'_' } else { b }));
    }
    // Only ASCII bytes were replaced by ASCII bytes, so this is UTF-8 for
    // any input; `from_utf8_lossy` keeps it total without `unsafe`.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Rust's keywords, strict and reserved, of every edition.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Whether `name` is a Rust keyword (strict or reserved, any edition).
pub fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// Checks that `name` is an ASCII identifier in UpperCamelCase as rustc's
/// `non_camel_case_types` lint sees it: starts with an uppercase letter,
/// letters and digits, `_` only between two digits.
pub fn check_rust_name(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    match bytes.first() {
        None => return Err("is empty".into()),
        Some(b) if !b.is_ascii_uppercase() => {
            return Err("does not start with an uppercase ASCII letter".into())
        }
        _ => {}
    }
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => {}
            b'_' if i > 0
                && bytes[i - 1].is_ascii_digit()
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {}
            b'_' => return Err("has a `_` that is not between two digits".into()),
            _ => {
                let c = name[i..].chars().next().unwrap_or('?');
                return Err(format!(
                    "has the character {} (allowed: ASCII letters, digits, `_`)",
                    describe_char(c)
                ));
            }
        }
    }
    if is_keyword(name) {
        return Err("is a Rust keyword".into());
    }
    Ok(())
}

/// Every string of at most `max_len` symbols of `alphabet` (tests compare
/// rules exhaustively on them).
#[cfg(test)]
pub(crate) fn strings_over(alphabet: &[&str], max_len: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..max_len {
        last = last
            .iter()
            .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_syntax_in_words_names_the_length_limit() {
        assert!(ID_SYNTAX.ends_with(&format!("at most {MAX_ID_LEN} characters")));
    }

    #[test]
    fn names_from_the_issue() {
        for (id, name) in [
            ("qwq-plus", "QwqPlus"),
            ("qwen-max-2025-01-25", "QwenMax2025_01_25"),
            ("qwen2.5-vl-72b-instruct", "Qwen2_5Vl72bInstruct"),
            ("qwen1.5-110b-chat", "Qwen1_5_110bChat"),
            ("qwen2-57b-a14b-instruct", "Qwen2_57bA14bInstruct"),
            ("qwen2.5-14b-instruct-1m", "Qwen2_5_14bInstruct1m"),
            ("text-embedding-v3", "TextEmbeddingV3"),
            ("Moonshot-Kimi-K2-Instruct", "MoonshotKimiK2Instruct"),
            ("siliconflow/deepseek-r1-0528", "SiliconflowDeepseekR1_0528"),
            ("self", "Self"),
        ] {
            assert_eq!(rust_name(id), name, "{id}");
        }
        assert_eq!(rust_name("qwen2.5-7b"), rust_name("qwen2-5-7b"));
    }

    #[test]
    fn derived_names_of_valid_ids_pass_the_name_check_unless_keywords() {
        for id in ["a", "qwen2.5-vl-3b", "x-1-2.3-y", "q9-9"] {
            check_id(id).unwrap();
            check_rust_name(&rust_name(id)).unwrap();
        }
        assert_eq!(check_rust_name("Self").unwrap_err(), "is a Rust keyword");
    }

    #[test]
    fn id_syntax() {
        let bad = |id: &str| check_id(id).unwrap_err();
        assert_eq!(bad("").offset, 0);
        check_id("Qwen").unwrap();
        check_id("MiniMax/MiniMax-M2.5").unwrap();
        check_id("vidu/vidu-image-pro_reference2image").unwrap();
        assert_eq!(bad("qwen__max").offset, 4);
        assert_eq!(bad("qwen_").offset, 4);
        assert!(bad("qwen max").reason.contains("U+0020"));
        assert_eq!(bad("a//b").offset, 1);
        assert_eq!(bad("a-/b").offset, 1);
        assert_eq!(bad("a/").offset, 1);
        assert_eq!(bad("qwen--max").offset, 4);
        assert_eq!(bad("qwen-").offset, 4);
        assert_eq!(bad("-qwen").offset, 0);
        assert_eq!(bad("1qwen").reason, "does not start with a letter");
        assert_eq!(bad("qwen.5").offset, 4);
        assert_eq!(bad("qwen2.").offset, 5);
        assert_eq!(bad("q2.x").offset, 2);
        assert!(bad("qwen\u{7}").reason.contains("U+0007"));
        assert!(bad(&"a".repeat(65)).reason.contains("65 characters"));
        check_id(&"a".repeat(64)).unwrap();
        check_id("qwen2.5-14b-instruct-1m").unwrap();
    }

    #[test]
    fn the_fast_check_agrees_with_the_diagnosis() {
        let alphabet = ["a", "z", "0", "9", "-", ".", "A", "/", "_", " ", "é"];
        let strings = strings_over(&alphabet, 4);
        for s in strings.iter().chain([&"a".repeat(64), &"a".repeat(65)]) {
            assert_eq!(is_valid_id(s.as_bytes()), diagnose_id(s).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn rust_name_override_checks() {
        assert!(check_rust_name("QwenMax").is_ok());
        assert!(check_rust_name("V2_5").is_ok());
        assert!(check_rust_name("qwen").is_err());
        assert!(check_rust_name("Qwen_Max").is_err());
        assert!(check_rust_name("Qwen-Max").is_err());
        assert!(check_rust_name("Qwen2_").is_err());
        assert!(check_rust_name("").is_err());
    }
}
