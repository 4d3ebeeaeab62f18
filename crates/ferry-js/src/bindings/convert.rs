//! `convert.markdown_to_html` and `convert.render_handlebars_template`.

use rquickjs::{Ctx, Function, Object};

use super::throw;

pub(super) fn install<'js>(ctx: &Ctx<'js>, host: &Object<'js>) -> rquickjs::Result<()> {
    host.set(
        "markdown",
        Function::new(ctx.clone(), |markdown: String| markdown_to_html(&markdown))?,
    )?;
    let handlebars = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, template: String, data: String| {
            render_handlebars(&template, &data).map_err(|message| throw(&ctx, &message))
        },
    )?;
    host.set("handlebars", handlebars)
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

/// Renders a Handlebars template with `data` (JSON text); values are HTML-escaped unless the
/// template uses triple braces.
pub(crate) fn render_handlebars(template: &str, data: &str) -> Result<String, String> {
    let data: serde_json::Value = serde_json::from_str(data).map_err(|error| {
        format!("render_handlebars_template: the data is not valid JSON: {error}")
    })?;
    handlebars::Handlebars::new()
        .render_template(template, &data)
        .map_err(|error| format!("render_handlebars_template: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let html = render_handlebars(
            "{{#each items}}<li>{{this}}</li>{{/each}}{{{markup}}}",
            r#"{"items": ["<b>", "x"], "markup": "<i>ok</i>"}"#,
        )
        .unwrap();
        assert_eq!(html, "<li>&lt;b&gt;</li><li>x</li><i>ok</i>");
    }

    #[test]
    fn handlebars_errors_are_explained() {
        let error = render_handlebars("{{#each}}", "{}").unwrap_err();
        assert!(error.starts_with("render_handlebars_template:"), "{error}");
        let error = render_handlebars("x", "{not json").unwrap_err();
        assert!(error.contains("not valid JSON"), "{error}");
    }
}
