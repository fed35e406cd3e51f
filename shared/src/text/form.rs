//! Forms (Evennia's EvForm idea, in Tavern's own design): a fixed layout —
//! a character sheet — with named fields filled in, each exactly as wide as
//! its place in the layout, so the drawing's columns stay where they are.
//!
//! A field is `{name:width}`, left-aligned; `{name:>width}` right-aligned,
//! `{name:^width}` centred. Anything else in braces is text.

use super::layout::{Align, crop, pad, width};

/// A layout with fields.
#[derive(Debug, Clone)]
pub struct Form {
    template: String,
}

/// One field found in a layout.
struct Field<'a> {
    start: usize,
    end: usize,
    name: &'a str,
    width: usize,
    align: Align,
}

/// The longest field a form takes.
const MAX_FIELD: usize = 1000;

fn field_at(t: &str, start: usize) -> Option<Field<'_>> {
    let rest = &t[start + 1..];
    let close = rest.find('}')?;
    let inner = &rest[..close];
    let (name, spec) = inner.split_once(':')?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let (align, digits) = match spec.as_bytes().first()? {
        b'>' => (Align::Right, &spec[1..]),
        b'^' => (Align::Center, &spec[1..]),
        b'<' => (Align::Left, &spec[1..]),
        _ => (Align::Left, spec),
    };
    let width: usize = digits.parse().ok().filter(|w| *w > 0 && *w <= MAX_FIELD)?;
    Some(Field {
        start,
        end: start + 1 + close + 1,
        name,
        width,
        align,
    })
}

impl Form {
    /// A form over a layout.
    pub fn new(template: &str) -> Self {
        Self {
            template: template.to_string(),
        }
    }

    /// The names of its fields, in order.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(p) = self.template[i..].find('{') {
            let at = i + p;
            match field_at(&self.template, at) {
                Some(f) => {
                    out.push(f.name);
                    i = f.end;
                }
                None => i = at + 1,
            }
        }
        out
    }

    /// The layout with its fields filled: each value (markup) padded or
    /// cut to its field's width; a field with no value is blank.
    pub fn fill(&self, values: &[(&str, &str)]) -> String {
        let t = &self.template;
        let mut out = String::with_capacity(t.len());
        let mut i = 0;
        while let Some(p) = t[i..].find('{') {
            let at = i + p;
            out.push_str(&t[i..at]);
            match field_at(t, at) {
                Some(f) => {
                    let value = values
                        .iter()
                        .find(|(k, _)| *k == f.name)
                        .map_or("", |(_, v)| *v);
                    let value = if width(value) > f.width {
                        crop(value, f.width, "")
                    } else {
                        value.to_string()
                    };
                    out.push_str(&pad(&value, f.width, f.align));
                    i = f.end;
                    debug_assert!(f.start == at);
                }
                None => {
                    out.push('{');
                    i = at + 1;
                }
            }
        }
        out.push_str(&t[i..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::strip;

    #[test]
    fn fields_are_filled_to_their_width_whatever_the_value() {
        let f = Form::new("[{a:5}|{b:>4}|{c:^6}] {not a field} {x:0} {y:abc}");
        assert_eq!(f.fields(), ["a", "b", "c"]);
        let out = f.fill(&[("a", "|rtoolongvalue|n"), ("b", "7"), ("c", "mid")]);
        assert_eq!(
            strip(&out),
            "[toolo|   7| mid  ] {not a field} {x:0} {y:abc}"
        );
        assert_eq!(
            f.fill(&[]),
            "[     |    |      ] {not a field} {x:0} {y:abc}"
        );
        assert_eq!(Form::new("{unclosed:3").fill(&[]), "{unclosed:3");
    }
}
