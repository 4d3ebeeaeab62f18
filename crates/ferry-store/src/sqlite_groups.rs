//! [`Groups`] and [`ScriptAccess`] on the embedded SQLite database.

use rusqlite::{Connection, OptionalExtension, params};

use crate::groups::{
    AccessLevel, GroupRecord, Groups, Joined, Member, ScriptAccess, ScriptAccessRecord, circle,
};
use crate::{SqliteConnection, StoreError};

/// The group and script-access tables, created with the rest of the schema.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS groups (
    name    TEXT PRIMARY KEY,
    created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_members (
    group_name  TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    member_kind TEXT NOT NULL CHECK (member_kind IN ('user', 'group')),
    member      TEXT NOT NULL,
    PRIMARY KEY (group_name, member_kind, member)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS group_members_by_member ON group_members (member_kind, member);
CREATE TABLE IF NOT EXISTS script_access (
    script_uri  TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('owner', 'grant')),
    member_kind TEXT NOT NULL CHECK (member_kind IN ('user', 'group')),
    member      TEXT NOT NULL,
    added       INTEGER NOT NULL,
    PRIMARY KEY (script_uri, level, member_kind, member)
) WITHOUT ROWID;
";

/// Whether the group `name` exists, read through `connection` (or a transaction on it).
fn group_exists(connection: &Connection, name: &str) -> rusqlite::Result<bool> {
    connection
        .prepare_cached("SELECT 1 FROM groups WHERE name = ?1")?
        .query_row(params![name], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

fn member_at(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Option<Member>> {
    let kind: String = row.get(first)?;
    Ok(Member::from_parts(&kind, row.get(first + 1)?))
}

impl Groups for SqliteConnection {
    fn create_group(&mut self, name: &str, now: i64) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO groups (name, created) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut statement| statement.execute(params![name, now]))
            .map(|added| added > 0)
            .map_err(|source| self.error(source))
    }

    fn delete_group(&mut self, name: &str) -> Result<bool, StoreError> {
        let run = |connection: &mut Connection| -> rusqlite::Result<bool> {
            let transaction = connection.transaction()?;
            transaction.execute(
                "DELETE FROM group_members WHERE member_kind = 'group' AND member = ?1",
                params![name],
            )?;
            transaction.execute(
                "DELETE FROM script_access WHERE member_kind = 'group' AND member = ?1",
                params![name],
            )?;
            let deleted =
                transaction.execute("DELETE FROM groups WHERE name = ?1", params![name])?;
            transaction.commit()?;
            Ok(deleted > 0)
        };
        run(&mut self.connection).map_err(|source| self.error(source))
    }

    fn groups(&mut self) -> Result<Vec<GroupRecord>, StoreError> {
        let run = |connection: &Connection| -> rusqlite::Result<Vec<GroupRecord>> {
            let mut groups: Vec<GroupRecord> = connection
                .prepare_cached("SELECT name, created FROM groups ORDER BY name")?
                .query_map([], |row| {
                    Ok(GroupRecord {
                        name: row.get(0)?,
                        created: row.get(1)?,
                        members: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut statement = connection.prepare_cached(
                "SELECT group_name, member_kind, member FROM group_members
                 ORDER BY group_name, member_kind DESC, member",
            )?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let group: String = row.get(0)?;
                if let (Ok(at), Some(member)) = (
                    groups.binary_search_by(|record| record.name.as_str().cmp(&group)),
                    member_at(row, 1)?,
                ) {
                    groups[at].members.push(member);
                }
            }
            Ok(groups)
        };
        run(&self.connection).map_err(|source| self.error(source))
    }

    fn has_group(&mut self, name: &str) -> Result<bool, StoreError> {
        group_exists(&self.connection, name).map_err(|source| self.error(source))
    }

    fn join_group(&mut self, group: &str, member: &Member) -> Result<Joined, StoreError> {
        let run = |connection: &mut Connection| -> rusqlite::Result<Joined> {
            // One write transaction: the circle check and the insert see the same groups.
            let transaction =
                connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let exists = |name: &str| group_exists(&transaction, name);
            if !exists(group)? {
                return Ok(Joined::NoSuchGroup(group.to_owned()));
            }
            if let Member::Group(joining) = member {
                if !exists(joining)? {
                    return Ok(Joined::NoSuchGroup(joining.clone()));
                }
                let edges: Vec<(String, String)> = transaction
                    .prepare_cached(
                        "SELECT group_name, member FROM group_members WHERE member_kind = 'group'",
                    )?
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                if let Some(path) = circle(&edges, group, joining) {
                    return Ok(Joined::Cycle(path));
                }
            }
            let added = transaction.execute(
                "INSERT INTO group_members (group_name, member_kind, member) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                params![group, member.kind(), member.name()],
            )?;
            transaction.commit()?;
            Ok(if added > 0 {
                Joined::Added
            } else {
                Joined::AlreadyMember
            })
        };
        run(&mut self.connection).map_err(|source| self.error(source))
    }

    fn leave_group(&mut self, group: &str, member: &Member) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached(
                "DELETE FROM group_members WHERE group_name = ?1 AND member_kind = ?2 AND member = ?3",
            )
            .and_then(|mut statement| {
                statement.execute(params![group, member.kind(), member.name()])
            })
            .map(|removed| removed > 0)
            .map_err(|source| self.error(source))
    }

    fn user_groups(&mut self, user_id: &str) -> Result<Vec<String>, StoreError> {
        // UNION (not UNION ALL) keeps each group once, so the walk ends even on a circle
        // made behind Ferry's back.
        self.connection
            .prepare_cached(
                "WITH RECURSIVE member_of (name) AS (
                     SELECT group_name FROM group_members
                         WHERE member_kind = 'user' AND member = ?1
                     UNION
                     SELECT m.group_name FROM group_members m
                         JOIN member_of ON m.member_kind = 'group' AND m.member = member_of.name
                 )
                 SELECT name FROM member_of ORDER BY name",
            )
            .and_then(|mut statement| {
                statement
                    .query_map(params![user_id], |row| row.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .map_err(|source| self.error(source))
    }
}

impl ScriptAccess for SqliteConnection {
    fn script_access(&mut self, uri: &str) -> Result<ScriptAccessRecord, StoreError> {
        let run = |connection: &Connection| -> rusqlite::Result<ScriptAccessRecord> {
            let mut record = ScriptAccessRecord::default();
            let mut statement = connection.prepare_cached(
                "SELECT level, member_kind, member FROM script_access WHERE script_uri = ?1
                 ORDER BY added, member_kind DESC, member",
            )?;
            let mut rows = statement.query(params![uri])?;
            while let Some(row) = rows.next()? {
                let level: String = row.get(0)?;
                let Some(member) = member_at(row, 1)? else {
                    continue;
                };
                if level == AccessLevel::Owner.as_str() {
                    record.owners.push(member);
                } else {
                    record.grants.push(member);
                }
            }
            Ok(record)
        };
        run(&self.connection).map_err(|source| self.error(source))
    }

    fn hand_script(
        &mut self,
        uri: &str,
        level: AccessLevel,
        member: &Member,
    ) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO script_access (script_uri, level, member_kind, member, added)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    uri,
                    level.as_str(),
                    member.kind(),
                    member.name(),
                    crate::clock::now_nanos()
                ])
            })
            .map(|added| added > 0)
            .map_err(|source| self.error(source))
    }

    fn take_script(
        &mut self,
        uri: &str,
        level: AccessLevel,
        member: &Member,
    ) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached(
                "DELETE FROM script_access
                 WHERE script_uri = ?1 AND level = ?2 AND member_kind = ?3 AND member = ?4",
            )
            .and_then(|mut statement| {
                statement.execute(params![uri, level.as_str(), member.kind(), member.name()])
            })
            .map(|removed| removed > 0)
            .map_err(|source| self.error(source))
    }

    fn forget_script_access(&mut self, uri: &str) -> Result<(), StoreError> {
        self.connection
            .prepare_cached("DELETE FROM script_access WHERE script_uri = ?1")
            .and_then(|mut statement| statement.execute(params![uri]))
            .map(|_| ())
            .map_err(|source| self.error(source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;

    fn user(id: &str) -> Member {
        Member::User(id.into())
    }

    #[test]
    fn owners_kept_by_earlier_versions_are_carried_over() {
        let dir = tempfile::tempdir().unwrap();
        {
            let connection =
                Connection::open(dir.path().join(crate::sqlite::DATABASE_FILE)).unwrap();
            connection
                .execute_batch(
                    "CREATE TABLE script_owners (script_uri TEXT NOT NULL, user_id TEXT NOT NULL,
                         added INTEGER NOT NULL, PRIMARY KEY (script_uri, user_id)) WITHOUT ROWID;
                     INSERT INTO script_owners VALUES ('a.js', 'ann', 1), ('a.js', 'bob', 2);",
                )
                .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let mut connection = store.connect().unwrap();
        assert_eq!(
            connection.script_access("a.js").unwrap().owners,
            [user("ann"), user("bob")]
        );
        // Opening again finds nothing more to carry over.
        drop(SqliteStore::open(dir.path()).unwrap());
    }
}
