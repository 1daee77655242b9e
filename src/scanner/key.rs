//! The keys a keyboard-wedge scanner's burst is made of, as the assembler and the profiles
//! name them (`Enter`, `Tab`, `F8`, ...).

use std::fmt;

/// A key the assembler cares about. Map every other key to [`WedgeKey::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WedgeKey {
    /// Enter / Return.
    Enter,
    /// Tab.
    Tab,
    /// Escape (a person, never a scanner).
    Escape,
    /// Backspace (a person, never a scanner).
    Backspace,
    /// The `]` key (with Ctrl: the GS chord).
    CloseBracket,
    /// F1..F24.
    Function(u8),
    /// A letter key A-Z (uppercase here), reported with its Shift state so Caps Lock shows.
    Letter(char),
    /// Any other key: ignored.
    Other,
}

impl WedgeKey {
    /// Parses names such as `Enter`, `Tab`, `F8`, `CloseBracket`.
    pub fn from_name(name: &str) -> Option<Self> {
        let upper = name.trim().to_ascii_uppercase();
        match upper.as_str() {
            "ENTER" | "RETURN" => return Some(Self::Enter),
            "TAB" => return Some(Self::Tab),
            "ESCAPE" | "ESC" => return Some(Self::Escape),
            "BACKSPACE" => return Some(Self::Backspace),
            "CLOSEBRACKET" | "]" => return Some(Self::CloseBracket),
            _ => {}
        }
        upper
            .strip_prefix('F')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=24).contains(n))
            .map(Self::Function)
    }
}

impl fmt::Display for WedgeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Function(n) => write!(f, "F{n}"),
            Self::Letter(c) => write!(f, "{c}"),
            other => write!(f, "{other:?}"),
        }
    }
}
