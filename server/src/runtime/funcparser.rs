//! Inline functions (Evennia's FuncParser): `$You() $conj(smile).` is "You
//! smile." to the one who smiles and "Anna smiles." to everyone else. Text
//! is rendered once per kind of receiver, with what the receiver is
//! ([`InlineCtx`]).
//!
//! | call | the actor sees | others see |
//! |---|---|---|
//! | `$You()` / `$you()` | You / you | Anna |
//! | `$you(key)` | (the object `key` in the mapping) you, to that object | its name |
//! | `$Your()` / `$your()` | Your / your | Anna's |
//! | `$conj(verb)` | smile, are, have | smiles, is, has |
//! | `$pron(he)` / `$Pron(his)` / `$pron(her, poss)` | you / Your / your | by the actor's `gender` attribute (male, female, neutral, plural): he, his, her, or they, their (the default) |
//! | `$an(apple)` | an apple | an apple |
//! | `$randint(1, 6)`, `$random()`, `$choice(a, b)` | a number from 1 to 6, a number below 1, a or b | the same |
//!
//! Games add their own with `Game::inline_func`. `\$` is a literal `$`.
//! A call that is unknown, fails, or is malformed is left in the text as it
//! was written — visible, never a crash. Calls nest (`$an($conj(eat))`) at
//! most [`MAX_DEPTH`] deep, and what one text renders to is bounded
//! ([`MAX_OUTPUT`]). Text a player typed is escaped ([`escape_inline`])
//! before it is put into a template, so a player cannot call functions.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::world::{ObjId, World};

/// How deeply calls may nest.
pub const MAX_DEPTH: usize = 8;
/// The most bytes one rendering produces; past it, the rest is left out.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// Who the text is for, and who it is about.
#[derive(Clone, Copy)]
pub struct InlineCtx<'a> {
    /// The world, for names and attributes.
    pub world: &'a World,
    /// Who acts (`$You()`, `$conj`, `$pron` are about them).
    pub actor: Option<ObjId>,
    /// Who reads this rendering (`None`: any bystander).
    pub receiver: Option<ObjId>,
    /// Other objects the text names, by key (`$you(target)`).
    pub mapping: &'a [(&'a str, ObjId)],
}

impl InlineCtx<'_> {
    fn is_actor(&self) -> bool {
        self.receiver.is_some() && self.receiver == self.actor
    }

    fn name(&self, obj: Option<ObjId>) -> String {
        obj.and_then(|o| self.world.get(o))
            .map_or_else(|| "someone".to_string(), |o| o.key.clone())
    }
}

/// A game's inline function: the arguments (already rendered) in, the text
/// out, or why not (then the call is left as written).
pub type InlineFn = Arc<dyn Fn(&InlineCtx<'_>, &[String]) -> Result<String, String> + Send + Sync>;

/// The game's own inline functions (built-ins need no registering).
#[derive(Clone, Default)]
pub struct InlineFuncs {
    map: HashMap<String, InlineFn>,
}

impl InlineFuncs {
    /// Registers one (it takes precedence over a built-in of the same name).
    pub fn add(&mut self, name: &str, f: InlineFn) {
        self.map.insert(name.to_string(), f);
    }
}

/// Text made safe to put in a template: no `$` in it calls anything.
pub fn escape_inline(text: &str) -> String {
    text.replace('\\', "\\\\").replace('$', "\\$")
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A verb for a third person: smile → smiles, be → is, try → tries.
pub fn third_person(verb: &str) -> String {
    match verb {
        "be" | "are" => "is".into(),
        "have" => "has".into(),
        "do" => "does".into(),
        "go" => "goes".into(),
        v if v.ends_with(['s', 'x', 'z', 'o']) || v.ends_with("ch") || v.ends_with("sh") => {
            format!("{v}es")
        }
        v if v.ends_with('y') && !v[..v.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']) => {
            format!("{}ies", &v[..v.len() - 1])
        }
        v => format!("{v}s"),
    }
}

/// The forms of a pronoun: subject, object, possessive, possessive
/// pronoun, reflexive; for you, he, she, it and they.
const PRONOUNS: &[[&str; 5]] = &[
    ["you", "you", "your", "yours", "yourself"],
    ["he", "him", "his", "his", "himself"],
    ["she", "her", "her", "hers", "herself"],
    ["it", "it", "its", "its", "itself"],
    ["they", "them", "their", "theirs", "themselves"],
    ["i", "me", "my", "mine", "myself"],
];

/// `$pron(word[, form])`: the form is the word's own unless named (`her`
/// is an object unless `poss` is given, as in Evennia).
fn pronoun(ctx: &InlineCtx<'_>, word: &str, form: Option<&str>) -> Result<String, String> {
    let w = word.trim().to_lowercase();
    let named = match form.map(|f| f.trim().to_lowercase()) {
        None => None,
        Some(f) => Some(match f.as_str() {
            "subject" | "subj" => 0,
            "object" | "obj" => 1,
            "possessive" | "poss" | "adjective" => 2,
            "pronoun" | "possessive pronoun" => 3,
            "reflexive" | "self" => 4,
            _ => return Err(format!("'{f}' is not a pronoun form")),
        }),
    };
    // Which form the word is: the first table row naming it decides.
    let own = PRONOUNS
        .iter()
        .find_map(|row| row.iter().position(|x| *x == w))
        .ok_or_else(|| format!("'{word}' is not a pronoun"))?;
    let form = named.unwrap_or(own);
    let row = if ctx.is_actor() {
        0
    } else {
        let gender: String = ctx
            .actor
            .and_then(|a| ctx.world.get(a))
            .and_then(|o| o.attr("gender"))
            .unwrap_or_default();
        match gender.to_lowercase().as_str() {
            "male" | "m" | "he" => 1,
            "female" | "f" | "she" => 2,
            "neutral" | "it" => 3,
            _ => 4,
        }
    };
    Ok(PRONOUNS[row][form].to_string())
}

fn builtin(ctx: &InlineCtx<'_>, name: &str, args: &[String]) -> Option<Result<String, String>> {
    let first = args.first().map(|a| a.trim()).unwrap_or("");
    let r = match name {
        "You" | "you" => {
            let who = if first.is_empty() {
                ctx.actor
            } else {
                match ctx.mapping.iter().find(|(k, _)| *k == first) {
                    Some((_, o)) => Some(*o),
                    None => return Some(Err(format!("no '{first}' in the mapping"))),
                }
            };
            if who.is_some() && who == ctx.receiver {
                Ok(if name == "You" { "You" } else { "you" }.into())
            } else {
                Ok(ctx.name(who))
            }
        }
        "Your" | "your" => {
            if ctx.is_actor() {
                Ok(if name == "Your" { "Your" } else { "your" }.into())
            } else {
                Ok(format!("{}'s", ctx.name(ctx.actor)))
            }
        }
        "conj" => {
            if first.is_empty() {
                Err("conj needs a verb".into())
            } else if ctx.is_actor() {
                Ok(match first {
                    "be" | "is" | "are" => "are".into(),
                    "has" => "have".into(),
                    v => v.to_string(),
                })
            } else {
                Ok(third_person(first))
            }
        }
        "pron" => pronoun(ctx, first, args.get(1).map(String::as_str)),
        "Pron" => pronoun(ctx, first, args.get(1).map(String::as_str)).map(|p| capitalize(&p)),
        "randint" => {
            let n = |i: usize| args.get(i).and_then(|a| a.trim().parse::<i64>().ok());
            match (n(0), n(1)) {
                (Some(lo), Some(hi)) if lo <= hi => Ok(rand::random_range(lo..=hi).to_string()),
                _ => Err("randint needs two whole numbers, low first".into()),
            }
        }
        "random" => Ok(format!("{:.4}", rand::random::<f64>())),
        "choice" => {
            if args.is_empty() {
                Err("choice needs something to choose from".into())
            } else {
                Ok(args[rand::random_range(0..args.len())].trim().to_string())
            }
        }
        "an" => {
            if first.is_empty() {
                Err("an needs a word".into())
            } else {
                let vowel = first
                    .chars()
                    .next()
                    .is_some_and(|c| "aeiouAEIOU".contains(c));
                Ok(format!("{} {first}", if vowel { "an" } else { "a" }))
            }
        }
        _ => return None,
    };
    Some(r)
}

struct Parser<'a, 'c> {
    funcs: &'a InlineFuncs,
    ctx: &'a InlineCtx<'c>,
    out_len: usize,
}

impl Parser<'_, '_> {
    /// Renders `s[i..]` until `stop` returns true at depth 0 (a `,` or `)`
    /// ending an argument), or the end; returns the text and where it stopped.
    fn render(&mut self, s: &str, mut i: usize, depth: usize, in_args: bool) -> (String, usize) {
        let b = s.as_bytes();
        // The text is mostly copied: room for it at once (an argument is short).
        let mut out = String::with_capacity(if in_args { 0 } else { b.len() - i + 32 });
        let mut parens = 0usize;
        // The bytes that mean something here (all ASCII: a run between them
        // ends on a character's boundary).
        let special =
            |c: u8| c == b'\\' || c == b'$' || (in_args && matches!(c, b'(' | b')' | b','));
        while i < b.len() {
            let c = b[i];
            if !special(c) {
                // Copy the plain text up to the next byte that means something.
                let end = b[i..]
                    .iter()
                    .position(|&c| special(c))
                    .map_or(b.len(), |n| i + n);
                out.push_str(&s[i..end]);
                i = end;
                continue;
            }
            if c == b'\\' && i + 1 < b.len() && (b[i + 1] == b'$' || b[i + 1] == b'\\') {
                out.push(b[i + 1] as char);
                i += 2;
                continue;
            }
            if in_args {
                match c {
                    b'(' => parens += 1,
                    b')' if parens > 0 => parens -= 1,
                    b')' | b',' => return (out, i),
                    _ => {}
                }
            }
            if c == b'$'
                && let Some((text, next)) = self.call(s, i, depth)
            {
                out.push_str(&text);
                i = next;
                continue;
            }
            // Copy one character.
            let ch = s[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
        (out, i)
    }

    /// A call at `s[at]` (a `$`): its rendering and where it ends, or
    /// `None` when it is not a call that renders (left as written).
    fn call(&mut self, s: &str, at: usize, depth: usize) -> Option<(String, usize)> {
        let b = s.as_bytes();
        let name_end = at
            + 1
            + s[at + 1..]
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                .count();
        if name_end == at + 1 || b.get(name_end) != Some(&b'(') || depth >= MAX_DEPTH {
            return None;
        }
        let name = &s[at + 1..name_end];
        let mut args = Vec::new();
        let mut i = name_end + 1;
        loop {
            let (arg, stop) = self.render(s, i, depth + 1, true);
            if stop >= b.len() {
                return None; // no closing parenthesis
            }
            args.push(arg);
            i = stop + 1;
            if b[stop] == b')' {
                break;
            }
        }
        if args.len() == 1 && args[0].trim().is_empty() {
            args.clear();
        }
        let result = match self.funcs.map.get(name) {
            Some(f) => f(self.ctx, &args),
            None => builtin(self.ctx, name, &args)?,
        };
        let text = result.ok()?;
        if self.out_len + text.len() > MAX_OUTPUT {
            return None;
        }
        self.out_len += text.len();
        Some((text, i))
    }
}

/// Renders a template for one receiver.
pub fn render(template: &str, funcs: &InlineFuncs, ctx: &InlineCtx<'_>) -> String {
    let mut p = Parser {
        funcs,
        ctx,
        out_len: 0,
    };
    let (mut out, _) = p.render(template, 0, 0, false);
    if out.len() > MAX_OUTPUT {
        let mut end = MAX_OUTPUT;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

impl crate::runtime::server::Server {
    /// Renders a template for one receiver with the game's inline functions.
    pub fn render_inline(
        &self,
        template: &str,
        actor: Option<ObjId>,
        receiver: Option<ObjId>,
        mapping: &[(&str, ObjId)],
    ) -> String {
        let ctx = InlineCtx {
            world: &self.world,
            actor,
            receiver,
            mapping,
        };
        render(template, &self.game.inline_funcs, &ctx)
    }

    /// Evennia's `msg_contents`: a template told to everyone in `location`
    /// (but `exclude`), rendered for what each is — the actor, an object of
    /// the mapping, or a bystander. It is rendered once per kind, not once
    /// per listener, so a crowded room costs no more renderings.
    pub fn msg_contents(
        &mut self,
        location: ObjId,
        template: &str,
        actor: Option<ObjId>,
        mapping: &[(&str, ObjId)],
        exclude: &[ObjId],
    ) {
        let mut special: Vec<ObjId> = actor.into_iter().collect();
        special.extend(mapping.iter().map(|(_, o)| *o));
        special.sort_unstable();
        special.dedup();
        let mut skip: Vec<ObjId> = exclude.to_vec();
        for &who in &special {
            skip.push(who);
            let here = self.world.get(who).and_then(|o| o.location) == Some(location);
            if here && !exclude.contains(&who) {
                let text = self.render_inline(template, actor, Some(who), mapping);
                self.msg_obj(who, &text);
            }
        }
        let text = self.render_inline(template, actor, None, mapping);
        self.msg_location(location, &text, &skip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::world::{Kind, Object};

    fn world() -> (World, ObjId, ObjId) {
        let mut w = World::new(1);
        w.insert_loaded(Object::new(1, "Limbo", "room", Kind::Room));
        for (id, key) in [(2, "Anna"), (3, "Bob")] {
            let mut o = Object::new(id, key, "character", Kind::Character);
            o.location = Some(1);
            w.insert_loaded(o);
        }
        (w, 2, 3)
    }

    fn r(
        w: &World,
        t: &str,
        actor: ObjId,
        receiver: Option<ObjId>,
        map: &[(&str, ObjId)],
    ) -> String {
        let ctx = InlineCtx {
            world: w,
            actor: Some(actor),
            receiver,
            mapping: map,
        };
        render(t, &InlineFuncs::default(), &ctx)
    }

    #[test]
    fn each_receiver_reads_the_text_as_it_concerns_them() {
        let (mut w, anna, bob) = world();
        let t = "$You() $conj(smile) at $you(bob) and $conj(wave) $your() hand.";
        assert_eq!(
            r(&w, t, anna, Some(anna), &[("bob", bob)]),
            "You smile at Bob and wave your hand."
        );
        assert_eq!(
            r(&w, t, anna, Some(bob), &[("bob", bob)]),
            "Anna smiles at you and waves Anna's hand."
        );
        assert_eq!(
            r(&w, t, anna, None, &[("bob", bob)]),
            "Anna smiles at Bob and waves Anna's hand."
        );
        let p = "$Pron(she) left; $pron(her, poss) bag is $pron(hers).";
        assert_eq!(
            r(&w, p, anna, Some(anna), &[]),
            "You left; your bag is yours."
        );
        assert_eq!(r(&w, p, anna, None, &[]), "They left; their bag is theirs.");
        w.update(anna, |o| o.set_attr("gender", "female"));
        assert_eq!(r(&w, p, anna, None, &[]), "She left; her bag is hers.");
        assert_eq!(
            r(&w, "$You() $conj(be) here.", anna, Some(anna), &[]),
            "You are here."
        );
        assert_eq!(
            r(&w, "$You() $conj(be) here.", anna, None, &[]),
            "Anna is here."
        );
        assert_eq!(
            r(&w, "$an(apple), $an(pear)", anna, None, &[]),
            "an apple, a pear"
        );
        for (v, third) in [
            ("try", "tries"),
            ("play", "plays"),
            ("wash", "washes"),
            ("go", "goes"),
            ("have", "has"),
        ] {
            assert_eq!(third_person(v), third);
        }
    }

    #[test]
    fn bad_calls_are_left_as_written_and_nothing_runs_away() {
        let (w, anna, _) = world();
        for t in [
            "$nosuch(x) stays",
            "$conj() stays",
            "$you(nobody) stays",
            "$pron(table) stays",
            "$You( unclosed",
            "a $ sign, $5 and $() alone",
        ] {
            assert_eq!(r(&w, t, anna, None, &[]), t, "{t}");
        }
        assert_eq!(
            r(&w, "\\$You() costs \\\\ 5", anna, None, &[]),
            "$You() costs \\ 5"
        );
        assert_eq!(
            r(&w, &escape_inline("$You() said $5"), anna, None, &[]),
            "$You() said $5"
        );
        // Plain text between the calls is copied whole, whatever its letters,
        // and parentheses and commas in it are text outside a call.
        assert_eq!(
            r(
                &w,
                "Élodie (à côté, 😀) $You() \\x $conj(see) $pron(her, poss) ü\\",
                anna,
                None,
                &[]
            ),
            "Élodie (à côté, 😀) Anna \\x sees their ü\\"
        );
        // Nested calls render inside out; too deep is left alone.
        assert_eq!(r(&w, "$an($conj(eat))", anna, None, &[]), "an eats");
        let deep = format!("{}x{}", "$an(".repeat(20), ")".repeat(20));
        let out = r(&w, &deep, anna, None, &[]);
        assert!(out.len() < 400, "{out}");
        // A function that makes a lot of text is bounded.
        let mut funcs = InlineFuncs::default();
        funcs.add("big", Arc::new(|_, _| Ok("x".repeat(10_000))));
        let ctx = InlineCtx {
            world: &w,
            actor: Some(anna),
            receiver: None,
            mapping: &[],
        };
        let out = render(&"$big() ".repeat(100), &funcs, &ctx);
        assert!(out.len() <= MAX_OUTPUT + 1000, "{}", out.len());
        // Game functions get rendered arguments, and may fail visibly.
        funcs.add(
            "shout",
            Arc::new(|_, a| {
                a.first()
                    .map(|s| s.to_uppercase())
                    .ok_or_else(|| "no".into())
            }),
        );
        assert_eq!(render("$shout($You())!", &funcs, &ctx), "ANNA!");
        assert_eq!(render("$shout()!", &funcs, &ctx), "$shout()!");
    }
}
