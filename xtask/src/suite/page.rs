//! The report as a list of blocks, rendered twice: `index.md` (read on GitHub or in a terminal)
//! and `index.html` (a static page with no script, opened from the folder in any browser).
//! One model, two renderers, so the two files always say the same thing.

use std::fmt::Write as _;

/// One piece of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A heading of `level` (1–3).
    Heading(u8, String),
    /// A paragraph of plain text (`**bold**` is kept in Markdown and rendered in HTML).
    Para(String),
    /// A table: the header row, then the rows.
    Table(Vec<String>, Vec<Vec<String>>),
    /// A picture: its path relative to the report folder, and a caption.
    Image(String, String),
    /// Shell commands, shown verbatim.
    Code(String),
}

/// The blocks as Markdown.
pub fn markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(usize::from(*level).clamp(1, 6)));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "{text}\n");
            }
            Block::Table(header, rows) => {
                let cell = |s: &String| s.replace('|', "\\|");
                let _ = writeln!(
                    out,
                    "| {} |\n|{}",
                    header.iter().map(cell).collect::<Vec<_>>().join(" | "),
                    "---|".repeat(header.len())
                );
                for row in rows {
                    let _ = writeln!(
                        out,
                        "| {} |",
                        row.iter().map(cell).collect::<Vec<_>>().join(" | ")
                    );
                }
                out.push('\n');
            }
            Block::Image(path, caption) => {
                let _ = writeln!(out, "![{caption}]({path})\n");
            }
            Block::Code(text) => {
                let _ = writeln!(out, "```sh\n{}\n```\n", text.trim_end());
            }
        }
    }
    out
}

/// Escapes text for HTML, then turns `**x**` into `<b>x</b>`.
fn inline(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let parts: Vec<&str> = escaped.split("**").collect();
    let mut out = String::new();
    for (k, part) in parts.iter().enumerate() {
        // Odd parts sit between a pair of `**`; an unpaired trailing `**` stays as it was.
        match (k % 2 == 1, k + 1 == parts.len()) {
            (true, false) => {
                let _ = write!(out, "<b>{part}</b>");
            }
            (true, true) => {
                let _ = write!(out, "**{part}");
            }
            (false, _) => out.push_str(part),
        }
    }
    out
}

/// The blocks as one static HTML page titled `title`.
pub fn html(title: &str, blocks: &[Block]) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n\
         <style>body{{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45}}\
         table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #bbb;padding:.25rem .5rem;text-align:left}}\
         th{{background:#eee}}img{{max-width:100%}}pre{{background:#f4f4f4;padding:.5rem;overflow-x:auto}}</style>\n\
         </head><body>\n",
        inline(title)
    );
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let level = level.clamp(&1, &6);
                let _ = writeln!(out, "<h{level}>{}</h{level}>", inline(text));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "<p>{}</p>", inline(text));
            }
            Block::Table(header, rows) => {
                out.push_str("<table><tr>");
                for h in header {
                    let _ = write!(out, "<th>{}</th>", inline(h));
                }
                out.push_str("</tr>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for c in row {
                        let _ = write!(out, "<td>{}</td>", inline(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
            Block::Image(path, caption) => {
                let _ = writeln!(
                    out,
                    "<figure><img src=\"{}\" alt=\"{c}\"><figcaption>{c}</figcaption></figure>",
                    inline(path),
                    c = inline(caption)
                );
            }
            Block::Code(text) => {
                let code = text
                    .trim_end()
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                let _ = writeln!(out, "<pre>{code}</pre>");
            }
        }
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Block> {
        vec![
            Block::Heading(2, "Table 2".into()),
            Block::Para("SISA **94.97** vs ≤ 54.33 <paper>".into()),
            Block::Table(
                vec!["optimizer".into(), "a|b".into()],
                vec![vec!["sisa".into(), "1.0".into()]],
            ),
            Block::Image("img/x.png".into(), "curve".into()),
            Block::Code("cargo xtask suite --preset cpu".into()),
        ]
    }

    #[test]
    fn markdown_has_every_block() {
        let md = markdown(&sample());
        assert!(md.starts_with("## Table 2\n\n"), "{md}");
        assert!(
            md.contains("| optimizer | a\\|b |\n|---|---|\n| sisa | 1.0 |"),
            "{md}"
        );
        assert!(md.contains("![curve](img/x.png)"));
        assert!(md.contains("```sh\ncargo xtask suite --preset cpu\n```"));
    }

    #[test]
    fn html_escapes_and_keeps_the_same_content() {
        let page = html("Report <1>", &sample());
        assert!(page.contains("<title>Report &lt;1&gt;</title>"));
        assert!(
            page.contains("<p>SISA <b>94.97</b> vs ≤ 54.33 &lt;paper&gt;</p>"),
            "{page}"
        );
        assert!(page.contains("<th>a|b</th>"));
        assert!(page.contains("<img src=\"img/x.png\" alt=\"curve\">"));
        assert!(page.contains("<pre>cargo xtask suite --preset cpu</pre>"));
        assert_eq!(inline("a ** b"), "a ** b");
    }
}
