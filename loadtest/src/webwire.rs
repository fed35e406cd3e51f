//! The browser client's wire format, sans-IO: Evennia's `v1.evennia.com`
//! websocket JSON (`["cmdname", [args], {kwargs}]`), whose text arrives as
//! HTML, turned back into plain text a bot can read.

use serde_json::{Value, json};

/// The subprotocol a webclient asks for.
pub const SUBPROTOCOL: &str = "v1.evennia.com";

/// The frame for a line of input.
pub fn text_frame(line: &str) -> String {
    json!(["text", [line], {}]).to_string()
}

/// The frame for an input function call (`["echo", ["marker"], {}]`).
pub fn call_frame(cmd: &str, args: &[&str]) -> String {
    json!([cmd, args, {}]).to_string()
}

/// The plain text a TEXT frame carries (its `text` and `prompt` messages);
/// None for out-of-band messages and frames that are not the wire format.
pub fn frame_text(frame: &str) -> Option<String> {
    let v: Value = serde_json::from_str(frame).ok()?;
    let cmd = v.get(0)?.as_str()?;
    if cmd != "text" && cmd != "prompt" {
        return None;
    }
    let mut out = String::new();
    for arg in v.get(1)?.as_array()? {
        if let Some(s) = arg.as_str() {
            out.push_str(&html_to_text(s));
        }
    }
    if cmd == "text" {
        out.push('\n');
    }
    Some(out)
}

/// Tags taken out, `<br>` as a line end, the five entities (and numeric ones) decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('<') {
            let Some(end) = rest.find('>') else {
                out.push_str(rest);
                return out;
            };
            let tag = rest[1..end].trim().to_ascii_lowercase();
            if tag == "br" || tag == "br/" || tag == "br /" {
                out.push('\n');
            }
            rest = &rest[end + 1..];
        } else {
            let end = rest.find(';').filter(|&e| e <= 10);
            let decoded = end.and_then(|e| entity(&rest[1..e]));
            match (end, decoded) {
                (Some(e), Some(c)) => {
                    out.push(c);
                    rest = &rest[e + 1..];
                }
                _ => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" | "#39" => '\'',
        "nbsp" => ' ',
        _ => {
            let n = name.strip_prefix('#')?;
            let code = match n.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => n.parse().ok()?,
            };
            char::from_u32(code)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_text_comes_back_as_plain_text() {
        assert_eq!(
            html_to_text(
                "You become <span style=\"color:#00ffff\">Bot-1</span>.<br>a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#x27; &nbsp;"
            ),
            "You become Bot-1.\na <b> & \"c\" 'd'  "
        );
        assert_eq!(html_to_text("a & b < c"), "a & b < c");
    }

    #[test]
    fn only_text_and_prompt_frames_carry_text() {
        assert_eq!(
            frame_text(r#"["text", ["Echo returns: <span>m1</span>"], {}]"#).as_deref(),
            Some("Echo returns: m1\n")
        );
        assert_eq!(
            frame_text(r#"["prompt", ["&gt; "], {}]"#).as_deref(),
            Some("> ")
        );
        assert_eq!(frame_text(r#"["Char.Vitals", [{"hp": 1}], {}]"#), None);
        assert_eq!(frame_text("not json"), None);
    }

    #[test]
    fn input_frames_are_evennia_v1() {
        assert_eq!(text_frame("say \"hi\""), r#"["text",["say \"hi\""],{}]"#);
        assert_eq!(call_frame("echo", &["m1"]), r#"["echo",["m1"],{}]"#);
    }
}
