//! An [`Analysis`]: a model's layers with totals by section and by kind.

use serde::Serialize;

use crate::count::convention::Convention;
use crate::count::elaborate::{elaborate, Layer};
use crate::count::op::{product, Kind, Shape};
use crate::error::{Error, Result};
use crate::model::ModelSpec;

/// Bytes per element: everything is counted as fp32.
pub const BYTES_PER_ELEMENT: u64 = 4;

/// Sums over a group of layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Trainable parameters (weights + biases).
    pub params: u64,
    /// Trainable weights.
    pub weight: u64,
    /// Trainable biases.
    pub bias: u64,
    /// Non-trainable buffers (BN running statistics and batch counters).
    pub buffers: u64,
    /// Conv + linear multiply-accumulates, bias excluded.
    pub macs: u64,
    /// FLOPs: 2 x MACs + bias adds + element-wise operations.
    pub flops: u64,
    /// Output activation elements.
    pub activations: u64,
    /// Number of layers.
    pub layers: u64,
}

impl Totals {
    fn add(&mut self, layer: &Layer) -> Option<()> {
        let c = &layer.cost;
        self.weight = self.weight.checked_add(c.weight)?;
        self.bias = self.bias.checked_add(c.bias)?;
        self.params = self.weight.checked_add(self.bias)?;
        self.buffers = self.buffers.checked_add(c.buffers)?;
        self.macs = self.macs.checked_add(c.macs)?;
        self.flops = self.flops.checked_add(layer.flops)?;
        self.activations = self.activations.checked_add(product(&c.output).ok()?)?;
        self.layers += 1;
        Some(())
    }

    /// Sums any selection of layers (`None` on overflow).
    pub fn of<'a>(layers: impl IntoIterator<Item = &'a Layer>) -> Option<Totals> {
        let mut t = Totals::default();
        for layer in layers {
            t.add(layer)?;
        }
        Some(t)
    }

    /// Share of `part` in `whole` (0 when the whole is 0).
    pub fn share(part: u64, whole: u64) -> f64 {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    }
}

/// A model counted for one input shape.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// File stem of the model.
    pub id: String,
    /// Display name.
    pub name: String,
    /// One paragraph about the model.
    pub description: String,
    /// The model this one extends, if any.
    pub extends: Option<String>,
    /// Remarks for the reader (e.g. an ONNX export that folded batch norm).
    pub notes: Vec<String>,
    /// Input shape without the batch.
    pub input: Shape,
    /// Every layer in order.
    pub layers: Vec<Layer>,
    /// Whole-model totals.
    pub total: Totals,
    /// Totals per top-level section, in model order.
    pub sections: Vec<(String, Totals)>,
    /// Totals per kind the model has, in [`Kind::ALL`] order.
    pub kinds: Vec<(Kind, Totals)>,
    /// Each tool's total in [`Convention::ALL`] order, or the index of the
    /// layer at which it exceeds 64 bits.
    conventions: [std::result::Result<u64, usize>; Convention::ALL.len()],
}

/// Refuses an `input` whose channel count differs from the model's declared
/// input when that would change some layer's parameters (the model would no
/// longer be the one in the file), naming the first such layer.
pub fn check_input_channels(spec: &ModelSpec, input: &[u64]) -> Result<()> {
    let (Some(&given), Some(&declared)) = (input.first(), spec.input.first()) else {
        return Ok(());
    };
    if given == declared {
        return Ok(());
    }
    if spec.input.len() != input.len() {
        return Ok(());
    }
    // Only the channels change here: other sizes may change a flatten head's
    // parameters, which is what asking for another input size means.
    let mut same_size = spec.input.clone();
    same_size[0] = given;
    let own = elaborate(spec, &spec.input)?;
    let Ok(asked) = elaborate(spec, &same_size) else {
        return Ok(());
    };
    for (a, b) in own.iter().zip(&asked) {
        if a.params() != b.params() {
            return Err(Error::Shape {
                layer: b.path.clone(),
                message: format!(
                    "--input has {given} channels but the model declares {declared}: this layer's parameters would change from {} to {}; pass --allow-channels to count that other model anyway",
                    a.params(),
                    b.params()
                ),
                span: b.span.clone(),
            });
        }
    }
    Ok(())
}

/// Counts `spec`, at its own input shape or at `input` when given.
pub fn analyze(spec: &ModelSpec, input: Option<&[u64]>) -> Result<Analysis> {
    let input = input.map_or_else(|| spec.input.clone(), <[u64]>::to_vec);
    let layers = elaborate(spec, &input)?;
    let about = About {
        id: spec.id.clone(),
        name: spec.name.clone(),
        description: spec.description.clone(),
        extends: spec.extends.clone(),
        notes: Vec::new(),
    };
    let sections = spec.sections.iter().map(|s| s.name.clone()).collect();
    Analysis::of_layers(about, input, layers, sections)
}

/// What an analysis says about its model besides the counts.
#[derive(Debug, Clone, Default)]
pub struct About {
    /// File stem.
    pub id: String,
    /// Display name.
    pub name: String,
    /// One paragraph.
    pub description: String,
    /// The base model, if any.
    pub extends: Option<String>,
    /// Remarks for the reader (e.g. an ONNX export that folded batch norm).
    pub notes: Vec<String>,
}

impl Analysis {
    /// Totals over `layers`, however they were made (a model file or an
    /// imported graph): one analysis and one set of conventions for both.
    pub fn of_layers(
        about: About,
        input: Shape,
        layers: Vec<Layer>,
        section_names: Vec<String>,
    ) -> Result<Analysis> {
        let overflow = |layer: &Layer, what: &str| Error::Shape {
            layer: layer.path.clone(),
            message: format!("arithmetic overflow: with this layer, {what} exceeds 64 bits"),
            span: layer.span.clone(),
        };
        let mut total = Totals::default();
        let mut sections: Vec<(String, Totals)> = section_names
            .into_iter()
            .map(|s| (s, Totals::default()))
            .collect();
        let mut kinds: Vec<(Kind, Totals)> =
            Kind::ALL.iter().map(|k| (*k, Totals::default())).collect();
        let mut conventions: [Result<u64, usize>; Convention::ALL.len()] = [Ok(0); 5];
        for (index, layer) in layers.iter().enumerate() {
            total
                .add(layer)
                .ok_or_else(|| overflow(layer, "a model total"))?;
            if let Some((_, t)) = sections.iter_mut().find(|(n, _)| *n == layer.section) {
                t.add(layer)
                    .ok_or_else(|| overflow(layer, "a section total"))?;
            }
            let kind = layer.op.kind();
            if let Some((_, t)) = kinds.iter_mut().find(|(k, _)| *k == kind) {
                t.add(layer)
                    .ok_or_else(|| overflow(layer, "a kind total"))?;
            }
            // Each tool's total, or the first layer at which it overflows: an
            // error only when that tool's figure is asked for.
            for (sum, convention) in conventions.iter_mut().zip(Convention::ALL) {
                if let Ok(so_far) = *sum {
                    *sum = convention
                        .checked_layer_count(layer)
                        .and_then(|n| so_far.checked_add(n))
                        .ok_or(index);
                }
            }
        }
        // Only the kinds the model has: a CNN gets no empty "tensor" row.
        kinds.retain(|(_, t)| t.layers > 0);
        Ok(Analysis {
            id: about.id,
            name: about.name,
            description: about.description,
            extends: about.extends,
            notes: about.notes,
            input,
            layers,
            total,
            sections,
            kinds,
            conventions,
        })
    }
}

impl Analysis {
    /// Totals of one kind.
    pub fn kind(&self, kind: Kind) -> Totals {
        self.kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or_else(Totals::default, |(_, t)| *t)
    }

    /// Totals of one section, if it exists.
    pub fn section(&self, name: &str) -> Option<Totals> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
    }

    /// The total under a tool's convention; an overflow names the layer.
    pub fn convention_total(&self, convention: Convention) -> Result<u64> {
        let at = Convention::ALL
            .iter()
            .position(|c| *c == convention)
            .expect("every convention is in ALL");
        self.conventions[at].map_err(|index| {
            let layer = &self.layers[index];
            Error::Shape {
                layer: layer.path.clone(),
                message: format!(
                    "arithmetic overflow: with this layer, {}'s count exceeds 64 bits",
                    convention.name()
                ),
                span: layer.span.clone(),
            }
        })
    }

    /// The layer at `path`, or whose path ends with `/suffix`.
    pub fn layer(&self, path: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.path == path).or_else(|| {
            self.layers
                .iter()
                .find(|l| l.path.ends_with(&format!("/{path}")))
        })
    }
}

impl Layer {
    /// Trainable parameters.
    pub fn params(&self) -> u64 {
        self.cost.weight + self.cost.bias
    }

    /// Output elements.
    pub fn activations(&self) -> u64 {
        product(&self.cost.output).unwrap_or(u64::MAX)
    }

    /// Input elements (all inputs of a merge).
    pub fn input_elements(&self) -> u64 {
        self.inputs
            .iter()
            .map(|s| product(s).unwrap_or(u64::MAX))
            .fold(0, u64::saturating_add)
    }

    /// Bytes of the layer's parameters in fp32.
    pub fn weight_bytes(&self) -> u64 {
        self.params().saturating_mul(BYTES_PER_ELEMENT)
    }

    /// Bytes of the layer's output in fp32.
    pub fn activation_bytes(&self) -> u64 {
        self.activations().saturating_mul(BYTES_PER_ELEMENT)
    }

    /// FLOPs per byte moved (weights + inputs + outputs, fp32).
    pub fn intensity(&self) -> f64 {
        let bytes =
            (self.params() as f64 + self.input_elements() as f64 + self.activations() as f64)
                * BYTES_PER_ELEMENT as f64;
        if bytes == 0.0 {
            0.0
        } else {
            self.flops as f64 / bytes
        }
    }

    /// Path relative to the model (without the model id).
    pub fn local_path(&self) -> &str {
        self.path
            .split_once('/')
            .map_or(&self.path, |(_, rest)| rest)
    }
}
