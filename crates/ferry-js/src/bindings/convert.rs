//! `convert.markdown_to_html` and `convert.render_handlebars_template`.

use std::io::Write;
use std::rc::Rc;

use rquickjs::{Ctx, Function, Object};

use super::{Host, throw};
use crate::deadline::Deadline;

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host_object: &Object<'js>,
    host: &Rc<Host>,
) -> rquickjs::Result<()> {
    host_object.set(
        "markdown",
        Function::new(ctx.clone(), |markdown: String| markdown_to_html(&markdown))?,
    )?;
    let host = host.clone();
    let handlebars = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, template: String, data: String| {
            let output = BoundedOutput {
                text: Vec::new(),
                limit: host.output_limit,
                deadline: Some(&host.deadline),
            };
            render_handlebars(&template, &data, output).map_err(|message| throw(&ctx, &message))
        },
    )?;
    host_object.set("handlebars", handlebars)
}

/// Where a rendering goes: it stops the rendering once the text passes `limit` bytes or
/// the call's deadline has passed, so a template that multiplies its data cannot hold the
/// worker (or its memory) for long.
pub(crate) struct BoundedOutput<'a> {
    text: Vec<u8>,
    limit: usize,
    deadline: Option<&'a Deadline>,
}

impl Write for BoundedOutput<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.text.len() + bytes.len() > self.limit {
            return Err(std::io::Error::other(format!(
                "the output passed {} bytes",
                self.limit
            )));
        }
        if self
            .deadline
            .is_some_and(|deadline| !deadline.allows_more())
        {
            return Err(std::io::Error::other("the call's deadline passed"));
        }
        self.text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// CommonMark with tables, strikethrough, task lists and footnotes, as HTML. Raw HTML in the
/// Markdown passes through, as CommonMark specifies: do not render untrusted Markdown
/// without sanitising it.
pub(crate) fn markdown_to_html(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(markdown, options));
    out
}

/// Renders a Handlebars template with `data` (JSON text) into `output`; values are
/// HTML-escaped unless the template uses triple braces.
fn render_handlebars(
    template: &str,
    data: &str,
    mut output: BoundedOutput<'_>,
) -> Result<String, String> {
    let data: serde_json::Value = serde_json::from_str(data).map_err(|error| {
        format!("render_handlebars_template: the data is not valid JSON: {error}")
    })?;
    handlebars::Handlebars::new()
        .render_template_to_write(template, &data, &mut output)
        .map_err(|error| format!("render_handlebars_template: {error}"))?;
    String::from_utf8(output.text)
        .map_err(|_| "render_handlebars_template: the output is not valid UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, data: &str) -> Result<String, String> {
        let output = BoundedOutput {
            text: Vec::new(),
            limit: 1 << 20,
            deadline: None,
        };
        render_handlebars(template, data, output)
    }

    #[test]
    fn handlebars_output_is_bounded() {
        let output = BoundedOutput {
            text: Vec::new(),
            limit: 10,
            deadline: None,
        };
        let error = render_handlebars("{{#each a}}xxxx{{/each}}", "{\"a\": [1, 2, 3]}", output)
            .unwrap_err();
        assert!(error.contains("passed 10 bytes"), "{error}");
    }

    #[test]
    fn markdown_renders_common_mark_and_tables() {
        assert_eq!(
            markdown_to_html("# Hi *there*"),
            "<h1>Hi <em>there</em></h1>\n"
        );
        let table = markdown_to_html("| a |\n|---|\n| 1 |");
        assert!(
            table.contains("<table>") && table.contains("<td>1</td>"),
            "{table}"
        );
    }

    #[test]
    fn handlebars_escapes_and_loops() {
        let html = render(
            "{{#each items}}<li>{{this}}</li>{{/each}}{{{markup}}}",
            r#"{"items": ["<b>", "x"], "markup": "<i>ok</i>"}"#,
        )
        .unwrap();
        assert_eq!(html, "<li>&lt;b&gt;</li><li>x</li><i>ok</i>");
    }

    #[test]
    fn handlebars_errors_are_explained() {
        let error = render("{{#each}}", "{}").unwrap_err();
        assert!(error.starts_with("render_handlebars_template:"), "{error}");
        let error = render("x", "{not json").unwrap_err();
        assert!(error.contains("not valid JSON"), "{error}");
    }
}
