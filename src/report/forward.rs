//! Whole forward passes in pages: what `netledger bench --network` measured
//! (the `networks` of this machine's results), set beside the sum of the
//! separately timed layers, step kind by step kind, so a page can say why
//! the two differ.

use serde::Deserialize;
use tera::{Kwargs, Value};

use crate::bench::network::step_label;
use crate::bench::NetworkResult;
use crate::count::Analysis;
use crate::numfmt::{fixed, percent};
use crate::report::assets::escape;
use crate::report::functions::TeraResult;
use crate::report::measured::{duration, fail, layer_seconds, need};
use crate::report::Workspace;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForwardArgs {
    model: String,
    #[serde(default = "one")]
    batch: usize,
    /// A step kind ("conv", "batch norm", ...): its time within the pass.
    op: Option<String>,
    /// `true`: the sum of separately timed layers instead of the pass.
    #[serde(default)]
    estimate: bool,
}

fn one() -> usize {
    1
}

/// The run of `model` at `batch` in this machine's results.
fn run<'a>(w: &'a Workspace, model: &str, batch: usize) -> Option<&'a NetworkResult> {
    w.bench
        .as_deref()?
        .networks
        .iter()
        .find(|n| n.model == model && n.batch == batch)
}

/// Seconds the separately timed layers of `a` add up to at batch 1 (only
/// the layers of step kind `op`, if given).
fn estimate(w: &Workspace, a: &Analysis, op: Option<&str>) -> TeraResult<f64> {
    let b = need(w)?;
    Ok(a.layers
        .iter()
        .filter(|l| step_label(&l.op).is_some_and(|s| op.is_none_or(|o| o == s)))
        .map(|l| layer_seconds(b, l).0)
        .sum())
}

/// `forward(model=, batch=1, op=, estimate=false)` in pages: seconds of a
/// measured forward pass (or of one kind of step in it), or with
/// `estimate=true` the sum of the separately timed layers (batch 1).
pub fn forward(w: &Workspace, kw: &Kwargs) -> TeraResult<f64> {
    let a: ForwardArgs = kw
        .deserialize()
        .map_err(|e| fail(format!("forward(): {e}")))?;
    if a.estimate {
        if a.batch != 1 {
            return Err(fail("forward(): estimates are of batch 1"));
        }
        let an = w
            .ledger
            .analysis(&a.model, None)
            .map_err(|e| fail(e.to_string()))?;
        return estimate(w, &an, a.op.as_deref());
    }
    let n = run(w, &a.model, a.batch).ok_or_else(|| {
        fail(format!(
            "forward(): no forward pass of `{}` at batch {} in this machine's results: run `netledger bench --network {}`, or guard with {{% if measured(network=\"{}\") %}}",
            a.model, a.batch, a.model, a.model
        ))
    })?;
    match a.op.as_deref() {
        None => Ok(n.median_s),
        Some(op) => n
            .by_op
            .iter()
            .find(|o| o.op == op)
            .map(|o| o.seconds)
            .ok_or_else(|| {
                let ops: Vec<&str> = n.by_op.iter().map(|o| o.op.as_str()).collect();
                fail(format!(
                    "forward(): `{}` has no `{op}` steps (it has: {})",
                    a.model,
                    ops.join(", ")
                ))
            }),
    }
}

/// Whether this machine's results hold a forward pass of `network`.
pub fn has_run(w: &Workspace, network: &str) -> bool {
    run(w, network, 1).is_some()
}

/// `forward_table(models=[...])` in pages: each model's measured forward
/// passes (every batch), their speed, how they were checked, and the sum
/// of separately timed layers; then, at batch 1, step kind by step kind.
pub fn forward_table(w: &Workspace, kw: &Kwargs) -> TeraResult<Value> {
    let list = crate::report::measured::models_arg(w, kw, "forward_table")?;
    let b = need(w)?;
    let peak = b.ceilings.fma_peak_gflops.max(1e-9);
    let mut h = String::from("<div class=\"table-wrap\" role=\"region\" tabindex=\"0\" aria-label=\"Whole forward passes\"><table><caption>Whole forward passes, measured: single thread, median of timed runs after a warm-up; the sum of the layers is of the kernels timed one by one</caption><thead><tr><th scope=\"col\">Model</th><th scope=\"col\" class=\"num\">Batch</th><th scope=\"col\" class=\"num\">Forward pass</th><th scope=\"col\" class=\"num\">Per image</th><th scope=\"col\" class=\"num\">GFLOP/s (of peak)</th><th scope=\"col\" class=\"num\">Sum of the layers</th><th scope=\"col\">Checked</th></tr></thead><tbody>");
    let mut steps = String::new();
    for a in &list {
        let runs: Vec<&NetworkResult> = b.networks.iter().filter(|n| n.model == a.id).collect();
        if runs.is_empty() {
            h.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td colspan=\"6\">not run: <code>netledger bench --network {}</code></td></tr>",
                escape(&a.name),
                escape(&a.id)
            ));
            continue;
        }
        let sum = estimate(w, a, None)?;
        for n in &runs {
            let gflops = 2.0 * n.macs as f64 / n.median_s / 1e9;
            h.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} ({})</td><td class=\"num\">{}</td><td>{} conv and linear layers on {}; output within {} of the scalar pass</td></tr>",
                escape(&a.name),
                n.batch,
                duration(n.median_s),
                duration(n.median_s / n.batch as f64),
                fixed(gflops, 1),
                percent(gflops / peak, 0),
                if n.batch == 1 { duration(sum) } else { "".into() },
                n.check.layers,
                escape(&crate::count::op::shape_str(&n.check.input)),
                sci(n.check.output_error),
            ));
        }
        let Some(n) = runs.iter().find(|n| n.batch == 1) else {
            continue;
        };
        steps.push_str(&format!(
            "<tbody><tr class=\"group\"><th scope=\"rowgroup\" colspan=\"5\">{}, batch 1: {} measured, {} summed</th></tr>",
            escape(&a.name),
            duration(n.median_s),
            duration(sum)
        ));
        for o in &n.by_op {
            let alone = estimate(w, a, Some(&o.op))?;
            steps.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{} ({})</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(&o.op),
                o.layers,
                duration(o.seconds),
                percent(o.seconds / n.median_s, 1),
                duration(alone),
                if o.seconds > 0.0 { format!("{}x", fixed(alone / o.seconds, 2)) } else { String::new() }
            ));
        }
        steps.push_str("</tbody>");
    }
    h.push_str("</tbody></table></div>");
    if !steps.is_empty() {
        h.push_str(&format!("<div class=\"table-wrap\" role=\"region\" tabindex=\"0\" aria-label=\"Forward pass by kind of step\"><table><caption>Batch 1, by kind of step: time within the forward pass against the same layers timed alone (conv and linear: their kernels; the others: their bytes at the triad bandwidth)</caption><thead><tr><th scope=\"col\">Step</th><th scope=\"col\" class=\"num\">Layers</th><th scope=\"col\" class=\"num\">In the pass (share)</th><th scope=\"col\" class=\"num\">Alone</th><th scope=\"col\" class=\"num\">Alone / in the pass</th></tr></thead>{steps}</table></div>"));
    }
    Ok(Value::safe_string(&h))
}

/// A small ratio as `2.6e-6`.
fn sci(v: f64) -> String {
    format!("{v:.1e}")
}
