//! Integer expressions inside layer strings: `64`, `$c`, `$c*4`, `($a+$b)/2`.
//!
//! Arguments of a block are referred to as `$name` (or `${name}` when a
//! letter follows). Evaluation is in checked `u64`: a negative result, a
//! division by zero or an overflow is an error pointing at the expression.
//!
//! Input drives the recursion of both the parser and the evaluator, so an
//! expression may nest at most [`MAX_DEPTH`] levels (parentheses and
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

/// A parsed integer expression, with the span it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    node: Node,
    span: Span,
    /// Levels of nesting below and including this node (a leaf is 1).
    depth: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Num(u64),
    Var(String),
    Bin(Box<Expr>, BinOp, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl Expr {
    /// A literal that needs no parsing (defaults such as stride 1).
    pub fn num(value: u64, span: Span) -> Expr {
        Expr {
            node: Node::Num(value),
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

    /// The value under `args`.
    pub fn eval(&self, args: &Args) -> Result<u64> {
        match &self.node {
            Node::Num(n) => Ok(*n),
            Node::Var(name) => args.get(name).copied().ok_or_else(|| {
                let known: Vec<_> = args.keys().map(|k| format!("${k}")).collect();
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
                let (x, y) = (a.eval(args)?, b.eval(args)?);
                let value = match op {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div => x.checked_div(y),
                };
                value.ok_or_else(|| {
                    let why = match op {
                        BinOp::Sub => "is negative",
                        BinOp::Div => "divides by zero",
                        _ => "overflows 64 bits",
                    };
                    Error::syntax(self.span.clone(), format!("expression {why} ({x}, {y})"))
                })
            }
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
            let right = self.atom()?;
            let op = if c == b'*' { BinOp::Mul } else { BinOp::Div };
            left = self.binary(start, op_at, left, op, right)?;
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr> {
        let start = self.pos;
        match self.peek() {
            Some(b'0'..=b'9') => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.pos += 1;
                }
                let digits = &self.text[start..self.pos];
                let span = self.span.sub(start, self.pos);
                let value = digits.parse::<u64>().map_err(|_| {
                    Error::syntax(span.clone(), format!("number `{digits}` is too large"))
                })?;
                Ok(Expr {
                    node: Node::Num(value),
                    span,
                    depth: 1,
                })
            }
            Some(b'$') => {
                self.pos += 1;
                let braced = self.peek() == Some(b'{');
                if braced {
                    self.pos += 1;
                }
                let name_start = self.pos;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
                    self.pos += 1;
                }
                if self.pos == name_start {
                    return Err(self.error_here("expected an argument name after `$`"));
                }
                let name = self.text[name_start..self.pos].to_string();
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
                self.open += 1;
                if self.open >= MAX_DEPTH {
                    return Err(self.too_deep(start));
                }
                self.pos += 1;
                let mut inner = self.sum()?;
                if self.peek() != Some(b')') {
                    return Err(self.error_here("expected `)`"));
                }
                self.pos += 1;
                self.open -= 1;
                inner.depth += 1;
                if inner.depth > MAX_DEPTH {
                    return Err(self.too_deep(start));
                }
                Ok(inner)
            }
            _ => Err(self.error_here("expected a number, `$argument` or `(`")),
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
        let args = args.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        Expr::parse(text, &span)?.eval(&args)
    }

    #[test]
    fn precedence_and_parentheses() {
        assert_eq!(eval("2+3*4", &[]).unwrap(), 14);
        assert_eq!(eval("(2+3)*4", &[]).unwrap(), 20);
        assert_eq!(eval("$c*4", &[("c", 64)]).unwrap(), 256);
        assert_eq!(eval("${c}/2-1", &[("c", 64)]).unwrap(), 31);
        assert_eq!(eval("10-2-3", &[]).unwrap(), 5);
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
