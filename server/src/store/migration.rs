//! Versioned schema migrations, applied automatically at server start and by `tavern migrate`.

// `&SchemaManager<'_>` would be the idiom, but async-trait's expansion then
// no longer matches the trait's signature.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// Every migration, in order (sea-orm-migration's `MigratorTrait`).
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_init::Migration),
            Box::new(m20261122_000002_game_core::Migration),
            Box::new(m20261122_000003_flows::Migration),
            Box::new(m20261205_000004_timers::Migration),
            Box::new(m20261205_000005_channels::Migration),
            Box::new(m20261206_000006_objects_rewritten_in_place::Migration),
            Box::new(m20261206_000007_channel_subscribers::Migration),
        ]
    }
}

mod m20261122_000001_init {
    use super::*;

    pub(super) struct Migration;

    // Named by hand: the derive names a migration after its file, and both live in
    // this one. The first keeps the name the derive gave it, which databases record.
    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "migration"
        }
    }

    #[derive(DeriveIden)]
    enum Accounts {
        Table,
        Id,
        Name,
        NameLower,
        PasswordHash,
        IsSuperuser,
        CreatedAt,
        LastLogin,
        LastPuppet,
    }

    #[derive(DeriveIden)]
    enum Objects {
        Table,
        Id,
        Key,
        Typeclass,
        LocationId,
        HomeId,
        DestinationId,
        AccountId,
        Description,
        Attributes,
        CreatedAt,
    }

    #[derive(DeriveIden)]
    enum ServerConfig {
        Table,
        Key,
        Value,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(Accounts::Table)
                        .if_not_exists()
                        .col(big_pk_auto(Accounts::Id))
                        .col(string(Accounts::Name))
                        .col(string_uniq(Accounts::NameLower))
                        .col(string(Accounts::PasswordHash))
                        .col(boolean(Accounts::IsSuperuser).default(false))
                        .col(big_integer(Accounts::CreatedAt))
                        .col(big_integer_null(Accounts::LastLogin))
                        .col(big_integer_null(Accounts::LastPuppet))
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(Objects::Table)
                        .if_not_exists()
                        .col(big_integer(Objects::Id).primary_key())
                        .col(string(Objects::Key))
                        .col(string(Objects::Typeclass))
                        .col(big_integer_null(Objects::LocationId))
                        .col(big_integer_null(Objects::HomeId))
                        .col(big_integer_null(Objects::DestinationId))
                        .col(big_integer_null(Objects::AccountId))
                        .col(text(Objects::Description))
                        .col(text(Objects::Attributes))
                        .col(big_integer(Objects::CreatedAt))
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name("objects_location")
                        .table(Objects::Table)
                        .col(Objects::LocationId)
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(ServerConfig::Table)
                        .if_not_exists()
                        .col(string(ServerConfig::Key).primary_key())
                        .col(text(ServerConfig::Value))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            for t in [
                Objects::Table.into_iden(),
                Accounts::Table.into_iden(),
                ServerConfig::Table.into_iden(),
            ] {
                manager
                    .drop_table(Table::drop().table(t).to_owned())
                    .await?;
            }
            Ok(())
        }

        // SQLite DDL is transactional: a failed migration leaves nothing half-applied.
        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

/// Game core: object kinds, aliases, tags, permissions, locks and cmdsets;
/// account permissions, attributes and cmdsets; stored help topics.
mod m20261122_000002_game_core {
    use super::*;

    pub(super) struct Migration;

    // Named by hand: the derive names a migration after its file, and both live in this one.
    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261122_000002_game_core"
        }
    }

    #[derive(DeriveIden)]
    enum Objects {
        Table,
        Kind,
        Typeclass,
        Aliases,
        Tags,
        Permissions,
        Locks,
        Cmdsets,
    }

    #[derive(DeriveIden)]
    enum Accounts {
        Table,
        Permissions,
        Attributes,
        Cmdsets,
        IsSuperuser,
    }

    #[derive(DeriveIden)]
    enum HelpEntries {
        Table,
        Key,
        Category,
        Text,
        Locks,
    }

    /// One column per ALTER: SQLite takes one change per statement.
    async fn add_text(
        manager: &SchemaManager<'_>,
        table: impl IntoIden + 'static,
        col: impl IntoIden + 'static,
        default: &str,
    ) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(table)
                    .add_column(text(col).default(default.to_string()))
                    .to_owned(),
            )
            .await
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            add_text(manager, Objects::Table, Objects::Kind, "thing").await?;
            for col in [
                Objects::Aliases,
                Objects::Tags,
                Objects::Permissions,
                Objects::Cmdsets,
            ] {
                add_text(manager, Objects::Table, col, "[]").await?;
            }
            add_text(manager, Objects::Table, Objects::Locks, "").await?;
            add_text(
                manager,
                Accounts::Table,
                Accounts::Permissions,
                "[\"Player\"]",
            )
            .await?;
            add_text(manager, Accounts::Table, Accounts::Attributes, "{}").await?;
            add_text(manager, Accounts::Table, Accounts::Cmdsets, "[]").await?;
            // Objects made before kinds existed: the three built-in kinds were
            // their typeclass names.
            manager
                .exec_stmt(
                    Query::update()
                        .table(Objects::Table)
                        .value(Objects::Kind, Expr::col(Objects::Typeclass))
                        .and_where(Expr::col(Objects::Typeclass).is_in([
                            "room",
                            "exit",
                            "character",
                        ]))
                        .to_owned(),
                )
                .await?;
            manager
                .exec_stmt(
                    Query::update()
                        .table(Accounts::Table)
                        .value(Accounts::Permissions, "[\"Developer\"]")
                        .and_where(Expr::col(Accounts::IsSuperuser).eq(true))
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(HelpEntries::Table)
                        .if_not_exists()
                        .col(string(HelpEntries::Key).primary_key())
                        .col(string(HelpEntries::Category))
                        .col(text(HelpEntries::Text))
                        .col(text(HelpEntries::Locks))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(HelpEntries::Table).to_owned())
                .await?;
            for col in [
                Objects::Kind,
                Objects::Aliases,
                Objects::Tags,
                Objects::Permissions,
                Objects::Locks,
                Objects::Cmdsets,
            ] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Objects::Table)
                            .drop_column(col)
                            .to_owned(),
                    )
                    .await?;
            }
            for col in [
                Accounts::Permissions,
                Accounts::Attributes,
                Accounts::Cmdsets,
            ] {
                manager
                    .alter_table(
                        Table::alter()
                            .table(Accounts::Table)
                            .drop_column(col)
                            .to_owned(),
                    )
                    .await?;
            }
            Ok(())
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

/// Flows: one row per running flow instance, its whole state as JSON.
mod m20261122_000003_flows {
    use super::*;

    pub(super) struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261122_000003_flows"
        }
    }

    #[derive(DeriveIden)]
    enum FlowInstances {
        Table,
        Name,
        Definition,
        Data,
        UpdatedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(FlowInstances::Table)
                        .if_not_exists()
                        .col(string(FlowInstances::Name).primary_key())
                        .col(string(FlowInstances::Definition))
                        .col(text(FlowInstances::Data))
                        .col(big_integer(FlowInstances::UpdatedAt))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(FlowInstances::Table).to_owned())
                .await
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

/// Timers: one row per persistent script, delay, ticker and tick group.
mod m20261205_000004_timers {
    use super::*;

    pub(super) struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261205_000004_timers"
        }
    }

    #[derive(DeriveIden)]
    enum Timers {
        Table,
        Key,
        Kind,
        Data,
        UpdatedAt,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(Timers::Table)
                        .if_not_exists()
                        .col(string(Timers::Key).primary_key())
                        .col(string(Timers::Kind))
                        .col(text(Timers::Data))
                        .col(big_integer(Timers::UpdatedAt))
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(Timers::Table).to_owned())
                .await
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

/// Channels and the lines said on them.
mod m20261205_000005_channels {
    use super::*;

    pub(super) struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261205_000005_channels"
        }
    }

    #[derive(DeriveIden)]
    enum Channels {
        Table,
        Id,
        Key,
        Data,
    }

    #[derive(DeriveIden)]
    enum ChannelLines {
        Table,
        ChannelId,
        Seq,
        At,
        Sender,
        Text,
        Pose,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(Channels::Table)
                        .if_not_exists()
                        .col(big_integer(Channels::Id).primary_key())
                        .col(string(Channels::Key))
                        .col(text(Channels::Data))
                        .to_owned(),
                )
                .await?;
            manager
                .create_table(
                    Table::create()
                        .table(ChannelLines::Table)
                        .if_not_exists()
                        .col(big_integer(ChannelLines::ChannelId))
                        .col(big_integer(ChannelLines::Seq))
                        .col(big_integer(ChannelLines::At))
                        .col(string(ChannelLines::Sender))
                        .col(text(ChannelLines::Text))
                        .col(boolean(ChannelLines::Pose))
                        .primary_key(
                            Index::create()
                                .col(ChannelLines::ChannelId)
                                .col(ChannelLines::Seq),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(ChannelLines::Table).to_owned())
                .await?;
            manager
                .drop_table(Table::drop().table(Channels::Table).to_owned())
                .await
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

/// The objects' table is written over and over by the write-behind (every
/// change to an object rewrites its row), and read whole only at start: the
/// index by location served no query and cost every rewrite an entry. On
/// PostgreSQL its pages keep room for a row's new version, so a rewrite
/// stays on its page and touches no index (a "HOT" update).
mod m20261206_000006_objects_rewritten_in_place {
    use super::*;

    pub(super) struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261206_000006_objects_rewritten_in_place"
        }
    }

    #[derive(DeriveIden)]
    enum Objects {
        Table,
        LocationId,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_index(
                    Index::drop()
                        .name("objects_location")
                        .table(Objects::Table)
                        .to_owned(),
                )
                .await?;
            if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
                manager
                    .get_connection()
                    .execute_unprepared("ALTER TABLE objects SET (fillfactor = 50)")
                    .await?;
            }
            Ok(())
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            if manager.get_database_backend() == sea_orm::DbBackend::Postgres {
                manager
                    .get_connection()
                    .execute_unprepared("ALTER TABLE objects RESET (fillfactor)")
                    .await?;
            }
            manager
                .create_index(
                    Index::create()
                        .name("objects_location")
                        .table(Objects::Table)
                        .col(Objects::LocationId)
                        .to_owned(),
                )
                .await
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}

/// A channel's subscribers were a list in its row, so every join rewrote
/// the list of everyone who listens: now a row each. Rows of older builds
/// keep their lists until the server loads them, which moves them here
/// (`Channels::insert_loaded`) — in Rust, alike on both backends.
mod m20261206_000007_channel_subscribers {
    use super::*;

    pub(super) struct Migration;

    impl MigrationName for Migration {
        fn name(&self) -> &str {
            "m20261206_000007_channel_subscribers"
        }
    }

    #[derive(DeriveIden)]
    enum ChannelSubscribers {
        Table,
        ChannelId,
        AccountId,
        Muted,
    }

    #[async_trait::async_trait]
    impl MigrationTrait for Migration {
        async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .create_table(
                    Table::create()
                        .table(ChannelSubscribers::Table)
                        .if_not_exists()
                        .col(big_integer(ChannelSubscribers::ChannelId))
                        .col(big_integer(ChannelSubscribers::AccountId))
                        .col(boolean(ChannelSubscribers::Muted))
                        .primary_key(
                            Index::create()
                                .col(ChannelSubscribers::ChannelId)
                                .col(ChannelSubscribers::AccountId),
                        )
                        .to_owned(),
                )
                .await
        }

        async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
            manager
                .drop_table(Table::drop().table(ChannelSubscribers::Table).to_owned())
                .await
        }

        fn use_transaction(&self) -> Option<bool> {
            Some(true)
        }
    }
}
