//! The lock expression parser: `func(args)`, `and`, `or`, `not`, parentheses.
//! `not` binds tightest, then `and`, then `or` (as in Evennia, which evaluates
//! them as Python).

/// A parsed lock expression. Every object holds its locks parsed (shared
/// when the text is the same), so it is kept small: a chain of `or`s is one
/// list, not a tree of pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockExpr {
    /// A lock function call; the name is lowercased, the arguments trimmed.
    Func {
        /// The function's name.
        name: Box<str>,
        /// Its arguments as written.
        args: Box<[String]>,
    },
    /// `not a`
    Not(Box<LockExpr>),
    /// `a and b and …`: every one passes.
    All(Box<[LockExpr]>),
    /// `a or b or …`: one passes.
    Any(Box<[LockExpr]>),
}

/// Nesting deeper than this is refused (the input comes from builders).
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Func(String, Vec<String>),
    And,
    Or,
    Not,
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::Open);
            i += 1;
        } else if c == ')' {
            out.push(Token::Close);
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match word.to_lowercase().as_str() {
                "and" => out.push(Token::And),
                "or" => out.push(Token::Or),
                "not" => out.push(Token::Not),
                _ => {
                    // A function: its name, then "(args)".
                    while i < chars.len() && chars[i].is_whitespace() {
                        i += 1;
                    }
                    if chars.get(i) != Some(&'(') {
                        return Err(format!("'{word}' is not a function call like {word}()"));
                    }
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ')')
                        .ok_or_else(|| format!("'{word}(' is not closed"))?;
                    let inner: String = chars[i + 1..i + close].iter().collect();
                    i += close + 1;
                    let args = if inner.trim().is_empty() {
                        Vec::new()
                    } else {
                        inner
                            .split(',')
                            .map(|a| a.trim().trim_matches(['"', '\'']).to_string())
                            .collect()
                    };
                    out.push(Token::Func(word.to_lowercase(), args));
                }
            }
        } else {
            return Err(format!("unexpected '{c}'"));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self, depth: usize) -> Result<LockExpr, String> {
        let mut terms = vec![self.and(depth)?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            terms.push(self.and(depth)?);
        }
        Ok(one_or(terms, LockExpr::Any))
    }

    fn and(&mut self, depth: usize) -> Result<LockExpr, String> {
        let mut terms = vec![self.unary(depth)?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            terms.push(self.unary(depth)?);
        }
        Ok(one_or(terms, LockExpr::All))
    }

    fn unary(&mut self, depth: usize) -> Result<LockExpr, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Not) => {
                self.pos += 1;
                Ok(LockExpr::Not(Box::new(self.unary(depth + 1)?)))
            }
            Some(Token::Open) => {
                self.pos += 1;
                let e = self.or(depth + 1)?;
                if self.peek() != Some(&Token::Close) {
                    return Err("a '(' is not closed".into());
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Token::Func(name, args)) => {
                self.pos += 1;
                Ok(LockExpr::Func {
                    name: name.into_boxed_str(),
                    args: args.into_boxed_slice(),
                })
            }
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("the expression ends too early".into()),
        }
    }
}

/// The one term, or the terms joined by `join` (`Any`, `All`).
fn one_or(mut terms: Vec<LockExpr>, join: fn(Box<[LockExpr]>) -> LockExpr) -> LockExpr {
    if terms.len() == 1
        && let Some(t) = terms.pop()
    {
        return t;
    }
    join(terms.into_boxed_slice())
}

impl LockExpr {
    /// Parses an expression such as `perm(Builder) or not attr(banned)`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let tokens = tokenize(s)?;
        if tokens.is_empty() {
            return Err("empty lock expression".into());
        }
        let mut p = Parser { tokens, pos: 0 };
        let e = p.or(0)?;
        if p.pos != p.tokens.len() {
            return Err("unexpected text after the expression".into());
        }
        Ok(e)
    }
}
