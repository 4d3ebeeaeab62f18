//! What a script may send to its database, checked before the database sees it.
//!
//! Each script works in a namespace of its own (a file on SQLite, a schema on PostgreSQL)
//! and names its tables without a qualifier. The guard keeps it there: it parses every
//! statement and refuses
//! - statements other than queries, data changes and the table DDL a script needs
//!   (`SELECT`/`WITH`/`VALUES`, `INSERT`, `UPDATE`, `DELETE`, `CREATE`/`ALTER`/`DROP`
//!   `TABLE`, `INDEX` and `VIEW`, `TRUNCATE`): no `SET`/`RESET`, transaction control,
//!   `COPY`, `ATTACH`, `PRAGMA`, `DO`, functions, triggers, roles or grants;
//! - any qualified object name (`schema.table`, `db.table.column`): the only two-part
//!   names accepted are `table.column` references inside expressions;
//! - any name starting with `pg_` (PostgreSQL's catalogs resolve without a qualifier);
//! - every function that is not on the list of pure functions below (no `set_config`,
//!   `query_to_xml`, `dblink`, `pg_read_file`, `load_extension`, ...), and every
//!   table-valued function but a few.
//!
//! The guard also makes placeholders portable: `?`, `?NNN` and `$NNN` mean the same on
//! both back ends (on PostgreSQL, `?` is therefore not the `jsonb` operator).

use std::collections::HashMap;
use std::ops::ControlFlow;

use sqlparser::ast::{
    AlterTableOperation, ColumnOption, DataType, Expr, Ident, ObjectName, ObjectType, Query,
    SetExpr, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

/// The SQL dialect of a back end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlDialect {
    /// SQLite (the embedded store).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl SqlDialect {
    /// Its name, as scripts see it (`db.dialect`).
    pub fn name(self) -> &'static str {
        match self {
            SqlDialect::Sqlite => "sqlite",
            SqlDialect::Postgres => "postgres",
        }
    }

    fn parser_dialect(self) -> &'static dyn Dialect {
        match self {
            SqlDialect::Sqlite => &SQLiteDialect {},
            SqlDialect::Postgres => &PostgreSqlDialect {},
        }
    }
}

/// A statement the guard let through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The text to send: the script's, with its placeholders in the back end's spelling.
    pub sql: String,
    /// Whether the statement may make the database bigger (refused past the quota).
    pub grows: bool,
    /// Whether it changes the schema (`CREATE`, `ALTER`, `DROP`, `TRUNCATE`): such
    /// statements of one script take turns, so that `CREATE TABLE IF NOT EXISTS` from
    /// several workers or nodes at once is safe.
    pub changes_schema: bool,
    /// How many parameters it takes (the highest placeholder number).
    pub parameters: usize,
}

/// The deepest nesting the parser follows (a bound on the work and stack of one check).
const RECURSION_LIMIT: usize = 64;

/// Checks one statement (a trailing `;` is fine).
pub fn check(dialect: SqlDialect, sql: &str) -> Result<Checked, String> {
    let mut all = check_all(dialect, sql)?;
    match all.len() {
        1 => Ok(all.remove(0)),
        0 => Err("the SQL is empty".into()),
        n => Err(format!(
            "prepare() takes one statement and this SQL has {n}; use db.batch() or db.exec()"
        )),
    }
}

/// Checks every statement of `sql` (for `db.exec`); each comes back as its own text.
pub fn check_all(dialect: SqlDialect, sql: &str) -> Result<Vec<Checked>, String> {
    let tokens = Tokenizer::new(dialect.parser_dialect(), sql)
        .tokenize_with_location()
        .map_err(|error| format!("cannot read the SQL: {error}"))?;
    let scan = scan_tokens(dialect, sql, &tokens)?;
    let mut statements = Parser::new(dialect.parser_dialect())
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(scan.tokens.clone())
        .parse_statements()
        .map_err(|error| format!("cannot read the SQL: {error}"))?;
    let mut inspector = Inspector::new(dialect);
    for statement in &statements {
        if let ControlFlow::Break(refusal) = statement.visit(&mut inspector) {
            return Err(refusal);
        }
    }
    if inspector.qualified_in_expressions != scan.qualified_names {
        return Err(
            "qualified names (schema.table) are not allowed: a script sees its own tables only, by their plain names"
                .into(),
        );
    }
    let mut numbered_by_ferry = false;
    if dialect == SqlDialect::Postgres {
        for statement in &mut statements {
            numbered_by_ferry |= number_integer_keys(statement);
        }
    }
    if statements.len() == 1 {
        let sql = if numbered_by_ferry {
            statements[0].to_string()
        } else {
            scan.text
        };
        return Ok(vec![Checked {
            sql,
            grows: inspector.grows,
            changes_schema: inspector.changes_schema,
            parameters: scan.parameters,
        }]);
    }
    // Several statements (db.exec): each is sent on its own, from the parsed form.
    statements
        .iter()
        .map(|statement| {
            let mut one = Inspector::new(dialect);
            let _ = statement.visit(&mut one);
            Ok(Checked {
                sql: statement.to_string(),
                grows: one.grows,
                changes_schema: one.changes_schema,
                parameters: 0,
            })
        })
        .collect()
}

/// Gives PostgreSQL SQLite's meaning of a column declared `INTEGER PRIMARY KEY` (with
/// or without `AUTOINCREMENT`): it numbers itself. Declared `BIGSERIAL PRIMARY KEY` there.
/// Returns whether the statement changed.
fn number_integer_keys(statement: &mut Statement) -> bool {
    let Statement::CreateTable(table) = statement else {
        return false;
    };
    let mut changed = false;
    for column in &mut table.columns {
        let integer = matches!(
            column.data_type,
            DataType::Integer(_) | DataType::Int(_) | DataType::BigInt(_)
        );
        let primary = column
            .options
            .iter()
            .any(|option| matches!(option.option, ColumnOption::PrimaryKey(_)));
        if integer && primary {
            column.data_type =
                DataType::Custom(ObjectName::from(vec![Ident::new("BIGSERIAL")]), vec![]);
            changed = true;
        }
    }
    changed
}

/// What the token scan found.
struct Scan {
    tokens: Vec<TokenWithSpan>,
    /// The SQL to send (rewritten only when a placeholder needed it).
    text: String,
    /// How many `a.b` pairs the names of the statement hold.
    qualified_names: usize,
    parameters: usize,
}

fn scan_tokens(
    dialect: SqlDialect,
    original: &str,
    tokens: &[TokenWithSpan],
) -> Result<Scan, String> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut rewritten = false;
    let mut next_anonymous = 0usize;
    let mut parameters = 0usize;
    let mut qualified_names = 0usize;
    // The last two tokens that were not whitespace, to find `word . word`.
    let mut previous: [Option<&Token>; 2] = [None, None];
    let mut index = 0;
    while index < tokens.len() {
        let with_span = &tokens[index];
        index += 1;
        let token = &with_span.token;
        if let Token::Word(word) = token {
            if dialect == SqlDialect::Postgres && word.keyword == Keyword::AUTOINCREMENT {
                // SQLite's word; `INTEGER PRIMARY KEY` numbers itself there anyway.
                rewritten = true;
                continue;
            }
            if word.value.to_ascii_lowercase().starts_with("pg_") {
                return Err(format!(
                    "the name {} is not allowed: names starting with pg_ belong to PostgreSQL",
                    word.value
                ));
            }
            if let [Some(Token::Word(_)), Some(Token::Period)] = previous {
                qualified_names += 1;
            }
        }
        let placeholder = match token {
            // PostgreSQL's tokenizer reads `?1` as `?` and `1`.
            Token::Question => match tokens.get(index).map(|next| &next.token) {
                Some(Token::Number(digits, _)) => match digits.parse::<usize>() {
                    Ok(number) if number >= 1 => {
                        index += 1;
                        Some(Some(number))
                    }
                    _ => {
                        return Err(format!(
                            "the placeholder ?{digits} is not supported: use ?, ?1 or $1"
                        ));
                    }
                },
                _ => Some(None),
            },
            Token::Placeholder(text) if text == "?" => Some(None),
            Token::Placeholder(text) => {
                let digits = text.strip_prefix('?').or_else(|| text.strip_prefix('$'));
                match digits.map(str::parse::<usize>) {
                    Some(Ok(number)) if number >= 1 => Some(Some(number)),
                    _ => {
                        return Err(format!(
                            "the placeholder {text} is not supported: use ?, ?1 or $1"
                        ));
                    }
                }
            }
            _ => None,
        };
        let mut token = token.clone();
        if let Some(number) = placeholder {
            let number = number.unwrap_or_else(|| {
                next_anonymous += 1;
                next_anonymous
            });
            parameters = parameters.max(number);
            let spelled = match dialect {
                SqlDialect::Sqlite => format!("?{number}"),
                SqlDialect::Postgres => format!("${number}"),
            };
            if token != Token::Placeholder(spelled.clone()) {
                rewritten = true;
                token = Token::Placeholder(spelled);
            }
        }
        if !matches!(token, Token::Whitespace(_)) {
            previous = [previous[1], Some(&with_span.token)];
        }
        out.push(TokenWithSpan {
            token,
            span: with_span.span,
        });
    }
    let text = if rewritten {
        out.iter().map(|token| token.token.to_string()).collect()
    } else {
        // Unchanged: the script's own text, byte for byte.
        original.to_owned()
    };
    Ok(Scan {
        tokens: out,
        text,
        qualified_names,
        parameters,
    })
}

/// Walks a parsed statement: refuses what scripts may not do, counts the `table.column`
/// references of expressions and notes whether the statement can grow the database.
struct Inspector {
    dialect: SqlDialect,
    qualified_in_expressions: usize,
    grows: bool,
    changes_schema: bool,
}

impl Inspector {
    fn new(dialect: SqlDialect) -> Self {
        Inspector {
            dialect,
            qualified_in_expressions: 0,
            grows: false,
            changes_schema: false,
        }
    }
}

impl Visitor for Inspector {
    type Break = String;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<String> {
        let grows = match statement {
            Statement::Query(_) => false,
            Statement::Delete(_) | Statement::Truncate(_) => false,
            Statement::Drop { object_type, .. } => {
                if !matches!(
                    object_type,
                    ObjectType::Table | ObjectType::Index | ObjectType::View
                ) {
                    return refuse(format!("DROP {object_type} is not allowed in scripts"));
                }
                false
            }
            Statement::Insert(_) | Statement::Update(_) | Statement::CreateIndex(_) => true,
            Statement::CreateTable(table) => {
                if table.temporary {
                    return refuse("temporary tables are not available to scripts".into());
                }
                true
            }
            Statement::CreateView(view) => {
                if view.materialized {
                    return refuse("materialized views are not available to scripts".into());
                }
                true
            }
            Statement::AlterTable(alter) => {
                for operation in &alter.operations {
                    check_alter(operation)?;
                }
                true
            }
            other => {
                return refuse(format!(
                    "{} is not allowed in scripts: they may query and change their own tables, and create, alter and drop tables, indexes and views",
                    statement_kind(other)
                ));
            }
        };
        self.grows |= grows;
        self.changes_schema |= matches!(
            statement,
            Statement::Drop { .. }
                | Statement::Truncate(_)
                | Statement::CreateTable(_)
                | Statement::CreateIndex(_)
                | Statement::CreateView(_)
                | Statement::AlterTable(_)
        );
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        if matches!(
            *query.body,
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_)
        ) {
            self.grows = true;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        match expr {
            Expr::CompoundIdentifier(parts) => {
                if parts.len() > 2 {
                    return refuse(format!(
                        "the name {} is not allowed: refer to a column as column or table.column",
                        expr
                    ));
                }
                self.qualified_in_expressions += parts.len() - 1;
            }
            Expr::Function(function) => {
                let name = plain_name(&function.name.0);
                if !name
                    .as_deref()
                    .is_some_and(|name| allowed_function(self.dialect, name))
                {
                    return refuse(format!(
                        "the function {} is not available to scripts (see docs/data.md for the functions they may call)",
                        function.name
                    ));
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        match factor {
            TableFactor::Table { name, args, .. } => {
                if args.is_some() {
                    let plain = plain_name(&name.0);
                    if !plain.as_deref().is_some_and(allowed_table_function) {
                        return refuse(format!(
                            "the table function {name} is not available to scripts"
                        ));
                    }
                }
            }
            TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. } => {}
            other => {
                return refuse(format!("{other} is not available to scripts"));
            }
        }
        ControlFlow::Continue(())
    }
}

fn refuse(message: String) -> ControlFlow<String> {
    ControlFlow::Break(message)
}

/// The single lower-case name of a one-part object name.
fn plain_name(parts: &[sqlparser::ast::ObjectNamePart]) -> Option<String> {
    match parts {
        [part] => part
            .as_ident()
            .map(|ident| ident.value.to_ascii_lowercase()),
        _ => None,
    }
}

fn check_alter(operation: &AlterTableOperation) -> ControlFlow<String> {
    match operation {
        AlterTableOperation::AddColumn { .. }
        | AlterTableOperation::DropColumn { .. }
        | AlterTableOperation::RenameColumn { .. }
        | AlterTableOperation::RenameTable { .. }
        | AlterTableOperation::AddConstraint { .. }
        | AlterTableOperation::DropConstraint { .. }
        | AlterTableOperation::RenameConstraint { .. }
        | AlterTableOperation::AlterColumn { .. } => ControlFlow::Continue(()),
        other => refuse(format!("ALTER TABLE … {other} is not allowed in scripts")),
    }
}

/// The first words of a statement, for messages.
fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words.as_slice() {
        [first, second] if first.eq_ignore_ascii_case("create") => {
            format!("CREATE {}", second.to_ascii_uppercase())
        }
        [first, ..] => first.to_ascii_uppercase(),
        [] => "this statement".into(),
    }
}

/// Functions every script may call: pure computations on values, aggregates and window
/// functions. Nothing that reads files, settings, other objects or runs SQL in a string.
const FUNCTIONS: &[&str] = &[
    // aggregates and windows
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "total",
    "group_concat",
    "string_agg",
    "array_agg",
    "bool_and",
    "bool_or",
    "every",
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    // conditionals
    "coalesce",
    "nullif",
    "ifnull",
    "iif",
    "greatest",
    "least",
    // numbers
    "abs",
    "round",
    "floor",
    "ceil",
    "ceiling",
    "sign",
    "mod",
    "power",
    "pow",
    "sqrt",
    "exp",
    "ln",
    "log",
    "log10",
    "log2",
    "trunc",
    "pi",
    "random",
    "div",
    // text
    "lower",
    "upper",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "substr",
    "substring",
    "replace",
    "ltrim",
    "rtrim",
    "btrim",
    "trim",
    "instr",
    "strpos",
    "concat",
    "concat_ws",
    "reverse",
    "starts_with",
    "initcap",
    "left",
    "right",
    "split_part",
    "ascii",
    "chr",
    "char",
    "unicode",
    "hex",
    "md5",
    "encode",
    "decode",
    "regexp_replace",
    "regexp_match",
    "regexp_like",
    "like",
    "glob",
    "translate",
    "quote",
    // time
    "now",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "date",
    "time",
    "datetime",
    "julianday",
    "unixepoch",
    "strftime",
    "date_trunc",
    "date_part",
    "to_char",
    "to_timestamp",
    "to_date",
    "age",
    "make_interval",
    "make_date",
    "make_timestamp",
    "make_timestamptz",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    // identifiers
    "gen_random_uuid",
    "uuid",
    // JSON (both dialects)
    "json",
    "jsonb",
    "json_array",
    "json_object",
    "json_extract",
    "json_insert",
    "json_replace",
    "json_set",
    "json_remove",
    "json_patch",
    "json_type",
    "json_valid",
    "json_quote",
    "json_array_length",
    "json_group_array",
    "json_group_object",
    "jsonb_array",
    "jsonb_object",
    "jsonb_extract",
    "jsonb_set",
    "jsonb_insert",
    "jsonb_replace",
    "jsonb_remove",
    "jsonb_patch",
    "jsonb_group_array",
    "jsonb_group_object",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "to_json",
    "to_jsonb",
    "json_typeof",
    "jsonb_typeof",
    "jsonb_array_length",
    "json_extract_path",
    "json_extract_path_text",
    "jsonb_extract_path",
    "jsonb_extract_path_text",
    "jsonb_strip_nulls",
    "json_strip_nulls",
    "jsonb_pretty",
    // arrays (PostgreSQL)
    "array_length",
    "cardinality",
    "array_to_string",
    "string_to_array",
    "array_position",
    "array_append",
    "array_prepend",
    "array_cat",
    "array_remove",
    "unnest",
    // full-text search (PostgreSQL)
    "to_tsvector",
    "to_tsquery",
    "plainto_tsquery",
    "phraseto_tsquery",
    "websearch_to_tsquery",
    "ts_rank",
    "ts_rank_cd",
    "ts_headline",
];

/// SQLite's functions that would misbehave on PostgreSQL are still only SQLite's; this
/// list keeps names that mean something else (or nothing) on the other back end out.
fn allowed_function(dialect: SqlDialect, name: &str) -> bool {
    let only_postgres = matches!(name, "encode" | "decode" | "to_char" | "age");
    (dialect == SqlDialect::Postgres || !only_postgres) && FUNCTIONS.contains(&name)
}

/// Table-valued functions scripts may select from.
fn allowed_table_function(name: &str) -> bool {
    matches!(
        name,
        "generate_series"
            | "json_each"
            | "json_tree"
            | "jsonb_each"
            | "jsonb_tree"
            | "json_each_text"
            | "jsonb_each_text"
            | "json_array_elements"
            | "json_array_elements_text"
            | "jsonb_array_elements"
            | "jsonb_array_elements_text"
            | "json_to_recordset"
            | "jsonb_to_recordset"
            | "unnest"
    )
}

/// Checked statements by text, so a script's hot statements are parsed once per
/// connection. Bounded: it starts over when full.
#[derive(Debug, Default)]
pub(crate) struct GuardCache {
    checked: HashMap<String, Checked>,
}

/// How many statements a cache keeps.
const CACHED: usize = 512;

impl GuardCache {
    /// Each of `statements` checked for `dialect`, paired with it; none is an error.
    pub(crate) fn check_each<'a>(
        &mut self,
        dialect: SqlDialect,
        statements: &'a [super::SqlStatement],
    ) -> Result<Vec<(Checked, &'a super::SqlStatement)>, super::SqlError> {
        if statements.is_empty() {
            return Err(super::SqlError::Arguments("no statements to run".into()));
        }
        statements
            .iter()
            .map(|statement| {
                self.check(dialect, &statement.sql)
                    .map(|checked| (checked, statement))
                    .map_err(super::SqlError::Refused)
            })
            .collect()
    }

    /// `sql` checked for `dialect`, from the cache when it was seen before.
    pub(crate) fn check(&mut self, dialect: SqlDialect, sql: &str) -> Result<Checked, String> {
        if let Some(checked) = self.checked.get(sql) {
            return Ok(checked.clone());
        }
        let checked = check(dialect, sql)?;
        if self.checked.len() >= CACHED {
            self.checked.clear();
        }
        self.checked.insert(sql.to_owned(), checked.clone());
        Ok(checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(sql: &str) -> [Result<Checked, String>; 2] {
        [
            check(SqlDialect::Sqlite, sql),
            check(SqlDialect::Postgres, sql),
        ]
    }

    #[test]
    fn ordinary_statements_pass_on_both_back_ends() {
        for sql in [
            "SELECT * FROM notes WHERE id = ?",
            "select n.title, count(*) from notes n join tags t on t.note = n.id group by n.title",
            "INSERT INTO notes (title, body) VALUES (?, ?) RETURNING id",
            "UPDATE notes SET title = ?1 WHERE id = ?2",
            "DELETE FROM notes WHERE created < $1",
            "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL)",
            "CREATE TABLE tags (note INTEGER REFERENCES notes(id), name TEXT)",
            "CREATE INDEX notes_title ON notes (title)",
            "ALTER TABLE notes ADD COLUMN body TEXT",
            "DROP TABLE IF EXISTS notes",
            "WITH recent AS (SELECT * FROM notes ORDER BY id DESC LIMIT 5) SELECT * FROM recent",
            "INSERT INTO counters (name, n) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET n = counters.n + excluded.n",
            "SELECT coalesce(max(id), 0) + 1 AS next FROM notes;",
        ] {
            for result in both(sql) {
                assert!(result.is_ok(), "{sql}: {result:?}");
            }
        }
    }

    #[test]
    fn placeholders_are_spelled_for_each_back_end() {
        let sql = "SELECT * FROM t WHERE a = ? AND b = ? AND c = ?";
        let sqlite = check(SqlDialect::Sqlite, sql).unwrap();
        assert_eq!(
            sqlite.sql,
            "SELECT * FROM t WHERE a = ?1 AND b = ?2 AND c = ?3"
        );
        assert_eq!(sqlite.parameters, 3);
        let postgres = check(SqlDialect::Postgres, sql).unwrap();
        assert_eq!(
            postgres.sql,
            "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3"
        );
        let numbered = check(SqlDialect::Sqlite, "SELECT $2, $1").unwrap();
        assert_eq!(numbered.sql, "SELECT ?2, ?1");
        assert_eq!(numbered.parameters, 2);
        // Text in strings is not a placeholder.
        let quoted = check(SqlDialect::Postgres, "SELECT '?', ? FROM t").unwrap();
        assert_eq!(quoted.sql, "SELECT '?', $1 FROM t");
    }

    #[test]
    fn reaching_outside_the_script_is_refused() {
        for sql in [
            "SELECT * FROM ferry.users",
            "SELECT * FROM main.notes",
            "SELECT email FROM notes JOIN ferry.sessions s ON true",
            "INSERT INTO other_script.notes VALUES (1)",
            "UPDATE ferry.users SET role = 'admin'",
            "DELETE FROM ferry.users",
            "CREATE TABLE ferry.mine (id INTEGER)",
            "CREATE TABLE t (u TEXT REFERENCES ferry.users(id))",
            "ALTER TABLE t ADD COLUMN u TEXT REFERENCES ferry.users(id)",
            "SELECT * FROM t WHERE id IN (SELECT id FROM ferry.users)",
            "SELECT ferry.users.email FROM t",
            "SELECT * FROM pg_authid",
            "SELECT * FROM pg_catalog.pg_class",
            "SELECT * FROM information_schema.tables",
            "SELECT set_config('role', 'ferry', false)",
            "SELECT current_setting('search_path')",
            "SELECT query_to_xml('select * from ferry.users', true, true, '')",
            "SELECT * FROM dblink('host=x', 'select 1') AS t(a int)",
            "SELECT pg_read_file('/etc/passwd')",
            "SELECT load_extension('x')",
            "SELECT pg_catalog.now()",
            "SELECT * FROM t, LATERAL query_to_xml('x', true, true, '') q",
            "SET ROLE ferry",
            "RESET ROLE",
            "SET search_path = ferry",
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
            "SAVEPOINT a",
            "ATTACH DATABASE 'ferry.db' AS f",
            "PRAGMA writable_schema = 1",
            "COPY t TO '/tmp/x'",
            "CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql",
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM t; END",
            "DROP SCHEMA ferry CASCADE",
            "GRANT ALL ON t TO public",
            "CREATE ROLE r",
            "ALTER TABLE t SET SCHEMA ferry",
            "ALTER TABLE t OWNER TO postgres",
            "VACUUM",
            "CREATE TEMPORARY TABLE t (a INTEGER)",
            "CREATE TABLE t (id INTEGER DEFAULT set_config('role','x',false))",
        ] {
            for (dialect, result) in [SqlDialect::Sqlite, SqlDialect::Postgres]
                .into_iter()
                .zip(both(sql))
            {
                assert!(result.is_err(), "{dialect:?} let through: {sql}");
            }
        }
    }

    #[test]
    fn integer_primary_keys_number_themselves_on_postgres() {
        for sql in [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)",
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT)",
        ] {
            let postgres = check(SqlDialect::Postgres, sql).unwrap();
            assert_eq!(
                postgres.sql,
                "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, name TEXT)"
            );
            assert_eq!(check(SqlDialect::Sqlite, sql).unwrap().sql, sql);
        }
        let plain = "CREATE TABLE t (id INTEGER, name TEXT PRIMARY KEY)";
        assert_eq!(check(SqlDialect::Postgres, plain).unwrap().sql, plain);
    }

    #[test]
    fn several_statements_are_for_exec_only() {
        let error = check(SqlDialect::Sqlite, "SELECT 1; SELECT 2").unwrap_err();
        assert!(error.contains("db.batch()"), "{error}");
        // The classic injection shape, a second statement, is refused by prepare().
        assert!(
            check(
                SqlDialect::Postgres,
                "SELECT * FROM t WHERE a = ''; DROP TABLE t; --'"
            )
            .is_err()
        );
        let all = check_all(
            SqlDialect::Sqlite,
            "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);",
        )
        .unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|checked| checked.grows));
        assert!(check(SqlDialect::Sqlite, "   ").is_err());
    }

    #[test]
    fn schema_changes_are_told_from_data_changes() {
        for sql in [
            "CREATE TABLE IF NOT EXISTS t (a INTEGER)",
            "CREATE INDEX i ON t (a)",
            "ALTER TABLE t ADD COLUMN b TEXT",
            "DROP TABLE t",
        ] {
            assert!(
                check(SqlDialect::Postgres, sql).unwrap().changes_schema,
                "{sql}"
            );
        }
        for sql in ["SELECT 1", "INSERT INTO t VALUES (1)", "DELETE FROM t"] {
            assert!(
                !check(SqlDialect::Postgres, sql).unwrap().changes_schema,
                "{sql}"
            );
        }
    }

    #[test]
    fn writes_are_told_from_reads() {
        assert!(!check(SqlDialect::Sqlite, "SELECT 1").unwrap().grows);
        assert!(!check(SqlDialect::Sqlite, "DELETE FROM t").unwrap().grows);
        assert!(
            check(SqlDialect::Sqlite, "INSERT INTO t VALUES (1)")
                .unwrap()
                .grows
        );
        assert!(
            check(
                SqlDialect::Postgres,
                "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x"
            )
            .unwrap()
            .grows
        );
    }
}
