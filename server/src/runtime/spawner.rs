//! The spawner: objects made from prototypes ([`crate::model::prototypes`]).
//! The game's prototypes come from code (`Game::prototype`), from the files
//! in `[game] prototypes_dir` (read at every start), and from builders
//! (`spawn/save`, kept in the database); a later source replaces an earlier
//! one of the same key. Values in a prototype may be computed when it is
//! spawned, with the inline functions: `$randint(3, 7)`, `$choice(red,
//! green)`, `$random()`, and the game's own.

use serde_json::{Map, Value, json};

use crate::model::prototypes::{
    APPLIED_ATTR, FROM_PROTOTYPE, Prototype, PrototypeError, Prototypes, parse_ref,
};
use crate::model::world::{Kind, ObjId, Tag};
use crate::runtime::create::{CreateError, NewObject};
use crate::runtime::server::Server;

/// Why a spawn failed.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The prototype is missing or does not resolve.
    #[error("{0}")]
    Prototype(#[from] PrototypeError),
    /// The object could not be made.
    #[error("{0}")]
    Create(#[from] CreateError),
    /// It names a typeclass the game does not have.
    #[error("prototype '{0}': typeclass '{1}' does not exist")]
    Typeclass(String, String),
}

/// What a prototype puts on an object: what `spawn/update` compares, to
/// leave alone what was changed by hand since.
fn applied(
    key: &str,
    desc: &str,
    aliases: &[String],
    attrs: &Map<String, Value>,
    tags: &[Tag],
) -> Value {
    json!({"key": key, "desc": desc, "aliases": aliases, "attrs": attrs, "tags": tags})
}

/// A tag written `key` or `key:category`.
fn tag_of(s: &str) -> Tag {
    match s.split_once(':') {
        Some((k, c)) => Tag::new(k.trim(), Some(c.trim())),
        None => Tag::new(s.trim(), None),
    }
}

impl Server {
    /// Reads the prototypes in `[game] prototypes_dir` and the game's own;
    /// those that do not load or resolve are logged and left out.
    pub(crate) fn load_prototypes(&mut self) {
        let mut all = Prototypes::default();
        for p in &self.game.prototypes {
            all.add(p.clone(), "code");
        }
        let dir = self.settings.game.prototypes_dir.clone();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for path in paths
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                match std::fs::read_to_string(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|t| Prototype::from_toml_file(&t).map_err(|e| e.to_string()))
                {
                    Ok(ps) => {
                        for p in ps {
                            all.add(p, &name);
                        }
                    }
                    Err(e) => {
                        tracing::error!(file = %path.display(), "prototypes do not load: {e}")
                    }
                }
            }
        }
        for e in all.check_all() {
            tracing::error!("{e}");
        }
        self.prototype_defs = all;
    }

    /// Every prototype: the game's, the files', and those builders saved.
    pub fn prototypes(&self) -> Prototypes {
        let mut all = self.prototype_defs.clone();
        for p in self.world.stored_prototypes().values() {
            all.add(p.clone(), "stored");
        }
        all
    }

    /// A prototype's computed value: strings with inline functions are
    /// rendered, and a result that reads as a number or `true`/`false`
    /// becomes one.
    fn computed(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if s.contains('$') => {
                let out = self.render_inline(s, None, None, &[]);
                match serde_json::from_str::<Value>(out.trim()) {
                    Ok(n @ (Value::Number(_) | Value::Bool(_))) => n,
                    _ => Value::String(out),
                }
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.computed(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.computed(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn computed_str(&self, s: &str) -> String {
        match self.computed(&Value::String(s.to_string())) {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// What a resolved prototype gives an object, computed values rendered:
    /// its name, description, aliases, attributes and tags (with the
    /// `from_prototype` tag).
    fn gives(&self, p: &Prototype) -> (String, String, Vec<String>, Map<String, Value>, Vec<Tag>) {
        let name = self.computed_str(p.key.as_deref().unwrap_or(&p.prototype_key));
        let desc = self.computed_str(p.desc.as_deref().unwrap_or(""));
        let aliases = p.aliases.clone().unwrap_or_default();
        let attrs = p
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), self.computed(v)))
            .collect();
        let mut tags: Vec<Tag> = p.tags.iter().map(|t| tag_of(t)).collect();
        tags.push(Tag::new(&p.prototype_key, Some(FROM_PROTOTYPE)));
        (name, desc, aliases, attrs, tags)
    }

    /// Makes an object from a prototype, at `location` unless the prototype
    /// names one. It is tagged with the prototype's key (category
    /// `from_prototype`).
    pub fn spawn(&mut self, key: &str, location: Option<ObjId>) -> Result<ObjId, SpawnError> {
        self.spawn_with_locks(key, location, "")
    }

    /// [`Server::spawn`], with locks added to the object's (a builder's
    /// `spawn` gives its maker control of what they made).
    pub fn spawn_with_locks(
        &mut self,
        key: &str,
        location: Option<ObjId>,
        locks: &str,
    ) -> Result<ObjId, SpawnError> {
        let p = self.prototypes().resolve(key)?;
        self.spawn_resolved(&p, location, locks)
    }

    /// Makes an object from a prototype given whole (not saved; its parents
    /// are looked up among the game's).
    pub fn spawn_prototype(
        &mut self,
        p: &Prototype,
        location: Option<ObjId>,
        locks: &str,
    ) -> Result<ObjId, SpawnError> {
        let p = self.prototypes().resolve_new(p)?;
        self.spawn_resolved(&p, location, locks)
    }

    fn spawn_resolved(
        &mut self,
        p: &Prototype,
        location: Option<ObjId>,
        extra_locks: &str,
    ) -> Result<ObjId, SpawnError> {
        let kind = match &p.typeclass {
            Some(tc) => self
                .game
                .typeclasses
                .get(tc)
                .map(|t| t.kind())
                .ok_or_else(|| SpawnError::Typeclass(p.prototype_key.clone(), tc.clone()))?,
            None => Kind::Thing,
        };
        let (name, desc, aliases, attrs, tags) = self.gives(p);
        let stamp = applied(&name, &desc, &aliases, &attrs, &tags);
        let mut spec = NewObject::new(kind, name).aliases(aliases).desc(desc);
        if let Some(tc) = &p.typeclass {
            spec = spec.typeclass(tc);
        }
        spec.attrs = attrs.into();
        spec.attrs.insert(APPLIED_ATTR.into(), stamp);
        spec.tags = tags;
        let locks: Vec<&str> = [p.locks.as_deref().unwrap_or(""), extra_locks]
            .into_iter()
            .filter(|l| !l.is_empty())
            .collect();
        if !locks.is_empty() {
            spec = spec.locks(&locks.join(";"));
        }
        let location = p.location.as_deref().and_then(parse_ref).or(location);
        if let Some(l) = location {
            spec = spec.location(l);
        }
        if let Some(h) = p.home.as_deref().and_then(parse_ref) {
            spec = spec.home(h);
        }
        if let Some(d) = p.destination.as_deref().and_then(parse_ref) {
            spec = spec.destination(d);
        }
        Ok(self.create_object(spec)?)
    }

    /// Applies a prototype again to every object spawned from it that was
    /// not changed by hand since (its name, description, aliases, the
    /// prototype's attributes and tags as the prototype left them). Returns
    /// the objects updated and those skipped.
    pub fn spawn_update(&mut self, key: &str) -> Result<(Vec<ObjId>, Vec<ObjId>), SpawnError> {
        let p = self.prototypes().resolve(key)?;
        let spawned: Vec<ObjId> = self.world.tagged(&p.prototype_key, Some(FROM_PROTOTYPE));
        let (mut updated, mut skipped) = (Vec::new(), Vec::new());
        for id in spawned {
            let Some(o) = self.world.get(id) else {
                continue;
            };
            let Some(before) = o.db.get(APPLIED_ATTR).cloned() else {
                skipped.push(id);
                continue;
            };
            let prior_attrs: Map<String, Value> = before["attrs"]
                .as_object()
                .map(|m| {
                    m.keys()
                        .filter_map(|k| o.db.get(k).map(|v| (k.clone(), v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            let prior_tags: Vec<Tag> =
                serde_json::from_value(before["tags"].clone()).unwrap_or_default();
            let has_tags = prior_tags.iter().all(|t| o.tags.contains(t));
            let now = applied(
                &o.key,
                &o.desc,
                &o.aliases,
                &prior_attrs,
                if has_tags { &prior_tags } else { &[] },
            );
            if now != before {
                skipped.push(id);
                continue;
            }
            let (name, desc, aliases, attrs, tags) = self.gives(&p);
            let stamp = applied(&name, &desc, &aliases, &attrs, &tags);
            self.world.update(id, |o| {
                o.key = name;
                o.desc = desc;
                o.aliases = aliases;
                for k in prior_attrs.keys() {
                    o.db.remove(k);
                }
                for (k, v) in attrs {
                    o.db.insert(k, v);
                }
                o.tags.retain(|t| !prior_tags.contains(t));
                for t in tags {
                    if !o.tags.contains(&t) {
                        o.tags.push(t);
                    }
                }
                o.db.insert(APPLIED_ATTR.into(), stamp);
            });
            updated.push(id);
        }
        Ok((updated, skipped))
    }
}
