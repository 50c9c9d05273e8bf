//! Where `switchyard build` spends its time: each pipeline stage timed on its own,
//! in process (no file writes), median of `--runs` runs, beside the toml floor
//! (`toml::from_str::<toml::Table>` on the same text).
//!
//! ```text
//! cargo run --release --example stages -- big.toml [--runs 5]
//! ```
//!
//! Prints one line per stage: `stage<TAB>median ms<TAB>share of the build`.
//! `bench/compile.sh` runs it after the end-to-end measurements.

use std::process::ExitCode;

#[path = "topology_file.rs"]
mod topology_file;
use std::time::{Duration, Instant};

use switchyard::diagnostic::{Diagnostics, Source};
use switchyard::render::{self, Renderer};
use switchyard::{check, lints, model, plan, raw};

// The allocator of `switchyard` itself (src/bin/switchyard/main.rs), so the stages cost what
// they cost there; the in-process floor uses it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Durations of one run, in pipeline order.
const STAGES: [&str; 8] = [
    "toml floor",
    "parse",
    "resolve",
    "check",
    "plan",
    "render",
    "manifest (SHA-256)",
    "free (model, plan)",
];

/// `f()` and how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

fn run_once(source: &Source, renderer: &Renderer) -> Result<[Duration; 8], String> {
    let (table, floor) = timed(|| toml::from_str::<toml::Table>(&source.text));
    table.map_err(|e| e.to_string())?;
    let mut diagnostics = Diagnostics::default();
    let (parsed, parse) = timed(|| raw::parse(&source.text, &mut diagnostics));
    let parsed = parsed.ok_or("the topology is not TOML (run `switchyard check`)")?;
    let (model, resolve) = timed(|| model::resolve(&parsed, &mut diagnostics));
    let (model, check) = timed(|| check::run(model, &mut diagnostics));
    let model = model.ok_or("the topology is invalid (run `switchyard check`)")?;
    // The checks that judge the plan count as planning: they only read it.
    let (plan, plan_time) = timed(|| {
        let plan = plan::plan(&model);
        lints::run(&model, &plan, &mut diagnostics);
        plan
    });
    let source_id = render::SourceId::new(source);
    let (artifacts, render) = timed(|| renderer.render_plan(&model, &plan, &source_id));
    let artifacts = artifacts.map_err(|e| e.to_string())?;
    let (manifest, manifest_time) =
        timed(|| render::Manifest::new(&artifacts, &source_id).to_json());
    std::hint::black_box((artifacts, manifest));
    // What `switchyard build` pays before exiting: the model and plan are freed
    // at the end of `switchyard::build`.
    let ((), free) = timed(|| drop((model, plan)));
    Ok([
        floor,
        parse,
        resolve,
        check,
        plan_time,
        render,
        manifest_time,
        free,
    ])
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, runs) = match args.as_slice() {
        [path] => (path, 5),
        [path, flag, n] if flag == "--runs" && n.parse::<usize>().is_ok_and(|n| n > 0) => {
            (path, n.parse().expect("checked"))
        }
        _ => {
            eprintln!("usage: stages TOPOLOGY [--runs N]");
            return ExitCode::from(2);
        }
    };
    let text = match topology_file::read("stages", path) {
        Ok(text) => text,
        Err(code) => return code,
    };
    let source = Source::new(path.clone(), text);
    let renderer = Renderer::new(Default::default()).expect("built-in templates parse");
    let mut samples: Vec<[Duration; 8]> = Vec::with_capacity(runs);
    for _ in 0..runs {
        match run_once(&source, &renderer) {
            Ok(times) => samples.push(times),
            Err(error) => {
                eprintln!("stages: {path}: {error}");
                return ExitCode::from(1);
            }
        }
    }
    let median = |i: usize| {
        let mut values: Vec<Duration> = samples.iter().map(|s| s[i]).collect();
        values.sort();
        values[values.len() / 2]
    };
    let medians: Vec<Duration> = (0..STAGES.len()).map(median).collect();
    let build: Duration = medians[1..].iter().sum();
    for (stage, time) in STAGES.iter().zip(&medians) {
        println!(
            "{stage}\t{:.1}\t{:.0}%",
            time.as_secs_f64() * 1e3,
            100.0 * time.as_secs_f64() / build.as_secs_f64()
        );
    }
    println!(
        "build (parse..free)\t{:.1}\t100%",
        build.as_secs_f64() * 1e3
    );
    ExitCode::SUCCESS
}
