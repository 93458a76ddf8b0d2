//! The layer shorthand: one string per layer or block call.
//!
//! ```text
//! [name:] conv OUT k3 [s2] [p1] [d1] [g32 | dw] [nobias] [fn] [*N]
//! [name:] linear OUT [nobias]          bn [noaffine]
//! relu | relu6 | leakyrelu | elu | prelu [N] | gelu | silu | sigmoid | tanh | hardswish | hardsigmoid
//! maxpool k3 [s2] [p1] [d1] [ceil]     avgpool k2 [s2] [p0] [ceil]
//! adaptiveavgpool 7 | 7x7              adaptivemaxpool 1       gap
//! flatten                              dropout [0.5]
//! BLOCK ARG... [*N]                    (a call of a block defined in [blocks])
//! ```
//!
//! Numbers are integer expressions over the block's arguments (`$c*4`);
//! `k1x7` gives height and width apart. `fn` marks a layer applied as a
//! `torch.nn.functional` call rather than a module, which matters only to
//! the tools that count through module hooks (ptflops, thop). `*N` repeats.
//! This module only parses; evaluation happens during elaboration.

use crate::error::{Error, Result};
use crate::model::expr::Expr;
use crate::source::Span;

/// One entry of a `layers`/`body` list: a layer or a block call.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The explicit name (`fc6: linear 4096`), if any.
    pub name: Option<String>,
    /// What the entry is.
    pub what: What,
    /// How many times it repeats (`*N`).
    pub repeat: Option<Expr>,
    /// Applied as a functional call rather than a module (`fn`).
    pub functional: bool,
    /// The whole string in its file.
    pub span: Span,
}

/// A layer or a block call.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    /// A single layer.
    Layer(Box<LayerSpec>),
    /// A call of a block by name with positional arguments.
    Call {
        /// The block's name.
        block: String,
        /// Where the name was written.
        block_span: Span,
        /// The arguments, in the block's `args` order.
        args: Vec<Expr>,
    },
}

/// Height and width of a kernel, stride, padding or output size.
pub type Pair = (Expr, Expr);

/// A layer as written, before its expressions are evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerSpec {
    /// 2-D convolution.
    Conv {
        /// Output channels.
        out: Expr,
        /// Kernel size.
        kernel: Pair,
        /// Stride (default 1).
        stride: Option<Pair>,
        /// Zero padding (default 0).
        padding: Option<Pair>,
        /// Dilation (default 1).
        dilation: Option<Pair>,
        /// Groups (default 1).
        groups: Groups,
        /// Whether the layer has a bias (default yes, as in PyTorch).
        bias: bool,
    },
    /// Fully connected layer on the last dimension.
    Linear {
        /// Output features.
        out: Expr,
        /// Whether the layer has a bias.
        bias: bool,
    },
    /// Batch normalisation over the first (channel) dimension.
    BatchNorm {
        /// Learnable scale and shift (default yes).
        affine: bool,
    },
    /// An element-wise activation.
    Activation {
        /// Which one.
        act: Activation,
        /// PReLU's number of parameters (default 1).
        params: Option<Expr>,
    },
    /// Max or average pooling with a fixed window.
    Pool {
        /// Max or average.
        pool: PoolKind,
        /// Window size.
        kernel: Pair,
        /// Stride (default: the window size, as in PyTorch).
        stride: Option<Pair>,
        /// Padding (default 0).
        padding: Option<Pair>,
        /// Dilation, max pooling only (default 1).
        dilation: Option<Pair>,
        /// `ceil_mode`.
        ceil: bool,
    },
    /// Adaptive pooling to a fixed output size.
    Adaptive {
        /// Max or average.
        pool: PoolKind,
        /// Output height and width.
        size: Pair,
    },
    /// Global average pooling (adaptive average pooling to 1x1).
    GlobalAvgPool,
    /// `torch.flatten(x, 1)`.
    Flatten,
    /// Dropout (an identity at inference).
    Dropout,
}

/// Groups of a convolution.
#[derive(Debug, Clone, PartialEq)]
pub enum Groups {
    /// An explicit count.
    Count(Expr),
    /// As many groups as input channels (`dw`).
    Depthwise,
}

/// Max or average pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// Maximum over the window.
    Max,
    /// Mean over the window.
    Avg,
}

/// Element-wise activation functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `nn.ReLU`
    Relu,
    /// `nn.ReLU6`
    Relu6,
    /// `nn.LeakyReLU`
    LeakyRelu,
    /// `nn.ELU`
    Elu,
    /// `nn.PReLU` (has parameters)
    Prelu,
    /// `nn.GELU`
    Gelu,
    /// `nn.SiLU`
    Silu,
    /// `nn.Sigmoid`
    Sigmoid,
    /// `nn.Tanh`
    Tanh,
    /// `nn.Hardswish`
    Hardswish,
    /// `nn.Hardsigmoid`
    Hardsigmoid,
}

impl Activation {
    /// All activations with their keywords.
    pub const ALL: [(&'static str, Activation); 11] = [
        ("relu", Activation::Relu),
        ("relu6", Activation::Relu6),
        ("leakyrelu", Activation::LeakyRelu),
        ("elu", Activation::Elu),
        ("prelu", Activation::Prelu),
        ("gelu", Activation::Gelu),
        ("silu", Activation::Silu),
        ("sigmoid", Activation::Sigmoid),
        ("tanh", Activation::Tanh),
        ("hardswish", Activation::Hardswish),
        ("hardsigmoid", Activation::Hardsigmoid),
    ];

    /// The keyword used in model files.
    pub fn keyword(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("?", |(k, _)| k)
    }
}

/// Layer keywords, for messages.
pub const LAYER_KEYWORDS: &str =
    "conv, linear, bn, relu, relu6, leakyrelu, elu, prelu, gelu, silu, \
sigmoid, tanh, hardswish, hardsigmoid, maxpool, avgpool, adaptiveavgpool, adaptivemaxpool, gap, \
flatten, dropout";

struct Token<'a> {
    text: &'a str,
    span: Span,
}

/// Parses one layer string. `span` covers exactly `text` in its file.
pub fn parse_item(text: &str, span: &Span) -> Result<Item> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut offset = 0;
    for piece in text.split_inclusive(char::is_whitespace) {
        let trimmed = piece.trim_end();
        let lead = trimmed.len() - trimmed.trim_start().len();
        let word = trimmed.trim_start();
        if !word.is_empty() {
            let start = offset + lead;
            tokens.push(Token {
                text: word,
                span: span.sub(start, start + word.len()),
            });
        }
        offset += piece.len();
    }
    let mut tokens = tokens.into_iter().peekable();

    let mut name = None;
    if let Some(first) = tokens.peek() {
        if let Some(n) = first.text.strip_suffix(':') {
            if n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            {
                return Err(Error::syntax_hint(
                    first.span.clone(),
                    format!("invalid layer name `{n}`"),
                    "names use letters, digits, `_`, `-` and `.`",
                ));
            }
            name = Some(n.to_string());
            tokens.next();
        }
    }
    let Some(keyword) = tokens.next() else {
        return Err(Error::syntax_hint(
            span.clone(),
            "empty layer",
            format!("write a layer kind ({LAYER_KEYWORDS}) or a block name"),
        ));
    };

    let mut parts = Parts {
        keyword: keyword.text,
        positional: Vec::new(),
        options: Vec::new(),
        flags: Vec::new(),
    };
    let mut repeat = None;
    let mut functional = false;
    for token in tokens {
        let t = token.text;
        let first = t.as_bytes()[0];
        if let Some(n) = t.strip_prefix('*') {
            if repeat.is_some() {
                return Err(Error::syntax(token.span, "repeat `*N` given twice"));
            }
            repeat = Some(Expr::parse(n, &token.span.sub(1, t.len()))?);
        } else if t == "fn" {
            functional = true;
        } else if matches!(t, "nobias" | "bias" | "noaffine" | "ceil" | "dw") {
            parts.flags.push(token);
        } else if first.is_ascii_digit() || first == b'$' || first == b'(' {
            parts.positional.push(token);
        } else if t.len() > 1
            && b"kspdg".contains(&first)
            && matches!(t.as_bytes()[1], b'0'..=b'9' | b'$' | b'(')
        {
            parts.options.push((first as char, token));
        } else {
            return Err(Error::syntax_hint(
                token.span,
                format!("unexpected `{t}`"),
                "options are k<n>, s<n>, p<n>, d<n>, g<n>, dw, nobias, noaffine, ceil, fn, *<repeat>",
            ));
        }
    }

    let what = parts.build(&keyword.span)?;
    if functional && matches!(what, What::Call { .. }) {
        return Err(Error::syntax(
            span.clone(),
            "`fn` applies to layers, not to block calls",
        ));
    }
    Ok(Item {
        name,
        what,
        repeat,
        functional,
        span: span.clone(),
    })
}

struct Parts<'a> {
    keyword: &'a str,
    positional: Vec<Token<'a>>,
    options: Vec<(char, Token<'a>)>,
    flags: Vec<Token<'a>>,
}

impl<'a> Parts<'a> {
    fn build(mut self, keyword_span: &Span) -> Result<What> {
        let kw = self.keyword;
        let layer = match kw {
            "conv" => {
                let out = self.one_positional(keyword_span, "output channels")?;
                let kernel = self.pair('k')?.ok_or_else(|| {
                    Error::syntax_hint(
                        keyword_span.clone(),
                        "conv needs a kernel size",
                        "add e.g. `k3`",
                    )
                })?;
                let groups = match (self.option('g'), self.flag("dw")) {
                    (Some(_), true) => {
                        return Err(Error::syntax(
                            keyword_span.clone(),
                            "give either `g<n>` or `dw`, not both",
                        ))
                    }
                    (Some(g), false) => {
                        Groups::Count(Expr::parse(&g.text[1..], &g.span.sub(1, g.text.len()))?)
                    }
                    (None, true) => Groups::Depthwise,
                    (None, false) => Groups::Count(Expr::num(1, keyword_span.clone())),
                };
                let bias = self.bias(keyword_span)?;
                LayerSpec::Conv {
                    out,
                    stride: self.pair('s')?,
                    padding: self.pair('p')?,
                    dilation: self.pair('d')?,
                    kernel,
                    groups,
                    bias,
                }
            }
            "linear" => {
                let out = self.one_positional(keyword_span, "output features")?;
                LayerSpec::Linear {
                    out,
                    bias: self.bias(keyword_span)?,
                }
            }
            "bn" => LayerSpec::BatchNorm {
                affine: !self.flag("noaffine"),
            },
            "maxpool" | "avgpool" => {
                let pool = if kw == "maxpool" {
                    PoolKind::Max
                } else {
                    PoolKind::Avg
                };
                let kernel = self.pair('k')?.ok_or_else(|| {
                    Error::syntax_hint(
                        keyword_span.clone(),
                        format!("{kw} needs a window size"),
                        "add e.g. `k2`",
                    )
                })?;
                LayerSpec::Pool {
                    pool,
                    stride: self.pair('s')?,
                    padding: self.pair('p')?,
                    dilation: if pool == PoolKind::Max {
                        self.pair('d')?
                    } else {
                        None
                    },
                    ceil: self.flag("ceil"),
                    kernel,
                }
            }
            "adaptiveavgpool" | "adaptivemaxpool" => {
                let pool = if kw == "adaptivemaxpool" {
                    PoolKind::Max
                } else {
                    PoolKind::Avg
                };
                let Some(token) = self.take_positional() else {
                    return Err(Error::syntax_hint(
                        keyword_span.clone(),
                        format!("{kw} needs an output size"),
                        "add e.g. `7` or `7x7`",
                    ));
                };
                LayerSpec::Adaptive {
                    pool,
                    size: parse_pair(token.text, &token.span)?,
                }
            }
            "gap" => LayerSpec::GlobalAvgPool,
            "flatten" => LayerSpec::Flatten,
            "dropout" => {
                if let Some(p) = self.take_positional() {
                    match p.text.parse::<f64>() {
                        Ok(v) if (0.0..=1.0).contains(&v) => {}
                        _ => {
                            return Err(Error::syntax(
                                p.span,
                                "dropout probability must be a number in [0, 1]",
                            ))
                        }
                    }
                }
                LayerSpec::Dropout
            }
            _ => match Activation::ALL.iter().find(|(k, _)| *k == kw) {
                Some((_, act)) => {
                    let params = if *act == Activation::Prelu {
                        match self.take_positional() {
                            Some(t) => Some(Expr::parse(t.text, &t.span)?),
                            None => None,
                        }
                    } else {
                        None
                    };
                    LayerSpec::Activation { act: *act, params }
                }
                None => return self.call(keyword_span),
            },
        };
        self.finish()?;
        Ok(What::Layer(Box::new(layer)))
    }

    fn call(self, keyword_span: &Span) -> Result<What> {
        if !self
            .keyword
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(Error::syntax_hint(
                keyword_span.clone(),
                format!("unknown layer kind `{}`", self.keyword),
                format!("layer kinds: {LAYER_KEYWORDS}; or the name of a block"),
            ));
        }
        // An option such as `k3` after an unknown word is most likely a
        // misspelt layer kind (`convv 64 k3`), not a block call.
        let option = self.options.first().map(|(_, t)| t).or(self.flags.first());
        if let Some(t) = option {
            return Err(Error::syntax_hint(
                keyword_span.clone(),
                format!("unknown layer kind `{}`", self.keyword),
                format!(
                    "`{}` is a layer option, and block calls take positional arguments only; layer kinds: {LAYER_KEYWORDS}",
                    t.text
                ),
            ));
        }
        let args = self
            .positional
            .iter()
            .map(|t| Expr::parse(t.text, &t.span))
            .collect::<Result<_>>()?;
        Ok(What::Call {
            block: self.keyword.to_string(),
            block_span: keyword_span.clone(),
            args,
        })
    }

    fn take_positional(&mut self) -> Option<Token<'a>> {
        if self.positional.is_empty() {
            None
        } else {
            Some(self.positional.remove(0))
        }
    }

    fn one_positional(&mut self, keyword_span: &Span, what: &str) -> Result<Expr> {
        let kw = self.keyword;
        match self.take_positional() {
            Some(t) => Expr::parse(t.text, &t.span),
            None => Err(Error::syntax_hint(
                keyword_span.clone(),
                format!("{kw} needs its {what}"),
                format!("e.g. `{kw} 64`"),
            )),
        }
    }

    fn option(&mut self, letter: char) -> Option<Token<'a>> {
        let at = self.options.iter().position(|(l, _)| *l == letter)?;
        Some(self.options.remove(at).1)
    }

    fn pair(&mut self, letter: char) -> Result<Option<Pair>> {
        match self.option(letter) {
            Some(t) => Ok(Some(parse_pair(
                &t.text[1..],
                &t.span.sub(1, t.text.len()),
            )?)),
            None => Ok(None),
        }
    }

    fn flag(&mut self, word: &str) -> bool {
        match self.flags.iter().position(|t| t.text == word) {
            Some(at) => {
                self.flags.remove(at);
                true
            }
            None => false,
        }
    }

    fn bias(&mut self, keyword_span: &Span) -> Result<bool> {
        let no = self.flag("nobias");
        if no && self.flag("bias") {
            return Err(Error::syntax(
                keyword_span.clone(),
                "both `bias` and `nobias`",
            ));
        }
        Ok(!no)
    }

    /// Anything left over is not valid for this kind of layer.
    fn finish(self) -> Result<()> {
        let kw = self.keyword;
        if let Some(t) = self.positional.first() {
            return Err(Error::syntax(
                t.span.clone(),
                format!("unexpected value `{}` for {kw}", t.text),
            ));
        }
        if let Some((_, t)) = self.options.first() {
            return Err(Error::syntax(
                t.span.clone(),
                format!("{kw} does not take `{}` (or takes it once)", &t.text[..1]),
            ));
        }
        if let Some(t) = self.flags.first() {
            return Err(Error::syntax(
                t.span.clone(),
                format!("{kw} does not take `{}`", t.text),
            ));
        }
        Ok(())
    }
}

/// Parses `7` (square) or `1x7` (height x width).
fn parse_pair(text: &str, span: &Span) -> Result<Pair> {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut split = None;
    while i < bytes.len() {
        match bytes[i] {
            b'$' => {
                i += 1;
                if bytes.get(i) == Some(&b'{') {
                    while i < bytes.len() && bytes[i] != b'}' {
                        i += 1;
                    }
                } else {
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_')
                    {
                        i += 1;
                    }
                    continue;
                }
            }
            b'x' => {
                split = Some(i);
                break;
            }
            _ => {}
        }
        i += 1;
    }
    match split {
        None => {
            let e = Expr::parse(text, span)?;
            Ok((e.clone(), e))
        }
        Some(at) => Ok((
            Expr::parse(&text[..at], &span.sub(0, at))?,
            Expr::parse(&text[at + 1..], &span.sub(at + 1, text.len()))?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::expr::Args;
    use crate::source::Source;

    fn parse(text: &str) -> Result<Item> {
        let src = Source::new("m.toml", text);
        parse_item(text, &src.span(0, text.len()))
    }

    fn ev(e: &Expr) -> u64 {
        e.eval(&Args::new()).unwrap()
    }

    #[test]
    fn conv_with_all_options() {
        let item = parse("c1: conv 64 k1x7 s2 p0x3 d2 g4 nobias *3").unwrap();
        assert_eq!(item.name.as_deref(), Some("c1"));
        assert_eq!(ev(item.repeat.as_ref().unwrap()), 3);
        let What::Layer(spec) = item.what else {
            panic!("not a layer")
        };
        let LayerSpec::Conv {
            out,
            kernel,
            stride,
            padding,
            dilation,
            groups,
            bias,
        } = *spec
        else {
            panic!("not a conv")
        };
        assert_eq!(ev(&out), 64);
        assert_eq!((ev(&kernel.0), ev(&kernel.1)), (1, 7));
        assert_eq!(ev(&stride.unwrap().1), 2);
        assert_eq!(ev(&padding.unwrap().1), 3);
        assert_eq!(ev(&dilation.unwrap().0), 2);
        assert!(matches!(groups, Groups::Count(ref g) if ev(g) == 4));
        assert!(!bias);
    }

    #[test]
    fn pairs_split_at_x_outside_argument_names() {
        let args: Args = [("max2".to_string(), 5), ("exp".to_string(), 7)].into();
        let pair = |text: &str| {
            let src = Source::new("m", text);
            let (h, w) = parse_pair(src.text(), &src.span(0, text.len())).unwrap();
            (h.eval(&args).unwrap(), w.eval(&args).unwrap())
        };
        assert_eq!(pair("${max2}x$exp"), (5, 7));
        assert_eq!(pair("$exp"), (7, 7), "an `x` inside a name does not split");
        assert_eq!(pair("1x$exp"), (1, 7));
    }

    #[test]
    fn block_calls_and_functional_layers() {
        let item = parse("basic 128 2 *4").unwrap();
        assert!(
            matches!(item.what, What::Call { ref block, ref args, .. } if block == "basic" && args.len() == 2)
        );
        assert!(parse("relu fn").unwrap().functional);
        assert!(parse("basic 1 fn").is_err());
    }

    #[test]
    fn mistakes_point_at_the_token() {
        let err = parse("conv 64 k3 q1").unwrap_err();
        assert_eq!(err.span().unwrap().line_col(), (1, 12));
        let err = parse("conv k3").unwrap_err();
        assert!(err.to_string().contains("output channels"), "{err}");
        assert!(parse("conv 64").unwrap_err().to_string().contains("kernel"));
        assert!(parse("relu 3").is_err());
        assert!(parse("bn nobias").is_err());
        assert!(parse("maxpool k2 k3").is_err());
        assert!(parse("").is_err());
        assert!(parse("conv! 3").is_err());
        assert!(parse("dropout 1.5").is_err());
        assert!(parse("conv 8 k3 g2 dw").is_err());
    }
}
