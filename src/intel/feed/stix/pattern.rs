//! The STIX 2.1 patterning language, parsed into a tree (feed-formats.md §8.5). Parsing is
//! total: a pattern the grammar rejects is an error; a valid pattern is always returned whole,
//! and [`super::extract`] decides what a network sensor can match.

/// A literal on the right of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Other,
}

/// One comparison expression inside `[...]`.
#[derive(Clone, Debug, PartialEq)]
pub enum Comparison {
    Test {
        path: String,
        negated: bool,
        op: String,
        value: Vec<Literal>,
    },
    Exists(String),
    And(Vec<Comparison>),
    Or(Vec<Comparison>),
}

/// A whole pattern: observations joined by `OR`, `AND`, `FOLLOWEDBY`, maybe qualified.
#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    Observation(Comparison),
    Or(Vec<Pattern>),
    /// `AND` or `FOLLOWEDBY` between observations: correlation over time.
    Correlated,
    /// An observation expression with `WITHIN`, `REPEATS` or `START ... STOP`.
    Qualified,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Open,
    Close,
    LParen,
    RParen,
    Comma,
    Op(String),
    Word(String),
    Path(String),
    Lit(Literal),
}

const OPS: [&str; 8] = ["==", "!=", "<>", "<=", ">=", "=", "<", ">"];

fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == '\'' {
                in_str = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('\'', _) => {
                in_str = true;
                out.push(c);
            }
            ('/', Some('/')) => while chars.next_if(|&c| c != '\n').is_some() {},
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

fn quoted(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let mut s = String::new();
    loop {
        match chars.next() {
            Some('\\') => match chars.next() {
                Some(c @ ('\'' | '\\')) => s.push(c),
                _ => return Err("bad escape in a string".into()),
            },
            Some('\'') => return Ok(s),
            Some(c) => s.push(c),
            None => return Err("unterminated string".into()),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let text = strip_comments(text);
    let mut chars = text.chars().peekable();
    let mut toks = Vec::new();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '[' => {
                chars.next();
                toks.push(Tok::Open);
            }
            ']' => {
                chars.next();
                toks.push(Tok::Close);
            }
            '(' => {
                chars.next();
                toks.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                toks.push(Tok::RParen);
            }
            ',' => {
                chars.next();
                toks.push(Tok::Comma);
            }
            '\'' => {
                chars.next();
                toks.push(Tok::Lit(Literal::Str(quoted(&mut chars)?)));
            }
            '=' | '!' | '<' | '>' => {
                let mut op = String::new();
                op.push(c);
                chars.next();
                if let Some(&n) = chars.peek()
                    && OPS.contains(&format!("{op}{n}").as_str())
                {
                    op.push(n);
                    chars.next();
                }
                if !OPS.contains(&op.as_str()) {
                    return Err(format!("unknown operator `{op}`"));
                }
                toks.push(Tok::Op(op));
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' => {
                let mut n = String::new();
                while let Some(c) =
                    chars.next_if(|c| c.is_ascii_alphanumeric() || "+-.".contains(*c))
                {
                    n.push(c);
                }
                toks.push(Tok::Lit(match n.parse::<i64>() {
                    Ok(i) => Literal::Int(i),
                    Err(_) if n.parse::<f64>().is_ok() => Literal::Other,
                    Err(_) => return Err(format!("bad number `{n}`")),
                }));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut w = String::new();
                while let Some(c) =
                    chars.next_if(|c| c.is_ascii_alphanumeric() || "_-".contains(*c))
                {
                    w.push(c);
                }
                if chars.peek() == Some(&'\'') && matches!(w.as_str(), "h" | "b" | "t") {
                    chars.next();
                    quoted(&mut chars)?;
                    toks.push(Tok::Lit(Literal::Other));
                } else if chars.peek() == Some(&':') {
                    chars.next();
                    toks.push(Tok::Path(path(w, &mut chars)?));
                } else if w == "true" || w == "false" {
                    toks.push(Tok::Lit(Literal::Other));
                } else {
                    toks.push(Tok::Word(w));
                }
            }
            c => return Err(format!("unexpected character `{c}`")),
        }
    }
    Ok(toks)
}

/// The rest of an object path after `type:`: properties, `.'quoted'` steps and `[index]`.
fn path(
    object: String,
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<String, String> {
    let mut p = object + ":";
    let mut want_step = true;
    loop {
        match chars.peek() {
            Some('\'') if want_step => {
                chars.next();
                p.push('\'');
                p.push_str(&quoted(chars)?);
                p.push('\'');
                want_step = false;
            }
            Some(&c) if want_step && (c.is_ascii_alphanumeric() || c == '_' || c == '-') => {
                while let Some(c) =
                    chars.next_if(|c| c.is_ascii_alphanumeric() || "_-".contains(*c))
                {
                    p.push(c);
                }
                want_step = false;
            }
            Some('.') if !want_step => {
                chars.next();
                p.push('.');
                want_step = true;
            }
            Some('[') if !want_step => {
                chars.next();
                p.push('[');
                while let Some(c) = chars.next_if(|c| c.is_ascii_digit() || *c == '*') {
                    p.push(c);
                }
                if chars.next() != Some(']') {
                    return Err(format!("bad index in `{p}`"));
                }
                p.push(']');
            }
            _ if want_step => return Err(format!("incomplete object path `{p}`")),
            _ => return Ok(p),
        }
    }
}

/// Deepest nesting of parentheses and brackets accepted: deep enough for any real pattern,
/// shallow enough that hostile input cannot exhaust the stack of the recursive parser.
const MAX_DEPTH: usize = 64;

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            other => Err(format!("expected {t:?}, found {other:?}")),
        }
    }

    /// pattern := obs-or ( FOLLOWEDBY obs-or )*
    fn pattern(&mut self) -> Result<Pattern, String> {
        let mut parts = vec![self.obs_or()?];
        while self.word("FOLLOWEDBY") {
            self.next();
            parts.push(self.obs_or()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Pattern::Correlated
        })
    }

    fn obs_or(&mut self) -> Result<Pattern, String> {
        let mut parts = vec![self.obs_and()?];
        while self.word("OR") {
            self.next();
            parts.push(self.obs_and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Pattern::Or(parts)
        })
    }

    fn obs_and(&mut self) -> Result<Pattern, String> {
        let mut parts = vec![self.observation()?];
        while self.word("AND") {
            self.next();
            parts.push(self.observation()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Pattern::Correlated
        })
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn observation(&mut self) -> Result<Pattern, String> {
        self.enter()?;
        let p = self.observation_inner();
        self.depth -= 1;
        p
    }

    fn observation_inner(&mut self) -> Result<Pattern, String> {
        let p = match self.next() {
            Some(Tok::Open) => {
                let c = self.comparison()?;
                self.expect(Tok::Close)?;
                Pattern::Observation(c)
            }
            Some(Tok::LParen) => {
                let p = self.pattern()?;
                self.expect(Tok::RParen)?;
                p
            }
            other => return Err(format!("expected `[` or `(`, found {other:?}")),
        };
        let mut qualified = false;
        loop {
            if self.word("WITHIN") {
                self.next();
                self.number()?;
                self.keyword("SECONDS")?;
            } else if self.word("REPEATS") {
                self.next();
                self.number()?;
                self.keyword("TIMES")?;
            } else if self.word("START") {
                self.next();
                self.literal()?;
                self.keyword("STOP")?;
                self.literal()?;
            } else {
                break;
            }
            qualified = true;
        }
        Ok(if qualified { Pattern::Qualified } else { p })
    }

    fn keyword(&mut self, w: &str) -> Result<(), String> {
        if self.word(w) {
            self.next();
            Ok(())
        } else {
            Err(format!("expected `{w}`"))
        }
    }

    fn number(&mut self) -> Result<(), String> {
        match self.next() {
            Some(Tok::Lit(Literal::Int(_) | Literal::Other)) => Ok(()),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }

    fn comparison(&mut self) -> Result<Comparison, String> {
        let mut parts = vec![self.comp_and()?];
        while self.word("OR") {
            self.next();
            parts.push(self.comp_and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Comparison::Or(parts)
        })
    }

    fn comp_and(&mut self) -> Result<Comparison, String> {
        let mut parts = vec![self.test()?];
        while self.word("AND") {
            self.next();
            parts.push(self.test()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Comparison::And(parts)
        })
    }

    fn test(&mut self) -> Result<Comparison, String> {
        self.enter()?;
        let t = self.test_inner();
        self.depth -= 1;
        t
    }

    fn test_inner(&mut self) -> Result<Comparison, String> {
        match self.next() {
            Some(Tok::LParen) => {
                let c = self.comparison()?;
                self.expect(Tok::RParen)?;
                Ok(c)
            }
            Some(Tok::Word(w)) if w == "EXISTS" => match self.next() {
                Some(Tok::Path(p)) => Ok(Comparison::Exists(p)),
                other => Err(format!("EXISTS needs an object path, found {other:?}")),
            },
            Some(Tok::Path(path)) => {
                let negated = self.word("NOT");
                if negated {
                    self.next();
                }
                let op = match self.next() {
                    Some(Tok::Op(op)) => op,
                    Some(Tok::Word(w))
                        if ["IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"]
                            .contains(&w.as_str()) =>
                    {
                        w
                    }
                    other => return Err(format!("expected an operator, found {other:?}")),
                };
                let value = if op == "IN" {
                    self.expect(Tok::LParen)?;
                    let mut v = vec![self.literal()?];
                    while self.peek() == Some(&Tok::Comma) {
                        self.next();
                        v.push(self.literal()?);
                    }
                    self.expect(Tok::RParen)?;
                    v
                } else {
                    vec![self.literal()?]
                };
                Ok(Comparison::Test {
                    path,
                    negated,
                    op,
                    value,
                })
            }
            other => Err(format!("expected a comparison, found {other:?}")),
        }
    }

    fn literal(&mut self) -> Result<Literal, String> {
        match self.next() {
            Some(Tok::Lit(l)) => Ok(l),
            other => Err(format!("expected a literal, found {other:?}")),
        }
    }
}

/// Parses a STIX pattern; `Err` carries a short reason for the operator.
pub fn parse(text: &str) -> Result<Pattern, String> {
    let mut p = Parser {
        toks: lex(text)?,
        at: 0,
        depth: 0,
    };
    let pat = p.pattern()?;
    match p.peek() {
        None => Ok(pat),
        Some(t) => Err(format!("unexpected {t:?} after the pattern")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(path: &str, op: &str, v: &str) -> Comparison {
        Comparison::Test {
            path: path.into(),
            negated: false,
            op: op.into(),
            value: vec![Literal::Str(v.into())],
        }
    }

    #[test]
    fn parses_the_validated_examples() {
        assert_eq!(
            parse("[ipv4-addr:value = '203.0.113.10']"),
            Ok(Pattern::Observation(test(
                "ipv4-addr:value",
                "=",
                "203.0.113.10"
            )))
        );
        assert_eq!(
            parse("[x509-certificate:hashes.'SHA-1' = 'ab']"),
            Ok(Pattern::Observation(test(
                "x509-certificate:hashes.'SHA-1'",
                "=",
                "ab"
            )))
        );
        let p = parse("[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.10' AND network-traffic:dst_port = 8443]").unwrap();
        let Pattern::Observation(Comparison::And(parts)) = p else {
            panic!("{p:?}")
        };
        assert_eq!(parts.len(), 3);
        assert!(matches!(
            &parts[2],
            Comparison::Test { value, .. } if value == &[Literal::Int(8443)]
        ));
        assert!(matches!(
            parse("[domain-name:value = 'c2.example'] OR [url:value = 'http://x/']"),
            Ok(Pattern::Or(v)) if v.len() == 2
        ));
        assert!(matches!(
            parse("[domain-name:value IN ('a.c2.example', 'b.c2.example')]"),
            Ok(Pattern::Observation(Comparison::Test { value, .. })) if value.len() == 2
        ));
        assert_eq!(
            parse(
                "[ipv4-addr:value = '203.0.113.10'] FOLLOWEDBY [domain-name:value = 'c2.example'] WITHIN 300 SECONDS"
            ),
            Ok(Pattern::Correlated)
        );
        assert_eq!(
            parse("[ipv4-addr:value = '1.2.3.4'] REPEATS 5 TIMES"),
            Ok(Pattern::Qualified)
        );
        assert!(matches!(
            parse("[ipv4-addr:value != '203.0.113.10']"),
            Ok(Pattern::Observation(Comparison::Test { op, .. })) if op == "!="
        ));
        assert!(parse("[network-traffic:protocols[*] = 'tcp' /* c */]").is_ok());
        assert_eq!(
            parse(r"[url:value = 'http://x/it\'s']"),
            Ok(Pattern::Observation(test(
                "url:value",
                "=",
                "http://x/it's"
            )))
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!(
            "{}[ipv4-addr:value = '1.2.3.4']{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert!(parse(&deep).unwrap_err().contains("nested deeper"));
        let deep = format!(
            "[{}ipv4-addr:value = '1.2.3.4'{}]",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert!(parse(&deep).is_err());
        let ok = format!(
            "{}[ipv4-addr:value = '1.2.3.4']{}",
            "(".repeat(20),
            ")".repeat(20)
        );
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn rejects_malformed_patterns() {
        for bad in [
            "",
            "[",
            "[ipv4-addr:value = '1.2.3.4'",
            "[ipv4-addr:value and '1.2.3.4']",
            "[ipv4-addr:value = '1.2.3.4'] and [url:value = 'x']",
            "ipv4-addr:value = '1.2.3.4'",
            "[ipv4-addr: = '1']",
            "[ipv4-addr:value = 'unterminated]",
            "[ipv4-addr:value IN ('a' 'b')]",
            "[ipv4-addr:value = '1.2.3.4'] WITHIN SECONDS",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
