//! One layer string of the model shorthand (`conv 64 k3 s2 p1 nobias`, block calls, ...).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netledger::model::item::parse_item;
use netledger::source::Source;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let src = Source::new("fuzz", text);
    if let Err(e) = parse_item(text, &src.span(0, text.len())) {
        let _ = e.render();
    }
});
