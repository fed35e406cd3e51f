//! What bots do once logged in: the profiles of Evennia's dummyrunner
//! (idler, looker, normal player, builder, socializer), a closed loop, a
//! crowd in one room, a crowded room where everyone keeps busy, and profiles of your own from a TOML file.
//!
//! Commands are templates: `{name}` (the bot's account and character),
//! `{i}` (its number), `{n}` (how many actions it has taken), `{run}` (this
//! run's id), `{group}` (its group's number) and `{marker}`. A command whose
//! template holds `{marker}` is known to echo it in its own answer (`say`);
//! any other command is followed by an out-of-band `echo` of a marker, and
//! is answered when that echo comes back (the server answers a session's
//! input in order).

use serde::Deserialize;

/// One kind of action and how often it is picked.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Action {
    /// Its name in the report (`look`, `move`).
    pub label: String,
    /// Relative weight among the profile's actions.
    pub weight: u32,
    /// The command; with several, each use takes the next (`east`, then `west`).
    pub send: Vec<String>,
}

/// A profile: how bots act, and how they get where they act.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// What it is for, one line.
    #[serde(default)]
    pub about: String,
    /// Actions per second per bot (open loop, Poisson arrivals); 0: none.
    #[serde(default)]
    pub rate: f64,
    /// Closed loop: each bot sends its next action once the last is answered
    /// (and `think_ms` has passed).
    #[serde(default)]
    pub closed: bool,
    /// In a closed loop, how long a bot waits after an answer before its
    /// next action, in milliseconds (±10 %, so bots do not march in step).
    #[serde(default)]
    pub think_ms: f64,
    /// Commands every bot runs after logging in, in order.
    #[serde(default)]
    pub setup: Vec<String>,
    /// Bots are put in groups of this size (0: no groups). The first bot of
    /// a group runs `leader_setup`; the others run `member_setup` once it is done.
    #[serde(default)]
    pub group_size: usize,
    /// The group leader's setup (after `setup`).
    #[serde(default)]
    pub leader_setup: Vec<String>,
    /// The other members' setup (after `setup`, once the leader's is done).
    #[serde(default)]
    pub member_setup: Vec<String>,
    /// What bots do, weighted.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Every bot records the markers of other bots' actions it hears
    /// (a `say` reaching a room), with the time since they were sent.
    #[serde(default)]
    pub listen: bool,
    /// Bots only connect and wait for the connection screen: no login.
    #[serde(default)]
    pub greet_only: bool,
}

fn act(label: &str, weight: u32, send: &[&str]) -> Action {
    Action {
        label: label.into(),
        weight,
        send: send.iter().map(|s| s.to_string()).collect(),
    }
}

/// Two rooms of the bot's own, with exits between them (Evennia's
/// dummyrunner digs a room for every bot the same way).
const OWN_ROOMS: [&str; 2] = [
    "dig/teleport {run}-{name}-a",
    "dig {run}-{name}-b = east;e, west;w",
];
/// Moving back and forth between them.
const MOVES: [&str; 2] = ["east", "west"];

impl Profile {
    fn base(name: &str, about: &str) -> Self {
        Profile {
            name: name.into(),
            about: about.into(),
            rate: 0.0,
            closed: false,
            think_ms: 0.0,
            setup: Vec::new(),
            group_size: 0,
            leader_setup: Vec::new(),
            member_setup: Vec::new(),
            actions: Vec::new(),
            listen: false,
            greet_only: false,
        }
    }

    fn own_rooms(mut self) -> Self {
        self.setup = OWN_ROOMS.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The built-in profiles.
    pub fn builtin() -> Vec<Profile> {
        let mut v = Vec::new();
        v.push(Profile {
            greet_only: true,
            ..Self::base(
                "connect",
                "connect and wait for the connection screen; no login",
            )
        });
        v.push(Profile {
            setup: vec!["dig/teleport {run}-{name}".into()],
            ..Self::base(
                "idler",
                "log in to a room of its own and do nothing (Evennia: idler)",
            )
        });
        v.push(Profile {
            rate: 0.5,
            actions: vec![act("look", 1, &["look"])],
            ..Self::base(
                "looker",
                "look around, 0.5 times a second (Evennia: looker)",
            )
            .own_rooms()
        });
        let normal_actions = vec![
            act("look", 40, &["look"]),
            act("move", 40, &MOVES),
            act("say", 10, &["say Hello from {name}, {marker}"]),
            act("help", 10, &["help"]),
        ];
        v.push(Profile {
            rate: 0.5,
            actions: normal_actions.clone(),
            ..Self::base(
                "normal",
                "look, move, say and ask for help, 0.5 times a second (Evennia: normal_player)",
            )
            .own_rooms()
        });
        let builder_actions = vec![
            act("look", 20, &["look"]),
            act("move", 20, &MOVES),
            act("create", 20, &["create/drop {run}-{name}-box-{n}"]),
            act(
                "desc",
                15,
                &["desc here = Redecorated by {name}, {n} times."],
            ),
            act("set", 15, &["set here/visits = {n}"]),
            act("dig", 10, &["dig {run}-{name}-room-{n}"]),
        ];
        v.push(Profile {
            rate: 0.5,
            actions: builder_actions.clone(),
            ..Self::base(
                "builder",
                "build: create, describe, set attributes, dig; and look and move (Evennia: normal_builder)",
            )
            .own_rooms()
        });
        v.push(Profile {
            closed: true,
            actions: builder_actions.clone(),
            ..Self::base(
                "building",
                "the builder's commands (create, describe, set, dig, look, move), each sent as \
                 soon as the last is answered",
            )
            .own_rooms()
        });
        v.push(Profile {
            closed: true,
            group_size: 10,
            leader_setup: vec![
                "dig/teleport {run}-arena-{group}".into(),
                "create/drop {run}-dummy-{group}".into(),
                "set {run}-dummy-{group}/hp = 50".into(),
                "set {run}-dummy-{group}/maxhp = 50".into(),
            ],
            member_setup: vec!["teleport {run}-arena-{group}".into()],
            actions: vec![
                act("attack", 70, &["attack {run}-dummy-{group}"]),
                act("look", 20, &["look"]),
                act("inventory", 10, &["inventory"]),
            ],
            ..Self::base(
                "fight",
                "arenas of ten fighting a training dummy (the template's `attack`: both \
                 fighters changed, the arena told, a guard timer armed), each blow sent as \
                 soon as the last is answered",
            )
        });
        v.push(Profile {
            rate: 0.5,
            group_size: 10,
            leader_setup: vec!["dig/teleport {run}-hall-{group}".into()],
            member_setup: vec!["teleport {run}-hall-{group}".into()],
            actions: vec![
                act("say", 40, &["say {marker}"]),
                act("pose", 20, &["pose waves, {marker}"]),
                act("look", 20, &["look"]),
                act("who", 10, &["who"]),
                act("help", 10, &["help"]),
            ],
            ..Self::base(
                "socializer",
                "talk in halls of ten: say, pose, look, who (Evennia: socializing)",
            )
        });
        v.push(Profile {
            closed: true,
            actions: normal_actions,
            ..Self::base(
                "closed",
                "the normal player's commands, each sent as soon as the last is answered",
            )
            .own_rooms()
        });
        v.push(Profile {
            closed: true,
            group_size: usize::MAX,
            leader_setup: vec!["dig/teleport {run}-square-{group}".into()],
            member_setup: vec!["teleport {run}-square-{group}".into()],
            actions: vec![
                act("unknown", 20, &["xyzzy"]),
                act("look at", 20, &["look {name}"]),
                act("inventory", 20, &["inventory"]),
                act("examine", 10, &["examine me"]),
                act("get", 10, &["get no-such-thing"]),
                act("help", 10, &["help"]),
                act("pose", 10, &["pose"]),
            ],
            ..Self::base(
                "crowded",
                "everyone in one room (or in rooms of group_size), each sending commands whose \
                 answer is theirs alone, as soon as the last is answered",
            )
        });
        v.push(Profile {
            rate: 0.02,
            group_size: usize::MAX,
            leader_setup: vec!["dig/teleport {run}-crowd".into()],
            member_setup: vec!["teleport {run}-crowd".into()],
            actions: vec![act("say", 1, &["say {marker}"])],
            listen: true,
            ..Self::base(
                "crowd",
                "everyone in one room; now and then one says something and everyone hears it",
            )
        });
        v.push(Profile {
            rate: 0.02,
            group_size: usize::MAX,
            actions: vec![act("public", 1, &["pub {marker}"])],
            listen: true,
            ..Self::base(
                "channel",
                "everyone on the Public channel (new accounts join it); now and then one says \
                 something on it and everyone hears it, wherever they are",
            )
        });
        v
    }

    /// A built-in profile, or one from `file` (TOML: `[[profile]]` tables).
    pub fn find(name: &str, file: Option<&str>) -> Result<Profile, String> {
        if let Some(text) = file {
            #[derive(Deserialize)]
            struct File {
                profile: Vec<Profile>,
            }
            let f: File = toml::from_str(text).map_err(|e| format!("profile file: {e}"))?;
            if let Some(p) = f.profile.into_iter().find(|p| p.name == name) {
                p.check()?;
                return Ok(p);
            }
        }
        Self::builtin()
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                let names: Vec<String> = Self::builtin().into_iter().map(|p| p.name).collect();
                format!("no profile named '{name}' (built in: {})", names.join(", "))
            })
    }

    /// Whether the profile makes sense.
    pub fn check(&self) -> Result<(), String> {
        if self.rate < 0.0 || !self.rate.is_finite() {
            return Err(format!("profile {}: rate must be 0 or more", self.name));
        }
        if self.think_ms < 0.0 || !self.think_ms.is_finite() {
            return Err(format!("profile {}: think_ms must be 0 or more", self.name));
        }
        if (self.rate > 0.0 || self.closed) && self.actions.iter().all(|a| a.weight == 0) {
            return Err(format!("profile {}: it acts but has no actions", self.name));
        }
        if let Some(a) = self.actions.iter().find(|a| a.send.is_empty()) {
            return Err(format!(
                "profile {}: action {} sends nothing",
                self.name, a.label
            ));
        }
        Ok(())
    }

    /// Picks an action by weight; `roll` is uniform in 0..total weight.
    pub fn pick(&self, roll: u32) -> usize {
        let mut left = roll;
        for (i, a) in self.actions.iter().enumerate() {
            if left < a.weight {
                return i;
            }
            left -= a.weight;
        }
        self.actions.len().saturating_sub(1)
    }

    /// The sum of the weights.
    pub fn total_weight(&self) -> u32 {
        self.actions.iter().map(|a| a.weight).sum()
    }
}

/// What a template's placeholders stand for.
#[derive(Debug, Clone, Default)]
pub struct Vars<'a> {
    /// `{name}`
    pub name: &'a str,
    /// `{password}`
    pub password: &'a str,
    /// `{i}`
    pub i: usize,
    /// `{n}`
    pub n: u64,
    /// `{run}`
    pub run: &'a str,
    /// `{group}`
    pub group: usize,
    /// `{marker}`
    pub marker: &'a str,
}

/// Fills a template's placeholders; unknown ones are left as they are.
pub fn expand(template: &str, v: &Vars<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let key = &rest[open + 1..open + close];
        match key {
            "name" => out.push_str(v.name),
            "password" => out.push_str(v.password),
            "i" => out.push_str(&v.i.to_string()),
            "n" => out.push_str(&v.n.to_string()),
            "run" => out.push_str(v.run),
            "group" => out.push_str(&v.group.to_string()),
            "marker" => out.push_str(v.marker),
            _ => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a command's own answer carries its marker.
pub fn echoes_marker(template: &str) -> bool {
    template.contains("{marker}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_their_placeholders() {
        let v = Vars {
            name: "Load-3",
            password: "pw",
            i: 3,
            n: 7,
            run: "r1",
            group: 2,
            marker: "ltm3-7-99",
        };
        assert_eq!(
            expand(
                "dig {run}-{name}-room-{n} in {group} {i} {marker} {password}",
                &v
            ),
            "dig r1-Load-3-room-7 in 2 3 ltm3-7-99 pw"
        );
        assert_eq!(expand("{unknown} {x", &v), "{unknown} {x");
        assert!(echoes_marker("say {marker}"));
        assert!(!echoes_marker("look"));
    }

    #[test]
    fn every_builtin_profile_is_sound_and_picks_by_weight() {
        for p in Profile::builtin() {
            p.check().unwrap();
        }
        let normal = Profile::find("normal", None).unwrap();
        assert_eq!(normal.total_weight(), 100);
        assert_eq!(normal.actions[normal.pick(0)].label, "look");
        assert_eq!(normal.actions[normal.pick(39)].label, "look");
        assert_eq!(normal.actions[normal.pick(40)].label, "move");
        assert_eq!(normal.actions[normal.pick(99)].label, "help");
        assert!(Profile::find("nope", None).is_err());
    }

    #[test]
    fn profiles_can_come_from_a_file() {
        let file = r#"
            [[profile]]
            name = "evennia-looker"
            rate = 1.0
            setup = ["dig/teleport lt_{name}"]
            actions = [{ label = "look", weight = 1, send = ["look"] }]
        "#;
        let p = Profile::find("evennia-looker", Some(file)).unwrap();
        assert_eq!(p.rate, 1.0);
        assert_eq!(p.setup, vec!["dig/teleport lt_{name}"]);
        // A built-in one is still found when the file does not name it.
        assert_eq!(Profile::find("idler", Some(file)).unwrap().name, "idler");
        let bad = r#"
            [[profile]]
            name = "bad"
            rate = 1.0
        "#;
        assert!(Profile::find("bad", Some(bad)).is_err());
    }
}
