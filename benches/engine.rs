//! Engine speed: analysing every shipped model (the work done on each page build).
//!
//! Two figures: `analyze_all` counts the already-loaded specs (what a rebuild
//! with unchanged model files costs); `load_and_analyze_all` also reads and
//! parses every TOML file.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use netledger::count::analyze;
use netledger::model;

fn engine(c: &mut Criterion) {
    let dir = Path::new("content/models");
    let names = model::model_names(dir).unwrap();
    let specs: Vec<_> = names.iter().map(|n| model::load(n, dir).unwrap()).collect();
    c.bench_function("analyze_all", |b| {
        b.iter(|| {
            let mut layers = 0;
            for spec in &specs {
                layers += analyze(spec, None).unwrap().layers.len();
            }
            std::hint::black_box(layers)
        })
    });
    c.bench_function("load_and_analyze_all", |b| {
        b.iter(|| {
            let mut params = 0;
            for name in &names {
                let spec = model::load(name, dir).unwrap();
                params += analyze(&spec, None).unwrap().total.params;
            }
            std::hint::black_box(params)
        })
    });
}

fn site(c: &mut Criterion) {
    let out = std::env::temp_dir().join(format!("netledger-bench-site-{}", std::process::id()));
    let opts =
        netledger::report::BuildOptions::new("content".into(), "templates".into(), out.clone());
    let mut group = c.benchmark_group("site");
    group.sample_size(20);
    group.bench_function("render_default_site_in_memory", |b| {
        b.iter(|| std::hint::black_box(netledger::report::render(&opts).unwrap().0.len()))
    });
    group.bench_function("build_default_site_to_disk", |b| {
        b.iter(|| std::hint::black_box(netledger::report::build(&opts).unwrap().files))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(out);
}

criterion_group!(benches, engine, site);
criterion_main!(benches);
