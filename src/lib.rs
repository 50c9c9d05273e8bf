//! switchyard: compiles a multi-uplink NAT topology into per-host nftables, ip-batch
//! and systemd-networkd artifacts. See ARCHITECTURE.md for the map.
//!
//! The pipeline is `raw` (TOML) → `model` (resolved) → `check` (rules) → `plan`
//! (backend-neutral decisions) → `render` (templates). Nothing here touches the file
//! system; `main.rs` does all IO.

pub mod check;
pub mod diagnostic;
pub mod model;
pub mod plan;
pub mod raw;
pub mod schema;

use diagnostic::{Diagnostic, Diagnostics, Source};
use model::Model;

/// Largest topology switchyard reads (bytes). A 100k-VM topology is about 20 MiB;
/// past this the input is refused before parsing so memory stays bounded.
pub const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;

/// A topology that passed every check, with the warnings it raised.
pub struct Validated {
    pub model: Model,
    pub warnings: Vec<Diagnostic>,
}

/// Parses, resolves and checks a topology. `Err` holds every diagnostic (errors and
/// warnings, sorted by position) when at least one is an error.
pub fn validate(source: &Source) -> Result<Validated, Vec<Diagnostic>> {
    let mut diagnostics = Diagnostics::default();
    if source.text.len() > MAX_INPUT_BYTES {
        diagnostics.push(input_too_large(source.text.len()));
        return Err(diagnostics.into_sorted());
    }
    let topology = raw::parse(&source.text).map_err(|d| vec![d])?;
    let model = model::resolve(&topology, &mut diagnostics);
    check::run(&model, &mut diagnostics);
    if diagnostics.has_errors() {
        Err(diagnostics.into_sorted())
    } else {
        Ok(Validated {
            model,
            warnings: diagnostics.into_sorted(),
        })
    }
}

pub fn input_too_large(size: usize) -> Diagnostic {
    Diagnostic::new(
        diagnostic::Code::InputTooLarge,
        format!("the topology is larger than {MAX_INPUT_BYTES} bytes (read {size})"),
        0..0,
        "",
    )
    .help("split the topology, or raise MAX_INPUT_BYTES if a real deployment needs more")
}
