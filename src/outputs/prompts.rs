//! Built-in texts for decoder LLMs: varied English (prose, dialogue,
//! numbers, code, punctuation), so the next-token figures cover the kinds
//! of text a quantized model meets. Each is scored at every position.
//!
//! May use: [`super::inputs`] only.

use super::inputs::Input;

/// The built-in decoder texts.
pub const TEXTS: [&str; 26] = [
    "The old lighthouse keeper climbed the spiral stairs every night before the storm arrived.",
    "In 1969, Apollo 11 landed on the Moon, and Neil Armstrong stepped onto its surface.",
    "Water boils at 100 degrees Celsius (212 degrees Fahrenheit) at sea level.",
    "\"Are you coming tonight?\" she asked. \"Only if it stops raining,\" he replied.",
    "def fibonacci(n): return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "for (int i = 0; i < 10; i++) { sum += values[i] * weights[i]; }",
    "SELECT name, COUNT(*) FROM orders WHERE total > 250.00 GROUP BY name;",
    "The quarterly report shows revenue of $4.2 million, up 12.5% from last year.",
    "To make bread, mix 500 g of flour, 10 g of salt, 7 g of yeast and 350 ml of water.",
    "Photosynthesis converts sunlight, water and carbon dioxide into glucose and oxygen.",
    "Please remember to lock the door, turn off the lights, and feed the cat!",
    "The train from Paris to Berlin departs at 08:45 and arrives at 16:30.",
    "Shakespeare wrote 37 plays, including Hamlet, Macbeth and A Midsummer Night's Dream.",
    "git commit -m \"Fix off-by-one error in the parser\" && git push origin main",
    "The derivative of x^2 + 3x - 5 with respect to x is 2x + 3.",
    "Once upon a time, in a village by the sea, there lived a fisherman and his daughter.",
    "Error: file not found (code 404). Check the path and try again.",
    "The capital of Australia is Canberra, not Sydney, as many people assume.",
    "She ran 42.195 kilometres in 3 hours, 28 minutes and 15 seconds.",
    "{\"name\": \"Ada\", \"age\": 36, \"languages\": [\"English\", \"French\"]}",
    "Why do cats purr? Scientists think it helps them heal and communicate.",
    "The committee will meet on Tuesday; however, the vote has been postponed.",
    "1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987",
    "Mount Everest rises 8,849 metres above sea level on the border of Nepal and China.",
    "If it rains tomorrow, we'll stay inside and play chess; otherwise, we'll go hiking.",
    "The recipe says: preheat the oven to 180 °C, then bake for 25-30 minutes.",
];

/// The built-in decoder texts as inputs.
pub fn builtin() -> Vec<Input> {
    TEXTS
        .iter()
        .map(|t| Input {
            first: t.to_string(),
            second: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn varied_and_distinct() {
        let t = super::TEXTS;
        assert!((20..=30).contains(&t.len()));
        assert!(
            t.iter().any(|s| s.contains("def "))
                && t.iter().any(|s| s.chars().any(|c| c.is_ascii_digit()))
        );
        let mut d = t.to_vec();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), t.len());
    }
}
