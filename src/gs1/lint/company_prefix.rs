//! GS1 Company Prefix linters (`gcppos1`, `gcppos2`): the component starts with a GCP, from its
//! first or second position.
//!
//! Whether a prefix is actually allocated to a company is only known to GS1's registers. TraceDesk
//! works offline and has no such register, so the default check is the part that needs no
//! register: the component is long enough for the shortest GCP and those positions are digits.
//! A deployment that does hold a register (for example a cached GEPIR/Verified-by-GS1 extract)
//! plugs it in through [`GcpLookup`]; its answer is then reported as the GS1 reference linter
//! would report it, including "register unavailable" when the deployment prefers to fail closed.

use super::{LintCode, LintError};

/// The shortest GS1 Company Prefix in use (four digits).
pub const GCP_MIN_LENGTH: usize = 4;

/// A register's answer about a candidate GS1 Company Prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GcpStatus {
    /// The component starts with an allocated GCP (or the register chooses to fail open).
    Allocated,
    /// The component does not start with any allocated GCP.
    NotAllocated,
    /// The register could not be consulted and the check must fail rather than pass unchecked.
    Unavailable,
}

/// A source of GS1 Company Prefix allocations.
pub trait GcpLookup {
    /// Whether `component` starts with an allocated GCP. `component` is at least
    /// [`GCP_MIN_LENGTH`] characters long and those leading characters are digits; the register
    /// decides how many of the following digits belong to the prefix.
    fn status(&self, component: &str) -> GcpStatus;
}

/// `gcppos1`: the component starts with a GS1 Company Prefix.
pub(super) fn gcppos1(value: &str, lookup: Option<&dyn GcpLookup>) -> Result<(), LintError> {
    let bytes = value.as_bytes();
    let Some(prefix) = bytes.get(..GCP_MIN_LENGTH) else {
        return Err(LintError::whole(LintCode::TooShortForGcp, bytes));
    };
    if let Some(pos) = prefix.iter().position(|b| !b.is_ascii_digit()) {
        return Err(LintError::at(LintCode::InvalidGcpPrefix, pos));
    }
    match lookup.map(|register| register.status(value)) {
        None | Some(GcpStatus::Allocated) => Ok(()),
        Some(GcpStatus::NotAllocated) => Err(LintError::whole(LintCode::InvalidGcpPrefix, bytes)),
        Some(GcpStatus::Unavailable) => {
            Err(LintError::whole(LintCode::GcpDatasourceOffline, bytes))
        }
    }
}

/// `gcppos2`: the component starts with a GS1 Company Prefix from its second position (after a
/// one-character qualifier).
pub(super) fn gcppos2(value: &str, lookup: Option<&dyn GcpLookup>) -> Result<(), LintError> {
    if value.len() < 2 {
        return Err(LintError::whole(LintCode::TooShortForGcp, value.as_bytes()));
    }
    // A multi-byte first character leaves position 1 inside it: certainly not a digit.
    let Some(rest) = value.get(1..) else {
        return Err(LintError::at(LintCode::InvalidGcpPrefix, 1));
    };
    gcppos1(rest, lookup).map_err(|error| error.shifted(1))
}

#[cfg(test)]
mod tests {
    use super::super::{LintContext, Linter, lint, lint_with};
    use super::*;

    /// A register that knows exactly one prefix.
    struct OnePrefix(&'static str);

    impl GcpLookup for OnePrefix {
        fn status(&self, component: &str) -> GcpStatus {
            if component.starts_with(self.0) {
                GcpStatus::Allocated
            } else {
                GcpStatus::NotAllocated
            }
        }
    }

    #[test]
    fn offline_check_is_about_form_only() {
        assert_eq!(lint(Linter::Gcppos1, "0614141"), Ok(()));
        assert_eq!(lint(Linter::Gcppos1, "0614"), Ok(()));
        let error = lint(Linter::Gcppos1, "061").unwrap_err();
        assert_eq!((error.code, error.span), (LintCode::TooShortForGcp, 0..3));
        let error = lint(Linter::Gcppos1, "06A4141").unwrap_err();
        assert_eq!((error.code, error.span), (LintCode::InvalidGcpPrefix, 2..3));
        let error = lint(Linter::Gcppos2, "I06A41").unwrap_err();
        assert_eq!((error.code, error.span), (LintCode::InvalidGcpPrefix, 3..4));
    }

    #[test]
    fn a_register_is_consulted_when_given() {
        let register = OnePrefix("0614141");
        let context = LintContext {
            gcp_lookup: Some(&register),
            ..LintContext::default()
        };
        assert_eq!(
            lint_with(Linter::Gcppos1, "0614141000012", &context),
            Ok(())
        );
        let error = lint_with(Linter::Gcppos2, "X0999999", &context).unwrap_err();
        assert_eq!((error.code, error.span), (LintCode::InvalidGcpPrefix, 1..8));
    }
}
