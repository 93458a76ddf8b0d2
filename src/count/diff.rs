//! Two models compared layer by layer: what an author needs to explain a
//! revision of an architecture.
//!
//! Layers are matched by their path below the model's name
//! (`stage3/block0/conv1`), so a variant and its base, or two revisions of
//! one file, line up wherever their structure agrees.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::count::analysis::Analysis;
use crate::count::op::shape_str;
use crate::numfmt::thousands;

/// What happened to one layer from `a` to `b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only in `b`.
    Added,
    /// Only in `a`.
    Removed,
    /// In both, with other parameters, MACs or output shape.
    Changed,
}

/// One layer's figures in one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    /// The operation, e.g. `conv 64 k3`.
    pub op: String,
    /// Output shape, e.g. `64x56x56`.
    pub output: String,
    /// Trainable parameters.
    pub params: u64,
    /// Multiply-accumulates.
    pub macs: u64,
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Path below the model's name.
    pub layer: String,
    /// Added, removed or changed.
    pub change: Change,
    /// The layer in `a`, if there.
    pub a: Option<Side>,
    /// The layer in `b`, if there.
    pub b: Option<Side>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// The first model's id.
    pub a: String,
    /// The second model's id.
    pub b: String,
    /// Layers that differ: `b`'s order, then layers only `a` has.
    pub rows: Vec<Row>,
    /// Layers equal in both.
    pub unchanged: usize,
    /// Total parameters of `a` and `b`.
    pub params: [u64; 2],
    /// Total MACs of `a` and `b`.
    pub macs: [u64; 2],
}

fn below_model(path: &str) -> &str {
    path.split_once('/').map_or(path, |(_, rest)| rest)
}

fn side(l: &crate::count::Layer) -> Side {
    Side {
        op: l.op.name().to_string(),
        output: shape_str(&l.cost.output),
        params: l.params(),
        macs: l.cost.macs,
    }
}

/// Compares `a` with `b`.
pub fn diff(a: &Analysis, b: &Analysis) -> Diff {
    let in_a: BTreeMap<&str, Side> = a
        .layers
        .iter()
        .map(|l| (below_model(&l.path), side(l)))
        .collect();
    let in_b: BTreeMap<&str, ()> = b
        .layers
        .iter()
        .map(|l| (below_model(&l.path), ()))
        .collect();
    let mut rows = Vec::new();
    let mut unchanged = 0;
    for l in &b.layers {
        let path = below_model(&l.path);
        let now = side(l);
        match in_a.get(path) {
            Some(before) if *before == now => unchanged += 1,
            Some(before) => rows.push(Row {
                layer: path.to_string(),
                change: Change::Changed,
                a: Some(before.clone()),
                b: Some(now),
            }),
            None => rows.push(Row {
                layer: path.to_string(),
                change: Change::Added,
                a: None,
                b: Some(now),
            }),
        }
    }
    for l in &a.layers {
        let path = below_model(&l.path);
        if !in_b.contains_key(path) {
            rows.push(Row {
                layer: path.to_string(),
                change: Change::Removed,
                a: Some(side(l)),
                b: None,
            });
        }
    }
    Diff {
        a: a.id.clone(),
        b: b.id.clone(),
        rows,
        unchanged,
        params: [a.total.params, b.total.params],
        macs: [a.total.macs, b.total.macs],
    }
}

/// `b - a` with its sign and thousands separators: `+1,234`, `-5`, `0`.
pub fn delta(a: u64, b: u64) -> String {
    match b.cmp(&a) {
        std::cmp::Ordering::Greater => format!("+{}", thousands(b - a)),
        std::cmp::Ordering::Less => format!("-{}", thousands(a - b)),
        std::cmp::Ordering::Equal => "0".into(),
    }
}

impl Diff {
    /// The comparison as a text table for the terminal.
    pub fn table(&self) -> String {
        let cell = |s: &Option<Side>, f: fn(&Side) -> String| s.as_ref().map_or("-".to_string(), f);
        let mut rows: Vec<[String; 6]> = vec![[
            "Layer".into(),
            "Change".into(),
            format!("Params {}", self.a),
            format!("Params {}", self.b),
            "Δ params".into(),
            "Δ MACs".into(),
        ]];
        for r in &self.rows {
            let get = |s: &Option<Side>, f: fn(&Side) -> u64| s.as_ref().map_or(0, f);
            rows.push([
                r.layer.clone(),
                format!("{:?}", r.change).to_lowercase(),
                cell(&r.a, |s| thousands(s.params)),
                cell(&r.b, |s| thousands(s.params)),
                delta(get(&r.a, |s| s.params), get(&r.b, |s| s.params)),
                delta(get(&r.a, |s| s.macs), get(&r.b, |s| s.macs)),
            ]);
        }
        rows.push([
            "total".into(),
            String::new(),
            thousands(self.params[0]),
            thousands(self.params[1]),
            delta(self.params[0], self.params[1]),
            delta(self.macs[0], self.macs[1]),
        ]);
        let widths: Vec<usize> = (0..6)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = format!(
            "{} -> {}: {} layers differ, {} unchanged\n",
            self.a,
            self.b,
            self.rows.len(),
            self.unchanged
        );
        for (i, r) in rows.iter().enumerate() {
            let mut line = String::new();
            for (c, text) in r.iter().enumerate() {
                let pad = widths[c] - text.chars().count();
                if c < 2 {
                    line.push_str(&format!("{text}{}", " ".repeat(pad)));
                } else {
                    line.push_str(&format!("{}{text}", " ".repeat(pad)));
                }
                if c < 5 {
                    line.push_str("  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
            // Rules under the header and above the total (once when nothing differs).
            if i == 0 || (i == rows.len() - 2 && i > 0) {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 10));
                out.push('\n');
            }
        }
        out
    }

    /// The comparison as JSON.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The comparison as CSV, one row per differing layer.
    pub fn csv(&self) -> String {
        let mut out =
            String::from("layer,change,params_a,params_b,macs_a,macs_b,output_a,output_b\n");
        for r in &self.rows {
            let num = |s: &Option<Side>, f: fn(&Side) -> u64| {
                s.as_ref().map_or(String::new(), |s| f(s).to_string())
            };
            let text = |s: &Option<Side>| s.as_ref().map_or(String::new(), |s| s.output.clone());
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                r.layer,
                format!("{:?}", r.change).to_lowercase(),
                num(&r.a, |s| s.params),
                num(&r.b, |s| s.params),
                num(&r.a, |s| s.macs),
                num(&r.b, |s| s.macs),
                text(&r.a),
                text(&r.b)
            ));
        }
        out
    }
}
