//! The inputs both models run on: built-in sentences and premise /
//! hypothesis pairs, or user text (one input per line, a TAB between the
//! two texts of a pair).
//!
//! May use: nothing beyond `std`.

use super::error::{OutputsError, Result};

/// Most inputs one check accepts.
pub const MAX_INPUTS: usize = 4096;

/// One input: a text, or a pair of texts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Input {
    /// The text (the premise of a pair).
    pub first: String,
    /// The hypothesis of a pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second: Option<String>,
}

impl Input {
    /// The input as one line of text (TAB between a pair's texts).
    pub fn line(&self) -> String {
        match &self.second {
            None => self.first.clone(),
            Some(b) => format!("{}\t{b}", self.first),
        }
    }
}

/// Built-in sentences for embedding and bare models.
pub const SENTENCES: [&str; 24] = [
    "The lighthouse keeper climbed the stairs before dawn.",
    "Before sunrise, the keeper walked up to the lamp room.",
    "Our quarterly revenue grew by eight percent.",
    "Sales increased modestly over the last three months.",
    "The violinist tuned her instrument backstage.",
    "A musician prepared her violin before the concert.",
    "Fresh snow covered the mountain pass overnight.",
    "The road over the summit was closed by a blizzard.",
    "He forgot his umbrella and got soaked on the way home.",
    "Rain drenched him because he left the umbrella at work.",
    "The compiler rejected the program because of a type error.",
    "A mismatched type made the build fail.",
    "Bees pollinate most of the fruit trees in the orchard.",
    "Without insects, the apple harvest would be much smaller.",
    "The library extended its opening hours during exams.",
    "Students can study later while exams are on.",
    "She adopted a grey cat from the animal shelter.",
    "A rescued kitten found a new home last week.",
    "The bridge will be closed for repairs until Friday.",
    "Traffic is diverted while the bridge is being fixed.",
    "Photosynthesis turns sunlight into chemical energy.",
    "Plants store the energy of light in sugars.",
    "The referee stopped the match after the second injury.",
    "Play was halted when another player got hurt.",
];

/// Built-in premise / hypothesis pairs for sequence classifiers.
pub const PAIRS: [(&str, &str); 24] = [
    (
        "A woman is riding a bicycle along the river.",
        "Someone is cycling outdoors.",
    ),
    (
        "A woman is riding a bicycle along the river.",
        "The woman is asleep at home.",
    ),
    (
        "Three men are carrying a piano up the stairs.",
        "People are moving furniture.",
    ),
    (
        "Three men are carrying a piano up the stairs.",
        "The piano is being played.",
    ),
    (
        "The bakery sells fresh bread every morning.",
        "Bread can be bought there early.",
    ),
    (
        "The bakery sells fresh bread every morning.",
        "The bakery only opens at night.",
    ),
    (
        "A boy is feeding ducks at the pond.",
        "A child is near the water.",
    ),
    (
        "A boy is feeding ducks at the pond.",
        "The ducks are hungry.",
    ),
    (
        "The meeting was postponed until next week.",
        "The meeting did not happen as planned.",
    ),
    (
        "The meeting was postponed until next week.",
        "The meeting took place today.",
    ),
    (
        "A doctor is examining a patient's x-ray.",
        "A medical image is being studied.",
    ),
    (
        "A doctor is examining a patient's x-ray.",
        "The patient has a broken arm.",
    ),
    (
        "The train arrived twenty minutes late.",
        "The train was delayed.",
    ),
    (
        "The train arrived twenty minutes late.",
        "The train was early.",
    ),
    (
        "Two girls are painting a fence white.",
        "The fence is being painted.",
    ),
    (
        "Two girls are painting a fence white.",
        "The girls are sisters.",
    ),
    (
        "The museum is free on the first Sunday of the month.",
        "Entry sometimes costs nothing.",
    ),
    (
        "The museum is free on the first Sunday of the month.",
        "The museum always charges entry.",
    ),
    (
        "A crowd gathered to watch the fireworks.",
        "People are outside at night.",
    ),
    (
        "A crowd gathered to watch the fireworks.",
        "Nobody came to the show.",
    ),
    (
        "The programmer fixed the bug before the release.",
        "The software was repaired.",
    ),
    (
        "The programmer fixed the bug before the release.",
        "The release was cancelled.",
    ),
    (
        "An old man is playing chess in the park.",
        "Someone is playing a game.",
    ),
    (
        "An old man is playing chess in the park.",
        "The man is swimming.",
    ),
];

/// The built-in set: pairs for a classifier, sentences otherwise.
pub fn builtin(pairs: bool) -> Vec<Input> {
    if pairs {
        PAIRS
            .iter()
            .map(|(a, b)| Input {
                first: a.to_string(),
                second: Some(b.to_string()),
            })
            .collect()
    } else {
        SENTENCES
            .iter()
            .map(|s| Input {
                first: s.to_string(),
                second: None,
            })
            .collect()
    }
}

/// Parses user text: one input per non-blank line; a TAB splits a line
/// into a pair. `source` names the text in errors (a file name).
pub fn parse(text: &str, source: &str) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if out.len() == MAX_INPUTS {
            return Err(OutputsError::BadInput {
                detail: format!("{source}: more than {MAX_INPUTS} inputs"),
            });
        }
        let mut parts = line.splitn(3, '\t');
        let first = parts.next().unwrap_or_default().to_string();
        let second = parts.next().map(str::to_string);
        if parts.next().is_some() {
            return Err(OutputsError::BadInput {
                detail: format!(
                    "{source}: line {} has more than one TAB (a pair is two texts)",
                    n + 1
                ),
            });
        }
        if first.trim().is_empty() || second.as_ref().is_some_and(|s| s.trim().is_empty()) {
            return Err(OutputsError::BadInput {
                detail: format!("{source}: line {} has an empty text beside a TAB", n + 1),
            });
        }
        out.push(Input { first, second });
    }
    if out.is_empty() {
        return Err(OutputsError::BadInput {
            detail: format!("{source}: no inputs (one per line)"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_pairs() {
        let v = parse("a b\n\n c\td\r\n", "t.txt").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].second.as_deref(), Some("d"));
        assert_eq!(v[1].line(), " c\td");
        assert!(parse("\n \n", "t.txt")
            .unwrap_err()
            .to_string()
            .contains("t.txt"));
        assert!(parse("a\tb\tc", "t.txt").is_err());
        assert!(parse("a\t ", "t.txt").is_err());
        assert_eq!(builtin(true).len(), 24);
        assert_eq!(builtin(false).len(), 24);
    }
}
