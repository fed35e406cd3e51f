//! Tables of markup (Evennia's EvTable, in Tavern's own design): columns
//! sized to their contents, shrunk to fit a width (the client's, from NAWS),
//! cells wrapped within their column, aligned, with a choice of borders.
//! Colour codes never count toward a width, and a cell's colour ends with
//! the cell.
//!
//! ```
//! use tavern_shared::text::{Align, Border, Table};
//!
//! let mut t = Table::new(["Name", "Level"]);
//! t.row(["|rAnna|n", "3"]).row(["Bert", "12"]).align(1, Align::Right);
//! assert_eq!(
//!     tavern_shared::markup::strip(&t.render()),
//!     "+------+-------+\n\
//!      | Name | Level |\n\
//!      +~~~~~~+~~~~~~~+\n\
//!      | Anna |     3 |\n\
//!      | Bert |    12 |\n\
//!      +------+-------+"
//! );
//! ```

use super::layout::{Align, pad, width, wrap};

/// Which lines a table draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Border {
    /// No lines: columns apart by their padding.
    None,
    /// A line under the header only.
    Header,
    /// A frame around the table, nothing inside but the header line.
    Table,
    /// A frame, lines between columns and under the header (Evennia's default).
    #[default]
    TableCols,
    /// A line around every cell.
    Cells,
}

/// A table of markup cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    align: Vec<Align>,
    fixed: Vec<Option<usize>>,
    border: Border,
    max_width: Option<usize>,
    pad: usize,
}

/// The narrowest a column is squeezed to when fitting a width.
const MIN_COLUMN: usize = 3;

impl Table {
    /// A table with these column headers (none: `Table::new([] as [&str; 0])`).
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Self {
            header: header.into_iter().map(Into::into).collect(),
            pad: 1,
            ..Self::default()
        }
    }

    /// Adds a row (short rows are filled with empty cells).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// How a column's cells sit (left by default).
    pub fn align(&mut self, column: usize, align: Align) -> &mut Self {
        if self.align.len() <= column {
            self.align.resize(column + 1, Align::Left);
        }
        self.align[column] = align;
        self
    }

    /// Gives a column a fixed width (its cells wrap within it).
    pub fn column_width(&mut self, column: usize, width: usize) -> &mut Self {
        if self.fixed.len() <= column {
            self.fixed.resize(column + 1, None);
        }
        self.fixed[column] = Some(width.max(1));
        self
    }

    /// Which lines to draw.
    pub fn border(&mut self, border: Border) -> &mut Self {
        self.border = border;
        self
    }

    /// The widest the table may be (a client's screen width); columns are
    /// shrunk, widest first, and their cells wrapped to fit.
    pub fn max_width(&mut self, width: usize) -> &mut Self {
        self.max_width = Some(width);
        self
    }

    /// Spaces on each side of a cell's text (1 by default).
    pub fn padding(&mut self, pad: usize) -> &mut Self {
        self.pad = pad;
        self
    }

    /// How many rows it has (the header not counted).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn columns(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0)
    }

    fn cell(row: &[String], i: usize) -> &str {
        row.get(i).map_or("", String::as_str)
    }

    fn framed(&self) -> bool {
        matches!(
            self.border,
            Border::Table | Border::TableCols | Border::Cells
        )
    }

    fn inner_lines(&self) -> bool {
        matches!(self.border, Border::TableCols | Border::Cells)
    }

    /// Columns of text each column's cells get, after fitting.
    fn widths(&self) -> Vec<usize> {
        let n = self.columns();
        let mut w: Vec<usize> = (0..n)
            .map(|i| match self.fixed.get(i).copied().flatten() {
                Some(f) => f,
                None => self
                    .rows
                    .iter()
                    .map(|r| width(Self::cell(r, i)))
                    .chain([width(Self::cell(&self.header, i))])
                    .max()
                    .unwrap_or(0)
                    .max(1),
            })
            .collect();
        let Some(max) = self.max_width else {
            return w;
        };
        // What the lines and padding take.
        let seps = if self.inner_lines() {
            n.saturating_sub(1)
        } else {
            0
        };
        let frame = if self.framed() { 2 } else { 0 };
        let overhead = seps + frame + 2 * self.pad * n;
        let room = max.saturating_sub(overhead);
        while w.iter().sum::<usize>() > room {
            // Shrink the widest column that is not fixed and can still give.
            let Some((i, _)) = w
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    **c > MIN_COLUMN && self.fixed.get(*i).copied().flatten().is_none()
                })
                .max_by_key(|(_, c)| **c)
            else {
                break;
            };
            w[i] -= 1;
        }
        w
    }

    fn rule(&self, widths: &[usize], fill: char) -> String {
        let corner = if self.framed() { "+" } else { "" };
        let join = if self.inner_lines() {
            "+".to_string()
        } else if self.framed() {
            fill.to_string()
        } else {
            String::new()
        };
        let parts: Vec<String> = widths
            .iter()
            .map(|w| fill.to_string().repeat(w + 2 * self.pad))
            .collect();
        format!("{corner}{}{corner}", parts.join(&join))
    }

    fn render_row(&self, row: &[String], widths: &[usize], out: &mut Vec<String>) {
        let cells: Vec<Vec<String>> = widths
            .iter()
            .enumerate()
            .map(|(i, &w)| wrap(Self::cell(row, i), w))
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1);
        let edge = if self.framed() { "|" } else { "" };
        let sep = if self.inner_lines() { "|" } else { "" };
        let space = " ".repeat(self.pad);
        for line in 0..height {
            let parts: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(i, &w)| {
                    let text = cells[i].get(line).map_or("", String::as_str);
                    let align = self.align.get(i).copied().unwrap_or_default();
                    format!("{space}{}{space}", pad(text, w, align))
                })
                .collect();
            let mut l = format!("{edge}{}{edge}", parts.join(sep));
            if !self.framed() {
                l = l.trim_end().to_string();
            }
            out.push(l);
        }
    }

    /// The table as lines of markup.
    pub fn lines(&self) -> Vec<String> {
        let widths = self.widths();
        if widths.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.framed() {
            out.push(self.rule(&widths, '-'));
        }
        if !self.header.is_empty() {
            self.render_row(&self.header, &widths, &mut out);
            if self.border != Border::None {
                out.push(self.rule(&widths, '~'));
            }
        }
        for (i, row) in self.rows.iter().enumerate() {
            if self.border == Border::Cells && i > 0 {
                out.push(self.rule(&widths, '-'));
            }
            self.render_row(row, &widths, &mut out);
        }
        if self.framed() {
            out.push(self.rule(&widths, '-'));
        }
        out
    }

    /// The table as markup, lines joined by newlines.
    pub fn render(&self) -> String {
        self.lines().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::strip;

    fn plain(t: &Table) -> Vec<String> {
        t.lines().iter().map(|l| strip(l)).collect()
    }

    #[test]
    fn colour_does_not_count_toward_a_width_and_ends_with_its_cell() {
        let mut t = Table::new(["Who", "Where"]);
        t.row(["|r|[bAnna", "the |#00ff00green|n room"]);
        let lines = t.lines();
        let shown = plain(&t);
        assert_eq!(shown[1], "| Who  | Where          |");
        assert_eq!(shown[3], "| Anna | the green room |");
        // Anna's colours are closed before the next cell.
        assert!(lines[3].contains("|r|[bAnna|n"), "{}", lines[3]);
    }

    #[test]
    fn a_table_fits_the_width_given_by_wrapping_the_widest_column() {
        let mut t = Table::new(["Item", "Description"]);
        t.row([
            "sword",
            "a long and sharp blade forged in the old mountain smithies",
        ])
        .max_width(40);
        let shown = plain(&t);
        assert!(shown.iter().all(|l| l.chars().count() <= 40), "{shown:#?}");
        assert!(shown.len() > 5, "the description wrapped: {shown:#?}");
        assert!(shown.iter().all(|l| l.chars().count() == 40));
        // Every word is still there.
        let words: String = shown.join(" ");
        for w in ["forged", "smithies", "mountain"] {
            assert!(words.contains(w));
        }
        // 80 columns when the client's width is unknown: no wrap needed.
        let mut wide = t.clone();
        wide.max_width(200);
        assert_eq!(plain(&wide).len(), 5);
    }

    #[test]
    fn borders_alignment_fixed_widths_and_ragged_rows() {
        let mut t = Table::new(["a", "b"]);
        t.row(["1"]).row(["22", "333"]).border(Border::None);
        assert_eq!(plain(&t), [" a   b", " 1", " 22  333"]);
        let mut h = Table::new([] as [&str; 0]);
        h.row(["x", "y"]).border(Border::Header);
        assert_eq!(plain(&h), [" x  y"]);
        let mut c = Table::new(["n"]);
        c.row(["1"])
            .row(["2"])
            .border(Border::Cells)
            .align(0, Align::Center);
        c.column_width(0, 3);
        assert_eq!(
            plain(&c),
            [
                "+-----+", "|  n  |", "+~~~~~+", "|  1  |", "+-----+", "|  2  |", "+-----+"
            ]
        );
        assert!(Table::new([] as [&str; 0]).lines().is_empty());
    }
}
