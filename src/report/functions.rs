//! The Tera functions and filters pages use to compute their content.
//!
//! Values: `params`, `macs`, `flops`, `buffers`, `share`, `ratio`,
//! `convention`, `layers`, `name`, `shape`. Blocks of HTML: `table`,
//! `compare`, `conventions`, `top_layers`, `chart`. Filters: `num`, `si`,
//! `pct`, `fixed`. Every function rejects unknown arguments.

use std::sync::Arc;

use serde::Deserialize;
use tera::{Kwargs, State, Tera, Value};

use crate::count::convention::Convention;
use crate::count::output::By;
use crate::count::{Analysis, Kind, Layer, Totals};
use crate::numfmt::{fixed, percent, si, thousands};
use crate::report::assets::escape;
use crate::report::charts::ChartArgs;
use crate::report::number::{self, Num};
use crate::report::{forward, measured, tables, Workspace};

pub(crate) type TeraResult<T> = Result<T, tera::Error>;

fn fail(message: impl std::fmt::Display) -> tera::Error {
    tera::Error::message(message.to_string())
}

fn args<'a, T: Deserialize<'a>>(kwargs: &'a Kwargs, function: &str) -> TeraResult<T> {
    kwargs
        .deserialize::<T>()
        .map_err(|e| fail(format!("{function}(): {}", e.to_string().trim())))
}

/// Which part of a model a value is about.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Select {
    model: String,
    kind: Option<String>,
    section: Option<String>,
    layer: Option<String>,
    op: Option<String>,
    #[serde(rename = "match")]
    matching: Option<String>,
    input: Option<Vec<Num>>,
    of: Option<String>,
}

fn dims(input: &Option<Vec<Num>>) -> TeraResult<Option<Vec<u64>>> {
    number::dims(input).map_err(fail)
}

/// Most decimals a number filter accepts.
const MAX_PRECISION: u64 = crate::numfmt::MAX_DECIMALS as u64;

fn precision(p: Option<Num>, default: usize) -> TeraResult<usize> {
    p.map_or(Ok(default), |n| {
        n.whole("precision", 0, MAX_PRECISION)
            .map(|v| v as usize)
            .map_err(fail)
    })
}

/// `*` matches any run of characters (slashes included); everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn parse_kind(k: &str) -> TeraResult<Kind> {
    Kind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == k)
        .ok_or_else(|| {
            let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            fail(format!("unknown kind `{k}` (kinds: {})", kinds.join(", ")))
        })
}

fn find_layer<'a>(a: &'a Analysis, path: &str) -> TeraResult<&'a Layer> {
    a.layer(path).ok_or_else(|| {
        let near: Vec<&str> = a
            .layers
            .iter()
            .map(|l| l.local_path())
            .filter(|p| p.contains(path.rsplit('/').next().unwrap_or(path)))
            .take(5)
            .collect();
        fail(format!(
            "model `{}` has no layer `{path}`{}",
            a.id,
            if near.is_empty() {
                String::new()
            } else {
                format!(" (similar: {})", near.join(", "))
            }
        ))
    })
}

/// Totals of the selected part.
fn selected(ws: &Workspace, s: &Select) -> TeraResult<(Arc<Analysis>, Totals)> {
    let input = dims(&s.input)?;
    let a = ws
        .ledger
        .analysis(&s.model, input.as_deref())
        .map_err(|e| fail(e.to_string()))?;
    if let Some(path) = &s.layer {
        if s.kind.is_some() || s.section.is_some() || s.op.is_some() || s.matching.is_some() {
            return Err(fail(
                "`layer` names one layer: give no other filter with it",
            ));
        }
        let l = find_layer(&a, path)?;
        let t = Totals::of([l]).ok_or_else(|| fail("arithmetic overflow"))?;
        return Ok((a.clone(), t));
    }
    let kind = s.kind.as_deref().map(parse_kind).transpose()?;
    if let Some(sec) = &s.section {
        if a.section(sec).is_none() {
            let names: Vec<&str> = a.sections.iter().map(|(n, _)| n.as_str()).collect();
            return Err(fail(format!(
                "model `{}` has no section `{sec}` (sections: {})",
                a.id,
                names.join(", ")
            )));
        }
    }
    if let Some(op) = &s.op {
        let ops = crate::count::op::op_names();
        if !ops.contains(&op.as_str()) {
            return Err(fail(format!("unknown op `{op}` (ops: {})", ops.join(", "))));
        }
    }
    let chosen: Vec<&Layer> = a
        .layers
        .iter()
        .filter(|l| kind.is_none_or(|k| l.op.kind() == k))
        .filter(|l| s.section.as_ref().is_none_or(|sec| l.section == *sec))
        .filter(|l| s.op.as_ref().is_none_or(|op| l.op.name() == op))
        .filter(|l| s.matching.as_ref().is_none_or(|m| glob(m, l.local_path())))
        .collect();
    if let Some(m) = &s.matching {
        if chosen.is_empty() {
            return Err(fail(format!(
                "no layer of `{}` matches `{m}` (paths look like `stage2/block0/conv1`)",
                a.id
            )));
        }
    }
    let t = Totals::of(chosen).ok_or_else(|| fail("arithmetic overflow"))?;
    Ok((a.clone(), t))
}

fn metric(t: &Totals, of: Option<&str>) -> TeraResult<u64> {
    match of.unwrap_or("params") {
        "params" => Ok(t.params),
        "macs" => Ok(t.macs),
        "flops" => Ok(t.flops),
        "buffers" => Ok(t.buffers),
        "activations" => Ok(t.activations),
        "layers" => Ok(t.layers),
        other => Err(fail(format!(
            "unknown quantity `{other}` (params, macs, flops, buffers, activations, layers)"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ratio {
    a: String,
    b: String,
    of: Option<String>,
    input: Option<Vec<Num>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConventionArgs {
    model: String,
    tool: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelOnly {
    model: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerArgs {
    model: String,
    layer: String,
    input: Option<Vec<Num>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableArgs {
    model: String,
    by: Option<String>,
    input: Option<Vec<Num>>,
    /// With `by="layer"`: one folded `<details>` table per section.
    #[serde(default)]
    fold: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffArgs {
    a: String,
    b: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsArgs {
    models: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopArgs {
    model: String,
    of: Option<String>,
    limit: Option<Num>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Precision {
    precision: Option<Num>,
}

/// The `<figure>` for a chart, registering its SVG and CSV with the build.
pub fn chart_figure(ws: &Workspace, c: &ChartArgs) -> crate::Result<String> {
    let chart = crate::report::charts::render(&ws.ledger, c)?;
    let stem = chart.file.trim_end_matches(".svg");
    Ok(publish_figure(
        ws,
        stem,
        &chart.title,
        &chart.alt,
        chart.svg,
        Some(chart.svg_narrow),
        chart.csv,
    ))
}

/// Registers `charts/STEM.svg` (and `charts/STEM-narrow.svg`, the phone
/// variant) and `data/chart-STEM.csv`, and returns the `<figure>` showing
/// them: a `<picture>` picks the narrow chart on narrow screens.
pub fn publish_figure(
    ws: &Workspace,
    stem: &str,
    title: &str,
    alt: &str,
    svg: String,
    narrow: Option<String>,
    csv: String,
) -> String {
    let size = |svg: &str, attr: &str| {
        svg.split(&format!(" {attr}=\""))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("0")
            .to_string()
    };
    let (w, h) = (size(&svg, "width"), size(&svg, "height"));
    let source = match &narrow {
        Some(n) => format!(
            "<source media=\"(max-width: 600px)\" srcset=\"charts/{stem}-narrow.svg\" width=\"{}\" height=\"{}\">",
            size(n, "width"),
            size(n, "height")
        ),
        None => String::new(),
    };
    ws.assets.put(format!("charts/{stem}.svg"), svg);
    if let Some(n) = narrow {
        ws.assets.put(format!("charts/{stem}-narrow.svg"), n);
    }
    ws.assets.put(format!("data/chart-{stem}.csv"), csv);
    format!(
        "<figure class=\"chart\"><picture>{source}<img src=\"charts/{stem}.svg\" alt=\"{}\" width=\"{w}\" height=\"{h}\"></picture><figcaption>{} <a href=\"data/chart-{stem}.csv\" download>data (CSV)</a></figcaption></figure>",
        escape(alt),
        escape(title),
    )
}

fn by(name: Option<&str>) -> TeraResult<By> {
    match name.unwrap_or("layer") {
        "layer" => Ok(By::Layer),
        "section" => Ok(By::Section),
        "kind" => Ok(By::Kind),
        other => Err(fail(format!(
            "unknown `by` value `{other}` (layer, section, kind)"
        ))),
    }
}

/// A number as sign and magnitude, floats rounded to the nearest integer.
fn whole(v: &Value, filter: &str) -> TeraResult<(bool, u64)> {
    if let Some(n) = v.as_u64() {
        return Ok((false, n));
    }
    if let Some(n) = v.as_i64() {
        return Ok((n < 0, n.unsigned_abs()));
    }
    match v.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 1.8e19 => Ok((f < -0.5, f.abs().round() as u64)),
        _ => Err(fail(format!("`{filter}` needs a number, got {v}"))),
    }
}

/// A page function: the build's shared state and the call's arguments.
type Function = fn(&Workspace, &Kwargs) -> TeraResult<Value>;

/// A filter: the value and the call's arguments.
type Filter = fn(&Value, &Kwargs) -> TeraResult<Value>;

/// Wraps a function of any result type as a [`Function`].
macro_rules! function {
    ($f:path) => {
        |w: &Workspace, kw: &Kwargs| $f(w, kw).map(Value::from)
    };
}

/// Every page function, by name: the one list `register` reads, and that
/// error messages and the README's table follow.
pub const FUNCTIONS: &[(&str, Function)] = &[
    ("params", function!(params)),
    ("macs", function!(macs)),
    ("flops", function!(flops)),
    ("buffers", function!(buffers)),
    ("activations", function!(activations)),
    ("layers", function!(layers)),
    ("share", function!(share)),
    ("ratio", function!(ratio)),
    ("convention", function!(convention)),
    ("name", function!(name)),
    ("shape", function!(shape)),
    ("table", function!(table)),
    ("diff", function!(diff)),
    ("compare", function!(compare)),
    ("conventions", function!(conventions)),
    ("top_layers", function!(top_layers)),
    ("chart", function!(chart)),
    ("measured", function!(measured::measured)),
    ("machine", function!(measured::machine)),
    ("ceiling", function!(measured::ceiling)),
    ("kernel", function!(measured::kernel)),
    ("model_time", function!(measured::model_time)),
    ("guessed_macs", function!(measured::guessed_macs)),
    ("kernel_table", function!(measured::kernel_table)),
    ("time_table", function!(measured::time_table)),
    ("roofline", function!(measured::roofline)),
    ("batch_chart", function!(measured::batch_chart)),
    ("machines", function!(measured::machines)),
    ("peers", function!(measured::peers)),
    ("forward", function!(forward::forward)),
    ("forward_table", function!(forward::forward_table)),
];

/// Every filter, by name.
pub const FILTERS: &[(&str, Filter)] = &[
    ("num", |v, kw| num(v, kw).map(Value::from)),
    ("si", |v, kw| si_filter(v, kw).map(Value::from)),
    ("pct", |v, kw| pct(v, kw).map(Value::from)),
    ("fixed", |v, kw| fixed_filter(v, kw).map(Value::from)),
];

/// Registers every function and filter of the two lists on `tera`.
pub fn register(tera: &mut Tera, ws: Arc<Workspace>) {
    for &(name, f) in FUNCTIONS {
        let w = ws.clone();
        tera.register_function(name, move |kw: Kwargs, _: &State| f(&w, &kw));
    }
    for &(name, f) in FILTERS {
        tera.register_filter(name, move |v: Value, kw: Kwargs, _: &State| f(&v, &kw));
    }
}

/// `params(...)`, `macs(...)` and the other totals: one quantity of a model,
/// a section, a kind or a layer.
fn quantity(w: &Workspace, kw: &Kwargs, quantity: &str) -> TeraResult<u64> {
    let s: Select = args(kw, quantity)?;
    if s.of.is_some() {
        return Err(fail(format!("{quantity}() takes no `of`")));
    }
    let (_, t) = selected(w, &s)?;
    metric(&t, Some(quantity))
}

fn params(w: &Workspace, kw: &Kwargs) -> TeraResult<u64> {
    quantity(w, kw, "params")
}
fn macs(w: &Workspace, kw: &Kwargs) -> TeraResult<u64> {
    quantity(w, kw, "macs")
}
fn flops(w: &Workspace, kw: &Kwargs) -> TeraResult<u64> {
    quantity(w, kw, "flops")
}
fn buffers(w: &Workspace, kw: &Kwargs) -> TeraResult<u64> {
    quantity(w, kw, "buffers")
}
fn activations(w: &Workspace, kw: &Kwargs) -> TeraResult<u64> {
    quantity(w, kw, "activations")
}
fn layers(w: &Workspace, kw: &Kwargs) -> TeraResult<u64> {
    quantity(w, kw, "layers")
}

/// `| num`: a whole number with thousands separators.
fn num(v: &Value, _: &Kwargs) -> TeraResult<String> {
    let (negative, n) = whole(v, "num")?;
    Ok(format!(
        "{}{}",
        if negative { "-" } else { "" },
        thousands(n)
    ))
}

/// `| si(precision=1)`: `143.7M`.
fn si_filter(v: &Value, kw: &Kwargs) -> TeraResult<String> {
    let p: Precision = args(kw, "si")?;
    let (negative, n) = whole(v, "si")?;
    Ok(format!(
        "{}{}",
        if negative { "-" } else { "" },
        si(n, precision(p.precision, 1)?)
    ))
}

/// `| pct(precision=1)`: a fraction as a percentage.
fn pct(v: &Value, kw: &Kwargs) -> TeraResult<String> {
    let p: Precision = args(kw, "pct")?;
    Ok(percent(float(v, "pct")?, precision(p.precision, 1)?))
}

/// `| fixed(precision=2)`: a number with fixed decimals.
fn fixed_filter(v: &Value, kw: &Kwargs) -> TeraResult<String> {
    let p: Precision = args(kw, "fixed")?;
    Ok(fixed(float(v, "fixed")?, precision(p.precision, 2)?))
}

/// A filter's input as a float (any number).
fn float(v: &Value, filter: &str) -> TeraResult<f64> {
    v.as_number()
        .map(|n| n.as_float())
        .ok_or_else(|| fail(format!("`{filter}` needs a number, got {v}")))
}

/// `share(...)` in pages.
pub fn share(w: &Workspace, kw: &Kwargs) -> TeraResult<f64> {
    let s: Select = args(kw, "share")?;
    let (a, t) = selected(w, &s)?;
    Ok(Totals::share(
        metric(&t, s.of.as_deref())?,
        metric(&a.total, s.of.as_deref())?,
    ))
}

/// `ratio(...)` in pages.
pub fn ratio(w: &Workspace, kw: &Kwargs) -> TeraResult<f64> {
    let r: Ratio = args(kw, "ratio")?;
    let input = dims(&r.input)?;
    let get = |m: &str| -> TeraResult<u64> {
        let a = w
            .ledger
            .analysis(m, input.as_deref())
            .map_err(|e| fail(e.to_string()))?;
        metric(&a.total, r.of.as_deref())
    };
    let (x, y) = (get(&r.a)?, get(&r.b)?);
    if y == 0 {
        return Err(fail(format!(
            "ratio(): `{}` has zero of that quantity",
            r.b
        )));
    }
    Ok(x as f64 / y as f64)
}

/// `convention(...)` in pages.
pub fn convention(w: &Workspace, kw: &Kwargs) -> TeraResult<u64> {
    let c: ConventionArgs = args(kw, "convention")?;
    let conv = Convention::from_name(&c.tool).ok_or_else(|| {
        let names: Vec<&str> = Convention::ALL.iter().map(|c| c.name()).collect();
        fail(format!(
            "unknown tool `{}` (tools: {})",
            c.tool,
            names.join(", ")
        ))
    })?;
    let a = w
        .ledger
        .analysis(&c.model, None)
        .map_err(|e| fail(e.to_string()))?;
    a.convention_total(conv).map_err(|e| fail(e.to_string()))
}

/// `name(...)` in pages.
pub fn name(w: &Workspace, kw: &Kwargs) -> TeraResult<String> {
    let m: ModelOnly = args(kw, "name")?;
    // Model files may come from others: their text is escaped, never markup.
    Ok(escape(
        &w.ledger
            .analysis(&m.model, None)
            .map_err(|e| fail(e.to_string()))?
            .name,
    ))
}

/// `shape(...)` in pages.
pub fn shape(w: &Workspace, kw: &Kwargs) -> TeraResult<String> {
    let l: LayerArgs = args(kw, "shape")?;
    let input = dims(&l.input)?;
    let a = w
        .ledger
        .analysis(&l.model, input.as_deref())
        .map_err(|e| fail(e.to_string()))?;
    let layer = find_layer(&a, &l.layer)?;
    Ok(crate::count::op::shape_str(&layer.cost.output))
}

/// `table(...)` in pages.
pub fn table(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let t: TableArgs = args(kw, "table")?;
    let by = by(t.by.as_deref())?;
    let html = match (t.fold, by) {
            (true, By::Layer) if t.input.is_none() => {
                tables::layers_by_section(&w.ledger, &w.assets, &t.model)
            }
            (true, _) => {
                return Err(fail(
                    "table(): `fold=true` folds the layers by section: use it with by=\"layer\" and no `input`",
                ))
            }
            (false, by) => tables::model_table(
                &w.ledger,
                &w.assets,
                &t.model,
                by,
                dims(&t.input)?.as_deref(),
            ),
        }
        .map_err(|e| fail(e.to_string()))?;
    Ok(Value::safe_string(&html))
}

/// `diff(...)` in pages.
pub fn diff(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let d: DiffArgs = args(kw, "diff")?;
    let html =
        tables::diff_table(&w.ledger, &w.assets, &d.a, &d.b).map_err(|e| fail(e.to_string()))?;
    Ok(Value::safe_string(&html))
}

/// `compare(...)` in pages.
pub fn compare(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let m: ModelsArgs = args(kw, "compare")?;
    let html =
        tables::compare_table(&w.ledger, &w.assets, &m.models).map_err(|e| fail(e.to_string()))?;
    Ok(Value::safe_string(&html))
}

/// `conventions(...)` in pages.
pub fn conventions(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let m: ModelsArgs = args(kw, "conventions")?;
    let html = tables::conventions_table(&w.ledger, &w.assets, &m.models)
        .map_err(|e| fail(e.to_string()))?;
    Ok(Value::safe_string(&html))
}

/// `top_layers(...)` in pages.
pub fn top_layers(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let t: TopArgs = args(kw, "top_layers")?;
    let of = t.of.as_deref().unwrap_or("params");
    if !matches!(of, "params" | "macs") {
        return Err(fail(format!(
            "top_layers(): unknown `of` value `{of}` (params, macs)"
        )));
    }
    let limit = t
        .limit
        .map_or(Ok(5), |n| n.whole("limit", 1, 10_000))
        .map_err(fail)?;
    let html = tables::top_layers_table(&w.ledger, &w.assets, &t.model, of, limit as usize)
        .map_err(|e| fail(e.to_string()))?;
    Ok(Value::safe_string(&html))
}

/// `chart(...)` in pages.
pub fn chart(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let c: ChartArgs = args(kw, "chart")?;
    let html = chart_figure(w, &c).map_err(|e| fail(e.to_string()))?;
    Ok(Value::safe_string(&html))
}

#[cfg(test)]
mod tests {
    //! Each function and filter of the lists, called by name from a
    //! template, as a page calls it, on the shipped ResNet-18, ResNet-34 and
    //! VGG-11 and the committed bench results.

    use super::*;
    use crate::report::ledger::Ledger;

    fn workspace() -> Arc<Workspace> {
        static WS: std::sync::OnceLock<Arc<Workspace>> = std::sync::OnceLock::new();
        WS.get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("netledger-fn-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for m in ["resnet18", "resnet34", "vgg11"] {
                std::fs::copy(
                    format!("content/models/{m}.toml"),
                    dir.join(format!("{m}.toml")),
                )
                .unwrap();
            }
            let ledger = Ledger::load(&dir).unwrap();
            let machines: Vec<_> =
                crate::report::measured::load_machines(std::path::Path::new("content/data"))
                    .unwrap()
                    .into_iter()
                    .map(Arc::new)
                    .collect();
            Arc::new(Workspace {
                ledger,
                assets: Default::default(),
                bench: crate::report::measured::latest(&machines),
                machines,
                peers: crate::report::measured::load_peers(std::path::Path::new("content/data"))
                    .unwrap(),
            })
        })
        .clone()
    }

    /// Renders `template` with every function and filter registered.
    fn render(template: &str) -> Result<String, String> {
        let mut tera = Tera::new();
        register(&mut tera, workspace());
        tera.render_str(template, &tera::Context::new(), false)
            .map_err(|e| {
                let mut m = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    m = format!("{m}: {s}");
                    src = s.source();
                }
                m
            })
    }

    fn ok(template: &str) -> String {
        render(template).unwrap_or_else(|e| panic!("{template}: {e}"))
    }

    #[test]
    fn every_listed_name_is_registered_once() {
        let mut names: Vec<&str> = FUNCTIONS
            .iter()
            .map(|f| f.0)
            .chain(FILTERS.iter().map(|f| f.0))
            .collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn quantities() {
        assert_eq!(ok(r#"{{ params(model="resnet18") }}"#), "11689512");
        assert_eq!(
            ok(r#"{{ macs(model="resnet18", section="stage1") }}"#),
            "462422016"
        );
        assert_eq!(ok(r#"{{ buffers(model="resnet18") }}"#), "9620");
        assert_eq!(ok(r#"{{ layers(model="vgg11", kind="linear") }}"#), "3");
        assert_eq!(
            ok(r#"{{ params(model="vgg11", layer="head/fc8") }}"#),
            "4097000"
        );
        assert_eq!(
            ok(r#"{{ flops(model="resnet18", section="head") }}"#),
            "1050088"
        );
        assert_eq!(
            ok(r#"{{ activations(model="resnet18", layer="head/fc") }}"#),
            "1000"
        );
        assert!(render(r#"{{ params(model="resnet18", of="macs") }}"#)
            .unwrap_err()
            .contains("params() takes no `of`"));
    }

    #[test]
    fn share_ratio_convention_name_shape() {
        assert_eq!(
            ok(r#"{{ share(model="vgg11", section="head") | pct }}"#),
            "93.1%"
        );
        assert_eq!(
            ok(r#"{{ ratio(a="vgg11", b="resnet18") | fixed(precision=3) }}"#),
            "11.366"
        );
        assert_eq!(
            ok(r#"{{ convention(model="vgg11", tool="torchvision") }}"#),
            "7609090048"
        );
        assert!(render(r#"{{ convention(model="vgg11", tool="x") }}"#)
            .unwrap_err()
            .contains("unknown tool `x`"));
        assert_eq!(ok(r#"{{ name(model="resnet18") }}"#), "ResNet-18");
        assert_eq!(
            ok(r#"{{ shape(model="resnet18", layer="stem/pool1") }}"#),
            "1x64x56x56"
        );
    }

    #[test]
    fn tables_and_charts_are_markup_with_their_downloads() {
        let t = ok(r#"{{ table(model="resnet18", by="section") }}"#);
        assert!(t.starts_with("<div class=\"table-wrap\""), "{t}");
        assert!(t.contains("<td class=\"num\">11,689,512</td>"), "{t}");
        assert!(
            ok(r#"{{ table(model="resnet18", by="layer", fold=true) }}"#)
                .contains("<details class=\"section-layers\"><summary><strong>stem</strong>")
        );
        assert!(
            render(r#"{{ table(model="resnet18", by="kind", fold=true) }}"#)
                .unwrap_err()
                .contains("`fold=true` folds the layers by section")
        );
        assert!(ok(r#"{{ diff(a="resnet18", b="vgg11") }}"#).contains("<table"));
        assert!(ok(r#"{{ compare(models=["resnet18", "vgg11"]) }}"#).contains("ResNet-18"));
        assert!(ok(r#"{{ conventions(models=["vgg11"]) }}"#).contains("fvcore"));
        let top = ok(r#"{{ top_layers(model="vgg11", limit=1) }}"#);
        assert!(top.contains("fc6") && !top.contains("fc7"), "{top}");
        let c = ok(r#"{{ chart(kind="architecture", models=["resnet18"]) }}"#);
        assert!(
            c.starts_with("<figure class=\"chart\"><picture><source media=\"(max-width: 600px)\" srcset=\"charts/architecture-resnet18-narrow.svg\""),
            "{c}"
        );
    }

    #[test]
    fn measured_functions_read_the_bench_results() {
        assert_eq!(ok("{{ measured() }}"), "true");
        assert!(ok("{{ machine() }}").contains("cores"));
        assert!(ok(r#"{{ ceiling(name="fma_peak_gflops") > 1 }}"#) == "true");
        assert!(render(r#"{{ ceiling(name="nope") }}"#)
            .unwrap_err()
            .contains("unknown ceiling `nope`"));
        assert_eq!(
            ok(r#"{{ kernel(kernel="vgg19/head/fc6", field="median_s") > 0 }}"#),
            "true"
        );
        assert_eq!(ok(r#"{{ guessed_macs(model="resnet18") }}"#), "0");
        assert_eq!(
            ok(r#"{{ model_time(model="resnet18", kind="conv") < model_time(model="resnet18") }}"#),
            "true"
        );
        assert!(ok("{{ kernel_table() }}").contains("<tr class=\"group\">"));
        assert!(ok(r#"{{ time_table(models=["resnet18"]) }}"#).contains("resnet18 stage1"));
        assert!(ok(r#"{{ roofline(models=["resnet18"]) }}"#).contains("<figure class=\"chart\">"));
        assert!(ok("{{ batch_chart() }}").contains("<figure class=\"chart\">"));
        let both = ok(r#"{{ machines(models=["resnet34"]) }}"#);
        assert!(
            both.contains("<th scope=\"row\">ResNet-34, whole forward pass at batch 1 / 8 (ms)</th><td class=\"num\">"),
            "{both}"
        );
        let machines = ok(r#"{{ machines(models=["resnet18"]) }}"#);
        assert!(
            machines.contains("<th scope=\"row\">ResNet-18, sum of layers at batch 1 (ms)</th>"),
            "{machines}"
        );
        assert!(
            machines.contains("<th scope=\"row\">ResNet-18, whole forward pass at batch 1 / 8 (ms)</th><td class=\"num\">not measured / not measured</td>"),
            "{machines}"
        );
        let peers = ok(r#"{{ peers(models=["resnet18"]) }}"#);
        assert!(
            peers.contains("<caption>netledger against PyTorch on this machine"),
            "{peers}"
        );
        assert!(
            peers.contains("<tr class=\"group\"><th scope=\"colgroup\" colspan=\"")
                && peers.contains("\">vgg19"),
            "{peers}"
        );
    }

    #[test]
    fn forward_functions_read_the_measured_forward_passes() {
        assert_eq!(ok(r#"{{ measured(network="resnet34") }}"#), "true");
        assert_eq!(ok(r#"{{ measured(network="resnet18") }}"#), "false");
        assert_eq!(
            ok(r#"{{ forward(model="resnet34", op="conv") < forward(model="resnet34") }}"#),
            "true"
        );
        assert_eq!(
            ok(r#"{{ forward(model="resnet34", batch=8) > forward(model="resnet34") }}"#),
            "true"
        );
        assert_eq!(
            ok(r#"{{ forward(model="resnet34", estimate=true) == model_time(model="resnet34") }}"#),
            "true",
            "the estimate is the chapter's sum of layers"
        );
        let err = render(r#"{{ forward(model="resnet34", op="nope") }}"#).unwrap_err();
        assert!(
            err.contains("`resnet34` has no `nope` steps (it has: conv, batch norm, activation, pooling, merge, linear)"),
            "{err}"
        );
        assert!(render(r#"{{ forward(model="resnet18") }}"#)
            .unwrap_err()
            .contains("no forward pass of `resnet18` at batch 1 in this machine's results: run `netledger bench --network resnet18`"));
        let t = ok(r#"{{ forward_table(models=["resnet34", "resnet18"]) }}"#);
        assert!(
            t.contains("<tr><th scope=\"row\">ResNet-34</th><td class=\"num\">1</td>"),
            "{t}"
        );
        assert!(
            t.contains("<tr><th scope=\"row\">ResNet-18</th><td colspan=\"6\">not run: <code>netledger bench --network resnet18</code></td></tr>"),
            "{t}"
        );
        assert!(
            t.contains("<th scope=\"rowgroup\" colspan=\"5\">ResNet-34, batch 1: "),
            "{t}"
        );
    }

    #[test]
    fn filters() {
        assert_eq!(ok("{{ 1234567 | num }}"), "1,234,567");
        assert_eq!(ok("{{ -1234 | num }}"), "-1,234");
        assert_eq!(ok("{{ 143667240 | si }}"), "143.7M");
        assert_eq!(ok("{{ 1814073344 | si(precision=2) }}"), "1.81G");
        assert_eq!(ok("{{ 0.7150 | pct }}"), "71.5%");
        assert_eq!(ok("{{ 1 | pct(precision=0) }}"), "100%");
        assert_eq!(ok("{{ 6.6049 | fixed(precision=1) }}"), "6.6");
        assert_eq!(ok("{{ 2 | fixed }}"), "2.00");
        assert_eq!(ok("{{ 1.5 | num }}"), "2", "rounded to a whole number");
        assert!(render(r#"{{ "x" | num }}"#)
            .unwrap_err()
            .contains("`num` needs a number"));
    }
}
