//! The tables, as sea-orm entities. Each `Model` is a row; the rest of
//! each module is what sea-orm derives from it.

/// The `accounts` table: one row per account, with its password hash.
// The sea-orm derives make items (Column, ActiveModel, ...) without docs.
#[allow(missing_docs)]
pub mod account {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        /// `name` lowercased: names are unique regardless of case.
        #[sea_orm(unique)]
        pub name_lower: String,
        /// An argon2id PHC string.
        pub password_hash: String,
        pub is_superuser: bool,
        pub created_at: i64,
        pub last_login: Option<i64>,
        /// The character this account puppets on login (Evennia's `_last_puppet`).
        pub last_puppet: Option<i64>,
        /// JSON list of permission names.
        pub permissions: String,
        /// The persistent attributes, a JSON object.
        pub attributes: String,
        /// JSON list of persistent cmdset names.
        pub cmdsets: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `objects` table: one row per object of the world.
// The sea-orm derives make items (Column, ActiveModel, ...) without docs.
#[allow(missing_docs)]
pub mod object {
    use sea_orm::entity::prelude::*;

    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "objects")]
    pub struct Model {
        /// Ids are reserved in blocks through `server_config` (see `store::reserve_ids`),
        /// so that game code can create objects without waiting for the database.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i64,
        pub key: String,
        pub typeclass: String,
        /// The base kind: room, exit, character or thing.
        pub kind: String,
        pub location_id: Option<i64>,
        pub home_id: Option<i64>,
        pub destination_id: Option<i64>,
        pub account_id: Option<i64>,
        pub description: String,
        /// The persistent attributes (`db`), a JSON object.
        pub attributes: String,
        /// JSON list of aliases.
        pub aliases: String,
        /// JSON list of `{key, category}` tags.
        pub tags: String,
        /// JSON list of permission names.
        pub permissions: String,
        /// The lock string, `type:expr;type:expr`.
        pub locks: String,
        /// JSON list of persistent cmdset names.
        pub cmdsets: String,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `server_config` table: the server's own bookkeeping (the next object id, the start room).
// The sea-orm derives make items (Column, ActiveModel, ...) without docs.
#[allow(missing_docs)]
pub mod server_config {
    use sea_orm::entity::prelude::*;

    /// Small named values the server keeps: the start room, the next free object id, ...
    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "server_config")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub value: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `help_entries` table: help topics builders wrote with `sethelp`.
// The sea-orm derives make items (Column, ActiveModel, ...) without docs.
#[allow(missing_docs)]
pub mod help_entry {
    use sea_orm::entity::prelude::*;

    /// A help topic written in the game (`sethelp`), beside the commands' own help.
    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "help_entries")]
    pub struct Model {
        /// The topic, lowercased.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub category: String,
        pub text: String,
        /// Who may read it, e.g. `view:perm(Builder)`; empty: everyone.
        pub locks: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `flow_instances` table: one row per running flow, its whole state as JSON.
// The sea-orm derives make items (Column, ActiveModel, ...) without docs.
#[allow(missing_docs)]
pub mod flow_instance {
    use sea_orm::entity::prelude::*;

    /// A running flow: its definition's name and its whole state as JSON.
    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "flow_instances")]
    pub struct Model {
        /// The instance's unique name.
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub definition: String,
        /// `FlowInstance` as JSON.
        pub data: String,
        /// When it was last written (ms since the Unix epoch).
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `timers` table: one row per persistent script, delay, ticker
/// subscription and tick group, its whole state as JSON.
// The sea-orm derives make items (Column, ActiveModel, ...) without docs.
#[allow(missing_docs)]
pub mod timer {
    use sea_orm::entity::prelude::*;

    /// A timer: `script:12`, `delay:3`, `ticks:60000`, `ticker:60000:12:regen`.
    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "timers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// `script`, `delay`, `ticks` or `ticker`.
        pub kind: String,
        /// `TimerRecord` as JSON.
        pub data: String,
        /// When it was last written (ms since the Unix epoch).
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `channels` table: one row per channel, its state as JSON.
// The sea-orm derives make items (Column, ActiveModel, ...) without docs.
#[allow(missing_docs)]
pub mod channel {
    use sea_orm::entity::prelude::*;

    /// A channel: key, aliases, locks, subscribers (`ChannelRecord` as JSON).
    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "channels")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i64,
        pub key: String,
        pub data: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `channel_subscribers` table: who listens to each channel, a row each.
// The sea-orm derives make items (Column, ActiveModel, ...) without docs.
#[allow(missing_docs)]
pub mod channel_subscriber {
    use sea_orm::entity::prelude::*;

    /// An account subscribed to a channel.
    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "channel_subscribers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub channel_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: i64,
        /// Subscribed but hearing nothing for now.
        pub muted: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `channel_lines` table: what was said on the channels, the newest
/// lines of each (older ones are pruned as lines are written).
// The sea-orm derives make items (Column, ActiveModel, ...) without docs.
#[allow(missing_docs)]
pub mod channel_line {
    use sea_orm::entity::prelude::*;

    /// One line said on a channel.
    #[derive(
        Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize,
    )]
    #[sea_orm(table_name = "channel_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub channel_id: i64,
        /// Its number on the channel.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub at: i64,
        pub sender: String,
        pub text: String,
        pub pose: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
