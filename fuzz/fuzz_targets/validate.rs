//! parse + resolve + check on arbitrary bytes, then both diagnostic renderings:
//! whatever the input, a list of diagnostics whose labels lie inside the text,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard::diagnostic::{self, Source};

fuzz_target!(|data: &[u8]| {
    let (source, diagnostics) = match Source::from_bytes("fuzz.toml".to_owned(), data.to_vec()) {
        Ok(source) => {
            let diagnostics = match switchyard::validate(&source) {
                Ok(validated) => validated.into_parts().2,
                Err(diagnostics) => {
                    assert!(!diagnostics.is_empty(), "invalid without a diagnostic");
                    diagnostics
                }
            };
            (source, diagnostics)
        }
        Err(failure) => {
            let (source, diagnostic) = *failure;
            (source, vec![diagnostic])
        }
    };
    for d in &diagnostics {
        for label in &d.labels {
            assert!(label.span.start <= label.span.end, "{d:?}");
            assert!(label.span.end <= source.text.len(), "{d:?}");
        }
    }
    let _ = diagnostic::render_human(&source, &diagnostics, 100);
    let _ = diagnostic::render_json(&source, &diagnostics);
    let _ = diagnostic::render_github(&source, &diagnostics);
});
