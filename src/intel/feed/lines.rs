//! Line-oriented reading of feed files: BOM, CRLF, invalid UTF-8 and overlong lines handled
//! once for every format (feed-formats.md §0.1).

use std::io::{self, BufRead};

/// Longer lines are skipped (and counted) without being held in memory.
pub const MAX_LINE: usize = 1 << 20;

pub struct Lines<R> {
    src: R,
    buf: Vec<u8>,
    no: u64,
    first: bool,
}

pub enum Line<'a> {
    Text(&'a str),
    BadEncoding,
    TooLong,
}

impl<R: BufRead> Lines<R> {
    pub fn new(src: R) -> Lines<R> {
        Lines {
            src,
            buf: Vec::new(),
            no: 0,
            first: true,
        }
    }

    /// Number of the line last returned (1-based).
    pub fn line_no(&self) -> u64 {
        self.no
    }

    /// The next line without its terminator, or `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let mut too_long = false;
        let mut saw_any = false;
        loop {
            let chunk = self.src.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (take, done) = match memchr_nl(chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                if self.buf.len() + take > MAX_LINE + 2 {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.src.consume(take);
            if done {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.no += 1;
        if too_long {
            return Ok(Some((self.no, Line::TooLong)));
        }
        let mut s: &[u8] = &self.buf;
        if self.first {
            self.first = false;
            s = s.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(s);
        }
        let s = s.strip_suffix(b"\n").unwrap_or(s);
        let s = s.strip_suffix(b"\r").unwrap_or(s);
        let line = match std::str::from_utf8(s) {
            Ok(t) => Line::Text(t),
            Err(_) => Line::BadEncoding,
        };
        Ok(Some((self.no, line)))
    }
}

fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// Splits one CSV row: `,` separators (spaces after them skipped, as ThreatFox writes `", "`),
/// double-quoted fields with `""` escapes. Returns `None` for an unterminated quote.
pub fn split_csv(line: &str) -> Option<Vec<String>> {
    split_csv_with(line, ',')
}

/// [`split_csv`] with another separator (`;`, TAB, `|`).
pub fn split_csv_with(line: &str, sep: char) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return None,
                }
            }
            while let Some(&c) = chars.peek() {
                if c == sep {
                    break;
                }
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == sep {
                    break;
                }
                field.push(c);
                chars.next();
            }
            let trimmed = field.trim_end().len();
            field.truncate(trimmed);
        }
        out.push(field);
        match chars.next() {
            Some(c) if c == sep => continue,
            _ => return Some(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<String> {
        let mut l = Lines::new(input);
        let mut out = Vec::new();
        while let Some((_, line)) = l.next_line().unwrap() {
            out.push(match line {
                Line::Text(t) => t.to_string(),
                Line::BadEncoding => "<bad>".into(),
                Line::TooLong => "<long>".into(),
            });
        }
        out
    }

    #[test]
    fn bom_crlf_and_bad_utf8() {
        assert_eq!(
            all(b"\xEF\xBB\xBFa\r\nb\n\xff\xfe\nlast"),
            ["a", "b", "<bad>", "last"]
        );
        assert_eq!(all(b""), Vec::<String>::new());
    }

    #[test]
    fn overlong_lines_are_skipped_not_held() {
        let mut data = vec![b'x'; MAX_LINE + 10];
        data.extend_from_slice(b"\nok\n");
        assert_eq!(all(&data), ["<long>", "ok"]);
    }

    #[test]
    fn csv_quotes_and_spaces() {
        assert_eq!(
            split_csv(r#""a", "b,c", "d""e""#).unwrap(),
            ["a", "b,c", "d\"e"]
        );
        assert_eq!(split_csv("x,y ,,z").unwrap(), ["x", "y", "", "z"]);
        assert!(split_csv(r#""open"#).is_none());
    }
}
