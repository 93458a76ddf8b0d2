//! `netledger count` output: a torchinfo-like table, JSON and CSV.
//!
//! The JSON shape is a contract read by other tools: top-level `params`,
//! `buffers`, `macs`, `flops`, `input_shape`, `convention`,
//! `convention_total` and `layers` (each with `path`, `kind`,
//! `output_shape`, `params`, `macs`) stay as they are.

use serde::Serialize;

use crate::count::analysis::{Analysis, Totals};
use crate::count::convention::Convention;
use crate::count::op::shape_str;
use crate::error::Result;
use crate::numfmt::{fixed, percent, si, thousands};

/// The FLOPs convention, as printed under every table and in the JSON.
pub const FLOPS_RULE: &str = "FLOPs = 2 x MACs (conv, linear, matmul) + 1 per bias add + 2 per batch-norm and 5 per layer-norm element + 1 per activation element + window size per pooling output + 1 per element of each extra residual input or product; MACs exclude bias. fp32 bytes; batch 1.";

/// Which rows a table or CSV lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// One row per layer.
    Layer,
    /// One row per top-level section.
    Section,
    /// One row per kind (conv, linear, norm, other).
    Kind,
}

fn with_batch(shape: &[u64]) -> Vec<u64> {
    std::iter::once(1).chain(shape.iter().copied()).collect()
}

#[derive(Serialize)]
struct LayerJson<'a> {
    path: &'a str,
    section: &'a str,
    kind: &'static str,
    op: &'static str,
    functional: bool,
    input_shape: Vec<Vec<u64>>,
    output_shape: Vec<u64>,
    params: u64,
    weight: u64,
    bias: u64,
    buffers: u64,
    macs: u64,
    flops: u64,
    convention_count: u64,
    activations: u64,
    activation_bytes: u64,
    weight_bytes: u64,
    intensity: f64,
}

#[derive(Serialize)]
struct GroupJson<'a> {
    name: &'a str,
    #[serde(flatten)]
    totals: Totals,
    params_share: f64,
    macs_share: f64,
    flops_share: f64,
}

#[derive(Serialize)]
struct ModelJson<'a> {
    model: &'a str,
    name: &'a str,
    input_shape: Vec<u64>,
    params: u64,
    weight: u64,
    bias: u64,
    buffers: u64,
    macs: u64,
    flops: u64,
    activations: u64,
    convention: &'static str,
    convention_rule: &'static str,
    convention_total: u64,
    flops_rule: &'static str,
    notes: &'a [String],
    sections: Vec<GroupJson<'a>>,
    kinds: Vec<GroupJson<'a>>,
    layers: Vec<LayerJson<'a>>,
}

fn group<'a>(name: &'a str, t: &Totals, whole: &Totals) -> GroupJson<'a> {
    GroupJson {
        name,
        totals: *t,
        params_share: round(Totals::share(t.params, whole.params)),
        macs_share: round(Totals::share(t.macs, whole.macs)),
        flops_share: round(Totals::share(t.flops, whole.flops)),
    }
}

/// Rounds to 6 decimals so JSON floats are short and stable.
fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The full JSON document for one analysis.
pub fn json(a: &Analysis, convention: Convention) -> Result<String> {
    let convention_total = a.convention_total(convention)?;
    let doc = ModelJson {
        model: &a.id,
        name: &a.name,
        input_shape: with_batch(&a.input),
        params: a.total.params,
        weight: a.total.weight,
        bias: a.total.bias,
        buffers: a.total.buffers,
        macs: a.total.macs,
        flops: a.total.flops,
        activations: a.total.activations,
        convention: convention.name(),
        convention_rule: convention.rule(),
        convention_total,
        flops_rule: FLOPS_RULE,
        notes: &a.notes,
        sections: a
            .sections
            .iter()
            .map(|(n, t)| group(n, t, &a.total))
            .collect(),
        kinds: a
            .kinds
            .iter()
            .map(|(k, t)| group(k.as_str(), t, &a.total))
            .collect(),
        layers: a
            .layers
            .iter()
            .map(|l| LayerJson {
                path: &l.path,
                section: &l.section,
                kind: l.op.kind().as_str(),
                op: l.op.name(),
                functional: l.functional,
                input_shape: l.inputs.iter().map(|s| with_batch(s)).collect(),
                output_shape: with_batch(&l.cost.output),
                params: l.params(),
                weight: l.cost.weight,
                bias: l.cost.bias,
                buffers: l.cost.buffers,
                macs: l.cost.macs,
                flops: l.flops,
                // Within a total that fits, so does each layer's count.
                convention_count: convention.checked_layer_count(l).unwrap_or(u64::MAX),
                activations: l.activations(),
                activation_bytes: l.activation_bytes(),
                weight_bytes: l.weight_bytes(),
                intensity: round(l.intensity()),
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    Ok(s)
}

/// Quotes a CSV field when needed.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV rows (with a header) for one analysis.
pub fn csv(a: &Analysis, by: By) -> String {
    let mut out = String::new();
    match by {
        By::Layer => {
            out.push_str("path,section,kind,op,input_shape,output_shape,params,weight,bias,buffers,macs,flops,activations,weight_bytes,activation_bytes,intensity\n");
            for l in &a.layers {
                let inputs: Vec<String> = l.inputs.iter().map(|s| shape_str(s)).collect();
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    csv_field(&l.path),
                    csv_field(&l.section),
                    l.op.kind().as_str(),
                    l.op.name(),
                    inputs.join(" + "),
                    shape_str(&l.cost.output),
                    l.params(),
                    l.cost.weight,
                    l.cost.bias,
                    l.cost.buffers,
                    l.cost.macs,
                    l.flops,
                    l.activations(),
                    l.weight_bytes(),
                    l.activation_bytes(),
                    fixed(l.intensity(), 3)
                ));
            }
        }
        By::Section | By::Kind => {
            out.push_str(
                "name,layers,params,params_share,buffers,macs,macs_share,flops,flops_share\n",
            );
            for (name, t) in groups(a, by) {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{}\n",
                    csv_field(&name),
                    t.layers,
                    t.params,
                    fixed(Totals::share(t.params, a.total.params), 6),
                    t.buffers,
                    t.macs,
                    fixed(Totals::share(t.macs, a.total.macs), 6),
                    t.flops,
                    fixed(Totals::share(t.flops, a.total.flops), 6)
                ));
            }
        }
    }
    out
}

fn groups(a: &Analysis, by: By) -> Vec<(String, Totals)> {
    match by {
        By::Section => a.sections.clone(),
        By::Kind => a
            .kinds
            .iter()
            .map(|(k, t)| (k.as_str().to_string(), *t))
            .collect(),
        By::Layer => Vec::new(),
    }
}

/// A plain-text table, aligned, with totals and shares at the end.
pub fn table(a: &Analysis, by: By, convention: Convention) -> Result<String> {
    let convention_total = a.convention_total(convention)?;
    let mut rows: Vec<[String; 5]> = Vec::new();
    let header = match by {
        By::Layer => ["Layer", "Kind", "Output shape", "Params", "MACs"],
        By::Section => [
            "Section",
            "Layers",
            "Params (share)",
            "MACs (share)",
            "FLOPs",
        ],
        By::Kind => ["Kind", "Layers", "Params (share)", "MACs (share)", "FLOPs"],
    };
    rows.push(header.map(String::from));
    match by {
        By::Layer => {
            for l in &a.layers {
                rows.push([
                    l.local_path().to_string(),
                    l.op.name().to_string(),
                    shape_str(&l.cost.output),
                    thousands(l.params()),
                    thousands(l.cost.macs),
                ]);
            }
        }
        By::Section | By::Kind => {
            for (name, t) in groups(a, by) {
                rows.push([
                    name,
                    t.layers.to_string(),
                    format!(
                        "{} ({})",
                        thousands(t.params),
                        percent(Totals::share(t.params, a.total.params), 1)
                    ),
                    format!(
                        "{} ({})",
                        thousands(t.macs),
                        percent(Totals::share(t.macs, a.total.macs), 1)
                    ),
                    thousands(t.flops),
                ]);
            }
        }
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let line_width = widths.iter().sum::<usize>() + 2 * 4;
    let rule = "=".repeat(line_width);
    // A variant without a name of its own is already called "Base (id)".
    let title = if a.name.ends_with(&format!("({})", a.id)) {
        a.name.clone()
    } else {
        format!("{} ({})", a.name, a.id)
    };
    let mut out = format!("{title}, input {}\n{rule}\n", shape_str(&a.input));
    for (i, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c == 0 || (by == By::Layer && c < 3) {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
            if c < 4 {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(line_width));
            out.push('\n');
        }
    }
    out.push_str(&rule);
    out.push('\n');
    let t = &a.total;
    out.push_str(&format!("Total params:        {}\n", thousands(t.params)));
    out.push_str(&format!(
        "  weights / biases:  {} / {}\n",
        thousands(t.weight),
        thousands(t.bias)
    ));
    out.push_str(&format!("Buffers:             {}\n", thousands(t.buffers)));
    out.push_str(&format!("MACs:                {}\n", thousands(t.macs)));
    out.push_str(&format!("FLOPs:               {}\n", thousands(t.flops)));
    if convention != Convention::Torchvision {
        out.push_str(&format!(
            "{:<21}{}\n",
            format!("{}:", convention.name()),
            thousands(convention_total)
        ));
    }
    out.push_str(&format!(
        "Activations:         {} elements ({} MB fp32)\n",
        thousands(t.activations),
        fixed(t.activations as f64 * 4.0 / 1e6, 2)
    ));
    out.push_str(&format!(
        "Weights:             {} MB fp32\n",
        fixed(t.params as f64 * 4.0 / 1e6, 2)
    ));
    let shares: Vec<String> = a
        .kinds
        .iter()
        .filter(|(_, k)| k.params > 0)
        .map(|(k, kt)| {
            format!(
                "{} {}",
                k.as_str(),
                percent(Totals::share(kt.params, t.params), 1)
            )
        })
        .collect();
    out.push_str(&format!("Params by kind:      {}\n", shares.join(", ")));
    out.push_str(&rule);
    out.push('\n');
    out.push_str(&format!(
        "Convention: MACs = {}.\n",
        Convention::Torchvision.rule()
    ));
    if convention != Convention::Torchvision {
        out.push_str(&format!("{}: {}.\n", convention.name(), convention.rule()));
    }
    out.push_str(FLOPS_RULE);
    out.push('\n');
    for note in &a.notes {
        out.push_str(&format!("Note: {note}.\n"));
    }
    Ok(out)
}

/// `netledger models`: one aligned line per model with its totals.
pub fn models_table(rows: &[Analysis]) -> String {
    let id_w = rows.iter().map(|a| a.id.len()).max().unwrap_or(5).max(5);
    let name_w = rows
        .iter()
        .map(|a| a.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let header = format!(
        "{:<id_w$}  {:<name_w$}  {:>13}  {:>7}  {:>16}",
        "model", "name", "params", "", "MACs"
    );
    let mut s = header.trim_end().to_string() + "\n";
    for a in rows {
        s.push_str(&format!(
            "{:<id_w$}  {:<name_w$}  {:>13}  {:>7}  {:>16}  {:>7}\n",
            a.id,
            a.name,
            thousands(a.total.params),
            si(a.total.params, 1),
            thousands(a.total.macs),
            si(a.total.macs, 2)
        ));
    }
    s
}

/// `netledger models --format json`.
pub fn models_json(rows: &[Analysis]) -> String {
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|a| {
            serde_json::json!({
                "model": a.id, "name": a.name, "params": a.total.params,
                "buffers": a.total.buffers, "macs": a.total.macs, "flops": a.total.flops,
                "layers": a.layers.len(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
}

/// `netledger models --format csv`.
pub fn models_csv(rows: &[Analysis]) -> String {
    let mut s = String::from("model,name,params,buffers,macs,flops\n");
    for a in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{}\n",
            csv_field(&a.id),
            csv_field(&a.name),
            a.total.params,
            a.total.buffers,
            a.total.macs,
            a.total.flops
        ));
    }
    s
}
