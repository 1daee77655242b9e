//! North American coupon linters: `couponcode` for AI (8110) and `couponposoffer` for AI (8112).
//!
//! Both values are strings of digits made of fields, many of them prefixed by a *VLI* (a
//! one-digit "variable length indicator" giving the field's length, often as "VLI + 6"). After
//! the mandatory fields, AI (8110) carries optional fields each introduced by its number (1, 2,
//! 3, 4, 5, 6, 9), in that order. The rules follow the "North American Coupon Application
//! Guideline Using GS1 DataBar Expanded Symbols".
//!
//! Coupons rarely reach a pharmacy receiving desk, but a coupon AI in a scanned message must
//! still be judged correctly rather than rejected wholesale.

use std::ops::{Range, RangeInclusive};

use super::company_prefix::gcppos1;
use super::date_time::{expand_two_digit_year, yymmdd};
use super::{LintCode, LintContext, LintError, digits_value, require_digits};

/// Walks a coupon value field by field.
struct Fields<'v> {
    value: &'v str,
    pos: usize,
}

impl<'v> Fields<'v> {
    fn new(value: &'v str) -> Self {
        Fields { value, pos: 0 }
    }

    fn len(&self) -> usize {
        self.value.len()
    }

    fn is_done(&self) -> bool {
        self.pos >= self.len()
    }

    fn peek(&self) -> Option<u8> {
        self.value.as_bytes().get(self.pos).copied()
    }

    /// Enter the optional field numbered `indicator` if it comes next.
    fn enter_optional(&mut self, indicator: u8) -> bool {
        let present = self.peek() == Some(indicator);
        if present {
            self.pos += 1;
        }
        present
    }

    /// A field that is absent altogether: the whole value is blamed, as there is no character
    /// to point at.
    fn missing(&self, code: LintCode) -> LintError {
        LintError::whole(code, self.value.as_bytes())
    }

    /// A field cut short: blame what is left of it, or the whole value if nothing is.
    fn truncated(&self, code: LintCode) -> LintError {
        if self.is_done() {
            self.missing(code)
        } else {
            LintError::new(code, self.pos..self.len())
        }
    }

    /// Consume a one-digit code that must be in `allowed`.
    fn digit(
        &mut self,
        allowed: &[RangeInclusive<u8>],
        missing: LintCode,
        invalid: LintCode,
    ) -> Result<u8, LintError> {
        let Some(b) = self.peek() else {
            return Err(self.missing(missing));
        };
        let digit = b.wrapping_sub(b'0');
        if !allowed.iter().any(|range| range.contains(&digit)) {
            return Err(LintError::at(invalid, self.pos));
        }
        self.pos += 1;
        Ok(digit)
    }

    /// Consume `n` characters, returning their span.
    fn take(&mut self, n: usize, truncated: LintCode) -> Result<Range<usize>, LintError> {
        if self.len() - self.pos.min(self.len()) < n {
            return Err(self.truncated(truncated));
        }
        let span = self.pos..self.pos + n;
        self.pos += n;
        Ok(span)
    }

    /// Consume a VLI (one of `allowed`) and the field of `field_length(vli)` digits it announces.
    fn vli_field(
        &mut self,
        allowed: &[RangeInclusive<u8>],
        field_length: fn(u8) -> usize,
        [missing, invalid, truncated]: [LintCode; 3],
    ) -> Result<Range<usize>, LintError> {
        let vli = self.digit(allowed, missing, invalid)?;
        self.take(field_length(vli), truncated)
    }

    /// Check that the company prefix occupying `span` is a GCP, blaming the whole prefix.
    fn company_prefix(
        &self,
        span: Range<usize>,
        context: &LintContext<'_>,
    ) -> Result<(), LintError> {
        if span.is_empty() {
            return Ok(());
        }
        let prefix = self.value.get(span.clone()).unwrap_or_default();
        gcppos1(prefix, context.gcp_lookup).map_err(|error| LintError::new(error.code, span))
    }

    /// The six-digit `YYMMDD` date in `span` as a comparable (year, month-and-day) pair, or the
    /// `invalid` failure covering the date.
    fn date(
        &self,
        span: Range<usize>,
        current_year: i32,
        invalid: LintCode,
    ) -> Result<(i32, u64), LintError> {
        let digits = self.value.as_bytes().get(span.clone()).unwrap_or_default();
        yymmdd(digits, false, current_year).map_err(|_| LintError::new(invalid, span.clone()))?;
        let yy = u8::try_from(digits_value(digits.get(..2).unwrap_or_default())).unwrap_or(0);
        let month_day = digits_value(digits.get(2..).unwrap_or_default());
        Ok((expand_two_digit_year(yy, current_year), month_day))
    }
}

const GCP_VLI: &[RangeInclusive<u8>] = &[0..=6];
const GCP_VLI_OR_NONE: &[RangeInclusive<u8>] = &[0..=6, 9..=9];
const ONE_TO_FIVE: &[RangeInclusive<u8>] = &[1..=5];
const PURCHASE_REQUIREMENT_CODES: &[RangeInclusive<u8>] = &[0..=4, 9..=9];
/// Fields where every digit is meaningful; their "invalid" code can never be produced.
const ANY_DIGIT: &[RangeInclusive<u8>] = &[0..=9];

/// Company prefixes and serial numbers are announced as "VLI + 6" digits.
fn plus_six(vli: u8) -> usize {
    usize::from(vli) + 6
}

/// As [`plus_six`], except that VLI 9 announces that the prefix is absent.
fn plus_six_or_none(vli: u8) -> usize {
    if vli == 9 { 0 } else { plus_six(vli) }
}

fn same(vli: u8) -> usize {
    usize::from(vli)
}

/// A purchase requirement (VLI 1-5 + value), its code (0-4 or 9) and a three-digit family code.
fn purchase_requirement(
    fields: &mut Fields<'_>,
    [
        missing_vli,
        invalid_vli,
        truncated,
        missing_code,
        invalid_code,
        truncated_family,
    ]: [LintCode; 6],
) -> Result<(), LintError> {
    fields.vli_field(ONE_TO_FIVE, same, [missing_vli, invalid_vli, truncated])?;
    fields.digit(PURCHASE_REQUIREMENT_CODES, missing_code, invalid_code)?;
    fields.take(3, truncated_family)?;
    Ok(())
}

/// `couponcode`: the North American Coupon Code carried in AI (8110).
pub(super) fn coupon_code(value: &str, context: &LintContext<'_>) -> Result<(), LintError> {
    use LintCode::*;

    require_digits(value.as_bytes())?;
    let mut fields = Fields::new(value);

    let gcp = fields.vli_field(
        GCP_VLI,
        plus_six,
        [
            CouponMissingGcpVli,
            CouponInvalidGcpLength,
            CouponTruncatedGcp,
        ],
    )?;
    fields.company_prefix(gcp, context)?;
    fields.take(6, CouponTruncatedOfferCode)?;
    fields.vli_field(
        ONE_TO_FIVE,
        same,
        [
            CouponMissingSaveValueVli,
            CouponInvalidSaveValueLength,
            CouponTruncatedSaveValue,
        ],
    )?;
    purchase_requirement(
        &mut fields,
        [
            CouponMissingFirstPurchaseRequirementVli,
            CouponInvalidFirstPurchaseRequirementLength,
            CouponTruncatedFirstPurchaseRequirement,
            CouponMissingFirstPurchaseRequirementCode,
            CouponInvalidFirstPurchaseRequirementCode,
            CouponTruncatedFirstPurchaseFamilyCode,
        ],
    )?;

    // Optional field 1: additional purchase rules and a second purchase.
    if fields.enter_optional(b'1') {
        fields.digit(
            &[0..=3],
            CouponMissingAdditionalPurchaseRulesCode,
            CouponInvalidAdditionalPurchaseRulesCode,
        )?;
        purchase_requirement(
            &mut fields,
            [
                CouponMissingSecondPurchaseRequirementVli,
                CouponInvalidSecondPurchaseRequirementLength,
                CouponTruncatedSecondPurchaseRequirement,
                CouponMissingSecondPurchaseRequirementCode,
                CouponInvalidSecondPurchaseRequirementCode,
                CouponTruncatedSecondPurchaseFamilyCode,
            ],
        )?;
        let gcp = fields.vli_field(
            GCP_VLI_OR_NONE,
            plus_six_or_none,
            [
                CouponMissingSecondPurchaseGcpVli,
                CouponInvalidSecondPurchaseGcpLength,
                CouponTruncatedSecondPurchaseGcp,
            ],
        )?;
        fields.company_prefix(gcp, context)?;
    }

    // Optional field 2: a third purchase.
    if fields.enter_optional(b'2') {
        purchase_requirement(
            &mut fields,
            [
                CouponMissingThirdPurchaseRequirementVli,
                CouponInvalidThirdPurchaseRequirementLength,
                CouponTruncatedThirdPurchaseRequirement,
                CouponMissingThirdPurchaseRequirementCode,
                CouponInvalidThirdPurchaseRequirementCode,
                CouponTruncatedThirdPurchaseFamilyCode,
            ],
        )?;
        let gcp = fields.vli_field(
            GCP_VLI_OR_NONE,
            plus_six_or_none,
            [
                CouponMissingThirdPurchaseGcpVli,
                CouponInvalidThirdPurchaseGcpLength,
                CouponTruncatedThirdPurchaseGcp,
            ],
        )?;
        fields.company_prefix(gcp, context)?;
    }

    // Optional field 3: expiration date.
    let mut expiry = None;
    if fields.enter_optional(b'3') {
        let span = fields.take(6, CouponTooShortForExpirationDate)?;
        expiry = Some(fields.date(span, context.current_year, CouponInvalidExpirationDate)?);
    }

    // Optional field 4: start date, which must not follow the expiration date. Dates are
    // compared after placing them in their centuries, so a coupon valid from December 1999 to
    // January 2000 is not mistaken for one that expires before it starts.
    if fields.enter_optional(b'4') {
        let span = fields.take(6, CouponTooShortForStartDate)?;
        let start = fields.date(span.clone(), context.current_year, CouponInvalidStartDate)?;
        if expiry.is_some_and(|expiry| start > expiry) {
            // Blame both dates with their field numbers: "3YYMMDD4YYMMDD".
            let both = span.start.saturating_sub(8)..span.end;
            return Err(LintError::new(CouponExpirationBeforeStart, both));
        }
    }

    // Optional field 5: serial number.
    if fields.enter_optional(b'5') {
        fields.vli_field(
            ANY_DIGIT,
            plus_six,
            [
                CouponMissingSerialNumberVli,
                CouponMissingSerialNumberVli,
                CouponTruncatedSerialNumber,
            ],
        )?;
    }

    // Optional field 6: retailer GCP or GLN.
    if fields.enter_optional(b'6') {
        let retailer = fields.vli_field(
            &[1..=7],
            plus_six,
            [
                CouponMissingRetailerGcpOrGlnVli,
                CouponInvalidRetailerGcpOrGlnLength,
                CouponTruncatedRetailerGcpOrGln,
            ],
        )?;
        fields.company_prefix(retailer, context)?;
    }

    // Optional field 9: miscellaneous flags.
    if fields.enter_optional(b'9') {
        fields.digit(
            &[0..=2, 5..=6],
            CouponMissingSaveValueCode,
            CouponInvalidSaveValueCode,
        )?;
        fields.digit(
            &[0..=2],
            CouponMissingSaveValueAppliesToItem,
            CouponInvalidSaveValueAppliesToItem,
        )?;
        fields.digit(
            ANY_DIGIT,
            CouponMissingStoreCouponFlag,
            CouponMissingStoreCouponFlag,
        )?;
        fields.digit(
            &[0..=1],
            CouponMissingDontMultiplyFlag,
            CouponInvalidDontMultiplyFlag,
        )?;
    }

    if !fields.is_done() {
        return Err(LintError::new(CouponExcessData, fields.pos..fields.len()));
    }
    Ok(())
}

/// `couponposoffer`: the positive offer file coupon code carried in AI (8112).
pub(super) fn positive_offer(value: &str) -> Result<(), LintError> {
    use LintCode::*;

    require_digits(value.as_bytes())?;
    let mut fields = Fields::new(value);

    fields.digit(&[0..=1], CouponMissingFormatCode, CouponInvalidFormatCode)?;
    fields.vli_field(
        GCP_VLI,
        plus_six,
        [
            CouponMissingFunderVli,
            CouponInvalidFunderLength,
            CouponTruncatedFunder,
        ],
    )?;
    fields.take(6, CouponTruncatedOfferCode)?;
    fields.vli_field(
        ANY_DIGIT,
        plus_six,
        [
            CouponMissingSerialNumberVli,
            CouponMissingSerialNumberVli,
            CouponTruncatedSerialNumber,
        ],
    )?;
    if !fields.is_done() {
        return Err(LintError::new(CouponExcessData, fields.pos..fields.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{Linter, lint};
    use super::*;

    #[test]
    fn minimal_coupon() {
        // GCP 0123456 (VLI 0 + 6), offer 123456, save value 1 digit, requirement 1 digit,
        // requirement code 1, family 123.
        assert_eq!(lint(Linter::CouponCode, "012345612345611110123"), Ok(()));
    }

    #[test]
    fn coupon_dates_across_the_century() {
        // Expires 2000-01-31, starts 1999-12-01: valid when read with GenSpecs 7.12.
        let coupon = concat!("012345612345611110123", "3000131", "4991201");
        assert_eq!(lint(Linter::CouponCode, coupon), Ok(()));
        // Expires 2025-06-06, starts 2025-06-07.
        let error = lint(Linter::CouponCode, "01234561234561111012335006064500607").unwrap_err();
        assert_eq!(error.code, LintCode::CouponExpirationBeforeStart);
    }

    #[test]
    fn positive_offer_shape() {
        assert_eq!(
            lint(Linter::CouponPosOffer, "001234561234560123456"),
            Ok(())
        );
        let error = lint(Linter::CouponPosOffer, "0012345612345601234567").unwrap_err();
        assert_eq!(
            (error.code, error.span),
            (LintCode::CouponExcessData, 21..22)
        );
    }
}
