//! The measured chapter's data: `content/data/bench.json`, read (never
//! written) during a build, and the functions, tables and charts built on it.
//!
//! A missing file is not an error: pages ask `measured()` and say "not
//! measured". A corrupt or old-schema file is an error naming the file.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use tera::{Kwargs, Value};

use crate::bench::plan::{batched, workload_of};
use crate::bench::{BenchReport, KernelResult, Variant};
use crate::chart::roofline::RoofPoint;
use crate::count::{Analysis, Kind, Layer, Totals};
use crate::error::{Error, Result};
use crate::numfmt::{fixed, percent};
use crate::report::assets::escape;
use crate::report::functions::TeraResult;
use crate::report::Workspace;

/// Kernels grouped by the model their case name starts with
/// (`vgg19/head/fc6` -> `vgg19`), in order of first appearance.
fn by_model<'a, T>(
    kernels: impl Iterator<Item = &'a T>,
    name: impl Fn(&T) -> &str,
) -> Vec<(&'a str, Vec<&'a T>)> {
    let mut groups: Vec<(&str, Vec<&T>)> = Vec::new();
    for k in kernels {
        let full: &'a str = name(k);
        let model = full.split_once('/').map_or("", |x| x.0);
        match groups.iter_mut().find(|g| g.0 == model) {
            Some(g) => g.1.push(k),
            None => groups.push((model, vec![k])),
        }
    }
    groups
}

/// The opening of a table's row group: `<tbody>` and its heading row.
fn group_row(columns: usize, heading: &str) -> String {
    format!(
        "<tbody><tr class=\"group\"><th scope=\"colgroup\" colspan=\"{columns}\">{}</th></tr>",
        escape(heading)
    )
}

/// The results file of the machine `key` in a content folder.
pub fn machine_file(content: &Path, key: &str) -> std::path::PathBuf {
    content
        .join("data")
        .join("bench")
        .join(format!("{key}.json"))
}

/// Every machine's results in a `data/` folder: `bench/*.json` by file name,
/// after a legacy single `bench.json` (left out when `bench/` holds a file of
/// the same machine). Each file is checked as [`load`] checks it.
pub fn load_machines(data: &Path) -> Result<Vec<BenchReport>> {
    let mut out: Vec<BenchReport> = Vec::new();
    for path in &json_files(&data.join("bench"))? {
        out.extend(load(path)?);
    }
    if let Some(legacy) = load(&data.join("bench.json"))? {
        let key = legacy.machine.key();
        if !out.iter().any(|r| r.machine.key() == key) {
            out.insert(0, legacy);
        }
    }
    Ok(out)
}

/// The `*.json` files of `dir`, by name (none when `dir` does not exist).
fn json_files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io("read folder", dir, e))? {
            let path = entry.map_err(|e| Error::io("read folder", dir, e))?.path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The most recent run of `machines` (the latest date; the first file on a tie).
pub fn latest(machines: &[Arc<BenchReport>]) -> Option<Arc<BenchReport>> {
    machines
        .iter()
        .rev()
        .max_by(|a, b| a.machine.date.cmp(&b.machine.date))
        .cloned()
}

/// Reads the cached results, if the file exists; a value out of range or
/// bad JSON is a syntax error pointing into the file.
pub fn load(path: &Path) -> Result<Option<BenchReport>> {
    if !path.exists() {
        return Ok(None);
    }
    let source = crate::source::read(path)?;
    match crate::bench::results::parse(source.text(), path) {
        Ok(report) => Ok(Some(report)),
        Err(crate::bench::BenchError::Json {
            line,
            column,
            message,
            ..
        }) => {
            let at = source.offset(line, column);
            let message = match message.rfind(" at line ") {
                Some(i) => &message[..i],
                None => &message,
            };
            Err(Error::syntax(
                source.span(at.saturating_sub(1), at),
                format!("invalid benchmark results: {message}"),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

/// The SIMD result measured for a layer's shape at `batch`, if any.
pub fn result_for<'a>(
    bench: &'a BenchReport,
    layer: &Layer,
    batch: usize,
) -> Option<&'a KernelResult> {
    let w = batched(workload_of(layer)?, batch).describe();
    bench
        .kernels
        .iter()
        .find(|k| k.variant == Variant::Simd && k.batch == batch && k.workload == w)
}

/// Seconds a layer takes at batch 1: its measured kernel, or, for layers
/// without one (BN, ReLU, pooling, adds), its bytes at the triad bandwidth;
/// flatten, dropout and identity move no data and take none.
pub fn layer_seconds(bench: &BenchReport, layer: &Layer) -> (f64, bool) {
    if let Some(k) = result_for(bench, layer, 1) {
        return (k.median_s, true);
    }
    if crate::bench::network::step_label(&layer.op).is_none() {
        return (0.0, true);
    }
    let bytes = (layer.input_elements() as f64 + layer.activations() as f64) * 4.0;
    let bw = bench.ceilings.triad_bandwidth_gbs.max(1e-9) * 1e9;
    (bytes / bw, false)
}

/// A conv or linear layer with no measurement of its shape: its time in
/// [`layer_seconds`] is a guess, not a measurement.
pub fn guessed(bench: &BenchReport, layer: &Layer) -> bool {
    layer.cost.macs > 0 && result_for(bench, layer, 1).is_none()
}

pub(crate) fn fail(message: impl std::fmt::Display) -> tera::Error {
    tera::Error::message(message.to_string())
}

pub(crate) fn need(ws: &Workspace) -> std::result::Result<&BenchReport, tera::Error> {
    ws.bench.as_deref().ok_or_else(|| {
        fail("no benchmark results (content/data/bench/*.json): run `netledger bench`, or guard with {% if measured() %}")
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CeilingArgs {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KernelArgs {
    kernel: String,
    field: Option<String>,
    variant: Option<String>,
    /// Returned where the file lacks an optional field (the paired
    /// quartiles, the speed-up), so that a page can read files of older runs.
    missing: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsArgs {
    models: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeArgs {
    model: String,
    kind: Option<String>,
    layer: Option<String>,
    section: Option<String>,
    /// `true`: only the conv and linear layers whose shape was not measured,
    /// and whose time is therefore a guess at the triad bandwidth.
    #[serde(default)]
    guessed: bool,
}

/// The `models=[...]` argument of a function, counted.
pub(crate) fn models_arg(
    ws: &Workspace,
    kw: &Kwargs,
    function: &str,
) -> std::result::Result<Vec<Arc<Analysis>>, tera::Error> {
    let a: ModelsArgs = kw
        .deserialize()
        .map_err(|e| fail(format!("{function}(): {e}")))?;
    a.models
        .iter()
        .map(|m| ws.ledger.analysis(m, None))
        .collect::<Result<_>>()
        .map_err(|e| fail(e.to_string()))
}

fn kernel_table_html(ws: &Workspace, b: &BenchReport) -> String {
    let mut h = String::from("<div class=\"table-wrap\"><table><caption>Measured kernels, single thread <span class=\"downloads\"><a href=\"data/bench.json\" download>JSON</a> <a href=\"data/kernels.csv\" download>CSV</a></span></caption><thead><tr>");
    for (c, num) in [
        ("Kernel", false),
        ("Shape", false),
        ("Batch", true),
        ("Median", true),
        ("GFLOP/s", true),
        ("GB/s", true),
        ("FLOP/B", true),
        ("Bound", false),
        ("% of ceiling", true),
        ("Paired", true),
        ("SIMD / scalar", true),
    ] {
        let class = if num { " class=\"num\"" } else { "" };
        h.push_str(&format!("<th scope=\"col\"{class}>{c}</th>"));
    }
    h.push_str("</tr></thead>");
    let mut csv = String::from("name,layer,variant,batch,workload,median_s,gflops,gbs,intensity,bound,fraction_of_ceiling,paired_q1,paired_median,paired_q3,speedup_vs_scalar\n");
    for k in &b.kernels {
        csv.push_str(&format!(
            "{},{},{},{},\"{}\",{},{},{},{},{},{},{},{}\n",
            k.name,
            k.layer.as_deref().unwrap_or(""),
            k.variant.as_str(),
            k.batch,
            k.workload,
            k.median_s,
            k.gflops,
            k.gbs,
            k.intensity,
            match k.bound {
                crate::bench::Bound::Compute => "compute",
                crate::bench::Bound::Memory => "memory",
            },
            k.fraction_of_ceiling,
            k.fraction_of_ceiling_paired
                .map_or(",,".into(), |q| q.map(|x| x.to_string()).join(",")),
            k.speedup_vs_scalar.map_or(String::new(), |s| s.to_string())
        ));
    }
    // The SIMD rows, grouped by the model their layer belongs to.
    let simd = b.kernels.iter().filter(|k| k.variant == Variant::Simd);
    for (model, kernels) in by_model(simd, |k| &k.name) {
        let name = ws
            .ledger
            .analysis(model, None)
            .map_or_else(|_| model.to_string(), |a| a.name.clone());
        h.push_str(&group_row(
            11,
            &format!(
                "{} ({} kernels)",
                if name.is_empty() { "other" } else { &name },
                kernels.len()
            ),
        ));
        for k in kernels {
            h.push_str(&format!(
            "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(k.name.split_once('/').map_or(&k.name, |x| x.1)),
            escape(&k.workload),
            k.batch,
            duration(k.median_s),
            fixed(k.gflops, 1),
            fixed(k.gbs, 1),
            fixed(k.intensity, 1),
            match k.bound {
                crate::bench::Bound::Compute => "compute",
                crate::bench::Bound::Memory => "memory",
            },
            percent(k.fraction_of_ceiling, 0),
            k.fraction_of_ceiling_paired
                .map_or("n/a".into(), |[q1, m, q3]| format!(
                    "{} ({}-{})",
                    percent(m, 0),
                    fixed(q1 * 100.0, 0),
                    fixed(q3 * 100.0, 0)
                )),
            k.speedup_vs_scalar.map_or("n/a".into(), |s| format!("{}x", fixed(s, 1)))
        ));
        }
        h.push_str("</tbody>");
    }
    h.push_str("</table></div>");
    ws.assets.put("data/kernels.csv", csv);
    ws.assets.put(
        "data/bench.json",
        serde_json::to_string_pretty(b).unwrap_or_default() + "\n",
    );
    h
}

/// `0.0123` -> `12.3 ms`.
pub fn duration(s: f64) -> String {
    if s >= 1.0 {
        format!("{} s", fixed(s, 2))
    } else if s >= 1e-3 {
        format!("{} ms", fixed(s * 1e3, 2))
    } else {
        format!("{} µs", fixed(s * 1e6, 1))
    }
}

fn time_table_html(ws: &Workspace, b: &BenchReport, list: &[Arc<Analysis>]) -> String {
    let mut h = String::from("<div class=\"table-wrap\"><table><caption>Where the time goes at batch 1 (sum of measured kernels; other layers estimated at the triad bandwidth) <span class=\"downloads\"><a href=\"data/time-by-section.csv\" download>CSV</a></span></caption><thead><tr><th scope=\"col\">Model / section</th><th scope=\"col\" class=\"num\">Params share</th><th scope=\"col\" class=\"num\">MACs share</th><th scope=\"col\" class=\"num\">Time</th><th scope=\"col\" class=\"num\">Time share</th></tr></thead><tbody>");
    let mut csv =
        String::from("model,section,params,macs,seconds,measured_layers,estimated_layers\n");
    for a in list {
        let times: Vec<(f64, bool)> = a.layers.iter().map(|l| layer_seconds(b, l)).collect();
        let total: f64 = times.iter().map(|t| t.0).sum();
        for (name, t) in &a.sections {
            let (secs, measured, estimated) = a
                .layers
                .iter()
                .zip(&times)
                .filter(|(l, _)| l.section == *name)
                .fold((0.0, 0, 0), |(s, m, e), (_, (t, ok))| {
                    (s + t, m + usize::from(*ok), e + usize::from(!*ok))
                });
            h.push_str(&format!(
                "<tr><th scope=\"row\">{} {}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&a.id),
                escape(name),
                percent(Totals::share(t.params, a.total.params), 1),
                percent(Totals::share(t.macs, a.total.macs), 1),
                duration(secs),
                percent(if total > 0.0 { secs / total } else { 0.0 }, 1)
            ));
            csv.push_str(&format!(
                "{},{name},{},{},{secs},{measured},{estimated}\n",
                a.id, t.params, t.macs
            ));
        }
        h.push_str(&format!(
            "<tr class=\"subtotal\"><th scope=\"row\"><strong>{} total</strong></th><td class=\"num\">100%</td><td class=\"num\">100%</td><td class=\"num\"><strong>{}</strong></td><td class=\"num\">100%</td></tr>",
            escape(&a.id),
            duration(total)
        ));
    }
    h.push_str("</tbody></table></div>");
    ws.assets.put("data/time-by-section.csv", csv);
    h
}

fn figure(
    ws: &Workspace,
    stem: &str,
    title: &str,
    alt: &str,
    (svg, narrow): (String, String),
    csv: String,
) -> String {
    let svg = crate::chart::style::finish(&svg, title, alt);
    let narrow = crate::chart::style::finish(&narrow, title, alt);
    crate::report::functions::publish_figure(ws, stem, title, alt, svg, Some(narrow), csv)
}

fn roofline_figure(ws: &Workspace, b: &BenchReport, list: &[Arc<Analysis>]) -> Result<String> {
    let c = &b.ceilings;
    let mut series: Vec<(String, Vec<RoofPoint>)> = Vec::new();
    for a in list {
        let pts = a
            .layers
            .iter()
            .filter(|l| matches!(l.op.kind(), Kind::Conv | Kind::Linear))
            .filter_map(|l| {
                result_for(b, l, 1).map(|k| (k.intensity, k.gflops, l.local_path().to_string()))
            })
            .filter(|(i, g, _)| *i > 0.0 && *g > 0.0)
            .collect();
        series.push((a.name.clone(), pts));
    }
    let title = "Roofline: every conv and linear layer, measured at batch 1";
    // The memory hierarchy's roofs, fastest first; DRAM is the main ceiling.
    let mut caches = vec![("L1".to_string(), c.read_bandwidth_l1_gbs)];
    caches.push(("L2".to_string(), c.read_bandwidth_l2_gbs));
    caches.extend(c.read_bandwidth_l3_gbs.map(|g| ("L3".to_string(), g)));
    let drawn = |frame| {
        crate::chart::roofline::roofline(
            frame,
            title,
            c.read_bandwidth_gbs,
            &caches,
            c.fma_peak_gflops,
            &series,
        )
    };
    let svg = drawn(crate::chart::WIDE)?;
    let narrow = drawn(crate::chart::NARROW)?;
    let cache_roofs: Vec<String> = caches
        .iter()
        .map(|(name, g)| format!("{name} {} GB/s", fixed(*g, 1)))
        .collect();
    let mut alt = format!(
        "Log-log roofline. Measured ceilings: {} GB/s DRAM read ({}), {} GFLOP/s FMA peak, ridge at {} FLOP per byte. ",
        fixed(c.read_bandwidth_gbs, 1),
        cache_roofs.join(", "),
        fixed(c.fma_peak_gflops, 1),
        fixed(c.ridge_intensity(), 1)
    );
    let mut csv = String::from("model,layer,intensity,gflops\n");
    for (name, pts) in &series {
        let below = pts.iter().filter(|p| p.0 < c.ridge_intensity()).count();
        alt.push_str(&format!(
            "{name}: {} layers, {below} of them left of the ridge (memory-bound). ",
            pts.len()
        ));
        for p in pts {
            csv.push_str(&format!("{name},{},{},{}\n", p.2, p.0, p.1));
        }
    }
    Ok(figure(
        ws,
        "roofline",
        title,
        alt.trim_end(),
        (svg, narrow),
        csv,
    ))
}

fn batch_figure(ws: &Workspace, b: &BenchReport) -> Result<String> {
    let mut pts: Vec<(usize, f64, f64)> = b
        .kernels
        .iter()
        .filter(|k| {
            k.variant == Variant::Simd && k.layer.as_deref().is_some_and(|l| l.ends_with("/fc6"))
        })
        .map(|k| (k.batch, k.gflops, k.median_s))
        .collect();
    pts.sort_by_key(|p| p.0);
    pts.dedup_by_key(|p| p.0);
    if pts.is_empty() {
        return Err(Error::Bench(
            "bench.json has no fc6 measurements for the batch chart".into(),
        ));
    }
    let c = &b.ceilings;
    let title = "VGG-19 fc6 from batch 1 to 64: from memory-bound to compute-bound";
    let line: Vec<(usize, f64)> = pts.iter().map(|p| (p.0, p.1)).collect();
    let drawn = |frame| {
        crate::chart::batch::batch(frame, title, c.read_bandwidth_gbs, c.fma_peak_gflops, &line)
    };
    let svg = drawn(crate::chart::WIDE)?;
    let narrow = drawn(crate::chart::NARROW)?;
    let mut alt = String::from("fc6 throughput against batch size. ");
    let mut csv = String::from("batch,gflops,median_s\n");
    for p in &pts {
        alt.push_str(&format!(
            "batch {}: {} GFLOP/s in {}. ",
            p.0,
            fixed(p.1, 1),
            duration(p.2)
        ));
        csv.push_str(&format!("{},{},{}\n", p.0, p.1, p.2));
    }
    Ok(figure(
        ws,
        "fc6-batch",
        title,
        alt.trim_end(),
        (svg, narrow),
        csv,
    ))
}

/// `measured(...)` in pages.
/// `measured()` in pages: whether there are results at all;
/// `measured(network="vgg19")`: whether they hold its forward pass.
pub fn measured(w: &Workspace, kw: &Kwargs) -> TeraResult<bool> {
    let network: Option<String> = kw
        .get("network")
        .map_err(|e| fail(format!("measured(): {e}")))?;
    Ok(match network {
        None => w.bench.is_some(),
        Some(n) => crate::report::forward::has_run(w, &n),
    })
}

/// `machine(...)` in pages.
pub fn machine(w: &Workspace, _: &Kwargs) -> TeraResult<String> {
    let b = need(w)?;
    let m = &b.machine;
    // bench.json may come from another machine's owner: escaped text.
    Ok(escape(&format!(
        "{}, {} cores{}, {} ({} build, {}), measured {}{}",
        m.cpu(),
        m.cores,
        m.pinned_cpu
            .map_or(String::new(), |c| format!(" (pinned to CPU {c})")),
        m.features.join("+"),
        m.build_profile,
        m.os,
        m.date.get(..10).unwrap_or(&m.date),
        if b.quick { " (quick budgets)" } else { "" }
    )))
}

/// `ceiling(...)` in pages.
pub fn ceiling(w: &Workspace, kw: &Kwargs) -> TeraResult<f64> {
    let a: CeilingArgs = kw
        .deserialize()
        .map_err(|e| fail(format!("ceiling(): {e}")))?;
    let c = &need(w)?.ceilings;
    let value = serde_json::to_value(c)
        .ok()
        .and_then(|v| v.get(&a.name).and_then(serde_json::Value::as_f64));
    value.ok_or_else(|| {
        let names = serde_json::to_value(c)
            .ok()
            .and_then(|v| {
                v.as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
            })
            .unwrap_or_default();
        fail(format!("unknown ceiling `{}` (ceilings: {names})", a.name))
    })
}

/// `kernel(...)` in pages.
pub fn kernel(w: &Workspace, kw: &Kwargs) -> TeraResult<f64> {
    let a: KernelArgs = kw
        .deserialize()
        .map_err(|e| fail(format!("kernel(): {e}")))?;
    let b = need(w)?;
    let variant = a.variant.as_deref().unwrap_or("simd");
    let k = b
        .kernels
        .iter()
        .find(|k| {
            (k.name == a.kernel || k.name.ends_with(&format!("/{}", a.kernel)))
                && k.variant.as_str() == variant
        })
        .ok_or_else(|| fail(format!("no measured kernel `{}` ({variant})", a.kernel)))?;
    let field = a.field.as_deref().unwrap_or("gflops");
    // Outer `None`: no such numeric field; inner `None`: not in this file.
    let value: Option<Option<f64>> = match field {
        "paired_q1" => Some(k.fraction_of_ceiling_paired.map(|q| q[0])),
        "paired_median" => Some(k.fraction_of_ceiling_paired.map(|q| q[1])),
        "paired_q3" => Some(k.fraction_of_ceiling_paired.map(|q| q[2])),
        _ => serde_json::to_value(k)
            .ok()
            .and_then(|v| v.get(field).cloned())
            .and_then(|v| match v {
                serde_json::Value::Null => Some(None),
                v => v.as_f64().map(Some),
            }),
    };
    let value = value.ok_or_else(|| fail(format!("kernel(): unknown numeric field `{field}`")))?;
    value.or(a.missing).ok_or_else(|| {
        fail(format!(
            "kernel(): `{}` has no `{field}` in this results file (made before it was recorded); \
             give `missing=` a value to fall back on",
            k.name
        ))
    })
}

/// `model_time(...)` in pages.
pub fn model_time(w: &Workspace, kw: &Kwargs) -> TeraResult<f64> {
    let a: TimeArgs = kw
        .deserialize()
        .map_err(|e| fail(format!("model_time(): {e}")))?;
    let b = need(w)?;
    let an = w
        .ledger
        .analysis(&a.model, None)
        .map_err(|e| fail(e.to_string()))?;
    let kind = match a.kind.as_deref() {
        None => None,
        Some(k) => Some(
            Kind::ALL
                .into_iter()
                .find(|x| x.as_str() == k)
                .ok_or_else(|| fail(format!("unknown kind `{k}`")))?,
        ),
    };
    let total: f64 = an
        .layers
        .iter()
        .filter(|l| kind.is_none_or(|k| l.op.kind() == k))
        .filter(|l| {
            a.layer
                .as_ref()
                .is_none_or(|p| l.path.ends_with(&format!("/{p}")))
        })
        .filter(|l| a.section.as_ref().is_none_or(|s| l.section == *s))
        .filter(|l| !a.guessed || guessed(b, l))
        .map(|l| layer_seconds(b, l).0)
        .sum();
    Ok(total)
}

/// `guessed_macs(...)` in pages.
pub fn guessed_macs(w: &Workspace, kw: &Kwargs) -> TeraResult<u64> {
    let model: String = kw
        .must_get("model")
        .map_err(|e| fail(format!("guessed_macs(): {e}")))?;
    let b = need(w)?;
    let an = w
        .ledger
        .analysis(&model, None)
        .map_err(|e| fail(e.to_string()))?;
    Ok(an
        .layers
        .iter()
        .filter(|l| guessed(b, l))
        .map(|l| l.cost.macs)
        .sum())
}

/// `kernel_table(...)` in pages.
pub fn kernel_table(w: &Workspace, _: &Kwargs) -> TeraResult<Value> {
    Ok(Value::safe_string(&kernel_table_html(w, need(w)?)))
}

/// `time_table(...)` in pages.
pub fn time_table(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let list = models_arg(w, kw, "time_table")?;
    let b = need(w)?;
    Ok(Value::safe_string(&time_table_html(w, b, &list)))
}

/// `roofline(...)` in pages.
pub fn roofline(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let list = models_arg(w, kw, "roofline")?;
    let b = need(w)?;
    roofline_figure(w, b, &list)
        .map(|h| Value::safe_string(&h))
        .map_err(|e| fail(e.to_string()))
}

/// `batch_chart(...)` in pages.
pub fn batch_chart(w: &Workspace, _: &Kwargs) -> TeraResult<Value> {
    let b = need(w)?;
    batch_figure(w, b)
        .map(|h| Value::safe_string(&h))
        .map_err(|e| fail(e.to_string()))
}

/// `machines(models=[...])` in pages: every measured machine side by side,
/// one column each: what it is, its ceilings, and each model's estimated
/// forward pass from that machine's own kernels.
pub fn machines(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let list = models_arg(w, kw, "machines")?;
    if w.machines.is_empty() {
        need(w)?;
    }
    let opt =
        |v: Option<f64>, d: usize| v.map_or_else(|| "not measured".to_string(), |v| fixed(v, d));
    type Row<'a> = (String, Box<dyn Fn(&BenchReport) -> String + 'a>);
    let mut rows: Vec<Row> = vec![
        (
            "CPU".into(),
            Box::new(|b: &BenchReport| escape(&b.machine.cpu())),
        ),
        (
            "Instruction sets".into(),
            Box::new(|b: &BenchReport| escape(&b.machine.features.join("+"))),
        ),
        (
            "Cores".into(),
            Box::new(|b: &BenchReport| b.machine.cores.to_string()),
        ),
        (
            "Measured".into(),
            Box::new(|b: &BenchReport| {
                let m = &b.machine;
                let load = m
                    .load_avg_start
                    .map(|l| format!(", load {}", fixed(l[0], 2)))
                    .unwrap_or_default();
                let pinned = m
                    .pinned_cpu
                    .map(|c| format!(", on CPU {c}"))
                    .unwrap_or_default();
                escape(&format!(
                    "{}{load}{pinned}",
                    m.date.get(..10).unwrap_or(&m.date)
                ))
            }),
        ),
        (
            "FMA peak, best ISA (GFLOP/s)".into(),
            Box::new(|b: &BenchReport| fixed(b.ceilings.fma_peak_gflops, 1)),
        ),
        (
            "FMA peak, AVX2 / AVX-512 (GFLOP/s)".into(),
            Box::new(move |b: &BenchReport| {
                format!(
                    "{} / {}",
                    opt(b.ceilings.fma_peak_avx2_gflops, 1),
                    opt(b.ceilings.fma_peak_avx512_gflops, 1)
                )
            }),
        ),
        (
            "Read L1 / L2 / L3 (GB/s)".into(),
            Box::new(move |b: &BenchReport| {
                let c = &b.ceilings;
                format!(
                    "{} / {} / {}",
                    fixed(c.read_bandwidth_l1_gbs, 0),
                    fixed(c.read_bandwidth_l2_gbs, 0),
                    opt(c.read_bandwidth_l3_gbs, 0)
                )
            }),
        ),
        (
            "Read DRAM (GB/s)".into(),
            Box::new(|b: &BenchReport| fixed(b.ceilings.read_bandwidth_gbs, 1)),
        ),
    ];
    for a in &list {
        let id = a.id.clone();
        rows.push((
            format!(
                "{}, whole forward pass at batch 1 / 8 (ms)",
                escape(&a.name)
            ),
            Box::new(move |b: &BenchReport| {
                let at = |batch: usize| {
                    b.networks
                        .iter()
                        .find(|n| n.model == id && n.batch == batch)
                        .map(|n| n.median_s * 1e3)
                };
                format!("{} / {}", opt(at(1), 0), opt(at(8), 0))
            }),
        ));
        let a = a.clone();
        rows.push((
            format!("{}, sum of layers at batch 1 (ms)", escape(&a.name)),
            Box::new(move |b: &BenchReport| {
                let guessed: u64 = a
                    .layers
                    .iter()
                    .filter(|l| guessed(b, l))
                    .map(|l| l.cost.macs)
                    .sum();
                let ms: f64 = a.layers.iter().map(|l| layer_seconds(b, l).0).sum::<f64>() * 1e3;
                if guessed > 0 {
                    format!(
                        "{} ({} of MACs guessed)",
                        fixed(ms, 0),
                        percent(Totals::share(guessed, a.total.macs), 0)
                    )
                } else {
                    fixed(ms, 0)
                }
            }),
        ));
    }
    let mut h = String::from("<div class=\"table-wrap\" role=\"region\" tabindex=\"0\" aria-label=\"Measured machines side by side\"><table><caption>Measured machines side by side (one file each in <code>content/data/bench/</code>)</caption><thead><tr><th scope=\"col\">Figure</th>");
    for (i, _) in w.machines.iter().enumerate() {
        h.push_str(&format!(
            "<th scope=\"col\" class=\"num\">Machine {}</th>",
            i + 1
        ));
    }
    h.push_str("</tr></thead><tbody>");
    for (label, cell) in &rows {
        h.push_str(&format!("<tr><th scope=\"row\">{label}</th>"));
        for b in &w.machines {
            h.push_str(&format!("<td class=\"num\">{}</td>", cell(b)));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div>");
    Ok(Value::safe_string(&h))
}

/// A peer comparison, as `benches/compare_torch.py` writes it: netledger's
/// kernels and PyTorch's on the same shapes, and both whole forward passes,
/// in one session: sample by sample in alternation (`interleaved`), or, in
/// files written before that, in alternating rounds of whole suites. Files
/// may come from others: unknown fields are errors and every time is
/// range-checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerReport {
    pub about: String,
    /// The machine, named as its netledger results file is.
    pub machine_key: String,
    pub cpu_model: String,
    pub date: String,
    /// Rounds, or with `interleaved` samples of each side per shape.
    pub rounds: u32,
    #[serde(default)]
    pub interleaved: bool,
    /// The CPU both sides were pinned to, where they were.
    #[serde(default)]
    pub cpu: Option<u32>,
    pub load_avg_start: [f64; 3],
    pub load_avg_end: [f64; 3],
    pub kernels: Vec<PeerKernel>,
    pub forward: Vec<PeerForward>,
}

/// One shape, timed by both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerKernel {
    /// netledger's case name, e.g. `vgg19/stage1/conv1`.
    pub name: String,
    pub workload: String,
    pub batch: usize,
    #[serde(deserialize_with = "crate::bench::checked::seconds")]
    pub netledger_median_s: f64,
    #[serde(deserialize_with = "crate::bench::checked::seconds")]
    pub torch_median_s: f64,
    /// Quartiles of PyTorch's time over netledger's, pair by pair
    /// (interleaved files since 2026-12-02).
    #[serde(default, deserialize_with = "crate::bench::checked::opt_quartiles")]
    pub ratio_quartiles: Option<[f64; 3]>,
}

/// A whole network's forward pass in PyTorch, and netledger's in the same
/// session (files written before netledger ran networks lack it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerForward {
    pub model: String,
    pub batch: usize,
    #[serde(deserialize_with = "crate::bench::checked::seconds")]
    pub torch_median_s: f64,
    #[serde(default, deserialize_with = "crate::bench::checked::opt_seconds")]
    pub netledger_median_s: Option<f64>,
    /// As [`PeerKernel::ratio_quartiles`].
    #[serde(default, deserialize_with = "crate::bench::checked::opt_quartiles")]
    pub ratio_quartiles: Option<[f64; 3]>,
}

/// Where a shape stands against PyTorch over its pairs of samples: faster
/// or slower in at least three pairs of four (the first quartile of the
/// ratio above 1, or the third below it), else too close to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Faster,
    Slower,
    Close,
}

impl Verdict {
    fn of(quartiles: [f64; 3]) -> Verdict {
        match quartiles {
            [q1, _, _] if q1 > 1.0 => Verdict::Faster,
            [_, _, q3] if q3 < 1.0 => Verdict::Slower,
            _ => Verdict::Close,
        }
    }
}

/// The "Middle half of pairs" column of a peer table: shown only when the
/// file has paired quartiles (files made before them have none).
#[derive(Clone, Copy)]
struct PairsColumn(bool);

impl PairsColumn {
    fn of<'a>(mut quartiles: impl Iterator<Item = &'a Option<[f64; 3]>>) -> Self {
        PairsColumn(quartiles.any(Option::is_some))
    }

    fn header(self) -> &'static str {
        if self.0 {
            "<th scope=\"col\" class=\"num\">Middle half of pairs</th>"
        } else {
            ""
        }
    }

    /// The middle half of one shape's paired ratios, `0.77-0.86x`; "not
    /// paired" where the file has quartiles for other shapes only.
    fn cell(self, quartiles: Option<[f64; 3]>) -> String {
        if !self.0 {
            return String::new();
        }
        let text = quartiles.map_or("not paired".to_string(), |[q1, _, q3]| {
            format!("{}-{}x", fixed(q1, 2), fixed(q3, 2))
        });
        format!("<td class=\"num\">{text}</td>")
    }

    fn columns(self) -> usize {
        usize::from(self.0)
    }
}

/// Every peer comparison in a `data/` folder: `peers/*.json` by file name.
pub fn load_peers(data: &Path) -> Result<Vec<PeerReport>> {
    json_files(&data.join("peers"))?
        .iter()
        .map(|path| {
            let source = crate::source::read(path)?;
            serde_json::from_str(source.text()).map_err(|e| {
                let at = source.offset(e.line(), e.column());
                let message = e.to_string();
                let message = message
                    .rfind(" at line ")
                    .map_or(&message[..], |i| &message[..i]);
                Error::syntax(
                    source.span(at.saturating_sub(1), at),
                    format!("invalid peer comparison: {message}"),
                )
            })
        })
        .collect()
}

/// `peers(models=[...])` in pages: the peer comparison of the machine the
/// chapter speaks of: each shape timed by netledger and PyTorch in the same
/// session, grouped by model, and the whole forward passes: PyTorch's,
/// against the sum of netledger's kernels from that session (other layers
/// at the triad bandwidth, as everywhere in the chapter).
pub fn peers(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let list = models_arg(w, kw, "peers")?;
    let b = need(w)?;
    let key = b.machine.key();
    let Some(p) = w.peers.iter().find(|p| p.machine_key == key) else {
        return Ok(Value::safe_string(&format!(
            "<p>No PyTorch comparison for this machine yet: run <code>benches/compare_torch.py</code> (it writes <code>content/data/peers/{}.json</code>).</p>",
            escape(&key)
        )));
    };
    let pairs = PairsColumn::of(p.kernels.iter().map(|k| &k.ratio_quartiles));
    let mut h = format!(
        "<div class=\"table-wrap long\" role=\"region\" tabindex=\"0\" aria-label=\"netledger against PyTorch\"><table><caption>netledger against PyTorch on this machine, single thread, medians of {} ({}; load {} to {}). A ratio above 1: netledger is faster.{}</caption><thead><tr><th scope=\"col\">Kernel</th><th scope=\"col\">Shape</th><th scope=\"col\" class=\"num\">Batch</th><th scope=\"col\" class=\"num\">netledger</th><th scope=\"col\" class=\"num\">PyTorch</th><th scope=\"col\" class=\"num\">PyTorch / netledger</th>{}</tr></thead>",
        if p.interleaved {
            format!(
                "{} samples of each, taken alternately one by one on the same shape{}",
                p.rounds,
                p.cpu
                    .map_or(String::new(), |c| format!(", both on CPU {c}"))
            )
        } else {
            format!("{} alternating rounds", p.rounds)
        },
        escape(&p.about),
        fixed(p.load_avg_start[0], 2),
        fixed(p.load_avg_end[0], 2),
        if pairs.0 {
            " The middle half of pairs: the first to third quartile of the ratio taken pair by pair, each PyTorch sample over netledger's next to it."
        } else {
            ""
        },
        pairs.header()
    );
    for (model, kernels) in by_model(p.kernels.iter(), |k| &k.name) {
        let n = kernels.len();
        let verdicts: Option<Vec<Verdict>> = kernels
            .iter()
            .map(|k| k.ratio_quartiles.map(Verdict::of))
            .collect();
        let heading = match verdicts {
            Some(v) => {
                let count = |want| v.iter().filter(|&&x| x == want).count();
                format!(
                    "{model}: {} of {n} shapes faster than PyTorch and {} slower, each in at least three pairs of four; {} too close to call",
                    count(Verdict::Faster),
                    count(Verdict::Slower),
                    count(Verdict::Close)
                )
            }
            None => {
                let faster = kernels
                    .iter()
                    .filter(|k| k.torch_median_s > k.netledger_median_s)
                    .count();
                format!("{model} ({faster} of {n} shapes faster than PyTorch)")
            }
        };
        h.push_str(&group_row(6 + pairs.columns(), &heading));
        for k in kernels {
            h.push_str(&format!(
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}x</td>{}</tr>",
                escape(k.name.split_once('/').map_or(&k.name, |x| x.1)),
                escape(&k.workload),
                k.batch,
                duration(k.netledger_median_s),
                duration(k.torch_median_s),
                fixed(k.torch_median_s / k.netledger_median_s, 2),
                pairs.cell(k.ratio_quartiles)
            ));
        }
        h.push_str("</tbody>");
    }
    h.push_str("</table></div>");
    // Whole networks: both forward passes, and netledger's kernels of the
    // same session summed over the model's layers.
    let pairs = PairsColumn::of(p.forward.iter().map(|f| &f.ratio_quartiles));
    h.push_str(&format!("<div class=\"table-wrap\" role=\"region\" tabindex=\"0\" aria-label=\"Whole forward passes against PyTorch\"><table><caption>One image, whole network, single thread, same session: both forward passes{}, and the sum of netledger's layers timed one by one</caption><thead><tr><th scope=\"col\">Model</th><th scope=\"col\" class=\"num\">PyTorch forward</th><th scope=\"col\" class=\"num\">netledger forward</th><th scope=\"col\" class=\"num\">PyTorch / netledger</th>{}<th scope=\"col\" class=\"num\">netledger, sum of layers</th></tr></thead><tbody>",
        if pairs.0 { " (the middle half of pairs as above)" } else { "" },
        pairs.header()));
    for a in &list {
        let Some(f) = p.forward.iter().find(|f| f.model == a.id && f.batch == 1) else {
            continue;
        };
        let sum: f64 = a
            .layers
            .iter()
            .map(|l| {
                let k = workload_of(l).and_then(|wl| {
                    let d = batched(wl, 1).describe();
                    p.kernels.iter().find(|k| k.batch == 1 && k.workload == d)
                });
                k.map_or_else(|| layer_seconds(b, l).0, |k| k.netledger_median_s)
            })
            .sum();
        let (ours, ratio) = match f.netledger_median_s {
            Some(s) => (duration(s), format!("{}x", fixed(f.torch_median_s / s, 2))),
            None => ("not run".to_string(), String::new()),
        };
        h.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{ours}</td><td class=\"num\">{ratio}</td>{}<td class=\"num\">{}</td></tr>",
            escape(&a.name),
            duration(f.torch_median_s),
            pairs.cell(f.ratio_quartiles),
            duration(sum),
        ));
    }
    h.push_str("</tbody></table></div>");
    Ok(Value::safe_string(&h))
}
