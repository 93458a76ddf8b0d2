//! The README documents what the code does: its layer-keyword table is the
//! parser's own table, so the two cannot drift apart.

use netledger::model::item::KEYWORDS;

#[test]
fn readme_lists_every_layer_keyword_as_the_parser_reads_it() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let after = readme
        .split_once("One string per layer (the shorthand).")
        .expect("the shorthand section")
        .1;
    let block = after
        .split_once("```text\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("its keyword block")
        .0;
    let width = KEYWORDS.iter().map(|k| k.syntax.len()).max().unwrap();
    let want: String = KEYWORDS
        .iter()
        .map(|k| format!("{:width$}  {}\n", k.syntax, k.about))
        .collect();
    assert_eq!(
        block, want,
        "regenerate the README's keyword block from KEYWORDS"
    );
}

#[test]
fn every_keyword_parses_as_its_syntax_line_shows() {
    // The first word of each syntax line is the keyword itself.
    for k in KEYWORDS {
        assert_eq!(k.syntax.split(' ').next(), Some(k.word), "{}", k.word);
    }
}
