//! HTML tables computed from the ledger, each with CSV and JSON downloads.
//!
//! Output is one line of HTML with no blank lines, so that it stays a
//! single raw-HTML block when placed on its own line in Markdown.

use std::collections::BTreeSet;

use crate::count::convention::Convention;
use crate::count::output::{self, By};
use crate::count::{Analysis, Kind, Totals};
use crate::error::Result;
use crate::numfmt::{percent, si, thousands};
use crate::report::assets::{escape, Assets};
use crate::report::ledger::Ledger;

/// Rows beyond which a table scrolls in its own box under a sticky header.
const LONG_TABLE: usize = 25;

/// A table: header cells, rows of cells (already HTML-escaped), numeric columns.
struct Grid {
    caption: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    numeric: Vec<bool>,
    foot: Option<Vec<String>>,
}

impl Grid {
    fn html(&self, downloads: &[(String, &str)]) -> String {
        // A scrollable box is a focusable region, so keyboards can scroll it;
        // a long one scrolls vertically too, under a sticky header.
        let long = if self.rows.len() > LONG_TABLE {
            " long"
        } else {
            ""
        };
        let mut h = format!(
            "<div class=\"table-wrap{long}\" role=\"region\" tabindex=\"0\" aria-label=\"{}\"><table>",
            escape(&self.caption)
        );
        h.push_str(&format!("<caption>{}", escape(&self.caption)));
        if !downloads.is_empty() {
            h.push_str(" <span class=\"downloads\">");
            for (href, label) in downloads {
                h.push_str(&format!(
                    "<a href=\"{}\" download>{label}</a> ",
                    escape(href)
                ));
            }
            h.truncate(h.trim_end().len());
            h.push_str("</span>");
        }
        h.push_str("</caption><thead><tr>");
        for (i, cell) in self.header.iter().enumerate() {
            let class = if self.numeric[i] {
                " class=\"num\""
            } else {
                ""
            };
            h.push_str(&format!("<th scope=\"col\"{class}>{}</th>", escape(cell)));
        }
        h.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            h.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                if i == 0 {
                    h.push_str(&format!("<th scope=\"row\">{cell}</th>"));
                } else {
                    let class = if self.numeric[i] {
                        " class=\"num\""
                    } else {
                        ""
                    };
                    h.push_str(&format!("<td{class}>{cell}</td>"));
                }
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody>");
        if let Some(foot) = &self.foot {
            h.push_str("<tfoot><tr>");
            for (i, cell) in foot.iter().enumerate() {
                let tag = if i == 0 { "th scope=\"row\"" } else { "td" };
                let class = if self.numeric[i] {
                    " class=\"num\""
                } else {
                    ""
                };
                let close = if i == 0 { "th" } else { "td" };
                h.push_str(&format!("<{tag}{class}>{cell}</{close}>"));
            }
            h.push_str("</tr></tfoot>");
        }
        h.push_str("</table></div>");
        h
    }

    fn csv(&self) -> String {
        let field = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = self
            .header
            .iter()
            .map(|c| field(c))
            .collect::<Vec<_>>()
            .join(",");
        out.push('\n');
        for row in &self.rows {
            out.push_str(&row.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        out
    }
}

/// A layer path that may break only after a `/`: `stage1/<wbr>block0/<wbr>conv1`.
fn path_cell(path: &str) -> String {
    format!(
        "<code class=\"path\">{}</code>",
        escape(path).replace('/', "/<wbr>")
    )
}

fn share_cell(part: u64, whole: u64) -> String {
    percent(Totals::share(part, whole), 1)
}

const LAYER_HEADER: [&str; 7] = [
    "Layer",
    "Kind",
    "Output",
    "Params",
    "Share",
    "MACs",
    "MACs per param",
];
const LAYER_NUMERIC: [bool; 7] = [false, false, false, true, true, true, true];

/// One row of a per-layer table; shares are of the model's totals `t`.
fn layer_row(l: &crate::count::Layer, t: &Totals) -> Vec<String> {
    vec![
        path_cell(l.local_path()),
        l.op.name().to_string(),
        crate::count::op::shape_str(&l.cost.output),
        thousands(l.params()),
        share_cell(l.params(), t.params),
        thousands(l.cost.macs),
        if l.params() > 0 && l.cost.macs > 0 {
            crate::numfmt::ratio(l.cost.macs as f64 / l.params() as f64)
        } else {
            String::new()
        },
    ]
}

/// A model page's per-layer listing: one folded table per section (a
/// ResNet-152 has 500 layers), the downloads once for the whole model.
pub fn layers_by_section(ledger: &Ledger, assets: &Assets, model: &str) -> Result<String> {
    let a = ledger.analysis(model, None)?;
    let t = &a.total;
    let stem = format!("data/{model}-by-layer");
    assets.put(format!("{stem}.csv"), output::csv(&a, By::Layer));
    let json = analysis_json(assets, &a, model, None)?;
    let mut h = format!(
        "<p class=\"downloads\">Every layer at input {}: <a href=\"{stem}.csv\" download>CSV</a> <a href=\"{json}\" download>JSON</a></p>",
        shape_text(&a.input)
    );
    for (name, totals) in &a.sections {
        let grid = Grid {
            caption: format!("{}: section {name}", a.name),
            header: LAYER_HEADER.map(String::from).to_vec(),
            numeric: LAYER_NUMERIC.to_vec(),
            rows: a
                .layers
                .iter()
                .filter(|l| &l.section == name)
                .map(|l| layer_row(l, t))
                .collect(),
            foot: None,
        };
        h.push_str(&format!(
            "<details class=\"section-layers\"><summary><strong>{}</strong>: {} layers, {} params ({}), {} MACs</summary>{}</details>",
            escape(name),
            totals.layers,
            thousands(totals.params),
            share_cell(totals.params, t.params),
            thousands(totals.macs),
            grid.html(&[])
        ));
    }
    Ok(h)
}

/// The per-layer, per-section or per-kind table of one model.
pub fn model_table(
    ledger: &Ledger,
    assets: &Assets,
    model: &str,
    by: By,
    input: Option<&[u64]>,
) -> Result<String> {
    let a = ledger.analysis(model, input)?;
    let by_name = match by {
        By::Layer => "layer",
        By::Section => "section",
        By::Kind => "kind",
    };
    let stem = match input {
        Some(shape) => format!("data/{model}-{}-by-{by_name}", shape_text(shape)),
        None => format!("data/{model}-by-{by_name}"),
    };
    let t = &a.total;
    let grid = match by {
        By::Layer => Grid {
            caption: format!("{}: every layer at input {}", a.name, shape_text(&a.input)),
            header: LAYER_HEADER.map(String::from).to_vec(),
            numeric: LAYER_NUMERIC.to_vec(),
            rows: a.layers.iter().map(|l| layer_row(l, t)).collect(),
            foot: Some(vec![
                "Total".into(),
                String::new(),
                String::new(),
                thousands(t.params),
                "100%".into(),
                thousands(t.macs),
                String::new(),
            ]),
        },
        By::Section | By::Kind => {
            let groups: Vec<(String, Totals)> = match by {
                By::Section => a.sections.clone(),
                _ => a
                    .kinds
                    .iter()
                    .map(|(k, t)| (k.as_str().to_string(), *t))
                    .collect(),
            };
            Grid {
                caption: format!("{}: parameters and MACs by {by_name}", a.name),
                header: [
                    if by == By::Section { "Section" } else { "Kind" },
                    "Layers",
                    "Params",
                    "Share",
                    "MACs",
                    "Share",
                ]
                .map(String::from)
                .to_vec(),
                numeric: vec![false, true, true, true, true, true],
                rows: groups
                    .iter()
                    .map(|(name, g)| {
                        vec![
                            escape(name),
                            g.layers.to_string(),
                            thousands(g.params),
                            share_cell(g.params, t.params),
                            thousands(g.macs),
                            share_cell(g.macs, t.macs),
                        ]
                    })
                    .collect(),
                foot: Some(vec![
                    "Total".into(),
                    t.layers.to_string(),
                    thousands(t.params),
                    "100%".into(),
                    thousands(t.macs),
                    "100%".into(),
                ]),
            }
        }
    };
    assets.put(format!("{stem}.csv"), output::csv(&a, by));
    let json = analysis_json(assets, &a, model, input)?;
    Ok(grid.html(&[(format!("{stem}.csv"), "CSV"), (json, "JSON")]))
}

/// Puts the whole analysis of `model` (at `input`) as one JSON download
/// and returns its path. Every table of the model links the same file,
/// whichever way the table groups the layers: the JSON holds them all.
fn analysis_json(
    assets: &Assets,
    a: &Analysis,
    model: &str,
    input: Option<&[u64]>,
) -> Result<String> {
    let path = match input {
        Some(shape) => format!("data/model-{model}-{}.json", shape_text(shape)),
        None => format!("data/model-{model}.json"),
    };
    // Three tables of a model page link it: serialise it once.
    if !assets.has(&path) {
        assets.put(path.clone(), output::json(a, Convention::Torchvision)?);
    }
    Ok(path)
}

fn shape_text(shape: &[u64]) -> String {
    shape
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

fn models_stem(kind: &str, models: &[String]) -> String {
    format!("data/{kind}-{}", models.join("-"))
}

fn analyses(ledger: &Ledger, models: &[String]) -> Result<Vec<std::sync::Arc<Analysis>>> {
    models.iter().map(|m| ledger.analysis(m, None)).collect()
}

/// Several models side by side: totals and shares of each kind.
pub fn compare_table(ledger: &Ledger, assets: &Assets, models: &[String]) -> Result<String> {
    let list = analyses(ledger, models)?;
    let grid = Grid {
        caption: {
            let inputs: BTreeSet<String> = list.iter().map(|a| shape_text(&a.input)).collect();
            match inputs.len() {
                1 => format!(
                    "Models side by side (input {}, batch 1)",
                    inputs.iter().next().unwrap_or(&String::new())
                ),
                _ => "Models side by side (each at its declared input, batch 1)".to_string(),
            }
        },
        header: [
            "Model",
            "Params",
            "Conv",
            "Linear",
            "Norm",
            "Buffers",
            "MACs",
            "MACs per param",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, true, true, true, true, true, true, true],
        rows: list
            .iter()
            .map(|a| {
                let t = &a.total;
                vec![
                    format!(
                        "<a href=\"model-{}.html\">{}</a>",
                        escape(&a.id),
                        escape(&a.name)
                    ),
                    thousands(t.params),
                    share_cell(a.kind(Kind::Conv).params, t.params),
                    share_cell(a.kind(Kind::Linear).params, t.params),
                    share_cell(a.kind(Kind::Norm).params, t.params),
                    thousands(t.buffers),
                    thousands(t.macs),
                    crate::numfmt::ratio(t.macs as f64 / t.params.max(1) as f64),
                ]
            })
            .collect(),
        foot: None,
    };
    let stem = models_stem("compare", models);
    let mut csv = String::from(
        "model,name,params,conv_params,linear_params,norm_params,buffers,macs,flops\n",
    );
    let mut json = Vec::new();
    for a in &list {
        let t = &a.total;
        csv.push_str(&format!(
            "{},\"{}\",{},{},{},{},{},{},{}\n",
            a.id,
            a.name.replace('"', "\"\""),
            t.params,
            a.kind(Kind::Conv).params,
            a.kind(Kind::Linear).params,
            a.kind(Kind::Norm).params,
            t.buffers,
            t.macs,
            t.flops
        ));
        json.push(serde_json::json!({
            "model": a.id, "name": a.name, "params": t.params,
            "conv_params": a.kind(Kind::Conv).params, "linear_params": a.kind(Kind::Linear).params,
            "norm_params": a.kind(Kind::Norm).params, "buffers": t.buffers, "macs": t.macs, "flops": t.flops,
        }));
    }
    assets.put(format!("{stem}.csv"), csv);
    assets.put(
        format!("{stem}.json"),
        serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
    );
    Ok(grid.html(&[
        (format!("{stem}.csv"), "CSV"),
        (format!("{stem}.json"), "JSON"),
    ]))
}

/// What torchvision, fvcore, ptflops and thop report for each model.
pub fn conventions_table(ledger: &Ledger, assets: &Assets, models: &[String]) -> Result<String> {
    let list = analyses(ledger, models)?;
    let mut header = vec!["Model".to_string()];
    header.extend(Convention::ALL.iter().map(|c| c.name().to_string()));
    let grid = Grid {
        caption: "The same network, five totals: each tool's convention reproduced exactly".into(),
        numeric: std::iter::once(false)
            .chain(Convention::ALL.iter().map(|_| true))
            .collect(),
        rows: list
            .iter()
            .map(|a| {
                let base = a.total.macs;
                let cells = Convention::ALL.iter().map(|c| {
                    let v = a.convention_total(*c)?;
                    Ok(if *c == Convention::Torchvision {
                        si(v, 3)
                    } else {
                        format!(
                            "{} (+{})",
                            si(v, 3),
                            percent(Totals::share(v - base.min(v), base), 2)
                        )
                    })
                });
                std::iter::once(Ok(escape(&a.name))).chain(cells).collect()
            })
            .collect::<Result<_>>()?,
        header,
        foot: None,
    };
    let stem = models_stem("conventions", models);
    let mut csv = String::from("model");
    for c in Convention::ALL {
        csv.push(',');
        csv.push_str(c.name());
    }
    csv.push('\n');
    let mut json = Vec::new();
    for a in &list {
        csv.push_str(&a.id);
        let mut row = serde_json::Map::new();
        row.insert("model".into(), a.id.clone().into());
        for c in Convention::ALL {
            let v = a.convention_total(c)?;
            csv.push_str(&format!(",{v}"));
            row.insert(c.name().into(), v.into());
        }
        csv.push('\n');
        json.push(serde_json::Value::Object(row));
    }
    assets.put(format!("{stem}.csv"), csv);
    assets.put(
        format!("{stem}.json"),
        serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
    );
    Ok(grid.html(&[
        (format!("{stem}.csv"), "CSV"),
        (format!("{stem}.json"), "JSON"),
    ]))
}

/// The largest layers of a model by parameters or MACs.
pub fn top_layers_table(
    ledger: &Ledger,
    assets: &Assets,
    model: &str,
    of: &str,
    limit: usize,
) -> Result<String> {
    let a = ledger.analysis(model, None)?;
    let key = |l: &crate::count::Layer| {
        if of == "macs" {
            l.cost.macs
        } else {
            l.params()
        }
    };
    let mut layers: Vec<_> = a.layers.iter().filter(|l| key(l) > 0).collect();
    layers.sort_by(|x, y| key(y).cmp(&key(x)).then_with(|| x.path.cmp(&y.path)));
    layers.truncate(limit);
    let (t_params, t_macs) = (a.total.params, a.total.macs);
    let grid = Grid {
        caption: format!(
            "{}: the {} layers with the most {}",
            a.name,
            layers.len(),
            if of == "macs" { "MACs" } else { "parameters" }
        ),
        header: ["Layer", "Output", "Params", "Share", "MACs", "Share"]
            .map(String::from)
            .to_vec(),
        numeric: vec![false, false, true, true, true, true],
        rows: layers
            .iter()
            .map(|l| {
                vec![
                    path_cell(l.local_path()),
                    crate::count::op::shape_str(&l.cost.output),
                    thousands(l.params()),
                    share_cell(l.params(), t_params),
                    thousands(l.cost.macs),
                    share_cell(l.cost.macs, t_macs),
                ]
            })
            .collect(),
        foot: None,
    };
    let stem = format!("data/{model}-top-{of}");
    assets.put(format!("{stem}.csv"), grid.csv());
    let json: Vec<_> = layers
        .iter()
        .map(|l| serde_json::json!({"path": l.path, "params": l.params(), "macs": l.cost.macs}))
        .collect();
    assets.put(
        format!("{stem}.json"),
        serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
    );
    Ok(grid.html(&[
        (format!("{stem}.csv"), "CSV"),
        (format!("{stem}.json"), "JSON"),
    ]))
}

/// Layers that differ between models `a` and `b`, with totals, plus CSV and JSON.
pub fn diff_table(ledger: &Ledger, assets: &Assets, a: &str, b: &str) -> Result<String> {
    use crate::count::diff::{delta, diff, Side};
    let d = diff(&*ledger.analysis(a, None)?, &*ledger.analysis(b, None)?);
    let cell = |s: &Option<Side>, f: fn(&Side) -> String| s.as_ref().map_or("–".to_string(), f);
    let get = |s: &Option<Side>, f: fn(&Side) -> u64| s.as_ref().map_or(0, f);
    let grid = Grid {
        caption: format!(
            "From {a} to {b}: {} layers differ, {} unchanged",
            d.rows.len(),
            d.unchanged
        ),
        header: [
            "Layer".to_string(),
            "Change".to_string(),
            format!("Params {a}"),
            format!("Params {b}"),
            "Δ params".to_string(),
            "Δ MACs".to_string(),
        ]
        .to_vec(),
        numeric: vec![false, false, true, true, true, true],
        rows: d
            .rows
            .iter()
            .map(|r| {
                vec![
                    path_cell(&r.layer),
                    format!("{:?}", r.change).to_lowercase(),
                    cell(&r.a, |s| thousands(s.params)),
                    cell(&r.b, |s| thousands(s.params)),
                    delta(get(&r.a, |s| s.params), get(&r.b, |s| s.params)),
                    delta(get(&r.a, |s| s.macs), get(&r.b, |s| s.macs)),
                ]
            })
            .collect(),
        foot: Some(vec![
            "Total".into(),
            String::new(),
            thousands(d.params[0]),
            thousands(d.params[1]),
            delta(d.params[0], d.params[1]),
            delta(d.macs[0], d.macs[1]),
        ]),
    };
    let stem = format!("data/diff-{a}-{b}");
    assets.put(format!("{stem}.csv"), d.csv());
    assets.put(format!("{stem}.json"), d.json());
    Ok(grid.html(&[
        (format!("{stem}.csv"), "CSV"),
        (format!("{stem}.json"), "JSON"),
    ]))
}
