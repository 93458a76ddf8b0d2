//! Integer expressions of layer strings: parse and evaluate any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netledger::model::expr::{Args, Expr};
use netledger::source::Source;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let src = Source::new("fuzz", text);
    let span = src.span(0, text.len());
    let args: Args = [
        ("c".to_string(), 64),
        ("s".to_string(), 2),
        ("in_c".to_string(), 3),
    ]
    .into_iter()
    .collect();
    match Expr::parse(text, &span) {
        Ok(expr) => {
            if let Err(e) = expr.eval(&args) {
                let _ = e.render();
            }
        }
        Err(e) => {
            let _ = e.render();
        }
    }
});
