//! Versioned schema migrations, applied automatically at server start and by `tavern migrate`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261122_000001_init::Migration)]
    }
}

mod m20261122_000001_init {
    use super::*;

    #[derive(DeriveMigrationName)]
    pub struct Migration;

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
