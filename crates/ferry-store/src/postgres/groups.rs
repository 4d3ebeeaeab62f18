//! [`Groups`] and [`ScriptAccess`] on PostgreSQL.

use tokio_postgres::Row;

use super::PostgresConnection;
use crate::StoreError;
use crate::groups::{
    AccessLevel, GroupRecord, Groups, Joined, Member, ScriptAccess, ScriptAccessRecord, circle,
};

/// The lock taken while a membership is checked for circles and added, so that two nodes
/// adding memberships at once cannot close a circle between them.
const MEMBERSHIP_LOCK: i64 = 0x6665_7272_795f_676d;

fn member_at(row: &Row, first: usize) -> Result<Option<Member>, tokio_postgres::Error> {
    let kind: String = row.try_get(first)?;
    Ok(Member::from_parts(&kind, row.try_get(first + 1)?))
}

impl Groups for PostgresConnection {
    fn create_group(&mut self, name: &str, now: i64) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "INSERT INTO groups (name, created) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .await?;
            Ok(client.execute(&statement, &[&name, &now]).await? > 0)
        })
    }

    fn delete_group(&mut self, name: &str) -> Result<bool, StoreError> {
        self.with(async |client| {
            let transaction = client.transaction().await?;
            transaction
                .execute(
                    "DELETE FROM group_members WHERE member_kind = 'group' AND member = $1",
                    &[&name],
                )
                .await?;
            transaction
                .execute(
                    "DELETE FROM script_access WHERE member_kind = 'group' AND member = $1",
                    &[&name],
                )
                .await?;
            let deleted = transaction
                .execute("DELETE FROM groups WHERE name = $1", &[&name])
                .await?;
            transaction.commit().await?;
            Ok(deleted > 0)
        })
    }

    fn groups(&mut self) -> Result<Vec<GroupRecord>, StoreError> {
        self.with(async |client| {
            let mut groups = client
                .query(
                    "SELECT name, created FROM groups ORDER BY name COLLATE \"C\"",
                    &[],
                )
                .await?
                .iter()
                .map(|row| {
                    Ok(GroupRecord {
                        name: row.try_get(0)?,
                        created: row.try_get(1)?,
                        members: Vec::new(),
                    })
                })
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
            let rows = client
                .query(
                    "SELECT group_name, member_kind, member FROM group_members
                     ORDER BY group_name COLLATE \"C\", member_kind DESC, member COLLATE \"C\"",
                    &[],
                )
                .await?;
            for row in &rows {
                let group: String = row.try_get(0)?;
                if let (Ok(at), Some(member)) = (
                    groups.binary_search_by(|record| record.name.as_str().cmp(&group)),
                    member_at(row, 1)?,
                ) {
                    groups[at].members.push(member);
                }
            }
            Ok(groups)
        })
    }

    fn has_group(&mut self, name: &str) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("SELECT 1 FROM groups WHERE name = $1")
                .await?;
            Ok(client.query_opt(&statement, &[&name]).await?.is_some())
        })
    }

    fn join_group(&mut self, group: &str, member: &Member) -> Result<Joined, StoreError> {
        self.with(async |client| {
            let transaction = client.transaction().await?;
            // The circle check and the insert see the same groups on every node.
            transaction
                .execute("SELECT pg_advisory_xact_lock($1)", &[&MEMBERSHIP_LOCK])
                .await?;
            let exists = async |name: &str| {
                transaction
                    .query_opt("SELECT 1 FROM groups WHERE name = $1", &[&name])
                    .await
                    .map(|found| found.is_some())
            };
            if !exists(group).await? {
                return Ok(Joined::NoSuchGroup(group.to_owned()));
            }
            if let Member::Group(joining) = member {
                if !exists(joining).await? {
                    return Ok(Joined::NoSuchGroup(joining.clone()));
                }
                let edges = transaction
                    .query(
                        "SELECT group_name, member FROM group_members WHERE member_kind = 'group'",
                        &[],
                    )
                    .await?
                    .iter()
                    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                    .collect::<Result<Vec<(String, String)>, tokio_postgres::Error>>()?;
                if let Some(path) = circle(&edges, group, joining) {
                    return Ok(Joined::Cycle(path));
                }
            }
            let added = transaction
                .execute(
                    "INSERT INTO group_members (group_name, member_kind, member) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                    &[&group, &member.kind(), &member.name()],
                )
                .await?;
            transaction.commit().await?;
            Ok(if added > 0 {
                Joined::Added
            } else {
                Joined::AlreadyMember
            })
        })
    }

    fn leave_group(&mut self, group: &str, member: &Member) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "DELETE FROM group_members WHERE group_name = $1 AND member_kind = $2 AND member = $3",
                )
                .await?;
            Ok(client
                .execute(&statement, &[&group, &member.kind(), &member.name()])
                .await?
                > 0)
        })
    }

    fn user_groups(&mut self, user_id: &str) -> Result<Vec<String>, StoreError> {
        // UNION (not UNION ALL) keeps each group once, so the walk ends even on a circle
        // made behind Ferry's back.
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "WITH RECURSIVE member_of (name) AS (
                         SELECT group_name FROM group_members
                             WHERE member_kind = 'user' AND member = $1
                         UNION
                         SELECT m.group_name FROM group_members m
                             JOIN member_of ON m.member_kind = 'group' AND m.member = member_of.name
                     )
                     SELECT name FROM member_of ORDER BY name COLLATE \"C\"",
                )
                .await?;
            client
                .query(&statement, &[&user_id])
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect()
        })
    }
}

impl ScriptAccess for PostgresConnection {
    fn script_access(&mut self, uri: &str) -> Result<ScriptAccessRecord, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "SELECT level, member_kind, member FROM script_access WHERE script_uri = $1
                     ORDER BY added, member_kind DESC, member COLLATE \"C\"",
                )
                .await?;
            let mut record = ScriptAccessRecord::default();
            for row in client.query(&statement, &[&uri]).await? {
                let level: String = row.try_get(0)?;
                let Some(member) = member_at(&row, 1)? else {
                    continue;
                };
                if level == AccessLevel::Owner.as_str() {
                    record.owners.push(member);
                } else {
                    record.grants.push(member);
                }
            }
            Ok(record)
        })
    }

    fn hand_script(
        &mut self,
        uri: &str,
        level: AccessLevel,
        member: &Member,
    ) -> Result<bool, StoreError> {
        let added = crate::clock::now_nanos();
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "INSERT INTO script_access (script_uri, level, member_kind, member, added)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .await?;
            Ok(client
                .execute(
                    &statement,
                    &[
                        &uri,
                        &level.as_str(),
                        &member.kind(),
                        &member.name(),
                        &added,
                    ],
                )
                .await?
                > 0)
        })
    }

    fn take_script(
        &mut self,
        uri: &str,
        level: AccessLevel,
        member: &Member,
    ) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "DELETE FROM script_access
                     WHERE script_uri = $1 AND level = $2 AND member_kind = $3 AND member = $4",
                )
                .await?;
            Ok(client
                .execute(
                    &statement,
                    &[&uri, &level.as_str(), &member.kind(), &member.name()],
                )
                .await?
                > 0)
        })
    }

    fn forget_script_access(&mut self, uri: &str) -> Result<(), StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM script_access WHERE script_uri = $1")
                .await?;
            client.execute(&statement, &[&uri]).await?;
            Ok(())
        })
    }
}
