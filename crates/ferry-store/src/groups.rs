//! Groups of users, which may contain other groups, and who may manage which uploaded
//! script: its owners and those it was granted to, each a user or a group. The store keeps
//! the records and refuses a membership that would close a circle; what the records allow is
//! decided by the management API.

use std::collections::{HashMap, VecDeque};

use crate::StoreError;

/// A member of a group, an owner of a script or a grantee: a user (by id) or a group (by
/// name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Member {
    /// A user, by Ferry's id for them.
    User(String),
    /// A group, by name: every member of it, directly or through nested groups.
    Group(String),
}

impl Member {
    /// `"user"` or `"group"`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Member::User(_) => "user",
            Member::Group(_) => "group",
        }
    }

    /// The user's id or the group's name.
    pub fn name(&self) -> &str {
        match self {
            Member::User(name) | Member::Group(name) => name,
        }
    }

    /// The member stored as `kind` and `name`, if `kind` is known.
    pub fn from_parts(kind: &str, name: String) -> Option<Member> {
        match kind {
            "user" => Some(Member::User(name)),
            "group" => Some(Member::Group(name)),
            _ => None,
        }
    }
}

/// A group as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Its name (unique).
    pub name: String,
    /// When it was made, in seconds since the Unix epoch.
    pub created: i64,
    /// Its direct members: users and groups.
    pub members: Vec<Member>,
}

/// What adding a member to a group did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// The member was added.
    Added,
    /// It was a member already.
    AlreadyMember,
    /// There is no such group (the one joined, or the one joining).
    NoSuchGroup(String),
    /// The group joining already contains the group joined: the circle of groups, from the
    /// group joined back to itself.
    Cycle(Vec<String>),
}

/// How far a script is handed to someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessLevel {
    /// Owners manage the script: change, read, delete it, and say who else may.
    Owner,
    /// Grantees change and read the script.
    Grant,
}

impl AccessLevel {
    /// `"owner"` or `"grant"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Owner => "owner",
            AccessLevel::Grant => "grant",
        }
    }
}

/// Who a script is handed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptAccessRecord {
    /// Its owners, in the order they were added.
    pub owners: Vec<Member>,
    /// Those it was granted to, in the order they were added.
    pub grants: Vec<Member>,
}

/// Groups and their members, on either back end.
pub trait Groups {
    /// Makes the group `name`; says whether it is new.
    fn create_group(&mut self, name: &str, now: i64) -> Result<bool, StoreError>;
    /// Deletes the group `name`, its memberships both ways and the scripts handed to it;
    /// says whether it existed.
    fn delete_group(&mut self, name: &str) -> Result<bool, StoreError>;
    /// Every group with its direct members, by name.
    fn groups(&mut self) -> Result<Vec<GroupRecord>, StoreError>;
    /// Whether the group `name` exists.
    fn has_group(&mut self, name: &str) -> Result<bool, StoreError>;
    /// Adds `member` to `group`, unless that would make a group contain itself.
    fn join_group(&mut self, group: &str, member: &Member) -> Result<Joined, StoreError>;
    /// Removes `member` from `group`; says whether it was one.
    fn leave_group(&mut self, group: &str, member: &Member) -> Result<bool, StoreError>;
    /// Every group the user `user_id` belongs to, directly or through nested groups, by
    /// name.
    fn user_groups(&mut self, user_id: &str) -> Result<Vec<String>, StoreError>;
}

/// Who may manage which uploaded script, besides administrators.
pub trait ScriptAccess {
    /// The owners and grantees of `uri`.
    fn script_access(&mut self, uri: &str) -> Result<ScriptAccessRecord, StoreError>;
    /// Hands `uri` to `member` at `level`; says whether that is new.
    fn hand_script(
        &mut self,
        uri: &str,
        level: AccessLevel,
        member: &Member,
    ) -> Result<bool, StoreError>;
    /// Takes `uri` back from `member` at `level`; says whether it had been handed.
    fn take_script(
        &mut self,
        uri: &str,
        level: AccessLevel,
        member: &Member,
    ) -> Result<bool, StoreError>;
    /// Forgets who `uri` was handed to (the script was deleted).
    fn forget_script_access(&mut self, uri: &str) -> Result<(), StoreError>;
}

/// The circle that putting group `joining` into group `joined` would close, given the
/// existing `(group, member group)` edges: the path from `joined` through `joining` and back
/// to `joined`, or `None` when there is none.
pub fn circle(edges: &[(String, String)], joined: &str, joining: &str) -> Option<Vec<String>> {
    if joined == joining {
        return Some(vec![joined.to_owned(), joined.to_owned()]);
    }
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for (group, member) in edges {
        children.entry(group).or_default().push(member);
    }
    // Breadth first from `joining` to `joined`, remembering how each group was reached.
    let mut reached_from: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([joining]);
    while let Some(group) = queue.pop_front() {
        for &child in children.get(group).map_or(&[][..], Vec::as_slice) {
            if child == joining || reached_from.contains_key(child) {
                continue;
            }
            reached_from.insert(child, group);
            if child == joined {
                let mut path = vec![joined.to_owned()];
                let mut at = joined;
                while at != joining {
                    at = reached_from[at];
                    path.push(at.to_owned());
                }
                path.reverse();
                path.insert(0, joined.to_owned());
                return Some(path);
            }
            queue.push_back(child);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn a_circle_is_named_from_the_group_joined_back_to_itself() {
        // staff contains devs, devs contains ops: putting staff into ops closes
        // ops → staff → devs → ops.
        let existing = edges(&[("staff", "devs"), ("devs", "ops")]);
        assert_eq!(
            circle(&existing, "ops", "staff"),
            Some(vec![
                "ops".into(),
                "staff".into(),
                "devs".into(),
                "ops".into()
            ])
        );
        assert_eq!(circle(&existing, "staff", "ops"), None);
        assert_eq!(
            circle(&existing, "ops", "ops"),
            Some(vec!["ops".into(), "ops".into()])
        );
    }

    #[test]
    fn diamonds_are_not_circles() {
        let existing = edges(&[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]);
        assert_eq!(circle(&existing, "a", "d"), None);
        assert_eq!(circle(&existing, "d", "a").map(|path| path.len()), Some(4));
    }
}
