//! Variables in flows: `[[Player.name]]` placeholders, dot paths into nested
//! data, and durations.
//!
//! A path's first name is looked up in this order:
//! 1. `state`: data of the current state (what its listener heard: `[[state.line]]`);
//! 2. the flow's own variables (`set`);
//! 3. its arguments;
//! 4. its references (`create_reference`) — objects of the world;
//! 5. `owner`: the object owning the flow; then the owner's attributes by name;
//! 6. the game's globals (`Game::flow_global`).
//!
//! An object's fields are `id`, `key` (or `name`), `location`, `home`,
//! `typeclass`; any other name is one of its attributes, and further names go
//! into that attribute's JSON. A path that finds nothing renders as empty text
//! (the flow logs a warning).

use serde_json::Value;

use crate::model::world::ObjId;

/// A value found for a path: plain data, or an object of the world.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// JSON data.
    Data(Value),
    /// An object (its fields and attributes are reachable).
    Object(ObjId),
}

/// What a path's first name can reach outside the flow's own data.
pub trait Scope {
    /// A field or attribute of an object (`key`, `hp`).
    fn field(&self, obj: ObjId, name: &str) -> Option<Found>;
    /// The object owning the flow, if it is one.
    fn owner(&self) -> Option<ObjId>;
    /// A game global.
    fn global(&self, name: &str) -> Option<Value>;
}

/// Follows `rest` (names) into JSON data.
fn dig(mut v: Value, rest: &[&str]) -> Option<Value> {
    for name in rest {
        v = match v {
            Value::Object(mut m) => m.remove(*name)?,
            Value::Array(mut a) => {
                let i: usize = name.parse().ok()?;
                if i >= a.len() {
                    return None;
                }
                a.swap_remove(i)
            }
            _ => return None,
        };
    }
    Some(v)
}

/// Follows `rest` from something found.
pub fn follow(scope: &dyn Scope, found: Found, rest: &[&str]) -> Option<Found> {
    match found {
        Found::Data(v) => dig(v, rest).map(Found::Data),
        Found::Object(id) => match rest.split_first() {
            None => Some(Found::Object(id)),
            Some((first, more)) => follow(scope, scope.field(id, first)?, more),
        },
    }
}

/// The JSON of something found (an object is its id).
pub fn to_value(found: Found) -> Value {
    match found {
        Found::Data(v) => v,
        Found::Object(id) => Value::from(id),
    }
}

/// Text for a value in a template: strings as they are, `null` empty, the
/// rest as JSON.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Replaces every `[[path]]` in `text` with what `lookup` finds; returns the
/// text and the paths that found nothing. An unclosed `[[` stays as it is.
pub fn render(text: &str, lookup: &dyn Fn(&str) -> Option<Value>) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("[[") {
        let Some(len) = rest[start + 2..].find("]]") else {
            break;
        };
        out.push_str(&rest[..start]);
        let path = rest[start + 2..start + 2 + len].trim();
        match lookup(path) {
            Some(v) => out.push_str(&to_text(&v)),
            None => missing.push(path.to_string()),
        }
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    (out, missing)
}

/// Renders every string inside a JSON value; a string that is exactly one
/// placeholder keeps the found value's type (`"[[room.id]]"` → 12).
pub fn render_value(
    v: &Value,
    lookup: &dyn Fn(&str) -> Option<Value>,
    missing: &mut Vec<String>,
) -> Value {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if t.starts_with("[[") && t.ends_with("]]") && t.matches("[[").count() == 1 {
                let path = t[2..t.len() - 2].trim();
                return match lookup(path) {
                    Some(found) => found,
                    None => {
                        missing.push(path.to_string());
                        Value::Null
                    }
                };
            }
            let (text, m) = render(s, lookup);
            missing.extend(m);
            Value::String(text)
        }
        Value::Array(a) => {
            Value::Array(a.iter().map(|x| render_value(x, lookup, missing)).collect())
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), render_value(x, lookup, missing)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A duration in milliseconds: `5` or `0.5` (seconds), `2:05` (minutes and
/// seconds), `01:30:00` (hours, minutes, seconds).
pub fn duration_ms(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.trim().is_empty()) {
        return None;
    }
    let mut secs = 0.0f64;
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let v: f64 = p.trim().parse().ok()?;
        if !v.is_finite() || v < 0.0 || (!last && v.fract() != 0.0) {
            return None;
        }
        secs = secs * 60.0 + v;
    }
    let ms = secs * 1000.0;
    (ms <= 10.0 * 365.0 * 86_400_000.0).then_some(ms.round() as i64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn durations_in_the_usual_forms() {
        assert_eq!(duration_ms("5"), Some(5_000));
        assert_eq!(duration_ms("0.5"), Some(500));
        assert_eq!(duration_ms("2:05"), Some(125_000));
        assert_eq!(duration_ms("01:30:00"), Some(5_400_000));
        for bad in ["", "a", "1:2:3:4", "-1", "1.5:00", "1::2", "inf", "NaN"] {
            assert_eq!(duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn placeholders_render_and_missing_ones_are_empty_and_reported() {
        let lookup = |p: &str| match p {
            "Player.name" => Some(json!("Anna")),
            "score" => Some(json!(12)),
            "flag" => Some(json!(null)),
            _ => None,
        };
        let (t, missing) = render(
            "Hi [[Player.name]], [[ score ]] points[[flag]]. [[nope]]!",
            &lookup,
        );
        assert_eq!(t, "Hi Anna, 12 points. !");
        assert_eq!(missing, vec!["nope"]);
        let (t, missing) = render("no [[end", &lookup);
        assert_eq!(t, "no [[end");
        assert!(missing.is_empty());
        let mut m = Vec::new();
        let v = render_value(
            &json!({"n": "[[score]]", "s": "x[[score]]", "l": ["[[nope]]"]}),
            &lookup,
            &mut m,
        );
        assert_eq!(v, json!({"n": 12, "s": "x12", "l": [null]}));
        assert_eq!(m, vec!["nope"]);
    }

    struct World;
    impl Scope for World {
        fn field(&self, obj: ObjId, name: &str) -> Option<Found> {
            match (obj, name) {
                (1, "key") => Some(Found::Data(json!("Anna"))),
                (1, "location") => Some(Found::Object(2)),
                (2, "key") => Some(Found::Data(json!("Garden"))),
                (1, "bag") => Some(Found::Data(json!({"rope": 2, "list": [5, 6]}))),
                _ => None,
            }
        }
        fn owner(&self) -> Option<ObjId> {
            Some(1)
        }
        fn global(&self, _: &str) -> Option<Value> {
            None
        }
    }

    #[test]
    fn dot_paths_go_through_objects_and_into_json() {
        let f = |rest: &[&str]| follow(&World, Found::Object(1), rest).map(to_value);
        assert_eq!(f(&["key"]), Some(json!("Anna")));
        assert_eq!(f(&["location", "key"]), Some(json!("Garden")));
        assert_eq!(f(&["location"]), Some(json!(2)));
        assert_eq!(f(&["bag", "rope"]), Some(json!(2)));
        assert_eq!(f(&["bag", "list", "1"]), Some(json!(6)));
        assert_eq!(f(&["bag", "list", "9"]), None);
        assert_eq!(f(&["bag", "nothing"]), None);
    }
}
