//! TypeScript, TSX and JSX scripts: oxc strips the types and turns JSX into calls of
//! `h(tag, props, ...children)` and `Fragment` (the globals `bindings/jsx.js` defines, or a
//! script's own), and prints JavaScript with a source map. The map is kept as a
//! [`LineMap`] so that errors, stacks and test failures point at the TypeScript lines.

use std::path::Path;

use oxc_allocator::Allocator;
use oxc_codegen::{Codegen, CodegenOptions};
use oxc_parser::Parser;
use oxc_semantic::SemanticBuilder;
use oxc_span::SourceType;
use oxc_transformer::{JsxRuntime, TransformOptions, Transformer};

/// The extensions of files that are transpiled before they run.
const EXTENSIONS: [&str; 5] = ["ts", "tsx", "jsx", "mts", "cts"];

/// Whether a file called `name` is TypeScript or JSX (and not a declaration file).
pub(crate) fn needs_transpiling(name: &str) -> bool {
    let path = Path::new(name);
    let declaration = path
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.ends_with(".d.ts") || name.ends_with(".d.mts"));
    !declaration
        && path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| EXTENSIONS.contains(&extension))
}

/// A transpiled script: the JavaScript that runs and where its lines came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transpiled {
    /// The JavaScript.
    pub code: String,
    /// From the JavaScript's positions back to the source's.
    pub lines: LineMap,
}

/// Why a file could not be transpiled: the first error, at its place in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TranspileError {
    /// 1-based line in the source.
    pub line: u32,
    /// 1-based column (in characters) in the source.
    pub column: u32,
    /// What is wrong, with oxc's hint when it gives one.
    pub message: String,
}

/// Transpiles the TypeScript/JSX `source` of the file `name` (its extension says which
/// syntax it is); `module` says whether it is evaluated as an ES module.
pub(crate) fn transpile(
    name: &str,
    source: &str,
    module: bool,
) -> Result<Transpiled, TranspileError> {
    let source_type = SourceType::from_path(name)
        .unwrap_or_else(|_| SourceType::ts())
        .with_module(module || name.ends_with(".mts"));
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, source_type).parse();
    if let Some(error) = parsed.diagnostics.first() {
        return Err(located(source, error));
    }
    let mut program = parsed.program;
    let semantic = SemanticBuilder::new()
        .with_check_syntax_error(true)
        // Enums are lowered from the values worked out here.
        .with_enum_eval(true)
        .with_excess_capacity(2.0)
        .build(&program);
    if let Some(error) = semantic.diagnostics.first() {
        return Err(located(source, error));
    }
    let scoping = semantic.semantic.into_scoping();
    let options = transform_options();
    let path = Path::new(name);
    let transformed =
        Transformer::new(&allocator, path, &options).build_with_scoping(scoping, &mut program);
    if let Some(error) = transformed.diagnostics.first() {
        return Err(located(source, error));
    }
    let printed = Codegen::new()
        .with_options(CodegenOptions {
            source_map_path: Some(path.to_path_buf()),
            ..CodegenOptions::default()
        })
        .build(&program);
    let lines = printed
        .map
        .map(|map| {
            LineMap::new(
                map.get_tokens()
                    .map(|token| Mark {
                        line: token.get_dst_line(),
                        column: token.get_dst_col(),
                        source_line: token.get_src_line(),
                        source_column: token.get_src_col(),
                    })
                    .collect(),
            )
        })
        .unwrap_or_default();
    Ok(Transpiled {
        code: printed.code,
        lines,
    })
}

/// Types stripped, JSX as `h(…)`/`Fragment` calls; nothing lowered (QuickJS runs
/// today's JavaScript).
fn transform_options() -> TransformOptions {
    let mut options = TransformOptions::default();
    options.typescript.jsx_pragma = "h".into();
    options.typescript.jsx_pragma_frag = "Fragment".into();
    options.jsx.runtime = JsxRuntime::Classic;
    options.jsx.pragma = Some("h".to_owned());
    options.jsx.pragma_frag = Some("Fragment".to_owned());
    options.jsx.pure = false;
    options
}

/// `error` placed in `source`: at its primary label, else its last one (where oxc puts
/// the offending place when it also labels an earlier one, such as a first declaration).
fn located(source: &str, error: &oxc_diagnostics::OxcDiagnostic) -> TranspileError {
    let label = error
        .labels
        .iter()
        .find(|label| label.primary())
        .or_else(|| error.labels.last());
    let offset = label.map_or(0, |label| label.offset() as usize);
    let (line, column) = line_and_column(source, offset);
    let mut message = error.message.to_string();
    if let Some(text) = label
        .and_then(|label| label.label())
        .filter(|text| !message.contains(text))
    {
        message = format!("{message} ({text})");
    }
    if let Some(help) = &error.help {
        message = format!("{message}; {help}");
    }
    TranspileError {
        line,
        column,
        message,
    }
}

/// The 1-based line and character column of byte `offset` in `source`.
fn line_and_column(source: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// One point of a source map: a 0-based place in the generated code and the place of the
/// source it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Mark {
    line: u32,
    column: u32,
    source_line: u32,
    source_column: u32,
}

/// From positions in transpiled code back to the source: a source map reduced to what
/// error messages need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LineMap {
    /// Sorted by generated position.
    marks: Vec<Mark>,
}

impl LineMap {
    fn new(mut marks: Vec<Mark>) -> Self {
        marks.sort_unstable();
        LineMap { marks }
    }

    /// The source's 1-based `(line, column)` for the generated 1-based `line` and
    /// `column` (`None`: the start of the line). A column between two marks takes the
    /// earlier one; a line without marks takes the nearest mark before it.
    pub(crate) fn source_position(&self, line: u32, column: Option<u32>) -> Option<(u32, u32)> {
        let line = line.checked_sub(1)?;
        let column = column.map_or(0, |column| column.saturating_sub(1));
        let after = self
            .marks
            .partition_point(|mark| (mark.line, mark.column) <= (line, column));
        let mark = match after.checked_sub(1).map(|at| &self.marks[at]) {
            Some(mark) if mark.line == line => mark,
            // Before the first mark of its line: that first mark.
            _ => match self.marks.get(after) {
                Some(mark) if mark.line == line => mark,
                _ => &self.marks[after.checked_sub(1)?],
            },
        };
        let column_offset = if mark.line == line {
            column.saturating_sub(mark.column)
        } else {
            0
        };
        Some((mark.source_line + 1, mark.source_column + column_offset + 1))
    }

    /// `text` (a stack trace, a message) with every `file:LINE` and `file:LINE:COLUMN`
    /// that names `file` moved to the source's positions.
    pub(crate) fn rewrite(&self, text: &str, file: &str) -> String {
        let needle = format!("{file}:");
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(&needle) {
            let starts_name = rest[..at]
                .chars()
                .next_back()
                .is_none_or(|before| matches!(before, '(' | ' ' | '\n' | '\t' | '@' | '/'));
            let after = &rest[at + needle.len()..];
            let line_digits = digits(after);
            if !starts_name || line_digits.is_empty() || file.is_empty() {
                out.push_str(&rest[..at + needle.len()]);
                rest = after;
                continue;
            }
            let mut used = line_digits.len();
            let column_digits = after[used..].strip_prefix(':').map(digits).unwrap_or("");
            let column = (!column_digits.is_empty()).then(|| column_digits.parse::<u32>().ok());
            let position = line_digits
                .parse()
                .ok()
                .and_then(|line| self.source_position(line, column.flatten()));
            out.push_str(&rest[..at + needle.len()]);
            match position {
                Some((line, source_column)) => {
                    out.push_str(&line.to_string());
                    if column.is_some() {
                        used += 1 + column_digits.len();
                        out.push(':');
                        out.push_str(&source_column.to_string());
                    }
                }
                None => out.push_str(line_digits),
            }
            rest = &after[used..];
        }
        out.push_str(rest);
        out
    }
}

/// The ASCII digits `text` starts with.
fn digits(text: &str) -> &str {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, source: &str) -> Transpiled {
        transpile(name, source, false).unwrap_or_else(|error| panic!("{error:?}"))
    }

    #[test]
    fn types_are_stripped_and_code_kept() {
        let out = run(
            "app.ts",
            "interface User { name: string }\ntype Id = number;\nconst greet = (user: User, id: Id): string => `hi ${user.name} ${id}`;\nenum Color { Red, Green }\nregister('/', () => greet({ name: 'a' } as User, Color.Green as Id));\n",
        );
        assert!(!out.code.contains("interface"), "{}", out.code);
        assert!(!out.code.contains(": string"), "{}", out.code);
        assert!(out.code.contains("Color"), "{}", out.code);
        assert!(out.code.contains("register"), "{}", out.code);
    }

    #[test]
    fn jsx_becomes_calls_of_h_and_fragment() {
        let out = run(
            "page.tsx",
            "const Page = (props: { who: string }) => <><p class=\"x\">Hi {props.who}</p></>;\n",
        );
        assert!(out.code.contains("h(Fragment"), "{}", out.code);
        assert!(out.code.contains("h(\"p\""), "{}", out.code);
        let out = run("page.jsx", "const a = <b>{1}</b>;\n");
        assert!(out.code.contains("h(\"b\""), "{}", out.code);
        let out = run("page.jsx", "/** @jsx make */\nconst a = <b>{1}</b>;\n");
        assert!(out.code.contains("make(\"b\""), "{}", out.code);
    }

    #[test]
    fn modules_keep_their_imports_and_drop_type_imports() {
        let out = transpile(
            "main.ts",
            "import type { T } from './t.ts';\nimport { x } from './x.ts';\nexport default { fetch(): T { return x; } };\n",
            true,
        )
        .unwrap();
        assert!(!out.code.contains("./t.ts"), "{}", out.code);
        assert!(out.code.contains("./x.ts"), "{}", out.code);
        assert!(out.code.contains("export default"), "{}", out.code);
    }

    #[test]
    fn syntax_errors_point_at_the_typescript_line() {
        let error = transpile("app.ts", "const a: number = 1;\n\nconst b: = 2;\n", false)
            .expect_err("a syntax error");
        assert_eq!(error.line, 3, "{error:?}");
        assert!(error.column >= 9, "{error:?}");
        assert!(!error.message.is_empty());
        let error = transpile("app.ts", "let a = 1;\nlet a = 2;\n", false).expect_err("redeclared");
        assert_eq!(error.line, 2, "{error:?}");
    }

    #[test]
    fn generated_lines_map_back_to_source_lines() {
        let source = "interface A {\n  x: number;\n  y: number;\n}\n\n\nfunction f(a: A): number {\n  throw new Error('boom');\n}\n";
        let out = run("app.ts", source);
        let thrown_at = out
            .code
            .lines()
            .position(|line| line.contains("throw"))
            .unwrap();
        let line = u32::try_from(thrown_at).unwrap() + 1;
        assert_eq!(
            out.lines.source_position(line, None).map(|(l, _)| l),
            Some(8)
        );
        let stack =
            format!("Error: boom\n    at f (app.ts:{line}:3)\n    at <eval> (other.ts:{line})\n");
        let rewritten = out.lines.rewrite(&stack, "app.ts");
        assert!(rewritten.contains("(app.ts:8:"), "{rewritten}");
        assert!(
            rewritten.contains(&format!("(other.ts:{line})")),
            "{rewritten}"
        );
        // A longer name that ends the same is another file.
        let other = format!("at g (myapp.ts:{line}:1)");
        assert_eq!(out.lines.rewrite(&other, "app.ts"), other);
    }

    #[test]
    fn positions_and_file_kinds() {
        assert_eq!(line_and_column("ab\ncdé\nf", 7), (2, 4));
        assert_eq!(line_and_column("x", 99), (1, 2));
        assert!(needs_transpiling("app.ts"));
        assert!(needs_transpiling("dir/page.tsx"));
        assert!(needs_transpiling("x.jsx"));
        assert!(!needs_transpiling("types.d.ts"));
        assert!(!needs_transpiling("app.js"));
        assert!(!needs_transpiling("ts"));
    }

    #[test]
    fn empty_maps_and_odd_stacks_are_left_alone() {
        let map = LineMap::default();
        assert_eq!(map.source_position(1, None), None);
        assert_eq!(map.rewrite("at (app.ts:3:4)", "app.ts"), "at (app.ts:3:4)");
        let out = run("app.ts", "const a: number = 1;\n");
        assert_eq!(out.lines.rewrite("app.ts:x", "app.ts"), "app.ts:x");
        assert_eq!(out.lines.rewrite("app.ts:", "app.ts"), "app.ts:");
        assert_eq!(out.lines.source_position(0, None), None);
    }
}
