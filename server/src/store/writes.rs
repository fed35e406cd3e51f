//! The statements that write the world, built once here: executed one by
//! one with bound values ([`Write::statement`]) by the store's functions, or
//! joined into one script with the values inline ([`script`]), which the
//! persister sends in a single round trip per commit. A commit of objects
//! alone (rows, attributes, places, deletions) goes on SQLite as four
//! statements prepared once ([`sqlite_objects_statements`]), the rows bound.

use sea_orm::sea_query::{
    CaseStatement, DeleteStatement, Expr, ExprTrait, InsertStatement, OnConflict,
    PostgresQueryBuilder, Query, QueryStatementWriter, SqliteQueryBuilder, UpdateStatement,
};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait, Statement};

use super::{
    AccountRow, account, channel, channel_line, channel_subscriber, flow_instance, object,
    server_config, timer,
};
use crate::model::channels::{ChannelLine, ChannelRecord};

/// Rows per statement when writing many (well under both backends' limits on bound values).
const ROWS_PER_STATEMENT: usize = 64;

/// One write statement.
pub(crate) enum Write {
    Insert(InsertStatement),
    Update(UpdateStatement),
    Delete(DeleteStatement),
    /// SQL written here, its values in it (see [`upsert_objects_json`]).
    Sql(String),
}

impl Write {
    /// The statement with its values bound.
    pub(crate) fn statement(&self, backend: DbBackend) -> Statement {
        match self {
            Write::Insert(s) => backend.build(s),
            Write::Update(s) => backend.build(s),
            Write::Delete(s) => backend.build(s),
            Write::Sql(s) => Statement::from_string(backend, s.clone()),
        }
    }

    /// The statement with its values written in, escaped by sea-query for
    /// the backend.
    fn sql(&self, backend: DbBackend) -> String {
        fn text<S: QueryStatementWriter>(s: &S, backend: DbBackend) -> String {
            match backend {
                DbBackend::Postgres => s.to_string(PostgresQueryBuilder),
                _ => s.to_string(SqliteQueryBuilder),
            }
        }
        match self {
            Write::Insert(s) => text(s, backend),
            Write::Update(s) => text(s, backend),
            Write::Delete(s) => text(s, backend),
            Write::Sql(s) => s.clone(),
        }
    }
}

/// How much SQL one script carries. The driver walks a script statement by
/// statement, and each step costs it a copy of what is left, so one script
/// of a hundred thousand rows cost more to copy than to write: a batch that
/// big goes as several scripts of about this size in one transaction.
pub(crate) const SCRIPT_BYTES: usize = 256 * 1024;

/// The writes as scripts of about [`SCRIPT_BYTES`] each (a statement bigger
/// than that is a script of its own), in order; none if there are none.
/// The caller runs them in one transaction.
pub(crate) fn scripts(backend: DbBackend, writes: &[Write]) -> Vec<String> {
    let mut out = Vec::new();
    each_script(backend, writes, |s| {
        out.push(s);
        true
    });
    out
}

/// The same scripts, handed to `take` one by one as each is made, until it
/// says stop (false).
pub(crate) fn each_script(
    backend: DbBackend,
    writes: &[Write],
    mut take: impl FnMut(String) -> bool,
) {
    let mut script = String::new();
    for w in writes {
        let sql = w.sql(backend);
        if !script.is_empty()
            && script.len() + sql.len() > SCRIPT_BYTES
            && !take(std::mem::take(&mut script))
        {
            return;
        }
        script.push_str(&sql);
        script.push_str(";\n");
    }
    if !script.is_empty() {
        take(script);
    }
}

/// How a transaction opens: on SQLite it takes the write lock at once
/// (IMMEDIATE), so it never has to upgrade a read lock another writer holds.
pub(crate) fn begin(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "BEGIN",
        _ => "BEGIN IMMEDIATE",
    }
}

/// The columns an object's row has replaced when it is written again (all
/// but its id and when it was made).
const OBJECT_UPDATED: [object::Column; 14] = {
    use object::Column as C;
    [
        C::Key,
        C::Typeclass,
        C::LocationId,
        C::HomeId,
        C::DestinationId,
        C::AccountId,
        C::Description,
        C::Attributes,
        C::Kind,
        C::Aliases,
        C::Tags,
        C::Permissions,
        C::Locks,
        C::Cmdsets,
    ]
};

pub(crate) fn object_upsert() -> OnConflict {
    OnConflict::column(object::Column::Id)
        .update_columns(OBJECT_UPDATED)
        .to_owned()
}

/// Objects' rows, inserted or replaced, many per statement.
///
/// On PostgreSQL the rows go as one JSON value per statement
/// ([`upsert_objects_json`]); on SQLite as a list of values.
pub(crate) fn upsert_objects(backend: DbBackend, rows: Vec<object::Model>) -> Vec<Write> {
    match backend {
        DbBackend::Postgres => upsert_objects_json(&rows),
        _ => upsert_objects_listed(rows),
    }
}

/// Rows per statement when they go as one JSON value.
const JSON_ROWS_PER_STATEMENT: usize = 4_096;

/// PostgreSQL: objects' rows inserted or replaced, thousands per statement,
/// the rows one JSON array that `json_to_recordset` unpacks. PostgreSQL
/// spent most of a big commit of listed values lexing, analysing and
/// planning them, value by value, statement by statement; one literal it
/// reads at a go, and the statement is planned once.
pub(crate) fn upsert_objects_json(rows: &[object::Model]) -> Vec<Write> {
    use sea_orm::{ColumnTrait, ColumnType, IdenStatic, Iterable};
    // The entity's columns, and each as `json_to_recordset` is to read it.
    let columns: Vec<&str> = object::Column::iter().map(|c| c.as_str()).collect();
    let columns = columns.join(", ");
    let types: Vec<String> = object::Column::iter()
        .map(|c| {
            let ty = match c.def().get_column_type() {
                ColumnType::BigInteger => "bigint",
                _ => "text",
            };
            format!("{} {ty}", c.as_str())
        })
        .collect();
    let types = types.join(", ");
    let updated: Vec<String> = OBJECT_UPDATED
        .iter()
        .map(|c| format!("{0} = excluded.{0}", c.as_str()))
        .collect();
    let updated = updated.join(", ");
    rows.chunks(JSON_ROWS_PER_STATEMENT)
        .map(|chunk| {
            let json = serde_json::to_string(chunk).unwrap_or_else(|_| "[]".into());
            let mut sql = String::with_capacity(json.len() + 1024);
            sql.push_str("INSERT INTO objects (");
            sql.push_str(&columns);
            sql.push_str(") SELECT ");
            sql.push_str(&columns);
            sql.push_str(" FROM json_to_recordset(");
            push_pg_literal(&mut sql, &json);
            sql.push_str("::json) AS r(");
            sql.push_str(&types);
            sql.push_str(") ON CONFLICT (id) DO UPDATE SET ");
            sql.push_str(&updated);
            Write::Sql(sql)
        })
        .collect()
}

/// `text` as a PostgreSQL string literal: an escape string (`E'...'`),
/// whose quotes and backslashes are doubled, so it reads the same whatever
/// `standard_conforming_strings` says.
fn push_pg_literal(sql: &mut String, text: &str) {
    sql.push_str("E'");
    for c in text.chars() {
        match c {
            '\'' => sql.push_str("''"),
            '\\' => sql.push_str("\\\\"),
            c => sql.push(c),
        }
    }
    sql.push('\'');
}

/// Objects' rows as a list of values, many per statement.
fn upsert_objects_listed(rows: Vec<object::Model>) -> Vec<Write> {
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<object::ActiveModel> = rows
            .by_ref()
            .take(ROWS_PER_STATEMENT)
            .map(|m| sea_orm::ActiveModelTrait::reset_all(object::ActiveModel::from(m)))
            .collect();
        let insert = object::Entity::insert_many(chunk)
            .on_conflict(object_upsert())
            .into_query();
        out.push(Write::Insert(insert));
    }
    out
}

/// Objects whose attributes are their only change: the new attributes,
/// many rows per statement (`WITH v AS (VALUES ...) UPDATE ... FROM v`,
/// which both backends take). A row that is not there is not made.
pub(crate) fn update_attributes(backend: DbBackend, rows: &[(i64, String)]) -> Vec<Write> {
    rows.chunks(ROWS_PER_STATEMENT * 4)
        .map(|chunk| {
            let bytes: usize = chunk.iter().map(|(_, a)| a.len() + 24).sum();
            let mut sql = String::with_capacity(bytes + 128);
            sql.push_str("WITH v(id, attributes) AS (VALUES ");
            for (i, (id, attributes)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                sql.push_str(&id.to_string());
                sql.push_str(", ");
                push_literal(backend, &mut sql, attributes);
                sql.push(')');
            }
            sql.push_str(
                ") UPDATE objects SET attributes = v.attributes FROM v WHERE objects.id = v.id",
            );
            Write::Sql(sql)
        })
        .collect()
}

/// The commit of a batch that changes objects and nothing else, on
/// SQLite: four statements whose texts never change, so the persister's
/// connection prepares them once and keeps them
/// ([`super::sqlite_write::SqliteWriter::commit_objects`]), each with its
/// rows bound as one JSON value: the rows written whole (`[{"id": 1,
/// "key": "...", ...}, ...]`, the entity's fields), the ids deleted (`[1,
/// 2]`), and the attributes and places of the objects changed in those
/// alone (`{"<id>": "<attributes>", ...}` and `{"<id>": <location or
/// null>, ...}`, [`by_id_json`]), run in that order in one transaction. A
/// script with the values written in had to be parsed anew for every
/// commit: in the fight scenario that parse was a fifth of the database
/// thread's time, in the build scenario (objects made and described) a
/// quarter. `json_each` and `->>` hand each value back as it was: a text as
/// the text, a number as an integer, `null` as NULL. The rows are walked
/// with `jsonb_each`, whose rows are binary JSON that `->>` reads in place
/// (with `json_each` each row was made text again and parsed anew for each
/// of its columns: more work than the parse of the script it replaced).
pub(crate) fn sqlite_objects_statements() -> [&'static str; 4] {
    use sea_orm::{IdenStatic, Iterable};
    static SQL: std::sync::OnceLock<[String; 4]> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let columns: Vec<&str> = object::Column::iter().map(|c| c.as_str()).collect();
        let values: Vec<String> = columns
            .iter()
            .map(|c| format!("r.value ->> '$.{c}'"))
            .collect();
        let updated: Vec<String> = OBJECT_UPDATED
            .iter()
            .map(|c| format!("{0} = excluded.{0}", c.as_str()))
            .collect();
        [
            format!(
                "INSERT INTO objects ({}) SELECT {} FROM jsonb_each(?1) AS r WHERE true \
                 ON CONFLICT (id) DO UPDATE SET {}",
                columns.join(", "),
                values.join(", "),
                updated.join(", ")
            ),
            "DELETE FROM objects WHERE id IN (SELECT value FROM json_each(?1))".to_string(),
            "UPDATE objects SET attributes = v.value FROM json_each(?1) AS v \
             WHERE objects.id = CAST(v.key AS INTEGER)"
                .to_string(),
            "UPDATE objects SET location_id = v.value FROM json_each(?1) AS v \
             WHERE objects.id = CAST(v.key AS INTEGER)"
                .to_string(),
        ]
    })
    .each_ref()
    .map(String::as_str)
}

/// Rows for [`sqlite_objects_statements`]: a JSON object of each object's id
/// and its value (the attributes' text as a string; a location as a
/// number, `null` for nowhere), escaped by serde_json.
pub(crate) fn by_id_json<T: serde::Serialize>(rows: &[(i64, T)]) -> serde_json::Result<String> {
    struct ById<'a, T>(&'a [(i64, T)]);
    impl<T: serde::Serialize> serde::Serialize for ById<'_, T> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(id, v)| (id, v)))
        }
    }
    serde_json::to_string(&ById(rows))
}

/// `text` as a string literal of the backend.
fn push_literal(backend: DbBackend, sql: &mut String, text: &str) {
    match backend {
        DbBackend::Postgres => push_pg_literal(sql, text),
        // SQLite's literals know no backslash escapes: only quotes are doubled.
        _ => {
            sql.push('\'');
            for c in text.chars() {
                if c == '\'' {
                    sql.push('\'');
                }
                sql.push(c);
            }
            sql.push('\'');
        }
    }
}

/// Where objects are (their only change), many per statement.
pub(crate) fn move_objects(moves: &[(i64, Option<i64>)]) -> Vec<Write> {
    use object::Column as C;
    moves
        .chunks(ROWS_PER_STATEMENT * 4)
        .map(|chunk| {
            let mut case = CaseStatement::new();
            for &(id, location) in chunk {
                case = case.case(Expr::col(C::Id).eq(id), Expr::val(location));
            }
            let case = case.finally(Expr::col(C::LocationId));
            Write::Update(
                Query::update()
                    .table(object::Entity)
                    .value(C::LocationId, case)
                    .and_where(Expr::col(C::Id).is_in(chunk.iter().map(|(id, _)| *id)))
                    .to_owned(),
            )
        })
        .collect()
}

/// Objects deleted, many per statement.
pub(crate) fn delete_objects(ids: &[i64]) -> Vec<Write> {
    ids.chunks(ROWS_PER_STATEMENT * 4)
        .map(|chunk| {
            Write::Delete(
                object::Entity::delete_many()
                    .filter(object::Column::Id.is_in(chunk.iter().copied()))
                    .into_query(),
            )
        })
        .collect()
}

/// Accounts deleted.
pub(crate) fn delete_accounts(ids: &std::collections::BTreeSet<i64>) -> Vec<Write> {
    if ids.is_empty() {
        return Vec::new();
    }
    vec![Write::Delete(
        Query::delete()
            .from_table(account::Entity)
            .and_where(Expr::col(account::Column::Id).is_in(ids.iter().copied()))
            .to_owned(),
    )]
}

/// The columns of accounts the running server changes.
pub(crate) fn update_accounts(rows: Vec<AccountRow>) -> Vec<Write> {
    use account::Column as C;
    rows.into_iter()
        .map(|row| {
            Write::Update(
                Query::update()
                    .table(account::Entity)
                    .values([
                        (C::IsSuperuser, row.is_superuser.into()),
                        (C::LastPuppet, row.last_puppet.into()),
                        (C::Permissions, row.permissions.into()),
                        (C::Attributes, row.attributes.into()),
                        (C::Cmdsets, row.cmdsets.into()),
                    ])
                    .and_where(Expr::col(C::Id).eq(row.id))
                    .to_owned(),
            )
        })
        .collect()
}

/// Flow rows written (replacing those of the same name), and flows deleted.
pub(crate) fn write_flows(rows: Vec<flow_instance::Model>, deleted: Vec<String>) -> Vec<Write> {
    use flow_instance::Column as C;
    let mut out: Vec<Write> = rows
        .into_iter()
        .map(|row| {
            let am: flow_instance::ActiveModel = row.into();
            let am = sea_orm::ActiveModelTrait::reset_all(am);
            Write::Insert(
                flow_instance::Entity::insert(am)
                    .on_conflict(
                        OnConflict::column(C::Name)
                            .update_columns([C::Definition, C::Data, C::UpdatedAt])
                            .to_owned(),
                    )
                    .into_query(),
            )
        })
        .collect();
    if !deleted.is_empty() {
        out.push(Write::Delete(
            flow_instance::Entity::delete_many()
                .filter(C::Name.is_in(deleted))
                .into_query(),
        ));
    }
    out
}

/// Timer rows written (replacing those of the same key), and timers deleted.
pub(crate) fn write_timers(rows: Vec<timer::Model>, deleted: Vec<String>) -> Vec<Write> {
    use timer::Column as C;
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<timer::ActiveModel> = rows
            .by_ref()
            .take(ROWS_PER_STATEMENT)
            .map(|m| sea_orm::ActiveModelTrait::reset_all(timer::ActiveModel::from(m)))
            .collect();
        out.push(Write::Insert(
            timer::Entity::insert_many(chunk)
                .on_conflict(
                    OnConflict::column(C::Key)
                        .update_columns([C::Kind, C::Data, C::UpdatedAt])
                        .to_owned(),
                )
                .into_query(),
        ));
    }
    for chunk in deleted.chunks(ROWS_PER_STATEMENT * 4) {
        out.push(Write::Delete(
            timer::Entity::delete_many()
                .filter(C::Key.is_in(chunk.iter().cloned()))
                .into_query(),
        ));
    }
    out
}

/// Channels written, channels deleted with their lines, lines said, and
/// each channel's lines beyond the newest `keep` pruned.
pub(crate) fn write_channels(
    channels: &[(i64, ChannelRecord)],
    deleted: &[i64],
    lines: &[ChannelLine],
    keep: usize,
) -> Vec<Write> {
    let mut out = Vec::new();
    for chunk in channels.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<channel::ActiveModel> = chunk
            .iter()
            .map(|(id, r)| channel::ActiveModel {
                id: sea_orm::Set(*id),
                key: sea_orm::Set(r.key.clone()),
                data: sea_orm::Set(serde_json::to_string(r).unwrap_or_default()),
            })
            .collect();
        out.push(Write::Insert(
            channel::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::column(channel::Column::Id)
                        .update_columns([channel::Column::Key, channel::Column::Data])
                        .to_owned(),
                )
                .into_query(),
        ));
    }
    for chunk in lines.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<channel_line::ActiveModel> = chunk
            .iter()
            .map(|l| channel_line::ActiveModel {
                channel_id: sea_orm::Set(l.channel),
                seq: sea_orm::Set(l.seq as i64),
                at: sea_orm::Set(l.at),
                sender: sea_orm::Set(l.sender.clone()),
                text: sea_orm::Set(l.text.clone()),
                pose: sea_orm::Set(l.pose),
            })
            .collect();
        out.push(Write::Insert(
            channel_line::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        channel_line::Column::ChannelId,
                        channel_line::Column::Seq,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .into_query(),
        ));
    }
    // Prune: per channel that was spoken on, what is older than the newest `keep`.
    let mut newest: std::collections::BTreeMap<i64, u64> = Default::default();
    for l in lines {
        let n = newest.entry(l.channel).or_default();
        *n = Ord::max(*n, l.seq);
    }
    for (ch, last) in newest {
        let below = last.saturating_sub(keep as u64);
        if below > 0 {
            out.push(Write::Delete(
                channel_line::Entity::delete_many()
                    .filter(channel_line::Column::ChannelId.eq(ch))
                    .filter(channel_line::Column::Seq.lte(below as i64))
                    .into_query(),
            ));
        }
    }
    if !deleted.is_empty() {
        out.push(Write::Delete(
            channel_line::Entity::delete_many()
                .filter(channel_line::Column::ChannelId.is_in(deleted.iter().copied()))
                .into_query(),
        ));
        out.push(Write::Delete(
            channel_subscriber::Entity::delete_many()
                .filter(channel_subscriber::Column::ChannelId.is_in(deleted.iter().copied()))
                .into_query(),
        ));
        out.push(Write::Delete(
            channel::Entity::delete_many()
                .filter(channel::Column::Id.is_in(deleted.iter().copied()))
                .into_query(),
        ));
    }
    out
}

/// Subscriptions made, changed (`Some(muted)`) or ended (`None`), keyed by
/// channel and account: a row each, however many listen.
pub(crate) fn write_subscriptions(
    subscriptions: &std::collections::BTreeMap<(i64, i64), Option<bool>>,
) -> Vec<Write> {
    let mut out = Vec::new();
    let made: Vec<channel_subscriber::ActiveModel> = subscriptions
        .iter()
        .filter_map(|((ch, account), muted)| {
            muted.map(|muted| channel_subscriber::ActiveModel {
                channel_id: sea_orm::Set(*ch),
                account_id: sea_orm::Set(*account),
                muted: sea_orm::Set(muted),
            })
        })
        .collect();
    for chunk in made.chunks(ROWS_PER_STATEMENT) {
        out.push(Write::Insert(
            channel_subscriber::Entity::insert_many(chunk.to_vec())
                .on_conflict(
                    OnConflict::columns([
                        channel_subscriber::Column::ChannelId,
                        channel_subscriber::Column::AccountId,
                    ])
                    .update_column(channel_subscriber::Column::Muted)
                    .to_owned(),
                )
                .into_query(),
        ));
    }
    // Ended: per channel, the accounts that left it.
    let mut ended: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for ((ch, account), muted) in subscriptions {
        if muted.is_none() {
            ended.entry(*ch).or_default().push(*account);
        }
    }
    for (ch, accounts) in ended {
        for chunk in accounts.chunks(ROWS_PER_STATEMENT) {
            out.push(Write::Delete(
                channel_subscriber::Entity::delete_many()
                    .filter(channel_subscriber::Column::ChannelId.eq(ch))
                    .filter(channel_subscriber::Column::AccountId.is_in(chunk.iter().copied()))
                    .into_query(),
            ));
        }
    }
    out
}

/// The `server_config` key that records a retired world id.
pub(crate) fn retired_key(world_id: &str) -> String {
    format!("{RETIRED_PREFIX}{world_id}")
}

/// The prefix of the `server_config` keys of retired world ids.
pub(crate) const RETIRED_PREFIX: &str = "retired_world_id:";

/// `server_config` rows written (inserted, or their value replaced) or,
/// for `None`, deleted.
pub(crate) fn set_config_rows(
    rows: &std::collections::BTreeMap<String, Option<String>>,
) -> Vec<Write> {
    use server_config::Column as C;
    rows.iter()
        .map(|(k, v)| match v {
            Some(v) => {
                let am = server_config::ActiveModel {
                    key: sea_orm::Set(k.clone()),
                    value: sea_orm::Set(v.clone()),
                };
                Write::Insert(
                    server_config::Entity::insert(am)
                        .on_conflict(
                            OnConflict::column(C::Key)
                                .update_column(C::Value)
                                .to_owned(),
                        )
                        .into_query(),
                )
            }
            None => Write::Delete(
                sea_orm::sea_query::Query::delete()
                    .from_table(server_config::Entity)
                    .and_where(sea_orm::sea_query::Expr::col(C::Key).eq(k.clone()))
                    .to_owned(),
            ),
        })
        .collect()
}

/// World ids whose objects were destroyed, recorded (once each).
pub(crate) fn retire_world_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<Write> {
    use server_config::Column as C;
    ids.into_iter()
        .map(|w| {
            let am = server_config::ActiveModel {
                key: sea_orm::Set(retired_key(w)),
                value: sea_orm::Set(String::new()),
            };
            Write::Insert(
                server_config::Entity::insert(am)
                    .on_conflict(OnConflict::column(C::Key).do_nothing().to_owned())
                    .into_query(),
            )
        })
        .collect()
}
