//! The layer shorthand: one string per layer or block call.
//!
//! Every layer kind is one row of [`KEYWORDS`]: its keyword, its syntax as
//! the README and error hints show it, and the function that builds its
//! [`Op`]. Numbers are expressions over the block's arguments (`$c*4`,
//! `make_divisible($c*0.25, 8)`); `k1x7` gives height and width apart.
//! `fn` marks a layer applied as a `torch.nn.functional` call rather than a
//! module, which matters only to the tools that count through module hooks
//! (ptflops, thop). `*N` repeats. `$name` alone calls the layer passed as a
//! block argument (`relu`, `hardswish`, `bn`, `identity`). Any other word is
//! a call of a block defined in `[blocks]`, with positional arguments.
//! This module only parses; evaluation happens during elaboration.

use crate::error::{Error, Result};
use crate::model::expr::{Expr, LAYER_CHANNELS};
use crate::model::op::{Activation, Op, ParamUse, PoolKind};
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
        args: Vec<CallArg>,
    },
    /// `$name`: the layer passed to the block as the argument `name`.
    Arg {
        /// The argument's name.
        name: String,
    },
}

/// An argument of a block call.
#[derive(Debug, Clone, PartialEq)]
pub enum CallArg {
    /// A number (or `$name`, which may also pass a layer on).
    Num(Expr),
    /// A layer kind word, such as `relu` or `bn`, or a block name.
    Layer(Box<Item>),
}

/// A layer as written: its numbers are expressions.
pub type LayerSpec = Op<Expr>;

/// One layer keyword: how it is written and how it is parsed.
pub struct Keyword {
    /// The word, e.g. `conv`.
    pub word: &'static str,
    /// Its syntax, as documented.
    pub syntax: &'static str,
    /// What it is, in a few words.
    pub about: &'static str,
    build: fn(&mut Parts, &Span) -> Result<LayerSpec>,
}

macro_rules! activation {
    ($word:literal, $about:literal) => {
        Keyword {
            word: $word,
            syntax: $word,
            about: $about,
            build: activation,
        }
    };
}

/// Every layer keyword, in documentation order: the parser, the README
/// and the error hints all read this table.
pub const KEYWORDS: &[Keyword] = &[
    Keyword {
        word: "conv",
        syntax: "conv OUT kK [sS] [pP] [dD] [gG | dw] [nobias]",
        about: "nn.Conv2d on CxHxW",
        build: conv,
    },
    Keyword {
        word: "linear",
        syntax: "linear OUT [nobias]",
        about: "nn.Linear on the last dimension, of any rank",
        build: linear,
    },
    Keyword {
        word: "bn",
        syntax: "bn [noaffine]",
        about: "nn.BatchNorm over the channels",
        build: |p, _| {
            Ok(Op::BatchNorm {
                affine: !p.flag("noaffine"),
            })
        },
    },
    Keyword {
        word: "layernorm",
        syntax: "layernorm [noaffine] [nobias]",
        about: "nn.LayerNorm over the last dimension",
        build: |p, _| layernorm(p, false),
    },
    Keyword {
        word: "layernorm2d",
        syntax: "layernorm2d [noaffine] [nobias]",
        about: "LayerNorm over the channels of CxHxW (ConvNeXt's LayerNorm2d)",
        build: |p, _| layernorm(p, true),
    },
    activation!("relu", "nn.ReLU"),
    activation!("relu6", "nn.ReLU6"),
    activation!("leakyrelu", "nn.LeakyReLU"),
    activation!("elu", "nn.ELU"),
    Keyword {
        word: "prelu",
        syntax: "prelu [N]",
        about: "nn.PReLU with N parameters (default 1)",
        build: activation,
    },
    activation!("gelu", "nn.GELU"),
    activation!("silu", "nn.SiLU"),
    activation!("sigmoid", "nn.Sigmoid"),
    activation!("tanh", "nn.Tanh"),
    activation!("hardswish", "nn.Hardswish"),
    activation!("hardsigmoid", "nn.Hardsigmoid"),
    activation!("softmax", "softmax over the last dimension"),
    Keyword {
        word: "maxpool",
        syntax: "maxpool kK [sS] [pP] [dD] [ceil]",
        about: "nn.MaxPool2d (stride defaults to the window)",
        build: |p, s| pool(p, s, PoolKind::Max),
    },
    Keyword {
        word: "avgpool",
        syntax: "avgpool kK [sS] [pP] [ceil]",
        about: "nn.AvgPool2d",
        build: |p, s| pool(p, s, PoolKind::Avg),
    },
    Keyword {
        word: "adaptiveavgpool",
        syntax: "adaptiveavgpool S | HxW",
        about: "nn.AdaptiveAvgPool2d",
        build: |p, s| adaptive(p, s, PoolKind::Avg),
    },
    Keyword {
        word: "adaptivemaxpool",
        syntax: "adaptivemaxpool S | HxW",
        about: "nn.AdaptiveMaxPool2d",
        build: |p, s| adaptive(p, s, PoolKind::Max),
    },
    Keyword {
        word: "gap",
        syntax: "gap",
        about: "nn.AdaptiveAvgPool2d(1)",
        build: |_, s| {
            Ok(Op::Adaptive {
                pool: PoolKind::Avg,
                size: [Expr::num(1, s.clone()), Expr::num(1, s.clone())],
            })
        },
    },
    Keyword {
        word: "mean",
        syntax: "mean DIM... [keepdim]",
        about: "x.mean(dims), torch's numbering (a reduction, not a pooling module)",
        build: |p, s| {
            Ok(Op::Mean {
                dims: p.list(s, "the dimensions to reduce, e.g. `mean 2 3`")?,
                keepdim: p.flag("keepdim"),
            })
        },
    },
    Keyword {
        word: "flatten",
        syntax: "flatten",
        about: "torch.flatten(x, 1)",
        build: |_, _| Ok(Op::Flatten),
    },
    Keyword {
        word: "dropout",
        syntax: "dropout [P]",
        about: "nn.Dropout (an identity at inference)",
        build: dropout,
    },
    Keyword {
        word: "identity",
        syntax: "identity",
        about: "nn.Identity (leaves a layer out when passed as a block argument)",
        build: |_, _| Ok(Op::Identity),
    },
    Keyword {
        word: "permute",
        syntax: "permute DIM...",
        about: "x.permute(dims), torch's numbering: the batch is 0 and stays first",
        build: |p, s| {
            Ok(Op::Permute {
                dims: p.list(s, "the new order, e.g. `permute 0 2 3 1`")?,
            })
        },
    },
    Keyword {
        word: "reshape",
        syntax: "reshape SIZE...",
        about: "x.reshape(1, sizes...)",
        build: |p, s| {
            Ok(Op::Reshape {
                dims: p.list(s, "the new sizes without the batch, e.g. `reshape 196 768`")?,
            })
        },
    },
    Keyword {
        word: "tokens",
        syntax: "tokens",
        about: "CxHxW to (HW)xC: x.flatten(2).transpose(1, 2)",
        build: |_, _| Ok(Op::Tokens),
    },
    Keyword {
        word: "select",
        syntax: "select I",
        about: "x[:, I]: one token (ViT's class token)",
        build: |p, s| {
            Ok(Op::Select {
                index: p.one_positional(s, "index")?,
            })
        },
    },
    Keyword {
        word: "chunk",
        syntax: "chunk N I",
        about: "x.chunk(N, dim=1)[I]: a channel split",
        build: |p, s| {
            Ok(Op::Chunk {
                chunks: p.one_positional(s, "number of chunks")?,
                index: p.one_positional(s, "chunk index")?,
            })
        },
    },
    Keyword {
        word: "shuffle",
        syntax: "shuffle G",
        about: "channel shuffle in G groups (ShuffleNet)",
        build: |p, s| {
            Ok(Op::Shuffle {
                groups: p.one_positional(s, "groups")?,
            })
        },
    },
    Keyword {
        word: "param",
        syntax: "param AxBx... [add | mul | cat]",
        about: "a learnable nn.Parameter of that shape, added, multiplied or prepended",
        build: param,
    },
    Keyword {
        word: "mha",
        syntax: "mha HEADS [wW] [nobias]",
        about: "self-attention: nn.MultiheadAttention on NxD tokens, or Swin's window attention on HxWxC with wW",
        build: |p, s| {
            Ok(Op::Attention {
                heads: p.one_positional(s, "number of heads")?,
                window: match p.option('w') {
                    Some(t) => Expr::parse(&t.text[1..], &t.span.sub(1, t.text.len()))?,
                    None => Expr::num(0, s.clone()),
                },
                bias: p.bias(s)?,
            })
        },
    },
    Keyword {
        word: "patchmerge",
        syntax: "patchmerge",
        about: "Swin's PatchMerging: HxWxC to (H/2)x(W/2)x4C",
        build: |_, _| Ok(Op::PatchMerge),
    },
];

/// Layer keywords, for messages.
pub fn keyword_list() -> String {
    KEYWORDS
        .iter()
        .map(|k| k.word)
        .collect::<Vec<_>>()
        .join(", ")
}

const FLAGS: [&str; 9] = [
    "nobias", "bias", "noaffine", "ceil", "dw", "keepdim", "add", "mul", "cat",
];

const OPTION_LETTERS: &[u8] = b"kspdgw";

struct Token<'a> {
    text: &'a str,
    span: Span,
}

/// Splits at whitespace outside parentheses, so `max(1, $c)` is one token.
fn tokens<'a>(text: &'a str, span: &Span) -> Vec<Token<'a>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = None;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c.is_whitespace() && depth == 0 {
            if let Some(s) = start.take() {
                out.push(Token {
                    text: &text[s..i],
                    span: span.sub(s, i),
                });
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(Token {
            text: &text[s..],
            span: span.sub(s, text.len()),
        });
    }
    out
}

fn is_number_start(t: &str) -> bool {
    matches!(t.as_bytes()[0], b'0'..=b'9' | b'$' | b'(')
        || t.starts_with("min(")
        || t.starts_with("max(")
        || t.starts_with("round(")
        || t.starts_with("floor(")
        || t.starts_with("ceil(")
        || t.starts_with("make_divisible(")
}

/// Parses one layer string. `span` covers exactly `text` in its file.
pub fn parse_item(text: &str, span: &Span) -> Result<Item> {
    let mut tokens = tokens(text, span).into_iter().peekable();

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
            format!("write a layer kind ({}) or a block name", keyword_list()),
        ));
    };

    let mut parts = Parts {
        keyword: keyword.text,
        positional: Vec::new(),
        options: Vec::new(),
        flags: Vec::new(),
        words: Vec::new(),
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
        } else if FLAGS.contains(&t) {
            parts.flags.push(token);
        } else if is_number_start(t) {
            parts.positional.push(token);
        } else if t.len() > 1
            && OPTION_LETTERS.contains(&first)
            && matches!(t.as_bytes()[1], b'0'..=b'9' | b'$' | b'(')
        {
            parts.options.push((first as char, token));
        } else {
            parts.words.push(token);
        }
    }

    let what = if let Some(arg) = keyword.text.strip_prefix('$') {
        parts.finish()?;
        What::Arg {
            name: arg
                .trim_start_matches('{')
                .trim_end_matches('}')
                .to_string(),
        }
    } else if let Some(kw) = KEYWORDS.iter().find(|k| k.word == keyword.text) {
        let layer = (kw.build)(&mut parts, &keyword.span)?;
        parts.finish()?;
        What::Layer(Box::new(layer))
    } else {
        parts.call(&keyword.span)?
    };
    if functional && !matches!(what, What::Layer(_)) {
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

/// A layer string's tokens, sorted by form, taken as a layer reads them.
pub struct Parts<'a> {
    keyword: &'a str,
    positional: Vec<Token<'a>>,
    options: Vec<(char, Token<'a>)>,
    flags: Vec<Token<'a>>,
    /// Other words: layer arguments of a block call, or mistakes.
    words: Vec<Token<'a>>,
}

fn conv(p: &mut Parts, s: &Span) -> Result<LayerSpec> {
    let out = p.one_positional(s, "output channels")?;
    let kernel = p.pair('k')?.ok_or_else(|| {
        Error::syntax_hint(s.clone(), "conv needs a kernel size", "add e.g. `k3`")
    })?;
    let groups = match (p.option('g'), p.flag("dw")) {
        (Some(_), true) => {
            return Err(Error::syntax(
                s.clone(),
                "give either `g<n>` or `dw`, not both",
            ))
        }
        (Some(g), false) => Expr::parse(&g.text[1..], &g.span.sub(1, g.text.len()))?,
        (None, true) => Expr::var(LAYER_CHANNELS, s.clone()),
        (None, false) => Expr::num(1, s.clone()),
    };
    let bias = p.bias(s)?;
    Ok(Op::Conv {
        out,
        stride: p.pair_or('s', 1, s)?,
        padding: p.pair_or('p', 0, s)?,
        dilation: p.pair_or('d', 1, s)?,
        kernel,
        groups,
        bias,
    })
}

fn linear(p: &mut Parts, s: &Span) -> Result<LayerSpec> {
    Ok(Op::Linear {
        out: p.one_positional(s, "output features")?,
        bias: p.bias(s)?,
    })
}

fn layernorm(p: &mut Parts, channels_first: bool) -> Result<LayerSpec> {
    let affine = !p.flag("noaffine");
    Ok(Op::LayerNorm {
        channels_first,
        affine,
        bias: affine && !p.flag("nobias"),
    })
}

fn activation(p: &mut Parts, s: &Span) -> Result<LayerSpec> {
    let act = Activation::ALL
        .iter()
        .find(|(k, _)| *k == p.keyword)
        .map(|(_, a)| *a)
        .expect("every activation keyword is in Activation::ALL");
    let params = if act == Activation::Prelu {
        match p.take_positional() {
            Some(t) => Expr::parse(t.text, &t.span)?,
            None => Expr::num(1, s.clone()),
        }
    } else {
        Expr::num(0, s.clone())
    };
    Ok(Op::Activation { act, params })
}

fn pool(p: &mut Parts, s: &Span, pool: PoolKind) -> Result<LayerSpec> {
    let kw = p.keyword;
    let kernel = p.pair('k')?.ok_or_else(|| {
        Error::syntax_hint(
            s.clone(),
            format!("{kw} needs a window size"),
            "add e.g. `k2`",
        )
    })?;
    Ok(Op::Pool {
        pool,
        stride: p.pair('s')?.unwrap_or_else(|| kernel.clone()),
        padding: p.pair_or('p', 0, s)?,
        dilation: if pool == PoolKind::Max {
            p.pair_or('d', 1, s)?
        } else {
            [Expr::num(1, s.clone()), Expr::num(1, s.clone())]
        },
        ceil: p.flag("ceil"),
        kernel,
    })
}

fn adaptive(p: &mut Parts, s: &Span, pool: PoolKind) -> Result<LayerSpec> {
    let kw = p.keyword;
    let Some(token) = p.take_positional() else {
        return Err(Error::syntax_hint(
            s.clone(),
            format!("{kw} needs an output size"),
            "add e.g. `7` or `7x7`",
        ));
    };
    let size = parse_pair(token.text, &token.span)?;
    Ok(Op::Adaptive {
        pool,
        size: [size.0, size.1],
    })
}

fn dropout(p: &mut Parts, _: &Span) -> Result<LayerSpec> {
    if let Some(t) = p.take_positional() {
        match t.text.parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => {}
            _ => {
                return Err(Error::syntax(
                    t.span,
                    "dropout probability must be a number in [0, 1]",
                ))
            }
        }
    }
    Ok(Op::Dropout)
}

fn param(p: &mut Parts, s: &Span) -> Result<LayerSpec> {
    let Some(t) = p.take_positional() else {
        return Err(Error::syntax_hint(
            s.clone(),
            "param needs its shape",
            "e.g. `param 1x1x768 cat` (a class token) or `param 96x1x1 mul` (a layer scale)",
        ));
    };
    let shape = parse_dims(t.text, &t.span)?;
    let uses: Vec<ParamUse> = [
        ("add", ParamUse::Add),
        ("mul", ParamUse::Mul),
        ("cat", ParamUse::Cat),
    ]
    .into_iter()
    .filter(|(w, _)| p.flag(w))
    .map(|(_, u)| u)
    .collect();
    let uses = match uses[..] {
        [] => ParamUse::Held,
        [one] => one,
        _ => {
            return Err(Error::syntax(
                s.clone(),
                "give one of `add`, `mul` and `cat`",
            ))
        }
    };
    Ok(Op::Param { shape, uses })
}

impl<'a> Parts<'a> {
    fn call(self, keyword_span: &Span) -> Result<What> {
        if !self
            .keyword
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(Error::syntax_hint(
                keyword_span.clone(),
                format!("unknown layer kind `{}`", self.keyword),
                format!("layer kinds: {}; or the name of a block", keyword_list()),
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
                    "`{}` is a layer option, and block calls take positional arguments only; layer kinds: {}",
                    t.text,
                    keyword_list()
                ),
            ));
        }
        // Arguments in written order: numbers and layer words interleave.
        let mut all: Vec<Token> = self.positional.into_iter().chain(self.words).collect();
        all.sort_by_key(|t| t.span.range().start);
        let args = all
            .iter()
            .map(|t| {
                if is_number_start(t.text) {
                    return Ok(CallArg::Num(Expr::parse(t.text, &t.span)?));
                }
                let word_ok = t
                    .text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !word_ok {
                    return Err(Error::syntax_hint(
                        t.span.clone(),
                        format!("unexpected `{}`", t.text),
                        format!(
                            "a block argument is a number, `$name`, a layer kind ({}) or a block name",
                            keyword_list()
                        ),
                    ));
                }
                Ok(CallArg::Layer(Box::new(parse_item(t.text, &t.span)?)))
            })
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

    /// One or more positional expressions.
    fn list(&mut self, keyword_span: &Span, example: &str) -> Result<Vec<Expr>> {
        let items: Vec<Expr> = std::mem::take(&mut self.positional)
            .iter()
            .map(|t| Expr::parse(t.text, &t.span))
            .collect::<Result<_>>()?;
        if items.is_empty() {
            return Err(Error::syntax_hint(
                keyword_span.clone(),
                format!("{} needs {example}", self.keyword),
                "",
            ));
        }
        Ok(items)
    }

    fn option(&mut self, letter: char) -> Option<Token<'a>> {
        let at = self.options.iter().position(|(l, _)| *l == letter)?;
        Some(self.options.remove(at).1)
    }

    fn pair(&mut self, letter: char) -> Result<Option<[Expr; 2]>> {
        match self.option(letter) {
            Some(t) => {
                let (h, w) = parse_pair(&t.text[1..], &t.span.sub(1, t.text.len()))?;
                Ok(Some([h, w]))
            }
            None => Ok(None),
        }
    }

    fn pair_or(&mut self, letter: char, default: u64, span: &Span) -> Result<[Expr; 2]> {
        Ok(self.pair(letter)?.unwrap_or_else(|| {
            [
                Expr::num(default, span.clone()),
                Expr::num(default, span.clone()),
            ]
        }))
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
    fn finish(&self) -> Result<()> {
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
        if let Some(t) = self.words.first() {
            return Err(Error::syntax_hint(
                t.span.clone(),
                format!("unexpected `{}`", t.text),
                "options are k<n>, s<n>, p<n>, d<n>, g<n>, w<n>, dw, nobias, noaffine, ceil, keepdim, add, mul, cat, fn, *<repeat>",
            ));
        }
        Ok(())
    }
}

/// Where `text` splits at `x` between two numbers: not inside `$name`, nor
/// inside a word such as `max`.
fn x_splits(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
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
            b'x' if depth == 0 && i > 0 && !bytes[i - 1].is_ascii_alphabetic() => out.push(i),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                // A function name: skip the word.
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Parses `AxBxC...` into expressions.
fn parse_dims(text: &str, span: &Span) -> Result<Vec<Expr>> {
    let mut out = Vec::new();
    let mut start = 0;
    for at in x_splits(text).into_iter().chain([text.len()]) {
        out.push(Expr::parse(&text[start..at], &span.sub(start, at))?);
        start = at + 1;
    }
    Ok(out)
}

/// Parses `7` (square) or `1x7` (height x width).
fn parse_pair(text: &str, span: &Span) -> Result<(Expr, Expr)> {
    let mut dims = parse_dims(text, span)?;
    match dims.len() {
        1 => {
            let e = dims.remove(0);
            Ok((e.clone(), e))
        }
        2 => {
            let w = dims.remove(1);
            Ok((dims.remove(0), w))
        }
        _ => Err(Error::syntax(
            span.clone(),
            format!("`{text}` has more than two sizes: write `H` or `HxW`"),
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

    fn layer(text: &str) -> Op<u64> {
        let item = parse(text).unwrap();
        let What::Layer(spec) = item.what else {
            panic!("not a layer: {text}")
        };
        let mut args = Args::new();
        args.insert(LAYER_CHANNELS.to_string(), 32);
        spec.try_map(&mut |e, _| e.eval(&args)).unwrap()
    }

    #[test]
    fn conv_with_all_options() {
        let item = parse("c1: conv 64 k1x7 s2 p0x3 d2 g4 nobias *3").unwrap();
        assert_eq!(item.name.as_deref(), Some("c1"));
        assert_eq!(ev(item.repeat.as_ref().unwrap()), 3);
        assert_eq!(
            layer("c1: conv 64 k1x7 s2 p0x3 d2 g4 nobias *3"),
            Op::Conv {
                out: 64,
                kernel: [1, 7],
                stride: [2, 2],
                padding: [0, 3],
                dilation: [2, 2],
                groups: 4,
                bias: false
            }
        );
        assert!(matches!(
            layer("conv 32 k3 dw"),
            Op::Conv { groups: 32, .. }
        ));
        assert!(matches!(
            layer("maxpool k3"),
            Op::Pool { stride: [3, 3], .. }
        ));
    }

    #[test]
    fn new_kinds_parse_to_their_ops() {
        assert_eq!(
            layer("param 1x197x768 add"),
            Op::Param {
                shape: vec![1, 197, 768],
                uses: ParamUse::Add
            }
        );
        assert_eq!(
            layer("mha 12 nobias"),
            Op::Attention {
                heads: 12,
                window: 0,
                bias: false
            }
        );
        assert_eq!(
            layer("mha 3 w7"),
            Op::Attention {
                heads: 3,
                window: 7,
                bias: true
            }
        );
        assert_eq!(
            layer("permute 0 2 3 1"),
            Op::Permute {
                dims: vec![0, 2, 3, 1]
            }
        );
        assert_eq!(
            layer("mean 2 3"),
            Op::Mean {
                dims: vec![2, 3],
                keepdim: false
            }
        );
        assert_eq!(
            layer("layernorm2d"),
            Op::LayerNorm {
                channels_first: true,
                affine: true,
                bias: true
            }
        );
        assert_eq!(
            layer("conv max(8, 3) k1"),
            layer("conv 8 k1"),
            "a function call with a space is one token"
        );
        assert!(parse("param 3 add mul").is_err());
        assert!(parse("mean").is_err());
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
        assert_eq!(pair("max(1,2)x3"), (2, 3), "nor inside a function name");
    }

    #[test]
    fn block_calls_layer_arguments_and_functional_layers() {
        let item = parse("basic 128 2 *4").unwrap();
        assert!(
            matches!(item.what, What::Call { ref block, ref args, .. } if block == "basic" && args.len() == 2)
        );
        let item = parse("mbconv 16 hardswish 3").unwrap();
        let What::Call { args, .. } = item.what else {
            panic!("not a call")
        };
        assert!(matches!(args[1], CallArg::Layer(_)));
        assert!(matches!(args[2], CallArg::Num(_)));
        assert!(matches!(parse("$act").unwrap().what, What::Arg { ref name } if name == "act"));
        assert!(parse("relu fn").unwrap().functional);
        assert!(parse("basic 1 fn").is_err());
        assert!(parse("basic 1 non.sense")
            .unwrap_err()
            .to_string()
            .contains("unexpected `non.sense`"));
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
