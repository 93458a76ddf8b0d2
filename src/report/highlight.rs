//! Code highlighting at build time, for the languages a course about models
//! shows: TOML, Rust, Python and shell. No script runs in the reader's
//! browser; a block comes out as escaped text in `<span class="tok-X">`s,
//! coloured by the stylesheet in both themes.
//!
//! One scanner serves every language: a `Lang` row says what its comments,
//! strings, keywords and literals look like, and the few shapes that belong
//! to one language (TOML's table headers and keys, Rust's lifetimes and
//! macros, the shell's variables) are flags of that row. Anything the
//! scanner does not recognise is plain text, so no input can fail.

use crate::escape::escape;

/// What a token is; its CSS class is `tok-` and the letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// Comment.
    Comment,
    /// String or character literal.
    Str,
    /// Number.
    Num,
    /// Keyword.
    Keyword,
    /// `true`, `None`, `self`: literal words.
    Literal,
    /// A TOML table header, a Rust macro, a Python decorator.
    Name,
    /// A TOML key, a shell variable.
    Key,
}

impl Token {
    fn class(self) -> &'static str {
        match self {
            Token::Comment => "tok-c",
            Token::Str => "tok-s",
            Token::Num => "tok-n",
            Token::Keyword => "tok-k",
            Token::Literal => "tok-l",
            Token::Name => "tok-f",
            Token::Key => "tok-v",
        }
    }
}

/// One language's lexical shapes.
struct Lang {
    /// Fence names that select it (`toml`, `py`, ...).
    names: &'static [&'static str],
    /// Prefixes that comment out the rest of the line.
    line_comments: &'static [&'static str],
    /// `/* ... */`, where the language has it.
    block_comment: Option<(&'static str, &'static str)>,
    /// Characters that open (and close) a string.
    quotes: &'static [char],
    /// Whether `"""` and `'''` open strings that span lines.
    triple_quotes: bool,
    /// Whether `\` escapes the next character inside a string (not in a
    /// TOML literal string, nor in the shell's single quotes).
    escapes_in: &'static [char],
    keywords: &'static [&'static str],
    literals: &'static [&'static str],
    /// TOML: `[table]` headers and `key =` at the start of a line.
    toml_lines: bool,
    /// Rust: `'a` lifetimes, `name!` macros and `r#"..."#` raw strings.
    rust_shapes: bool,
    /// Python: `@decorator`, and string prefixes such as `f"` and `rb'`.
    python_shapes: bool,
    /// Shell: `$NAME`, `${...}` and `$1`.
    shell_variables: bool,
}

const LANGS: &[Lang] = &[
    Lang {
        names: &["toml"],
        line_comments: &["#"],
        block_comment: None,
        quotes: &['"', '\''],
        triple_quotes: true,
        escapes_in: &['"'],
        keywords: &[],
        literals: &["true", "false", "inf", "nan"],
        toml_lines: true,
        rust_shapes: false,
        python_shapes: false,
        shell_variables: false,
    },
    Lang {
        names: &["rust", "rs"],
        line_comments: &["//"],
        block_comment: Some(("/*", "*/")),
        quotes: &['"'],
        triple_quotes: false,
        escapes_in: &['"', '\''],
        keywords: &[
            "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
            "extern", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
            "mut", "pub", "ref", "return", "static", "struct", "super", "trait", "type", "unsafe",
            "use", "where", "while",
        ],
        literals: &["true", "false", "self", "Self", "None", "Some", "Ok", "Err"],
        toml_lines: false,
        rust_shapes: true,
        python_shapes: false,
        shell_variables: false,
    },
    Lang {
        names: &["python", "py"],
        line_comments: &["#"],
        block_comment: None,
        quotes: &['"', '\''],
        triple_quotes: true,
        escapes_in: &['"', '\''],
        keywords: &[
            "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
            "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in",
            "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
            "with", "yield",
        ],
        literals: &["True", "False", "None", "self"],
        toml_lines: false,
        rust_shapes: false,
        python_shapes: true,
        shell_variables: false,
    },
    Lang {
        names: &["sh", "bash", "shell", "console", "zsh"],
        line_comments: &["#"],
        block_comment: None,
        quotes: &['"', '\''],
        triple_quotes: false,
        escapes_in: &['"'],
        keywords: &[
            "if", "then", "else", "elif", "fi", "for", "in", "do", "done", "while", "until",
            "case", "esac", "function", "return", "export", "local", "set", "cd",
        ],
        literals: &[],
        toml_lines: false,
        rust_shapes: false,
        python_shapes: false,
        shell_variables: true,
    },
];

/// The fence names that get colours, for the README and error hints.
pub fn languages() -> impl Iterator<Item = &'static str> {
    LANGS.iter().flat_map(|l| l.names.iter().copied())
}

/// `code` as escaped HTML with its tokens in spans, or `None` for a language
/// this module does not know (the caller escapes it plainly).
pub fn highlight(lang: &str, code: &str) -> Option<String> {
    let lang = LANGS.iter().find(|l| l.names.contains(&lang))?;
    let mut out = Out::default();
    Scanner {
        lang,
        src: code,
        at: 0,
    }
    .run(&mut out);
    Some(out.html)
}

#[derive(Default)]
struct Out {
    html: String,
}

impl Out {
    fn plain(&mut self, text: &str) {
        self.html.push_str(&escape(text));
    }

    /// A token; a multi-line one is closed and reopened at each line break,
    /// so that every line of the block stands alone.
    fn token(&mut self, token: Token, text: &str) {
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                self.html.push('\n');
            }
            if !line.is_empty() {
                self.html.push_str("<span class=\"");
                self.html.push_str(token.class());
                self.html.push_str("\">");
                self.html.push_str(&escape(line));
                self.html.push_str("</span>");
            }
        }
    }
}

struct Scanner<'a> {
    lang: &'static Lang,
    src: &'a str,
    at: usize,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Scanner<'_> {
    fn rest(&self) -> &str {
        &self.src[self.at..]
    }

    fn at_line_start(&self) -> bool {
        self.src[..self.at]
            .rsplit('\n')
            .next()
            .is_some_and(|before| before.trim().is_empty())
    }

    /// The byte length of the text from here to the end of the line.
    fn to_line_end(&self) -> usize {
        self.rest().find('\n').unwrap_or(self.rest().len())
    }

    /// The end (exclusive) of a string opened at `start` by `open`, closed by
    /// `close`; a string with no end runs to the end of its line (or, for a
    /// triple quote, of the block).
    fn string_end(&self, start: usize, open: usize, close: &str, escapes: bool) -> usize {
        let body = &self.src[start + open..];
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if escapes && c == '\\' {
                chars.next();
            } else if body[i..].starts_with(close) {
                return start + open + i + close.len();
            } else if c == '\n' && close.len() == 1 {
                return start + open + i;
            }
        }
        self.src.len()
    }

    fn emit(&mut self, out: &mut Out, token: Token, len: usize) {
        let end = self.at + len;
        out.token(token, &self.src[self.at..end]);
        self.at = end;
    }

    fn run(&mut self, out: &mut Out) {
        let lang = self.lang;
        while let Some(c) = self.rest().chars().next() {
            let rest = self.rest();
            let line_start = self.at_line_start();
            if lang.toml_lines && line_start && c == '[' {
                let len = self.to_line_end();
                let header = rest[..len]
                    .find(']')
                    .map_or(len, |i| i + 1 + usize::from(rest[i + 1..].starts_with(']')));
                self.emit(out, Token::Name, header);
            } else if lang.toml_lines && line_start && (is_word(c) || c == '"') && {
                let line = &rest[..self.to_line_end()];
                line.find('=')
                    .is_some_and(|eq| !line[..eq].contains(['#', '[']))
            } {
                let eq = rest.find('=').unwrap_or(0);
                let key = rest[..eq].trim_end().len();
                self.emit(out, Token::Key, key);
            } else if lang.line_comments.iter().any(|p| rest.starts_with(p))
                && (!lang.shell_variables
                    || self.src[..self.at]
                        .chars()
                        .next_back()
                        .is_none_or(char::is_whitespace))
            {
                let len = self.to_line_end();
                self.emit(out, Token::Comment, len);
            } else if let Some((open, close)) = lang
                .block_comment
                .filter(|(open, _)| rest.starts_with(open))
            {
                let len = rest[open.len()..]
                    .find(close)
                    .map_or(rest.len(), |i| open.len() + i + close.len());
                self.emit(out, Token::Comment, len);
            } else if let Some(len) = self.string_here() {
                self.emit(out, Token::Str, len);
            } else if lang.shell_variables && c == '$' {
                let after = &rest[1..];
                let len = if after.starts_with('{') {
                    after.find('}').map_or(1, |i| i + 2)
                } else {
                    1 + after
                        .char_indices()
                        .find(|&(_, c)| !is_word(c))
                        .map_or(after.len(), |(i, _)| i)
                };
                if len > 1 {
                    self.emit(out, Token::Key, len);
                } else {
                    self.plain_char(out);
                }
            } else if lang.python_shapes && c == '@' && line_start {
                let len = 1 + rest[1..]
                    .char_indices()
                    .find(|&(_, c)| !(is_word(c) || c == '.'))
                    .map_or(rest.len() - 1, |(i, _)| i);
                self.emit(out, Token::Name, len);
            } else if lang.rust_shapes && c == '\'' {
                let len = self.rust_quote();
                let token = if rest[..len].ends_with('\'') && len > 2 {
                    Token::Str
                } else {
                    Token::Literal
                };
                self.emit(out, token, len);
            } else if c.is_ascii_digit() && self.word_boundary_before() {
                let len = self.number_len();
                self.emit(out, Token::Num, len);
            } else if is_word(c) && self.word_boundary_before() {
                let len = rest
                    .char_indices()
                    .find(|&(_, c)| !(is_word(c) || lang.shell_variables && c == '-'))
                    .map_or(rest.len(), |(i, _)| i);
                let word = &rest[..len];
                let token = if lang.keywords.contains(&word) {
                    Some(Token::Keyword)
                } else if lang.literals.contains(&word) {
                    Some(Token::Literal)
                } else if lang.rust_shapes && rest[len..].starts_with('!') {
                    Some(Token::Name)
                } else {
                    None
                };
                match token {
                    Some(Token::Name) => self.emit(out, Token::Name, len + 1),
                    Some(token) => self.emit(out, token, len),
                    None => {
                        out.plain(word);
                        self.at += len;
                    }
                }
            } else {
                self.plain_char(out);
            }
        }
    }

    fn plain_char(&mut self, out: &mut Out) {
        let len = self.rest().chars().next().map_or(1, char::len_utf8);
        out.plain(&self.src[self.at..self.at + len]);
        self.at += len;
    }

    fn word_boundary_before(&self) -> bool {
        !self.src[..self.at]
            .chars()
            .next_back()
            .is_some_and(|c| is_word(c) || c == '.' && self.lang.shell_variables)
    }

    /// The length of a number: digits, `_`, a fraction, an exponent, a hex
    /// prefix, a type suffix (`1u64`, `2.5f32`).
    fn number_len(&self) -> usize {
        let rest = self.rest();
        let mut len = 0;
        let mut prev = '\0';
        for (i, c) in rest.char_indices() {
            let sign_in_exponent = (c == '+' || c == '-') && matches!(prev, 'e' | 'E');
            let fraction = c == '.' && rest[i + 1..].starts_with(|d: char| d.is_ascii_digit());
            if !(is_word(c) || fraction || sign_in_exponent && !rest.starts_with("0x")) {
                break;
            }
            len = i + c.len_utf8();
            prev = c;
        }
        len
    }

    /// A string literal starting here, with its length, if one does.
    fn string_here(&self) -> Option<usize> {
        let lang = self.lang;
        let rest = self.rest();
        // Python's prefixes and Rust's raw strings come before the quote.
        let mut prefix = 0;
        if lang.python_shapes && self.word_boundary_before() {
            prefix = rest
                .char_indices()
                .take_while(|&(i, c)| i < 3 && "rRbBfFuU".contains(c))
                .count();
            if !rest[prefix..].starts_with(['"', '\'']) {
                prefix = 0;
            }
        }
        if lang.rust_shapes && self.word_boundary_before() {
            let b = usize::from(rest.starts_with('b'));
            if rest[b..].starts_with('r') {
                let hashes = rest[b + 1..].chars().take_while(|&c| c == '#').count();
                let open = b + 1 + hashes;
                if rest[open..].starts_with('"') {
                    let close = format!("\"{}", "#".repeat(hashes));
                    let end = rest[open + 1..]
                        .find(&close)
                        .map_or(rest.len(), |i| open + 1 + i + close.len());
                    return Some(end);
                }
            } else if b == 1 && rest[1..].starts_with('"') {
                prefix = 1;
            }
        }
        let quote = rest[prefix..].chars().next()?;
        if !lang.quotes.contains(&quote) {
            return None;
        }
        let start = self.at;
        let escapes = lang.escapes_in.contains(&quote)
            && !(lang.python_shapes && rest[..prefix].contains(['r', 'R']));
        let triple: String = [quote; 3].iter().collect();
        if lang.triple_quotes && rest[prefix..].starts_with(&triple) {
            let end = self.string_end(start, prefix + 3, &triple, escapes);
            return Some(end - start);
        }
        let close = quote.to_string();
        let multiline = lang.shell_variables || lang.rust_shapes;
        let end = if multiline {
            let body = &self.src[start + prefix + 1..];
            let mut chars = body.char_indices();
            let mut end = self.src.len();
            while let Some((i, c)) = chars.next() {
                if escapes && c == '\\' {
                    chars.next();
                } else if c == quote {
                    end = start + prefix + 1 + i + 1;
                    break;
                }
            }
            end
        } else {
            self.string_end(start, prefix + 1, &close, escapes)
        };
        Some(end - start)
    }

    /// Rust's `'`: a character literal (`'a'`, `'\n'`, `'\u{1F600}'`) or a
    /// lifetime (`'a`); the length of either.
    fn rust_quote(&self) -> usize {
        let rest = self.rest();
        let body = &rest[1..];
        if let Some(esc) = body.strip_prefix('\\') {
            let close = esc.find('\'').map_or(body.len(), |i| i + 1);
            return 1 + close + 1.min(rest.len() - 1 - close);
        }
        let mut chars = body.char_indices();
        match (chars.next(), chars.next()) {
            (Some((_, c)), Some((i, '\''))) if c != '\'' => 1 + i + 1,
            _ => {
                1 + body
                    .char_indices()
                    .find(|&(_, c)| !is_word(c))
                    .map_or(body.len(), |(i, _)| i)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_headers_keys_strings_numbers_and_comments() {
        let html = highlight(
            "toml",
            "[input]\nshape = [3, 224, 224]  # CxHxW\n[[section]]\nname = \"stem\"\nlayers = ['conv 64 k7 s2', \"relu\"]\nbias = false\n",
        )
        .unwrap();
        assert_eq!(
            html,
            "<span class=\"tok-f\">[input]</span>\n\
             <span class=\"tok-v\">shape</span> = [<span class=\"tok-n\">3</span>, <span class=\"tok-n\">224</span>, <span class=\"tok-n\">224</span>]  <span class=\"tok-c\"># CxHxW</span>\n\
             <span class=\"tok-f\">[[section]]</span>\n\
             <span class=\"tok-v\">name</span> = <span class=\"tok-s\">&quot;stem&quot;</span>\n\
             <span class=\"tok-v\">layers</span> = [<span class=\"tok-s\">&#39;conv 64 k7 s2&#39;</span>, <span class=\"tok-s\">&quot;relu&quot;</span>]\n\
             <span class=\"tok-v\">bias</span> = <span class=\"tok-l\">false</span>\n"
        );
    }

    #[test]
    fn rust_keywords_macros_lifetimes_chars_and_raw_strings() {
        let html = highlight(
            "rust",
            "fn f<'a>(x: &'a str) -> u64 { let c = '\\n'; println!(r#\"{\"}\"#); 1_000u64 } // done",
        )
        .unwrap();
        assert_eq!(
            html,
            "<span class=\"tok-k\">fn</span> f&lt;<span class=\"tok-l\">&#39;a</span>&gt;(x: &amp;<span class=\"tok-l\">&#39;a</span> str) -&gt; u64 { \
             <span class=\"tok-k\">let</span> c = <span class=\"tok-s\">&#39;\\n&#39;</span>; \
             <span class=\"tok-f\">println!</span>(<span class=\"tok-s\">r#&quot;{&quot;}&quot;#</span>); \
             <span class=\"tok-n\">1_000u64</span> } <span class=\"tok-c\">// done</span>"
        );
    }

    #[test]
    fn python_prefixes_triple_quotes_and_decorators() {
        let html = highlight(
            "py",
            "@torch.no_grad()\ndef f(m):\n    \"\"\"Two\nlines\"\"\"\n    return f\"{m}\" if m is not None else 1e-3\n",
        )
        .unwrap();
        assert_eq!(
            html,
            "<span class=\"tok-f\">@torch.no_grad</span>()\n\
             <span class=\"tok-k\">def</span> f(m):\n    \
             <span class=\"tok-s\">&quot;&quot;&quot;Two</span>\n<span class=\"tok-s\">lines&quot;&quot;&quot;</span>\n    \
             <span class=\"tok-k\">return</span> <span class=\"tok-s\">f&quot;{m}&quot;</span> \
             <span class=\"tok-k\">if</span> m <span class=\"tok-k\">is</span> <span class=\"tok-k\">not</span> \
             <span class=\"tok-l\">None</span> <span class=\"tok-k\">else</span> <span class=\"tok-n\">1e-3</span>\n"
        );
    }

    #[test]
    fn shell_variables_comments_only_after_space_and_dashed_words() {
        let html = highlight(
            "sh",
            "cd \"$HOME\" && cargo run --release -- build ${OUT} # go\necho a#b $1\n",
        )
        .unwrap();
        assert_eq!(
            html,
            "<span class=\"tok-k\">cd</span> <span class=\"tok-s\">&quot;$HOME&quot;</span> &amp;&amp; cargo run --release -- build \
             <span class=\"tok-v\">${OUT}</span> <span class=\"tok-c\"># go</span>\n\
             echo a#b <span class=\"tok-v\">$1</span>\n"
        );
    }

    #[test]
    fn unknown_languages_are_left_to_the_caller_and_nothing_panics() {
        assert_eq!(highlight("text", "x"), None);
        for lang in languages() {
            for code in [
                "\"",
                "'",
                "r#\"",
                "'\\",
                "\"\"\"",
                "$",
                "${",
                "[",
                "#",
                "/*",
                "1e",
                "0x",
                "@",
                "é'é",
                "b'",
                "'\\u{1F600}'",
                "a = ",
                "\n\n",
            ] {
                let html = highlight(lang, code).unwrap();
                assert!(
                    !html.contains('<') || html.contains("<span"),
                    "{lang} {code:?}: {html}"
                );
            }
        }
    }

    /// The text with its tags removed and its entities decoded.
    fn text_of(html: &str) -> String {
        let mut text = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                _ if !in_tag => text.push(c),
                _ => {}
            }
        }
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    proptest::proptest! {
        #[test]
        fn highlighting_keeps_every_character(code in "[ -~\\n\\t\u{e9}\u{1F600}]{0,80}") {
            for lang in languages() {
                let html = highlight(lang, &code).unwrap();
                proptest::prop_assert_eq!(text_of(&html), code.clone(), "{}", lang);
            }
        }
    }
}
