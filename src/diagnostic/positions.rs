//! 1-based line and character column of byte offsets: what both renderings show.

/// 1-based line and character column of many byte offsets, found in one pass over
/// the text: a lookup per diagnostic would be quadratic on a huge file with a
/// problem on every line (or many on one huge line).
pub(super) struct Positions(std::collections::HashMap<usize, (usize, usize)>);

impl Positions {
    pub(super) fn new(text: &str, offsets: impl Iterator<Item = usize>) -> Self {
        let mut offsets: Vec<usize> = offsets.collect();
        offsets.sort_unstable();
        offsets.dedup();
        let mut found = std::collections::HashMap::with_capacity(offsets.len());
        let (mut line, mut column) = (1, 1);
        let mut chars = text.char_indices().peekable();
        for offset in offsets {
            let end = floor_char_boundary(text, offset.min(text.len()));
            while let Some(&(i, c)) = chars.peek() {
                if i >= end {
                    break;
                }
                if c == '\n' {
                    (line, column) = (line + 1, 1);
                } else {
                    column += 1;
                }
                chars.next();
            }
            found.insert(offset, (line, column));
        }
        Positions(found)
    }

    pub(super) fn get(&self, offset: usize) -> (usize, usize) {
        self.0[&offset]
    }

    pub(super) fn into_map(self) -> std::collections::HashMap<usize, (usize, usize)> {
        self.0
    }
}

pub(super) fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}
