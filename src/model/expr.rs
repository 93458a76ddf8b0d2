//! Expressions inside layer strings: `64`, `$c`, `$c*4`, `($a+$b)//2`,
//! `make_divisible($c*0.75, 8)`.
//!
//! They follow Python, so that a value can be copied from a torchvision
//! builder as it is written there: `/` divides exactly, `//` floors, and
//! decimals such as `0.25` are exact. Arithmetic is in exact rationals, so
//! `round($w*0.25)` rounds the true value (half to even, as Python's
//! `round`), and only the whole expression must come out as a whole,
//! non-negative number. Functions: `min`, `max`, `round`, `floor`, `ceil`
//! and `make_divisible(v, d)` (torchvision's `_make_divisible`).
//!
//! Arguments of a block are referred to as `$name` (or `${name}` when a
//! letter follows). Any overflow, a division by zero, a fraction or a
//! negative result is an error pointing at the expression.
//!
//! Input drives the recursion of both the parser and the evaluator, so an
//! expression may nest at most [`MAX_DEPTH`] levels (parentheses, calls and
//! operators alike): a hostile model file gets a located error, never a
//! stack overflow, on any thread.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::source::Span;

/// How deeply an expression may nest: parentheses, and operators in a chain
/// (`1+1+...` nests one level per operator). Far beyond any real layer size.
pub const MAX_DEPTH: usize = 64;

/// Values of the arguments in scope, by name.
pub type Args = BTreeMap<String, u64>;

/// Where an expression finds its arguments' values.
pub trait Scope {
    /// The value of `$name`.
    fn get(&self, name: &str) -> Option<u64>;
    /// The names in scope, for the hint of an unknown one.
    fn names(&self) -> Vec<String>;
}

impl Scope for Args {
    fn get(&self, name: &str) -> Option<u64> {
        BTreeMap::get(self, name).copied()
    }

    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

/// `args`, plus the current layer's input channels that `dw` refers to.
pub struct WithChannels<'a>(pub &'a Args, pub u64);

impl Scope for WithChannels<'_> {
    fn get(&self, name: &str) -> Option<u64> {
        if name == LAYER_CHANNELS {
            Some(self.1)
        } else {
            self.0.get(name).copied()
        }
    }

    fn names(&self) -> Vec<String> {
        self.0.names()
    }
}

/// The argument name bound to the current layer's input channels, which
/// `dw` stands for. It cannot be written in a file (`$` needs a letter).
pub const LAYER_CHANNELS: &str = "";

/// A parsed expression, with the span it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    node: Node,
    span: Span,
    /// Levels of nesting below and including this node (a leaf is 1).
    depth: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Num(Ratio),
    Var(String),
    Bin(Box<Expr>, BinOp, Box<Expr>),
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
}

/// The functions an expression may call, with their arity.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Min,
    Max,
    Round,
    Floor,
    Ceil,
    MakeDivisible,
}

impl Func {
    const ALL: [(&'static str, Func); 6] = [
        ("min", Func::Min),
        ("max", Func::Max),
        ("round", Func::Round),
        ("floor", Func::Floor),
        ("ceil", Func::Ceil),
        ("make_divisible", Func::MakeDivisible),
    ];

    /// How many arguments it takes: `None` for two or more.
    fn arity(self) -> Option<usize> {
        match self {
            Func::Min | Func::Max => None,
            Func::Round | Func::Floor | Func::Ceil => Some(1),
            Func::MakeDivisible => Some(2),
        }
    }

    fn names() -> String {
        Self::ALL
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An exact rational `num / den` with `den > 0`, in lowest terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ratio {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

impl Ratio {
    fn int(v: i128) -> Ratio {
        Ratio { num: v, den: 1 }
    }

    fn new(num: i128, den: i128) -> Option<Ratio> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den).max(1);
        let sign = if den < 0 { -1 } else { 1 };
        Some(Ratio {
            num: num.checked_div(g)?.checked_mul(sign)?,
            den: den.checked_div(g)?.checked_mul(sign)?,
        })
    }

    fn add(self, o: Ratio) -> Option<Ratio> {
        Ratio::new(
            self.num
                .checked_mul(o.den)?
                .checked_add(o.num.checked_mul(self.den)?)?,
            self.den.checked_mul(o.den)?,
        )
    }

    fn neg(self) -> Ratio {
        Ratio {
            num: -self.num,
            den: self.den,
        }
    }

    fn mul(self, o: Ratio) -> Option<Ratio> {
        Ratio::new(self.num.checked_mul(o.num)?, self.den.checked_mul(o.den)?)
    }

    fn div(self, o: Ratio) -> Option<Ratio> {
        Ratio::new(self.num.checked_mul(o.den)?, self.den.checked_mul(o.num)?)
    }

    fn floor(self) -> Ratio {
        Ratio::int(self.num.div_euclid(self.den))
    }

    fn ceil(self) -> Ratio {
        Ratio::int(-(-self.num).div_euclid(self.den))
    }

    /// Python's `round`: to the nearest whole number, halves to even.
    fn round(self) -> Ratio {
        let down = self.num.div_euclid(self.den);
        let twice_rest = 2 * self.num.rem_euclid(self.den);
        let up = match twice_rest.cmp(&self.den) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => down % 2 != 0,
        };
        Ratio::int(down + i128::from(up))
    }

    fn lt(self, o: Ratio) -> bool {
        // Both denominators are positive and at most 2^64-ish in practice;
        // a product that overflows compares through f64, which is enough.
        match (self.num.checked_mul(o.den), o.num.checked_mul(self.den)) {
            (Some(a), Some(b)) => a < b,
            _ => (self.num as f64 / self.den as f64) < (o.num as f64 / o.den as f64),
        }
    }

    fn show(self) -> String {
        if self.den == 1 {
            self.num.to_string()
        } else {
            format!("{:.6}", self.num as f64 / self.den as f64)
                .trim_end_matches('0')
                .to_string()
        }
    }
}

/// torchvision's `_make_divisible(v, divisor)`: the nearest multiple of
/// `divisor`, at least `divisor`, and never below 90% of `v`.
fn make_divisible(v: Ratio, d: Ratio) -> Option<Ratio> {
    let half = d.div(Ratio::int(2))?;
    let steps = v.add(half)?.floor().div(d)?.floor();
    let mut new = steps.mul(d)?;
    if new.lt(d) {
        new = d;
    }
    if new.lt(v.mul(Ratio::new(9, 10)?)?) {
        new = new.add(d)?;
    }
    Some(new)
}

impl Expr {
    /// A literal that needs no parsing (defaults such as stride 1).
    pub fn num(value: u64, span: Span) -> Expr {
        Expr {
            node: Node::Num(Ratio::int(i128::from(value))),
            span,
            depth: 1,
        }
    }

    /// A reference to an argument, e.g. [`LAYER_CHANNELS`] for `dw`.
    pub fn var(name: &str, span: Span) -> Expr {
        Expr {
            node: Node::Var(name.to_string()),
            span,
            depth: 1,
        }
    }

    /// Parses the whole of `text`, which lies at `span`.
    pub fn parse(text: &str, span: &Span) -> Result<Expr> {
        let mut parser = Parser {
            text,
            pos: 0,
            span: span.clone(),
            open: 0,
        };
        let expr = parser.sum()?;
        if parser.pos < text.len() {
            return Err(parser.error_here("unexpected character in expression"));
        }
        Ok(expr)
    }

    /// The value under `args`: a whole, non-negative number that fits 64 bits.
    pub fn eval(&self, args: &impl Scope) -> Result<u64> {
        let v = self.value(args)?;
        if v.den != 1 {
            return Err(Error::syntax_hint(
                self.span.clone(),
                format!("expression is not a whole number ({})", v.show()),
                "use `//`, floor(), ceil() or round()",
            ));
        }
        if v.num < 0 {
            return Err(Error::syntax(
                self.span.clone(),
                format!("expression is negative ({})", v.num),
            ));
        }
        u64::try_from(v.num)
            .map_err(|_| Error::syntax(self.span.clone(), "expression overflows 64 bits"))
    }

    fn value(&self, args: &impl Scope) -> Result<Ratio> {
        let overflow = || Error::syntax(self.span.clone(), "expression overflows");
        match &self.node {
            Node::Num(n) => Ok(*n),
            Node::Var(name) => args
                .get(name)
                .map(|v| Ratio::int(i128::from(v)))
                .ok_or_else(|| {
                    let known: Vec<_> = args
                        .names()
                        .into_iter()
                        .filter(|k| !k.is_empty())
                        .map(|k| format!("${k}"))
                        .collect();
                    Error::syntax_hint(
                        self.span.clone(),
                        format!("unknown argument `${name}`"),
                        if known.is_empty() {
                            "no arguments are in scope here".to_string()
                        } else {
                            format!("arguments in scope: {}", known.join(", "))
                        },
                    )
                }),
            Node::Bin(a, op, b) => {
                let (x, y) = (a.value(args)?, b.value(args)?);
                if matches!(op, BinOp::Div | BinOp::FloorDiv) && y.num == 0 {
                    return Err(Error::syntax(
                        self.span.clone(),
                        format!("expression divides by zero ({}, 0)", x.show()),
                    ));
                }
                match op {
                    BinOp::Add => x.add(y),
                    BinOp::Sub => x.add(y.neg()),
                    BinOp::Mul => x.mul(y),
                    BinOp::Div => x.div(y),
                    BinOp::FloorDiv => x.div(y).map(Ratio::floor),
                }
                .ok_or_else(overflow)
            }
            Node::Call(func, list) => {
                let values = list
                    .iter()
                    .map(|e| e.value(args))
                    .collect::<Result<Vec<_>>>()?;
                let first = values[0];
                match func {
                    Func::Min => Ok(values
                        .into_iter()
                        .fold(first, |m, v| if v.lt(m) { v } else { m })),
                    Func::Max => Ok(values
                        .into_iter()
                        .fold(first, |m, v| if m.lt(v) { v } else { m })),
                    Func::Round => Ok(first.round()),
                    Func::Floor => Ok(first.floor()),
                    Func::Ceil => Ok(first.ceil()),
                    Func::MakeDivisible => {
                        let d = values[1];
                        if d.den != 1 || d.num <= 0 {
                            return Err(Error::syntax(
                                list[1].span.clone(),
                                "make_divisible needs a positive whole divisor",
                            ));
                        }
                        make_divisible(first, d).ok_or_else(overflow)
                    }
                }
            }
        }
    }

    /// The argument name when the expression is `$name` alone.
    pub fn as_var(&self) -> Option<&str> {
        match &self.node {
            Node::Var(name) => Some(name),
            _ => None,
        }
    }

    /// Where the expression was written.
    pub fn span(&self) -> &Span {
        &self.span
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    span: Span,
    /// Parentheses open at `pos`.
    open: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error_here(&self, message: &str) -> Error {
        let at = self.pos.min(self.text.len());
        Error::syntax(self.span.sub(at, at + 1), message)
    }

    fn too_deep(&self, at: usize) -> Error {
        Error::syntax_hint(
            self.span.sub(at, at + 1),
            format!("expression nests deeper than {MAX_DEPTH} levels"),
            "write the value, or a shorter expression, instead",
        )
    }

    fn binary(&self, start: usize, op_at: usize, a: Expr, op: BinOp, b: Expr) -> Result<Expr> {
        let depth = a.depth.max(b.depth) + 1;
        if depth > MAX_DEPTH {
            return Err(self.too_deep(op_at));
        }
        Ok(Expr {
            node: Node::Bin(Box::new(a), op, Box::new(b)),
            span: self.span.sub(start, self.pos),
            depth,
        })
    }

    fn sum(&mut self) -> Result<Expr> {
        let start = self.pos;
        let mut left = self.product()?;
        while let Some(c @ (b'+' | b'-')) = self.peek() {
            let op_at = self.pos;
            self.pos += 1;
            let right = self.product()?;
            let op = if c == b'+' { BinOp::Add } else { BinOp::Sub };
            left = self.binary(start, op_at, left, op, right)?;
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr> {
        let start = self.pos;
        let mut left = self.atom()?;
        while let Some(c @ (b'*' | b'/')) = self.peek() {
            let op_at = self.pos;
            self.pos += 1;
            let op = if c == b'*' {
                BinOp::Mul
            } else if self.peek() == Some(b'/') {
                self.pos += 1;
                BinOp::FloorDiv
            } else {
                BinOp::Div
            };
            let right = self.atom()?;
            left = self.binary(start, op_at, left, op, right)?;
        }
        Ok(left)
    }

    fn number(&mut self) -> Result<Expr> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.pos += 1;
            }
        };
        digits(self);
        let whole_end = self.pos;
        let mut fraction = "";
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let at = self.pos;
            digits(self);
            fraction = &self.text[at..self.pos];
            if fraction.is_empty() {
                return Err(self.error_here("expected digits after `.`"));
            }
        }
        let span = self.span.sub(start, self.pos);
        let text = &self.text[start..self.pos];
        let too_large = || Error::syntax(span.clone(), format!("number `{text}` is too large"));
        let whole: u64 = self.text[start..whole_end]
            .parse()
            .map_err(|_| too_large())?;
        if fraction.len() > 18 {
            return Err(Error::syntax(
                span.clone(),
                format!("number `{text}` has more than 18 decimals"),
            ));
        }
        let den = 10i128.pow(fraction.len() as u32);
        let frac: i128 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| too_large())?
        };
        let value = Ratio::int(i128::from(whole))
            .mul(Ratio::int(den))
            .and_then(|w| Ratio::new(w.num + frac, den))
            .ok_or_else(too_large)?;
        Ok(Expr {
            node: Node::Num(value),
            span,
            depth: 1,
        })
    }

    fn name(&mut self) -> &str {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn open_paren(&mut self, at: usize) -> Result<()> {
        self.open += 1;
        if self.open >= MAX_DEPTH {
            return Err(self.too_deep(at));
        }
        self.pos += 1;
        Ok(())
    }

    fn close_paren(&mut self) -> Result<()> {
        if self.peek() != Some(b')') {
            return Err(self.error_here("expected `)`"));
        }
        self.pos += 1;
        self.open -= 1;
        Ok(())
    }

    fn atom(&mut self) -> Result<Expr> {
        let start = self.pos;
        match self.peek() {
            Some(b'0'..=b'9') => self.number(),
            Some(b'$') => {
                self.pos += 1;
                let braced = self.peek() == Some(b'{');
                if braced {
                    self.pos += 1;
                }
                let name = self.name().to_string();
                if name.is_empty() {
                    return Err(self.error_here("expected an argument name after `$`"));
                }
                if braced {
                    if self.peek() != Some(b'}') {
                        return Err(self.error_here("expected `}`"));
                    }
                    self.pos += 1;
                }
                Ok(Expr {
                    node: Node::Var(name),
                    span: self.span.sub(start, self.pos),
                    depth: 1,
                })
            }
            Some(b'(') => {
                self.open_paren(start)?;
                let mut inner = self.sum()?;
                self.close_paren()?;
                inner.depth += 1;
                if inner.depth > MAX_DEPTH {
                    return Err(self.too_deep(start));
                }
                Ok(inner)
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let word = self.name().to_string();
                let word_span = self.span.sub(start, self.pos);
                let Some((_, func)) = Func::ALL.iter().find(|(n, _)| *n == word) else {
                    return Err(Error::syntax_hint(
                        word_span,
                        format!("unknown function `{word}`"),
                        format!(
                            "functions: {}; arguments are written `$name`",
                            Func::names()
                        ),
                    ));
                };
                if self.peek() != Some(b'(') {
                    return Err(self.error_here("expected `(` after the function name"));
                }
                self.open_paren(self.pos)?;
                let mut list = vec![self.sum()?];
                while self.peek() == Some(b',') {
                    self.pos += 1;
                    while self.peek() == Some(b' ') {
                        self.pos += 1;
                    }
                    list.push(self.sum()?);
                }
                self.close_paren()?;
                let fits = match func.arity() {
                    Some(n) => list.len() == n,
                    None => list.len() >= 2,
                };
                if !fits {
                    return Err(Error::syntax(
                        self.span.sub(start, self.pos),
                        format!(
                            "{word}() takes {} argument(s), got {}",
                            func.arity()
                                .map_or("two or more".to_string(), |n| n.to_string()),
                            list.len()
                        ),
                    ));
                }
                let depth = list.iter().map(|e| e.depth).max().unwrap_or(0) + 1;
                if depth > MAX_DEPTH {
                    return Err(self.too_deep(start));
                }
                Ok(Expr {
                    node: Node::Call(*func, list),
                    span: self.span.sub(start, self.pos),
                    depth,
                })
            }
            _ => Err(self.error_here("expected a number, `$argument`, a function or `(`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    fn eval(text: &str, args: &[(&str, u64)]) -> Result<u64> {
        let src = Source::new("t", text);
        let span = src.span(0, text.len());
        let args: Args = args.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        Expr::parse(text, &span)?.eval(&args)
    }

    #[test]
    fn precedence_and_parentheses() {
        assert_eq!(eval("2+3*4", &[]).unwrap(), 14);
        assert_eq!(eval("(2+3)*4", &[]).unwrap(), 20);
        assert_eq!(eval("$c*4", &[("c", 64)]).unwrap(), 256);
        assert_eq!(eval("${c}/2-1", &[("c", 64)]).unwrap(), 31);
        assert_eq!(eval("10-2-3", &[]).unwrap(), 5);
        assert_eq!(eval("7//2", &[]).unwrap(), 3);
        assert_eq!(eval("$c/4*2", &[("c", 6)]).unwrap(), 3);
        assert_eq!(
            eval("2-3+1", &[]).unwrap(),
            0,
            "only the result must be >= 0"
        );
    }

    #[test]
    fn decimals_and_functions_follow_python() {
        assert_eq!(eval("round($w*0.25)", &[("w", 48)]).unwrap(), 12);
        // Python rounds halves to even: round(2.5) == 2, round(3.5) == 4.
        assert_eq!(eval("round(2.5)", &[]).unwrap(), 2);
        assert_eq!(eval("round(3.5)", &[]).unwrap(), 4);
        assert_eq!(eval("round(0.5)", &[]).unwrap(), 0);
        assert_eq!(eval("floor(7/2)+ceil(7/2)", &[]).unwrap(), 7);
        assert_eq!(eval("max(1, $c//4)", &[("c", 3)]).unwrap(), 1);
        assert_eq!(eval("min(8,3,5)", &[]).unwrap(), 3);
        // torchvision: _make_divisible(v, 8) for MobileNetV3 and EfficientNet.
        for (v, want) in [
            ("16*0.75", 16),
            ("240//4", 64),
            ("72//4", 24),
            ("960//4", 240),
            ("3", 8),
            ("36", 40),
            ("28", 32),
            ("20", 24),
        ] {
            assert_eq!(
                eval(&format!("make_divisible({v}, 8)"), &[]).unwrap(),
                want,
                "{v}"
            );
        }
    }

    #[test]
    fn fractions_and_bad_calls_are_located_errors() {
        let err = eval("$c/3", &[("c", 4)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expression is not a whole number (1.333333)"
        );
        assert!(eval("sqrt(4)", &[])
            .unwrap_err()
            .to_string()
            .contains("unknown function `sqrt`"));
        assert!(eval("round(1,2)", &[])
            .unwrap_err()
            .to_string()
            .contains("takes 1 argument"));
        assert!(eval("max(1)", &[])
            .unwrap_err()
            .to_string()
            .contains("two or more"));
        assert!(eval("make_divisible(9, 0.5)", &[]).is_err());
        assert!(eval("1.", &[]).is_err());
        assert!(eval("max", &[]).is_err());
    }

    #[test]
    fn errors_point_at_the_culprit() {
        let err = eval("$c*$d", &[("c", 1)]).unwrap_err();
        assert!(err.to_string().contains("unknown argument `$d`"), "{err}");
        assert_eq!(err.span().unwrap().line_col(), (1, 4));
        assert!(eval("1-2", &[])
            .unwrap_err()
            .to_string()
            .contains("negative"));
        assert!(eval("1/0", &[]).unwrap_err().to_string().contains("zero"));
        assert!(eval("99999999999*99999999999", &[]).is_err());
        assert!(eval("99999999999999999999999", &[]).is_err());
        assert!(eval("3x", &[]).is_err());
        assert!(eval("", &[]).is_err());
        assert!(eval("(1", &[]).is_err());
    }

    #[test]
    fn nesting_is_bounded_and_located() {
        let at_limit = format!(
            "{}1{}",
            "(".repeat(MAX_DEPTH - 2),
            ")".repeat(MAX_DEPTH - 2)
        );
        assert_eq!(eval(&at_limit, &[]).unwrap(), 1);
        let parens = format!("{}8{}", "(".repeat(10_000), ")".repeat(10_000));
        let err = eval(&parens, &[]).unwrap_err();
        assert_eq!(err.to_string(), "expression nests deeper than 64 levels");
        assert_eq!(err.span().unwrap().line_col(), (1, 64));
        let chain = format!("1{}", "+0".repeat(30_000));
        let err = eval(&chain, &[]).unwrap_err();
        assert_eq!(err.span().unwrap().line_col(), (1, 128));
        assert_eq!(
            eval(&format!("1{}", "+1".repeat(MAX_DEPTH - 1)), &[]).unwrap(),
            64
        );
    }
}
